//! Sampler accuracy: the same bits on every level (bitwise), the error against a float64
//! evaluation of the same map from words to values, the tail reach, and a Kolmogorov-Smirnov
//! test of 10^7 samples against the exact CDF.

use crate::gens::aes::Aes128;
use crate::gens::philox::{Layout512, Philox};
use crate::gens::{fill, Buf, Gen, Kernel, Lvl};
use crate::reference::{cdf, ndtri, ndtri_upper};
use crate::samplers::boxmuller::BoxMuller;
use crate::samplers::icdf::{IcdfNormal, TruncKernel};
use crate::samplers::uniform::Uniform;
use crate::samplers::ziggurat::{tables, Ziggurat};

const SEED: u64 = 0x5eed_0000_0000_0002;

/// The sampler cases: name, kernel, the law's CDF, and the float64 reference of element `e`
/// of a group from the group's words (None where the sampler has no closed form there).
/// The law's CDF.
pub type Cdf = Box<dyn Fn(f64) -> f64>;
/// The float64 reference of element `e` of a group from the group's words.
pub type Reference = Box<dyn Fn(&[u32], usize) -> Option<f64>>;

pub struct Case<K> {
    pub name: &'static str,
    pub k: K,
    pub cdf: Cdf,
    pub reference: Reference,
}

fn two31(w: u32) -> f64 {
    (w >> 1) as f64 * (1.0 / 2_147_483_648.0)
}

pub fn uniform_case() -> Case<Uniform> {
    let (a, b) = (-0.3f32, 0.7f32);
    Case {
        name: "uniform_(-0.3, 0.7), a + (b - a) u",
        k: Uniform::new(a, b, false),
        cdf: Box::new(move |x| ((x - a as f64) / (b as f64 - a as f64)).clamp(0.0, 1.0)),
        reference: Box::new(move |w, e| {
            Some(a as f64 + (b as f64 - a as f64) * ((w[e] >> 8) as f64 / 16_777_216.0))
        }),
    }
}

pub fn boxmuller_case() -> Case<BoxMuller> {
    Case {
        name: "normal_ Box-Muller (FMA)",
        k: BoxMuller::standard(),
        cdf: Box::new(cdf),
        reference: Box::new(|w, e| {
            let h = w.len() / 2;
            let (wr, wa, sin) = if e < h {
                (w[e], w[e + h], false)
            } else {
                (w[e - h], w[e], true)
            };
            let u = two31(wr) + 1.0 / 4_294_967_296.0;
            let r = (-2.0 * u.ln()).sqrt();
            let t = 2.0 * std::f64::consts::PI * (wa as f64 / 4_294_967_296.0);
            Some(if sin { r * t.sin() } else { r * t.cos() })
        }),
    }
}

pub fn icdf_case() -> Case<IcdfNormal> {
    Case {
        name: "normal_ inverse CDF (Giles erfinv, FMA)",
        k: IcdfNormal::standard(),
        cdf: Box::new(cdf),
        reference: Box::new(|w, e| {
            let m = w[e] & 0x7fff_ffff;
            let q = (m as f64 + 0.5) / 4_294_967_296.0;
            let z = ndtri_upper(q);
            Some(if w[e] >> 31 != 0 { -z } else { z })
        }),
    }
}

