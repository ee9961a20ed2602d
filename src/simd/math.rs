//! Elementary functions for the samplers.
//!
//! The float32 functions are branch-free polynomials (Cephes coefficients) built only from
//! IEEE-exact operations, so that they vectorize and give the same bits on every SIMD path.
//! The float64 functions use `libm` (a pure-Rust port of musl), which is the same code, and so
//! the same bits, on every platform, unlike the system libm.

use crate::simd::libm_lanes::log_positive_normal;
use crate::simd::vector::{select, Vf, Vu};
use crate::simd::vector64::{LaneFn, Vd};

/// `p = p * x + c` for every coefficient `c`, in order (Horner).
#[inline(always)]
fn horner<V: Vf, const K: usize>(mut p: V, x: V, coeffs: [f32; K]) -> V {
    for c in coeffs {
        p = p * x + V::splat(c);
    }
    p
}

/// Natural logarithm for normal positive `x` (no NaN, zero, infinity or subnormal handling:
/// callers pass values in `[2^-33, 1]`). Cephes `logf`: reduce to `m * 2^e` with
/// `m` in `[sqrt(1/2), sqrt(2))`, then a degree-9 polynomial in `m - 1`.
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    ln(x)
}

/// [`ln_f32`] on every lane of a vector.
#[inline(always)]
pub fn ln<V: Vf>(x: V) -> V {
    // Re-bias so the exponent field rounds m into [sqrt(1/2), sqrt(2)).
    let shifted = x.to_bits().sub(V::U::splat(0x3f35_04f3));
    let e = shifted.sar::<23>().i32_to_f32();
    let m = shifted
        .and(V::U::splat(0x007f_ffff))
        .add(V::U::splat(0x3f35_04f3))
        .as_f32_bits();
    let f = m - V::splat(1.0);
    let z = f * f;
    let p = horner(
        V::splat(7.037_683_6e-2),
        f,
        [
            -1.151_461_1e-1,
            1.167_699_9e-1,
            -1.242_014_1e-1,
            1.424_932_3e-1,
            -1.666_805_8e-1,
            2.000_071_4e-1,
            -2.499_999_4e-1,
            3.333_333e-1,
        ],
    );
    let mut y = f * z * p;
    y = y + V::splat(-2.121_944_4e-4) * e;
    y = y + V::splat(-0.5) * z;
    let r = f + y;
    r + V::splat(0.693_359_4) * e
}

/// `(cos(2*pi*t), sin(2*pi*t))` for `t = w / 2^32`, with the angle reduced exactly in integer
/// arithmetic: the top bits pick the quadrant, the rest is an angle in `[-pi/4, pi/4)`.
#[inline(always)]
pub fn cos_sin_turns_f32(w: u32) -> (f32, f32) {
    cos_sin_turns(w)
}

/// [`cos_sin_turns_f32`] on every lane of a vector.
#[inline(always)]
pub fn cos_sin_turns<V: Vf>(w: V::U) -> (V, V) {
    let shifted = w.add(V::U::splat(1 << 29));
    let q = shifted.shr::<30>();
    let r = shifted
        .and(V::U::splat(0x3fff_ffff))
        .sub(V::U::splat(1 << 29));
    // 2*pi / 2^32
    let x = r.i32_to_f32() * V::splat(1.462_918e-9);
    let z = x * x;
    let s = horner(
        V::splat(-1.951_529_6e-4),
        z,
        [8.332_161e-3, -1.666_665_5e-1],
    ) * z
        * x
        + x;
    let c = horner(
        V::splat(2.443_315_7e-5),
        z,
        [-1.388_731_6e-3, 4.166_664_6e-2],
    ) * z
        * z
        - V::splat(0.5) * z
        + V::splat(1.0);
    // Rotate by q quarter turns: (c, s), (-s, c), (-c, -s), (s, -c).
    let swap = V::U::splat(0).sub(q.and(V::U::splat(1)));
    let (cc, ss) = (select(swap, s, c), select(swap, c, s));
    let two = V::U::splat(2);
    let cos_neg = q.add(V::U::splat(1)).and(two).shr::<1>();
    let sin_neg = q.and(two).shr::<1>();
    let sign = |v: V::U| V::U::splat(0).sub(v).and(V::U::splat(0x8000_0000));
    (
        cc.to_bits().xor(sign(cos_neg)).as_f32_bits(),
        ss.to_bits().xor(sign(sin_neg)).as_f32_bits(),
    )
}

