"""Raw 32-bit words of ferroinit's generator on stdout, for dieharder and PractRand.

Usage: python benches/quality/stream.py KIND [--seed S] [--segment I] [--words N] [--weak ROUNDS]

KIND (what the battery sees, word after word):
  seed      one seed's raw stream from position 0: random_raw in order.
  seeds     the streams of seeds S, S+1, ..., S+255 interleaved word by word: word i of seed S,
            word i of seed S+1, ..., word i of seed S+255, word i+1 of seed S, ...
            A weak key schedule (related seeds giving related streams) shows here.
  lanes     word k of consecutive counter blocks: the blocks of one seed's stream, in chunks of
            2^16 blocks, written lane by lane (word 0 of every block of the chunk, then word 1,
            ...). Neighbours in this stream come from counters that differ by one, so weak
            diffusion of the counter (an output word that moves little when the counter
            increments) is a lag-1 correlation here, where the natural order hides it at lag 4.
  strided   256 streams of one seed started 2^32 blocks apart (positions j * 2^32), interleaved
            word by word: neighbours come from counters that differ by one in the HIGH word of
            the 64-bit position, a part of the counter that a sequential run never moves (2^40
            bytes of stream are only 2^36 blocks); the streams never overlap (2^44 bytes).
  pcg64     NumPy's PCG64 (seeded with S) as 32-bit words: a reference generator, to show that a
            test failing for it too (dieharder's -d 201) tells nothing.
  uniform24 the 24 bits that uniform_ puts in a float32 (u * 2^24 of float32 uniform_ on
            [0, 1)), 3 bytes per value, little endian: the bits users actually get.

--weak ROUNDS replaces ferroinit by Philox4x32 with ROUNDS rounds computed here in NumPy, with
ferroinit's key (seed low, high word) and counter layout (position low, high, 0, 0): a negative
control that must fail the batteries. `--weak 10` is Philox4x32-10, which was ferroinit's
generator until 0.2 (since 0.3 it is AES-128-CTR, so `check` reports the two as different).

--segment I starts the stream at the I-th of disjoint segments of 64 GiB (2^32 blocks of a
one-stream kind, 2^24 blocks of each of the 256 interleaved streams), so that the separate
dieharder runs of one battery read disjoint data, as `dieharder -a` does from one stream.

Words are in native byte order (what dieharder -g 200 and PractRand stdin32 read). The stream is
endless unless --words is given; a reader that closes the pipe ends it with status 0.
Throughput: `python benches/quality/stream.py KIND --words 1e9 | pv > /dev/null` (or `bench`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import ferroinit
import numpy as np

STREAMS = 256  # interleaved streams of `seeds` and `strided`
CHUNK_WORDS = 1 << 22  # words per write: 16 MiB
STRIDE_BLOCKS = 1 << 32  # distance between the streams of `strided`

M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = 0x9E3779B9, 0xBB67AE85
LO = np.uint64(0xFFFFFFFF)
S32 = np.uint64(32)


def philox_words(seed: int, first: int, blocks: int, rounds: int) -> np.ndarray:
    """Philox4x32-`rounds` words of blocks first..first+blocks-1, ferroinit's layout."""
    pos = np.arange(first, first + blocks, dtype=np.uint64)
    c0, c1 = pos & LO, pos >> S32
    c2 = np.zeros(blocks, np.uint64)
    c3 = np.zeros(blocks, np.uint64)
    k0, k1 = seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF
    for _ in range(rounds):
        p0, p1 = c0 * M0, c2 * M1
        n0 = (p1 >> S32) ^ c1 ^ np.uint64(k0)
        n2 = (p0 >> S32) ^ c3 ^ np.uint64(k1)
        c1, c3, c0, c2 = p1 & LO, p0 & LO, n0, n2
        k0, k1 = (k0 + W0) & 0xFFFFFFFF, (k1 + W1) & 0xFFFFFFFF
    out = np.empty((blocks, 4), np.uint32)
    for k, c in enumerate((c0, c1, c2, c3)):
        out[:, k] = c
    return out.ravel()


class Source:
    """One stream of words: `take(n)` returns its next n words (n a multiple of the block)."""

    def __init__(self, seed: int, position: int, weak: int | None):
        self.seed, self.position, self.weak = seed, position, weak
        if weak is None:
            self.gen = ferroinit.Generator(seed)
            self.gen.set_state((seed, position))

    def take(self, n: int) -> np.ndarray:
        if self.weak is None:
            return self.gen.random_raw(n)
        blocks = n // 4
        w = philox_words(self.seed, self.position, blocks, self.weak)
        self.position += blocks
        return w

    def uniform24(self, n: int) -> np.ndarray:
        """The 24-bit integers of n float32 uniform_ values on [0, 1)."""
        if self.weak is not None:
            return self.take(n) >> np.uint32(8)
        x = np.empty(n, np.float32)
        ferroinit.uniform_(x, 0.0, 1.0, generator=self.gen)
        m = (x * np.float32(1 << 24)).astype(np.uint32)  # exact: a power-of-two scaling
        # uniform_ on [0, 1) is u = m * 2^-24 exactly: anything else means the sampler changed
        # and this stream no longer shows the bits users get.
        if not np.array_equal(m.astype(np.float32) * np.float32(2.0**-24), x):
            raise SystemExit("uniform_ values are not multiples of 2^-24: update uniform24")
        return m


def words_per_block() -> int:
    """How many words one position step of ferroinit's generator holds (4 for Philox4x32)."""
    g = ferroinit.Generator(0)
    n = 1 << 12
    g.random_raw(n)
    return n // g.get_state()[1]


