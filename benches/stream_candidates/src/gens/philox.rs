//! Philox4x32-R (Salmon, Moraes, Dror, Shaw, SC'11 "Random123"), R = 7 or 10.
//!
//! Counter of block `b`: (lo(b), hi(b), stream, 0); key = (lo(seed), hi(seed)).
//! Group = 32 blocks = 128 words: two halves of 16 blocks, each lane-major: word `w` of block
//! `32 g + 16 h + j` is element `64 h + 16 w + j` of the group (no transposition on any level).
//!
//! Two AVX-512 layouts: `Lanes64` puts one block per 64-bit lane with the word in the low half,
//! so `vpmuludq` gives the full product with no even/odd split (as ferroinit's AVX2 path does),
//! and one `vpermt2d` per output row packs two 8-block registers; `Packed` keeps 16 blocks per
//! register and splits even/odd lanes around the multiplies (ferroinit 0.2's AVX-512 path).

use super::Gen;
use crate::simd::{U16, U8};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout512 {
    Lanes64,
    Packed,
}

#[derive(Clone, Copy, Debug)]
pub struct Philox<const R: usize> {
    pub key: [u32; 2],
    pub stream: u32,
    pub layout: Layout512,
}

impl<const R: usize> Philox<R> {
    pub fn new(seed: u64, stream: u32, layout: Layout512) -> Self {
        Philox {
            key: [seed as u32, (seed >> 32) as u32],
            stream,
            layout,
        }
    }

    /// The block at a full 128-bit counter (known-answer tests).
    pub fn block(key: [u32; 2], ctr: [u32; 4]) -> [u32; 4] {
        let [mut c0, mut c1, mut c2, mut c3] = ctr;
        let [mut k0, mut k1] = key;
        for _ in 0..R {
            let p0 = u64::from(M0) * u64::from(c0);
            let p1 = u64::from(M1) * u64::from(c2);
            let n0 = ((p1 >> 32) as u32) ^ c1 ^ k0;
            let n2 = ((p0 >> 32) as u32) ^ c3 ^ k1;
            c1 = p1 as u32;
            c3 = p0 as u32;
            c0 = n0;
            c2 = n2;
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        [c0, c1, c2, c3]
    }
}

impl<const R: usize> Gen for Philox<R> {
    const WORDS: usize = 128;

    fn name(&self) -> &'static str {
        match (R, self.layout) {
            (7, Layout512::Lanes64) => "philox4x32-7",
            (10, Layout512::Lanes64) => "philox4x32-10",
            (7, Layout512::Packed) => "philox4x32-7/packed",
            (10, Layout512::Packed) => "philox4x32-10/packed",
            _ => "philox4x32-?",
        }
    }

    fn group_scalar(&self, g: u64, out: &mut [u32]) {
        for h in 0..2 {
            for j in 0..16 {
                let b = g.wrapping_mul(32).wrapping_add((16 * h + j) as u64);
                let w = Self::block(self.key, [b as u32, (b >> 32) as u32, self.stream, 0]);
                for (k, &x) in w.iter().enumerate() {
                    out[64 * h + 16 * k + j] = x;
                }
            }
        }
    }

    #[inline(always)]
    unsafe fn group_avx2(&self, g: u64, out: &mut [U8]) {
        // Four passes of 8 blocks: two registers of 4 blocks (one per 64-bit lane). Register
        // r, lane l holds block 2 l + r so that packing the low halves of the pair with one
        // shift and one blend gives the 8 blocks in order. Two registers at a time: four would
        // spill (16 ymm registers).
        let m0 = _mm256_set1_epi64x(M0 as i64);
        let m1 = _mm256_set1_epi64x(M1 as i64);
        let odd = _mm256_set_epi64x(6, 4, 2, 0);
        for pass in 0..4 {
            let first = g.wrapping_mul(32).wrapping_add(8 * pass as u64);
            let mut c = [[_mm256_setzero_si256(); 4]; 2];
            for (r, cr) in c.iter_mut().enumerate() {
                let b =
                    _mm256_add_epi64(_mm256_set1_epi64x(first.wrapping_add(r as u64) as i64), odd);
                *cr = [
                    b,
                    _mm256_srli_epi64::<32>(b),
                    _mm256_set1_epi64x(self.stream as i64),
                    _mm256_setzero_si256(),
                ];
            }
            let (mut k0, mut k1) = (self.key[0], self.key[1]);
            for _ in 0..R {
                let kk0 = _mm256_set1_epi32(k0 as i32);
                let kk1 = _mm256_set1_epi32(k1 as i32);
                for s in c.iter_mut() {
                    let p0 = _mm256_mul_epu32(s[0], m0);
                    let p1 = _mm256_mul_epu32(s[2], m1);
                    *s = [
                        _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64::<32>(p1), s[1]), kk0),
                        p1,
                        _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64::<32>(p0), s[3]), kk1),
                        p0,
                    ];
                }
                k0 = k0.wrapping_add(W0);
                k1 = k1.wrapping_add(W1);
            }
            // Blocks 8 pass .. 8 pass + 8 are lanes 8 (pass % 2).. of half pass / 2.
            let (h, l) = (pass / 2, pass % 2);
            for w in 0..4 {
                let packed =
                    _mm256_blend_epi32::<0b1010_1010>(c[0][w], _mm256_slli_epi64::<32>(c[1][w]));
                out[(64 * h + 16 * w + 8 * l) / 8] = U8(packed);
            }
        }
    }

    #[inline(always)]
    unsafe fn group_avx512(&self, g: u64, out: &mut [U16]) {
        match self.layout {
            Layout512::Lanes64 => lanes64::<R>(self, g, out),
            Layout512::Packed => packed::<R>(self, g, out),
        }
    }
}

