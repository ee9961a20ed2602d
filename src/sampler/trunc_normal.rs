//! Normal truncated to `[a, b]`, by the inverse CDF: `z = ppf(cdf(alpha) + u (cdf(beta) - cdf(alpha)))`
//! in float64, one uniform per value (no rejection), then rounded into `[a, b]`.
//!
//! A window in the upper tail is reflected to the lower tail, where `cdf` keeps full relative
//! precision (erfc), so deep tails (`a = mean + 5 std, b = mean + 6 std`) stay exact.
//!
//! The float32 stream (and float16/bfloat16, which round it) of every window within float32's
//! reach (end tail masses down to float32's normal numbers, about 12.9 std; see
//! [`Float32Window::new`]) uses a float32 inverse CDF instead, one 31-bit word per value,
//! vectorized, without branches on values: each half of the window is measured from its own
//! end, so both ends keep full relative precision, and `z = +-ndtri_upper(q)`
//! ([`crate::simd::math::ndtri_upper`], relative error < 4e-7 beyond |z| = 1, absolute below).
//! The window decides which erfinv segments it computes. Windows beyond float32's reach and
//! float64 arrays keep the float64 path.
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
use crate::simd::math::{
    erfinv_central, ndtri_upper, norm_cdf, norm_ppf, NormPpf, Segments, NDTRI_MIN_Q,
};
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

/// The float32 window path: each half of the window measured from its own end, so the tail
/// probability `q` keeps full relative precision at both ends. With the 31-bit `k` of a word,
/// a lane below the window's median (`k <= k_mid`) takes `q = p_lo + k 2^-31 span` and
/// `z = -ndtri_upper(q)`, a lane above it `q = q_hi + (2^31 - k) 2^-31 span` and
/// `z = ndtri_upper(q)`, where `p_lo` is the normal law's mass below the window, `q_hi` the
/// mass above it, `span` the window's and `k_mid` the last `k` whose `p` is below 1/2.
#[derive(Clone, Copy)]
struct Float32Window {
    p_lo: f32,
    /// `q_hi + span 2^-31`: the upper half computes `(2^31 - 1 - k) 2^-31 span + q_hi_1`
    /// (`2^31 - k` overflows an i32 at `k = 0`).
    q_hi_1: f32,
    /// `span 2^-31`.
    scale: f32,
    /// -1: every lane above the median; `i32::MAX`: every lane below.
    k_mid: u32,
    /// `1 - 2 q = 2 |p - 1/2|` without cancellation near the median: `p - 1/2` is
    /// `((k - k_ref) - frac) 2^-31 span` with the integer part exact (`k_ref` is `k_mid` clamped
    /// into `[0, 2^31)`, so `k - k_ref` fits an i32) and `xs_scale = 2 sqrt(2) span 2^-31`.
    k_ref: u32,
    frac: f32,
    xs_scale: f32,
    /// A window inside [`DIRECT_LIMIT`] std (the default `[-2, 2]`): `x = 2 (p - 1/2)` stays
    /// below `erf(DIRECT_LIMIT / sqrt 2)`, so `-ln(1 - x^2)` from `(1 - x)(1 + x)` keeps float32
    /// precision (within 6e-7 of the two-halves form), and the lanes skip `q`, the halves and
    /// the sign.
    direct: bool,
    segments: Segments,
    z_lo: f32,
    z_hi: f32,
    mean: f32,
    std: f32,
}

