//! The random number generator: the block function and the key schedule.
//!
//! - [`key`]: a seed to an AES-128 key (SplitMix64 outputs 1 and 2).
//! - [`aes_ctr`]: AES-128 in counter mode, a pure function of (key, counter) to a block of four
//!   32-bit words: a table-driven software AES, and AES-NI / VAES for the AVX2 / AVX-512
//!   levels (`aes_ctr::x86`).
//! - [`generator`]: a [`generator::Generator`] is a seed (the key) and a position (the next
//!   unused block); a call reserves its whole block range before it writes.
//!
//! A leaf, like `rand_core`: it imports nothing else from the crate (only `std::arch`), so the
//! stream can be checked (known answers, raw words) without any sampler.

pub mod aes_ctr;
pub mod generator;
pub mod key;
