//! The machinery every sampler shares: a [`BlockKernel`] turns counter blocks into values,
//! [`fill_range`] writes any index range with one, and [`run_kernel`] runs it on the detected
//! SIMD level (through [`crate::simd::dispatch`], which this layer implements a
//! [`Kernel`] for).
//!
//! Invariant: the value at logical index `i` depends only on block `base + i / PER_BLOCK`
//! (and the word `i % PER_BLOCK` in it), so any range of indices can be produced by itself.

use crate::rng::aes_ctr::AesCtr;
use crate::simd::isa::Isa;
use crate::simd::vector::{Row16, Vf};
use crate::simd::Kernel;

/// Turns `L` consecutive counter blocks into `PER_BLOCK * L` values.
pub trait BlockKernel<T>: Sync {
    const PER_BLOCK: usize;
    /// `out.len() == Self::PER_BLOCK * L`; `block` is the absolute block position.
    /// `I` supplies the AES block function for the caller's instruction set.
    fn batch<const L: usize, I: Isa>(&self, rng: &AesCtr, block: u64, out: &mut [T]);
}

/// Writes the values at logical indices `first..first + out.len()` of a call whose first
/// block is `base`. Partial blocks at either end are made in a small buffer and copied.
#[inline(always)]
pub fn fill_range<T: Copy + Default, K: BlockKernel<T>, const L: usize, I: Isa>(
    k: &K,
    rng: &AesCtr,
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

/// One [`fill_range`] call, as the work the SIMD dispatcher compiles per level.
struct FillRange<'a, T, K> {
    k: &'a K,
    rng: &'a AesCtr,
    base: u64,
    first: u64,
    out: &'a mut [T],
}

impl<T: Copy + Default, K: BlockKernel<T>> Kernel for FillRange<'_, T, K> {
    #[inline(always)]
    fn run<const L: usize, I: Isa>(self) {
        fill_range::<T, K, L, I>(self.k, self.rng, self.base, self.first, self.out)
    }
}

/// Runs [`fill_range`] with the kernel compiled for the detected SIMD level.
pub fn run_kernel<T: Copy + Default, K: BlockKernel<T>>(
    k: &K,
    rng: &AesCtr,
    base: u64,
    first: u64,
    out: &mut [T],
) {
    crate::simd::dispatch(FillRange {
        k,
        rng,
        base,
        first,
        out,
    })
}

/// Reinterprets `&mut [T]` as `&mut [U]` when `T` and `U` are the same type.
pub(crate) fn cast_slice_mut<T: 'static, U: 'static>(s: &mut [T]) -> &mut [U] {
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
}
