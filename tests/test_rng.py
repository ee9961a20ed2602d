"""AES-128-CTR known answers, through Python's `cryptography` (if installed) and hard-coded
words, against Generator.random_raw.

Contract: with seed s the AES-128 key is SplitMix64 outputs 1 and 2 from state s, each as 8
little-endian bytes; the block at position p encrypts p (8 bytes LE) | stream (4 bytes LE,
0 for random_raw) | 4 zero bytes, and its words are the ciphertext as 4 little-endian
uint32; random_raw(n) returns the words block0[0..4], block1[0..4], ... (first n of them) and
advances ceil(n/4).
"""

from __future__ import annotations

import struct

import ferroinit
import numpy as np
import pytest

try:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError:  # the hard-coded known answers below still run
    Cipher = None

needs_cryptography = pytest.mark.skipif(Cipher is None, reason="needs the cryptography package")

MASK64 = 2**64 - 1


def splitmix64(seed: int, n: int) -> int:
    """Output n (1-based) of SplitMix64 started at state `seed`."""
    z = (seed + 0x9E3779B97F4A7C15 * n) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def aes_key(seed: int) -> bytes:
    return struct.pack("<QQ", splitmix64(seed, 1), splitmix64(seed, 2))


def reference_stream(seed: int, position: int, n_words: int) -> np.ndarray:
    """The words of blocks position.. of stream 0, by AES-128-ECB of the counter blocks."""
    seed %= 2**64
    nblocks = -(-n_words // 4)
    assert position + nblocks <= 2**64
    plaintext = b"".join(struct.pack("<QII", position + i, 0, 0) for i in range(nblocks))
    enc = Cipher(algorithms.AES(aes_key(seed)), modes.ECB()).encryptor()
    ct = enc.update(plaintext) + enc.finalize()
    return np.frombuffer(ct, dtype="<u4")[:n_words].astype(np.uint32)


def test_splitmix64_known_outputs():
    assert splitmix64(1234567, 1) == 6457827717110365317
    assert splitmix64(1234567, 2) == 3203168211198807973


@needs_cryptography
def test_cryptography_matches_fips197_c1():
    key = bytes(range(16))
    pt = bytes.fromhex("00112233445566778899aabbccddeeff")
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    assert (enc.update(pt) + enc.finalize()).hex() == "69c4e0d86a7b0430d8cdb78070b4c55a"


# Words of blocks of stream 0, computed once with `cryptography` (the same numbers are the
# Rust crate's known answers in src/rng/aes_ctr.rs).
KAT = [
    (0, 0, (0xEEE3B75A, 0xA0CD6FBA, 0x99A7AE80, 0x530F571C)),
    (0, 1, (0x48547C8A, 0x5F0791E3, 0x50ABD2E8, 0xDBEC238C)),
    (0, 2**32 - 1, (0xF0EF2292, 0xDAA73B3E, 0x034357EF, 0x95EDF3FA)),
    (0, 2**32, (0x081D0480, 0x1C5264D1, 0x85AA676D, 0xB9884A4C)),
    (42, 0, (0xD73E55BD, 0xBD954775, 0x65039731, 0x3E08A370)),
    (42, 1, (0x4898D87F, 0xC95564BB, 0x83BDCA3B, 0x8C910EEC)),
    (42, 2**32 - 1, (0xEDE026B3, 0x08388B2A, 0x3FB83515, 0xF72324D3)),
    (42, 2**32, (0xDDF7DCEB, 0x8D48CC0D, 0xE256E2BB, 0xEDFFFCBD)),
]


@pytest.mark.parametrize("seed,position,expected", KAT)
def test_random_raw_known_answers(seed, position, expected):
    g = ferroinit.Generator(seed)
    g.set_state((seed, position))
    assert tuple(int(w) for w in g.random_raw(4)) == expected


@needs_cryptography
@pytest.mark.parametrize("seed,position,expected", KAT)
def test_reference_matches_known_answers(seed, position, expected):
    assert tuple(int(w) for w in reference_stream(seed, position, 4)) == expected


@needs_cryptography
def test_random_raw_all_ones_seed():
    # seed 2**64-1, across the 2**32 carry of the block position
    g = ferroinit.Generator(2**64 - 1)
    g.set_state((2**64 - 1, 2**32 - 1))
    got = g.random_raw(8)
    np.testing.assert_array_equal(got, reference_stream(2**64 - 1, 2**32 - 1, 8))


SEEDS = [0, 1, 42, 2**32 - 1, 2**32, 0x123456789ABCDEF0, 2**64 - 1]
POSITIONS = [0, 1, 7, 2**32 - 3, 2**32, 0xDEADBEEF12345, 2**63 + 5, 2**64 - 200]


@needs_cryptography
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


@needs_cryptography
def test_random_raw_from_fresh_generator_several_seeds():
    for seed in [3, 12345, 2**40 + 17]:
        g = ferroinit.Generator(seed)
        np.testing.assert_array_equal(g.random_raw(400), reference_stream(seed, 0, 400))
        # the next call continues at block 100
        np.testing.assert_array_equal(g.random_raw(40), reference_stream(seed, 100, 40))


@needs_cryptography
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


@needs_cryptography
def test_negative_seed_wraps_like_torch():
    for s in [-1, -2, -(2**63)]:
        g = ferroinit.Generator(s)
        assert g.seed == s % 2**64
        np.testing.assert_array_equal(g.random_raw(64), reference_stream(s % 2**64, 0, 64))


@needs_cryptography
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
