//! SIMD: the levels and their runtime dispatch, the vector types kernels are written over, and
//! the elementary functions on those vectors.
//!
//! - [`dispatch`]: [`Level`], its detection ([`level`]), and [`dispatch()`], which compiles a
//!   [`Kernel`] once per level and runs the detected one.
//! - [`isa`]: per level ([`isa::Isa`]), its vector types and the AES block function and 4 x 16
//!   transpose in its instructions.
//! - [`vector`], [`vector64`]: float32 and float64 vectors (scalar, AVX2, AVX-512, packs).
//! - [`math`], [`libm_lanes`]: log, sin/cos, erfinv and the normal cdf / ppf, written once over
//!   those vectors.
//!
//! Why the elementary functions live here and not with the samplers: each is a function of a
//! vector type alone and knows nothing of distributions; the one thing it must guarantee, the
//! same bits for the same lanes on every level, is this layer's invariant and is tested here
//! against the scalar form; and the vector types' own tests use them. A sampler calls them as
//! it calls any vector operation.
//!
//! Imports: [`crate::rng`] (the block functions [`isa`] wraps); [`crate::buffer::element`] in
//! tests only.
//! Nothing here names a sampler: [`dispatch()`] takes the [`Kernel`] trait it defines.

pub mod dispatch;
pub mod isa;
pub mod libm_lanes;
pub mod math;
pub mod vector;
pub mod vector64;

pub use dispatch::{dispatch, level, Kernel, Level};
