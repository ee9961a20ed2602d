"""Run dieharder and PractRand on the streams of stream.py; logs and a summary in bench-out/.

Usage (from the repository root, ferroinit importable):
  python benches/quality/run.py [--streams seed,seeds,lanes,strided] [--battery dieharder,practrand]
                                [--tlmax 36] [--weak ROUNDS] [--seed S]
  python benches/quality/run.py d201      # why dieharder -d 201 is left out (see below)
  python benches/quality/run.py summary   # only rebuild the summary from the logs there

Every battery runs under `nice -n 19`, one at a time (the streamer beside it). Logs go to
bench-out/quality/<generator>.<stream>.seed<S>.<battery>.log (battery: dieharder or
practrand-tlmax<N>), the summary to
bench-out/quality/summary.md (a Markdown table over every log in that folder).

dieharder: every test that `dieharder -l` rates Good, as `dieharder -a` runs them (the same
ntuple loops: 200 over -n 1..12, 202 over 2..5, 203 over 0..32), one dieharder process per test
and ntuple, each reading its own disjoint segment of the stream: 0-4, 8-13, 15-17, 100-102,
200, 202-209. Left out: 5-7 (rated Suspect), 14 (Do Not Use) and 201 rgb_minimum_distance, which in
Debian's dieharder 3.31.1 fails for dieharder's own mt19937 and for NumPy's PCG64 as well, so it
tells nothing about a generator (`run.py d201` shows it). A p-value outside [0.005, 0.995] is
WEAK, outside [1e-6, 1 - 1e-6] FAILED: about 1% WEAK is what a perfect generator gets.

PractRand: `RNG_test stdin32 -tlmax N` (2^N bytes; default core tests, folding standard, stops
at the first FAIL). "Clean to 2^k" is the longest length whose every report has no FAIL.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STREAMER = os.path.join(HERE, "stream.py")
OUT = "bench-out/quality"
PRACTRAND = os.environ.get("PRACTRAND", "/work/tools/practrand/RNG_test")
GOOD_TESTS = [0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 15, 16, 17, 100, 101, 102,
              200, 202, 203, 204, 205, 206, 207, 208, 209]
# The ntuple loops that `dieharder -a` runs (dieharder/run_all_tests.c); `-d N` alone does not.
NTUPLES = {200: range(1, 13), 202: range(2, 6), 203: range(33)}
D201_REASON = ("-d 201 rgb_minimum_distance left out: in dieharder 3.31.1 it fails for "
               "dieharder's own mt19937 and NumPy's PCG64 too (run.py d201), so it tells nothing")
NICE = ["nice", "-n", "19"]
DH_LINE = re.compile(r"^\s*(\w+)\|\s*(\d+)\|\s*(\d+)\|\s*(\d+)\|\s*([0-9.]+)\|\s*(PASSED|WEAK|FAILED)")
PR_LENGTH = re.compile(r"^length= .*\(2\^(\d+) bytes\), time= ([0-9.]+) seconds")
# a result line: name, raw statistic, p-value, then the evaluation ("unusual" ... "FAIL !!!")
PR_EVAL = re.compile(r"^\s+(\S+)\s+R\s*[=<>~]+\s*\S+\s+p\s*[=<>~]+\s*\S+\s+(\S.*?)\s*$")


def generator_name(weak: int | None) -> str:
    if weak is not None:
        return f"numpy-philox4x32-{weak}"
    import ferroinit
    return f"ferroinit-{ferroinit.__version__}"


def log_path(gen: str, kind: str, seed: int, battery: str) -> str:
    return os.path.join(OUT, f"{gen}.{kind}.seed{seed}.{battery}.log")


def stream_cmd(kind: str, seed: int, weak: int | None, segment: int = 0) -> list[str]:
    cmd = [sys.executable, STREAMER, kind, "--seed", str(seed), "--segment", str(segment)]
    return cmd + (["--weak", str(weak)] if weak is not None else [])


def piped(producer: list[str], consumer: list[str], log) -> int:
    """producer | consumer, the consumer's output appended to log; returns its status."""
    prod = subprocess.Popen(NICE + producer, stdout=subprocess.PIPE)
    try:
        cons = subprocess.Popen(NICE + consumer, stdin=prod.stdout, stdout=log,
                                stderr=subprocess.STDOUT)
        prod.stdout.close()  # the consumer holds the only read end: its exit ends the producer
        rc = cons.wait()
    finally:
        if prod.poll() is None:
            prod.send_signal(signal.SIGTERM)
        prod.wait()
    return rc


