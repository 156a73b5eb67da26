//! Words and features of an example.
//!
//! The words of each segment come from a regex (default [`DEFAULT_WORD_PATTERN`],
//! `\w+|[^\w\s]`: runs of word characters, and every other non-space character on its own).
//! Each word knows its segment, its position among the words of that segment and its byte
//! span. Features are what explainers switch on and off: one per word (positional), or with
//! `bow = true` one per distinct word text *within a segment* (lime's bag-of-words default,
//! kept per segment so that premise and hypothesis stay apart). A bag-of-words feature
//! covers every occurrence of its text; its position is that of the first occurrence.
//! The pair separator is not a word, so it is never a feature.

use anyhow::{Context, Result, bail};
use regex::Regex;
use std::collections::HashMap;

/// The default word pattern: runs of word characters, or single non-space characters.
pub const DEFAULT_WORD_PATTERN: &str = r"\w+|[^\w\s]";

/// Splits segment text into words with a regex; strings it is told to keep whole (a model's
/// special tokens, when it reads their text as the token) are one word each and no word
/// crosses them.
#[derive(Debug, Clone)]
pub struct WordSplitter {
    regex: Regex,
    atoms: Vec<String>,
}

impl WordSplitter {
    /// A splitter from a regex pattern; an invalid pattern is an error naming it.
    pub fn new(pattern: &str) -> Result<Self> {
        let regex = Regex::new(pattern).with_context(|| format!("invalid word pattern {pattern:?}"))?;
        Ok(Self { regex, atoms: Vec::new() })
    }

    /// The same splitter keeping each of `atoms` whole (longest first where two start at the
    /// same place).
    pub fn keeping(mut self, atoms: &[String]) -> Self {
        self.atoms = atoms.iter().filter(|a| !a.is_empty()).cloned().collect();
        self.atoms.sort_by_key(|a| std::cmp::Reverse(a.len()));
        self
    }

    /// The non-empty matches of the pattern in `text`, as byte spans, with every occurrence
    /// of an atom as one span of its own.
    pub fn spans<'t>(&'t self, text: &'t str) -> impl Iterator<Item = (usize, usize)> + 't {
        let atoms = atom_spans(text, &self.atoms);
        let mut gaps = Vec::with_capacity(atoms.len() + 1);
        let mut at = 0;
        for &(start, end) in &atoms {
            gaps.push(((at, start), Some((start, end))));
            at = end;
        }
        gaps.push(((at, text.len()), None));
        gaps.into_iter().flat_map(move |((from, to), atom)| {
            self.regex
                .find_iter(&text[from..to])
                .filter(|m| !m.is_empty())
                .map(move |m| (from + m.start(), from + m.end()))
                .chain(atom)
        })
    }
}

/// The non-overlapping occurrences of `atoms` in `text`, leftmost first (longest first where
/// two start at the same place).
pub fn atom_spans(text: &str, atoms: &[String]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    if atoms.is_empty() {
        return out;
    }
    let mut at = 0;
    while at < text.len() {
        let next = atoms
            .iter()
            .filter_map(|a| text[at..].find(a.as_str()).map(|i| (at + i, at + i + a.len())))
            .min_by_key(|&(s, e)| (s, std::cmp::Reverse(e)));
        let Some((start, end)) = next else { break };
        out.push((start, end));
        at = end;
    }
    out
}

impl Default for WordSplitter {
    fn default() -> Self {
        Self::new(DEFAULT_WORD_PATTERN).unwrap_or_else(|_| unreachable!("the default pattern is valid"))
    }
}

#[cfg(test)]
mod splitter_tests {
    use super::*;

    #[test]
    fn atoms_are_one_word_and_no_word_crosses_them() {
        let s = WordSplitter::default().keeping(&["[SEP]".to_string(), "[MASK]".to_string()]);
        let text = "a[SEP]b [MASK] c";
        let words: Vec<&str> = s.spans(text).map(|(a, b)| &text[a..b]).collect();
        assert_eq!(words, ["a", "[SEP]", "b", "[MASK]", "c"]);
        let plain: Vec<&str> = WordSplitter::default().spans(text).map(|(a, b)| &text[a..b]).collect();
        assert_eq!(plain, ["a", "[", "SEP", "]", "b", "[", "MASK", "]", "c"]);
    }
}

/// One word of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Segment index (0 = text or premise, 1 = hypothesis).
    pub segment: usize,
    /// Index among the words of its segment.
    pub position: usize,
    /// Byte offset of the first byte in the segment text.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// Index of the feature that covers this word.
    pub feature: usize,
}

/// One feature: a word (positional) or every occurrence of a word text in a segment (bow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// Segment index.
    pub segment: usize,
    /// Position of the (first) word in its segment.
    pub position: usize,
    /// The word text.
    pub text: String,
    /// Indices into [`Features::words`] of the words this feature covers.
    pub words: Vec<usize>,
}

/// The words and features of one example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Features {
    segments: Vec<String>,
    words: Vec<Word>,
    features: Vec<Feature>,
    bow: bool,
    /// Per segment, the byte offset from which the text is kept as it is, never a feature:
    /// the part the model does not read (its length when it reads all of it).
    fixed_from: Vec<usize>,
    /// Words past `fixed_from`, left out of the features.
    beyond: usize,
}

impl Features {
    /// Splits every segment into words and groups them into features. At least one segment
    /// is required; a segment without words is allowed (it renders as an empty segment).
    pub fn new(segments: &[String], splitter: &WordSplitter, bow: bool) -> Result<Self> {
        Self::within(segments, splitter, bow, None)
    }

