//! Runtime CPU dispatch.
//!
//! Every kernel is written once, as plain lane loops over `[T; L]` arrays with IEEE-exact
//! operations only (add, mul, div, sqrt, conversions, integer ops; never a fused multiply-add
//! the compiler chose by itself). [`dispatch`] compiles that one source several times with
//! different target features and picks one at run time. Because the arithmetic is exact and
//! identical in every copy, every path yields the same bits: the SIMD level is a speed choice,
//! never a value choice. `FERROINIT_FORCE_SCALAR=1` selects the one-lane path, for tests.

use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// One lane at a time, no target features: the reference path.
    Scalar,
    /// The baseline target (SSE2 on x86-64, NEON on aarch64), 16 lanes per batch.
    Portable,
    /// x86-64 AVX2 + FMA + BMI2 + F16C + AES-NI.
    Avx2,
    /// x86-64 AVX-512 (F, BW, DQ, VL) + VAES (and everything of [`Level::Avx2`]).
    Avx512,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

fn detect() -> Level {
    if std::env::var("FERROINIT_FORCE_SCALAR").is_ok_and(|v| !v.is_empty() && v != "0") {
        return Level::Scalar;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let no512 = std::env::var("FERROINIT_NO_AVX512").is_ok_and(|v| !v.is_empty() && v != "0");
        // The AES instructions are part of a level: without them the level's block function
        // cannot run, so a CPU falls to the next level (AVX-512 without VAES runs AVX2;
        // AVX2 without AES-NI runs the portable level's software AES). F16C (float16
        // conversions) came before AVX2 on every x86 CPU; checked anyway.
        let avx2 = is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("bmi2")
            && is_x86_feature_detected!("f16c")
            && is_x86_feature_detected!("aes");
        if !no512
            && avx2
            && is_x86_feature_detected!("vaes")
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
        {
            return Level::Avx512;
        }
        if avx2 {
            return Level::Avx2;
        }
    }
    Level::Portable
}

/// The dispatch level, read once per process.
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(detect)
}

use crate::simd::isa::{Isa, Portable};

/// Work compiled once per SIMD level: [`dispatch`] calls `run::<L, I>` from inside a function
/// compiled with `I`'s target features. Implementations must be `#[inline(always)]` down to
/// their lane loops, or the loops are compiled without those features. The dispatcher defines
/// this trait and the samplers implement it, so the SIMD layer never names a sampler.
pub trait Kernel {
    /// Runs with `L` lanes per batch (1 on the scalar level, else 16) on instruction set `I`.
    fn run<const L: usize, I: Isa>(self);
}

/// Runs `k` compiled for the detected [`Level`]. Generic functions with `#[target_feature]`
/// are monomorphized per kernel, and the `#[inline(always)]` kernel bodies are compiled inside
/// them, so one source gives every SIMD width.
pub fn dispatch<K: Kernel>(k: K) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,vaes,avx2,fma,bmi2,aes")]
        unsafe fn v512<K: Kernel>(k: K) {
            k.run::<16, crate::simd::isa::Avx512>()
        }
        #[target_feature(enable = "avx2,fma,bmi2,aes")]
        unsafe fn v256<K: Kernel>(k: K) {
            k.run::<16, crate::simd::isa::Avx2>()
        }
        match level() {
            // SAFETY: level() reports these only after detecting the CPU features.
            Level::Avx512 => return unsafe { v512(k) },
            Level::Avx2 => return unsafe { v256(k) },
            _ => {}
        }
    }
    match level() {
        Level::Scalar => k.run::<1, Portable>(),
        _ => k.run::<16, Portable>(),
    }
}