def run_dieharder(kind: str, seed: int, weak: int | None, tests: list[int]) -> None:
    path = log_path(generator_name(weak), kind, seed, "dieharder")
    with open(path, "w") as log:
        log.write(f"# {' '.join(stream_cmd(kind, seed, weak))} | dieharder -g 200 -d N\n")
        log.write(f"# {D201_REASON}\n# also left out: 5, 6, 7 (Suspect), 14 (Do Not Use)\n")
        log.flush()
        t0 = time.time()
        runs = [(t, n) for t in tests for n in NTUPLES.get(t, [None])]
        for segment, (t, n) in enumerate(runs):
            t1 = time.time()
            cmd = ["dieharder", "-g", "200", "-d", str(t)] + ([] if n is None else ["-n", str(n)])
            # each run reads its own segment of the stream, as -a reads one stream throughout
            piped(stream_cmd(kind, seed, weak, segment), cmd, log)
            log.write(f"# {' '.join(cmd[3:])} (segment {segment}): {time.time() - t1:.0f} s\n")
            log.flush()
        log.write(f"# total: {time.time() - t0:.0f} s\n")
    print(summarize_dieharder(path)["line"], flush=True)


def run_practrand(kind: str, seed: int, weak: int | None, tlmax: str, extra: list[str]) -> None:
    path = log_path(generator_name(weak), kind, seed, f"practrand-tlmax{tlmax}")
    with open(path, "w") as log:
        cmd = [PRACTRAND, "stdin32", "-tlmax", tlmax] + extra
        log.write(f"# {' '.join(stream_cmd(kind, seed, weak))} | {' '.join(cmd)}\n")
        log.flush()
        t0 = time.time()
        piped(stream_cmd(kind, seed, weak), cmd, log)
        log.write(f"# total: {time.time() - t0:.0f} s\n")
    print(summarize_practrand(path)["line"], flush=True)


def lines(path: str) -> list[str]:
    with open(path) as f:
        return f.readlines()


def summarize_dieharder(path: str) -> dict:
    counts = {"PASSED": 0, "WEAK": 0, "FAILED": 0}
    bad, tests, seconds = [], set(), None
    for line in lines(path):
        m = DH_LINE.match(line)
        if m and m.group(1) != "stdin_input_raw":
            counts[m.group(6)] += 1
            tests.add(m.group(1))
            if m.group(6) != "PASSED":
                bad.append(f"{m.group(1)}[{m.group(2)}] p={m.group(5)} {m.group(6)}")
        if line.startswith("# total:"):
            seconds = int(line.split()[2])
    n = sum(counts.values())
    line = (f"dieharder {os.path.basename(path)}: {len(tests)} tests, {n} p-values: "
            f"{counts['PASSED']} PASSED, {counts['WEAK']} WEAK, {counts['FAILED']} FAILED "
            f"(a perfect generator: ~{0.01 * n:.1f} WEAK)" + (f"; {', '.join(bad)}" if bad else ""))
    return {**counts, "tests": len(tests), "n": n, "bad": bad, "seconds": seconds, "line": line}


def summarize_practrand(path: str) -> dict:
    clean, first_fail, worst, seconds, length, done, tlmax = None, None, [], None, None, False, None
    for line in lines(path):
        m = re.search(r"-tlmax (\d+)", line) if line.startswith("# ") else None
        if m and tlmax is None:
            tlmax = int(m.group(1))
        m = PR_LENGTH.match(line)
        if m:
            if length is not None and first_fail is None:
                clean = length
            length, seconds = int(m.group(1)), float(m.group(2))
            continue
        m = PR_EVAL.match(line)
        if m and length is not None:
            name, ev = m.group(1), m.group(2)
            if ev.startswith("FAIL") and first_fail is None:
                first_fail = length
            if ev != "unusual":
                worst.append(f"2^{length}: {name} {ev}")
        if line.startswith("# total:"):
            done = True
    if length is not None and first_fail is None and done:
        clean = length
    if first_fail is not None:
        res = f"FAIL at 2^{first_fail} bytes" + (f" (clean to 2^{clean})" if clean else "")
    elif clean is not None:
        res = f"clean to 2^{clean} bytes"
        if tlmax is not None and clean < tlmax:
            res += f" (stopped before -tlmax {tlmax}: see the log)"
    else:
        res = "no complete report"
    fails = sum("FAIL" in a for a in worst)
    line = f"practrand {os.path.basename(path)}: {res}, {seconds or 0:.0f} s" + (
        f"; {len(worst)} anomalies ({fails} FAIL): {'; '.join(worst[:4])}" if worst else "")
    return {"clean": clean, "fail": first_fail, "anomalies": worst, "seconds": seconds,
            "res": res, "line": line}


