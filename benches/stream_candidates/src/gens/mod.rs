//! Counter-based generators, each in three forms (scalar reference, AVX2, AVX-512) that give
//! the same words, and the drivers that run a generator (and a sampler kernel) over an array.
//!
//! A generator produces a *group* of `WORDS` 32-bit words at a time, addressed by a 64-bit group
//! index; element `e` of a stream is word `e % WORDS` of group `e / WORDS`. Each generator
//! defines its element order inside a group (documented on the type); it is the same on every
//! level, so a value depends only on (key, element index).

pub mod aes;
pub mod chacha;
pub mod philox;
pub mod weyl;

use crate::simd::{Vf, F16, F8, U16, U8};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

pub trait Gen: Sync {
    /// Words per group; a multiple of 16.
    const WORDS: usize;
    fn name(&self) -> &'static str;
    /// The scalar reference: `out.len() == WORDS`.
    fn group_scalar(&self, g: u64, out: &mut [u32]);
    /// `out.len() == WORDS / 8`; call only from code compiled with `avx2`.
    unsafe fn group_avx2(&self, g: u64, out: &mut [U8]);
    /// `out.len() == WORDS / 16`; call only from code compiled with AVX-512 F/BW/DQ/VL.
    unsafe fn group_avx512(&self, g: u64, out: &mut [U16]);
}

/// A sampler: one group of words (as vectors, in element order) to `WORDS` float32 values.
/// `e0` is the stream index of the group's first element (for side streams).
pub trait Kernel: Sync {
    fn run<V: Vf>(&self, e0: u64, w: &[V::U], out: &mut [f32]);
}

/// An instruction-set level: its vector type and how it asks a generator for a group.
pub trait Level {
    type V: Vf;
    const NAME: &'static str;
    unsafe fn group<G: Gen>(g: &G, idx: u64, out: &mut [<Self::V as Vf>::U]);
    /// Non-temporal store of one vector (plain store on the scalar level).
    unsafe fn stream(v: <Self::V as Vf>::U, out: *mut u32);
    fn zero() -> <Self::V as Vf>::U;
}

pub struct Scalar;
pub struct Avx2;
pub struct Avx512;

impl Level for Scalar {
    type V = f32;
    const NAME: &'static str = "scalar";
    #[inline(always)]
    unsafe fn group<G: Gen>(g: &G, idx: u64, out: &mut [u32]) {
        g.group_scalar(idx, out)
    }
    #[inline(always)]
    unsafe fn stream(v: u32, out: *mut u32) {
        *out = v;
    }
    fn zero() -> u32 {
        0
    }
}

impl Level for Avx2 {
    type V = F8;
    const NAME: &'static str = "avx2";
    #[inline(always)]
    unsafe fn group<G: Gen>(g: &G, idx: u64, out: &mut [U8]) {
        g.group_avx2(idx, out)
    }
    #[inline(always)]
    unsafe fn stream(v: U8, out: *mut u32) {
        _mm256_stream_si256(out as *mut __m256i, v.0)
    }
    #[inline(always)]
    fn zero() -> U8 {
        // SAFETY: only evaluated inside avx2 code.
        unsafe { U8(_mm256_setzero_si256()) }
    }
}

impl Level for Avx512 {
    type V = F16;
    const NAME: &'static str = "avx512";
    #[inline(always)]
    unsafe fn group<G: Gen>(g: &G, idx: u64, out: &mut [U16]) {
        g.group_avx512(idx, out)
    }
    #[inline(always)]
    unsafe fn stream(v: U16, out: *mut u32) {
        _mm512_stream_si512(out as *mut __m512i, v.0)
    }
    #[inline(always)]
    fn zero() -> U16 {
        // SAFETY: only evaluated inside avx512 code.
        unsafe { U16(_mm512_setzero_si512()) }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lvl {
    Scalar,
    Avx2,
    Avx512,
}

impl Lvl {
    pub fn name(self) -> &'static str {
        match self {
            Lvl::Scalar => Scalar::NAME,
            Lvl::Avx2 => Avx2::NAME,
            Lvl::Avx512 => Avx512::NAME,
        }
    }
    pub fn available(self) -> bool {
        match self {
            Lvl::Scalar => true,
            // AES-NI / VAES only for the AES candidate; enabled with the level so its
            // intrinsics inline (every AVX2 CPU has AES-NI; this machine has VAES).
            Lvl::Avx2 => {
                is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
                    && is_x86_feature_detected!("bmi2")
                    && is_x86_feature_detected!("aes")
                    && is_x86_feature_detected!("vaes")
            }
            Lvl::Avx512 => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512dq")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("vaes")
                    && Lvl::Avx2.available()
            }
        }
    }
}

