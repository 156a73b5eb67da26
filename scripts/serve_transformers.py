#!/usr/bin/env python3
"""Serve a text classifier to trustx over the trustx serving protocol, version 1.

One file, the standard library plus whichever of these you have:
  * transformers + torch: a Hugging Face folder (BERT, RoBERTa, DeBERTa, ELECTRA, ...),
    as is or through torch.ao.quantization.quantize_dynamic (--dynamic-int8: int8 Linear
    layers, the way PyTorch ships dynamic quantization);
  * onnxruntime + numpy (+ transformers or tokenizers for the tokenizer): an ONNX file, e.g.
    an Optimum export or its int8 quantization (model_quantized.onnx).

trustx starts this script (argv, no shell) once per node that needs the model, writes
{"trustx": 1} and reads back the labels; then it sends {"id": n, "inputs": [[text] or
[premise, hypothesis], ...]} and reads {"id": n, "probabilities": [[...], ...]} (softmax of
the logits, one row per input, columns in the order of --labels). Logs go to stderr. The
script exits when its stdin closes.

Auditing a RoBERTa against its dynamic-int8 self (SST-2; the dataset's labels are
"negative, positive", so name the model's two outputs that way):

    [models.roberta]
    source = "server"
    reference = true
    command = ["python3", "../scripts/serve_transformers.py",
               "--model", "../models/roberta-sst2", "--labels", "negative,positive"]
    inputs = ["../scripts/serve_transformers.py", "../models/roberta-sst2"]

    [models.roberta-int8]
    source = "server"
    command = ["python3", "../scripts/serve_transformers.py",
               "--model", "../models/roberta-sst2", "--dynamic-int8",
               "--labels", "negative,positive"]
    inputs = ["../scripts/serve_transformers.py", "../models/roberta-sst2"]

An Optimum int8 export against its float original (export and quantize with
`optimum-cli export onnx --model ../models/roberta-sst2 onnx/` then
`optimum-cli onnxruntime quantize --onnx_model onnx/ --avx512 -o onnx-int8/`):

    [models.roberta-onnx-int8]
    source = "server"
    command = ["python3", "../scripts/serve_transformers.py",
               "--model", "../onnx-int8/model_quantized.onnx",
               "--tokenizer", "../models/roberta-sst2", "--labels", "negative,positive"]
    inputs = ["../scripts/serve_transformers.py", "../onnx-int8"]

Try it by hand:
    printf '{"trustx": 1}\\n{"id": 0, "inputs": [["a great film"]]}\\n' | \\
        python3 scripts/serve_transformers.py --model DIR
"""

import argparse
import json
import os
import sys

PROTOCOL_VERSION = 1


def log(message):
    print(f"serve_transformers: {message}", file=sys.stderr, flush=True)


