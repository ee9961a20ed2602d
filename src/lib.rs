//! ferroinit: torch.nn.init, exact and deterministic, at memory bandwidth on every core.
//!
//! A pure-Rust core and, behind the `python` feature, a thin PyO3 binding that converts
//! arguments, releases the GIL, calls the core and maps its errors. The layers, from the
//! bottom; a layer imports only from layers below it (see `docs/architecture.md`):
//!
//! - [`error`]: the crate's error type (each variant names the Python exception).
//! - [`rng`]: AesCtr-10 and the generator (seed + position). A leaf.
//! - [`buffer`]: element types, strided layouts and shards, allocation, DLPack structures.
//! - [`simd`]: SIMD levels and runtime dispatch, vector types, the lane math on them.
//! - [`sampler`]: the distributions, one per file, and the dtype writers.
//! - [`init`]: the initializers of torch.nn.init and the parallel fill driver.
//! - `python` (feature `python`): the `ferroinit._core` extension module.

// Kernels are lane loops that index several arrays in lockstep (`w[k][j]`, `v[k][j]`): the
// index form is what the vectorizer sees best, so clippy's iterator suggestion is off.
#![allow(clippy::needless_range_loop)]

pub mod buffer;
pub mod error;
pub mod init;
pub mod rng;
pub mod sampler;
pub mod simd;

#[cfg(feature = "python")]
mod python;
