//! ChaCha-R (Bernstein 2008) in its original layout: words 0-3 the constants "expand 32-byte k",
//! 4-11 the 256-bit key, 12-13 the 64-bit block counter (low word first), 14-15 the 64-bit nonce.
//! Output = state after R rounds + input state (the feed-forward), as in the specification.
//!
//! Key schedule used here: key words = (lo(seed), hi(seed), 0, 0, 0, 0, 0, 0), nonce =
//! (stream, 0), counter = block index. Group = 16 blocks = 256 words, lane-major: word `w` of
//! block `16 g + j` is element `16 w + j` of the group, so a register row of 16 lanes (or two
//! of 8) is stored as it is: no transposition on any level.

use super::Gen;
use crate::simd::{U16, U8};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// One double round on a 16-word state `$x`, with literal indices so the state stays in
/// registers (a loop over an index table kept it in memory). `$add`, `$xor`, `$rot` are the
/// level's operations; `$rot` takes the rotation count first.
macro_rules! double_round {
    ($x:ident, $add:expr, $xor:expr, $rot:expr) => {
        double_round!(@qr $x, $add, $xor, $rot, 0, 4, 8, 12);
        double_round!(@qr $x, $add, $xor, $rot, 1, 5, 9, 13);
        double_round!(@qr $x, $add, $xor, $rot, 2, 6, 10, 14);
        double_round!(@qr $x, $add, $xor, $rot, 3, 7, 11, 15);
        double_round!(@qr $x, $add, $xor, $rot, 0, 5, 10, 15);
        double_round!(@qr $x, $add, $xor, $rot, 1, 6, 11, 12);
        double_round!(@qr $x, $add, $xor, $rot, 2, 7, 8, 13);
        double_round!(@qr $x, $add, $xor, $rot, 3, 4, 9, 14);
    };
    (@qr $x:ident, $add:expr, $xor:expr, $rot:expr, $a:literal, $b:literal, $c:literal, $d:literal) => {
        $x[$a] = $add($x[$a], $x[$b]);
        $x[$d] = $rot(16, $xor($x[$d], $x[$a]));
        $x[$c] = $add($x[$c], $x[$d]);
        $x[$b] = $rot(12, $xor($x[$b], $x[$c]));
        $x[$a] = $add($x[$a], $x[$b]);
        $x[$d] = $rot(8, $xor($x[$d], $x[$a]));
        $x[$c] = $add($x[$c], $x[$d]);
        $x[$b] = $rot(7, $xor($x[$b], $x[$c]));
    };
}

#[derive(Clone, Copy, Debug)]
pub struct ChaCha<const R: usize> {
    pub key: [u32; 8],
    pub nonce: [u32; 2],
}

impl<const R: usize> ChaCha<R> {
    pub fn new(seed: u64, stream: u32) -> Self {
        let mut key = [0u32; 8];
        key[0] = seed as u32;
        key[1] = (seed >> 32) as u32;
        ChaCha {
            key,
            nonce: [stream, 0],
        }
    }

    /// The input state of one block with a full 64-bit counter and 64-bit nonce.
    pub fn input(key: &[u32; 8], counter: u64, nonce: [u32; 2]) -> [u32; 16] {
        let mut s = [0u32; 16];
        s[..4].copy_from_slice(&SIGMA);
        s[4..12].copy_from_slice(key);
        s[12] = counter as u32;
        s[13] = (counter >> 32) as u32;
        s[14] = nonce[0];
        s[15] = nonce[1];
        s
    }

    /// R rounds plus the feed-forward, on any input state (RFC 7539's 96-bit-nonce layout
    /// included: only the meaning of words 12-15 differs).
    pub fn block(input: &[u32; 16]) -> [u32; 16] {
        let mut x = *input;
        for _ in 0..R / 2 {
            double_round!(
                x,
                |a: u32, b: u32| a.wrapping_add(b),
                |a: u32, b: u32| a ^ b,
                |n: u32, t: u32| t.rotate_left(n)
            );
        }
        for (o, i) in x.iter_mut().zip(input) {
            *o = o.wrapping_add(*i);
        }
        x
    }
}