/// How the words reach the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// The generator writes its registers straight into the output.
    Direct,
    /// Into a stack buffer (L1), then copied with plain stores (what a sampler sees).
    Buffered,
    /// Into a stack buffer, then non-temporal (streaming) stores.
    Streaming,
}

const MAX_WORDS: usize = 256;

#[inline(always)]
unsafe fn raw_body<L: Level, G: Gen>(g: &G, first: u64, out: &mut [u32], store: Store) {
    let lanes = L::V::LANES;
    let n = G::WORDS / lanes;
    debug_assert_eq!(out.len() % G::WORDS, 0);
    debug_assert_eq!(out.as_ptr() as usize % 64, 0);
    let mut buf = [L::zero(); MAX_WORDS];
    for (i, chunk) in out.chunks_exact_mut(G::WORDS).enumerate() {
        let idx = first.wrapping_add(i as u64);
        match store {
            Store::Direct => {
                // SAFETY: the chunk is 64-byte aligned (asserted above, WORDS is a multiple
                // of 16) and holds exactly n vectors.
                let v =
                    std::slice::from_raw_parts_mut(chunk.as_mut_ptr() as *mut <L::V as Vf>::U, n);
                L::group(g, idx, v);
            }
            Store::Buffered => {
                L::group(g, idx, &mut buf[..n]);
                let v =
                    std::slice::from_raw_parts_mut(chunk.as_mut_ptr() as *mut <L::V as Vf>::U, n);
                v.copy_from_slice(&buf[..n]);
            }
            Store::Streaming => {
                L::group(g, idx, &mut buf[..n]);
                for (k, &v) in buf[..n].iter().enumerate() {
                    L::stream(v, chunk.as_mut_ptr().add(k * lanes));
                }
            }
        }
    }
}

#[inline(always)]
unsafe fn fill_body<L: Level, G: Gen, K: Kernel>(
    g: &G,
    k: &K,
    first: u64,
    out: &mut [f32],
    streaming: bool,
) {
    let n = G::WORDS / L::V::LANES;
    let mut buf = [L::zero(); MAX_WORDS];
    let mut vals = Aligned([0f32; MAX_WORDS]);
    for (i, chunk) in out.chunks_exact_mut(G::WORDS).enumerate() {
        let idx = first.wrapping_add(i as u64);
        let e0 = idx.wrapping_mul(G::WORDS as u64);
        L::group(g, idx, &mut buf[..n]);
        if streaming {
            k.run::<L::V>(e0, &buf[..n], &mut vals.0[..G::WORDS]);
            let v = std::slice::from_raw_parts(vals.0.as_ptr() as *const <L::V as Vf>::U, n);
            for (j, &x) in v.iter().enumerate() {
                L::stream(x, chunk.as_mut_ptr().add(j * L::V::LANES) as *mut u32);
            }
        } else {
            k.run::<L::V>(e0, &buf[..n], chunk);
        }
    }
}

#[repr(C, align(64))]
struct Aligned<T>(T);

#[target_feature(enable = "avx2,fma,bmi2,aes,vaes")]
unsafe fn raw_avx2<G: Gen>(g: &G, first: u64, out: &mut [u32], s: Store) {
    raw_body::<Avx2, G>(g, first, out, s)
}
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi2,aes,vaes")]
unsafe fn raw_avx512<G: Gen>(g: &G, first: u64, out: &mut [u32], s: Store) {
    raw_body::<Avx512, G>(g, first, out, s)
}
#[target_feature(enable = "avx2,fma,bmi2,aes,vaes")]
unsafe fn fill_avx2<G: Gen, K: Kernel>(g: &G, k: &K, first: u64, out: &mut [f32], nt: bool) {
    fill_body::<Avx2, G, K>(g, k, first, out, nt)
}
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi2,aes,vaes")]
unsafe fn fill_avx512<G: Gen, K: Kernel>(g: &G, k: &K, first: u64, out: &mut [f32], nt: bool) {
    fill_body::<Avx512, G, K>(g, k, first, out, nt)
}

