#!/usr/bin/env python3
"""Hashes of every random initializer under each SIMD level this CPU has (AVX-512, AVX2,
portable, scalar) and thread count: run on a machine with AVX-512 to check that the levels
the CI machine lacks give the same bits. Prints one line per configuration and exits 1 on a
mismatch. Needs only numpy and the ferroinit wheel.

    python benches/simd_invariance.py
"""

import os
import subprocess
import sys

CHILD = r"""
import hashlib, numpy as np, ferroinit as init
h = hashlib.sha256()
q = hashlib.sha256()  # orthogonal: faer picks its own matmul kernels (documented exception)
n = 1_000_003
for dt in ("float16", "float32", "float64"):
    for f, args in ((init.uniform, (-1.5, 2.0)), (init.normal, (0.5, 2.0)),
                    (init.trunc_normal, (0.0, 1.0, -2.0, 2.0)),
                    (init.trunc_normal, (0.0, 1.0, 5.0, 6.0)),
                    (init.kaiming_uniform, ()), (init.xavier_normal, ())):
        shape = (n,) if f in (init.uniform, init.normal, init.trunc_normal) else (1001, 999)
        h.update(f(shape, *args, dtype=dt, generator=7).tobytes())
    q.update(init.orthogonal((300, 200), dtype=dt, generator=7).tobytes())
    h.update(init.sparse((500, 300), 0.7, dtype=dt, generator=7).tobytes())
print(init.simd_level(), h.hexdigest(), q.hexdigest())
"""


def main() -> int:
    configs = [{}, {"FERROINIT_NO_AVX512": "1"}, {"FERROINIT_FORCE_SCALAR": "1"}]
    seen, seen_q = set(), set()
    for extra in configs:
        for threads in ("1", "4", str(os.cpu_count() or 1)):
            env = dict(os.environ, RAYON_NUM_THREADS=threads, **extra)
            out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                                 text=True, check=True).stdout.split()
            print(f"{out[0]:>9} threads={threads:>3}  samplers {out[1][:16]}  orthogonal {out[2][:16]}")
            seen.add(out[1])
            seen_q.add(out[2])
    print("samplers:", "IDENTICAL" if len(seen) == 1 else "MISMATCH")
    print("orthogonal:", "IDENTICAL" if len(seen_q) == 1 else "differs across levels (faer kernels)")
    return 0 if len(seen) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
