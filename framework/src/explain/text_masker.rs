//! shap's `Text` masker (shap 0.51.0, `shap/maskers/_text.py`) on trustx's segments: its
//! tokens, the partition tree it builds from them, and the texts it renders for a mask.
//!
//! - **Tokens** ([`TextTokens::regex`], shap's `SimpleTokenizer`): the text between matches
//!   of a split pattern (shap's default `\W+`); an empty token starts a text that begins with
//!   a separator. Each token's *part* is the token and the separator after it, except for
//!   the last token, whose part is the token alone (shap's `token_segments`: the offsets of
//!   the last token end the text, so a final `.` is never shown to the model, masked or not).
//! - **Tree** ([`TextTokens::partition_tree`], shap's `Text.clustering` → `partition_tree`):
//!   every part, stripped, becomes a tree token (`##` in front when the previous part ends in
//!   a word character and this one starts with a letter); groups of adjacent tokens merge
//!   greedily by `merge_score` (word pieces first, apostrophe endings next; brackets,
//!   connectors `but`/`and`/`or`, commas and `.`/`?`/`!` reached across late; smaller groups
//!   first; the leftmost best pair on ties, as `np.argmax`).
//! - **Rendering** ([`TextTokens::render`], shap's `Text.__call__` for `output_type =
//!   "string"`): kept tokens contribute their parts, a masked token `" " + mask_token`, only
//!   once for a run of masked tokens when `collapse` (shap's default for a tokenizer without a
//!   mask token, whose mask token is `...`); then every run of white space becomes one space
//!   and the ends are stripped.
//!
//! trustx's pair rule: each segment is tokenized and rendered on its own and the segment
//! trees are joined last, left to right, so the pair separator is never a token.

use super::features::Features;
use super::mask::Mask;
use anyhow::{Context, Result};
use regex::Regex;

/// The tokens of an example's segments, as shap's Text masker sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextTokens {
    segments: Vec<String>,
    /// Per segment, the byte span of each token's part (token plus following separator).
    parts: Vec<Vec<(usize, usize)>>,
    /// Per segment, the byte span of each token itself.
    tokens: Vec<Vec<(usize, usize)>>,
}

/// A node of a partition tree over features `lo..hi` (contiguous), with its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeNode {
    /// First feature.
    pub lo: usize,
    /// One past the last feature.
    pub hi: usize,
    /// Left and right child (node indices); `None` for a leaf.
    pub children: Option<(usize, usize)>,
}

impl TreeNode {
    /// Number of leaves under the node.
    pub fn size(&self) -> usize {
        self.hi - self.lo
    }
}

impl TextTokens {
    /// shap's `SimpleTokenizer(split_pattern)` applied to each segment; a bad pattern is an
    /// error naming it.
    pub fn regex(segments: &[String], split_pattern: &str) -> Result<Self> {
        Self::regex_keeping(segments, split_pattern, &[])
    }

    /// [`Self::regex`], never splitting inside an occurrence of one of `atoms` (a model's
    /// special tokens when it reads their text as the token): each occurrence is a token of
    /// its own, the separators around it stay separators, and a separator match is cut where
    /// it overlaps one.
    pub fn regex_keeping(segments: &[String], split_pattern: &str, atoms: &[String]) -> Result<Self> {
        let re = Regex::new(split_pattern).with_context(|| format!("invalid split pattern {split_pattern:?}"))?;
        let mut parts = Vec::with_capacity(segments.len());
        let mut tokens = Vec::with_capacity(segments.len());
        for s in segments {
            let whole = super::features::atom_spans(s, atoms);
            // Cuts: the separator matches minus the atoms, and an empty cut at each atom's
            // edges (`true`: a real separator, which may leave an empty token as shap does).
            let mut cuts: Vec<(usize, usize, bool)> = Vec::new();
            for m in re.find_iter(s) {
                let mut from = m.start();
                for &(a, b) in whole.iter().filter(|&&(a, b)| a < m.end() && m.start() < b) {
                    if from < a {
                        cuts.push((from, a, true));
                    }
                    from = from.max(b);
                }
                if from < m.end() || (m.start() == m.end() && !whole.iter().any(|&(a, b)| a < from && from < b)) {
                    cuts.push((from, m.end().max(from), true));
                }
            }
            for &(a, b) in &whole {
                cuts.push((a, a, false));
                cuts.push((b, b, false));
            }
            cuts.sort_by_key(|&(start, end, real)| (start, !real, end));
            let mut pos = 0;
            let mut toks = Vec::new();
            for (start, end, real) in cuts {
                if start < pos || (!real && start == pos) {
                    continue;
                }
                toks.push((pos, start));
                pos = end;
            }
            if pos != s.len() {
                toks.push((pos, s.len()));
            }
            parts.push(parts_of(&toks));
            tokens.push(toks);
        }
        Ok(Self { segments: segments.to_vec(), parts, tokens })
    }