impl Float32Window {
    /// The float32 path of a window, or `None` where float32 cannot reach it: where more than
    /// 2^-32 of the window's mass lies at tail probabilities below float32's normal numbers
    /// ([`NDTRI_MIN_Q`], 12.9-13.2 std; there the lanes' `q` stops at `NDTRI_MIN_Q`), or where
    /// `mean + std z` would not be finite in float32.
    fn new(mean: f64, std: f64, alpha: f64, beta: f64) -> Option<Float32Window> {
        let p_lo = norm_cdf(alpha);
        let q_hi = norm_cdf(-beta);
        // The window's mass without cancellation, from the tail it lies in.
        let span = if alpha > -beta {
            norm_cdf(-alpha) - q_hi
        } else {
            norm_cdf(beta) - p_lo
        };
        let min_q = NDTRI_MIN_Q as f64;
        let reachable =
            |end_mass: f64| end_mass >= min_q || min_q - end_mass <= span * 2f64.powi(-32);
        let z_max = alpha.abs().max(beta.abs()).min(13.5);
        let finite = mean.abs() + std * z_max < f32::MAX as f64 / 2.0;
        if !(reachable(p_lo) && reachable(q_hi) && finite && (std as f32).is_normal()) {
            return None;
        }
        let k_half = (0.5 - p_lo) / span * 2_147_483_648.0;
        let k_mid = k_half.floor();
        let k_ref = k_mid.clamp(0.0, i32::MAX as f64);
        // The lanes' tail probabilities: from the smaller end mass up to 1/2 when the window
        // holds the median, else up to the larger end mass.
        let q_min = p_lo.min(q_hi).max(min_q);
        let q_max = if alpha < 0.0 && beta > 0.0 {
            0.5
        } else {
            norm_cdf(-alpha.abs().min(beta.abs()))
        };
        Some(Float32Window {
            p_lo: p_lo as f32,
            q_hi_1: (q_hi + span / 2_147_483_648.0) as f32,
            scale: (span / 2_147_483_648.0) as f32,
            k_mid: k_mid.clamp(-1.0, i32::MAX as f64) as i32 as u32,
            k_ref: k_ref as u32,
            frac: (k_half - k_ref) as f32,
            xs_scale: (2.0 * std::f64::consts::SQRT_2 * span / 2_147_483_648.0) as f32,
            direct: alpha.abs().max(beta.abs()) <= DIRECT_LIMIT,
            segments: Segments::for_range(q_min, q_max),
            z_lo: alpha as f32,
            z_hi: beta as f32,
            mean: mean as f32,
            std: std as f32,
        })
    }
}

/// Largest |alpha|, |beta| of a [`Float32Window`] that computes `z` directly from
/// `x = 2 (p - 1/2)`.
const DIRECT_LIMIT: f64 = 2.0;

/// Smallest `-alpha`, `beta` for the float32 normal-and-clamp path: above the normal sampler's
/// reach ([`MAX_ABS_Z32`] = 6.6605), so the clamp never cuts the normal law it samples.
const WIDE_LIMIT: f64 = 6.67;
const _: () = assert!(WIDE_LIMIT > MAX_ABS_Z32);

pub struct TruncNormalKernel<T> {
    w: Window,
    /// The float32 path of windows within float32's reach ([`Float32Window::new`]).
    window32: Option<Float32Window>,
    /// The float32 path of windows wider than [`WIDE_LIMIT`] std on both sides.
    wide: Option<NormalKernel<f32>>,
    lo: T,
    hi: T,
}

/// The float32 window path on any vector type.
struct WindowKernel<'a> {
    c: &'a Float32Window,
    lo: f32,
    hi: f32,
}

impl Words4 for WindowKernel<'_> {
    #[inline(always)]
    fn values<V: Vf>(&self, w: [V::U; 4]) -> [V; 4] {
        // Two words at a time (a Pack of two): two independent chains overlap, and the
        // working set still fits the 16 vector registers of AVX2.
        let [w0, w1, w2, w3] = w;
        let Pack([v0, v1]) = self.pair::<V>(Pack([w0, w1]));
        let Pack([v2, v3]) = self.pair::<V>(Pack([w2, w3]));
        [v0, v1, v2, v3]
    }
}

