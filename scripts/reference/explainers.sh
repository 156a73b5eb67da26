#!/usr/bin/env bash
# Regenerates tests/reference/explainers.json from the real lime and shap.
# Usage: scripts/reference/explainers.sh [venv-dir]   (run from the repository root)
set -euo pipefail
venv="${1:-${TMPDIR:-/tmp}/trustx-reference-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r scripts/reference/requirements.txt
"$venv/bin/python" scripts/reference/explainers.py tests/reference/explainers.json
