//! Float32 elementary functions with FMA, the same source on every level.
//!
//! `ln_fast`: Cephes' re-biased reduction, a 16-entry table and a degree-4 polynomial.
//! `cos_sin_turns`: Cephes `sinf`/`cosf` polynomials on [-pi/4, pi/4] after an exact integer
//! quadrant reduction of the angle `2 pi w / 2^32`.
//! `erfinv_*`: M. Giles, "Approximating the erfinv function" (GPU Computing Gems Jade, 2011),
//! single-precision coefficients, restated on the tail probability (see icdf.rs).

use crate::simd::{horner, horner2, Mask, Table16, Vf, Vu};
use std::sync::OnceLock;

const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `ln_fast` reduces `x = 2^e m` with `m` in [0.703125, 1.40625): the bits of `x` minus
/// `LN_REBIAS` put `m`'s offset in the low 23 bits, whose top 4 bits pick one of 16 intervals.
/// The constant centres interval 9 (in the bit pattern) on m = 1, so that interval uses
/// `r0 = 1` and `-ln r0 = 0` exactly: near x = 1, `d = x - 1` is exact and ln(1) = 0 exactly
/// (no cancellation, no tiny negative logarithm for `sqrt(-2 ln u)`).
pub const LN_REBIAS: u32 = 0x3f34_0000;

/// The tables of [`ln_fast`]: per interval, `r0 = 1 / m0` at a point `m0` inside it (its
/// midpoint, or exactly 1 for the interval that holds 1), rounded to float32, and `-ln r0`
/// (float64, then rounded).
pub struct LnTables {
    pub r0: Table16,
    pub ln_m0: Table16,
}

pub fn ln_tables() -> &'static LnTables {
    static T: OnceLock<LnTables> = OnceLock::new();
    T.get_or_init(|| {
        let mut r0 = Table16([0.0; 16]);
        let mut l = Table16([0.0; 16]);
        for i in 0..16u32 {
            let lo = f32::from_bits((i << 19) + LN_REBIAS) as f64;
            let hi = f32::from_bits(((i + 1) << 19) + LN_REBIAS) as f64;
            let m0 = if lo <= 1.0 && 1.0 < hi {
                1.0
            } else {
                0.5 * (lo + hi)
            };
            r0.0[i as usize] = (1.0 / m0) as f32;
            l.0[i as usize] = (-(r0.0[i as usize] as f64).ln()) as f32;
        }
        LnTables { r0, ln_m0: l }
    })
}

/// Natural logarithm of normal positive `x` with a 16-entry table: `x = 2^e m` (see
/// [`LN_REBIAS`]); `d = m r0 - 1` in one FMA (|d| <= 1/32, relative error 2^-24); `ln(1 + d)`
/// by its degree-4 Taylor polynomial (truncation below 1/32^5 / 5 = 6e-9);
/// `ln x = e ln 2 - ln r0 + ln(1 + d)`. About 8 floating-point operations instead of `ln`'s
/// 15; the lookups are exact data movement (one `vpermps` on AVX-512, two and a blend on
/// AVX2), so every level has the same bits.
#[inline(always)]
pub fn ln_fast<V: Vf>(x: V) -> V {
    let t = ln_tables();
    let shifted = x.to_bits().sub(V::U::splat(LN_REBIAS));
    let e = shifted.sar::<23>().i32_to_f32();
    let idx = shifted.shr::<19>();
    let m = shifted
        .and(V::U::splat(0x007f_ffff))
        .add(V::U::splat(LN_REBIAS))
        .as_f32();
    let d = m.fma(idx.lookup16(&t.r0), V::splat(-1.0));
    let d2 = d.mul(d);
    let p = horner(d, -0.25, [1.0 / 3.0, -0.5]);
    let l1 = d2.fma(p, d);
    let lm = l1.add(idx.lookup16(&t.ln_m0));
    e.fma(V::splat(LN2_HI), e.fma(V::splat(LN2_LO), lm))
}

/// `(cos(2 pi t), sin(2 pi t))` for `t = w / 2^32`.
#[inline(always)]
pub fn cos_sin_turns<V: Vf>(w: V::U) -> (V, V) {
    let shifted = w.add(V::U::splat(1 << 29));
    let q = shifted.shr::<30>();
    let r = shifted
        .and(V::U::splat(0x3fff_ffff))
        .sub(V::U::splat(1 << 29));
    let x = r.i32_to_f32().mul(V::splat(1.462_918e-9)); // 2 pi / 2^32
    let z = x.mul(x);
    let s = horner(z, -1.951_529_6e-4, [8.332_161e-3, -1.666_665_5e-1])
        .mul(z)
        .fma(x, x);
    let c = horner(z, 2.443_315_7e-5, [-1.388_731_6e-3, 4.166_664_6e-2])
        .mul(z)
        .fma(z, V::splat(-0.5).fma(z, V::splat(1.0)));
    // Rotate by q quarter turns: (c, s), (-s, c), (-c, -s), (s, -c).
    let even = q.and(V::U::splat(1)).lt_i32(V::U::splat(1));
    let (cc, ss) = (V::select(even, c, s), V::select(even, s, c));
    let cos_sign = q.add(V::U::splat(1)).and(V::U::splat(2)).shl::<30>();
    let sin_sign = q.and(V::U::splat(2)).shl::<30>();
    (
        cc.to_bits().xor(cos_sign).as_f32(),
        ss.to_bits().xor(sin_sign).as_f32(),
    )
}

