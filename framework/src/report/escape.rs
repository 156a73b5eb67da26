//! Escaping of the values a template prints: `report.html` through minijinja's HTML escaping,
//! `report.md` through [`markdown`], so a title, description, model or label name never
//! becomes markup or breaks a table in either report.

use minijinja::{AutoEscape, Environment, Error, Output, State, Value};

/// The auto-escape mode of the Markdown templates (`*.md.j2`, `*.md`).
const MARKDOWN: &str = "markdown";

/// Makes `env` escape every printed value for the format its template's name ends with:
/// HTML for `.html(.j2)`, Markdown for `.md(.j2)` (see [`markdown`]), none otherwise. A value
/// the template marks `| safe` is printed as it is.
pub fn install(env: &mut Environment<'_>) {
    env.set_auto_escape_callback(|name| {
        let stem = name.strip_suffix(".j2").unwrap_or(name);
        if stem.ends_with(".md") {
            AutoEscape::Custom(MARKDOWN.into())
        } else {
            minijinja::default_auto_escape_callback(name)
        }
    });
    env.set_formatter(format_value);
}

/// The formatter: Markdown escaping in Markdown templates, minijinja's own elsewhere.
fn format_value(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    match state.auto_escape() {
        AutoEscape::Custom(mode) if mode == MARKDOWN => {
            if value.is_undefined() {
                return Ok(());
            }
            let text = value.to_string();
            let text = if value.is_safe() { text } else { markdown(&text) };
            out.write_str(&text).map_err(Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// `text` made inert in GitHub-flavoured Markdown, including inside a table cell: `&`, `<`
/// and `>` become HTML entities (so `<script>` or `<img onerror=…>` in a name is shown, never
/// run — GitHub's renderer shows the entity as the character), and `|` becomes `\|` unless a
/// backslash already escapes it (a template may write `\|` itself). Line breaks are kept:
/// values printed inside table cells hold none.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut escaped = false;
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' if !escaped => out.push_str("\\|"),
            c => out.push(c),
        }
        escaped = c == '\\' && !escaped;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(name: &str, template: &str, value: &str) -> String {
        let mut env = Environment::new();
        install(&mut env);
        env.add_template_owned(name.to_owned(), template.to_owned()).unwrap();
        env.get_template(name).unwrap().render(minijinja::context! { v => value }).unwrap()
    }

    #[test]
    fn markdown_escapes_html_and_pipes() {
        assert_eq!(markdown("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(markdown("|delta-ece|"), "\\|delta-ece\\|");
        assert_eq!(markdown("a \\| b"), "a \\| b");
        assert_eq!(markdown("a \\\\| b"), "a \\\\\\| b");
        assert_eq!(markdown("x & y"), "x &amp; y");
    }

    #[test]
    fn markdown_templates_escape_values_but_not_their_own_text() {
        let md = render("report.md.j2", "| <br> | {{ v }} | {{ v | safe }} |", "<img onerror=x>|");
        assert_eq!(md, "| <br> | &lt;img onerror=x&gt;\\| | <img onerror=x>| |");
        let html = render("report.html.j2", "<p>{{ v }}</p>", "<b>|");
        assert_eq!(html, "<p>&lt;b&gt;|</p>");
        let txt = render("notes.txt", "{{ v }}", "<b>|");
        assert_eq!(txt, "<b>|");
    }
}
