//! Normal `N(mean, std^2)` by Box-Muller: every pair of values consumes exactly two uniforms
//! (no rejection loop), so the value at an index is a fixed function of one counter block.
//!
//! float32 stream: block words (w0, w1) give values 0 and 1, (w2, w3) give values 2 and 3;
//! radius `sqrt(-2 ln u)` with `u = (w >> 1) 2^-31 + 2^-32` (|z| up to 6.66), angle `2 pi w / 2^32`.
//! float64 stream: the block's two 53-bit uniforms give values 0 and 1.

use super::{unit_f64_53, words4, BlockKernel, Distribution, Words4};
use crate::buffer::element::clamp;
use crate::error::{check_finite, py_float, Error, Result};
use crate::rng::aes_ctr::AesCtr;
use crate::simd::isa::Isa;
use crate::simd::libm_lanes::{log_positive_normal, SinCos};
use crate::simd::math::{cos_sin_turns, ln};
use crate::simd::vector::{self, Pack, Vf, Vu};
use crate::simd::vector64::{map_lanes, LaneFn, Vd};

#[derive(Clone, Copy, Debug)]
pub struct Normal {
    mean: f64,
    std: f64,
}

impl Normal {
    pub fn new(mean: f64, std: f64) -> Result<Self> {
        check_finite("mean", mean)?;
        if std.is_nan() || std < 0.0 {
            // torch's type and wording.
            return Err(Error::Runtime(format!(
                "normal expects std >= 0.0, but found std {}",
                py_float(std)
            )));
        }
        check_finite("std", std)?;
        Ok(Normal { mean, std })
    }
}

pub struct NormalKernel<T> {
    mean: T,
    std: T,
    lo: T,
    hi: T,
}

/// Box-Muller radii `sqrt(-2 ln u)` of 32-bit words.
#[inline(always)]
fn radius<V: Vf>(w: V::U) -> V {
    // A non-negative i32 converts with one instruction on every SIMD level (u32 does not).
    let u = w.shr::<1>().i32_to_f32() * V::splat(1.0 / 2_147_483_648.0)
        + V::splat(1.0 / 4_294_967_296.0);
    (V::splat(-2.0) * ln(u)).sqrt()
}

impl Words4 for NormalKernel<f32> {
    #[inline(always)]
    fn values<V: Vf>(&self, [w0, w1, w2, w3]: [V::U; 4]) -> [V; 4] {
        // Both pairs at once (a Pack of two), so the two chains of dependent operations overlap.
        let Pack([r0, r1]) = radius::<Pack<V, 2>>(Pack([w0, w2]));
        let (Pack([c0, c1]), Pack([s0, s1])) = cos_sin_turns::<Pack<V, 2>>(Pack([w1, w3]));
        // Spelled out, not `array::map` with a closure: shared by normal_ and the wide
        // trunc_normal_ window, the closure was compiled once outside the level's target
        // features and normal_ ran at a quarter of its speed.
        [
            self.place(r0 * c0),
            self.place(r0 * s0),
            self.place(r1 * c1),
            self.place(r1 * s1),
        ]
    }
}

impl NormalKernel<f32> {
    /// `mean + std z`, clamped to the finite range (it may overflow for huge std).
    #[inline(always)]
    fn place<V: Vf>(&self, z: V) -> V {
        vector::clamp(
            V::splat(self.mean) + V::splat(self.std) * z,
            V::splat(self.lo),
            V::splat(self.hi),
        )
    }
}

impl BlockKernel<f32> for NormalKernel<f32> {
    const PER_BLOCK: usize = 4;
    #[inline(always)]
    fn batch<const L: usize, I: Isa>(&self, rng: &AesCtr, block: u64, out: &mut [f32]) {
        words4::<_, L, I>(self, &I::blocks::<L>(rng, block), out);
    }
}

impl BlockKernel<f64> for NormalKernel<f64> {
    const PER_BLOCK: usize = 2;
    #[inline(always)]
    fn batch<const L: usize, I: Isa>(&self, rng: &AesCtr, block: u64, out: &mut [f64]) {
        let w = I::blocks::<L>(rng, block);
        let (mut u1, mut angle) = ([0f64; L], [0f64; L]);
        for j in 0..L {
            u1[j] = unit_f64_53(w[0][j], w[1][j]) + 0.5 / 9_007_199_254_740_992.0;
            angle[j] = 2.0 * std::f64::consts::PI * unit_f64_53(w[2][j], w[3][j]);
        }
        let [r] = map_lanes::<I::Row64, _, L, 1>(&Radius, &u1);
        let [mut sin, mut cos, rare] = map_lanes::<I::Row64, _, L, 3>(&SinCos, &angle);
        // About one lane in 10^5 needs libm's careful argument reduction.
        for j in 0..L {
            if rare[j].to_bits() != 0 {
                (sin[j], cos[j]) = libm::sincos(angle[j]);
            }
        }
        for j in 0..L {
            out[2 * j] = clamp(self.mean + self.std * (r[j] * cos[j]), self.lo, self.hi);
            out[2 * j + 1] = clamp(self.mean + self.std * (r[j] * sin[j]), self.lo, self.hi);
        }
    }
}