SEGMENT_BLOCKS = {"seed": 1 << 32, "lanes": 1 << 32, "uniform24": 1 << 32,
                  "seeds": 1 << 24, "strided": 1 << 24}


def chunks(kind: str, seed: int, weak: int | None, segment: int = 0):
    """Endless iterator of uint32 arrays (or bytes for uniform24) making up the stream."""
    block = 4 if weak is not None else words_per_block()
    start = segment * SEGMENT_BLOCKS.get(kind, 0)
    if kind == "seed":
        src = Source(seed, start, weak)
        while True:
            yield src.take(CHUNK_WORDS)
    elif kind in ("seeds", "strided"):
        if kind == "seeds":
            srcs = [Source((seed + j) % (1 << 64), start, weak) for j in range(STREAMS)]
        else:
            srcs = [Source(seed, j * STRIDE_BLOCKS + start, weak) for j in range(STREAMS)]
        per = CHUNK_WORDS // STREAMS
        per -= per % block
        buf = np.empty((per, STREAMS), np.uint32)
        while True:
            for j, s in enumerate(srcs):
                buf[:, j] = s.take(per)
            yield buf.ravel()
    elif kind == "lanes":
        src = Source(seed, start, weak)
        blocks = 1 << 16
        while True:
            for _ in range(CHUNK_WORDS // (blocks * block)):
                yield src.take(blocks * block).reshape(blocks, block).T.ravel()
    elif kind == "pcg64":
        bg = np.random.PCG64([seed, segment])
        while True:
            yield bg.random_raw(CHUNK_WORDS // 2).view(np.uint32)
    elif kind == "uniform24":
        src = Source(seed, start, weak)
        while True:
            m = src.uniform24(CHUNK_WORDS)
            # little-endian low 3 bytes of each value
            yield m.astype("<u4").view(np.uint8).reshape(-1, 4)[:, :3].ravel()
    else:
        raise SystemExit(f"unknown kind {kind!r}")


def check() -> None:
    """The streams' layouts against direct random_raw calls, and the NumPy Philox4x32-10
    against ferroinit's random_raw (equal while ferroinit's generator is Philox4x32-10)."""

    def raw(seed: int, pos: int, n: int) -> np.ndarray:
        g = ferroinit.Generator(seed)
        g.set_state((seed, pos))
        return g.random_raw(n)

    block = words_per_block()
    first = {k: next(chunks(k, 5, None, 1)) for k in ("seed", "seeds", "lanes", "strided")}
    per = first["seeds"].size // STREAMS
    layouts = {
        "seed": np.array_equal(first["seed"], raw(5, 1 << 32, CHUNK_WORDS)),
        "seeds": all(np.array_equal(first["seeds"][j::STREAMS], raw(5 + j, 1 << 24, per))
                     for j in (0, 1, 77, 255)),
        "strided": all(np.array_equal(first["strided"][j::STREAMS],
                                      raw(5, j * STRIDE_BLOCKS + (1 << 24), per))
                       for j in (0, 1, 77, 255)),
        "lanes": all(np.array_equal(first["lanes"][k << 16:(k + 1) << 16],
                                    raw(5, 1 << 32, block << 16)[k::block])
                     for k in range(block)),
    }
    for k, ok in layouts.items():
        print(f"{k} layout:", "ok" if ok else "WRONG")
    same = all(np.array_equal(raw(seed, pos, 4096), philox_words(seed, pos, 1024, 10))
               for seed, pos in [(0, 0), (1, 0), (20240607, 12345), (2**64 - 1, 2**32 - 3),
                                 (7, 2**40)])
    print("NumPy Philox4x32-10 == ferroinit random_raw:",
          "yes" if same else "no (expected: ferroinit's generator is AES-128-CTR since 0.3)")
    sys.exit(0 if all(layouts.values()) else 1)


def bench(kind: str, seed: int, weak: int | None) -> None:
    """MB/s of producing the stream (to /dev/null, no pipe), best of 3 runs of ~256 MiB."""
    best = 0.0
    it = chunks(kind, seed, weak)
    with open(os.devnull, "wb") as null:
        for _ in range(3):
            t, nbytes = time.perf_counter(), 0
            while nbytes < 1 << 28:
                c = next(it)
                null.write(memoryview(c))
                nbytes += c.nbytes
            best = max(best, nbytes / (time.perf_counter() - t) / 1e6)
    print(f"{kind} weak={weak}: {best:.0f} MB/s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("kind", choices=["seed", "seeds", "lanes", "strided", "uniform24",
                                    "pcg64", "check", "bench"])
    p.add_argument("--seed", type=lambda s: int(s, 0), default=0,
                   help="the seed (seeds: the first of the 256)")
    p.add_argument("--segment", type=int, default=0, help="start at this disjoint segment")
    p.add_argument("--words", type=float, default=None, help="stop after this many words")
    p.add_argument("--weak", type=int, default=None, metavar="ROUNDS",
                   help="NumPy Philox4x32 with this many rounds instead of ferroinit")
    p.add_argument("--of", default="seed", help="bench: the kind to measure")
    a = p.parse_args()
    if a.kind == "check":
        check()
    if a.kind == "bench":
        bench(a.of, a.seed, a.weak)
        return
    out = sys.stdout.buffer
    left = None if a.words is None else int(a.words) * 4  # bytes
    try:
        for c in chunks(a.kind, a.seed, a.weak, a.segment):
            b = memoryview(c).cast("B")
            if left is not None:
                b = b[:left]
                left -= len(b)
            out.write(b)
            if left == 0:
                break
        out.flush()
    except BrokenPipeError:
        # the reader has what it needs; point stdout at /dev/null so that the interpreter's
        # final flush does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