pub fn trunc_case(name: &'static str, mean: f64, std: f64, a: f64, b: f64) -> Case<TruncKernel> {
    let alpha = (a - mean) / std;
    let beta = (b - mean) / std;
    if !crate::samplers::icdf::float32_ok(alpha, beta) {
        println!("  note: {name} is beyond the float32 window limit (float64 in production)");
    }
    let k = TruncKernel::new(mean, std, a, b);
    let wide = matches!(k, TruncKernel::Wide(_));
    // The law's CDF without cancellation: from the upper tail for windows in the upper half.
    let upper_half = alpha > -beta;
    let law = move |x: f64| {
        let z = ((x - mean) / std).clamp(alpha, beta);
        if upper_half {
            (cdf(-alpha) - cdf(-z)) / (cdf(-alpha) - cdf(-beta))
        } else {
            (cdf(z) - cdf(alpha)) / (cdf(beta) - cdf(alpha))
        }
    };
    let (p_lo, q_hi) = (cdf(alpha), cdf(-beta));
    let span = if upper_half {
        cdf(-alpha) - q_hi
    } else {
        cdf(beta) - p_lo
    };
    Case {
        name,
        k,
        cdf: Box::new(law),
        reference: Box::new(move |w, e| {
            let z = if wide {
                let m = w[e] & 0x7fff_ffff;
                let z = ndtri_upper((m as f64 + 0.5) / 4_294_967_296.0);
                if w[e] >> 31 != 0 {
                    -z
                } else {
                    z
                }
            } else {
                // The same map in float64: below the median from the lower end, above from
                // the upper end.
                let k = (w[e] >> 1) as f64;
                let below = p_lo + k / 2_147_483_648.0 * span;
                let above = q_hi + (2_147_483_648.0 - k) / 2_147_483_648.0 * span;
                let z = if below <= 0.5 {
                    ndtri(below)
                } else {
                    ndtri_upper(above)
                };
                z.clamp(alpha, beta)
            };
            Some((mean + std * z).clamp(a, b))
        }),
    }
}

pub fn ziggurat_case() -> Case<Ziggurat> {
    Case {
        name: "normal_ ziggurat (128 layers)",
        k: Ziggurat::standard(SEED),
        cdf: Box::new(cdf),
        reference: Box::new(|w, e| {
            let t = tables();
            let (i, j) = ((w[e] & 127) as usize, w[e] >> 8);
            (j < t.k.0[i]).then(|| {
                let x = j as f64 * t.w64[i];
                if w[e] & 128 != 0 {
                    -x
                } else {
                    x
                }
            })
        }),
    }
}

/// Every level against the scalar path, bitwise, over `n` values from group `first`.
fn levels_equal<G: Gen, K: Kernel>(g: &G, k: &K, first: u64, n: usize) -> Result<(), String> {
    let mut want = Buf::<f32>::new(n);
    fill(Lvl::Scalar, g, k, first, &mut want, false);
    for lvl in [Lvl::Avx2, Lvl::Avx512] {
        if !lvl.available() {
            continue;
        }
        for nt in [false, true] {
            let mut got = Buf::<f32>::new(n);
            fill(lvl, g, k, first, &mut got, nt);
            if let Some(i) = (0..n).find(|&i| got[i].to_bits() != want[i].to_bits()) {
                return Err(format!(
                    "{} differs at {i}: {:e} vs scalar {:e}",
                    lvl.name(),
                    got[i],
                    want[i]
                ));
            }
        }
    }
    Ok(())
}

/// Kolmogorov's limiting distribution with Stephens' small-n correction: P(D_n > d).
pub fn ks_pvalue(n: usize, d: f64) -> f64 {
    let sn = (n as f64).sqrt();
    let l = (sn + 0.12 + 0.11 / sn) * d;
    let mut s = 0.0;
    for k in 1..100 {
        let t = 2.0 * (-2.0 * (k * k) as f64 * l * l).exp();
        s += if k % 2 == 1 { t } else { -t };
        if t < 1e-16 {
            break;
        }
    }
    s.clamp(0.0, 1.0)
}

/// The one-sample KS statistic of float32 samples against a continuous CDF.
pub fn ks(values: &[f32], f: &dyn Fn(f64) -> f64) -> (f64, f64) {
    let mut v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len() as f64;
    let mut d: f64 = 0.0;
    let mut i = 0;
    while i < v.len() {
        // Ties (float32 lattices): the empirical CDF jumps over the whole run.
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[i] {
            j += 1;
        }
        let fx = f(v[i]);
        d = d.max(fx - i as f64 / n).max((j + 1) as f64 / n - fx);
        i = j + 1;
    }
    (d, ks_pvalue(v.len(), d))
}

