//! Box-Muller with FMA: the first half of a group's words give radii, the second half angles.
//! Element `e < W/2` is `r(w_e) cos(theta(w_{e+W/2}))`, element `e + W/2` the same pair's sine.
//! Radius `sqrt(-2 ln u)`, `u = (w >> 1) 2^-31 + 2^-32` in (0, 1) (|z| <= 6.66);
//! angle `2 pi w / 2^32`, reduced exactly in integers.

use super::{math, unit31};
use crate::gens::Kernel;
use crate::simd::{clamp, Pack, Vf};

pub struct BoxMuller {
    pub mean: f32,
    pub std: f32,
    pub lo: f32,
    pub hi: f32,
}

impl BoxMuller {
    pub fn standard() -> Self {
        BoxMuller {
            mean: 0.0,
            std: 1.0,
            lo: -f32::MAX,
            hi: f32::MAX,
        }
    }
}

/// `(r cos, r sin)` of one pair of word vectors.
#[inline(always)]
pub fn pair<V: Vf>(wr: V::U, wa: V::U) -> (V, V) {
    let u: V = unit31(wr, 1.0, 1.0 / 4_294_967_296.0);
    let r = math::ln_fast(u).mul(V::splat(-2.0)).sqrt();
    let (c, s) = math::cos_sin_turns::<V>(wa);
    (r.mul(c), r.mul(s))
}

#[inline(always)]
fn run_packs<V: Vf, const P: usize>(k: &BoxMuller, w: &[V::U], out: &mut [f32]) {
    let sp = <Pack<V, P> as Vf>::splat;
    let (mean, std, lo, hi) = (sp(k.mean), sp(k.std), sp(k.lo), sp(k.hi));
    crate::map_half_pairs!(V, P, w, out, |a, b| {
        let (x, y) = pair::<Pack<V, P>>(a, b);
        (
            clamp(x.fma(std, mean), lo, hi),
            clamp(y.fma(std, mean), lo, hi),
        )
    });
}

impl Kernel for BoxMuller {
    #[inline(always)]
    fn run<V: Vf>(&self, _e0: u64, w: &[V::U], out: &mut [f32]) {
        // Box-Muller keeps two packs (radius and angle) live: 2 registers each on AVX-512.
        if V::LANES == 16 {
            run_packs::<V, 2>(self, w, out)
        } else {
            run_packs::<V, 1>(self, w, out)
        }
    }
}
