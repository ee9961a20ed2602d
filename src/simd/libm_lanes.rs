//! `libm`'s float64 `log` and `sincos`, restated as straight-line lane code that vectorizes.
//!
//! Invariant: for the inputs each function documents, the result has the same bits as the
//! `libm` crate's (musl / FreeBSD msun) function, because it performs the same IEEE operations
//! in the same order (no fused multiply-add, none of it reassociated). The float64 normal
//! stream was defined with `libm`, so the SIMD path must reproduce it exactly; calling `libm`
//! once per lane kept it scalar (0.05 Gelem/s per core). Branches of the originals that the
//! callers' inputs take rarely are not restated: [`sincos_lanes`] reports them, and the caller
//! recomputes those lanes with `libm` itself.

use crate::simd::vector64::{LaneFn, Vd};

// libm's constants, by their bits (the decimal forms in its source round to these).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000); // 6.93147180369123816490e-01
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76); // 1.90821492927058770002e-10
const LG1: f64 = f64::from_bits(0x3fe5_5555_5555_5593); // 6.666666666666735130e-01
const LG2: f64 = f64::from_bits(0x3fd9_9999_9997_fa04); // 3.999999999940941908e-01
const LG3: f64 = f64::from_bits(0x3fd2_4924_9422_9359); // 2.857142874366239149e-01
const LG4: f64 = f64::from_bits(0x3fcc_71c5_1d8e_78af); // 2.222219843214978396e-01
const LG5: f64 = f64::from_bits(0x3fc7_4664_96cb_03de); // 1.818357216161805012e-01
const LG6: f64 = f64::from_bits(0x3fc3_9a09_d078_c69f); // 1.531383769920937332e-01
const LG7: f64 = f64::from_bits(0x3fc2_f112_df3e_5244); // 1.479819860511658591e-01
const S1: f64 = f64::from_bits(0xbfc5_5555_5555_5549); // -1.66666666666666324348e-01
const S2: f64 = f64::from_bits(0x3f81_1111_1110_f8a6); // 8.33333333332248946124e-03
const S3: f64 = f64::from_bits(0xbf2a_01a0_19c1_61d5); // -1.98412698298579493134e-04
const S4: f64 = f64::from_bits(0x3ec7_1de3_57b1_fe7d); // 2.75573137070700676789e-06
const S5: f64 = f64::from_bits(0xbe5a_e5e6_8a2b_9ceb); // -2.50507602534068634195e-08
const S6: f64 = f64::from_bits(0x3de5_d93a_5acf_d57c); // 1.58969099521155010221e-10
const C1: f64 = f64::from_bits(0x3fa5_5555_5555_554c); // 4.16666666666666019037e-02
const C2: f64 = f64::from_bits(0xbf56_c16c_16c1_5177); // -1.38888888888741095749e-03
const C3: f64 = f64::from_bits(0x3efa_01a0_19cb_1590); // 2.48015872894767294178e-05
const C4: f64 = f64::from_bits(0xbe92_7e4f_809c_52ad); // -2.75573143513906633035e-07
const C5: f64 = f64::from_bits(0x3e21_ee9e_bdb4_b1c4); // 2.08757232129817482790e-09
const C6: f64 = f64::from_bits(0xbda8_fae9_be88_38d4); // -1.13596475577881948265e-11
const PIO2_1: f64 = f64::from_bits(0x3ff9_21fb_5440_0000); // 1.57079632673412561417e+00
const PIO2_1T: f64 = f64::from_bits(0x3dd0_b461_1a62_6331); // 6.07710050650619224932e-11

/// `libm::log(x)` for positive normal lanes (not 0, subnormal, infinite or NaN).
#[inline(always)]
pub fn log_positive_normal<V: Vd>(x: V) -> V {
    // libm reduces x into [sqrt(2)/2, sqrt(2)) times 2^k on the high word:
    //   hx += 0x3ff00000 - 0x3fe6a09e; k = (hx >> 20) - 0x3ff; hx = (hx & 0xfffff) + 0x3fe6a09e.
    // The add cannot carry out of the high word, so it is a u64 add of the shifted constant;
    // `k as f64` is the exponent field read through the mantissa of 2^52, minus the bias.
    // (libm's special case x == 1 gives +0, and so does the general formula.)
    let t = x.bits_add((0x3ff0_0000 - 0x3fe6_a09e) << 32);
    let biased = t.bits_shr::<52>().or(V::splat_bits(0x4330_0000_0000_0000)) - V::splat(TWO52);
    let dk = biased - V::splat(1023.0);
    let x = t
        .and(V::splat_bits(0x000f_ffff_ffff_ffff))
        .bits_add(0x3fe6_a09e << 32);
    let f = x - V::splat(1.0);
    let hfsq = V::splat(0.5) * f * f;
    let s = f / (V::splat(2.0) + f);
    let z = s * s;
    let w = z * z;
    let sp = V::splat;
    let t1 = w * (sp(LG2) + w * (sp(LG4) + w * sp(LG6)));
    let t2 = z * (sp(LG1) + w * (sp(LG3) + w * (sp(LG5) + w * sp(LG7))));
    let r = t2 + t1;
    s * (hfsq + r) + dk * sp(LN2_LO) - hfsq + f + dk * sp(LN2_HI)
}

