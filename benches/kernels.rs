//! Single-thread throughput of each sampler kernel (elements per second), for tuning the SIMD
//! paths without Python in the way: `cargo bench --bench kernels`.
//! Set FERROINIT_FORCE_SCALAR=1 to measure the one-lane reference path.

use ferroinit::element::DType;
use ferroinit::fill::Writer;
use ferroinit::philox::Philox4x32;
use std::time::Instant;

fn bench<W: Writer>(name: &str, w: &W) {
    let n = 1 << 22;
    let mut v = vec![0f32; n];
    let mut scratch = Vec::new();
    let mut best = f64::MAX;
    for _ in 0..15 {
        let t = Instant::now();
        w.write(0, &mut v, &mut scratch);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{name:>14}: {:6.2} Gelem/s  {:6.2} GB/s  ({})",
        n as f64 / best / 1e9,
        n as f64 * 4.0 / best / 1e9,
        ferroinit::simd::level().name()
    );
}

#[target_feature(enable = "avx2,fma,bmi2")]
unsafe fn philox_words(rng: &Philox4x32, blocks: u64) -> u32 {
    let mut acc = 0u32;
    let mut b = 0;
    while b < blocks {
        let w = rng.blocks_with::<16, ferroinit::philox::Avx2>(b);
        for &x in w.iter().flatten() {
            acc ^= x;
        }
        b += 16;
    }
    acc
}

fn main() {
    {
        let rng = Philox4x32::new(1, 0);
        let mut best = f64::MAX;
        let blocks = 1u64 << 20;
        let mut acc = 0;
        for _ in 0..10 {
            let t = Instant::now();
            acc ^= unsafe { philox_words(&rng, blocks) };
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "philox words: {:6.2} Gword/s ({acc})",
            blocks as f64 * 4.0 / best / 1e9
        );
    }
    use ferroinit::dist::{normal::Normal, trunc_normal::TruncNormal, uniform::Uniform, Sampler};
    let rng = Philox4x32::new(1, 0);
    let u = Sampler::new(&Uniform::new(-1.0, 1.0).unwrap(), DType::F32, rng, 0).unwrap();
    bench("uniform", &u);
    let nrm = Sampler::new(&Normal::new(0.0, 1.0).unwrap(), DType::F32, rng, 0).unwrap();
    bench("normal", &nrm);
    let t = Sampler::new(
        &TruncNormal::new(0.0, 1.0, -2.0, 2.0).unwrap(),
        DType::F32,
        rng,
        0,
    )
    .unwrap();
    bench("trunc_normal", &t);
    let t = Sampler::new(
        &TruncNormal::new(0.0, 1.0, 5.0, 6.0).unwrap(),
        DType::F32,
        rng,
        0,
    )
    .unwrap();
    bench("trunc_tail", &t);
}