def load_tokenizer(path):
    """A callable (firsts, seconds or None, max_length) -> dict of int64 arrays/lists, and
    the tokenizer's mask token."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        AutoTokenizer = None
    if AutoTokenizer is not None:
        tok = AutoTokenizer.from_pretrained(path)

        def encode(firsts, seconds, max_length, tensors):
            return tok(firsts, seconds, truncation=True, max_length=max_length, padding=True, return_tensors=tensors)

        return encode, tok.mask_token
    # No transformers: the `tokenizers` library and the folder's tokenizer.json.
    import numpy as np
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))

    def encode_plain(firsts, seconds, max_length, tensors):
        tok.enable_truncation(max_length)
        tok.enable_padding()
        pairs = list(zip(firsts, seconds)) if seconds is not None else firsts
        encodings = tok.encode_batch(pairs)
        return {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }

    return encode_plain, None


def config_labels(folder):
    """The id2label names of a Hugging Face config.json, in id order (None if absent)."""
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        id2label = json.load(f).get("id2label")
    if not id2label:
        return None
    return [id2label[k] for k in sorted(id2label, key=int)]


class TorchModel:
    """A Hugging Face folder through transformers and torch."""

    def __init__(self, folder, tokenizer, dynamic_int8, threads):
        import torch
        from transformers import AutoModelForSequenceClassification

        self.torch = torch
        if threads:
            torch.set_num_threads(threads)
        model = AutoModelForSequenceClassification.from_pretrained(folder)
        model.eval()
        if dynamic_int8:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
            log("Linear layers quantized to int8 (torch.ao.quantization.quantize_dynamic)")
        self.model = model
        self.encode, self.mask_token = load_tokenizer(tokenizer)
        self.num_labels = model.config.num_labels

    def probabilities(self, firsts, seconds, max_length):
        enc = self.encode(firsts, seconds, max_length, "pt")
        with self.torch.no_grad():
            logits = self.model(**enc).logits
        return self.torch.softmax(logits.double(), dim=-1).tolist()


class OnnxModel:
    """An ONNX file through onnxruntime."""

    def __init__(self, path, tokenizer, threads):
        import numpy as np
        import onnxruntime as ort

        self.np = np
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.encode, self.mask_token = load_tokenizer(tokenizer)
        self.num_labels = None

    def probabilities(self, firsts, seconds, max_length):
        np = self.np
        enc = self.encode(firsts, seconds, max_length, "np")
        feed = {name: np.asarray(enc[name], dtype=np.int64) for name in self.inputs if name in enc}
        missing = [name for name in self.inputs if name not in feed]
        if missing:
            raise ValueError(f"the ONNX model wants inputs {missing} that the tokenizer does not give")
        logits = self.session.run(None, feed)[0].astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return (e / e.sum(axis=1, keepdims=True)).tolist()


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def answer(model, inputs, max_length, order):
    """Probability rows for a request's inputs (one text, or a pair, each)."""
    if not inputs:
        return []
    pairs = {len(s) for s in inputs}
    if pairs - {1, 2} or len(pairs) > 1:
        raise ValueError("every input of a request must be one text, or every input a pair")
    firsts = [s[0] for s in inputs]
    seconds = [s[1] for s in inputs] if pairs == {2} else None
    rows = model.probabilities(firsts, seconds, max_length)
    if order:
        rows = [[row[i] for i in order] for row in rows]
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a Hugging Face folder, or an .onnx file")
    parser.add_argument("--tokenizer", help="folder of the tokenizer (default: the model's folder)")
    parser.add_argument("--dynamic-int8", action="store_true", help="quantize Linear layers to int8 (torch)")
    parser.add_argument(
        "--labels", help="class names, comma-separated, in the model's output order (default: config.json id2label)"
    )
    parser.add_argument(
        "--order",
        help="model outputs to answer, comma-separated indices, when the dataset orders classes differently "
        "(e.g. 2,0,1); --labels then names the answered columns",
    )
    parser.add_argument("--max-length", type=int, default=128, help="longest input in tokens (default 128)")
    parser.add_argument("--max-batch", type=int, default=32, help="inputs per request (default 32)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (default: the library's)")
    args = parser.parse_args()

    folder = args.model if os.path.isdir(args.model) else os.path.dirname(os.path.abspath(args.model))
    tokenizer = args.tokenizer or folder
    if args.model.endswith(".onnx"):
        if args.dynamic_int8:
            parser.error("--dynamic-int8 quantizes a torch model; for ONNX give the quantized file itself")
        model = OnnxModel(args.model, tokenizer, args.threads)
    else:
        model = TorchModel(args.model, tokenizer, args.dynamic_int8, args.threads)
    order = [int(i) for i in args.order.split(",")] if args.order else None
    labels = args.labels.split(",") if args.labels else config_labels(folder) or config_labels(tokenizer)
    if not labels:
        parser.error("no id2label in config.json: give --labels")
    if order and len(order) != len(labels):
        parser.error(f"--order has {len(order)} indices for {len(labels)} labels")
    if model.num_labels and not order and model.num_labels != len(labels):
        parser.error(f"the model has {model.num_labels} outputs but {len(labels)} labels were given")
    log(f"serving {args.model} ({', '.join(labels)})")

    hello = {"labels": labels, "name": os.path.basename(args.model.rstrip("/")), "version": "1", "max_batch": args.max_batch}
    if model.mask_token:
        hello["mask_token"] = model.mask_token
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        if "trustx" in message:
            if message["trustx"] != PROTOCOL_VERSION:
                send({"error": f"this server speaks protocol version {PROTOCOL_VERSION}"})
                return
            send(hello)
            continue
        try:
            send({"id": message["id"], "probabilities": answer(model, message["inputs"], args.max_length, order)})
        except Exception as e:  # an error for this request; trustx stops the run and shows it
            send({"id": message.get("id"), "error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
