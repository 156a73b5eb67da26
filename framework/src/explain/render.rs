//! Rendering a mask: the example's segments with absent features removed or replaced.
//!
//! Each segment is rendered on its own, so a pair stays a pair: the separator between
//! premise and hypothesis is added by the model's tokenizer and is never a feature.
//!
//! - [`MaskMode::Remove`] drops absent words. Kept words are joined with the original text
//!   between them when the two were neighbours, and with one space where words were removed
//!   in between (so `"a dog ran."` without `dog` renders `"a ran."`).
//! - [`MaskMode::MaskToken`] replaces every absent word by the model's mask token
//!   (`[MASK]`) and keeps the original text between words (`"a [MASK] ran."`).
//! - [`MaskMode::Delete`] deletes the absent words' characters and keeps every other
//!   character as it is, spaces and punctuation included (`"a  ran."`): lime 0.2.0.1's
//!   `IndexedString.inverse_removing` (`lime/lime_text.py` line 181, `''.join` of the kept
//!   pieces of `re.split`).
//!
//! With `Remove` and `MaskToken`, text before the first word and after the last one
//! (leading/trailing spaces) is dropped; `Delete` keeps it.

use super::features::Features;
use super::mask::Mask;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What happens to an absent feature's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaskMode {
    /// Remove the word, joining the kept words with one space where words were removed.
    Remove,
    /// Replace the word by the model's mask token.
    MaskToken,
    /// Delete the word's characters, keep all other text (lime 0.2.0.1's default).
    Delete,
}

/// Renders `mask` over `features` into `out` (cleared first), one string per segment.
pub fn render_into(features: &Features, mask: &Mask, mode: MaskMode, mask_token: &str, out: &mut Vec<String>) {
    out.clear();
    out.resize(features.segments().len(), String::new());
    let words = features.words();
    if mode == MaskMode::Delete {
        delete_into(features, mask, out);
        return;
    }
    let mut prev: Option<(usize, usize, bool)> = None; // (segment, end, kept) of the previous word
    for w in words {
        let text = &features.segments()[w.segment];
        let seg = &mut out[w.segment];
        let same_segment = prev.filter(|p| p.0 == w.segment);
        let kept = mask.get(w.feature);
        match mode {
            MaskMode::Remove => {
                if kept {
                    if !seg.is_empty() {
                        match same_segment {
                            Some((_, end, true)) => seg.push_str(&text[end..w.start]),
                            _ => seg.push(' '),
                        }
                    }
                    seg.push_str(&text[w.start..w.end]);
                }
            }
            MaskMode::Delete => unreachable!("rendered by delete_into"),
            MaskMode::MaskToken => {
                if let Some((_, end, _)) = same_segment {
                    seg.push_str(&text[end..w.start]);
                }
                seg.push_str(if kept { &text[w.start..w.end] } else { mask_token });
            }
        }
        prev = Some((w.segment, w.end, kept));
    }
    append_fixed_tails(features, mask, mode, out);
}

/// Appends each segment's fixed tail (the text past the model's window, see
/// [`Features::within`]): after the original text between the last word and the tail when
/// that word is present (or masked), after one space when it was removed.
fn append_fixed_tails(features: &Features, mask: &Mask, mode: MaskMode, out: &mut [String]) {
    for (segment, &from) in features.fixed_from().iter().enumerate() {
        let text = &features.segments()[segment];
        if from >= text.len() {
            continue;
        }
        let last = features.words().iter().rev().find(|w| w.segment == segment);
        let seg = &mut out[segment];
        match last {
            Some(w) if mode == MaskMode::MaskToken || mask.get(w.feature) => seg.push_str(&text[w.end..from]),
            _ if !seg.is_empty() => seg.push(' '),
            _ => {}
        }
        seg.push_str(&text[from..]);
    }
}

/// [`MaskMode::Delete`]: each segment's text without the absent words' characters.
fn delete_into(features: &Features, mask: &Mask, out: &mut [String]) {
    let mut from = vec![0; out.len()];
    for w in features.words() {
        if !mask.get(w.feature) {
            let text = &features.segments()[w.segment];
            out[w.segment].push_str(&text[from[w.segment]..w.start]);
            from[w.segment] = w.end;
        }
    }
    for (segment, (o, text)) in out.iter_mut().zip(features.segments()).enumerate() {
        o.push_str(&text[from[segment]..]);
    }
}

