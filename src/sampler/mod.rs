//! The samplers: one distribution per file, each a [`BlockKernel`] from Philox blocks to values.
//!
//! Invariant: the value at logical index `i` of a call depends only on the Philox block
//! `base + i / per_block` (and the word `i % per_block` in it) and the parameters, so any
//! range of indices can be produced by itself: the parallel driver and shards rely on it.

pub mod normal;
pub mod trunc_normal;
pub mod uniform;

use crate::element::{clamp, interval, DType, Element};
use crate::error::Result;
use crate::philox::{Isa, Philox4x32};
use crate::vector::{Row16, Vf};
use half::{bf16, f16};

/// Turns `L` consecutive Philox blocks into `PER_BLOCK * L` values.
pub trait BlockKernel<T>: Sync {
    const PER_BLOCK: usize;
    /// `out.len() == Self::PER_BLOCK * L`; `block` is the absolute block position.
    /// `I` supplies the Philox rounds for the caller's instruction set.
    fn batch<const L: usize, I: Isa>(&self, rng: &Philox4x32, block: u64, out: &mut [T]);
}

/// Writes the values at logical indices `first..first + out.len()` of a call whose first
/// block is `base`. Partial blocks at either end are made in a small buffer and copied.
#[inline(always)]
pub fn fill_range<T: Copy + Default, K: BlockKernel<T>, const L: usize, I: Isa>(
    k: &K,
    rng: &Philox4x32,
    base: u64,
    first: u64,
    out: &mut [T],
) {
    let pb = K::PER_BLOCK;
    let n = out.len();
    let mut pos = 0usize;
    let mut idx = first;
    let mut tmp = [T::default(); 4];
    let block_of = |idx: u64| base.wrapping_add(idx / pb as u64);
    let head = (idx % pb as u64) as usize;
    if head != 0 && n > 0 {
        k.batch::<1, I>(rng, block_of(idx), &mut tmp[..pb]);
        let take = (pb - head).min(n);
        out[..take].copy_from_slice(&tmp[head..head + take]);
        pos += take;
        idx += take as u64;
    }
    let chunk = pb * L;
    while n - pos >= chunk {
        k.batch::<L, I>(rng, block_of(idx), &mut out[pos..pos + chunk]);
        pos += chunk;
        idx += chunk as u64;
    }
    while n - pos >= pb {
        k.batch::<1, I>(rng, block_of(idx), &mut out[pos..pos + pb]);
        pos += pb;
        idx += pb as u64;
    }
    if pos < n {
        k.batch::<1, I>(rng, block_of(idx), &mut tmp[..pb]);
        out[pos..].copy_from_slice(&tmp[..n - pos]);
    }
}

/// A distribution ready to sample one dtype: its float32-stream and float64-stream kernels.
pub trait Distribution: Sync {
    type K32: BlockKernel<f32>;
    type K64: BlockKernel<f64>;
    /// The closed interval every value lies in (after rounding to the dtype).
    fn support(&self) -> (f64, f64);
    fn kernel32(&self, bounds: (f32, f32)) -> Self::K32;
    fn kernel64(&self, bounds: (f64, f64)) -> Self::K64;
}

/// A distribution bound to a generator position and a dtype: writes any index range.
pub struct Sampler<D: Distribution> {
    rng: Philox4x32,
    base: u64,
    k32: D::K32,
    k64: D::K64,
    b16: (f16, f16),
    bb16: (bf16, bf16),
}

impl<D: Distribution> Sampler<D> {
    /// Validates that the dtype has values inside the support (the only check that depends
    /// on the dtype), so a call fails before it writes.
    pub fn new(dist: &D, dtype: DType, rng: Philox4x32, base: u64) -> Result<Self> {
        let (lo, hi) = dist.support();
        // Only the dtype's own interval must be non-empty (a subnormal float64 window has no
        // float32 value); the other stream gets its widest bounds and is never used.
        let b32 = match dtype {
            DType::F64 => (-f32::MAX, f32::MAX),
            _ => interval::<f32>(lo, hi)?,
        };
        let b64 = match dtype {
            DType::F64 => interval::<f64>(lo, hi)?,
            _ => (-f64::MAX, f64::MAX),
        };
        let b16 = match dtype {
            DType::F16 => interval::<f16>(lo, hi)?,
            _ => (f16::MIN, f16::MAX),
        };
        let bb16 = match dtype {
            DType::BF16 => interval::<bf16>(lo, hi)?,
            _ => (bf16::MIN, bf16::MAX),
        };
        Ok(Sampler {
            rng,
            base,
            k32: dist.kernel32(b32),
            k64: dist.kernel64(b64),
            b16,
            bb16,
        })
    }

    /// Values at logical indices `first..first + out.len()`.
    pub fn fill<T: Element>(&self, first: u64, out: &mut [T], scratch: &mut Vec<f32>) {
        // The dtype is known statically; these casts are identity reinterpretations.
        match T::DTYPE {
            DType::F32 => {
                let out = cast_slice_mut::<T, f32>(out);
                crate::simd::run_kernel(&self.k32, &self.rng, self.base, first, out);
            }
            DType::F64 => {
                let out = cast_slice_mut::<T, f64>(out);
                crate::simd::run_kernel(&self.k64, &self.rng, self.base, first, out);
            }
            DType::F16 => {
                let out = cast_slice_mut::<T, f16>(out);
                scratch.resize(out.len(), 0.0);
                crate::simd::run_kernel(&self.k32, &self.rng, self.base, first, scratch);
                round_to_f16(scratch, out, self.b16);
            }
            DType::BF16 => {
                let out = cast_slice_mut::<T, bf16>(out);
                scratch.resize(out.len(), 0.0);
                crate::simd::run_kernel(&self.k32, &self.rng, self.base, first, scratch);
                round_to_bf16(scratch, out, self.bb16);
            }
        }
    }
}

