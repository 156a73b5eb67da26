"""Reference explanations from the real `lime` and `shap` for trustx's explainer tests.

Run through `scripts/reference/explainers.sh` (it makes the pinned virtual environment);
writes `tests/reference/explainers.json`, which is committed so CI needs no Python.

What it computes, on 22 real sentences (14 SST-2 dev sentences and the premises and
hypotheses of the first SNLI dev pairs, 8 distinct sentences, each explained as one text):

- the model: a seeded, non-additive two-layer network over bag-of-words counts
  (lower-cased `\\w+` words of the reference vocabulary; tanh hidden layer; softmax over
  two classes), its weights in the JSON so the Rust test runs the same model;
- lime 0.2.0.1 `LimeTextExplainer(random_state=seed)` with every default
  (`split_expression=r"\\W+"`, `bow=True`, kernel width 25, feature selection `auto`,
  `num_features=10`, `num_samples=5000`), explaining `labels=(class,)` for seeds 0..4:
  the top words and their weights (`as_list`), the intercept and score;
- shap's `Partition` explainer on `shap.maskers.Text(tokenizer)` for the tokenizers
  `r"\\W+"`, the default (`None`, which is shap's `SimpleTokenizer(r"\\W+")`) and `r"\\s+"`
  (whitespace, so punctuation becomes tokens and shap's punctuation merge rules apply),
  with `max_evals` 100, 500 (shap's default) and 10000, `outputs=[class]`: the tokens,
  the values, the base value and the clustering shap built.

shap breaks ties between equal priorities in its queue with `np.random.randn()`; no
other implementation can reproduce that draw, so the reference replaces it by a counter
(ties go to the first queued, as in trustx) and records, per case, how far the values
of an unpatched run (numpy seeded with 0) are from the recorded ones
(`unpatched_max_abs_diff`).
"""

import json
import re
import sys

import lime
import numpy as np
import shap
from lime.lime_text import LimeTextExplainer

SST2 = "data/sst2/dev.tsv"
SNLI = "data/snli/snli_1.0_dev.head1000.jsonl"
HIDDEN = 8
MODEL_SEED = 7
LIME_SEEDS = [0, 1, 2, 3, 4]
SHAP_TOKENIZERS = {"\\W+": r"\W+", "default": None, "\\s+": r"\s+"}
SHAP_MAX_EVALS = [100, 500, 10000]


def sentences():
    """14 SST-2 dev sentences (ASCII, 5 to 30 words), then the first 8 distinct SNLI dev sentences."""
    out = []
    with open(SST2, encoding="utf-8") as f:
        next(f)
        for i, line in enumerate(f):
            text, _label = line.rstrip("\n").rsplit("\t", 1)
            text = text.strip()
            if text.isascii() and 5 <= len(text.split()) <= 30:
                out.append({"id": f"sst2-dev-{i}", "text": text})
            if len(out) == 14:
                break
    seen = set()
    with open(SNLI, encoding="utf-8") as f:
        for i, line in enumerate(f):
            row = json.loads(line)
            for part, key in (("premise", "sentence1"), ("hypothesis", "sentence2")):
                if row[key] not in seen and len(out) < 22:
                    seen.add(row[key])
                    out.append({"id": f"snli-dev-{i}-{part}", "text": row[key]})
    return out


def words(text):
    return re.findall(r"\w+", text.lower())


