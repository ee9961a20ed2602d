//! Single-thread throughput of each sampler kernel (elements per second), for tuning the SIMD
//! paths without Python in the way: `cargo bench --bench kernels`.
//! Set FERROINIT_FORCE_SCALAR=1 to measure the one-lane reference path.

use ferroinit::buffer::element::DType;
use ferroinit::init::fill::Writer;
use ferroinit::rng::aes_ctr::AesCtr;
use ferroinit::sampler::raw::fill_raw;
use ferroinit::simd::isa::Isa;
use ferroinit::simd::{dispatch, Kernel};

/// Seconds of CPU time of the calling thread: on a shared, noisy machine the time the thread
/// spends descheduled would otherwise count as kernel time.
fn thread_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer; CLOCK_THREAD_CPUTIME_ID exists on Linux and macOS.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn bench<W: Writer>(name: &str, w: &W) {
    // KERNELS=uniform,normal runs only those (for profiling one kernel).
    if let Ok(only) = std::env::var("KERNELS") {
        if !only.split(',').any(|k| k == name) {
            return;
        }
    }
    // 256 KiB of float32 stays in L2: this measures the kernel, not the memory system. Many
    // short runs and their minimum filter out other processes on a shared machine.
    let n = 1 << 16;
    let mut v = vec![0f32; n];
    let mut scratch = Vec::new();
    let mut best = f64::MAX;
    for _ in 0..400 {
        let t = thread_seconds();
        w.write(0, &mut v, &mut scratch);
        best = best.min(thread_seconds() - t);
    }
    println!(
        "{name:>14}: {:6.2} Gelem/s  {:6.2} GB/s  ({})",
        n as f64 / best / 1e9,
        n as f64 * 4.0 / best / 1e9,
        ferroinit::simd::level().name()
    );
}

/// XOR of every word of `blocks` blocks, through the level's block function alone (the
/// lane-wise accumulation vectorizes, so almost all the time is the AES).
struct XorBlocks<'a> {
    rng: &'a AesCtr,
    blocks: u64,
    acc: &'a mut u32,
}

impl Kernel for XorBlocks<'_> {
    #[inline(always)]
    fn run<const L: usize, I: Isa>(self) {
        let mut acc = [0u32; L];
        let mut b = 0;
        while b < self.blocks {
            let w = I::blocks::<L>(self.rng, b);
            for row in &w {
                for (a, &x) in acc.iter_mut().zip(row) {
                    *a ^= x;
                }
            }
            b += L as u64;
        }
        *self.acc ^= acc.iter().fold(0, |a, &x| a ^ x);
    }
}

fn main() {
    {
        let rng = AesCtr::new(1, 0);
        let blocks = 1u64 << 14;
        let mut acc = 0u32;
        let mut best = f64::MAX;
        for _ in 0..400 {
            let t = thread_seconds();
            dispatch(XorBlocks {
                rng: &rng,
                blocks,
                acc: &mut acc,
            });
            best = best.min(thread_seconds() - t);
        }
        println!(
            "{:>14}: {:6.2} Gword/s  ({}, {acc:08x})",
            "aes blocks",
            blocks as f64 * 4.0 / best / 1e9,
            ferroinit::simd::level().name()
        );
    }
    {
        // The block function alone, on the detected level, through the same dispatch as the
        // samplers (FERROINIT_FORCE_SCALAR=1: the software AES).
        let rng = AesCtr::new(1, 0);
        let mut words = vec![0u32; 1 << 16];
        let mut best = f64::MAX;
        for _ in 0..400 {
            let t = thread_seconds();
            fill_raw(&rng, 0, &mut words);
            best = best.min(thread_seconds() - t);
        }
        println!(
            "{:>14}: {:6.2} Gword/s  ({}, {:08x})",
            "aes words",
            words.len() as f64 / best / 1e9,
            ferroinit::simd::level().name(),
            words.iter().fold(0, |a, &x| a ^ x)
        );
    }
    use ferroinit::sampler::{
        normal::Normal, trunc_normal::TruncNormal, uniform::Uniform, Sampler,
    };
    let rng = AesCtr::new(1, 0);
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