/// Raw words of groups `first..` into `out` (64-byte aligned, a multiple of `WORDS` long).
pub fn raw<G: Gen>(lvl: Lvl, g: &G, first: u64, out: &mut [u32], s: Store) {
    assert!(lvl.available());
    assert_eq!(out.as_ptr() as usize % 64, 0);
    assert_eq!(out.len() % G::WORDS, 0);
    // SAFETY: the level's features were detected; alignment and length checked above.
    unsafe {
        match lvl {
            Lvl::Scalar => raw_body::<Scalar, G>(g, first, out, s),
            Lvl::Avx2 => raw_avx2(g, first, out, s),
            Lvl::Avx512 => raw_avx512(g, first, out, s),
        }
    }
}

/// Sampler `k` over groups `first..` into `out` (64-byte aligned, a multiple of `WORDS`).
pub fn fill<G: Gen, K: Kernel>(lvl: Lvl, g: &G, k: &K, first: u64, out: &mut [f32], nt: bool) {
    assert!(lvl.available());
    assert_eq!(out.as_ptr() as usize % 64, 0);
    assert_eq!(out.len() % G::WORDS, 0);
    // SAFETY: as in `raw`.
    unsafe {
        match lvl {
            Lvl::Scalar => fill_body::<Scalar, G, K>(g, k, first, out, nt),
            Lvl::Avx2 => fill_avx2(g, k, first, out, nt),
            Lvl::Avx512 => fill_avx512(g, k, first, out, nt),
        }
    }
}

/// The plain fill baselines: a vectorized store loop of one float32 value, and the same with
/// non-temporal stores.
pub fn fill_value(out: &mut [f32], x: f32, nt: bool) {
    if !nt {
        out.fill(x);
        return;
    }
    assert_eq!(out.as_ptr() as usize % 64, 0);
    #[target_feature(enable = "avx512f")]
    unsafe fn nt512(out: &mut [f32], x: f32) {
        let v = _mm512_set1_ps(x);
        for c in out.chunks_exact_mut(16) {
            _mm512_stream_ps(c.as_mut_ptr(), v);
        }
        _mm_sfence();
    }
    assert!(Lvl::Avx512.available());
    // SAFETY: avx512f detected, out 64-byte aligned; a tail shorter than 16 is left alone
    // (callers use multiples of 16).
    unsafe { nt512(out, x) }
}

/// A 4096-byte aligned, zero-initialized buffer.
pub struct Buf<T: Copy> {
    ptr: *mut T,
    len: usize,
}

unsafe impl<T: Copy + Send> Send for Buf<T> {}
unsafe impl<T: Copy + Sync> Sync for Buf<T> {}

impl<T: Copy> Buf<T> {
    pub fn new(len: usize) -> Self {
        let layout = std::alloc::Layout::from_size_align(len * std::mem::size_of::<T>(), 4096)
            .expect("layout");
        // SAFETY: non-zero size (callers pass len > 0); zeroed memory is a valid u32/f32.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) } as *mut T;
        assert!(!ptr.is_null());
        Buf { ptr, len }
    }
}

impl<T: Copy> std::ops::Deref for Buf<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: ptr/len from a live allocation.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}
impl<T: Copy> std::ops::DerefMut for Buf<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as above, uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}
impl<T: Copy> Drop for Buf<T> {
    fn drop(&mut self) {
        let layout =
            std::alloc::Layout::from_size_align(self.len * std::mem::size_of::<T>(), 4096).unwrap();
        // SAFETY: allocated with this layout.
        unsafe { std::alloc::dealloc(self.ptr as *mut u8, layout) }
    }
}
