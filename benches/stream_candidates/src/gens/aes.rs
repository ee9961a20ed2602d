//! AES-128 in counter mode (FIPS-197), the "full crypto" reference point: AES-NI on xmm for the
//! AVX2 level (every AVX2 CPU has AES-NI), VAES on zmm (4 blocks per instruction) for AVX-512.
//!
//! Key = (seed as 16 little-endian bytes); the plaintext of block `b` is the 128-bit
//! little-endian integer `stream << 64 | b`. Group = 32 blocks = 128 words in keystream order:
//! word `w` of block `32 g + j` is element `4 j + w` (AES's own byte order, as a 128-bit lane).

use super::Gen;
use crate::simd::{U16, U8};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
use std::sync::OnceLock;

fn sbox() -> &'static [u8; 256] {
    static S: OnceLock<[u8; 256]> = OnceLock::new();
    S.get_or_init(|| {
        let mul = |mut a: u8, mut b: u8| {
            let mut p = 0u8;
            while b != 0 {
                if b & 1 != 0 {
                    p ^= a;
                }
                a = (a << 1) ^ if a & 0x80 != 0 { 0x1b } else { 0 };
                b >>= 1;
            }
            p
        };
        let mut s = [0u8; 256];
        for (x, o) in s.iter_mut().enumerate() {
            // The multiplicative inverse in GF(2^8) is x^254 (0 maps to 0).
            let mut inv = 1u8;
            for _ in 0..254 {
                inv = mul(inv, x as u8);
            }
            if x == 0 {
                inv = 0;
            }
            *o = inv
                ^ inv.rotate_left(1)
                ^ inv.rotate_left(2)
                ^ inv.rotate_left(3)
                ^ inv.rotate_left(4)
                ^ 0x63;
        }
        s
    })
}

fn xtime(a: u8) -> u8 {
    (a << 1) ^ if a & 0x80 != 0 { 0x1b } else { 0 }
}

#[derive(Clone, Debug)]
pub struct Aes128 {
    /// The 11 round keys, FIPS-197 byte order.
    pub rk: [[u8; 16]; 11],
    pub stream: u64,
    /// AVX2 level: VAES on ymm (2 blocks per instruction; Zen 3+, Ice Lake+) instead of
    /// AES-NI on xmm.
    pub ymm: bool,
}

impl Aes128 {
    pub fn with_key(key: [u8; 16], stream: u64) -> Self {
        let s = sbox();
        let mut w = [[0u8; 4]; 44];
        for i in 0..4 {
            w[i].copy_from_slice(&key[4 * i..4 * i + 4]);
        }
        let mut rcon = 1u8;
        for i in 4..44 {
            let mut t = w[i - 1];
            if i % 4 == 0 {
                t = [
                    s[t[1] as usize] ^ rcon,
                    s[t[2] as usize],
                    s[t[3] as usize],
                    s[t[0] as usize],
                ];
                rcon = xtime(rcon);
            }
            for k in 0..4 {
                w[i][k] = w[i - 4][k] ^ t[k];
            }
        }
        let mut rk = [[0u8; 16]; 11];
        for (r, k) in rk.iter_mut().enumerate() {
            for c in 0..4 {
                k[4 * c..4 * c + 4].copy_from_slice(&w[4 * r + c]);
            }
        }
        Aes128 {
            rk,
            stream,
            ymm: false,
        }
    }

    pub fn new(seed: u64, stream: u64) -> Self {
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        Self::with_key(key, stream)
    }

    /// One block, byte-wise (the scalar reference).
    pub fn encrypt(&self, pt: [u8; 16]) -> [u8; 16] {
        let s = sbox();
        let mut st = pt;
        let add = |st: &mut [u8; 16], k: &[u8; 16]| st.iter_mut().zip(k).for_each(|(a, b)| *a ^= b);
        add(&mut st, &self.rk[0]);
        for r in 1..11 {
            for b in st.iter_mut() {
                *b = s[*b as usize];
            }
            let old = st;
            for c in 0..4 {
                for row in 0..4 {
                    st[row + 4 * c] = old[row + 4 * ((c + row) % 4)];
                }
            }
            if r < 10 {
                for c in 0..4 {
                    let a: [u8; 4] = st[4 * c..4 * c + 4].try_into().unwrap();
                    let all = a[0] ^ a[1] ^ a[2] ^ a[3];
                    for row in 0..4 {
                        st[4 * c + row] = a[row] ^ all ^ xtime(a[row] ^ a[(row + 1) % 4]);
                    }
                }
            }
            add(&mut st, &self.rk[r]);
        }
        st
    }

    fn plaintext(&self, b: u64) -> [u8; 16] {
        let mut p = [0u8; 16];
        p[..8].copy_from_slice(&b.to_le_bytes());
        p[8..].copy_from_slice(&self.stream.to_le_bytes());
        p
    }
}

