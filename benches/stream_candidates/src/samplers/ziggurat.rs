//! A 128-layer ziggurat (Marsaglia & Tsang, "The Ziggurat Method for Generating Random
//! Variables", JSS 2000: r = 3.442619855899, v = 9.91256303526217e-3), one word per value:
//! bits 0-6 the layer `i`, bit 7 the sign, bits 8-31 a 24-bit magnitude `j` (separate bits, unlike
//! the paper's overlapping index and value bits). Fast path: `x = j w[i]`, accepted when
//! `j < k[i]` (98.8% of values).
//!
//! Rejected lanes (a branch per vector) go to a scalar loop that draws from a counter-based
//! side stream, Philox4x32-10 at counter (lo e, hi e, attempt, 0xA11) with the caller's key,
//! so the value at element `e` stays a pure function of (key, e): the paper's wedge test with
//! `exp`, or Marsaglia's tail algorithm in the base layer. Float64 libm in that loop (the
//! same code on every level).
//!
//! Tables: `w[i] = x_i / 2^24` (float32) and `k[i] = floor(2^24 x_{i-1} / x_i)`-style integer
//! thresholds, computed in float64 at start-up from the recurrence in the paper.

use crate::gens::philox::Philox;
use crate::gens::Kernel;
use crate::simd::{clamp, Mask, Pack, Table, TableU, Vf, Vu};
use std::sync::OnceLock;

const R: f64 = 3.442_619_855_899;
const V_AREA: f64 = 9.912_563_035_262_17e-3;
const M1: f64 = 16_777_216.0; // 2^24

pub struct Tables {
    pub w: Table,
    pub k: TableU,
    /// f(x_i) = exp(-x_i^2 / 2), float64, for the wedge test.
    pub f: [f64; 128],
    pub w64: [f64; 128],
}

pub fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let mut k = [0u32; 128];
        let mut w = [0f64; 128];
        let mut f = [0f64; 128];
        let mut dn = R;
        let mut tn = dn;
        let q = V_AREA / (-0.5 * dn * dn).exp();
        k[0] = ((dn / q) * M1) as u32;
        k[1] = 0;
        w[0] = q / M1;
        w[127] = dn / M1;
        f[0] = 1.0;
        f[127] = (-0.5 * dn * dn).exp();
        for i in (1..=126).rev() {
            dn = (-2.0 * (V_AREA / dn + (-0.5 * dn * dn).exp()).ln()).sqrt();
            k[i + 1] = ((dn / tn) * M1) as u32;
            tn = dn;
            f[i] = (-0.5 * dn * dn).exp();
            w[i] = dn / M1;
        }
        let mut wt = Table([0.0; 128]);
        for (t, &x) in wt.0.iter_mut().zip(&w) {
            *t = x as f32;
        }
        Tables {
            w: wt,
            k: TableU(k),
            f,
            w64: w,
        }
    })
}

pub struct Ziggurat {
    pub key: [u32; 2],
    pub mean: f32,
    pub std: f32,
    pub lo: f32,
    pub hi: f32,
    /// Measurement aid: keep the fast-path candidate in rejected lanes (wrong law) to time the
    /// fast path alone.
    pub skip_rejections: bool,
}

impl Ziggurat {
    pub fn standard(seed: u64) -> Self {
        Ziggurat {
            key: [seed as u32, (seed >> 32) as u32],
            mean: 0.0,
            std: 1.0,
            lo: -f32::MAX,
            hi: f32::MAX,
            skip_rejections: false,
        }
    }
}

/// The slow path for the value at element `e` whose first word `w0` was rejected.
pub fn rejected(key: [u32; 2], e: u64, w0: u32) -> f32 {
    let t = tables();
    let mut word = w0;
    let mut attempt = 0u32;
    loop {
        let i = (word & 127) as usize;
        let neg = word & 128 != 0;
        let j = word >> 8;
        let sgn = |x: f64| if neg { -x } else { x };
        // Fresh uniforms for this attempt: 4 words of the side stream.
        let s = Philox::<10>::block(key, [e as u32, (e >> 32) as u32, attempt, 0xA11]);
        attempt += 1;
        let u01 = |x: u32| (x as f64 + 0.5) * (1.0 / 4_294_967_296.0);
        if (j as u64) < t.k.0[i] as u64 {
            return sgn(j as f64 * t.w64[i]) as f32;
        }
        let x = j as f64 * t.w64[i];
        if i == 0 {
            // Tail beyond R (Marsaglia 1964): words 0, 1 of this attempt, then further
            // attempts' blocks until accepted.
            let mut s = s;
            loop {
                let xt = -u01(s[0]).ln() / R;
                let y = -u01(s[1]).ln();
                if y + y >= xt * xt {
                    return sgn(R + xt) as f32;
                }
                s = Philox::<10>::block(key, [e as u32, (e >> 32) as u32, attempt, 0xA11]);
                attempt += 1;
            }
        }
        if t.f[i] + u01(s[0]) * (t.f[i - 1] - t.f[i]) < (-0.5 * x * x).exp() {
            return sgn(x) as f32;
        }
        word = s[1];
    }
}

impl Kernel for Ziggurat {
    #[inline(always)]
    fn run<V: Vf>(&self, e0: u64, w: &[V::U], out: &mut [f32]) {
        let t = tables();
        let sp = <Pack<V, 2> as Vf>::splat;
        let (mean, std, lo, hi) = (sp(self.mean), sp(self.std), sp(self.lo), sp(self.hi));
        let n = 2 * V::LANES;
        for (k, c) in w.chunks_exact(2).enumerate() {
            let wv = Pack::<V::U, 2>([c[0], c[1]]);
            let j = wv.shr::<8>();
            let x = j.i32_to_f32().mul(wv.lookup(&t.w));
            let ok = j.lt_i32(wv.lookup_u(&t.k));
            let sign = wv.and(Vu::splat(128)).shl::<24>();
            let z = x.to_bits().xor(sign).as_f32();
            let o = &mut out[k * n..(k + 1) * n];
            clamp(z.fma(std, mean), lo, hi).store(o);
            if !ok.all() && !self.skip_rejections {
                // Rare (about 18% of 16-lane vectors): redo the rejected lanes one by one.
                let mut words = [0f32; 32];
                Pack::<V, 2>([wv.0[0].as_f32(), wv.0[1].as_f32()]).store(&mut words);
                for (lane, word) in words[..n].iter().map(|x| x.to_bits()).enumerate() {
                    if word >> 8 >= t.k.0[(word & 127) as usize] {
                        let e = e0.wrapping_add((k * n + lane) as u64);
                        let v = rejected(self.key, e, word);
                        o[lane] = clamp::<f32>(v.mul_add(self.std, self.mean), self.lo, self.hi);
                    }
                }
            }
        }
    }
}
