//! Philox4x32-10, the counter-based generator of Salmon et al. (SC'11, "Random123").
//!
//! Invariant: the output block is a pure function of (key, counter). ferroinit derives every
//! random value from one block addressed by the element's logical index, so values never depend
//! on thread count, chunking or SIMD width.
//!
//! Counter layout used by ferroinit: word 0/1 = the 64-bit block position (low, high),
//! word 2 = a stream id (0 for values, others for auxiliary draws), word 3 = 0.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// A Philox4x32-10 key together with the stream id placed in counter word 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Philox4x32 {
    pub key: [u32; 2],
    pub stream: u32,
}

impl Philox4x32 {
    pub fn new(seed: u64, stream: u32) -> Self {
        Philox4x32 {
            key: [seed as u32, (seed >> 32) as u32],
            stream,
        }
    }

    /// The block at one full 128-bit counter (for known-answer tests).
    pub fn block_at_counter(key: [u32; 2], ctr: [u32; 4]) -> [u32; 4] {
        let (mut c0, mut c1, mut c2, mut c3) = (ctr[0], ctr[1], ctr[2], ctr[3]);
        let (mut k0, mut k1) = (key[0], key[1]);
        for _ in 0..10 {
            let p0 = u64::from(M0) * u64::from(c0);
            let p1 = u64::from(M1) * u64::from(c2);
            let n0 = ((p1 >> 32) as u32) ^ c1 ^ k0;
            let n2 = ((p0 >> 32) as u32) ^ c3 ^ k1;
            c1 = p1 as u32;
            c3 = p0 as u32;
            c0 = n0;
            c2 = n2;
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        [c0, c1, c2, c3]
    }

    /// `L` consecutive blocks starting at block position `first`, in lane-major (SoA) form:
    /// `out[w][j]` is word `w` of block `first + j`. Written as plain lane loops so that the
    /// compiler vectorizes them (32x32->64 multiplies map to `vpmuludq`); the arithmetic is
    /// integer-exact, so every vector width gives the same bits.
    #[inline(always)]
    pub fn blocks<const L: usize>(&self, first: u64) -> [[u32; L]; 4] {
        let mut c0 = [0u32; L];
        let mut c1 = [0u32; L];
        let mut c2 = [self.stream; L];
        let mut c3 = [0u32; L];
        for j in 0..L {
            let c = first.wrapping_add(j as u64);
            c0[j] = c as u32;
            c1[j] = (c >> 32) as u32;
        }
        let (mut k0, mut k1) = (self.key[0], self.key[1]);
        for _ in 0..10 {
            for j in 0..L {
                let p0 = u64::from(M0) * u64::from(c0[j]);
                let p1 = u64::from(M1) * u64::from(c2[j]);
                let n0 = ((p1 >> 32) as u32) ^ c1[j] ^ k0;
                let n2 = ((p0 >> 32) as u32) ^ c3[j] ^ k1;
                c1[j] = p1 as u32;
                c3[j] = p0 as u32;
                c0[j] = n0;
                c2[j] = n2;
            }
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        [c0, c1, c2, c3]
    }

    /// Raw words of blocks `first..`, in block order (w0, w1, w2, w3 of each block).
    pub fn fill_raw(&self, first: u64, out: &mut [u32]) {
        for (i, chunk) in out.chunks_mut(4).enumerate() {
            let b = self.blocks::<1>(first.wrapping_add(i as u64));
            for (k, v) in chunk.iter_mut().enumerate() {
                *v = b[k][0];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known-answer vectors from Random123's kat_vectors (philox4x32, 10 rounds).
    #[test]
    fn random123_known_answers() {
        let cases: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
            ([0; 4], [0; 2], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]),
            (
                [0xffffffff; 4],
                [0xffffffff; 2],
                [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
            ),
            (
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0],
                [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
            ),
        ];
        for (ctr, key, want) in cases {
            assert_eq!(Philox4x32::block_at_counter(key, ctr), want);
        }
    }

    #[test]
    fn lanes_match_single_blocks() {
        let g = Philox4x32::new(0x0123_4567_89ab_cdef, 3);
        let first = u64::MAX - 5; // crosses the 64-bit wrap
        let wide = g.blocks::<16>(first);
        for j in 0..16 {
            let p = first.wrapping_add(j as u64);
            let one = Philox4x32::block_at_counter(g.key, [p as u32, (p >> 32) as u32, 3, 0]);
            for w in 0..4 {
                assert_eq!(wide[w][j], one[w]);
            }
        }
    }
}
