#!/usr/bin/env python3
"""A bag-of-words sentiment model served over the trustx serving protocol, version 1.

Standard library only: trustx's tests and the bundled manifest experiments/served-bow.toml
use it to audit a model served by another process, with no torch installed.

At start-up it trains a logistic regression on a file of "<label> <sentence>" lines (the
SST-2 format of data/sst2/stsa.binary.*): lower-cased words (runs of letters, digits and
apostrophes, or single punctuation marks) as binary features, full-batch gradient descent
with L2 regularisation, a fixed number of epochs, no randomness, so the same file gives the
same model. Then it speaks the protocol on stdin/stdout (see the README, "Serving a model
to trustx"): the handshake {"trustx": 1} is answered with the labels, then each request
{"id": n, "inputs": [[text], ...]} with {"id": n, "probabilities": [[p_neg, p_pos], ...]}.
Logs go to stderr. It exits when stdin closes.

    python3 scripts/serve_bow.py --train data/sst2/stsa.binary.train.head3000
"""

import argparse
import json
import math
import re
import sys

PROTOCOL_VERSION = 1
WORD = re.compile(r"[a-z0-9']+|[^\sa-z0-9']")


def words(text):
    """The set of lower-cased words of a text."""
    return set(WORD.findall(text.lower()))


def features(segments):
    """Binary features of an input: the words of each segment, the second one's prefixed."""
    out = set()
    for i, text in enumerate(segments):
        prefix = "" if i == 0 else f"{i}:"
        out.update(prefix + w for w in words(text))
    return out


def read_examples(path, max_rows):
    """(label, text) pairs of an SST-2 "<label> <sentence>" file."""
    examples = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            label, _, text = line.partition(" ")
            examples.append((int(label), text))
            if max_rows and len(examples) >= max_rows:
                break
    return examples


class BagOfWords:
    """Two-class logistic regression over binary word features."""

    def __init__(self, examples, epochs, lr, l2, min_count):
        counts = {}
        rows = []
        for label, text in examples:
            f = features([text])
            rows.append((label, f))
            for w in f:
                counts[w] = counts.get(w, 0) + 1
        self.weights = {w: 0.0 for w, c in counts.items() if c >= min_count}
        self.bias = 0.0
        n = len(rows)
        for _ in range(epochs):
            grad = {}
            grad_bias = 0.0
            for label, f in rows:
                err = self.positive(f) - label
                grad_bias += err
                for w in f:
                    if w in self.weights:
                        grad[w] = grad.get(w, 0.0) + err
            self.bias -= lr * grad_bias / n
            for w in self.weights:
                self.weights[w] -= lr * (grad.get(w, 0.0) / n + l2 * self.weights[w])

    def positive(self, f):
        """P(positive) for a feature set."""
        z = self.bias + sum(self.weights.get(w, 0.0) for w in f)
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def probabilities(self, segments):
        """[P(negative), P(positive)] of one input."""
        p = self.positive(features(segments))
        return [1.0 - p, p]


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve(model, labels, max_batch):
    """Answers the handshake, then every request, until stdin closes."""
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        if "trustx" in message:
            if message["trustx"] != PROTOCOL_VERSION:
                send({"error": f"this server speaks protocol version {PROTOCOL_VERSION}"})
                return
            send({"labels": labels, "name": "bow-logreg", "version": "1", "max_batch": max_batch})
            continue
        try:
            rows = [model.probabilities(segments) for segments in message["inputs"]]
            send({"id": message["id"], "probabilities": rows})
        except Exception as e:  # an error for this request, not the end of the server
            send({"id": message.get("id"), "error": f"{type(e).__name__}: {e}"})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True, help='training file of "<label> <sentence>" lines')
    parser.add_argument("--max-rows", type=int, default=0, help="train on the first N rows only (0: all)")
    parser.add_argument("--epochs", type=int, default=60, help="full-batch gradient steps (default 60)")
    parser.add_argument("--lr", type=float, default=2.0, help="learning rate (default 2.0)")
    parser.add_argument("--l2", type=float, default=1e-3, help="L2 penalty (default 1e-3)")
    parser.add_argument("--min-count", type=int, default=2, help="drop words seen fewer times (default 2)")
    parser.add_argument("--labels", default="negative,positive", help="class names, comma-separated")
    parser.add_argument("--max-batch", type=int, default=256, help="inputs per request (default 256)")
    args = parser.parse_args()
    examples = read_examples(args.train, args.max_rows)
    model = BagOfWords(examples, args.epochs, args.lr, args.l2, args.min_count)
    print(f"serve_bow: trained on {len(examples)} sentences, {len(model.weights)} words", file=sys.stderr)
    serve(model, args.labels.split(","), args.max_batch)


if __name__ == "__main__":
    main()