impl<const R: usize> Gen for ChaCha<R> {
    const WORDS: usize = 256;

    fn name(&self) -> &'static str {
        match R {
            8 => "chacha8",
            12 => "chacha12",
            20 => "chacha20",
            _ => "chacha?",
        }
    }

    fn group_scalar(&self, g: u64, out: &mut [u32]) {
        for j in 0..16 {
            let b = g.wrapping_mul(16).wrapping_add(j as u64);
            let w = Self::block(&Self::input(&self.key, b, self.nonce));
            for (k, &x) in w.iter().enumerate() {
                out[16 * k + j] = x;
            }
        }
    }

    #[inline(always)]
    unsafe fn group_avx2(&self, g: u64, out: &mut [U8]) {
        // Two halves of 8 blocks. The 16 rows fill all 16 ymm registers, so the compiler keeps
        // a few in L1; rotations by 16 and 8 are byte shuffles, by 12 and 7 shift-or.
        let r16 = _mm256_set_epi8(
            13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2, 13, 12, 15, 14, 9, 8, 11, 10, 5,
            4, 7, 6, 1, 0, 3, 2,
        );
        let r8 = _mm256_set_epi8(
            14, 13, 12, 15, 10, 9, 8, 11, 6, 5, 4, 7, 2, 1, 0, 3, 14, 13, 12, 15, 10, 9, 8, 11, 6,
            5, 4, 7, 2, 1, 0, 3,
        );
        let iota = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
        for h in 0..2 {
            let first = g.wrapping_mul(16).wrapping_add(8 * h as u64);
            let input = Self::input(&self.key, first, self.nonce);
            let mut x = [_mm256_setzero_si256(); 16];
            for (v, &i) in x.iter_mut().zip(&input) {
                *v = _mm256_set1_epi32(i as i32);
            }
            // first is a multiple of 8: no carry out of the low counter word.
            x[12] = _mm256_add_epi32(x[12], iota);
            let x12 = x[12];
            let rot = |n: u32, t: __m256i| match n {
                16 => _mm256_shuffle_epi8(t, r16),
                8 => _mm256_shuffle_epi8(t, r8),
                12 => _mm256_or_si256(_mm256_slli_epi32::<12>(t), _mm256_srli_epi32::<20>(t)),
                _ => _mm256_or_si256(_mm256_slli_epi32::<7>(t), _mm256_srli_epi32::<25>(t)),
            };
            for _ in 0..R / 2 {
                double_round!(
                    x,
                    |a, b| _mm256_add_epi32(a, b),
                    |a, b| _mm256_xor_si256(a, b),
                    rot
                );
            }
            for w in 0..16 {
                let i = if w == 12 {
                    x12
                } else {
                    _mm256_set1_epi32(input[w] as i32)
                };
                out[2 * w + h] = U8(_mm256_add_epi32(x[w], i));
            }
        }
    }

    #[inline(always)]
    unsafe fn group_avx512(&self, g: u64, out: &mut [U16]) {
        let first = g.wrapping_mul(16);
        let input = Self::input(&self.key, first, self.nonce);
        let iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        let mut x = [_mm512_setzero_si512(); 16];
        for (v, &i) in x.iter_mut().zip(&input) {
            *v = _mm512_set1_epi32(i as i32);
        }
        // first is a multiple of 16: no carry out of the low counter word.
        x[12] = _mm512_add_epi32(x[12], iota);
        let x12 = x[12];
        let rot = |n: u32, t: __m512i| match n {
            16 => _mm512_rol_epi32::<16>(t),
            12 => _mm512_rol_epi32::<12>(t),
            8 => _mm512_rol_epi32::<8>(t),
            _ => _mm512_rol_epi32::<7>(t),
        };
        for _ in 0..R / 2 {
            double_round!(
                x,
                |a, b| _mm512_add_epi32(a, b),
                |a, b| _mm512_xor_si512(a, b),
                rot
            );
        }
        for w in 0..16 {
            let i = if w == 12 {
                x12
            } else {
                _mm512_set1_epi32(input[w] as i32)
            };
            out[w] = U16(_mm512_add_epi32(x[w], i));
        }
    }
}
