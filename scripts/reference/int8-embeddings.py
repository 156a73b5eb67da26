"""PyTorch's dynamic int8 of all-MiniLM-L6-v2 + the fixture head with its embedding tables
quantised too: quantize_dynamic(model, {nn.Linear: default_dynamic_qconfig,
nn.Embedding: float_qparams_weight_only_qconfig}), batch 1, on the 43 cases of
tests/fixtures/minilm-l6-dynamic-int8/reference.json. Writes int8-embeddings.json beside it.

Usage (from the repository root): scripts/reference/int8-embeddings.sh [venv-dir]
"""
import json
import sys

import torch
from safetensors.torch import load_file
from torch.ao.quantization import default_dynamic_qconfig, float_qparams_weight_only_qconfig
from transformers import BertForSequenceClassification

FIXTURE = "tests/fixtures/minilm-l6-dynamic-int8"
MODEL = sys.argv[1] if len(sys.argv) > 1 else "models/all-MiniLM-L6-v2"

torch.set_num_threads(1)
reference = json.load(open(f"{FIXTURE}/reference.json"))
model = BertForSequenceClassification.from_pretrained(MODEL, num_labels=2)
head = load_file(f"{FIXTURE}/head.safetensors")
with torch.no_grad():
    model.classifier.weight.copy_(head["classifier.weight"])
    model.classifier.bias.copy_(head["classifier.bias"])
model.eval()


def logits(quantized, case):
    ids = case["input_ids"]
    sep = ids.index(102)
    with torch.no_grad():
        out = quantized(
            input_ids=torch.tensor([ids]),
            token_type_ids=torch.tensor([[int(j > sep) for j in range(len(ids))]]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
        ).logits[0]
    return out.tolist()


# The fixture's own recipe first: this venv must reproduce its int8 logits.
linear_only = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
worst = max(
    abs(a - b) for c in reference["cases"] for a, b in zip(logits(linear_only, c), c["int8_dynamic_logits"])
)
print(f"fixture recipe reproduced to {worst:.2e}", file=sys.stderr)
if worst > 1e-6:
    sys.exit("this torch does not reproduce the fixture's int8 logits: use torch 2.15.0 on an x86 CPU")

both = torch.ao.quantization.quantize_dynamic(
    model,
    {torch.nn.Linear: default_dynamic_qconfig, torch.nn.Embedding: float_qparams_weight_only_qconfig},
    dtype=torch.qint8,
)
out = {
    "library": f"torch {torch.__version__} (quantized engine {torch.backends.quantized.engine}), transformers",
    "recipe": "the fixture's model and head; quantize_dynamic(model, {nn.Linear: default_dynamic_qconfig, "
    "nn.Embedding: float_qparams_weight_only_qconfig}, dtype=torch.qint8); eval, batch of 1",
    "cases": [{"input_ids": c["input_ids"], "int8_embeddings_logits": logits(both, c)} for c in reference["cases"]],
}
with open(f"{FIXTURE}/int8-embeddings.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
