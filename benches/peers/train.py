"""A training step of all-MiniLM-L6-v2 in PyTorch, as `trustx bench` times its own
(`time_train_step` in framework/src/commands/bench.rs): a 3-class head, dropout on, batch
32 × 64 of trustx's random ids, targets `i % 3`, cross-entropy, backward, gradient-norm
clipping at 1.0, an AdamW step (lr 1e-5 and burn's defaults: betas 0.9/0.999, eps 1e-5,
weight decay 1e-4). Examples per second, the median of `--reps` timed steps after one
warm-up step.

Usage: python train.py --minilm DIR [--batch 32] [--length 64] [--reps 5] [--threads N]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoModelForSequenceClassification  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minilm", default="models/all-MiniLM-L6-v2")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--length", type=int, default=64)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=common.default_threads())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(a.minilm, num_labels=3).train()
    ids = torch.tensor(common.random_ids(model.config.vocab_size, a.batch, a.length), dtype=torch.long)
    mask, types = torch.ones_like(ids), torch.zeros_like(ids)
    targets = torch.arange(a.batch) % 3
    optim = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.999), eps=1e-5, weight_decay=1e-4)

    def step():
        optim.zero_grad(set_to_none=True)
        logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
        loss = F.cross_entropy(logits, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()

    s = common.median_seconds(a.reps, step)
    common.log(f"train/minilm pytorch {a.batch / s:.2f} examples/s")
    common.emit("train", a.threads, [{
        "measure": "train/minilm", "implementation": "pytorch", "value": a.batch / s, "unit": "examples/s",
        "batch": a.batch, "length": a.length, "reps": a.reps,
    }], {"versions": common.versions("torch", "transformers")})


if __name__ == "__main__":
    main()
