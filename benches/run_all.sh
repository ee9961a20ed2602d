#!/usr/bin/env bash
# Full benchmark: the bench CLI (ferroinit vs NumPy vs torch vs JAX vs ndarray.fill, all the
# targets of the performance issue) and, with SCALING=1, the thread-scaling sweep.
# Writes bench-out/ (gitignored): bench.txt/.json/.png and scaling.txt/.json/.png.
#   benches/run_all.sh                 # default sizes 2^10..2^28, all initializers
#   benches/run_all.sh --dtypes float32,float64 --threads 2
#   SCALING=1 SCALING_GIB=4 benches/run_all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-bench-out}"
mkdir -p "$OUT"
python -m ferroinit bench --out "$OUT" "$@"
if [ "${SCALING:-0}" = "1" ]; then
  python benches/scaling.py --out "$OUT" --gib "${SCALING_GIB:-4}"
fi