/// Box-Muller's radius `sqrt(-2 log u1)`, as libm computes it (u1 >= 2^-54 is normal).
struct Radius;

impl LaneFn<1> for Radius {
    #[inline(always)]
    fn lanes<V: Vd>(&self, u1: V) -> [V; 1] {
        [(V::splat(-2.0) * log_positive_normal(u1)).sqrt()]
    }
}

impl NormalKernel<f32> {
    /// The float32 kernel of `N(mean, std^2)` clamped to `[lo, hi]` (for windows of
    /// `trunc_normal_` wider than this sampler's reach, [`MAX_ABS_Z32`]).
    pub(crate) fn new_f32(mean: f32, std: f32, lo: f32, hi: f32) -> Self {
        NormalKernel { mean, std, lo, hi }
    }
}

/// The largest `|z|` the float32 stream's Box-Muller can return: the radius of the smallest
/// uniform, `u = 2^-32`, is `sqrt(64 ln 2) = 6.6604`, and `|cos|, |sin| <= 1`
/// (`largest_radius_is_the_reach` checks the radius as computed by `ln`).
pub(crate) const MAX_ABS_Z32: f64 = 6.6605;

impl Distribution for Normal {
    type K32 = NormalKernel<f32>;
    type K64 = NormalKernel<f64>;
    fn support(&self) -> (f64, f64) {
        (f64::NEG_INFINITY, f64::INFINITY)
    }
    fn kernel32(&self, (lo, hi): (f32, f32)) -> Self::K32 {
        // Huge parameters saturate at f32::MAX (values clamp there anyway): never inf - inf.
        NormalKernel {
            mean: self.mean.clamp(-(f32::MAX as f64), f32::MAX as f64) as f32,
            std: self.std.min(f32::MAX as f64) as f32,
            lo,
            hi,
        }
    }
    fn kernel64(&self, (lo, hi): (f64, f64)) -> Self::K64 {
        NormalKernel {
            mean: self.mean,
            std: self.std,
            lo,
            hi,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampler::fill_range;

    #[test]
    fn moments_f32() {
        let d = Normal::new(0.0, 1.0).unwrap();
        let k = d.kernel32((-f32::MAX, f32::MAX));
        let rng = AesCtr::new(7, 0);
        let mut v = vec![0f32; 1 << 20];
        fill_range::<f32, _, 16, crate::simd::isa::Portable>(&k, &rng, 0, 0, &mut v);
        let n = v.len() as f64;
        let m = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / n;
        assert!(m.abs() < 5e-3 && (var - 1.0).abs() < 5e-3, "{m} {var}");
    }

    #[test]
    fn largest_radius_is_the_reach() {
        // The radius falls as the word grows; the smallest words give the largest radii.
        let r0 = radius::<f32>(0) as f64;
        assert!(
            (r0 - (64.0 * std::f64::consts::LN_2).sqrt()).abs() < 1e-5,
            "{r0}"
        );
        assert!(r0 <= MAX_ABS_Z32, "{r0}");
        for w in 0..1 << 16 {
            assert!(radius::<f32>(w) as f64 <= r0, "{w}");
        }
    }

    #[test]
    fn any_range_matches_the_whole() {
        let d = Normal::new(1.0, 2.0).unwrap();
        let k = d.kernel32((-f32::MAX, f32::MAX));
        let rng = AesCtr::new(99, 0);
        let mut whole = vec![0f32; 1000];
        fill_range::<f32, _, 16, crate::simd::isa::Portable>(&k, &rng, 5, 0, &mut whole);
        for (s, e) in [(0, 1), (3, 70), (1, 999), (64, 65), (7, 1000)] {
            let mut part = vec![0f32; e - s];
            fill_range::<f32, _, 1, crate::simd::isa::Portable>(&k, &rng, 5, s as u64, &mut part);
            assert_eq!(&whole[s..e], &part[..], "{s}..{e}");
        }
    }
}
