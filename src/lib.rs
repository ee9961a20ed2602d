//! ferroinit: torch.nn.init, exact and deterministic, at memory bandwidth on every core.
//!
//! The crate is a pure-Rust core (everything but `python`) and a thin PyO3 binding that only
//! converts arguments and dispatches.
//!
//! - [`philox`]: the counter-based RNG. [`generator`]: seed + position.
//! - [`dist`]: the samplers, one distribution per file. [`math`]: their elementary functions;
//!   [`libm_lanes`]: `libm`'s float64 `log`/`sincos` as vectorizable lane code (same bits).
//! - [`simd`]: runtime dispatch of one kernel source to every SIMD width. [`vector`]: the
//!   float32 vector types (scalar, AVX2, AVX-512, packs) the sampler math is written over;
//!   [`vector64`]: the float64 ones.
//! - [`layout`]: strided views and shards. [`fill`]: the parallel block driver.
//! - [`fans`]: fans and gains. [`orthogonal`]: Householder QR. [`sparse`], [`structured`].
//! - [`init`]: the initializers of torch.nn.init over a layout.
//! - [`alloc`]: buffers for the allocating forms.

// Kernels are lane loops that index several arrays in lockstep (`w[k][j]`, `v[k][j]`): the
// index form is what the vectorizer sees best, so clippy's iterator suggestion is off.
#![allow(clippy::needless_range_loop)]

pub mod alloc;
pub mod dist;
pub mod dlpack;
pub mod element;
pub mod error;
pub mod fans;
pub mod fill;
pub mod generator;
pub mod init;
pub mod layout;
pub mod libm_lanes;
pub mod math;
pub mod orthogonal;
pub mod philox;
pub mod simd;
pub mod sparse;
pub mod structured;
pub mod vector;
pub mod vector64;

mod python;