/// Renders `mask` into a new vector of segments.
pub fn render(features: &Features, mask: &Mask, mode: MaskMode, mask_token: &str) -> Vec<String> {
    let mut out = Vec::new();
    render_into(features, mask, mode, mask_token, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::features::WordSplitter;

    fn feats(s: &[&str], bow: bool) -> Features {
        let segs: Vec<String> = s.iter().map(|x| x.to_string()).collect();
        Features::new(&segs, &WordSplitter::default(), bow).unwrap()
    }

    #[test]
    fn remove_and_mask_token() {
        let f = feats(&["  a dog ran.", "Two  cats"], false);
        // a dog ran . | Two cats
        let full = Mask::full(f.len());
        assert_eq!(render(&f, &full, MaskMode::Remove, "[MASK]"), ["a dog ran.", "Two  cats"]);
        let no_dog = Mask::from_fn(f.len(), |i| i != 1);
        assert_eq!(render(&f, &no_dog, MaskMode::Remove, "[MASK]"), ["a ran.", "Two  cats"]);
        assert_eq!(render(&f, &no_dog, MaskMode::MaskToken, "[MASK]"), ["a [MASK] ran.", "Two  cats"]);
        let no_ran = Mask::from_fn(f.len(), |i| i != 2);
        assert_eq!(render(&f, &no_ran, MaskMode::Remove, "[MASK]"), ["a dog .", "Two  cats"]);
        let empty = Mask::empty(f.len());
        assert_eq!(render(&f, &empty, MaskMode::Remove, "[MASK]"), ["", ""]);
        assert_eq!(render(&f, &empty, MaskMode::MaskToken, "[M]"), ["[M] [M] [M][M]", "[M]  [M]"]);
    }

    #[test]
    fn delete_keeps_every_other_character_as_lime_does() {
        let segs = vec!["  it's a dog, a dog!".to_string(), "x".to_string()];
        let f = Features::new(&segs, &WordSplitter::new(r"\w+").unwrap(), true).unwrap();
        // it s a dog | x; the strings are what lime 0.2.0.1's `inverse_removing` returns.
        let no_a_dog = Mask::from_fn(f.len(), |i| i != 2 && i != 3);
        assert_eq!(render(&f, &no_a_dog, MaskMode::Delete, "[MASK]"), ["  it's  ,  !", "x"]);
        assert_eq!(render(&f, &Mask::full(f.len()), MaskMode::Delete, "_"), segs);
        assert_eq!(render(&f, &Mask::empty(f.len()), MaskMode::Delete, "_"), ["  '  ,  !", ""]);
    }

    #[test]
    fn the_text_past_the_window_is_kept_whatever_the_mask() {
        let segments = vec!["a dog ran far away".to_string()];
        // The model reads up to "ran" (byte 9): "far" and "away" are no features.
        let f = Features::within(&segments, &WordSplitter::default(), false, Some(&[9])).unwrap();
        assert_eq!((f.len(), f.beyond_window()), (3, 2));
        let none = Mask::empty(3);
        let mut dog_gone = Mask::full(3);
        dog_gone.set(1, false);
        let mut ran_gone = Mask::full(3);
        ran_gone.set(2, false);
        assert_eq!(render(&f, &Mask::full(3), MaskMode::Remove, "[MASK]"), ["a dog ran far away"]);
        assert_eq!(render(&f, &dog_gone, MaskMode::Remove, "[MASK]"), ["a ran far away"]);
        assert_eq!(render(&f, &ran_gone, MaskMode::Remove, "[MASK]"), ["a dog far away"]);
        assert_eq!(render(&f, &none, MaskMode::Remove, "[MASK]"), ["far away"]);
        assert_eq!(render(&f, &none, MaskMode::MaskToken, "[MASK]"), ["[MASK] [MASK] [MASK] far away"]);
        assert_eq!(render(&f, &dog_gone, MaskMode::Delete, "[MASK]"), ["a  ran far away"]);
    }

    #[test]
    fn bow_masks_every_occurrence() {
        let f = feats(&["the cat saw the dog"], true);
        let no_the = Mask::from_fn(f.len(), |i| i != 0);
        assert_eq!(render(&f, &no_the, MaskMode::Remove, "[MASK]"), ["cat saw dog"]);
        assert_eq!(render(&f, &no_the, MaskMode::MaskToken, "_"), ["_ cat saw _ dog"]);
    }
}