/// Errors of the scalar kernel against its float64 reference over `groups` groups, plus
/// extreme words substituted into the first group.
fn errors<G: Gen, K: Kernel>(g: &G, c: &Case<K>, groups: usize) -> (f64, f64, usize) {
    let w_len = G::WORDS;
    let mut words = vec![0u32; w_len];
    let mut vals = Buf::<f32>::new(w_len);
    let (mut max_abs, mut max_rel_tail, mut cmp) = (0f64, 0f64, 0usize);
    for gi in 0..groups as u64 {
        g.group_scalar(gi, &mut words);
        // Scalar kernel on these words (the levels are bitwise equal, checked separately).
        #[allow(clippy::needless_range_loop)]
        let wv: Vec<u32> = words.clone();
        c.k.run::<f32>(gi * w_len as u64, &wv, &mut vals);
        for e in 0..w_len {
            if let Some(r) = (c.reference)(&wv, e) {
                let err = (vals[e] as f64 - r).abs();
                max_abs = max_abs.max(err);
                if r.abs() >= 1.0 {
                    max_rel_tail = max_rel_tail.max(err / r.abs());
                }
                cmp += 1;
            }
        }
    }
    (max_abs, max_rel_tail, cmp)
}

/// Every word whose top 16 bits are extreme (0x0000, 0x0001, 0x7ffe, 0x7fff, 0x8000, 0x8001,
/// 0xfffe, 0xffff), in groups: non-finite outputs (counted), and the largest error against the
/// reference there. These are the words that reach u = 0 or 1, q = 2^-33 and the sign split.
fn edge_words<K: Kernel>(c: &Case<K>, w_len: usize) -> (usize, f64) {
    let mut words = Vec::new();
    for hi in [
        0x0000u32, 0x0001, 0x7ffe, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff,
    ] {
        for lo in 0..65536u32 {
            words.push(hi << 16 | lo);
        }
    }
    let (mut bad, mut max_abs) = (0usize, 0f64);
    let mut out = vec![0f32; w_len];
    for (gi, g) in words.chunks_exact(w_len).enumerate() {
        c.k.run::<f32>((gi * w_len) as u64, g, &mut out);
        for (e, &v) in out.iter().enumerate() {
            if !v.is_finite() {
                bad += 1;
            } else if let Some(r) = (c.reference)(g, e) {
                max_abs = max_abs.max((v as f64 - r).abs());
            }
        }
    }
    (bad, max_abs)
}

/// The sampler's output on extreme words (the reach).
fn extremes<K: Kernel>(k: &K, w_len: usize, words: &[u32]) -> f32 {
    let mut w = vec![0u32; w_len];
    let mut best = 0f32;
    for &x in words {
        for e in [0, w_len / 2] {
            w.iter_mut().for_each(|v| *v = 0);
            w[e] = x;
            let mut out = vec![0f32; w_len];
            k.run::<f32>(0, &w, &mut out);
            best = best.max(out.iter().fold(0f32, |m, v| m.max(v.abs())));
        }
    }
    best
}

fn report<G: Gen, K: Kernel>(g: &G, c: &Case<K>, ks_n: usize, fails: &mut usize) {
    let bits = levels_equal(g, &c.k, 1 << 20, 1 << 20)
        .and_then(|_| levels_equal(g, &c.k, u64::MAX / 4096, 1 << 14));
    let bits = match bits {
        Ok(()) => "yes".to_string(),
        Err(e) => {
            *fails += 1;
            format!("NO: {e}")
        }
    };
    let (abs, rel, cmp) = errors(g, c, 4096);
    let (bad, edge_abs) = edge_words(c, G::WORDS);
    if bad > 0 {
        *fails += 1;
        println!("  FAIL {}: {bad} non-finite values on edge words", c.name);
    }
    let abs = abs.max(edge_abs);
    let reach = extremes(
        &c.k,
        G::WORDS,
        &[
            0,
            1,
            2,
            0x7fff_ffff,
            0x8000_0000,
            0x8000_0001,
            u32::MAX,
            u32::MAX - 1,
        ],
    );
    let n = ks_n.div_ceil(G::WORDS) * G::WORDS;
    let mut v = Buf::<f32>::new(n);
    let lvl = if Lvl::Avx512.available() {
        Lvl::Avx512
    } else {
        Lvl::Avx2
    };
    fill(lvl, g, &c.k, 7_000_000, &mut v, false);
    let (d, p) = ks(&v, &*c.cdf);
    println!(
        "| {} | {} | {bits} | {:.2e} | {:.2e} | {} | {:.3} | {:.2e} | {:.3} |",
        c.name,
        g.name(),
        abs,
        rel,
        cmp,
        reach,
        d,
        p
    );
}

