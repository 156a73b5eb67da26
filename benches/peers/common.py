"""What every peer program shares: the inputs `trustx bench` times, the thread count, the
median timing rule and the JSON every program prints.

The inputs are those of `framework/src/commands/bench.rs` (`random_inputs`): `batch`
sequences of `length` token ids from a xorshift64 generator seeded with
0x9E3779B97F4A7C15, each id `1000 + state % (vocab - 1000)`, token type 0, every position a
real token (attention mask 1). Timing is also bench.rs's: one warm-up call, then `reps`
timed calls, the median reported.
"""

import importlib.metadata
import json
import os
import platform
import sys
import time

MASK64 = (1 << 64) - 1


def random_ids(vocab_size, batch, length):
    """The token ids of trustx's `random_inputs`: a list of `batch` lists of `length` ids."""
    state = 0x9E3779B97F4A7C15
    out = []
    for _ in range(batch):
        row = []
        for _ in range(length):
            state ^= (state << 13) & MASK64
            state ^= state >> 7
            state ^= (state << 17) & MASK64
            row.append(1000 + state % (vocab_size - 1000))
        out.append(row)
    return out


def median_seconds(reps, run):
    """The median of `reps` timed calls of `run` after one warm-up call (bench.rs's rule)."""
    run()
    times = []
    for _ in range(max(reps, 1)):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def default_threads():
    """The cores this process may use: what trustx's rayon pool sizes itself to."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average():
    """The 1-minute load average, or None."""
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def versions(*packages):
    """Python's version and each named package's installed version."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def emit(program, threads, results, extra=None):
    """Prints the program's JSON document on stdout: `results` is a list of
    {"measure", "implementation", "value", "unit", ...} rows."""
    doc = {"program": program, "threads": threads, "load_average": load_average(), "results": results}
    doc.update(extra or {})
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")


def log(message):
    print(f"peers: {message}", file=sys.stderr, flush=True)
