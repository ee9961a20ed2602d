//! The instruction sets a kernel is compiled for: per SIMD level, its vector types, its AES
//! block function and its shuffles written out with intrinsics.
//!
//! Invariant: every level computes the same AES-128 blocks and the same data movement,
//! so a level is a speed choice, never a value choice. A kernel is generic over `I: Isa` and
//! is compiled once per level by [`super::dispatch`].

use crate::rng::aes_ctr::AesCtr;
use crate::simd::vector::{Pack, Row16};
use crate::simd::vector64::Vd;

/// An instruction set: this level's vector types, and the AES-128 counter blocks and the
/// 4 x 16 transpose in its instructions. The SIMD levels run AES-NI / VAES (in
/// [`crate::rng::aes_ctr::x86`]); the portable level runs the software AES.
pub trait Isa {
    /// This level's vector type for a row of 16 lanes (see [`crate::simd::vector`]).
    type Row: Row16;
    /// This level's float64 vector (see [`crate::simd::vector64`]).
    type Row64: Vd;

    /// 16 consecutive blocks from `first`, lane-major (`out[w][j]` = word `w` of block
    /// `first + j`), with this level's AES.
    fn blocks16(rng: &AesCtr, first: u64) -> [[u32; 16]; 4];

    /// `L` consecutive blocks with this level's AES (16 lanes), or the software AES.
    #[inline(always)]
    fn blocks<const L: usize>(rng: &AesCtr, first: u64) -> [[u32; L]; 4] {
        if L == 16 {
            let b = Self::blocks16(rng, first);
            // SAFETY: L == 16, so the two array types are the same type.
            unsafe { std::mem::transmute_copy::<[[u32; 16]; 4], [[u32; L]; 4]>(&b) }
        } else {
            rng.blocks::<L>(first)
        }
    }

    /// Writes lane-major `v[k][j]` in element order `out[4 * j + k]` (a 4 x 16 transpose).
    /// A pure data movement, so every level gives the same result.
    #[inline(always)]
    fn interleave16(v: &[[f32; 16]; 4], out: &mut [f32]) {
        let out = &mut out[..64];
        for j in 0..16 {
            for k in 0..4 {
                out[4 * j + k] = v[k][j];
            }
        }
    }
}

/// The software AES, compiled for whatever the caller's target features are.
pub struct Portable;

impl Isa for Portable {
    type Row = Pack<f32, 16>;
    type Row64 = f64;
    #[inline(always)]
    fn blocks16(rng: &AesCtr, first: u64) -> [[u32; 16]; 4] {
        rng.blocks::<16>(first)
    }
}

