//! The raw stream: the 32-bit words of consecutive blocks in block order, through the same
//! dispatched block function as every sampler (so `random_raw` runs at the SIMD level's speed).

use super::kernel::{interleave4, run_kernel, BlockKernel};
use crate::rng::aes_ctr::AesCtr;
use crate::simd::isa::Isa;

/// Words (w0, w1, w2, w3) of each block, unchanged.
pub struct RawWords;

impl BlockKernel<u32> for RawWords {
    const PER_BLOCK: usize = 4;
    #[inline(always)]
    fn batch<const L: usize, I: Isa>(&self, rng: &AesCtr, block: u64, out: &mut [u32]) {
        let w = I::blocks::<L>(rng, block);
        if L == 16 {
            // The level's float32 transpose moves 32-bit lanes without looking at them (no
            // arithmetic, so NaN patterns pass unchanged): the words as f32 bit patterns.
            // SAFETY: L == 16; u32 and f32 have the same size and alignment, and every bit
            // pattern is a valid f32.
            let v = unsafe { &*(&w as *const [[u32; L]; 4] as *const [[f32; 16]; 4]) };
            let o = unsafe { &mut *(out as *mut [u32] as *mut [f32]) };
            return I::interleave16(v, o);
        }
        interleave4::<u32, L, I>(&w, out);
    }
}

/// Words `4 * first..4 * first + out.len()` of `rng`'s stream (the words of blocks `first..`),
/// on the detected SIMD level.
pub fn fill_raw(rng: &AesCtr, first: u64, out: &mut [u32]) {
    run_kernel(&RawWords, rng, first, 0, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatched_words_match_the_software_aes() {
        let rng = AesCtr::new(5, 0);
        // Odd length: full 16-block batches, single blocks and a partial last block.
        for first in [0u64, (1 << 32) - 7, u64::MAX - 20] {
            let mut fast = vec![0u32; 4 * 40 + 3];
            let mut soft = fast.clone();
            fill_raw(&rng, first, &mut fast);
            rng.fill_raw(first, &mut soft);
            assert_eq!(fast, soft, "first {first:#x}");
        }
    }
}
