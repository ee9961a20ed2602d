"""Philox4x32-10 known answers, through a pure-Python reference and Generator.random_raw.

Contract: with seed s the Philox key is (s & 0xffffffff, s >> 32); the block at
position p uses counter (p & 0xffffffff, p >> 32, 0, 0); random_raw(n) returns the
words block0[0..4], block1[0..4], ... (first n of them) and advances ceil(n/4).
"""

from __future__ import annotations

import ferroinit
import numpy as np
import pytest

MASK32 = 0xFFFFFFFF
PHILOX_M0, PHILOX_M1 = 0xD2511F53, 0xCD9E8D57
PHILOX_W0, PHILOX_W1 = 0x9E3779B9, 0xBB67AE85


def philox4x32_10(ctr, key):
    """Reference Philox4x32 with 10 rounds (Salmon et al., Random123)."""
    c0, c1, c2, c3 = (int(c) & MASK32 for c in ctr)
    k0, k1 = (int(k) & MASK32 for k in key)
    for r in range(10):
        if r:
            k0 = (k0 + PHILOX_W0) & MASK32
            k1 = (k1 + PHILOX_W1) & MASK32
        p0 = PHILOX_M0 * c0
        p1 = PHILOX_M1 * c2
        c0, c1, c2, c3 = (
            ((p1 >> 32) ^ c1 ^ k0) & MASK32,
            p1 & MASK32,
            ((p0 >> 32) ^ c3 ^ k1) & MASK32,
            p0 & MASK32,
        )
    return (c0, c1, c2, c3)


def reference_stream(seed: int, position: int, n_words: int) -> np.ndarray:
    seed %= 2**64
    key = (seed & MASK32, seed >> 32)
    out = []
    p = position
    while len(out) < n_words:
        assert p < 2**64
        out.extend(philox4x32_10((p & MASK32, p >> 32, 0, 0), key))
        p += 1
    return np.array(out[:n_words], dtype=np.uint32)


# --------------------------------------------------------------------------
# Published Random123 known-answer vectors (kat_vectors, philox4x32 10 rounds)
# --------------------------------------------------------------------------

KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (
        (MASK32, MASK32, MASK32, MASK32),
        (MASK32, MASK32),
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize("ctr,key,expected", KAT, ids=["zero", "ones", "pi"])
def test_reference_matches_random123_kat(ctr, key, expected):
    assert philox4x32_10(ctr, key) == expected


def test_random_raw_seed0_position0_is_kat_zero():
    # seed 0 -> key (0, 0); position 0 -> counter (0, 0, 0, 0): the first KAT vector
    g = ferroinit.Generator(0)
    words = g.random_raw(4)
    assert [int(w) for w in words] == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


def test_random_raw_all_ones_kat():
    # seed 2**64-1 -> key (ffffffff, ffffffff); position 2**32-1 -> counter (ffffffff, 0, 0, 0)
    # this is not the all-ones KAT counter but exercises the same key; check vs reference.
    g = ferroinit.Generator(2**64 - 1)
    g.set_state((2**64 - 1, 2**32 - 1))
    got = g.random_raw(8)
    np.testing.assert_array_equal(got, reference_stream(2**64 - 1, 2**32 - 1, 8))


SEEDS = [0, 1, 42, 2**32 - 1, 2**32, 0x123456789ABCDEF0, 2**64 - 1]
POSITIONS = [0, 1, 7, 2**32 - 3, 2**32, 0xDEADBEEF12345, 2**63 + 5, 2**64 - 200]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("position", POSITIONS)
def test_random_raw_matches_reference(seed, position):
    n = 300  # 75 blocks; crosses the 2**32 carry for position 2**32-3
    g = ferroinit.Generator(seed)
    g.set_state((seed, position))
    got = g.random_raw(n)
    assert isinstance(got, np.ndarray)
    assert got.dtype == np.uint32
    assert got.shape == (n,)
    np.testing.assert_array_equal(got, reference_stream(seed, position, n))
    assert g.position == position + n // 4
    assert g.get_state() == (seed, position + n // 4)


def test_random_raw_from_fresh_generator_several_seeds():
    for seed in [3, 12345, 2**40 + 17]:
        g = ferroinit.Generator(seed)
        np.testing.assert_array_equal(g.random_raw(400), reference_stream(seed, 0, 400))
        # the next call continues at block 100
        np.testing.assert_array_equal(g.random_raw(40), reference_stream(seed, 100, 40))


def test_random_raw_partial_block_skips_rest_of_block():
    g = ferroinit.Generator(99)
    a = g.random_raw(5)  # blocks 0 and 1 (first word); advances 2
    assert g.position == 2
    b = g.random_raw(3)  # block 2, first three words
    assert g.position == 3
    c = g.random_raw(1)  # block 3 first word
    assert g.position == 4
    ref = reference_stream(99, 0, 16)
    np.testing.assert_array_equal(a, ref[0:5])
    np.testing.assert_array_equal(b, ref[8:11])
    np.testing.assert_array_equal(c, ref[12:13])


def test_random_raw_zero_length():
    g = ferroinit.Generator(5)
    z = g.random_raw(0)
    assert z.dtype == np.uint32 and z.shape == (0,)
    assert g.position == 0


def test_negative_seed_wraps_like_torch():
    for s in [-1, -2, -(2**63)]:
        g = ferroinit.Generator(s)
        assert g.seed == s % 2**64
        np.testing.assert_array_equal(g.random_raw(64), reference_stream(s % 2**64, 0, 64))


def test_manual_seed_global_generator_stream():
    ferroinit.manual_seed(777)
    g = ferroinit.default_generator
    assert g.get_state() == (777, 0)
    np.testing.assert_array_equal(g.random_raw(32), reference_stream(777, 0, 32))
    assert g.position == 8


def test_random_raw_is_roughly_uniform():
    # sanity: a broken word order or constant key would still pass KATs of block 0 only
    g = ferroinit.Generator(2024)
    w = g.random_raw(1_000_000).astype(np.float64)
    assert abs(w.mean() / 2**32 - 0.5) < 0.002
    bits = ((g.random_raw(100_000)[:, None] >> np.arange(32, dtype=np.uint32)) & 1).mean(axis=0)
    assert np.all(np.abs(bits - 0.5) < 0.01), bits
