//! The dtype writers: the float32 stream rounded to float16 and bfloat16 (nearest even),
//! then into the dtype's interval of the support.
//!
//! Invariant: the same bits on every SIMD level (F16C's conversion is IEEE rounding, as
//! `half`'s is).

use crate::buffer::element::clamp;
use half::{bf16, f16};

/// float32 to float16, rounded to nearest even, then into `[lo, hi]`: `half`'s conversion on
/// the scalar and portable levels, F16C's `vcvtps2ph` (the same IEEE rounding, so the same
/// bits) on x86 SIMD levels, where it is about six times faster.
pub(crate) fn round_to_f16(src: &[f32], dst: &mut [f16], (lo, hi): (f16, f16)) {
    #[cfg(target_arch = "x86_64")]
    if matches!(
        crate::simd::level(),
        crate::simd::Level::Avx2 | crate::simd::Level::Avx512
    ) {
        // SAFETY: level() reports these only after detecting F16C and AVX2.
        return unsafe { f16c::round_to_f16(src, dst, lo.to_f32(), hi.to_f32()) };
    }
    for (o, &v) in dst.iter_mut().zip(src) {
        *o = clamp(f16::from_f32(v), lo, hi);
    }
}

#[cfg(target_arch = "x86_64")]
mod f16c {
    use std::arch::x86_64::*;

    /// Eight at a time: round to float16, widen back (exact), clamp in float32 (the bounds are
    /// float16 values, so exact too), narrow again (exact). Overflow rounds to +-inf and
    /// clamps to the bound, as `clamp(f16::from_f32(v), lo, hi)` does; samplers make no NaN.
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn round_to_f16(src: &[f32], dst: &mut [half::f16], lo: f32, hi: f32) {
        let n = src.len().min(dst.len());
        let (vlo, vhi) = (_mm256_set1_ps(lo), _mm256_set1_ps(hi));
        let round = |v: __m256| {
            let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
            let c = _mm256_min_ps(vhi, _mm256_max_ps(vlo, _mm256_cvtph_ps(h)));
            _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(c)
        };
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n, within both slices.
            unsafe {
                let h = round(_mm256_loadu_ps(src.as_ptr().add(i)));
                _mm_storeu_si128(dst.as_mut_ptr().add(i) as *mut __m128i, h);
            }
            i += 8;
        }
        if i < n {
            let mut tail = [0f32; 8];
            tail[..n - i].copy_from_slice(&src[i..n]);
            let mut out = [0u16; 8];
            // SAFETY: loads and stores within the two local arrays of eight.
            unsafe {
                let h = round(_mm256_loadu_ps(tail.as_ptr()));
                _mm_storeu_si128(out.as_mut_ptr() as *mut __m128i, h);
            }
            for (o, &b) in dst[i..n].iter_mut().zip(&out) {
                *o = half::f16::from_bits(b);
            }
        }
    }
}

/// float32 to bfloat16, round to nearest even, then into `[lo, hi]`: integer bit operations
/// (the same as `bf16::from_f32` for the non-NaN values samplers produce) that vectorize.
pub(crate) fn round_to_bf16(src: &[f32], dst: &mut [bf16], (lo, hi): (bf16, bf16)) {
    let (lo, hi) = (lo.to_f32(), hi.to_f32());
    #[cfg(target_arch = "x86_64")]
    if matches!(
        crate::simd::level(),
        crate::simd::Level::Avx2 | crate::simd::Level::Avx512
    ) {
        // SAFETY: level() reports these only after detecting AVX2.
        return unsafe { bf16_avx2(src, dst, lo, hi) };
    }
    bf16_lanes(src, dst, lo, hi)
}

/// [`bf16_lanes`] compiled for AVX2 (8 lanes instead of SSE2's 4): the same integer and
/// min/max operations, so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn bf16_avx2(src: &[f32], dst: &mut [bf16], lo: f32, hi: f32) {
    bf16_lanes(src, dst, lo, hi)
}

#[inline(always)]
fn bf16_lanes(src: &[f32], dst: &mut [bf16], lo: f32, hi: f32) {
    for (o, &v) in dst.iter_mut().zip(src) {
        let b = v.to_bits();
        let r = b.wrapping_add(0x7fff + ((b >> 16) & 1)) & 0xffff_0000;
        let x = clamp(f32::from_bits(r), lo, hi);
        *o = bf16::from_bits((x.to_bits() >> 16) as u16);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_rounding_matches_half() {
        // Every exponent, odd lengths (the tail), near-ties, subnormals, overflow, signed zeros.
        let mut src: Vec<f32> = (0..200_003u32)
            .map(|i| f32::from_bits(i.wrapping_mul(2_654_435_761) & 0x7f7f_ffff))
            .map(|v| if v.to_bits() % 3 == 0 { -v } else { v })
            .collect();
        src.extend([
            0.0,
            -0.0,
            65504.0,
            65519.99,
            65520.0,
            -70000.0,
            5.9604645e-8,
            2.9802322e-8,
        ]);
        for (lo, hi) in [
            (f16::MIN, f16::MAX),
            (f16::from_f32(-2.0), f16::from_f32(0.5)),
        ] {
            let mut dst = vec![f16::ZERO; src.len()];
            round_to_f16(&src, &mut dst, (lo, hi));
            for (&v, &d) in src.iter().zip(&dst) {
                let want = clamp(f16::from_f32(v), lo, hi);
                assert_eq!(d.to_bits(), want.to_bits(), "{v}");
            }
        }
    }

    #[test]
    fn bf16_rounding_matches_half() {
        let src: Vec<f32> = (0..100_000u32)
            .map(|i| {
                f32::from_bits(i.wrapping_mul(2_654_435_761) & 0x7f7f_ffff)
                    * if i % 2 == 0 { 1.0 } else { -1.0 }
            })
            .collect();
        let mut dst = vec![bf16::ZERO; src.len()];
        round_to_bf16(&src, &mut dst, (bf16::MIN, bf16::MAX));
        for (&v, &d) in src.iter().zip(&dst) {
            let want = clamp(bf16::from_f32(v), bf16::MIN, bf16::MAX);
            assert_eq!(d.to_bits(), want.to_bits(), "{v}");
        }
    }
}
