//! Normal truncated to `[a, b]`, by the inverse CDF: `z = ppf(cdf(alpha) + u (cdf(beta) - cdf(alpha)))`
//! in float64, one uniform per value (no rejection), then rounded into `[a, b]`.
//!
//! A window in the upper tail is reflected to the lower tail, where `cdf` keeps full relative
//! precision (erfc), so deep tails (`a = mean + 5 std, b = mean + 6 std`) stay exact.
//!
//! The float32 stream of a central window (`|alpha|, |beta| <= 2.9`, which includes the default
//! `[-2 std, 2 std]`) uses a float32 `erfinv` instead (relative error < 4e-7, below float32's
//! own resolution after rounding): there float32 loses nothing, and it vectorizes.
//!
//! The float32 stream of a window that contains `[-WIDE_LIMIT std, WIDE_LIMIT std]` around the
//! mean (6.67 std, e.g. the transformer init `std=0.02, a=-2, b=2`, a window of +-100 std) is
//! the float32 normal sampler clamped to `[a, b]`: that sampler never goes beyond 6.6605 std
//! ([`super::normal::MAX_ABS_Z32`]), so inside such a window truncation removes nothing it
//! could produce (the normal law's mass beyond 6.67 std is 2.6e-11), and the clamp only keeps
//! rounding inside `[a, b]`. Which path a call takes depends only on its parameters.

use super::normal::{NormalKernel, MAX_ABS_Z32};
use super::{interleave4, unit_f64_53, words4, BlockKernel, Distribution, Words4};
use crate::buffer::element::clamp;
use crate::error::{check_finite, py_float, Error, Result};
use crate::rng::aes_ctr::AesCtr;
use crate::simd::isa::Isa;
use crate::simd::math::{erfinv_central, norm_cdf, norm_ppf, NormPpf};
use crate::simd::vector::{self, Pack, Vf, Vu};
use crate::simd::vector64::{map_lanes, Vd};

#[derive(Clone, Copy, Debug)]
pub struct TruncNormal {
    mean: f64,
    std: f64,
    a: f64,
    b: f64,
}

impl TruncNormal {
    pub fn new(mean: f64, std: f64, a: f64, b: f64) -> Result<Self> {
        check_finite("mean", mean)?;
        check_finite("std", std)?;
        check_finite("a", a)?;
        check_finite("b", b)?;
        if std <= 0.0 {
            return Err(Error::Value(format!(
                "trunc_normal_ expects std > 0, but found std={}",
                py_float(std)
            )));
        }
        if a >= b {
            return Err(Error::Value(format!(
                "trunc_normal_ expects a < b, but found a={} >= b={}",
                py_float(a),
                py_float(b)
            )));
        }
        Ok(TruncNormal { mean, std, a, b })
    }

    fn window(&self) -> Window {
        let alpha = (self.a - self.mean) / self.std;
        let beta = (self.b - self.mean) / self.std;
        // Work where the window's nearer end is in the lower tail.
        let reflect = alpha > -beta;
        let (lo, hi) = if reflect {
            (-beta, -alpha)
        } else {
            (alpha, beta)
        };
        let p_lo = norm_cdf(lo);
        let p_span = norm_cdf(hi) - p_lo;
        Window {
            mean: self.mean,
            std: if reflect { -self.std } else { self.std },
            lo,
            hi,
            p_lo,
            p_span,
        }
    }
}

#[derive(Clone, Copy)]
struct Window {
    mean: f64,
    /// Negative when the window is reflected.
    std: f64,
    lo: f64,
    hi: f64,
    p_lo: f64,
    p_span: f64,
}

impl Window {
    /// `mean + std clamp(ppf(p_lo + u p_span), lo, hi)` for `L` uniforms, `V::LANES` at a
    /// time where `L` allows (the same bits as one at a time: see [`crate::simd::math::norm_ppf_lanes`]).
    #[inline(always)]
    fn values<V: Vd, const L: usize>(&self, u: &[f64; L]) -> [f64; L] {
        let p: [f64; L] = std::array::from_fn(|j| self.p_lo + u[j] * self.p_span);
        let [z, rare] = map_lanes::<V, _, L, 2>(&NormPpf, &p);
        std::array::from_fn(|j| {
            let z = if rare[j].to_bits() != 0 {
                norm_ppf(p[j])
            } else {
                z[j]
            };
            self.mean + self.std * clamp(z, self.lo, self.hi)
        })
    }
}

/// The float32 central path: `z = sqrt(2) erfinv(x_lo + u x_span)`.
#[derive(Clone, Copy)]
struct Central {
    x_lo: f32,
    x_span: f32,
    z_lo: f32,
    z_hi: f32,
    mean: f32,
    std: f32,
}

/// Largest |alpha|, |beta| for the float32 central path (erfinv's central branch covers 2.93).
const CENTRAL_LIMIT: f64 = 2.9;

