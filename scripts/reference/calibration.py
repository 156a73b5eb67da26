#!/usr/bin/env python3
"""Reference values of trustx's `smooth-ece` and `debiased-ece` metrics, computed by the
libraries that define them.

    python3 scripts/reference/calibration.py        # rewrites scripts/reference/calibration.json

Makes a virtual environment in scripts/reference/.venv (git-ignored) with pinned versions of
relplot (Błasiok & Nakkiran, "Smooth ECE: Principled Reliability Diagrams via Kernel
Smoothing", 2023) and uncertainty-calibration (Kumar, Liang & Ma, "Verified Uncertainty
Calibration", NeurIPS 2019), draws seeded random inputs, and writes every input with the
libraries' values. The JSON is committed; the Rust tests
(plugins/src/metrics/smooth_ece.rs, debiased_ece.rs) compare with it to 1e-9, so CI needs no
Python.
"""

import json
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
OUT = os.path.join(HERE, "calibration.json")
PINS = [
    "numpy==2.4.6",
    "scipy==1.17.1",
    "scikit-learn==1.9.1",
    "relplot==1.0.3",
    "uncertainty-calibration==0.1.4",
]


def ensure_venv():
    """Re-executes this script inside the pinned virtual environment."""
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(python):
        venv.create(VENV, with_pip=True)
        subprocess.check_call([python, "-m", "pip", "install", "--quiet", *PINS])
    os.execv(python, [python, __file__, *sys.argv[1:]])


def random_case(rng, n, classes, kind):
    """Probabilities and labels of one case: smooth, sharpened towards 1, or on a coarse grid."""
    import numpy as np

    if kind == "grid":
        counts = rng.multinomial(20, [1.0 / classes] * classes, size=n)
        probs = counts / 20.0
    else:
        power = 1.0 if kind == "smooth" else 6.0
        w = rng.random((n, classes)) ** power + 1e-12
        probs = w / w.sum(axis=1, keepdims=True)
    top = probs.argmax(axis=1)
    # The label is the top class with probability about its confidence, otherwise another class.
    labels = np.where(rng.random(n) < probs.max(axis=1) * 0.9, top, rng.integers(0, classes, n))
    return probs, labels.astype(np.int64)


def main():
    ensure_venv()
    # This file is named like the library's package `calibration`: import the library, not it.
    sys.path = [p for p in sys.path if os.path.realpath(p or ".") != HERE]
    import numpy as np
    import relplot
    from calibration import utils as cal

    rng = np.random.default_rng(20260312)
    cases = []
    for n, classes, kind, bins in [
        (5, 2, "smooth", 2),
        (40, 2, "smooth", 4),
        (120, 2, "sharp", 10),
        (300, 3, "smooth", 10),
        (872, 2, "sharp", 15),
        (1000, 4, "sharp", 10),
        (200, 3, "grid", 5),
        (60, 5, "smooth", 3),
    ]:
        probs, labels = random_case(rng, n, classes, kind)
        conf, correct = relplot.multiclass_logits_to_confidences(probs, labels, probs=True)
        smooth, sigma = relplot.metrics.smECE(conf, correct, return_width=True)
        top = cal.lower_bound_scaling_ce(
            probs, labels, p=2, debias=True, num_bins=bins, binning_scheme=cal.get_equal_bins, mode="top-label"
        )
        marginal = cal.lower_bound_scaling_ce(
            probs, labels, p=2, debias=True, num_bins=bins, binning_scheme=cal.get_equal_bins, mode="marginal"
        )
        cases.append(
            {
                "name": f"n{n}-c{classes}-{kind}",
                "num_classes": classes,
                "probs": probs.reshape(-1).tolist(),
                "labels": labels.tolist(),
                "bins": bins,
                "smooth_ece": float(smooth),
                "smooth_ece_sigma": float(sigma),
                "debiased_ece_top_label": float(top),
                "debiased_ece_marginal": float(marginal),
            }
        )
    doc = {
        "generated_by": "scripts/reference/calibration.py",
        "libraries": PINS,
        "calls": {
            "smooth_ece": "relplot.metrics.smECE(*relplot.multiclass_logits_to_confidences(probs, labels, probs=True), return_width=True)",
            "debiased_ece": "calibration.utils.lower_bound_scaling_ce(probs, labels, p=2, debias=True, num_bins=bins, binning_scheme=get_equal_bins, mode=...)",
        },
        "cases": cases,
    }
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, OUT)
    print(f"wrote {OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
