//! Runtime CPU dispatch.
//!
//! Every kernel is written once, as plain lane loops over `[T; L]` arrays with IEEE-exact
//! operations only (add, mul, div, sqrt, conversions, integer ops; never a fused multiply-add
//! the compiler chose by itself). [`run_kernel`] compiles that one source several times with
//! different target features and picks one at run time. Because the arithmetic is exact and
//! identical in every copy, every path yields the same bits: the SIMD level is a speed choice,
//! never a value choice. `FERROINIT_FORCE_SCALAR=1` selects the one-lane path, for tests.

use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// One lane at a time, no target features: the reference path.
    Scalar,
    /// The baseline target (SSE2 on x86-64, NEON on aarch64), 16 lanes per batch.
    Portable,
    /// x86-64 AVX2 + FMA + BMI2 + F16C.
    Avx2,
    /// x86-64 AVX-512 (F, BW, DQ, VL).
    Avx512,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

fn detect() -> Level {
    if std::env::var("FERROINIT_FORCE_SCALAR").is_ok_and(|v| !v.is_empty() && v != "0") {
        return Level::Scalar;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let no512 = std::env::var("FERROINIT_NO_AVX512").is_ok_and(|v| !v.is_empty() && v != "0");
        if !no512
            && is_x86_feature_detected!("f16c")
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
        {
            return Level::Avx512;
        }
        // F16C (float16 conversions) came before AVX2 on every x86 CPU; checked anyway.
        if is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("bmi2")
            && is_x86_feature_detected!("f16c")
        {
            return Level::Avx2;
        }
    }
    Level::Portable
}

/// The dispatch level, read once per process.
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(detect)
}

use crate::dist::{fill_range, BlockKernel};
use crate::philox::{Philox4x32, Portable};

/// Runs `fill_range` with the kernel compiled for the detected [`Level`]. Generic functions
/// with `#[target_feature]` are monomorphized per kernel, and the `#[inline(always)]` kernel
/// bodies are compiled inside them, so one source gives every SIMD width.
pub fn run_kernel<T: Copy + Default, K: BlockKernel<T>>(
    k: &K,
    rng: &Philox4x32,
    base: u64,
    first: u64,
    out: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi2")]
        unsafe fn v512<T: Copy + Default, K: BlockKernel<T>>(
            k: &K,
            rng: &Philox4x32,
            base: u64,
            first: u64,
            out: &mut [T],
        ) {
            fill_range::<T, K, 16, crate::philox::Avx512>(k, rng, base, first, out)
        }
        #[target_feature(enable = "avx2,fma,bmi2")]
        unsafe fn v256<T: Copy + Default, K: BlockKernel<T>>(
            k: &K,
            rng: &Philox4x32,
            base: u64,
            first: u64,
            out: &mut [T],
        ) {
            fill_range::<T, K, 16, crate::philox::Avx2>(k, rng, base, first, out)
        }
        match level() {
            // SAFETY: level() reports these only after detecting the CPU features.
            Level::Avx512 => return unsafe { v512(k, rng, base, first, out) },
            Level::Avx2 => return unsafe { v256(k, rng, base, first, out) },
            _ => {}
        }
    }
    match level() {
        Level::Scalar => fill_range::<T, K, 1, Portable>(k, rng, base, first, out),
        _ => fill_range::<T, K, 16, Portable>(k, rng, base, first, out),
    }
}

/// float32 to float16, rounded to nearest even, then into `[lo, hi]`: `half`'s conversion on
/// the scalar and portable levels, F16C's `vcvtps2ph` (the same IEEE rounding, so the same
/// bits) on x86 SIMD levels, where it is about six times faster.
pub fn round_to_f16(src: &[f32], dst: &mut [half::f16], (lo, hi): (half::f16, half::f16)) {
    #[cfg(target_arch = "x86_64")]
    if matches!(level(), Level::Avx2 | Level::Avx512) {
        // SAFETY: level() reports these only after detecting F16C and AVX2.
        return unsafe { f16c::round_to_f16(src, dst, lo.to_f32(), hi.to_f32()) };
    }
    for (o, &v) in dst.iter_mut().zip(src) {
        *o = crate::element::clamp(half::f16::from_f32(v), lo, hi);
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

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

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
                let want = crate::element::clamp(f16::from_f32(v), lo, hi);
                assert_eq!(d.to_bits(), want.to_bits(), "{v}");
            }
        }
    }
}
