#!/usr/bin/env bash
# Regenerates tests/fixtures/minilm-l6-dynamic-int8/int8-embeddings.json from the real PyTorch.
# Usage: scripts/reference/int8-embeddings.sh [venv-dir]   (run from the repository root,
# after bash scripts/fetch-minilm.sh; an x86 CPU, as the fixture's quantized engine is x86)
set -euo pipefail
venv="${1:-${TMPDIR:-/tmp}/trustx-torch-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r scripts/reference/requirements-torch.txt
"$venv/bin/python" scripts/reference/int8-embeddings.py
