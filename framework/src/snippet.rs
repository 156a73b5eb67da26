//! Quoting a user's text in a message: at most a short, printable snippet.
//!
//! An error that quotes a file's line, a server's answer or a label name must not print a
//! whole file (a wrong path such as a key file would otherwise be echoed into the terminal and
//! `run.json`), nor terminal control sequences hidden in a text (an `ESC [` in an `id2label`
//! could rewrite the user's terminal). [`snippet`] cuts and escapes; [`printable`] only escapes.

/// `text` with control characters (C0, DEL, C1, and the bidi overrides) escaped as `\u{..}`
/// (tab, newline and carriage return as `\t`, `\n`, `\r`); everything else unchanged.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// At most `max_chars` characters of `text` (then `…`), made [`printable`].
pub fn snippet(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", printable(&text[..cut])),
        None => printable(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_long_text_cut() {
        assert_eq!(printable("a\x1b[2Jb\tc\u{202e}"), "a\\u{1b}[2Jb\\tc\\u{202e}");
        assert_eq!(printable("café — ok"), "café — ok");
        assert_eq!(snippet("abcdef", 3), "abc…");
        assert_eq!(snippet("abc", 3), "abc");
        assert_eq!(snippet("é\0xyz", 2), "é\\u{0}…");
    }
}
