//! The samplers: one distribution per file, each a [`BlockKernel`] from counter blocks to values.
//!
//! Invariant: the value at logical index `i` of a call depends only on the counter block
//! `base + i / per_block` (and the word `i % per_block` in it) and the parameters, so any
//! range of indices can be produced by itself: the parallel driver and shards rely on it.
//!
//! - [`uniform`], [`normal`], [`trunc_normal`]: the distributions, and [`Law`], their
//!   catalogue by name (the `laws!` lines below; the macro is in [`law`]).
//! - [`raw`]: the raw words of the blocks (`random_raw`).
//! - [`kernel`]: [`BlockKernel`], [`fill_range`] and [`run_kernel`] (the SIMD dispatch of one).
//! - [`distribution`]: [`Distribution`] and [`Sampler`] (a distribution at a generator position
//!   and a dtype).
//! - [`dtype_writer`]: float32 to float16 / bfloat16 rounding.
//!
//! Imports: [`crate::rng`], [`crate::simd`], [`crate::buffer::element`], [`crate::error`].

pub mod distribution;
pub mod dtype_writer;
pub mod kernel;
pub mod law;
pub mod normal;
pub mod raw;
pub mod trunc_normal;
pub mod uniform;

pub use distribution::{Distribution, Sampler};
pub use kernel::{fill_range, run_kernel, BlockKernel};
pub(crate) use kernel::{interleave4, unit_f32, unit_f64_53, words4, Words4};

// The catalogue: a new law is its file above, its `pub mod`, and one line here.
law::laws! {
    /// `uniform_(a, b)`.
    Uniform("uniform", a, b) = uniform::Uniform,
    /// `normal_(mean, std)`.
    Normal("normal", mean, std) = normal::Normal,
    /// `trunc_normal_(mean, std, a, b)`.
    TruncNormal("trunc_normal", mean, std, a, b) = trunc_normal::TruncNormal,
}
