//! The random number generator: the block function and the key schedule.
//!
//! - [`philox`]: Philox4x32-10, a pure function of (key, counter) to a block of four 32-bit
//!   words, as a scalar function, a lane loop, and the AVX2 / AVX-512 rounds (`philox::x86`).
//! - [`generator`]: a [`generator::Generator`] is a seed (the key) and a position (the next
//!   unused block); a call reserves its whole block range before it writes.
//!
//! A leaf, like `rand_core`: it imports nothing else from the crate (only `std::arch`), so the
//! stream can be checked (known answers, raw words) without any sampler.

pub mod generator;
pub mod philox;
