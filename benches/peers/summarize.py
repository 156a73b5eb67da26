"""Summarises a `benches/compare.sh` session (Python standard library only): reads the
rounds' JSON files, pairs trustx's value of each measure with each peer's value *of the
same round*, and writes `summary.json` and `summary.md` into the session folder (the
Markdown is also printed).

A ratio is always trustx's speed over the peer's: value ratio for throughputs (seq/s,
examples/s), inverse ratio for times (s), so above 1 means trustx is faster. Each round
gives one ratio; the summary gives their median and their min–max over the rounds.

Session folder layout (what compare.sh writes):
    session.json                 date, CPU, cores, rounds, settings, trustx's commit
    round-N/load.json            {"order", "started", "before", "after"} (/proc/loadavg lines)
    round-N/trustx-bench.json    `trustx bench --json`
    round-N/trustx-explain.json  `trustx bench --explain --json`
    round-N/peers-*.json         the peer programs' documents

Usage: python3 benches/peers/summarize.py SESSION_DIR
"""

import json
import os
import statistics
import sys

# `trustx bench --json` names → (measure, implementation).
TRUSTX_BENCH_NAMES = {
    "bert-base shape (random weights), packed": ("forward/bert-base", "trustx"),
    "bert-base shape (random weights), burn": ("forward/bert-base", "trustx (burn graph)"),
    "all-MiniLM-L6-v2, packed": ("forward/minilm", "trustx"),
    "all-MiniLM-L6-v2, burn": ("forward/minilm", "trustx (burn graph)"),
    "bert-base shape (random weights), packed dynamic-int8": ("forward-int8/bert-base", "trustx"),
    "all-MiniLM-L6-v2, packed dynamic-int8": ("forward-int8/minilm", "trustx"),
    "all-MiniLM-L6-v2 training step (3 classes)": ("train/minilm", "trustx"),
    "all-MiniLM-L6-v2 training step (3 classes), burn": ("train/minilm", "trustx (burn graph)"),
}
# `trustx bench --explain --json` fields → measure.
TRUSTX_EXPLAIN_FIELDS = {"lime_s": "explain/lime", "shap_s": "explain/shap", "workload_s": "explain/workload"}
HIGHER_IS_FASTER = {"seq/s", "examples/s"}
LABELS = {
    "forward/bert-base": "forward, BERT-base shape (random weights), {batch} × {length}",
    "forward/minilm": "forward, all-MiniLM-L6-v2, {batch} × {length}",
    "forward-int8/bert-base": "forward, dynamic int8, BERT-base shape (random weights), {batch} × {length}",
    "forward-int8/minilm": "forward, dynamic int8, all-MiniLM-L6-v2, {batch} × {length}",
    "train/minilm": "training step, all-MiniLM-L6-v2, {batch} × {length} (fwd + bwd + clip + AdamW)",
    "explain/lime": "LIME ({lime_samples} samples), per explanation",
    "explain/shap": "partition SHAP ({shap_evals} evals), per explanation",
    "explain/workload": "explain workload, {pairs} pairs × {seeds} seeds × (LIME + SHAP)",
}
ORDER = list(LABELS)


class SummaryError(Exception):
    """A session file is missing or not what compare.sh writes; the message names it."""


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise SummaryError(f"{path}: cannot read ({e.strerror})") from e
    except json.JSONDecodeError as e:
        raise SummaryError(f"{path}:{e.lineno}: not JSON ({e.msg})") from e


def trustx_rows(bench, explain, settings):
    """trustx's documents as rows {measure, implementation, value, unit, ...}."""
    rows = []
    for r in bench or []:
        measure, implementation = TRUSTX_BENCH_NAMES.get(r["name"], ("trustx/" + r["name"], "trustx"))
        unit = "examples/s" if measure.startswith("train/") else "seq/s"
        rows.append({"measure": measure, "implementation": implementation, "value": r["sequences_per_s"],
                     "unit": unit, "batch": r["batch"], "length": r["length"]})
    if explain:
        for field, measure in TRUSTX_EXPLAIN_FIELDS.items():
            unit = "s" if measure == "explain/workload" else "s/explanation"
            rows.append({"measure": measure, "implementation": "trustx", "value": explain[field], "unit": unit,
                         "pairs": explain["pairs"], "seeds": explain["seeds"],
                         "lime_samples": explain["lime_samples"], "shap_evals": explain["shap_evals"]})
    return rows


def round_rows(folder):
    """Every row of one round folder."""
    rows = []
    bench = os.path.join(folder, "trustx-bench.json")
    explain = os.path.join(folder, "trustx-explain.json")
    rows += trustx_rows(read_json(bench) if os.path.exists(bench) else None,
                        read_json(explain) if os.path.exists(explain) else None, None)
    for name in sorted(os.listdir(folder)):
        if name.startswith("peers-") and name.endswith(".json"):
            doc = read_json(os.path.join(folder, name))
            if "results" not in doc:
                raise SummaryError(f"{os.path.join(folder, name)}: no `results` (not a peer program's output)")
            rows += doc["results"]
    return rows


