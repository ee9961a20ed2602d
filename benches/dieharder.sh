#!/usr/bin/env bash
# RNG quality: pipe ferroinit.Generator.random_raw (the raw AES-128-CTR stream, uint32 words
# in native byte order) into dieharder as raw binary on stdin (-g 200, stdin_input_raw).
#
# Usage: benches/dieharder.sh [SEED] [-- extra dieharder args]
#   default: a subset that fits ~10 minutes on 2 cores (see TESTS below);
#   DIEHARDER_ALL=1 benches/dieharder.sh   runs the full battery (-a; hours on 2 cores).
# Output: dieharder's table on stdout, then a PASSED/WEAK/FAILED summary line.
# Needs: dieharder (Debian: apt-get install dieharder) and ferroinit importable.
set -euo pipefail
SEED="${1:-20240607}"
shift || true
[ "${1:-}" = "--" ] && shift
command -v dieharder >/dev/null || { echo "dieharder not found (apt-get install dieharder)" >&2; exit 2; }

# A streaming writer: 4 MiB of words per random_raw call, forever (dieharder closes the pipe).
writer() {
  python - "$SEED" <<'PY'
import signal, sys
import ferroinit
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
g = ferroinit.Generator(int(sys.argv[1]))
out = sys.stdout.buffer
while True:
    out.write(g.random_raw(1 << 20).tobytes())
PY
}

# dieharder test numbers (dieharder -l): the "Good" diehard tests 0-4, 8-13, 15-17 (5-7 are
# rated Suspect and 14 Do Not Use by dieharder itself), sts_monobit 100, sts_runs 101, rgb_bitdist 200, rgb_minimum_distance 201,
# rgb_permutations 202, rgb_lagged_sum 203, dab_bytedistrib 205, dab_dct 206, dab_filltree 207,
# dab_filltree2 208, dab_monobit2 209.
TESTS="${DIEHARDER_TESTS:-0 1 2 3 4 8 9 10 11 12 13 15 16 17 100 101 202 205 206 207 208 209}"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
if [ "${DIEHARDER_ALL:-0}" = "1" ]; then
  # the writer dies of SIGPIPE when dieharder is done: not an error
  { writer | dieharder -g 200 -a "$@" | tee -a "$LOG"; } || true
else
  for t in $TESTS; do
    start=$SECONDS
    { writer | dieharder -g 200 -d "$t" "$@" | grep -E '^ *[a-z_0-9]+\|' | grep -v -e 'test_name' -e '^stdin_input_raw' \
        | tee -a "$LOG"; } || true
    echo "# -d $t: $((SECONDS - start)) s" >&2
  done
fi
p=$(grep -c 'PASSED' "$LOG" || true); w=$(grep -c 'WEAK' "$LOG" || true); f=$(grep -c 'FAILED' "$LOG" || true)
echo "SUMMARY seed=$SEED PASSED=$p WEAK=$w FAILED=$f"
grep -E 'WEAK|FAILED' "$LOG" || true