#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;
    use crate::rng::aes_ctr::x86::{blocks16_aesni, blocks16_vaes};
    use crate::simd::vector::{F16, F8};
    use crate::simd::vector64::F64x4;
    use std::arch::x86_64::*;

    /// AVX2 with AES-NI: two batches of 8 blocks. Only call from code compiled with
    /// `avx2,aes`.
    pub struct Avx2;

    impl Isa for Avx2 {
        type Row = Pack<F8, 2>;
        type Row64 = Pack<F64x4, 2>;
        #[inline(always)]
        fn blocks16(rng: &AesCtr, first: u64) -> [[u32; 16]; 4] {
            // SAFETY: only instantiated inside functions compiled with avx2 and aes
            // (simd::dispatch).
            unsafe { blocks16_aesni(rng, first) }
        }

        #[inline(always)]
        fn interleave16(v: &[[f32; 16]; 4], out: &mut [f32]) {
            let out = &mut out[..64];
            // SAFETY: only instantiated inside functions compiled with avx2; `out` has 64
            // elements and every load/store below stays within `v` and `out`.
            unsafe {
                for h in 0..2 {
                    let ld = |k: usize| _mm256_loadu_ps(v[k][8 * h..].as_ptr());
                    let (v0, v1, v2, v3) = (ld(0), ld(1), ld(2), ld(3));
                    let t0 = _mm256_unpacklo_ps(v0, v1);
                    let t1 = _mm256_unpackhi_ps(v0, v1);
                    let t2 = _mm256_unpacklo_ps(v2, v3);
                    let t3 = _mm256_unpackhi_ps(v2, v3);
                    // s_b holds the four words of blocks b (low 128 bits) and b + 4 (high).
                    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
                    let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
                    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
                    let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
                    let o = out[32 * h..].as_mut_ptr();
                    _mm256_storeu_ps(o, _mm256_permute2f128_ps::<0x20>(s0, s1));
                    _mm256_storeu_ps(o.add(8), _mm256_permute2f128_ps::<0x20>(s2, s3));
                    _mm256_storeu_ps(o.add(16), _mm256_permute2f128_ps::<0x31>(s0, s1));
                    _mm256_storeu_ps(o.add(24), _mm256_permute2f128_ps::<0x31>(s2, s3));
                }
            }
        }
    }

    /// AVX-512 with VAES: one batch of 16 blocks. Only call from code compiled with
    /// `avx512f,vaes`.
    pub struct Avx512;

    impl Isa for Avx512 {
        type Row = Pack<F16, 1>;
        // AVX-512 machines run the four-lane AVX2 float64 math (the float64 normal stream only).
        type Row64 = Pack<F64x4, 2>;
        #[inline(always)]
        fn blocks16(rng: &AesCtr, first: u64) -> [[u32; 16]; 4] {
            // SAFETY: only instantiated inside functions compiled with avx512f and vaes
            // (simd::dispatch).
            unsafe { blocks16_vaes(rng, first) }
        }

        /// The 4 x 16 transpose in zmm registers: an in-lane 4 x 4 transpose of the four
        /// rows, then a 4 x 4 transpose of their 128-bit lanes (the default lane loop went
        /// through the stack and cost more than the sampling of a uniform).
        #[inline(always)]
        fn interleave16(v: &[[f32; 16]; 4], out: &mut [f32]) {
            let out = &mut out[..64];
            // SAFETY: only instantiated inside functions compiled with avx512f; `out` has 64
            // elements and every load/store below stays within `v` and `out`.
            unsafe {
                let ld = |k: usize| _mm512_loadu_ps(v[k].as_ptr());
                let (r0, r1, r2, r3) = (ld(0), ld(1), ld(2), ld(3));
                let t0 = _mm512_unpacklo_ps(r0, r1);
                let t1 = _mm512_unpackhi_ps(r0, r1);
                let t2 = _mm512_unpacklo_ps(r2, r3);
                let t3 = _mm512_unpackhi_ps(r2, r3);
                // o_m, lane L: the four words of block 4L + m.
                let o0 = _mm512_shuffle_ps::<0x44>(t0, t2);
                let o1 = _mm512_shuffle_ps::<0xEE>(t0, t2);
                let o2 = _mm512_shuffle_ps::<0x44>(t1, t3);
                let o3 = _mm512_shuffle_ps::<0xEE>(t1, t3);
                let a = _mm512_shuffle_f32x4::<0x44>(o0, o1);
                let b = _mm512_shuffle_f32x4::<0xEE>(o0, o1);
                let c = _mm512_shuffle_f32x4::<0x44>(o2, o3);
                let d = _mm512_shuffle_f32x4::<0xEE>(o2, o3);
                let o = out.as_mut_ptr();
                _mm512_storeu_ps(o, _mm512_shuffle_f32x4::<0x88>(a, c));
                _mm512_storeu_ps(o.add(16), _mm512_shuffle_f32x4::<0xDD>(a, c));
                _mm512_storeu_ps(o.add(32), _mm512_shuffle_f32x4::<0x88>(b, d));
                _mm512_storeu_ps(o.add(48), _mm512_shuffle_f32x4::<0xDD>(b, d));
            }
        }
    }
}