class Mlp:
    """softmax(tanh(counts · W1 + b1) · W2 + b2) over the vocabulary's word counts."""

    def __init__(self, vocab, seed):
        rng = np.random.RandomState(seed)
        self.vocab = vocab
        self.index = {w: i for i, w in enumerate(vocab)}
        self.w1 = rng.normal(0.0, 0.4, (len(vocab), HIDDEN))
        self.b1 = rng.normal(0.0, 0.5, HIDDEN)
        self.w2 = rng.normal(0.0, 1.2, (HIDDEN, 2))
        self.b2 = rng.normal(0.0, 0.2, 2)

    def __call__(self, texts):
        x = np.zeros((len(texts), len(self.vocab)))
        for r, t in enumerate(texts):
            for w in words(str(t)):
                i = self.index.get(w)
                if i is not None:
                    x[r, i] += 1.0
        z = np.tanh(x @ self.w1 + self.b1) @ self.w2 + self.b2
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def to_json(self):
        return {
            "kind": "bow-mlp",
            "definition": "softmax(tanh(x W1 + b1) W2 + b2); x = counts of the lower-cased \\w+ words in the vocabulary",
            "vocab": self.vocab,
            "w1": self.w1.tolist(),
            "b1": self.b1.tolist(),
            "w2": self.w2.tolist(),
            "b2": self.b2.tolist(),
        }


def explain_lime(model, text, cls):
    runs = []
    for seed in LIME_SEEDS:
        explainer = LimeTextExplainer(random_state=seed)
        exp = explainer.explain_instance(text, model, labels=(cls,), num_features=10, num_samples=5000)
        runs.append({
            "seed": seed,
            "top": [[w, float(v)] for w, v in exp.as_list(label=cls)],
            "intercept": float(exp.intercept[cls]),
            "score": float(exp.score),
        })
    return runs


class Counter:
    """Stands in for np.random.randn in shap's queue: ties go to the first queued."""

    def __init__(self):
        self.n = 0

    def __call__(self, *args):
        self.n += 1
        return float(self.n)


def run_shap(model, text, cls, tokenizer, max_evals):
    masker = shap.maskers.Text(tokenizer)
    explainer = shap.explainers.Partition(model, masker)
    out = explainer([text], max_evals=max_evals, outputs=[cls], silent=True)
    return out


def explain_shap(model, text, cls):
    cases = []
    for name, tokenizer in SHAP_TOKENIZERS.items():
        for max_evals in SHAP_MAX_EVALS:
            original = np.random.randn
            np.random.randn = Counter()
            try:
                out = run_shap(model, text, cls, tokenizer, max_evals)
            finally:
                np.random.randn = original
            np.random.seed(0)
            unpatched = run_shap(model, text, cls, tokenizer, max_evals)
            values = out.values[0][:, 0]
            cases.append({
                "tokenizer": name,
                "max_evals": max_evals,
                "tokens": [str(t) for t in out.data[0]],
                "values": values.tolist(),
                "base_value": float(np.ravel(out.base_values[0])[0]),
                "clustering": out.clustering[0].tolist(),
                "unpatched_max_abs_diff": float(np.max(np.abs(unpatched.values[0][:, 0] - values), initial=0.0)),
            })
    return cases


def main(path):
    items = sentences()
    vocab = sorted({w for it in items for w in words(it["text"])})
    model = Mlp(vocab, MODEL_SEED)
    examples = []
    for it in items:
        probs = model([it["text"]])[0]
        cls = int(np.argmax(probs))
        print(f"{it['id']}: class {cls} p={probs[cls]:.3f} {it['text'][:60]}", file=sys.stderr)
        examples.append({
            **it,
            "class": cls,
            "probs": probs.tolist(),
            "lime": explain_lime(model, it["text"], cls),
            "shap": explain_shap(model, it["text"], cls),
        })
    doc = {
        "generator": "scripts/reference/explainers.py",
        "versions": {"lime": lime.__version__ if hasattr(lime, "__version__") else "0.2.0.1",
                     "shap": shap.__version__, "numpy": np.__version__},
        "lime_settings": {"num_samples": 5000, "num_features": 10, "kernel_width": 25,
                          "split_expression": "\\W+", "bow": True, "feature_selection": "auto"},
        "shap_settings": {"explainer": "Partition", "masker": "Text", "outputs": "[class]",
                          "tie_break": "first queued (np.random.randn replaced by a counter)"},
        "model": model.to_json(),
        "examples": examples,
    }
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    import os
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/reference/explainers.json")