const TWO52: f64 = 4_503_599_627_370_496.0;

/// The lanes `x` whose high word (libm's `ix`) is at most `hi`: for `x >= 0` the order of the
/// bits is the order of the values.
#[inline(always)]
fn hw_le<V: Vd>(x: V, hi: u64) -> V {
    x.le(V::splat_bits((hi << 32) | 0xffff_ffff))
}

/// The lanes `x` whose high word is `hi`.
#[inline(always)]
fn hw_eq<V: Vd>(x: V, hi: u64) -> V {
    V::splat_bits(hi << 32).le(x).and(hw_le(x, hi))
}

/// `(libm::sin(x), libm::cos(x), rare)` for lanes `0 <= x < 2 pi`, as `libm::sincos` computes
/// them. Lanes where the mask `rare` is true (x below 2^-27 sqrt 2, or within about 2^-20 of
/// pi/2, pi, 3 pi/2 or 2 pi, where libm takes its careful reduction) hold no result: the
/// caller recomputes them with libm.
#[inline(always)]
pub fn sincos_lanes<V: Vd>(x: V) -> (V, V, V) {
    // |x| <= pi/4 (ix <= 0x3fe921fb): no reduction, and k_sin's `iy == 0` form.
    let small = hw_le(x, 0x3fe9_21fb);
    let rare = x
        .lt(V::splat_bits(0x3e46_a09e << 32))
        .or(hw_eq(x, 0x3ff9_21fb))
        .or(hw_eq(x, 0x4009_21fb))
        .or(hw_eq(x, 0x4012_d97c))
        .or(hw_eq(x, 0x4019_21fb));
    // rem_pio2's short cases, x - n pi/2 in two pieces: n = 1 up to ix 0x4002d97c, 2 up to
    // 0x400f6a7a, 3 up to 0x4015fdbc, 4 above.
    let (m1, m2, m3) = (
        hw_le(x, 0x4002_d97c),
        hw_le(x, 0x400f_6a7a),
        hw_le(x, 0x4015_fdbc),
    );
    let pick = |v: [f64; 4]| {
        let sp = V::splat;
        V::select(
            m1,
            sp(v[0]),
            V::select(m2, sp(v[1]), V::select(m3, sp(v[2]), sp(v[3]))),
        )
    };
    let c1 = pick([PIO2_1, 2.0 * PIO2_1, 3.0 * PIO2_1, 4.0 * PIO2_1]);
    let c1t = pick([PIO2_1T, 2.0 * PIO2_1T, 3.0 * PIO2_1T, 4.0 * PIO2_1T]);
    let z = x - c1;
    let r0 = z - c1t;
    let r1 = (z - r0) - c1t;
    let y0 = V::select(small, x, r0);
    let y1 = V::select(small, V::splat(0.0), r1);
    // k_sin(y0, y1, iy) and k_cos(y0, y1).
    let sp = V::splat;
    let z = y0 * y0;
    let w = z * z;
    let r = sp(S2) + z * (sp(S3) + z * sp(S4)) + z * w * (sp(S5) + z * sp(S6));
    let v = z * y0;
    let s_small = y0 + v * (sp(S1) + z * r);
    let s_reduced = y0 - ((z * (sp(0.5) * y1 - v * r) - y1) - v * sp(S1));
    let s = V::select(small, s_small, s_reduced);
    let r = z * (sp(C1) + z * (sp(C2) + z * sp(C3))) + w * w * (sp(C4) + z * (sp(C5) + z * sp(C6)));
    let hz = sp(0.5) * z;
    let w = sp(1.0) - hz;
    let c = w + (((sp(1.0) - w) - hz) + (z * r - y0 * y1));
    // The quadrant n & 3 (0 when small): (sin, cos) = (s, c), (c, -s), (-s, -c), (-c, s).
    let neg = |a: V| a.xor(V::splat(-0.0));
    let by_n =
        |q1: V, q2: V, q3: V, q0: V| V::select(m1, q1, V::select(m2, q2, V::select(m3, q3, q0)));
    let sin = V::select(small, s, by_n(c, neg(s), neg(c), s));
    let cos = V::select(small, c, by_n(neg(s), neg(c), s, c));
    (sin, cos, rare)
}

