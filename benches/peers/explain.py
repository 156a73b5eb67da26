"""The paper's explanation workload in the Python stack (transformers + lime + shap), as
`trustx bench --explain` runs it (framework/src/commands/bench_explain.rs): the first
`--count` labelled pairs of the SNLI JSONL file, all-MiniLM-L6-v2 with a fresh 3-class head
(seed 0), and for each pair and seed LIME (`--lime-samples`, 1000) then partition SHAP
(`--shap-evals`, 500) on the class the model predicts.

- LIME: lime's `LimeTextExplainer(random_state=seed)` with every default (`\\W+` words,
  bag of words, kernel width 25, `auto` feature selection), `num_features=10`,
  `labels=(class,)`.
- Partition SHAP: `shap.explainers.Partition` on `shap.maskers.Text(r"\\W+")` (mask token
  `...`, collapsed), `max_evals`, `outputs=[class]`, shap's default batch size; numpy seeded
  with the seed (shap breaks queue ties with `np.random.randn`).
- A pair: lime and shap explain one string, so premise and hypothesis are joined by
  `" ||| "` (no word characters: never a feature) and the predictor splits there and
  tokenizes the two as a BERT pair. lime keeps the separator in every sample; shap drops it
  with the premise's last word when it masks that word, and the predictor then reads one
  segment (the same tokens bar one `[SEP]`). trustx instead keeps premise and hypothesis
  apart (per-segment bag of words, per-segment trees joined last): the model calls per
  explanation are the same budgets.
- The predictor: softmax of the logits in batches of `--batch-size` (64, trustx's
  `--explain-batch`), padded to the longest text of the batch, `torch.inference_mode`.

Nothing is cached between explanations, so the seconds per LIME and per SHAP explanation
are the mean over the first three pairs at seed 0 (as trustx times its own, each on a fresh
cache), and the workload's seconds are the sum over every pair, seed and explainer. An
untimed warm-up comes first (one model call, a 20-sample LIME and a 20-evaluation SHAP
explanation: shap's first call compiles its numba kernels), as trustx loads its model
untimed. The pairs run one after another, torch using `--threads` cores; trustx explains
its pairs in parallel, each on single-threaded kernels, as its explain stage does.

Usage: python explain.py --minilm DIR [--pairs FILE] [--count 20] [--seeds 3]
                         [--lime-samples 1000] [--shap-evals 500] [--batch-size 64] [--threads N]
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import lime  # noqa: E402
import numpy as np  # noqa: E402
import shap  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from lime.lime_text import LimeTextExplainer  # noqa: E402
from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: E402

SEPARATOR = " ||| "
TIMED_PAIRS = 3


def read_pairs(path, count):
    """The first `count` pairs of `path` with a gold label, as bench_explain.rs's `read_pairs`."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if len(out) == count:
                break
            if not line.strip():
                continue
            row = json.loads(line)
            if row["gold_label"] == "-":
                continue
            out.append((row["pairID"], row["sentence1"], row["sentence2"]))
    if len(out) < count:
        sys.exit(f"{path} has {len(out)} labelled pairs, fewer than the {count} asked for")
    return out


class PairPredictor:
    """Probabilities of the 3 classes for strings that hold `premise SEPARATOR hypothesis`."""

    def __init__(self, model, tokenizer, batch_size):
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        self.calls = 0
        self.texts = 0

    def __call__(self, texts):
        texts = [str(t) for t in texts]
        self.calls += 1
        self.texts += len(texts)
        out = []
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start:start + self.batch_size]
            firsts, seconds = [], []
            for t in chunk:
                first, sep, second = t.partition(SEPARATOR.strip())
                firsts.append(first.strip())
                seconds.append(second.strip() if sep else "")
            enc = self.tokenizer(firsts, seconds, padding=True, truncation=True, max_length=512,
                                 return_tensors="pt")
            with torch.inference_mode():
                logits = self.model(**enc).logits
            out.append(torch.softmax(logits, dim=-1).numpy().astype(np.float64))
        return np.concatenate(out, axis=0)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minilm", default="models/all-MiniLM-L6-v2")
    p.add_argument("--pairs", default="data/snli/snli_1.0_dev.head1000.jsonl")
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--lime-samples", type=int, default=1000)
    p.add_argument("--shap-evals", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=common.default_threads())
    a = p.parse_args()
    if a.count < 1 or a.seeds < 1:
        sys.exit("--count and --seeds must be at least 1")
    torch.set_num_threads(a.threads)
    pairs = read_pairs(a.pairs, a.count)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(a.minilm, num_labels=3).eval()
    tokenizer = AutoTokenizer.from_pretrained(a.minilm)
    predict = PairPredictor(model, tokenizer, a.batch_size)
    masker = shap.maskers.Text(r"\W+")
    # Warm-up, not timed (trustx loads its model untimed too): the first model call, and one
    # small LIME and SHAP explanation (shap's first call compiles its numba kernels, ~9 s).
    warm = pairs[0][1] + SEPARATOR + pairs[0][2]
    predict([warm])
    LimeTextExplainer(random_state=0).explain_instance(warm, predict, labels=(0,), num_features=10, num_samples=20)
    shap.explainers.Partition(predict, masker)([warm], max_evals=20, outputs=[0], silent=True)
    predict.calls = predict.texts = 0

    lime_first, shap_first = [], []
    started, cpu_started = time.perf_counter(), time.process_time()
    for index, (pair_id, premise, hypothesis) in enumerate(pairs):
        text = premise + SEPARATOR + hypothesis
        cls = int(np.argmax(predict([text])[0]))
        for seed in range(a.seeds):
            t = time.perf_counter()
            LimeTextExplainer(random_state=seed).explain_instance(
                text, predict, labels=(cls,), num_features=10, num_samples=a.lime_samples)
            lime_s = time.perf_counter() - t
            np.random.seed(seed)
            t = time.perf_counter()
            shap.explainers.Partition(predict, masker)([text], max_evals=a.shap_evals, outputs=[cls], silent=True)
            shap_s = time.perf_counter() - t
            if seed == 0 and index < TIMED_PAIRS:
                lime_first.append(lime_s)
                shap_first.append(shap_s)
            common.log(f"pair {pair_id} seed {seed}: lime {lime_s:.2f} s, shap {shap_s:.2f} s")
    workload_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    row = {"pairs": len(pairs), "seeds": a.seeds, "lime_samples": a.lime_samples, "shap_evals": a.shap_evals,
           "batch_size": a.batch_size, "implementation": "python"}
    common.emit("explain", a.threads, [
        dict(row, measure="explain/lime", unit="s/explanation", value=sum(lime_first) / len(lime_first)),
        dict(row, measure="explain/shap", unit="s/explanation", value=sum(shap_first) / len(shap_first)),
        dict(row, measure="explain/workload", unit="s", value=workload_s),
    ], {
        "versions": common.versions("torch", "transformers", "lime", "shap", "numpy"),
        "workload_cpu_s": cpu_s,
        "texts_predicted": predict.texts,
        "predictor_calls": predict.calls,
        "pair_separator": SEPARATOR,
    })


if __name__ == "__main__":
    main()