/// `erfinv(x)` for `|x| <= 0.9966` (where `w = -ln(1 - x^2) < 5`): the central branch of
/// Giles' single-precision approximation ("Approximating the erfinv function", GPU Gems 2012),
/// relative error below 4e-7 there. Branch-free, so it vectorizes.
#[inline(always)]
pub fn erfinv_central_f32(x: f32) -> f32 {
    erfinv_central(x)
}

/// [`erfinv_central_f32`] on every lane of a vector.
#[inline(always)]
pub fn erfinv_central<V: Vf>(x: V) -> V {
    let one = V::splat(1.0);
    let w = V::splat(0.0) - ln((one - x) * (one + x));
    erfinv_central_over_x(w) * x
}

/// All ones in the lanes where `x > c`, for `x` and `c` both `>= +0.0`: non-negative float32
/// numbers order like their bits, and the difference of two such bit patterns fits an i32.
#[inline(always)]
fn gt_nonneg<V: Vf>(x: V, c: f32) -> V::U {
    V::U::splat(c.to_bits()).sub(x.to_bits()).sar::<31>()
}

/// Giles' central branch (`w = -ln(1 - x^2) < 5`): `erfinv(x) / x` as a polynomial in
/// `w - 2.5` (the same operations as in [`erfinv_central`]).
#[inline(always)]
fn erfinv_central_over_x<V: Vf>(w: V) -> V {
    horner(
        V::splat(2.810_226_4e-8),
        w - V::splat(2.5),
        [
            3.432_739_4e-7,
            -3.523_387_7e-6,
            -4.391_506_5e-6,
            2.185_808_7e-4,
            -1.253_725e-3,
            -4.177_681_6e-3,
            2.466_407_3e-1,
            1.501_409_4,
        ],
    )
}

/// Giles' tail branch (`5 <= w <= 16`): `erfinv(x) / x` as a polynomial in `sqrt(w) - 3`.
#[inline(always)]
fn erfinv_tail_over_x<V: Vf>(s: V) -> V {
    horner(
        V::splat(-2.002_142_6e-4),
        s - V::splat(3.0),
        [
            1.009_505_6e-4,
            1.349_343_2e-3,
            -3.673_428_4e-3,
            5.739_507_7e-3,
            -7.622_461_3e-3,
            9.438_870_5e-3,
            1.001_674,
            2.832_976_8,
        ],
    )
}

/// The far tail (`16 < w <= 88`: tail probabilities from 3e-8 down to float32's smallest
/// normal numbers, |z| up to 13.2), beyond the range Giles fitted for float32: `erfinv(x) / x`
/// as a degree-8 polynomial in `sqrt(w) - 6.6875`, a least-squares fit of the relative error
/// on Chebyshev nodes against SciPy's float64 `ndtri` (this project's benches/stream_candidates;
/// 2e-8 in float64, 1.6e-7 with float32 coefficients).
#[inline(always)]
fn erfinv_far_over_x<V: Vf>(s: V) -> V {
    horner(
        V::splat(2.529_861_5e-8),
        s - V::splat(6.6875),
        [
            -1.266_145_4e-7,
            3.490_595_8e-7,
            -2.070_547_2e-6,
            9.505_126e-6,
            -3.616_604e-6,
            -5.149_469e-4,
            1.008_917_3,
            6.553_783_4,
        ],
    )
}

/// Which segments of [`ndtri_upper`] a caller computes: a truncated normal knows from its
/// window which can occur, and computes exactly those for every lane (a window like [2, 3]
/// has lanes of two segments in most vectors, at random, so a per-vector branch would
/// mispredict). Lanes select their segment by their own `w`, so the choice of segments never
/// changes a lane's value where that lane's segment is computed, and every level gives the
/// same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segments {
    pub central: bool,
    pub tail: bool,
    pub far: bool,
}

impl Segments {
    /// The segments lanes need when every lane's tail probability lies in `[q_min, q_max]`
    /// (`q_max <= 1/2`), with a margin of 0.1 in `w` around the boundaries 5 and 16.
    pub fn for_range(q_min: f64, q_max: f64) -> Segments {
        let w = |q: f64| -(4.0 * q * (1.0 - q)).ln();
        let (w_lo, w_hi) = (w(q_max), w(q_min));
        Segments {
            central: w_lo < 5.1,
            tail: w_hi > 4.9 && w_lo < 16.1,
            far: w_hi > 15.9,
        }
    }
}

/// Smallest tail probability [`ndtri_upper`] takes: float32's smallest normal number.
pub const NDTRI_MIN_Q: f32 = f32::MIN_POSITIVE;