/// Smallest `-alpha`, `beta` for the float32 normal-and-clamp path: above the normal sampler's
/// reach ([`MAX_ABS_Z32`] = 6.6605), so the clamp never cuts the normal law it samples.
const WIDE_LIMIT: f64 = 6.67;
const _: () = assert!(WIDE_LIMIT > MAX_ABS_Z32);

pub struct TruncNormalKernel<T> {
    w: Window,
    central: Option<Central>,
    /// The float32 path of windows wider than [`WIDE_LIMIT`] std on both sides.
    wide: Option<NormalKernel<f32>>,
    lo: T,
    hi: T,
}

/// The float32 central path on any vector type.
struct CentralKernel<'a> {
    c: &'a Central,
    lo: f32,
    hi: f32,
}

impl Words4 for CentralKernel<'_> {
    #[inline(always)]
    fn values<V: Vf>(&self, w: [V::U; 4]) -> [V; 4] {
        // Two words at a time (a Pack of two): two independent chains overlap, and the
        // working set of ln and the polynomial still fits the 16 vector registers of AVX2
        // (a Pack of four spilled and ran at 0.6x).
        let [w0, w1, w2, w3] = w;
        let Pack([v0, v1]) = self.pair::<V>(Pack([w0, w1]));
        let Pack([v2, v3]) = self.pair::<V>(Pack([w2, w3]));
        [v0, v1, v2, v3]
    }
}

impl CentralKernel<'_> {
    #[inline(always)]
    fn pair<V: Vf>(&self, w: Pack<V::U, 2>) -> Pack<V, 2> {
        let c = self.c;
        let sp = |v: f32| Pack::<V, 2>::splat(v);
        let u = w.shr::<8>().i32_to_f32() * sp(1.0 / 16_777_216.0);
        let x = sp(c.x_lo) + u * sp(c.x_span);
        let e = erfinv_central(x);
        let z = vector::clamp(sp(std::f32::consts::SQRT_2) * e, sp(c.z_lo), sp(c.z_hi));
        vector::clamp(sp(c.mean) + sp(c.std) * z, sp(self.lo), sp(self.hi))
    }
}

impl BlockKernel<f32> for TruncNormalKernel<f32> {
    const PER_BLOCK: usize = 4;
    #[inline(always)]
    fn batch<const L: usize, I: Isa>(&self, rng: &AesCtr, block: u64, out: &mut [f32]) {
        if let Some(n) = &self.wide {
            return n.batch::<L, I>(rng, block, out);
        }
        let w = I::blocks::<L>(rng, block);
        if let Some(c) = &self.central {
            let k = CentralKernel {
                c,
                lo: self.lo,
                hi: self.hi,
            };
            return words4::<_, L, I>(&k, &w, out);
        }
        let mut v = [[0f32; L]; 4];
        for k in 0..4 {
            // 32 bits per uniform: u in [0, 1) with step 2^-32.
            let u: [f64; L] = std::array::from_fn(|j| w[k][j] as f64 * (1.0 / 4_294_967_296.0));
            let x = self.w.values::<I::Row64, L>(&u);
            for j in 0..L {
                v[k][j] = clamp(x[j] as f32, self.lo, self.hi);
            }
        }
        interleave4::<f32, L, I>(&v, out);
    }
}

impl BlockKernel<f64> for TruncNormalKernel<f64> {
    const PER_BLOCK: usize = 2;
    #[inline(always)]
    fn batch<const L: usize, I: Isa>(&self, rng: &AesCtr, block: u64, out: &mut [f64]) {
        let w = I::blocks::<L>(rng, block);
        let u0: [f64; L] = std::array::from_fn(|j| unit_f64_53(w[0][j], w[1][j]));
        let u1: [f64; L] = std::array::from_fn(|j| unit_f64_53(w[2][j], w[3][j]));
        let (x0, x1) = (
            self.w.values::<I::Row64, L>(&u0),
            self.w.values::<I::Row64, L>(&u1),
        );
        for j in 0..L {
            out[2 * j] = clamp(x0[j], self.lo, self.hi);
            out[2 * j + 1] = clamp(x1[j], self.lo, self.hi);
        }
    }
}

