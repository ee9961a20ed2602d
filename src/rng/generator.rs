//! The generator: a seed (the AES key's source) and a position (a 64-bit block counter).
//!
//! Invariant: a call reserves its whole block range with one atomic add before it writes, so
//! calls that share a generator, from any number of threads, never get overlapping ranges; what
//! each call gets depends on the order in which the calls reserve.

use std::sync::atomic::{AtomicU64, Ordering};

/// torch's default seed, so an unseeded program is still reproducible.
pub const DEFAULT_SEED: u64 = 67_280_421_310_721;

#[derive(Debug)]
pub struct Generator {
    seed: AtomicU64,
    position: AtomicU64,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator {
            seed: AtomicU64::new(seed),
            position: AtomicU64::new(0),
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed.load(Ordering::Acquire)
    }

    pub fn position(&self) -> u64 {
        self.position.load(Ordering::Acquire)
    }

    pub fn set_state(&self, seed: u64, position: u64) {
        self.seed.store(seed, Ordering::Release);
        self.position.store(position, Ordering::Release);
    }

    /// Reserves `blocks` blocks and returns (the seed, the first block).
    pub fn reserve(&self, blocks: u64) -> (u64, u64) {
        let first = self.position.fetch_add(blocks, Ordering::AcqRel);
        (self.seed(), first)
    }
}