    /// The example's segments.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Number of tokens over all segments (the features).
    pub fn len(&self) -> usize {
        self.tokens.iter().map(Vec::len).sum()
    }

    /// Whether there is no token at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One positional feature per token (its text is the token without its separator).
    pub fn features(&self) -> Result<Features> {
        Features::from_spans(&self.segments, &self.tokens)
    }

    /// The text of each token's part, segment by segment (shap's `Explanation.data`).
    pub fn part_texts(&self) -> Vec<&str> {
        self.segments.iter().zip(&self.parts).flat_map(|(s, ps)| ps.iter().map(move |&(a, b)| &s[a..b])).collect()
    }

    /// The segments `mask` leaves (bit i = token i kept), with absent tokens replaced by
    /// `mask_token` as shap's Text masker does.
    pub fn render(&self, mask: &Mask, mask_token: &str, collapse: bool) -> Vec<String> {
        let mut out = Vec::with_capacity(self.segments.len());
        let mut i = 0;
        for (s, parts) in self.segments.iter().zip(&self.parts) {
            let mut text = String::new();
            let mut previous_masked = false;
            for &(a, b) in parts {
                if mask.get(i) {
                    text.push_str(&s[a..b]);
                    previous_masked = false;
                } else if !collapse || !previous_masked {
                    text.push(' ');
                    text.push_str(mask_token);
                    previous_masked = true;
                }
                i += 1;
            }
            out.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        out
    }

    /// shap's partition tree of each segment's tokens, the segment trees joined last: nodes
    /// 0..M are the leaves (tokens), internal nodes follow in merge order, the root is last.
    pub fn partition_tree(&self) -> Vec<TreeNode> {
        let m = self.len();
        let mut nodes: Vec<TreeNode> = (0..m).map(|i| TreeNode { lo: i, hi: i + 1, children: None }).collect();
        let mut roots = Vec::new();
        let mut offset = 0;
        for (s, parts) in self.segments.iter().zip(&self.parts) {
            let texts: Vec<&str> = parts.iter().map(|&(a, b)| &s[a..b]).collect();
            if let Some(root) = merge_segment(&tree_tokens(&texts), offset, &mut nodes) {
                roots.push(root);
            }
            offset += parts.len();
        }
        while roots.len() > 1 {
            let (a, b) = (roots[0], roots[1]);
            nodes.push(TreeNode { lo: nodes[a].lo, hi: nodes[b].hi, children: Some((a, b)) });
            roots[0] = nodes.len() - 1;
            roots.remove(1);
        }
        nodes
    }
}

/// shap's `token_segments` from token offsets: each part runs to the next token's start.
fn parts_of(tokens: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut parts: Vec<(usize, usize)> = tokens.windows(2).map(|w| (w[0].0, w[0].1.max(w[1].0))).collect();
    parts.extend(tokens.last().copied());
    parts
}

/// The tokens shap's `Text.clustering` hands to `partition_tree`: stripped parts, with `##`
/// in front of a part that starts with a letter after a part that does not end in `\W`.
fn tree_tokens(parts: &[&str]) -> Vec<String> {
    let ends_non_word = |s: &str| {
        let Some(last) = s.chars().last() else { return false };
        let body = &s[..s.len() - last.len_utf8()];
        !(last.is_alphanumeric() || last == '_' || body.contains('\n'))
    };
    let mut out: Vec<String> = Vec::with_capacity(parts.len());
    for (i, v) in parts.iter().enumerate() {
        let glued = i > 0
            && !ends_non_word(parts[i - 1])
            && v.starts_with(|c: char| c.is_ascii_alphabetic())
            && !out[i - 1].is_empty();
        out.push(if glued { format!("##{}", v.trim()) } else { v.trim().to_string() });
    }
    out
}

const OPENER: &str = "(";
const CLOSER: &str = ")";
const CONNECTORS: [&str; 3] = ["but", "and", "or"];
const ENDERS: [&str; 3] = [".", "?", "!"];

/// shap's `merge_score` of the adjacent groups `g1` and `g2` (token ranges) of `tokens`,
/// with `balanced[i]` the state of token i's bracket. No special tokens: trustx never makes
/// the pair separator a token.
fn merge_score(tokens: &[String], balanced: &[bool], g1: (usize, usize), g2: (usize, usize)) -> f64 {
    let (first1, last1) = (tokens[g1.0].as_str(), tokens[g1.1 - 1].as_str());
    let (first2, last2) = (tokens[g2.0].as_str(), tokens[g2.1 - 1].as_str());
    let (len1, len2) = (g1.1 - g1.0, g2.1 - g2.0);
    let mut score = 0.0;
    if first2.starts_with("##") {
        score += 20.0;
    }
    if first2 == "'" && (len2 == 1 || (len2 == 2 && matches!(tokens[g2.0 + 1].as_str(), "t" | "s"))) {
        score += 15.0;
    }
    if last1 == "'" && matches!(first2, "t" | "s") {
        score += 15.0;
    }
    let ctrl = |s: &str| s.starts_with('[') && s.ends_with(']');
    if ctrl(first1) != ctrl(last2) {
        score -= 1000.0;
    }
    if first2 == OPENER && !balanced[g2.0] {
        score -= 100.0;
    }
    if last1 == CLOSER && !balanced[g1.1 - 1] {
        score -= 100.0;
    }
    // shap tests `group2[-1] not in closers` on a Token object, which is always true.
    if first1 == OPENER {
        score -= 2.0;
    }
    if CONNECTORS.contains(&last1) || CONNECTORS.contains(&first2) {
        score -= 2.0;
    }
    if last1 == "," {
        score -= 10.0;
    }
    if first2 == "," {
        score -= if len2 > 1 { 10.0 } else { 1.0 };
    }
    if ENDERS.contains(&last1) {
        score -= 20.0;
    }
    if ENDERS.contains(&first2) {
        score -= if len2 > 1 { 20.0 } else { 1.0 };
    }
    score - (len1 + len2) as f64
}

/// Merges one segment's tokens (features `offset..offset + tokens.len()`) into a tree as
/// shap's `partition_tree` does, pushing the internal nodes; returns the segment's root.
fn merge_segment(tokens: &[String], offset: usize, nodes: &mut Vec<TreeNode>) -> Option<usize> {
    let mut balanced: Vec<bool> = tokens.iter().map(|t| t != OPENER && t != CLOSER).collect();
    // Groups: (token range, node index).
    let mut groups: Vec<((usize, usize), usize)> = (0..tokens.len()).map(|i| ((i, i + 1), offset + i)).collect();
    while groups.len() > 1 {
        let mut best = (f64::NEG_INFINITY, 0);
        for k in 0..groups.len() - 1 {
            let score = merge_score(tokens, &balanced, groups[k].0, groups[k + 1].0);
            if k == 0 || score > best.0 {
                best = (score, k);
            }
        }
        let k = best.1;
        let ((lo, _), a) = groups[k];
        let ((_, hi), b) = groups[k + 1];
        nodes.push(TreeNode { lo: nodes[a].lo, hi: nodes[b].hi, children: Some((a, b)) });
        if tokens[lo] == OPENER && tokens[hi - 1] == CLOSER {
            balanced[lo] = true;
            balanced[hi - 1] = true;
        }
        groups[k] = ((lo, hi), nodes.len() - 1);
        groups.remove(k + 1);
    }
    groups.first().map(|g| g.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &[&str], pattern: &str) -> TextTokens {
        TextTokens::regex(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>(), pattern).unwrap()
    }

    fn internal(t: &[TreeNode]) -> Vec<(usize, usize)> {
        t.iter().filter(|n| n.children.is_some()).map(|n| (n.lo, n.hi)).collect()
    }

    #[test]
    fn tokens_and_parts_follow_simple_tokenizer() {
        let t = tokens(&["a dog, ran."], r"\W+");
        assert_eq!(t.part_texts(), ["a ", "dog, ", "ran"]);
        let f = t.features().unwrap();
        let texts: Vec<&str> = f.features().iter().map(|x| x.text.as_str()).collect();
        assert_eq!(texts, ["a", "dog", "ran"]);
        // A leading separator makes an empty first token.
        let t = tokens(&["...so good"], r"\W+");
        assert_eq!(t.part_texts(), ["...", "so ", "good"]);
        assert!(TextTokens::regex(&["x".to_string()], "(").is_err());
    }

    #[test]
    fn kept_special_tokens_are_tokens_of_their_own() {
        let s = ["a [SEP] b, [MASK]".to_string()];
        let plain = TextTokens::regex(&s, r"\W+").unwrap();
        assert_eq!(plain.part_texts(), ["a [", "SEP] ", "b, [", "MASK"]);
        let kept = TextTokens::regex_keeping(&s, r"\W+", &["[SEP]".into(), "[MASK]".into()]).unwrap();
        assert_eq!(kept.part_texts(), ["a ", "[SEP] ", "b, ", "[MASK]"]);
        let texts: Vec<String> = kept.features().unwrap().features().iter().map(|f| f.text.clone()).collect();
        assert_eq!(texts, ["a", "[SEP]", "b", "[MASK]"]);
    }

    #[test]
    fn rendering_collapses_runs_and_normalises_space() {
        let t = tokens(&["a  dog, ran far."], r"\W+");
        let full = Mask::full(4);
        assert_eq!(t.render(&full, "...", true), ["a dog, ran far"]);
        let m = Mask::from_fn(4, |i| i == 0 || i == 3);
        // As shap 0.51.0's `Text(r"\W+")` renders it: a masked token's separator goes with it.
        assert_eq!(t.render(&m, "...", true), ["a ...far"]);
        assert_eq!(t.render(&m, "[MASK]", false), ["a [MASK] [MASK]far"]);
        assert_eq!(t.render(&Mask::empty(4), "...", true), ["..."]);
        let pair = tokens(&["a b", "c d"], r"\W+");
        assert_eq!(pair.render(&Mask::from_fn(4, |i| i != 1 && i != 2), "...", true), ["a ...", "...d"]);
    }

    #[test]
    fn tree_follows_shaps_merge_rules() {
        // Sizes first, leftmost on ties; segments join last.
        let t = tokens(&["a b c d", "e f"], r"\W+");
        assert_eq!(internal(&t.partition_tree()), [(0, 2), (2, 4), (0, 4), (4, 6), (0, 6)]);
        // Whitespace tokens (clusterings printed by shap 0.51.0's `Text(r"\s+").clustering`):
        // `,` and `.` are reached across late, `and` a little later, brackets balance.
        let t = tokens(&["good , not bad and fun ."], r"\s+");
        assert_eq!(internal(&t.partition_tree()), [(2, 4), (0, 2), (5, 7), (2, 5), (2, 7), (0, 7)]);
        let t = tokens(&["we root for ( clara and paul ) , even so"], r"\s+");
        let want = [(0, 2), (6, 8), (9, 11), (0, 3), (3, 5), (5, 8), (3, 8), (0, 8), (0, 9), (0, 11)];
        assert_eq!(internal(&t.partition_tree()), want);
        assert!(tokens(&[""], r"\W+").partition_tree().is_empty());
    }
}