def spread(values):
    """{median, min, max, n} of a non-empty list."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def speed_ratio(trustx, peer, unit):
    """trustx's speed over the peer's (above 1: trustx faster)."""
    return trustx / peer if unit in HIGHER_IS_FASTER else peer / trustx


def summarise(session_dir):
    """The session's summary as a dict (what summary.json holds)."""
    session = read_json(os.path.join(session_dir, "session.json"))
    rounds = sorted((d for d in os.listdir(session_dir) if d.startswith("round-")),
                    key=lambda d: int(d.split("-", 1)[1]))
    if not rounds:
        raise SummaryError(f"{session_dir}: no round-N folders (did compare.sh finish a round?)")
    per_round, loads, info = [], [], {}
    for r in rounds:
        folder = os.path.join(session_dir, r)
        loads.append(dict(read_json(os.path.join(folder, "load.json")), round=int(r.split("-", 1)[1])))
        values = {}
        for row in round_rows(folder):
            values[(row["measure"], row["implementation"])] = row["value"]
            info.setdefault(row["measure"], row)
        per_round.append(values)
    measures = []
    for measure in sorted(info, key=lambda m: (ORDER.index(m) if m in ORDER else len(ORDER), m)):
        row = info[measure]
        impls = sorted({i for v in per_round for (m, i) in v if m == measure}, key=lambda i: (not i.startswith("trustx"), i))
        values = {i: spread([v[(measure, i)] for v in per_round if (measure, i) in v]) for i in impls}
        ratios = {}
        for peer in impls:
            if peer.startswith("trustx"):
                continue
            for mine in (i for i in impls if i.startswith("trustx")):
                rs = [speed_ratio(v[(measure, mine)], v[(measure, peer)], row["unit"])
                      for v in per_round if (measure, mine) in v and (measure, peer) in v]
                if rs:
                    ratios[f"{mine} / {peer}"] = spread(rs)
        label = LABELS.get(measure, measure)
        try:
            label = label.format(**row)
        except KeyError:
            pass
        measures.append({"measure": measure, "label": label, "unit": row["unit"], "values": values, "ratios": ratios})
    return {"session": session, "rounds": loads, "measures": measures}


def fmt(x):
    if x >= 100:
        return f"{x:.1f}"
    if x >= 10:
        return f"{x:.2f}"
    return f"{x:.3g}" if x < 1 else f"{x:.2f}"


def cell(s):
    """`median (min–max)`, or the value alone for one round."""
    if s["n"] == 1:
        return fmt(s["median"])
    return f"{fmt(s['median'])} ({fmt(s['min'])}–{fmt(s['max'])})"


def markdown(summary):
    """The summary as Markdown: the session's header, the measures, the loads."""
    s = summary["session"]
    out = [
        f"Session {s['date']} · {s['cpu']} · {s['cores']} cores · {len(summary['rounds'])} rounds "
        f"(trustx and the peers alternately, the order swapped every round) · trustx {s.get('trustx_commit', '?')} "
        f"({s.get('trustx_binary', '?')}) · peers: {s.get('peer_versions', '?')} · threads {s.get('threads', '?')}",
        "",
        "Values: median over the rounds (min–max). Ratio: trustx's speed ÷ the peer's, one per round "
        "(both measured in that round), median (min–max); above 1 = trustx faster.",
        "",
        "| measure | unit | implementation | value | trustx ÷ peer (speed) |",
        "|---|---|---|---|---|",
    ]
    for m in summary["measures"]:
        first = True
        mine = [i for i in m["values"] if i.startswith("trustx")]
        for impl, v in m["values"].items():
            parts = []
            for t in sorted(mine, key=lambda i: (i != "trustx", i)):
                r = m["ratios"].get(f"{t} / {impl}")
                if r:
                    parts.append(cell(r) if t == "trustx" else f"{t}: {cell(r)}")
            ratio = "; ".join(parts) or ("" if impl.startswith("trustx") else "–")
            out.append(f"| {m['label'] if first else ''} | {m['unit'] if first else ''} | {impl} | {cell(v)} | {ratio} |")
            first = False
    out += ["", "| round | order | started (UTC) | /proc/loadavg before | after |", "|---|---|---|---|---|"]
    for r in summary["rounds"]:
        before = " ".join(r["before"].split()[:3])
        after = " ".join(r["after"].split()[:3])
        out.append(f"| {r['round']} | {r['order']} | {r['started']} | {before} | {after} |")
    return "\n".join(out) + "\n"


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print("usage: python3 benches/peers/summarize.py SESSION_DIR", file=sys.stderr)
        return 2
    try:
        summary = summarise(argv[1])
    except SummaryError as e:
        print(f"summarize.py: {e}", file=sys.stderr)
        return 1
    md = markdown(summary)
    write_atomically(os.path.join(argv[1], "summary.json"), json.dumps(summary, indent=2) + "\n")
    write_atomically(os.path.join(argv[1], "summary.md"), md)
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
