//! Where a burn module visitor or mapper is in the module tree: the field names from the root
//! (`bert.encoder.layer.3.attention.self.query.weight` once joined) and the container types
//! around the current parameter (`Struct:Linear`, …). Every walk over a model's parameters
//! (inventory, saving, surgery, initialisation) keeps one.

/// The path of the module being visited and the types of its containers.
#[derive(Debug, Default, Clone)]
pub struct ModulePath {
    names: Vec<String>,
    containers: Vec<String>,
}

impl ModulePath {
    /// Enters field `name` of a container of type `container_type` (burn's `enter_module`).
    pub fn enter(&mut self, name: &str, container_type: &str) {
        self.names.push(name.to_string());
        self.containers.push(container_type.to_string());
    }

    /// Leaves the innermost field (burn's `exit_module`).
    pub fn exit(&mut self) {
        self.names.pop();
        self.containers.pop();
    }

    /// The dotted path (`….query.weight`), as Hugging Face names tensors.
    pub fn dotted(&self) -> String {
        self.names.join(".")
    }

    /// The dotted path without its last name (the module holding the parameter).
    pub fn parent(&self) -> String {
        self.names[..self.names.len().saturating_sub(1)].join(".")
    }

    /// The innermost name (`weight`, `bias`, …).
    pub fn last(&self) -> Option<&str> {
        self.names.last().map(String::as_str)
    }

    /// The names from the root, innermost last.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether the innermost struct around the parameter is a `Linear` (whose weight Hugging
    /// Face stores transposed).
    pub fn in_linear(&self) -> bool {
        self.containers
            .iter()
            .rev()
            .find(|c| c.starts_with("Struct:") || c.starts_with("Enum:"))
            .is_some_and(|c| c == "Struct:Linear")
    }
}

#[cfg(test)]
mod tests {
    use super::ModulePath;

    #[test]
    fn tracks_names_and_the_innermost_struct() {
        let mut p = ModulePath::default();
        p.enter("encoder", "Struct:Encoder");
        p.enter("layer", "Vec");
        p.enter("0", "Struct:Layer");
        p.enter("query", "Struct:Linear");
        p.enter("weight", "Param");
        assert_eq!(p.dotted(), "encoder.layer.0.query.weight");
        assert_eq!(p.parent(), "encoder.layer.0.query");
        assert_eq!(p.last(), Some("weight"));
        assert!(p.in_linear());
        p.exit();
        p.exit();
        p.enter("norm", "Struct:LayerNorm");
        assert!(!p.in_linear());
        assert_eq!(p.names().len(), 4);
    }
}