impl WindowKernel<'_> {
    #[inline(always)]
    fn pair<V: Vf>(&self, w: Pack<V::U, 2>) -> Pack<V, 2> {
        type U2<V> = Pack<<V as Vf>::U, 2>;
        let c = self.c;
        let sp = |v: f32| Pack::<V, 2>::splat(v);
        let spu = |v: u32| U2::<V>::splat(v);
        let k = w.shr::<1>();
        let d = k.sub(spu(c.k_ref)).i32_to_f32() - sp(c.frac);
        if c.direct {
            // z = sqrt(2) erfinv(x), x = 2 (p - 1/2) = d 2^-30 span (signed).
            let x = d * sp(c.xs_scale * std::f32::consts::FRAC_1_SQRT_2);
            let z = erfinv_central(x) * sp(std::f32::consts::SQRT_2);
            let z = vector::clamp(z, sp(c.z_lo), sp(c.z_hi));
            return vector::clamp(sp(c.mean) + sp(c.std) * z, sp(self.lo), sp(self.hi));
        }
        // All ones where k > k_mid (both in [-1, 2^31), so the difference fits an i32).
        let upper = spu(c.k_mid).sub(k).sar::<31>();
        let q_below = k.i32_to_f32() * sp(c.scale) + sp(c.p_lo);
        let q_above = spu(0x7fff_ffff).sub(k).i32_to_f32() * sp(c.scale) + sp(c.q_hi_1);
        let q = sp(NDTRI_MIN_Q).max_x86(vector::select(upper, q_above, q_below));
        let xs = d.to_bits().and(spu(0x7fff_ffff)).as_f32_bits() * sp(c.xs_scale);
        let z = ndtri_upper(q, xs, c.segments);
        // Lanes below the median are negated.
        let sign = upper.xor(spu(u32::MAX)).and(spu(0x8000_0000));
        let z = z.to_bits().xor(sign).as_f32_bits();
        let z = vector::clamp(z, sp(c.z_lo), sp(c.z_hi));
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
        if let Some(c) = &self.window32 {
            let k = WindowKernel {
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
        // The normal path also needs mean +- 7 std finite in float32.
        let fits_wide = self.mean.abs() + 7.0 * self.std < f32::MAX as f64;
        let wide = (fits_wide && alpha <= -WIDE_LIMIT && beta >= WIDE_LIMIT)
            .then(|| NormalKernel::new_f32(self.mean as f32, self.std as f32, lo, hi));
        TruncNormalKernel {
            w: self.window(),
            window32: if wide.is_some() {
                None
            } else {
                Float32Window::new(self.mean, self.std, alpha, beta)
            },
            wide,
            lo,
            hi,
        }
    }
    fn kernel64(&self, (lo, hi): (f64, f64)) -> Self::K64 {
        TruncNormalKernel {
            w: self.window(),
            window32: None,
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
        let z = z.clamp(alpha, beta);
        // In the upper tail from the upper-tail masses (1 - phi would cancel).
        let f = if alpha > -beta {
            (phi(-alpha) - phi(-z)) / (phi(-alpha) - phi(-beta))
        } else {
            (phi(z) - phi(alpha)) / (phi(beta) - phi(alpha))
        };
        f.clamp(0.0, 1.0)
    }

    #[test]
    fn wide_window_is_the_clamped_normal_and_stays_inside() {
        // The transformer init: std 0.02 in [-2, 2] (100 std), and a window just past the
        // reach (6.7 std below, 8 above, off-centre mean).
        for (mean, std, a, b) in [(0.0, 0.02, -2.0, 2.0), (0.3, 0.5, 0.3 - 3.35, 0.3 + 4.0)] {
            let d = TruncNormal::new(mean, std, a, b).unwrap();
            let (lo, hi) = interval::<f32>(a, b).unwrap();
            let k = d.kernel32((lo, hi));
            assert!(k.wide.is_some() && k.window32.is_none());
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
            let z: Vec<f64> = v.iter().map(|&x| (x as f64 - mean) / std).collect();
            // float32 rounding of mean + std z moves the empirical cdf by < 1e-6.
            let d = ks_sqrt_n(z, alpha, beta);
            assert!(d < 1.95, "{mean} {std}: sqrt(n) D = {d}");
        }
    }

    #[test]
    fn narrower_windows_keep_their_paths() {
        let path = |a: f64, b: f64| {
            let k = TruncNormal::new(0.0, 1.0, a, b)
                .unwrap()
                .kernel32((a as f32, b as f32));
            (k.wide.is_some(), k.window32.is_some())
        };
        assert_eq!(path(-6.6, 7.0), (false, true));
        assert_eq!(path(-2.0, 2.0), (false, true));
        assert_eq!(path(-20.0, 3.0), (false, true));
        assert_eq!(path(-7.0, 7.0), (true, false));
        // Both ends past float32's normal tail masses, and a window beyond them: float64.
        assert_eq!(path(12.0, 30.0), (false, false));
        assert_eq!(path(-13.5, -13.0), (false, false));
    }

    /// `sqrt(n) D` of the Kolmogorov-Smirnov test of standardized values against the
    /// truncated normal on `[alpha, beta]`.
    fn ks_sqrt_n(mut z: Vec<f64>, alpha: f64, beta: f64) -> f64 {
        z.sort_by(f64::total_cmp);
        let len = z.len() as f64;
        let dmax = z.iter().enumerate().fold(0f64, |d, (i, &x)| {
            let f = trunc_cdf(x, alpha, beta);
            d.max((f - i as f64 / len).abs())
                .max(((i + 1) as f64 / len - f).abs())
        });
        dmax * len.sqrt()
    }

    #[test]
    fn float32_windows_stay_inside_match_across_lanes_and_fit() {
        for (mean, std, a, b) in [
            (0.0, 1.0, 2.0, 3.0),
            (0.0, 1.0, 5.0, 6.0),
            (0.0, 1.0, -6.0, -5.0),
            (0.0, 1.0, -2.0, 2.0),
            (0.0, 1.0, -0.5, 3.0),
            (0.0, 1.0, -12.0, -1.0),
            (0.0, 1.0, 1.0, 12.5),
            (0.0, 1.0, 8.0, 9.0),
            (0.0, 1.0, -20.0, 3.0),
            (0.0, 1.0, 11.0, 12.9),
            (1.5, 0.3, 0.0, 1.0),
            // Narrow windows at and next to the median: relative precision there too.
            (0.0, 1e6, -1.0, 3.0),
            (0.0, 1.0, 1e-7, 3e-6),
            (0.0, 1.0, -3e-6, -1e-7),
        ] {
            let d = TruncNormal::new(mean, std, a, b).unwrap();
            let (lo, hi) = interval::<f32>(a, b).unwrap();
            let k = d.kernel32((lo, hi));
            assert!(k.window32.is_some(), "{a} {b}");
            let rng = AesCtr::new(29, 0);
            let mut v = vec![0f32; 1 << 18];
            fill_range::<f32, _, 16, crate::simd::isa::Portable>(&k, &rng, 0, 0, &mut v);
            // Exact: no value outside [a, b].
            assert!(v.iter().all(|&x| (a..=b).contains(&(x as f64))), "{a} {b}");
            // One lane at a time gives the same bits.
            let mut one = vec![0f32; v.len()];
            fill_range::<f32, _, 1, crate::simd::isa::Portable>(&k, &rng, 0, 0, &mut one);
            assert!(v.iter().zip(&one).all(|(x, y)| x.to_bits() == y.to_bits()));
            let (alpha, beta) = ((a - mean) / std, (b - mean) / std);
            let z = v.iter().map(|&x| (x as f64 - mean) / std).collect();
            let ks = ks_sqrt_n(z, alpha, beta);
            assert!(ks < 1.95, "[{a}, {b}]: sqrt(n) D = {ks}");
        }
    }

    #[test]
    fn direct_central_windows_agree_with_the_two_halves() {
        for (a, b) in [(-2.0, 2.0), (-2.0, 0.3), (-1e-6, 3e-6)] {
            let c = Float32Window::new(0.0, 1.0, a, b).unwrap();
            assert!(c.direct);
            let halves = Float32Window { direct: false, ..c };
            let (lo, hi) = (a as f32, b as f32);
            let kd = WindowKernel { c: &c, lo, hi };
            let kh = WindowKernel { c: &halves, lo, hi };
            let mut worst = 0f64;
            let mut x = 0x9e37_79b9u32;
            for _ in 0..200_000 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let [d, ..] = Words4::values::<f32>(&kd, [x, 0, 0, 0]);
                let [h, ..] = Words4::values::<f32>(&kh, [x, 0, 0, 0]);
                let err = (d as f64 - h as f64).abs() / (h.abs() as f64).max(b - a);
                worst = worst.max(err);
            }
            assert!(worst < 6e-7, "[{a}, {b}]: {worst:e}");
        }
    }

    #[test]
    fn float32_window_ends_are_exact_at_the_extreme_words() {
        // k = 0 is the window's lower end; k = 2^31 - 1 the upper end less one bucket.
        for (a, b) in [(2.0, 3.0), (5.0, 6.0), (-2.0, 2.0), (-12.0, 1.0)] {
            let c = Float32Window::new(0.0, 1.0, a, b).unwrap();
            let k = WindowKernel {
                c: &c,
                lo: a as f32,
                hi: b as f32,
            };
            let [v0, v1, ..] = Words4::values::<f32>(&k, [0, u32::MAX, 0, 0]);
            let p_lo = norm_cdf(a);
            let top = norm_cdf(-b) + (norm_cdf(b) - p_lo) * 2f64.powi(-31);
            let want_top = -norm_ppf(top);
            if p_lo < 0.5 {
                assert!(
                    (v0 as f64 - a).abs() <= 2e-6 * a.abs().max(1.0),
                    "{a}: {v0}"
                );
            }
            assert!(
                (v1 as f64 - want_top).abs() <= 2e-6 * want_top.abs(),
                "{b}: {v1} vs {want_top}"
            );
        }
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
