//! The initializers: torch.nn.init's functions over a [`crate::buffer::layout::Layout`], and
//! what they are built from.
//!
//! - [`nn`]: the public functions (`uniform_`, `normal_`, `kaiming_uniform_`, ...; re-exported
//!   here): validate everything, reserve the generator's blocks, then fill.
//! - [`fill`]: the parallel fill driver (fixed blocks of indices, Ctrl-C polls).
//! - [`fans`]: fans and gains. [`orthogonal`]: Householder QR. [`sparse`]: the per-column
//!   masks. [`structured`]: `eye_` and `dirac_`.
//!
//! Imports: [`crate::sampler`], [`crate::rng`], [`crate::simd`] (`sparse`'s draw kernel is
//! generic over the level), [`crate::buffer`], [`crate::error`].

pub mod batch;
pub mod fans;
pub mod fill;
pub mod nn;
pub mod orthogonal;
pub mod sparse;
pub mod structured;

pub use nn::*;
