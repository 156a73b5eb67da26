#!/usr/bin/env bash
# Runs `trustx bench` and its Python peers (benches/peers/: PyTorch, ONNX Runtime, and
# transformers + lime + shap) alternately for several rounds on the same workloads and
# inputs, then prints each measure's values, trustx's speed ratio to each peer with its
# spread over the rounds, the load average before and after each round, the date and the
# CPU. Everything lands in a session folder (round JSON files, summary.json, summary.md).
#
# Usage: benches/compare.sh [--rounds N] [--out DIR] [--venv DIR] [--trustx BIN]
#          [--minilm DIR] [--pairs FILE] [--count N] [--seeds N] [--reps N] [--threads N]
#          [--skip-explain] [--skip-forward]
#   --rounds 3     rounds; odd rounds run trustx first, even rounds the peers first
#   --out DIR      session folder (default ${TMPDIR:-/tmp}/trustx-compare-<UTC stamp>)
#   --venv DIR     the peers' venv (default ${TMPDIR:-/tmp}/trustx-peers-venv; made by
#                  benches/peers/setup.sh when absent)
#   --trustx BIN   the trustx binary (default ${CARGO_TARGET_DIR:-target}/debug/trustx)
#   --count 20 --seeds 3   the explain workload (`trustx bench --explain`'s defaults)
#   --reps 5       timed repetitions of the forward and training measures (median)
#   --threads N    the peers' torch / onnxruntime threads (default: the cores, as trustx)
# The peers' exported ONNX graphs (hundreds of MB) go to ${TMPDIR:-/tmp}/trustx-compare-onnx,
# not into the session folder, which stays small enough to commit.
# Run from the repository root on a machine as quiet as you can get: the load is recorded,
# not corrected for.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; }

rounds=3
out=""
venv="${TMPDIR:-/tmp}/trustx-peers-venv"
trustx="${CARGO_TARGET_DIR:-target}/debug/trustx"
minilm=models/all-MiniLM-L6-v2
pairs=data/snli/snli_1.0_dev.head1000.jsonl
count=20
seeds=3
reps=5
threads="$(nproc)"
explain=1
forward=1
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --venv) venv="$2"; shift 2 ;;
        --trustx) trustx="$2"; shift 2 ;;
        --minilm) minilm="$2"; shift 2 ;;
        --pairs) pairs="$2"; shift 2 ;;
        --count) count="$2"; shift 2 ;;
        --seeds) seeds="$2"; shift 2 ;;
        --reps) reps="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --skip-explain) explain=0; shift ;;
        --skip-forward) forward=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
case "$rounds" in ''|*[!0-9]*|0) echo "compare.sh: --rounds must be a positive whole number, not '$rounds'" >&2; exit 2 ;; esac
[ -x "$trustx" ] || { echo "compare.sh: no trustx binary at $trustx (cargo build, or --trustx BIN)" >&2; exit 1; }
[ -f "$minilm/config.json" ] || { echo "compare.sh: $minilm/config.json is absent (bash scripts/fetch-minilm.sh)" >&2; exit 1; }
here="$(cd "$(dirname "$0")" && pwd)"
[ -x "$venv/bin/python" ] || bash "$here/peers/setup.sh" "$venv" >&2
py="$venv/bin/python"
out="${out:-${TMPDIR:-/tmp}/trustx-compare-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"

cpu="$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
versions="$("$py" -c 'import importlib.metadata as m; print(", ".join(f"{p} {m.version(p)}" for p in ("torch", "transformers", "onnxruntime", "lime", "shap")))')"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- framework plugins src 2>/dev/null || echo '+changes')"
python3 - "$out/session.json" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$cpu" "$(nproc)" "$rounds" "$threads" \
    "$trustx" "$commit" "$versions" "$reps" "$count" "$seeds" "$pairs" "$minilm" <<'PY'
import json, sys
keys = ["date", "cpu", "cores", "rounds", "threads", "trustx_binary", "trustx_commit", "peer_versions",
        "reps", "count", "seeds", "pairs", "minilm"]
doc = dict(zip(keys, sys.argv[2:]))
for k in ("cores", "rounds", "threads", "reps", "count", "seeds"):
    doc[k] = int(doc[k])
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump(doc, f, indent=2)
PY

# One workload: its trustx command and its peer command(s), in the round's order.
run_trustx_forward() { "$trustx" bench --json --minilm "$minilm" --reps "$reps" > "$1/trustx-bench.json"; }
run_peers_forward() {
    "$py" "$here/peers/forward.py" --minilm "$minilm" --reps "$reps" --threads "$threads" \
        --work "${TMPDIR:-/tmp}/trustx-compare-onnx" > "$1/peers-forward.json"
    "$py" "$here/peers/train.py" --minilm "$minilm" --reps "$reps" --threads "$threads" > "$1/peers-train.json"
}
run_trustx_explain() {
    "$trustx" bench --explain --json --minilm "$minilm" --pairs "$pairs" --count "$count" --seeds "$seeds" \
        > "$1/trustx-explain.json"
}
run_peers_explain() {
    "$py" "$here/peers/explain.py" --minilm "$minilm" --pairs "$pairs" --count "$count" --seeds "$seeds" \
        --threads "$threads" > "$1/peers-explain.json"
}

# One round: each workload, trustx and its peers in the given order.
run_round() {
    local dir="$1" order="$2" workload
    for workload in forward explain; do
        if [ "$workload" = forward ] && [ "$forward" = 0 ]; then continue; fi
        if [ "$workload" = explain ] && [ "$explain" = 0 ]; then continue; fi
        if [ "$order" = "trustx first" ]; then
            "run_trustx_$workload" "$dir" && "run_peers_$workload" "$dir"
        else
            "run_peers_$workload" "$dir" && "run_trustx_$workload" "$dir"
        fi || return 1
    done
}

for r in $(seq 1 "$rounds"); do
    dir="$out/round-$r"
    mkdir -p "$dir"
    if [ $((r % 2)) -eq 1 ]; then order="trustx first"; else order="peers first"; fi
    started="$(date -u +%H:%M:%S)"
    before="$(cat /proc/loadavg)"
    echo "compare.sh: round $r/$rounds ($order), load $before" >&2
    if ! run_round "$dir" "$order" 2> "$dir/stderr.log"; then
        echo "compare.sh: round $r failed; the end of $dir/stderr.log:" >&2
        tail -n 20 "$dir/stderr.log" >&2
        exit 1
    fi
    after="$(cat /proc/loadavg)"
    printf '{"order": "%s", "started": "%s", "before": "%s", "after": "%s"}\n' \
        "$order" "$started" "$before" "$after" > "$dir/load.json"
done

python3 "$here/peers/summarize.py" "$out"
echo "compare.sh: session in $out (summary.md, summary.json)" >&2
