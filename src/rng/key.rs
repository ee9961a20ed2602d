//! The key schedule: a 64-bit seed to an AES-128 key.
//!
//! The key is SplitMix64 outputs 1 and 2 from state `seed` (Steele, Lea and Flood, "Fast
//! splittable pseudorandom number generators", OOPSLA 2014; the finalizer constants are
//! Vigna's), each as 8 little-endian bytes. A bijective mix of the seed, so that nearby seeds
//! (0, 1, 2, ...) give unrelated-looking keys rather than keys that differ in one bit.

/// The SplitMix64 increment (2^64 / golden ratio, odd).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Output `n` (1-based) of SplitMix64 started at `state = seed`.
pub fn splitmix64(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(GAMMA.wrapping_mul(n));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The AES-128 key of a seed: SplitMix64 outputs 1 and 2, little-endian, concatenated.
pub fn aes_key(seed: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&splitmix64(seed, 1).to_le_bytes());
    key[8..].copy_from_slice(&splitmix64(seed, 2).to_le_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    // Checked against an independent Python transcription of the SplitMix64 recurrence.
    #[test]
    fn splitmix64_known_outputs() {
        assert_eq!(splitmix64(1_234_567, 1), 6_457_827_717_110_365_317);
        assert_eq!(splitmix64(1_234_567, 2), 3_203_168_211_198_807_973);
    }

    #[test]
    fn key_is_outputs_one_and_two_little_endian() {
        let k = aes_key(1_234_567);
        assert_eq!(k[..8], 6_457_827_717_110_365_317u64.to_le_bytes());
        assert_eq!(k[8..], 3_203_168_211_198_807_973u64.to_le_bytes());
    }
}