/// Giles' central branch (w = -ln(1 - x^2) < 5), times sqrt(2): `sqrt(2) erfinv(x) / x`.
#[inline(always)]
pub fn erfinv_central_over_x<V: Vf>(w: V) -> V {
    let w = w.sub(V::splat(2.5));
    horner2(
        w,
        2.810_226_4e-8,
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

/// Giles' tail branch (5 <= w <= 16): `erfinv(x) / x`, from `s = sqrt(w)`.
#[inline(always)]
pub fn erfinv_tail_over_x<V: Vf>(s: V) -> V {
    let w = s.sub(V::splat(3.0));
    horner2(
        w,
        -2.002_142_6e-4,
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

/// Far tail (16 < w <= 88, i.e. q from 3e-8 down to float32's smallest normal numbers, |z| up
/// to 13.2), beyond the range Giles fitted for float32: `erfinv(x) / x` as a degree-8
/// polynomial in `sqrt(w) - 6.6875`, least-squares fit of the relative error on Chebyshev nodes
/// against SciPy's float64 `ndtri` (2e-8 in float64, 1.6e-7 with float32 coefficients).
#[inline(always)]
pub fn erfinv_far_over_x<V: Vf>(s: V) -> V {
    let t = s.sub(V::splat(6.6875));
    horner2(
        t,
        2.529_861_5e-8,
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

/// Which branches of [`ndtri_upper`] a call computes. `Auto` branches per vector on what its
/// lanes need (the normal sampler: tail lanes are rare). A truncated normal knows from its
/// window which branches can occur and computes exactly those without branching (a window
/// like [2, 3] has tail lanes in about a quarter of its vectors, at random, which mispredicts).
/// Every lane still selects by its own `w`, so the values are the same as with `Auto` wherever
/// `Auto` would compute the same branch, and every level gives the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Branches {
    pub auto: bool,
    pub central: bool,
    pub tail: bool,
    pub far: bool,
}

impl Branches {
    pub const AUTO: Branches = Branches {
        auto: true,
        central: true,
        tail: true,
        far: true,
    };

    /// The branches needed when every lane's lower-tail probability lies in [q_min, q_max]
    /// (q_max <= 1/2), with a margin around the boundaries w = 5 and w = 16.
    pub fn for_range(q_min: f64, q_max: f64) -> Branches {
        let w = |q: f64| -(4.0 * q * (1.0 - q)).ln();
        let (w_lo, w_hi) = (w(q_max), w(q_min));
        Branches {
            auto: false,
            central: w_lo < 5.1,
            tail: w_hi > 4.9 && w_lo < 16.1,
            far: w_hi > 15.9,
        }
    }
}

/// `-ndtri(q)` for a lower-tail probability `q` in (0, 0.5], given also
/// `xs = sqrt(2) (1 - 2 q)` (each computed by the caller with full relative precision):
/// `sqrt(2) erfinv(1 - 2 q)`, >= 0.
/// `w = -ln(4 q (1 - q)) = -ln(1 - x^2)`, with `4 q (1 - q)` from one FMA, so `w` keeps its
/// precision in the tail (where `1 - x^2` from `x` would cancel).
#[inline(always)]
pub fn ndtri_upper<V: Vf>(q: V, xs: V, b: Branches) -> V {
    let q4 = q.mul(V::splat(4.0));
    let t = q4.fnma(q, q4);
    let w = V::splat(0.0).sub(ln_fast(t));
    let tail = V::splat(5.0).lt(w);
    let far = V::splat(16.0).lt(w);
    let r = if b.auto {
        let mut r = erfinv_central_over_x(w);
        if tail.any() {
            let s = w.sqrt();
            let mut rt = erfinv_tail_over_x(s);
            if far.any() {
                rt = V::select(far, erfinv_far_over_x(s), rt);
            }
            r = V::select(tail, rt, r);
        }
        r
    } else {
        let s = if b.tail || b.far { w.sqrt() } else { w };
        let mut r = if b.central {
            erfinv_central_over_x(w)
        } else {
            erfinv_tail_over_x(s)
        };
        if b.tail && b.central {
            r = V::select(tail, erfinv_tail_over_x(s), r);
        }
        if b.far {
            r = if b.tail || b.central {
                V::select(far, erfinv_far_over_x(s), r)
            } else {
                erfinv_far_over_x(s)
            };
        }
        r
    };
    r.mul(xs)
}