impl Gen for Aes128 {
    const WORDS: usize = 128;

    fn name(&self) -> &'static str {
        if self.ymm {
            "aes128-ctr/vaes-ymm"
        } else {
            "aes128-ctr"
        }
    }

    fn group_scalar(&self, g: u64, out: &mut [u32]) {
        for j in 0..32 {
            let b = g.wrapping_mul(32).wrapping_add(j as u64);
            let c = self.encrypt(self.plaintext(b));
            for w in 0..4 {
                out[4 * j + w] = u32::from_le_bytes(c[4 * w..4 * w + 4].try_into().unwrap());
            }
        }
    }

    #[inline(always)]
    unsafe fn group_avx2(&self, g: u64, out: &mut [U8]) {
        if self.ymm {
            return self.group_vaes256(g, out);
        }
        let mut rk = [_mm_setzero_si128(); 11];
        for (r, k) in rk.iter_mut().enumerate() {
            *k = _mm_loadu_si128(self.rk[r].as_ptr() as *const __m128i);
        }
        let hi = self.stream as i64;
        // Four passes of 8 independent blocks (aesenc: 4-cycle latency, 2 per cycle).
        for pass in 0..4 {
            let first = g.wrapping_mul(32).wrapping_add(8 * pass as u64);
            let mut x = [_mm_setzero_si128(); 8];
            for (j, v) in x.iter_mut().enumerate() {
                *v = _mm_xor_si128(
                    _mm_set_epi64x(hi, first.wrapping_add(j as u64) as i64),
                    rk[0],
                );
            }
            for k in &rk[1..10] {
                for v in x.iter_mut() {
                    *v = _mm_aesenc_si128(*v, *k);
                }
            }
            for v in x.iter_mut() {
                *v = _mm_aesenclast_si128(*v, rk[10]);
            }
            for p in 0..4 {
                out[4 * pass + p] = U8(_mm256_set_m128i(x[2 * p + 1], x[2 * p]));
            }
        }
    }

    #[inline(always)]
    unsafe fn group_avx512(&self, g: u64, out: &mut [U16]) {
        let mut rk = [_mm512_setzero_si512(); 11];
        for (r, k) in rk.iter_mut().enumerate() {
            *k = _mm512_broadcast_i32x4(_mm_loadu_si128(self.rk[r].as_ptr() as *const __m128i));
        }
        let first = g.wrapping_mul(32);
        let hi = self.stream as i64;
        // 8 registers of 4 blocks: register q holds blocks 4 q .. 4 q + 4.
        // Counters of blocks 4q + l: the 64-bit lanes (b, hi) of four consecutive blocks.
        let lanes = _mm512_set_epi64(hi, 3, hi, 2, hi, 1, hi, 0);
        let step = _mm512_set_epi64(0, 1, 0, 1, 0, 1, 0, 1);
        let mut x = [_mm512_setzero_si512(); 8];
        for (q, v) in x.iter_mut().enumerate() {
            let b = first.wrapping_add(4 * q as u64);
            // (b + l, hi): the even lanes add b, the odd ones (hi) add nothing.
            let c = _mm512_add_epi64(lanes, _mm512_mullo_epi64(step, _mm512_set1_epi64(b as i64)));
            *v = _mm512_xor_si512(c, rk[0]);
        }
        for k in &rk[1..10] {
            for v in x.iter_mut() {
                *v = _mm512_aesenc_epi128(*v, *k);
            }
        }
        for (q, v) in x.iter().enumerate() {
            out[q] = U16(_mm512_aesenclast_epi128(*v, rk[10]));
        }
    }
}

impl Aes128 {
    /// 8 ymm registers of 2 blocks, two passes of 16 blocks.
    #[inline(always)]
    unsafe fn group_vaes256(&self, g: u64, out: &mut [U8]) {
        let mut rk = [_mm256_setzero_si256(); 11];
        for (r, k) in rk.iter_mut().enumerate() {
            *k =
                _mm256_broadcastsi128_si256(_mm_loadu_si128(self.rk[r].as_ptr() as *const __m128i));
        }
        let hi = self.stream as i64;
        for pass in 0..2 {
            let first = g.wrapping_mul(32).wrapping_add(16 * pass as u64);
            let mut x = [_mm256_setzero_si256(); 8];
            for (q, v) in x.iter_mut().enumerate() {
                let b = first.wrapping_add(2 * q as u64);
                let c = _mm256_set_epi64x(hi, b.wrapping_add(1) as i64, hi, b as i64);
                *v = _mm256_xor_si256(c, rk[0]);
            }
            for k in &rk[1..10] {
                for v in x.iter_mut() {
                    *v = _mm256_aesenc_epi128(*v, *k);
                }
            }
            for (q, v) in x.iter().enumerate() {
                out[8 * pass + q] = U8(_mm256_aesenclast_epi128(*v, rk[10]));
            }
        }
    }
}