/// `-ndtri(q) = sqrt(2) erfinv(1 - 2 q)` (>= 0) for a tail probability `q` in
/// `[NDTRI_MIN_Q, 1/2]`, given also `xs = sqrt(2) (1 - 2 q)`, both computed by the caller.
/// Giles' single-precision erfinv restated on `q`: `w = -ln(1 - x^2) = -ln(4 q (1 - q))`,
/// where `4 q (1 - q)` keeps the relative precision of `q` in the tail (from `x`, `1 - x^2`
/// would cancel), plus a fitted far segment down to `q = NDTRI_MIN_Q`. `s` says which
/// segments to compute (at least the lanes' own; see [`Segments`]).
#[inline(always)]
pub fn ndtri_upper<V: Vf>(q: V, xs: V, s: Segments) -> V {
    let q4 = q * V::splat(4.0);
    let t = q4 - q4 * q;
    // ln(1) is exactly 0; the max keeps a rounding's -0.0 or tiny negative out of the masks.
    let w = V::splat(0.0).max_x86(V::splat(0.0) - ln(t));
    let root = if s.tail || s.far { w.sqrt() } else { w };
    let mut r = if s.central {
        erfinv_central_over_x(w)
    } else if s.tail {
        erfinv_tail_over_x(root)
    } else {
        erfinv_far_over_x(root)
    };
    if s.central && s.tail {
        r = select(gt_nonneg(w, 5.0), erfinv_tail_over_x(root), r);
    }
    if s.far && (s.central || s.tail) {
        r = select(gt_nonneg(w, 16.0), erfinv_far_over_x(root), r);
    }
    r * xs
}

/// Standard normal CDF, accurate in the lower tail (relative error ~1e-16 down to -37).
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

// Wichura's AS241 (PPND16) coefficients, highest power first: |q| <= 0.425, then
// r = sqrt(-log(tail)) <= 5 (shifted by 1.6), then beyond (shifted by 5).
const PPF_CENTRAL_NUM: [f64; 8] = [
    2_509.080_928_730_122_7,
    33_430.575_583_588_13,
    67_265.770_927_008_7,
    45_921.953_931_549_87,
    13_731.693_765_509_46,
    1_971.590_950_306_551_4,
    133.141_667_891_784_38,
    3.387_132_872_796_366_5,
];
const PPF_CENTRAL_DEN: [f64; 8] = [
    5_226.495_278_852_546,
    28_729.085_735_721_943,
    39_307.895_800_092_71,
    21_213.794_301_586_597,
    5_394.196_021_424_751,
    687.187_007_492_057_9,
    42.313_330_701_600_91,
    1.0,
];
const PPF_TAIL_NUM: [f64; 8] = [
    7.745_450_142_783_414e-4,
    0.022_723_844_989_269_184,
    0.241_780_725_177_450_6,
    1.270_458_252_452_368_4,
    3.647_848_324_763_204_5,
    5.769_497_221_460_691,
    4.630_337_846_156_545,
    1.423_437_110_749_683_5,
];
const PPF_TAIL_DEN: [f64; 8] = [
    1.050_750_071_644_416_9e-9,
    5.475_938_084_995_345e-4,
    0.015_198_666_563_616_457,
    0.148_103_976_427_480_08,
    0.689_767_334_985_1,
    1.676_384_830_183_803_8,
    2.053_191_626_637_759,
    1.0,
];
const PPF_FAR_NUM: [f64; 8] = [
    2.010_334_399_292_288_1e-7,
    2.711_555_568_743_487_6e-5,
    0.001_242_660_947_388_078_4,
    0.026_532_189_526_576_124,
    0.296_560_571_828_504_9,
    1.784_826_539_917_291_3,
    5.463_784_911_164_114,
    6.657_904_643_501_103,
];
const PPF_FAR_DEN: [f64; 8] = [
    2.044_263_103_389_939_7e-15,
    1.421_511_758_316_446e-7,
    1.846_318_317_510_054_8e-5,
    7.868_691_311_456_133e-4,
    0.014_875_361_290_850_615,
    0.136_929_880_922_735_8,
    0.599_832_206_555_887_9,
    1.0,
];

/// `((c0 r + c1) r + c2) ... r + c7`, in that order (the order the stream was defined with).
#[inline(always)]
fn horner8<V: Vd>(r: V, c: &[f64; 8]) -> V {
    let mut acc = r * V::splat(c[0]) + V::splat(c[1]);
    for &ck in &c[2..] {
        acc = acc * r + V::splat(ck);
    }
    acc
}