pub fn run(ks_n: usize) -> usize {
    let mut fails = 0;
    let aes = Aes128::new(SEED, 0);
    let philox7 = Philox::<7>::new(SEED, 0, Layout512::Lanes64);
    println!("\n## Sampler accuracy (KS on {ks_n} samples; errors over 4096 groups plus 524288 edge words, scalar = AVX2 = AVX-512 bitwise)\n");
    println!("| sampler | generator | levels bitwise equal | max abs error | max rel error, abs ref >= 1 | values compared | max abs value on extreme words | KS D | KS p |");
    println!("|---|---|---|---|---|---|---|---|---|");
    report(&aes, &uniform_case(), ks_n, &mut fails);
    report(&aes, &boxmuller_case(), ks_n, &mut fails);
    report(&philox7, &boxmuller_case(), ks_n, &mut fails);
    report(&aes, &icdf_case(), ks_n, &mut fails);
    report(&philox7, &icdf_case(), ks_n, &mut fails);
    report(&aes, &ziggurat_case(), ks_n, &mut fails);
    report(
        &aes,
        &trunc_case("trunc_normal_ std=1 [-2, 2]", 0.0, 1.0, -2.0, 2.0),
        ks_n,
        &mut fails,
    );
    report(
        &aes,
        &trunc_case(
            "trunc_normal_ std=0.02 [-2, 2] (wide)",
            0.0,
            0.02,
            -2.0,
            2.0,
        ),
        ks_n,
        &mut fails,
    );
    report(
        &aes,
        &trunc_case("trunc_normal_ std=1 [2, 3]", 0.0, 1.0, 2.0, 3.0),
        ks_n,
        &mut fails,
    );
    report(
        &aes,
        &trunc_case("trunc_normal_ std=1 [5, 6]", 0.0, 1.0, 5.0, 6.0),
        ks_n,
        &mut fails,
    );
    report(
        &aes,
        &trunc_case("trunc_normal_ mean=1 std=3 [-4, 0.5]", 1.0, 3.0, -4.0, 0.5),
        ks_n,
        &mut fails,
    );
    report(
        &aes,
        &trunc_case("trunc_normal_ std=1 [-9, 6.1]", 0.0, 1.0, -9.0, 6.1),
        ks_n,
        &mut fails,
    );
    report(
        &aes,
        &trunc_case("trunc_normal_ std=1 [8, 9]", 0.0, 1.0, 8.0, 9.0),
        ks_n,
        &mut fails,
    );
    report(
        &aes,
        &trunc_case("trunc_normal_ std=1 [12, 13]", 0.0, 1.0, 12.0, 13.0),
        ks_n,
        &mut fails,
    );
    println!("\nreach of the samplers (largest |z| any word gives): Box-Muller sqrt(-2 ln 2^-32) = {:.3}; inverse CDF -ndtri(2^-33) = {:.3}; ziggurat tail R - ln(2^-33)/R = {:.3}",
        (-2.0 * (2f64.powi(-32)).ln()).sqrt(),
        ndtri_upper(2f64.powi(-33)),
        3.442_619_855_899 + 33.0 * std::f64::consts::LN_2 / 3.442_619_855_899);
    println!("P(|Z| > 6.23) = {:.2e}, P(|Z| > 6.66) = {:.2e} (values a tensor of 2^32 elements would have beyond: {:.2}, {:.2})",
        2.0 * cdf(-6.23), 2.0 * cdf(-6.66), 2.0 * cdf(-6.23) * 2f64.powi(32), 2.0 * cdf(-6.66) * 2f64.powi(32));
    fails
}