/// float32 to float16, rounded to nearest even, then into `[lo, hi]`: `half`'s conversion on
/// the scalar and portable levels, F16C's `vcvtps2ph` (the same IEEE rounding, so the same
/// bits) on x86 SIMD levels, where it is about six times faster.
fn round_to_f16(src: &[f32], dst: &mut [f16], (lo, hi): (f16, f16)) {
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
fn round_to_bf16(src: &[f32], dst: &mut [bf16], (lo, hi): (bf16, bf16)) {
    let (lo, hi) = (lo.to_f32(), hi.to_f32());
    for (o, &v) in dst.iter_mut().zip(src) {
        let b = v.to_bits();
        let r = b.wrapping_add(0x7fff + ((b >> 16) & 1)) & 0xffff_0000;
        let x = clamp(f32::from_bits(r), lo, hi);
        *o = bf16::from_bits((x.to_bits() >> 16) as u16);
    }
}

/// Reinterprets `&mut [T]` as `&mut [U]` when `T` and `U` are the same type.
fn cast_slice_mut<T: 'static, U: 'static>(s: &mut [T]) -> &mut [U] {
    assert_eq!(std::any::TypeId::of::<T>(), std::any::TypeId::of::<U>());
    // SAFETY: T and U are the same type (checked above).
    unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut U, s.len()) }
}

/// Writes lane-major values `v[k][j]` in element order `out[4 * j + k]` (the element order of
/// a block's four words). Kernels compute lane-major so every lane loop vectorizes cleanly;
/// the 16-lane float32 case uses the instruction set's shuffles (the compiler's own version
/// of this transpose goes through the stack).
#[inline(always)]
pub(crate) fn interleave4<T: Copy + 'static, const L: usize, I: Isa>(
    v: &[[T; L]; 4],
    out: &mut [T],
) {
    if L == 16 && std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() {
        // SAFETY: T is f32 and L is 16, so these are the same types.
        let v16 = unsafe { &*(v as *const [[T; L]; 4] as *const [[f32; 16]; 4]) };
        let o = cast_slice_mut::<T, f32>(out);
        return I::interleave16(v16, o);
    }
    let out = &mut out[..4 * L];
    for j in 0..L {
        for k in 0..4 {
            out[4 * j + k] = v[k][j];
        }
    }
}

/// A float32 kernel written once over any vector type: the four values of a block's four
/// words (each output lane depends only on the same lane of the inputs).
pub(crate) trait Words4 {
    fn values<V: Vf>(&self, w: [V::U; 4]) -> [V; 4];
}

/// Runs a [`Words4`] kernel over `L` blocks and writes the values in element order: with the
/// instruction set's 16-lane rows when `L == 16`, lane by lane (as `f32`) otherwise. Both
/// compile the same operations, so they give the same bits.
#[inline(always)]
pub(crate) fn words4<K: Words4, const L: usize, I: Isa>(k: &K, w: &[[u32; L]; 4], out: &mut [f32]) {
    if L == 16 {
        // SAFETY: L == 16, so the two array types are the same type.
        let w16 = unsafe { &*(w as *const [[u32; L]; 4] as *const [[u32; 16]; 4]) };
        let v = k.values::<I::Row>(std::array::from_fn(|r| I::Row::load_u32(&w16[r])));
        let mut rows = [[0f32; 16]; 4];
        for (r, v) in rows.iter_mut().zip(v) {
            v.store(r);
        }
        I::interleave16(&rows, out);
    } else {
        for j in 0..L {
            let v = k.values::<f32>([w[0][j], w[1][j], w[2][j], w[3][j]]);
            out[4 * j..4 * j + 4].copy_from_slice(&v);
        }
    }
}

/// Uniform in [0, 1) from the top 24 bits of a word, in float32 (exact: a signed 24-bit
/// integer converts exactly, and the scale is a power of two).
#[inline(always)]
pub(crate) fn unit_f32(w: u32) -> f32 {
    (w >> 8) as i32 as f32 * (1.0 / 16_777_216.0)
}

/// Uniform in [0, 1) from 53 bits of two words: `(hi 2^21 + (lo >> 11)) 2^-53`.
///
/// Every step is exact, so this is the same value as converting the 53-bit integer at once;
/// but AVX2 has no u64 -> f64 conversion (the compiler went lane by lane), while a u32 becomes
/// an f64 by OR-ing it into the mantissa of 2^52 and subtracting 2^52, which vectorizes.
#[inline(always)]
pub(crate) fn unit_f64_53(hi: u32, lo: u32) -> f64 {
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let exact = |x: u32| f64::from_bits(0x4330_0000_0000_0000 | x as u64) - TWO52;
    (exact(hi) * 2_097_152.0 + exact(lo >> 11)) * (1.0 / 9_007_199_254_740_992.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_f64_53_is_the_53_bit_integer_scaled() {
        let words = [
            0u32,
            1,
            2047,
            2048,
            0x8000_0000,
            0xffff_f800,
            0xffff_ffff,
            0x1234_5678,
        ];
        for &hi in &words {
            for &lo in &words {
                let want = (((hi as u64) << 21) | ((lo as u64) >> 11)) as f64 / 2f64.powi(53);
                assert_eq!(
                    unit_f64_53(hi, lo).to_bits(),
                    want.to_bits(),
                    "{hi:#x} {lo:#x}"
                );
            }
        }
    }

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
