//! No silent random heads: `trustx explain` and `trustx model inspect` load a folder's own
//! classification head. A folder without one (an encoder such as all-MiniLM-L6-v2) would
//! otherwise get a head drawn at random, whose "prediction" and explanation mean nothing;
//! the commands refuse it with an error saying how to get a trained head, unless
//! `--random-head --labels N` asks for a random one on purpose.

use crate::model::{HeadPolicy, HfModel, LoadOptions};
use anyhow::{Result, bail};
use std::path::Path;

/// The seed of a head drawn with `--random-head`.
pub const RANDOM_HEAD_SEED: u64 = 0;

/// `--random-head --labels N`, and `--special-tokens`: how a one-input command loads the model.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HeadArgs {
    /// Put a classification head drawn at random (seed 0) on the model, on purpose: for a
    /// folder without a head, or replacing its own. Its outputs say nothing about any task.
    #[arg(long, requires = "labels")]
    pub random_head: bool,
    /// Classes of the random head (with --random-head).
    #[arg(long, value_name = "N", requires = "random_head", value_parser = clap::value_parser!(u64).range(1..))]
    pub labels: Option<u64>,
    /// What `[SEP]`, `[CLS]`, `[MASK]`… typed in the text become: `escape` (the default:
    /// ordinary text) or `keep` (the special token, as transformers does).
    #[arg(long, value_name = "escape|keep", default_value = "escape")]
    pub special_tokens: crate::model::special_text::SpecialTokenText,
}

impl HeadArgs {
    /// Sets the head policy of `options`: the checkpoint's head, or a random one of `N` classes.
    pub fn apply(&self, options: &mut LoadOptions) {
        options.special_text = self.special_tokens;
        if self.random_head {
            options.head = HeadPolicy::Fresh;
            options.seed = RANDOM_HEAD_SEED;
            options.num_labels = self.labels.map(|n| n as usize);
        }
    }

    /// How the model's head came to be, for the output: `checkpoint` or `random (seed 0)`.
    pub fn describe(&self) -> String {
        if self.random_head { format!("random (seed {RANDOM_HEAD_SEED}, --random-head)") } else { "checkpoint".into() }
    }

    /// Refuses a model whose head was drawn at random without `--random-head`.
    pub fn check(&self, model: &HfModel, dir: &Path, command: &str) -> Result<()> {
        if model.load_report().fresh_head && !self.random_head {
            bail!("{}", no_head_message(dir, command));
        }
        Ok(())
    }
}

/// The error for a folder without a classification head.
pub fn no_head_message(dir: &Path, command: &str) -> String {
    format!(
        "{dir} has no classification head (no `classifier` weights in it), so its outputs would come from a head drawn at random. \
         Get a trained one: fine-tune it in a manifest (`[models.NAME] checkpoint = \"{dir}\"` without `finetuned = true`, \
         `trustx run`, then `trustx model export NAME --manifest FILE --out DIR`) and {command} that folder; \
         or pass `--random-head --labels N` to {command} a random head on purpose",
        dir = dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_says_how_to_get_a_head() {
        let m = no_head_message(Path::new("models/x"), "explain");
        assert!(m.contains("models/x has no classification head") && m.contains("--random-head --labels N"), "{m}");
        assert!(m.contains("trustx model export"), "{m}");
    }

    #[test]
    fn a_random_head_is_asked_for() {
        let mut o = LoadOptions::default();
        HeadArgs::default().apply(&mut o);
        assert_eq!(o.head, HeadPolicy::FromCheckpoint);
        HeadArgs { random_head: true, labels: Some(3), ..HeadArgs::default() }.apply(&mut o);
        assert_eq!((o.head, o.num_labels, o.seed), (HeadPolicy::Fresh, Some(3), RANDOM_HEAD_SEED));
    }
}
