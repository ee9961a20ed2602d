//! Inverse-CDF normals and truncated normals on Giles' float32 erfinv (see math.rs).
//!
//! `normal_`: the top bit of a word is the sign, the other 31 bits `m` give the tail
//! probability `q = (m + 1/2) 2^-32` in (2^-33, 1/2) and, from the complement, `1 - 2 q`, both
//! with full relative precision; `z = +-ndtri_upper(q)` (|z| <= 6.23).
//!
//! `trunc_normal_` on a window `[alpha, beta]` (in std units): `p = p_lo + u p_span` with a
//! 31-bit `u`, `q = min(p, 1 - p)`, the same `ndtri_upper`, clamped into the window. A window
//! in the upper tail is reflected to the lower tail first (std negated), where `p` keeps its
//! relative precision. Windows wider than the normal sampler's reach use the normal sampler.

use super::math::{ndtri_upper, Branches};
use crate::gens::Kernel;
use crate::simd::{clamp, Pack, Vf, Vu};

const SQRT2: f32 = std::f32::consts::SQRT_2;

pub struct IcdfNormal {
    pub mean: f32,
    pub std: f32,
    pub lo: f32,
    pub hi: f32,
}

impl IcdfNormal {
    pub fn standard() -> Self {
        IcdfNormal {
            mean: 0.0,
            std: 1.0,
            lo: -f32::MAX,
            hi: f32::MAX,
        }
    }
}

/// The standard normal of one word vector.
#[inline(always)]
pub fn standard<V: Vf>(w: V::U) -> V {
    let sign = w.and(V::U::splat(0x8000_0000));
    let m = w.and(V::U::splat(0x7fff_ffff));
    let q = m.i32_to_f32().fma(
        V::splat(1.0 / 4_294_967_296.0),
        V::splat(0.5 / 4_294_967_296.0),
    );
    let k = V::U::splat(0x7fff_ffff).sub(m);
    let xs = k.i32_to_f32().fma(
        V::splat(SQRT2 / 2_147_483_648.0),
        V::splat(SQRT2 / 4_294_967_296.0),
    );
    ndtri_upper(q, xs, Branches::AUTO)
        .to_bits()
        .xor(sign)
        .as_f32()
}

#[inline(always)]
fn normal_packs<V: Vf, const P: usize>(k: &IcdfNormal, w: &[V::U], out: &mut [f32]) {
    let sp = <Pack<V, P> as Vf>::splat;
    let (mean, std, lo, hi) = (sp(k.mean), sp(k.std), sp(k.lo), sp(k.hi));
    crate::map_packs!(V, P, w, out, |w| clamp(
        standard::<Pack<V, P>>(w).fma(std, mean),
        lo,
        hi
    ));
}

impl Kernel for IcdfNormal {
    #[inline(always)]
    fn run<V: Vf>(&self, _e0: u64, w: &[V::U], out: &mut [f32]) {
        crate::by_width!(V, normal_packs(self, w, out))
    }
}

/// `trunc_normal_` on a window that the normal sampler's reach does not cover. Each half of the
/// window is measured from its own end, so `q` keeps full relative precision at both ends: with
/// a 31-bit `k`, `q = p_lo + k 2^-31 span` (value below the median, `z = ndtri(q)`) while
/// `k <= k_mid`, else `q = q_hi + (2^31 - k) 2^-31 span` (`z = -ndtri(q)`), where `p_lo` is the
/// mass below the window, `q_hi` the mass above it and `k_mid` the integer where `p = 1/2`.
pub struct IcdfTrunc {
    p_lo: f32,
    /// `q_hi + span 2^-31`: the upper half computes `(2^31 - 1 - k) 2^-31 span + q_hi_1`
    /// (`2^31 - k` would overflow an i32 at k = 0).
    q_hi_1: f32,
    span: f32,
    k_mid: u32,
    branches: Branches,
    z_lo: f32,
    z_hi: f32,
    mean: f32,
    std: f32,
    lo: f32,
    hi: f32,
}

/// Standard normal CDF in float64.
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// The float32 sampler's reach: windows with both ends beyond it are the normal sampler.
pub const NORMAL_REACH: f64 = 6.23;

/// The float32 window path needs the tail masses at the window's ends to be normal float32
/// numbers (and the far-tail polynomial is fitted down to there): |end| <= 12.9 for an end that
/// matters. Beyond, ferroinit keeps its float64 path.
pub const FLOAT32_LIMIT: f64 = 12.9;

