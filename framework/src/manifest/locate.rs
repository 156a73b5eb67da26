//! Finding the line of a key path in the manifest's TOML text.

use std::ops::Range;
use toml_edit::{Document, Item, Table, Value};

/// The parsed TOML text of a manifest, kept to map key paths to lines.
pub struct SourceMap {
    text: String,
    doc: Option<Document<String>>,
}

/// A position in the TOML tree: an item, a value inside an inline table/array, or a table.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Value(&'a Value),
    Table(&'a Table),
}

impl<'a> Node<'a> {
    /// The child `seg` and the span of its key (or of the child itself).
    fn child(self, seg: &str) -> Option<(Option<Range<usize>>, Node<'a>)> {
        let index = seg.parse::<usize>().ok();
        match self {
            Node::Table(t) | Node::Item(Item::Table(t)) => {
                t.get_key_value(seg).map(|(k, v)| (k.span().or_else(|| v.span()), Node::Item(v)))
            }
            Node::Item(Item::ArrayOfTables(a)) => index.and_then(|i| a.get(i)).map(|t| (t.span(), Node::Table(t))),
            Node::Item(Item::Value(v)) => Node::Value(v).child(seg),
            Node::Value(Value::InlineTable(t)) => {
                t.get_key_value(seg).map(|(k, v)| (k.span().or_else(|| v.span()), Node::Item(v)))
            }
            Node::Value(Value::Array(a)) => index.and_then(|i| a.get(i)).map(|v| (v.span(), Node::Value(v))),
            _ => None,
        }
    }

    fn span(self) -> Option<Range<usize>> {
        match self {
            Node::Item(i) => i.span(),
            Node::Value(v) => v.span(),
            Node::Table(t) => t.span(),
        }
    }
}

impl SourceMap {
    /// Parses `text`; a text that does not parse maps every key to no line.
    pub fn new(text: &str) -> Self {
        SourceMap { text: text.to_string(), doc: Document::parse(text.to_string()).ok() }
    }

    /// The 1-based line of the deepest part of `path` present in the file: the key itself
    /// when present, else the table that should hold it. `None` when not even the first
    /// key is in the file (the value came from the environment or a default).
    pub fn line_of(&self, path: &[String]) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let mut node = Node::Table(doc.as_table());
        let mut best = None;
        for seg in path {
            let Some((span, child)) = node.child(seg) else { break };
            if let Some(span) = span.or_else(|| child.span()) {
                best = Some(self.line_at(span.start));
            }
            node = child;
        }
        best
    }

    /// The 1-based line of a byte offset.
    pub fn line_at(&self, offset: usize) -> usize {
        self.text.as_bytes()[..offset.min(self.text.len())].iter().filter(|&&b| b == b'\n').count() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        s.split('.').map(String::from).collect()
    }

    #[test]
    fn finds_keys_tables_and_array_entries() {
        let text = "[experiment]\nname = \"x\"\nseeds = [1, 2]\n\n[models.a]\nsource = \"p\"\n\n[[explainers]]\nexplainer = \"lime\"\n\n[[explainers]]\nexplainer = \"shap\"\nopts = { k = 3 }\n";
        let m = SourceMap::new(text);
        assert_eq!(m.line_of(&p("experiment.name")), Some(2));
        assert_eq!(m.line_of(&p("experiment.seeds.1")), Some(3));
        assert_eq!(m.line_of(&p("models.a.source")), Some(6));
        assert_eq!(m.line_of(&p("models.a.missing")), Some(5));
        assert_eq!(m.line_of(&p("explainers.1.explainer")), Some(12));
        assert_eq!(m.line_of(&p("explainers.1.opts.k")), Some(13));
        assert_eq!(m.line_of(&p("calibration.bins")), None);
    }
}
