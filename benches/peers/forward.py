"""Forward throughput of the peers on `trustx bench`'s forward workload: a BERT-base-shaped
sequence classifier with random weights (2 labels) and all-MiniLM-L6-v2 with a 3-class
head, batch 32 × 64 tokens of trustx's random ids, in PyTorch (eager, `torch.inference_mode`,
transformers' default attention) and in ONNX Runtime (the same PyTorch module exported with
`torch.onnx.export`, fixed shapes, all graph optimisations). The same models quantised to
dynamic int8 (measures `forward-int8/…`, beside trustx's `packed dynamic-int8` rows): in
PyTorch by `torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)`
(what trustx's `dynamic-int8` reproduces; fbgemm kernels), in ONNX Runtime by
`onnxruntime.quantization.quantize_dynamic` of the exported graph (int8 weights, uint8
activations quantised per call: its MatMulInteger / DynamicQuantizeMatMul kernels).
Sequences per second, the median of `--reps` timed calls after one warm-up, as bench.rs
times its own.

Usage: python forward.py --minilm DIR [--batch 32] [--length 64] [--reps 5] [--threads N]
                         [--work DIR] [--only pytorch,onnxruntime,pytorch-int8,onnxruntime-int8]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: E402
from transformers import AutoModelForSequenceClassification, BertConfig, BertForSequenceClassification  # noqa: E402


def bert_base():
    """The BERT-base shape of bench.rs's `bert_base_spec`, random weights, 2 labels."""
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                        intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2, num_labels=2)
    return BertForSequenceClassification(config).eval()


def minilm(path):
    """all-MiniLM-L6-v2 with a fresh 3-class head (seed 0), as bench.rs loads it."""
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_pretrained(path, num_labels=3).eval()


def inputs(model, batch, length):
    ids = torch.tensor(common.random_ids(model.config.vocab_size, batch, length), dtype=torch.long)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}


def export_onnx(model, feeds, path):
    """Exports `model` to `path` once (fixed shapes); returns the exporter used."""
    names = ["input_ids", "attention_mask", "token_type_ids"]
    args = tuple(feeds[n] for n in names)
    # The TorchScript exporter gives the plain graph ONNX Runtime's BERT fusions know.
    try:
        torch.onnx.export(model, args, path, input_names=names, output_names=["logits"], opset_version=17,
                          dynamo=False)
        return "torch.onnx.export (TorchScript exporter, opset 17)"
    except Exception as e:  # noqa: BLE001 - fall back to the dynamo exporter where the old one is gone
        common.log(f"TorchScript exporter failed ({e}); trying dynamo=True")
        torch.onnx.export(model, args, path, input_names=names, output_names=["logits"], dynamo=True)
        return "torch.onnx.export (dynamo exporter)"


def ort_session(path, threads):
    """An ONNX Runtime CPU session of `path` with every graph optimisation, `threads` threads."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minilm", default="models/all-MiniLM-L6-v2")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--length", type=int, default=64)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=common.default_threads())
    p.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "trustx-peers-onnx"))
    p.add_argument("--only", default="pytorch,onnxruntime,pytorch-int8,onnxruntime-int8")
    a = p.parse_args()
    which = set(a.only.split(","))
    torch.set_num_threads(a.threads)
    os.makedirs(a.work, exist_ok=True)
    results, exporters = [], {}
    models = [("forward/bert-base", "bert-base", bert_base)]
    if os.path.isfile(os.path.join(a.minilm, "config.json")):
        models.append(("forward/minilm", "minilm", lambda: minilm(a.minilm)))
    else:
        common.log(f"skipping all-MiniLM-L6-v2: {a.minilm} is absent")
    for measure, short, build in models:
        model = build()
        feeds = inputs(model, a.batch, a.length)
        row = {"measure": measure, "unit": "seq/s", "batch": a.batch, "length": a.length, "reps": a.reps}
        if "pytorch" in which:
            with torch.inference_mode():
                s = common.median_seconds(a.reps, lambda: model(**feeds).logits)
            results.append(dict(row, implementation="pytorch", value=a.batch / s))
            common.log(f"{measure} pytorch {a.batch / s:.2f} seq/s")
        int8_row = dict(row, measure=measure.replace("forward/", "forward-int8/"))
        path = os.path.join(a.work, f"{short}-{a.batch}x{a.length}.onnx")
        if "onnxruntime" in which or "onnxruntime-int8" in which:
            exporters[short] = export_onnx(model, feeds, path)
        ort_feeds = {k: v.numpy().astype(np.int64) for k, v in feeds.items()}
        if "onnxruntime" in which:
            session = ort_session(path, a.threads)
            s = common.median_seconds(a.reps, lambda: session.run(["logits"], ort_feeds))
            results.append(dict(row, implementation="onnxruntime", value=a.batch / s))
            common.log(f"{measure} onnxruntime {a.batch / s:.2f} seq/s")
        if "pytorch-int8" in which:
            quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
            with torch.inference_mode():
                s = common.median_seconds(a.reps, lambda: quantized(**feeds).logits)
            results.append(dict(int8_row, implementation="pytorch", value=a.batch / s))
            common.log(f"{int8_row['measure']} pytorch {a.batch / s:.2f} seq/s")
            del quantized
        if "onnxruntime-int8" in which:
            int8_path = path.replace(".onnx", "-int8.onnx")
            quantize_dynamic(path, int8_path, weight_type=QuantType.QInt8)
            session = ort_session(int8_path, a.threads)
            s = common.median_seconds(a.reps, lambda: session.run(["logits"], ort_feeds))
            results.append(dict(int8_row, implementation="onnxruntime", value=a.batch / s))
            common.log(f"{int8_row['measure']} onnxruntime {a.batch / s:.2f} seq/s")
        del model
    common.emit("forward", a.threads, results, {
        "versions": common.versions("torch", "transformers", "onnxruntime", "numpy"),
        "onnx_export": exporters,
        "attention": "transformers default (sdpa)",
    })


if __name__ == "__main__":
    main()