/// Whether the float32 window path is accurate for this window (ferroinit keeps float64
/// otherwise). An end matters when the sampler gets near it: when the tail mass beyond it is at
/// least 2^-33 of the window's mass (else, like the normal sampler, it never reaches that far).
/// An end that matters must lie within [`FLOAT32_LIMIT`] std, where its tail mass is still a
/// normal float32 number and the far-tail polynomial is fitted.
pub fn float32_ok(alpha: f64, beta: f64) -> bool {
    let span = if alpha > -beta {
        norm_cdf(-alpha) - norm_cdf(-beta)
    } else {
        norm_cdf(beta) - norm_cdf(alpha)
    };
    let matters = |tail_mass: f64| tail_mass >= span * 2f64.powi(-33);
    let lower_ok = alpha >= -FLOAT32_LIMIT || !matters(norm_cdf(alpha));
    let upper_ok = beta <= FLOAT32_LIMIT || !matters(norm_cdf(-beta));
    lower_ok && upper_ok
}

pub enum TruncKernel {
    /// The window contains every value the normal sampler makes: normal_ plus the clamp.
    Wide(IcdfNormal),
    Window(IcdfTrunc),
}

impl TruncKernel {
    pub fn new(mean: f64, std: f64, a: f64, b: f64) -> TruncKernel {
        let alpha = (a - mean) / std;
        let beta = (b - mean) / std;
        if alpha <= -NORMAL_REACH && beta >= NORMAL_REACH {
            return TruncKernel::Wide(IcdfNormal {
                mean: mean as f32,
                std: std as f32,
                lo: a as f32,
                hi: b as f32,
            });
        }
        let p_lo = norm_cdf(alpha);
        let q_hi = norm_cdf(-beta);
        // The window's mass without cancellation, from the tail it lies in.
        let span = if alpha > -beta {
            norm_cdf(-alpha) - q_hi
        } else {
            norm_cdf(beta) - p_lo
        };
        let k_mid = ((0.5 - p_lo) / span * 2_147_483_648.0).floor();
        TruncKernel::Window(IcdfTrunc {
            p_lo: p_lo as f32,
            q_hi_1: (q_hi + span / 2_147_483_648.0) as f32,
            span: span as f32,
            k_mid: k_mid.clamp(-1.0, i32::MAX as f64) as i32 as u32,
            branches: {
                // The lanes' tail probabilities: from the smaller end mass up to 1/2 when the
                // window holds the median, else up to the larger end mass.
                let q_min = p_lo.min(q_hi);
                let q_max = if alpha < 0.0 && beta > 0.0 {
                    0.5
                } else {
                    p_lo.max(q_hi).min(norm_cdf(-alpha.abs().min(beta.abs())))
                };
                Branches::for_range(q_min, q_max)
            },
            z_lo: alpha as f32,
            z_hi: beta as f32,
            mean: mean as f32,
            std: std as f32,
            lo: a as f32,
            hi: b as f32,
        })
    }
}

impl Kernel for TruncKernel {
    #[inline(always)]
    fn run<V: Vf>(&self, e0: u64, w: &[V::U], out: &mut [f32]) {
        match self {
            TruncKernel::Wide(k) => k.run::<V>(e0, w, out),
            TruncKernel::Window(t) => crate::by_width!(V, window_packs(t, w, out)),
        }
    }
}

#[inline(always)]
fn window_packs<V: Vf, const P: usize>(t: &IcdfTrunc, w: &[V::U], out: &mut [f32]) {
    let sp = <Pack<V, P> as Vf>::splat;
    let spu = <<Pack<V, P> as Vf>::U as Vu>::splat;
    let (mean, std, lo, hi) = (sp(t.mean), sp(t.std), sp(t.lo), sp(t.hi));
    let (z_lo, z_hi) = (sp(t.z_lo), sp(t.z_hi));
    let scale = sp(t.span * (1.0 / 2_147_483_648.0));
    crate::map_packs!(V, P, w, out, |w| {
        let k = w.shr::<1>();
        let upper = spu(t.k_mid).lt_i32(k);
        let q_below = k.i32_to_f32().fma(scale, sp(t.p_lo));
        let q_above = spu(0x7fff_ffff)
            .sub(k)
            .i32_to_f32()
            .fma(scale, sp(t.q_hi_1));
        let q = Pack::<V, P>::select(upper, q_above, q_below);
        let xs = q.fnma(sp(2.0 * SQRT2), sp(SQRT2));
        let z = ndtri_upper(q, xs, t.branches);
        let z = Pack::<V, P>::select(upper, z, sp(0.0).sub(z));
        clamp(clamp(z, z_lo, z_hi).fma(std, mean), lo, hi)
    });
}
