//! `layer-drop`: keep some encoder layers of the source model (Sajjad et al., "On the
//! Effect of Dropping Layers of Pre-trained Transformer Models"), renumbered from 0, with
//! embeddings, pooler and head unchanged; `config.json`'s layer count is updated. Usually
//! followed by `finetune = true`.

use serde::{Deserialize, Serialize};
use trustx_framework::anyhow::{self, Context};
use trustx_framework::plugin::SettingsError;
use trustx_framework::plugin::compressor::{
    CardOverrides, CompressOutput, CompressRequest, Compressor, CompressorEntry, ModelShape,
};
use trustx_framework::schemars::{self, JsonSchema};
use trustx_framework::serde_json::json;

/// Which layers to keep: give `layers` or `keep_every`, not both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LayerChoice {
    /// The 0-based encoder layers to keep, e.g. `[0, 2, 4]`.
    #[serde(default)]
    pub layers: Option<Vec<usize>>,
    /// Keep layers 0, k, 2k, … (`keep_every = 2` keeps 3 of 6).
    #[serde(default)]
    pub keep_every: Option<usize>,
}

impl LayerChoice {
    /// The layers kept out of `n`; errors name the key.
    pub fn resolve(&self, n: usize) -> Result<Vec<usize>, SettingsError> {
        match (&self.layers, self.keep_every) {
            (Some(_), Some(_)) => Err(SettingsError::at("keep_every", "give `layers` or `keep_every`, not both")),
            (None, None) => Err(SettingsError {
                path: vec![],
                message: "say which layers to keep: `layers = [0, 2, 4]` or `keep_every = 2`".into(),
            }),
            (None, Some(0)) => Err(SettingsError::at("keep_every", "must be at least 1")),
            (None, Some(k)) => Ok((0..n).step_by(k).collect()),
            (Some(list), None) => {
                if list.is_empty() {
                    return Err(SettingsError::at("layers", "keep at least one layer"));
                }
                for (i, &l) in list.iter().enumerate() {
                    if l >= n {
                        return Err(SettingsError::at(
                            "layers",
                            format!(
                                "layer {l} is out of range: the source model has {n} layers (0 to {})",
                                n.saturating_sub(1)
                            ),
                        ));
                    }
                    if list[..i].contains(&l) {
                        return Err(SettingsError::at("layers", format!("layer {l} is listed twice")));
                    }
                }
                Ok(list.clone())
            }
        }
    }
}

/// The `layer-drop` compressor.
pub struct LayerDrop;

impl Compressor for LayerDrop {
    type Settings = LayerChoice;
    const NAME: &'static str = "layer-drop";
    const VERSION: &'static str = "1";
    const SUMMARY: &'static str =
        "Keep the listed encoder layers (`layers = [0, 2, 4]` or `keep_every = 2`), renumbered";

    fn check(settings: &LayerChoice, shape: ModelShape) -> Result<(), SettingsError> {
        settings.resolve(shape.layers).map(|_| ())
    }

    fn compress(settings: &LayerChoice, request: CompressRequest) -> anyhow::Result<CompressOutput> {
        let model = request.model;
        let before = model.spec().num_layers;
        let keep = settings.resolve(before).map_err(|e| anyhow::anyhow!("{}: {}", e.path.join("."), e.message))?;
        let out = model.with_layers(&keep).context("dropping layers")?;
        let report = json!({
            "layers_before": before,
            "layers_kept": keep,
            "layers_after": keep.len(),
            "parameters_before": model.num_parameters(),
            "parameters_after": out.num_parameters(),
        });
        Ok(CompressOutput { model: out, report, card: CardOverrides::default() })
    }
}

inventory::submit! { CompressorEntry::of::<LayerDrop>() }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_resolve_or_name_the_key() {
        let every = LayerChoice { keep_every: Some(2), ..Default::default() };
        assert_eq!(every.resolve(6).unwrap(), vec![0, 2, 4]);
        assert_eq!(every.resolve(5).unwrap(), vec![0, 2, 4]);
        let list = LayerChoice { layers: Some(vec![5, 1]), ..Default::default() };
        assert_eq!(list.resolve(6).unwrap(), vec![5, 1]);
        let e = list.resolve(4).unwrap_err();
        assert_eq!(e.path, vec!["layers"]);
        assert!(e.message.contains("out of range") && e.message.contains("4 layers"), "{}", e.message);
        assert!(LayerChoice::default().resolve(4).is_err());
        let both = LayerChoice { layers: Some(vec![0]), keep_every: Some(2) };
        assert_eq!(both.resolve(4).unwrap_err().path, vec!["keep_every"]);
    }
}