/// [`sincos_lanes`] as a [`LaneFn`]: `[sin, cos, rare]`.
pub struct SinCos;

impl LaneFn<3> for SinCos {
    #[inline(always)]
    fn lanes<V: Vd>(&self, angle: V) -> [V; 3] {
        let (s, c, rare) = sincos_lanes(angle);
        [s, c, rare]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_matches_libm() {
        let mut x: f64 = 1.0 / 9_007_199_254_740_992.0 / 2.0;
        let mut i = 0u64;
        while x <= 1.0 {
            for y in [x, f64::from_bits(x.to_bits() + (i % 977)), 1.0] {
                assert_eq!(
                    log_positive_normal(y).to_bits(),
                    libm::log(y).to_bits(),
                    "{y:e}"
                );
            }
            x *= 1.000_013_7;
            i += 1;
        }
        for y in [f64::MIN_POSITIVE, 0.5, 2.0, 1e300, std::f64::consts::SQRT_2] {
            assert_eq!(log_positive_normal(y).to_bits(), libm::log(y).to_bits());
        }
    }

    #[test]
    fn sincos_matches_libm_on_0_to_2pi() {
        let two_pi = 2.0 * std::f64::consts::PI;
        let check = |x: f64| {
            let (s, c, rare) = sincos_lanes(x);
            let rare = rare.to_bits() != 0;
            if !rare {
                let (ws, wc) = libm::sincos(x);
                assert_eq!(
                    (s.to_bits(), c.to_bits()),
                    (ws.to_bits(), wc.to_bits()),
                    "{x:e}"
                );
            }
            rare
        };
        // Exactly the stream's arguments 2 pi u, u = k 2^-53, on a dense sweep...
        let mut rare = 0;
        for k in 0..2_000_000u64 {
            let u = (k.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 11) as f64 / 9_007_199_254_740_992.0;
            rare += check(two_pi * u) as u32;
        }
        assert!(rare < 100, "{rare} rare lanes in 2e6");
        // ...and around every branch boundary of sincos and rem_pio2.
        for hi in [
            0x3e46_a09e_u32,
            0x3fe9_21fb,
            0x3ff9_21fb,
            0x4002_d97c,
            0x4009_21fb,
            0x400f_6a7a,
            0x4012_d97c,
            0x4015_fdbc,
            0x4019_21fb,
        ] {
            for d in -3i64..=3 {
                for lo in [0u32, 1, 0x5444_2d18, 0xffff_ffff] {
                    let b = (((hi as i64 + d) as u64) << 32) | lo as u64;
                    let x = f64::from_bits(b);
                    if (0.0..two_pi).contains(&x) {
                        check(x);
                    }
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_lanes_match_scalar() {
        use crate::simd::vector64::{map_lanes, on_avx2};
        struct Log;
        impl LaneFn<1> for Log {
            fn lanes<V: Vd>(&self, x: V) -> [V; 1] {
                [log_positive_normal(x)]
            }
        }
        let two_pi = 2.0 * std::f64::consts::PI;
        let mut rare = 0;
        for k in 0..250_000u64 {
            let h = |i: usize| (k * 8 + i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 11;
            let u: [f64; 8] =
                std::array::from_fn(|i| (h(i) as f64 + 0.5) / 9_007_199_254_740_992.0);
            let a: [f64; 8] =
                std::array::from_fn(|i| two_pi * (h(i + 7) as f64 / 9_007_199_254_740_992.0));
            let (Some([log]), Some(got)) = (on_avx2(&Log, &u), on_avx2(&SinCos, &a)) else {
                return; // no AVX2
            };
            let [s, c, m] = map_lanes::<f64, _, 8, 3>(&SinCos, &a);
            for i in 0..8 {
                assert_eq!(
                    log[i].to_bits(),
                    libm::log(u[i]).to_bits(),
                    "log {:e}",
                    u[i]
                );
                assert_eq!(got[2][i].to_bits(), m[i].to_bits(), "rare {:e}", a[i]);
                if m[i].to_bits() == 0 {
                    assert_eq!(
                        (got[0][i].to_bits(), got[1][i].to_bits()),
                        (s[i].to_bits(), c[i].to_bits())
                    );
                } else {
                    rare += 1;
                }
            }
        }
        assert!(rare < 100, "{rare}");
    }
}
