//! `uniform_(a, b)` in float32: `u` = the top 24 bits of a word times 2^-24 (exact), then either
//! `a + (b - a) u` (one FMA) or the lerp form `a (1 - u) + b u` (cannot overflow for finite
//! a, b; two FMAs), clamped into [lo, hi].

use crate::gens::Kernel;
use crate::simd::{clamp, Pack, Vf, Vu};

pub struct Uniform {
    pub a: f32,
    pub b: f32,
    pub lo: f32,
    pub hi: f32,
    pub lerp: bool,
}

impl Uniform {
    pub fn new(a: f32, b: f32, lerp: bool) -> Self {
        Uniform {
            a,
            b,
            lo: a,
            hi: b,
            lerp,
        }
    }
}

impl Kernel for Uniform {
    #[inline(always)]
    fn run<V: Vf>(&self, _e0: u64, w: &[V::U], out: &mut [f32]) {
        let sp = <Pack<V, 4> as Vf>::splat;
        let (lo, hi) = (sp(self.lo), sp(self.hi));
        if self.lerp {
            let (a, b) = (sp(self.a), sp(self.b));
            crate::map_packs!(V, 4, w, out, |w| {
                let u = w.shr::<8>().i32_to_f32().mul(sp(1.0 / 16_777_216.0));
                clamp(u.fma(b, u.fnma(a, a)), lo, hi)
            });
        } else {
            let d = sp((self.b - self.a) * (1.0 / 16_777_216.0));
            let a = sp(self.a);
            crate::map_packs!(V, 4, w, out, |w| {
                clamp(w.shr::<8>().i32_to_f32().fma(d, a), lo, hi)
            });
        }
    }
}
