"""Regenerate tests/golden.json: the first values of the ferroinit streams for fixed seeds.

    python tests/make_golden.py

Only run this for a DELIBERATE stream change (see docs/reliability.md, "Stream stability"):
the change must be documented in the changelog and ship with a version bump. tests/test_golden.py
compares every value bitwise against this file.
"""

from __future__ import annotations

import json
import pathlib
import warnings

import ferroinit as init
import numpy as np

OUT = pathlib.Path(__file__).with_name("golden.json")
N = 16
SEEDS = [0, 20240607, 2**64 - 1]
DTYPES = ["float16", "float32", "float64"]
# name -> (callable(shape, dtype, generator) -> array, shape)
CASES = {
    "uniform": (lambda s, d, g: init.uniform(s, -2.0, 3.0, dtype=d, generator=g), (N + 3,)),
    "normal": (lambda s, d, g: init.normal(s, 0.5, 2.0, dtype=d, generator=g), (N + 3,)),
    "trunc_normal": (lambda s, d, g: init.trunc_normal(s, 0.0, 1.0, -1.5, 2.0, dtype=d,
                                                       generator=g), (N + 3,)),
    "trunc_normal_tail": (lambda s, d, g: init.trunc_normal(s, 0.0, 1.0, 5.0, 6.0, dtype=d,
                                                            generator=g), (N,)),
    "xavier_uniform": (lambda s, d, g: init.xavier_uniform(s, 1.5, dtype=d, generator=g), (8, 4)),
    "xavier_normal": (lambda s, d, g: init.xavier_normal(s, dtype=d, generator=g), (8, 4)),
    "kaiming_uniform": (lambda s, d, g: init.kaiming_uniform(s, 5**0.5, dtype=d, generator=g),
                        (4, 2, 3, 3)),
    "kaiming_normal": (lambda s, d, g: init.kaiming_normal(s, 0, "fan_out", "relu", dtype=d,
                                                           generator=g), (4, 2, 3, 3)),
    "orthogonal": (lambda s, d, g: init.orthogonal(s, 1.0, dtype=d, generator=g), (4, 6)),
    "sparse": (lambda s, d, g: init.sparse(s, 0.25, 0.5, dtype=d, generator=g), (8, 4)),
}
UINT = {"float16": np.uint16, "float32": np.uint32, "float64": np.uint64}


def hexes(x: np.ndarray) -> list:
    w = np.ascontiguousarray(x).ravel()[:N].view(UINT[x.dtype.name])
    return [f"{int(v):0{2 * x.dtype.itemsize}x}" for v in w]


def generate() -> dict:
    out = {"version": init.__version__, "n": N, "random_raw": {}, "inits": {}}
    for seed in SEEDS:
        g = init.Generator(seed)
        words = g.random_raw(N)
        out["random_raw"][str(seed)] = {
            "words": [f"{int(w):08x}" for w in words],
            "position_after": g.position,
            # the same words from a later position (counter addressing)
            "at_position_1000": [f"{int(w):08x}" for w in _raw_at(seed, 1000)],
        }
    for name, (fn, shape) in CASES.items():
        for dtype in DTYPES:
            for seed in SEEDS:
                g = init.Generator(seed)
                g.set_state((seed, 5))  # a non-zero start position
                x = fn(shape, dtype, g)
                out["inits"][f"{name}/{dtype}/{seed}"] = {
                    "shape": list(shape),
                    "bits": hexes(x),
                    "position_after": g.position,
                }
    return out


def _raw_at(seed, pos):
    g = init.Generator(seed)
    g.set_state((seed, pos))
    return g.random_raw(8)


def dump(d: dict) -> str:
    """One line per case, so a stream change reads as a small diff."""
    lines = ["{"]
    for i, (k, v) in enumerate(sorted(d.items())):
        sep = "," if i + 1 < len(d) else ""
        if isinstance(v, dict):
            inner = ",\n".join(f"  {json.dumps(kk)}: {json.dumps(vv, sort_keys=True)}"
                               for kk, vv in sorted(v.items()))
            lines.append(f" {json.dumps(k)}: {{\n{inner}\n }}{sep}")
        else:
            lines.append(f" {json.dumps(k)}: {json.dumps(v)}{sep}")
    return "\n".join(lines + ["}"]) + "\n"


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # trunc_normal_tail warns like torch (mean far from [a, b])
        golden = generate()
    OUT.write_text(dump(golden))
    assert json.loads(OUT.read_text()) == golden
    print(f"wrote {OUT}")