def write_summary() -> None:
    rows = []
    for path in sorted(glob.glob(os.path.join(OUT, "*.log"))):
        name = os.path.basename(path)[:-4].rsplit(".", 3)  # the version has dots too
        if len(name) != 4:
            continue
        gen, kind, seed, battery = name
        if battery == "dieharder":
            s = summarize_dieharder(path)
            res = (f"{s['tests']} tests, {s['n']} p-values: {s['PASSED']} passed, "
                   f"{s['WEAK']} weak, {s['FAILED']} failed")
            if s["bad"]:
                res += " (" + "; ".join(s["bad"][:4]) + ("; ..." if len(s["bad"]) > 4 else "") + ")"
        elif battery.startswith("practrand"):
            s = summarize_practrand(path)
            res = s["res"]
            strong = [a for a in s["anomalies"] if "suspicious" in a.lower() or "FAIL" in a]
            if strong:
                res += (f"; {len(strong)} results suspicious or worse, e.g. "
                        + "; ".join(strong[:2]))
        else:
            continue
        secs = f"{s['seconds']:.0f}" if s["seconds"] else "?"
        rows.append(f"| {gen} | {kind} | {seed[4:]} | {battery} | {res} | {secs} |")
    with open(os.path.join(OUT, "summary.md"), "w") as f:
        f.write("| generator | stream | seed | battery | result | seconds |\n")
        f.write("|---|---|---|---|---|---|\n")
        f.write("\n".join(rows) + "\n")
    print("".join(lines(os.path.join(OUT, "summary.md"))))


def d201() -> None:
    """dieharder -d 201 on dieharder's mt19937, NumPy's PCG64 and ferroinit's stream."""
    path = os.path.join(OUT, "d201.log")
    with open(path, "w") as log:
        for label, prod, cons in [
            ("dieharder's mt19937 (-g 13)", None, ["dieharder", "-g", "13", "-d", "201"]),
            ("NumPy PCG64 (seed 0) on stdin", [sys.executable, STREAMER, "pcg64"],
             ["dieharder", "-g", "200", "-d", "201"]),
            ("ferroinit seed 0 on stdin", stream_cmd("seed", 0, None),
             ["dieharder", "-g", "200", "-d", "201"]),
        ]:
            log.write(f"# {label}\n")
            log.flush()
            t0 = time.time()
            if prod is None:
                subprocess.run(NICE + cons, stdout=log, stderr=subprocess.STDOUT, check=False)
            else:
                piped(prod, cons, log)
            log.write(f"# {time.time() - t0:.0f} s\n")
            log.flush()
    for line in lines(path):
        if line.startswith("#") or DH_LINE.match(line):
            print(line.rstrip())


def main() -> None:
    global OUT
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", nargs="?", default="run", choices=["run", "d201", "summary"])
    p.add_argument("--streams", default="seed,seeds,lanes,strided")
    p.add_argument("--battery", default="dieharder,practrand")
    p.add_argument("--tlmax", default="36", help="PractRand -tlmax (36 = 2^36 bytes)")
    p.add_argument("--practrand-args", default="", help="extra RNG_test options, e.g. '-tf 2'")
    p.add_argument("--tests", default=",".join(map(str, GOOD_TESTS)), help="dieharder -d list")
    p.add_argument("--weak", type=int, default=None, metavar="ROUNDS")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=OUT)
    a = p.parse_args()
    OUT = a.out
    os.makedirs(OUT, exist_ok=True)
    if a.what == "d201":
        d201()
        return
    if a.what == "run":
        print(f"# {D201_REASON}", flush=True)
        for kind in a.streams.split(","):
            for battery in a.battery.split(","):
                if battery == "dieharder":
                    run_dieharder(kind, a.seed, a.weak, [int(t) for t in a.tests.split(",")])
                elif battery.startswith("practrand"):
                    run_practrand(kind, a.seed, a.weak, a.tlmax, a.practrand_args.split())
                else:
                    raise SystemExit(f"unknown battery {battery!r}")
    write_summary()


if __name__ == "__main__":
    main()
