#!/usr/bin/env bash
# Makes the peers' virtual environment: torch (CPU build when PyTorch's CPU index answers,
# else PyPI's), transformers, onnxruntime, lime and shap at the versions of requirements.txt.
# Usage: benches/peers/setup.sh [VENV_DIR]   (default ${TMPDIR:-/tmp}/trustx-peers-venv)
set -euo pipefail
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
    sed -n 2,4p "$0" | sed 's/^# //'
    exit 0
fi
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-${TMPDIR:-/tmp}/trustx-peers-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
cpu_index=https://download.pytorch.org/whl/cpu
torch_pin="$(grep -E '^torch==' "$here/requirements.txt")"
# PyTorch's CPU wheels are ~200 MB against ~3 GB for PyPI's (CUDA libraries included); the
# version is the same pin either way. `+cpu` local versions satisfy `torch==X`.
if env -u PIP_FIND_LINKS "$venv/bin/python" -m pip download -q --no-deps --retries 0 --timeout 10 \
    -d "$venv/.probe" --index-url "$cpu_index" "$torch_pin" 2>/dev/null; then
    echo "setup.sh: torch from $cpu_index" >&2
    "$venv/bin/python" -m pip install -q --index-url "$cpu_index" --extra-index-url https://pypi.org/simple "$torch_pin"
else
    echo "setup.sh: $cpu_index unreachable; torch from PyPI (with its CUDA libraries)" >&2
fi
rm -rf "$venv/.probe"
"$venv/bin/python" -m pip install -q -r "$here/requirements.txt"
"$venv/bin/python" -c 'import torch, transformers, onnxruntime, lime, shap; print("setup.sh: ok, torch", torch.__version__)'
echo "$venv"