    /// [`Features::new`] for a model that reads segment `s` only up to byte `visible[s]`:
    /// words that start at or past it are no features (a word the window cuts is one); the
    /// text from the first of them on is kept as it is in every rendering, so the model sees
    /// what it would see of the original, and the cost of an explanation does not grow with
    /// what it cannot see. [`Features::beyond_window`] counts them.
    pub fn within(segments: &[String], splitter: &WordSplitter, bow: bool, visible: Option<&[usize]>) -> Result<Self> {
        if segments.is_empty() {
            bail!("an example needs at least one segment");
        }
        let mut words = Vec::new();
        let mut features: Vec<Feature> = Vec::new();
        let mut fixed_from: Vec<usize> = segments.iter().map(String::len).collect();
        let mut beyond = 0;
        for (segment, text) in segments.iter().enumerate() {
            let mut by_text: HashMap<&str, usize> = HashMap::new();
            let limit = visible.and_then(|v| v.get(segment).copied()).unwrap_or(usize::MAX);
            for (position, (start, end)) in splitter.spans(text).enumerate() {
                if start >= limit {
                    if fixed_from[segment] == text.len() {
                        fixed_from[segment] = start;
                    }
                    beyond += 1;
                    continue;
                }
                let word_text = &text[start..end];
                let existing = if bow { by_text.get(word_text).copied() } else { None };
                let feature = match existing {
                    Some(f) => f,
                    None => {
                        features.push(Feature { segment, position, text: word_text.to_string(), words: Vec::new() });
                        by_text.insert(word_text, features.len() - 1);
                        features.len() - 1
                    }
                };
                features[feature].words.push(words.len());
                words.push(Word { segment, position, start, end, feature });
            }
        }
        Ok(Self { segments: segments.to_vec(), words, features, bow, fixed_from, beyond })
    }

    /// One positional feature per given word span (`spans[s]`: byte spans in segment s, in
    /// text order), for tokenizers that are not a match regex (shap's split tokenizer). An
    /// empty span is a word (shap makes one of a leading separator); a span out of bounds or
    /// off a character boundary is an error.
    pub fn from_spans(segments: &[String], spans: &[Vec<(usize, usize)>]) -> Result<Self> {
        if segments.is_empty() || spans.len() != segments.len() {
            bail!("{} span lists for {} segments (at least one segment is required)", spans.len(), segments.len());
        }
        let mut words = Vec::new();
        let mut features = Vec::new();
        for (segment, (text, spans)) in segments.iter().zip(spans).enumerate() {
            for (position, &(start, end)) in spans.iter().enumerate() {
                let Some(word_text) = text.get(start..end) else {
                    bail!("segment {segment}: word span {start}..{end} is not inside {text:?}");
                };
                features.push(Feature { segment, position, text: word_text.to_string(), words: vec![words.len()] });
                words.push(Word { segment, position, start, end, feature: features.len() - 1 });
            }
        }
        let fixed_from = segments.iter().map(String::len).collect();
        Ok(Self { segments: segments.to_vec(), words, features, bow: false, fixed_from, beyond: 0 })
    }

    /// Words the model does not read (past its token window), left out of the features.
    pub fn beyond_window(&self) -> usize {
        self.beyond
    }

    /// Per segment, the byte offset from which the text is kept as it is in every rendering.
    pub fn fixed_from(&self) -> &[usize] {
        &self.fixed_from
    }

    /// The example's segments, unmodified.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Every word, segment by segment, in text order.
    pub fn words(&self) -> &[Word] {
        &self.words
    }

    /// The text of a word.
    pub fn word_text(&self, word: &Word) -> &str {
        &self.segments[word.segment][word.start..word.end]
    }

    /// The features, in order of first occurrence.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// Number of features (the M or d of the explainers).
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether the example has no word at all.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Whether features are distinct words per segment (`true`) or word positions.
    pub fn is_bow(&self) -> bool {
        self.bow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn default_pattern_splits_words_and_punctuation() {
        let f = Features::new(&segs(&["A man's dog, running."]), &WordSplitter::default(), false).unwrap();
        let texts: Vec<&str> = f.features().iter().map(|x| x.text.as_str()).collect();
        assert_eq!(texts, ["A", "man", "'", "s", "dog", ",", "running", "."]);
        assert_eq!(f.words()[4].position, 4);
        assert_eq!(f.word_text(&f.words()[4]), "dog");
    }

    #[test]
    fn bow_groups_per_segment_and_keeps_segments_apart() {
        let s = segs(&["the dog saw the cat", "the cat"]);
        let f = Features::new(&s, &WordSplitter::default(), true).unwrap();
        let got: Vec<(usize, usize, &str, usize)> =
            f.features().iter().map(|x| (x.segment, x.position, x.text.as_str(), x.words.len())).collect();
        assert_eq!(
            got,
            [
                (0, 0, "the", 2),
                (0, 1, "dog", 1),
                (0, 2, "saw", 1),
                (0, 4, "cat", 1),
                (1, 0, "the", 1),
                (1, 1, "cat", 1)
            ]
        );
        let p = Features::new(&s, &WordSplitter::default(), false).unwrap();
        assert_eq!(p.len(), 7);
        assert_eq!(p.words()[5].segment, 1);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(WordSplitter::new("(").is_err());
        assert!(Features::new(&[], &WordSplitter::default(), false).is_err());
        // An empty-matching pattern yields no empty words.
        let f = Features::new(&segs(&["ab"]), &WordSplitter::new(r"\w*").unwrap(), false).unwrap();
        assert_eq!(f.len(), 1);
        let e = Features::new(&segs(&["", "x"]), &WordSplitter::default(), false).unwrap();
        assert_eq!(e.len(), 1);
    }
}