/// Four registers of 8 blocks, one per 64-bit lane (register q holds blocks 8 q + l).
#[inline(always)]
unsafe fn lanes64<const R: usize>(p: &Philox<R>, g: u64, out: &mut [U16]) {
    let m0 = _mm512_set1_epi64(M0 as i64);
    let m1 = _mm512_set1_epi64(M1 as i64);
    let iota = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    let mut c = [[_mm512_setzero_si512(); 4]; 4];
    for (q, cq) in c.iter_mut().enumerate() {
        let first = g.wrapping_mul(32).wrapping_add(8 * q as u64);
        let b = _mm512_add_epi64(_mm512_set1_epi64(first as i64), iota);
        *cq = [
            b,
            _mm512_srli_epi64::<32>(b),
            _mm512_set1_epi64(p.stream as i64),
            _mm512_setzero_si512(),
        ];
    }
    let (mut k0, mut k1) = (p.key[0], p.key[1]);
    for _ in 0..R {
        let kk0 = _mm512_set1_epi32(k0 as i32);
        let kk1 = _mm512_set1_epi32(k1 as i32);
        for s in c.iter_mut() {
            let p0 = _mm512_mul_epu32(s[0], m0);
            let p1 = _mm512_mul_epu32(s[2], m1);
            // 0x96: three-way XOR in one vpternlogd.
            *s = [
                _mm512_ternarylogic_epi32::<0x96>(_mm512_srli_epi64::<32>(p1), s[1], kk0),
                p1,
                _mm512_ternarylogic_epi32::<0x96>(_mm512_srli_epi64::<32>(p0), s[3], kk1),
                p0,
            ];
        }
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
    // Low halves of registers 2h and 2h+1 are blocks 16h..16h+16 in order.
    let idx = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    for h in 0..2 {
        for w in 0..4 {
            out[4 * h + w] = U16(_mm512_permutex2var_epi32(c[2 * h][w], idx, c[2 * h + 1][w]));
        }
    }
}

#[inline(always)]
unsafe fn mulhilo512(c: __m512i, m: __m512i) -> (__m512i, __m512i) {
    let even = _mm512_mul_epu32(c, m);
    let odd = _mm512_mul_epu32(_mm512_srli_epi64::<32>(c), m);
    let lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64::<32>(odd));
    let hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64::<32>(even), odd);
    (hi, lo)
}

/// Two registers of 16 blocks each, one block per 32-bit lane.
#[inline(always)]
unsafe fn packed<const R: usize>(p: &Philox<R>, g: u64, out: &mut [U16]) {
    let iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    let m0 = _mm512_set1_epi32(M0 as i32);
    let m1 = _mm512_set1_epi32(M1 as i32);
    let mut c = [[_mm512_setzero_si512(); 4]; 2];
    for (h, ch) in c.iter_mut().enumerate() {
        // first is a multiple of 16: no carry out of the low word inside the register.
        let first = g.wrapping_mul(32).wrapping_add(16 * h as u64);
        *ch = [
            _mm512_add_epi32(_mm512_set1_epi32(first as i32), iota),
            _mm512_set1_epi32((first >> 32) as i32),
            _mm512_set1_epi32(p.stream as i32),
            _mm512_setzero_si512(),
        ];
    }
    let (mut k0, mut k1) = (p.key[0], p.key[1]);
    for _ in 0..R {
        let kk0 = _mm512_set1_epi32(k0 as i32);
        let kk1 = _mm512_set1_epi32(k1 as i32);
        for s in c.iter_mut() {
            let (hi0, lo0) = mulhilo512(s[0], m0);
            let (hi1, lo1) = mulhilo512(s[2], m1);
            *s = [
                _mm512_ternarylogic_epi32::<0x96>(hi1, s[1], kk0),
                lo1,
                _mm512_ternarylogic_epi32::<0x96>(hi0, s[3], kk1),
                lo0,
            ];
        }
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
    for h in 0..2 {
        for w in 0..4 {
            out[4 * h + w] = U16(c[h][w]);
        }
    }
}
