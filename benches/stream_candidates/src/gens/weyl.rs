//! Not a candidate: a Weyl sequence `w_e = e * 0x9E3779B9` (one multiply per vector), to time
//! the samplers with (nearly) no generator cost. Its words are equidistributed, so branches
//! (tail lanes, rejections) are taken about as often as with a real generator.

use super::Gen;
use crate::simd::{U16, U8};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

const PHI: u32 = 0x9E37_79B9;

pub struct Weyl;

impl Gen for Weyl {
    const WORDS: usize = 256;
    fn name(&self) -> &'static str {
        "none (Weyl words)"
    }
    fn group_scalar(&self, g: u64, out: &mut [u32]) {
        for (j, o) in out.iter_mut().enumerate() {
            *o = (g.wrapping_mul(256) as u32)
                .wrapping_add(j as u32)
                .wrapping_mul(PHI);
        }
    }
    #[inline(always)]
    unsafe fn group_avx2(&self, g: u64, out: &mut [U8]) {
        let base = _mm256_add_epi32(
            _mm256_set1_epi32(g.wrapping_mul(256) as i32),
            _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0),
        );
        let phi = _mm256_set1_epi32(PHI as i32);
        for (k, o) in out.iter_mut().enumerate() {
            let e = _mm256_add_epi32(base, _mm256_set1_epi32(8 * k as i32));
            *o = U8(_mm256_mullo_epi32(e, phi));
        }
    }
    #[inline(always)]
    unsafe fn group_avx512(&self, g: u64, out: &mut [U16]) {
        let base = _mm512_add_epi32(
            _mm512_set1_epi32(g.wrapping_mul(256) as i32),
            _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
        );
        let phi = _mm512_set1_epi32(PHI as i32);
        for (k, o) in out.iter_mut().enumerate() {
            let e = _mm512_add_epi32(base, _mm512_set1_epi32(16 * k as i32));
            *o = U16(_mm512_mullo_epi32(e, phi));
        }
    }
}