impl Distribution for TruncNormal {
    type K32 = TruncNormalKernel<f32>;
    type K64 = TruncNormalKernel<f64>;
    fn support(&self) -> (f64, f64) {
        (self.a, self.b)
    }
    fn kernel32(&self, (lo, hi): (f32, f32)) -> Self::K32 {
        let alpha = (self.a - self.mean) / self.std;
        let beta = (self.b - self.mean) / self.std;
        // The float32 path also needs mean +- 3 std to be finite in float32.
        let fits = self.mean.abs() + 3.0 * self.std < f32::MAX as f64;
        let central =
            (fits && alpha.abs() <= CENTRAL_LIMIT && beta.abs() <= CENTRAL_LIMIT).then(|| {
                let x_lo = libm::erf(alpha * std::f64::consts::FRAC_1_SQRT_2);
                let x_hi = libm::erf(beta * std::f64::consts::FRAC_1_SQRT_2);
                Central {
                    x_lo: x_lo as f32,
                    x_span: (x_hi - x_lo) as f32,
                    z_lo: alpha as f32,
                    z_hi: beta as f32,
                    mean: self.mean as f32,
                    std: self.std as f32,
                }
            });
        // The normal path also needs mean +- 7 std finite in float32.
        let fits_wide = self.mean.abs() + 7.0 * self.std < f32::MAX as f64;
        let wide = (fits_wide && alpha <= -WIDE_LIMIT && beta >= WIDE_LIMIT)
            .then(|| NormalKernel::new_f32(self.mean as f32, self.std as f32, lo, hi));
        TruncNormalKernel {
            w: self.window(),
            central,
            wide,
            lo,
            hi,
        }
    }
    fn kernel64(&self, (lo, hi): (f64, f64)) -> Self::K64 {
        TruncNormalKernel {
            w: self.window(),
            central: None,
            wide: None,
            lo,
            hi,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::element::interval;
    use crate::sampler::fill_range;

    /// The truncated normal's cdf on `[alpha, beta]` (standardized).
    fn trunc_cdf(z: f64, alpha: f64, beta: f64) -> f64 {
        let phi = |x: f64| 0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2);
        ((phi(z.clamp(alpha, beta)) - phi(alpha)) / (phi(beta) - phi(alpha))).clamp(0.0, 1.0)
    }

    #[test]
    fn wide_window_is_the_clamped_normal_and_stays_inside() {
        // The transformer init: std 0.02 in [-2, 2] (100 std), and a window just past the
        // reach (6.7 std below, 8 above, off-centre mean).
        for (mean, std, a, b) in [(0.0, 0.02, -2.0, 2.0), (0.3, 0.5, 0.3 - 3.35, 0.3 + 4.0)] {
            let d = TruncNormal::new(mean, std, a, b).unwrap();
            let (lo, hi) = interval::<f32>(a, b).unwrap();
            let k = d.kernel32((lo, hi));
            assert!(k.wide.is_some() && k.central.is_none());
            let rng = AesCtr::new(21, 0);
            let mut v = vec![0f32; 1 << 18];
            fill_range::<f32, _, 16, crate::simd::isa::Portable>(&k, &rng, 0, 0, &mut v);
            // Exact: no value outside [a, b].
            assert!(v.iter().all(|&x| (a..=b).contains(&(x as f64))));
            // The same bits as the normal sampler (clamped).
            let nk = crate::sampler::normal::Normal::new(mean, std)
                .unwrap()
                .kernel32((lo, hi));
            let mut n = vec![0f32; v.len()];
            fill_range::<f32, _, 16, crate::simd::isa::Portable>(&nk, &rng, 0, 0, &mut n);
            assert_eq!(v, n);
            // Kolmogorov-Smirnov against the truncated normal: sqrt(n) D below 1.95
            // (p > 0.001).
            let (alpha, beta) = ((a - mean) / std, (b - mean) / std);
            let mut z: Vec<f64> = v.iter().map(|&x| (x as f64 - mean) / std).collect();
            z.sort_by(f64::total_cmp);
            let len = z.len() as f64;
            let dmax = z.iter().enumerate().fold(0f64, |d, (i, &x)| {
                let f = trunc_cdf(x, alpha, beta);
                d.max((f - i as f64 / len).abs())
                    .max(((i + 1) as f64 / len - f).abs())
            });
            // float32 rounding of mean + std z moves the empirical cdf by < 1e-6.
            assert!(
                dmax * len.sqrt() < 1.95,
                "{mean} {std}: sqrt(n) D = {}",
                dmax * len.sqrt()
            );
        }
    }

    #[test]
    fn narrower_windows_keep_their_paths() {
        let k = TruncNormal::new(0.0, 1.0, -6.6, 7.0)
            .unwrap()
            .kernel32((-6.6, 7.0));
        assert!(k.wide.is_none() && k.central.is_none());
        let k = TruncNormal::new(0.0, 1.0, -2.0, 2.0)
            .unwrap()
            .kernel32((-2.0, 2.0));
        assert!(k.wide.is_none() && k.central.is_some());
    }

    #[test]
    fn deep_tail_stays_inside_and_has_the_right_mean() {
        // a = mean + 5 std, b = mean + 6 std: the mean of the truncated law is 5.18317.
        let d = TruncNormal::new(0.0, 1.0, 5.0, 6.0).unwrap();
        let k = d.kernel64(interval::<f64>(5.0, 6.0).unwrap());
        let rng = AesCtr::new(3, 0);
        let mut v = vec![0f64; 200_000];
        fill_range::<f64, _, 16, crate::simd::isa::Portable>(&k, &rng, 0, 0, &mut v);
        assert!(v.iter().all(|&x| (5.0..=6.0).contains(&x)));
        let m = v.iter().sum::<f64>() / v.len() as f64;
        assert!((m - 5.1832).abs() < 2e-3, "{m}");
    }
}