/// Inverse standard normal CDF: Wichura's AS241 (PPND16), relative accuracy ~1e-16.
/// `p` in `[0, 1]`; returns -inf/inf at the ends.
#[inline(always)]
pub fn norm_ppf(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * horner8(r, &PPF_CENTRAL_NUM) / horner8(r, &PPF_CENTRAL_DEN);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    if tail <= 0.0 {
        return if q < 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    // f64::sqrt (correctly rounded, like libm::sqrt) compiles to the VEX form in AVX code.
    let r = (-libm::log(tail)).sqrt();
    let val = if r <= 5.0 {
        let r = r - 1.6;
        horner8(r, &PPF_TAIL_NUM) / horner8(r, &PPF_TAIL_DEN)
    } else {
        let r = r - 5.0;
        horner8(r, &PPF_FAR_NUM) / horner8(r, &PPF_FAR_DEN)
    };
    if q < 0.0 {
        -val
    } else {
        val
    }
}

/// [`norm_ppf`] on float64 lanes, with the same bits: every branch is computed and the lanes
/// pick theirs. Lanes where the mask `rare` is true (a tail probability of zero or below
/// float64's normal range, where `log` needs libm's special cases) hold no result: the caller
/// recomputes them with [`norm_ppf`].
#[inline(always)]
pub fn norm_ppf_lanes<V: Vd>(p: V) -> (V, V) {
    let sp = V::splat;
    let q = p - sp(0.5);
    let central = q.and(V::splat_bits(0x7fff_ffff_ffff_ffff)).le(sp(0.425));
    let r = sp(0.180625) - q * q;
    let z_central = q * horner8(r, &PPF_CENTRAL_NUM) / horner8(r, &PPF_CENTRAL_DEN);
    let ones = V::splat_bits(u64::MAX);
    let in_tail = central.xor(ones);
    if !in_tail.any() {
        return (z_central, sp(0.0));
    }
    let lower = q.lt(sp(0.0));
    let tail = V::select(lower, p, sp(1.0) - p);
    let ok = sp(f64::MIN_POSITIVE).le(tail);
    let rare = central.or(ok).xor(ones);
    // Lanes that do not use the tail branch take log(0.5), so log sees only normal numbers.
    let tail = V::select(ok, tail, sp(0.5));
    let r = log_positive_normal(tail).xor(sp(-0.0)).sqrt();
    let r1 = r - sp(1.6);
    let mut val = horner8(r1, &PPF_TAIL_NUM) / horner8(r1, &PPF_TAIL_DEN);
    // r > 5 (a tail below 1.4e-11) is rare outside deep windows: skip it when no lane needs it.
    let beyond = r.le(sp(5.0)).xor(ones).and(in_tail);
    if beyond.any() {
        let r5 = r - sp(5.0);
        val = V::select(
            beyond,
            horner8(r5, &PPF_FAR_NUM) / horner8(r5, &PPF_FAR_DEN),
            val,
        );
    }
    let z_tail = V::select(lower, val.xor(sp(-0.0)), val);
    (V::select(central, z_central, z_tail), rare)
}

/// [`norm_ppf_lanes`] as a [`LaneFn`]: `[z, rare]`.
pub struct NormPpf;

impl LaneFn<2> for NormPpf {
    #[inline(always)]
    fn lanes<V: Vd>(&self, p: V) -> [V; 2] {
        let (z, rare) = norm_ppf_lanes(p);
        [z, rare]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Probabilities over every decade down to float64's subnormals, both tails, and the
    /// branch boundaries |q| = 0.425 and r = 5.
    fn ppf_probes() -> Vec<f64> {
        let mut ps = vec![
            0.0,
            1.0,
            0.5,
            0.075,
            0.925,
            1.388_794_386_496_402e-11,
            5e-324,
        ];
        let mut x: f64 = 1e-310;
        while x < 1.0 {
            for y in [x, 1.0 - x, 0.075 + x * 1e-3, 0.925 - x * 1e-3] {
                ps.push(y);
            }
            x *= 1.000_37;
        }
        ps
    }

    #[test]
    fn norm_ppf_lanes_match_scalar() {
        let mut rare = 0;
        for p in ppf_probes() {
            let (z, m) = norm_ppf_lanes(p);
            if m.to_bits() != 0 {
                rare += 1;
                assert!(
                    p == 0.0 || p == 1.0 || p < f64::MIN_POSITIVE,
                    "{p:e} flagged"
                );
            } else {
                assert_eq!(z.to_bits(), norm_ppf(p).to_bits(), "{p:e}");
            }
        }
        assert!(rare > 0, "the probes include zero tails");
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn norm_ppf_avx2_lanes_match_scalar() {
        use crate::simd::vector64::{map_lanes, on_avx2};
        let ps = ppf_probes();
        for c in ps.chunks_exact(8) {
            let c: &[f64; 8] = c.try_into().unwrap();
            let Some([z, m]) = on_avx2(&NormPpf, c) else {
                return; // no AVX2
            };
            let [wz, wm] = map_lanes::<f64, _, 8, 2>(&NormPpf, c);
            for i in 0..8 {
                assert_eq!(m[i].to_bits(), wm[i].to_bits(), "{:e}", c[i]);
                if wm[i].to_bits() == 0 {
                    assert_eq!(z[i].to_bits(), wz[i].to_bits(), "{:e}", c[i]);
                }
            }
        }
    }

    #[test]
    fn ln_f32_matches_libm() {
        let mut worst = 0.0f64;
        for i in 1..200_000u32 {
            let x = (i as f32) / 200_000.0;
            let got = ln_f32(x) as f64;
            let want = (x as f64).ln();
            worst = worst.max((got - want).abs() / want.abs().max(1e-30));
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert!((ln_f32(2f32.powi(-33)) as f64 - (2f64.powi(-33)).ln()).abs() < 1e-5);
    }

    #[test]
    fn cos_sin_turns_matches_libm() {
        let mut worst = 0.0f64;
        for i in 0..100_000u64 {
            let w = (i * 42_949) as u32 ^ (i as u32).rotate_left(17);
            let t = w as f64 / 4_294_967_296.0;
            let (c, s) = cos_sin_turns_f32(w);
            let a = 2.0 * std::f64::consts::PI * t;
            worst = worst
                .max((c as f64 - a.cos()).abs())
                .max((s as f64 - a.sin()).abs());
        }
        assert!(worst < 2e-7, "worst absolute error {worst}");
    }

    #[test]
    fn erfinv_central_matches_ppf() {
        let mut worst = 0.0f64;
        for i in 0..20_000 {
            let z = -2.9 + 5.8 * i as f64 / 20_000.0;
            let x = libm::erf(z * std::f64::consts::FRAC_1_SQRT_2);
            let got = std::f64::consts::SQRT_2 * erfinv_central_f32(x as f32) as f64;
            worst = worst.max((got - z).abs() / z.abs().max(0.1));
        }
        assert!(worst < 2e-6, "worst relative error {worst}");
    }

    #[test]
    fn ndtri_upper_matches_float64() {
        // Every decade from float32's smallest normal numbers to 1/2, with each window's
        // segment choice and with all segments.
        let all = Segments {
            central: true,
            tail: true,
            far: true,
        };
        let mut worst = 0.0f64;
        let mut q = NDTRI_MIN_Q as f64;
        while q <= 0.5 {
            let qf = q as f32;
            let xs = std::f32::consts::SQRT_2 - 2.0 * std::f32::consts::SQRT_2 * qf;
            let want = -norm_ppf(qf as f64);
            let own = Segments::for_range(qf as f64, qf as f64);
            for s in [own, all] {
                let got32 = ndtri_upper(qf, xs, s);
                let got = got32 as f64;
                // Relative beyond |z| = 1, absolute inside: here near the median `xs` carries
                // the absolute rounding of `q` (6e-8); the sampler passes an exact `xs`.
                let err = (got - want).abs() / want.abs().max(1.0);
                worst = worst.max(err);
                assert_eq!(
                    ndtri_upper(qf, xs, all).to_bits(),
                    got32.to_bits(),
                    "{q:e} {s:?}"
                );
            }
            q *= 1.0007;
        }
        assert!(worst < 4e-7, "worst relative error {worst}");
    }

    #[test]
    fn ppf_inverts_cdf() {
        // The upper tail loses precision in 1 - p (by design: callers reflect to the lower).
        for &x in &[
            -37.0, -20.0, -8.0, -5.5, -3.0, -1.0, -0.3, 0.0, 0.2, 1.5, 3.0,
        ] {
            let p = norm_cdf(x);
            let back = norm_ppf(p);
            assert!(
                (back - x).abs() <= 1e-9 * x.abs().max(1.0),
                "{x} -> {p} -> {back}"
            );
            if x > 0.0 {
                assert!((-norm_ppf(norm_cdf(-x)) - x).abs() <= 1e-9 * x);
            }
        }
    }
}
