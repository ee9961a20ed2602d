//! Float64 vectors for the float64 sampler math ([`crate::simd::libm_lanes`]): scalar `f64`, or four
//! lanes in an AVX2 register.
//!
//! Invariant: as in [`crate::simd::vector`], every operation is IEEE-exact and lane-wise (add, sub,
//! mul, div, sqrt, ordered compares, bit operations on the lanes' representations; never a
//! fused multiply-add), so both implementations give the same bits for the same lanes.
//! Masks are vectors whose lanes are all ones (true) or all zeros (false).

use crate::simd::vector::Pack;
use std::ops::{Add, Div, Mul, Sub};

/// A vector of float64 lanes.
pub trait Vd:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    const LANES: usize;
    fn splat(x: f64) -> Self;
    /// Lanes with these bits.
    fn splat_bits(b: u64) -> Self {
        Self::splat(f64::from_bits(b))
    }
    fn load(s: &[f64]) -> Self;
    fn store(self, s: &mut [f64]);
    fn sqrt(self) -> Self;
    /// Mask of `self <= b` (false for NaN).
    fn le(self, b: Self) -> Self;
    /// Mask of `self < b` (false for NaN).
    fn lt(self, b: Self) -> Self;
    fn and(self, b: Self) -> Self;
    fn or(self, b: Self) -> Self;
    fn xor(self, b: Self) -> Self;
    /// Lanes where `mask` is true take `a`, the others `b`.
    fn select(mask: Self, a: Self, b: Self) -> Self;
    /// Adds `b` to every lane's bits as a u64 (wrapping).
    fn bits_add(self, b: u64) -> Self;
    /// Shifts every lane's bits right as a u64.
    fn bits_shr<const N: i32>(self) -> Self;
    /// Whether any lane of this mask is true.
    fn any(self) -> bool;
}

impl Vd for f64 {
    const LANES: usize = 1;
    #[inline(always)]
    fn splat(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn load(s: &[f64]) -> Self {
        s[0]
    }
    #[inline(always)]
    fn store(self, s: &mut [f64]) {
        s[0] = self;
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn le(self, b: Self) -> Self {
        mask(self <= b)
    }
    #[inline(always)]
    fn lt(self, b: Self) -> Self {
        mask(self < b)
    }
    #[inline(always)]
    fn and(self, b: Self) -> Self {
        f64::from_bits(self.to_bits() & b.to_bits())
    }
    #[inline(always)]
    fn or(self, b: Self) -> Self {
        f64::from_bits(self.to_bits() | b.to_bits())
    }
    #[inline(always)]
    fn xor(self, b: Self) -> Self {
        f64::from_bits(self.to_bits() ^ b.to_bits())
    }
    #[inline(always)]
    fn select(mask: Self, a: Self, b: Self) -> Self {
        if mask.to_bits() != 0 {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn bits_add(self, b: u64) -> Self {
        f64::from_bits(self.to_bits().wrapping_add(b))
    }
    #[inline(always)]
    fn bits_shr<const N: i32>(self) -> Self {
        f64::from_bits(self.to_bits() >> N)
    }
    #[inline(always)]
    fn any(self) -> bool {
        self.to_bits() != 0
    }
}

#[inline(always)]
fn mask(b: bool) -> f64 {
    f64::from_bits(if b { u64::MAX } else { 0 })
}

/// Several float64 vectors as one (see [`Pack`]): the float64 polynomials and divisions are
/// long dependency chains, and one vector at a time left the FP units waiting on latency.
impl<V: Vd, const G: usize> Vd for Pack<V, G> {
    const LANES: usize = V::LANES * G;
    #[inline(always)]
    fn splat(x: f64) -> Self {
        Pack([V::splat(x); G])
    }
    #[inline(always)]
    fn load(s: &[f64]) -> Self {
        Pack(std::array::from_fn(|i| V::load(&s[i * V::LANES..])))
    }
    #[inline(always)]
    fn store(self, s: &mut [f64]) {
        for (i, v) in self.0.into_iter().enumerate() {
            v.store(&mut s[i * V::LANES..]);
        }
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Pack(self.0.map(V::sqrt))
    }
    #[inline(always)]
    fn le(self, b: Self) -> Self {
        self.zip(b, V::le)
    }
    #[inline(always)]
    fn lt(self, b: Self) -> Self {
        self.zip(b, V::lt)
    }
    #[inline(always)]
    fn and(self, b: Self) -> Self {
        self.zip(b, V::and)
    }
    #[inline(always)]
    fn or(self, b: Self) -> Self {
        self.zip(b, V::or)
    }
    #[inline(always)]
    fn xor(self, b: Self) -> Self {
        self.zip(b, V::xor)
    }
    #[inline(always)]
    fn select(mask: Self, a: Self, b: Self) -> Self {
        Pack(std::array::from_fn(|i| {
            V::select(mask.0[i], a.0[i], b.0[i])
        }))
    }
    #[inline(always)]
    fn bits_add(self, b: u64) -> Self {
        Pack(self.0.map(|v| v.bits_add(b)))
    }
    #[inline(always)]
    fn bits_shr<const N: i32>(self) -> Self {
        Pack(self.0.map(|v| v.bits_shr::<N>()))
    }
    #[inline(always)]
    fn any(self) -> bool {
        self.0.iter().any(|v| v.any())
    }
}

/// A float64 lane computation written once over [`Vd`], with `N` results per lane.
pub trait LaneFn<const N: usize> {
    fn lanes<V: Vd>(&self, x: V) -> [V; N];
}

/// `f` on every lane of `x`: `V::LANES` lanes at a time where `L` is a multiple of that,
/// otherwise one at a time as `f64` (the same bits either way, by [`Vd`]'s invariant).
#[inline(always)]
pub fn map_lanes<V: Vd, F: LaneFn<N>, const L: usize, const N: usize>(
    f: &F,
    x: &[f64; L],
) -> [[f64; L]; N] {
    #[inline(always)]
    fn chunks<W: Vd, F: LaneFn<N>, const L: usize, const N: usize>(
        f: &F,
        x: &[f64; L],
    ) -> [[f64; L]; N] {
        let mut out = [[0f64; L]; N];
        for j in (0..L).step_by(W::LANES) {
            let e = j + W::LANES;
            for (o, v) in out.iter_mut().zip(f.lanes(W::load(&x[j..e]))) {
                v.store(&mut o[j..e]);
            }
        }
        out
    }
    if L.is_multiple_of(V::LANES) {
        chunks::<V, F, L, N>(f, x)
    } else {
        chunks::<f64, F, L, N>(f, x)
    }
}

/// For tests: `f` on eight lanes with the AVX2 level's vectors (two registers), or `None`
/// where the CPU has no AVX2. Compare with `map_lanes::<f64, ..>` for the scalar bits.
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) fn on_avx2<F: LaneFn<N>, const N: usize>(f: &F, x: &[f64; 8]) -> Option<[[f64; 8]; N]> {
    #[target_feature(enable = "avx2")]
    unsafe fn run<F: LaneFn<N>, const N: usize>(f: &F, x: &[f64; 8]) -> [[f64; 8]; N] {
        map_lanes::<Pack<F64x4, 2>, F, 8, N>(f, x)
    }
    // SAFETY: AVX2 is detected first.
    is_x86_feature_detected!("avx2").then(|| unsafe { run(f, x) })
}

#[cfg(target_arch = "x86_64")]
pub use x86::F64x4;

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! SAFETY (whole module): `F64x4` is only created and used inside functions compiled with
    //! AVX2 (`simd::dispatch` after CPU detection); loads and stores check their lengths.
    use super::*;
    use std::arch::x86_64::*;

    /// Four float64 lanes in one AVX2 register.
    #[derive(Clone, Copy)]
    pub struct F64x4(pub __m256d);

    macro_rules! binop {
        ($tr:ident, $f:ident, $op:ident) => {
            impl $tr for F64x4 {
                type Output = Self;
                #[inline(always)]
                fn $f(self, b: Self) -> Self {
                    F64x4(unsafe { $op(self.0, b.0) })
                }
            }
        };
    }
    binop!(Add, add, _mm256_add_pd);
    binop!(Sub, sub, _mm256_sub_pd);
    binop!(Mul, mul, _mm256_mul_pd);
    binop!(Div, div, _mm256_div_pd);

    impl Vd for F64x4 {
        const LANES: usize = 4;
        #[inline(always)]
        fn splat(x: f64) -> Self {
            F64x4(unsafe { _mm256_set1_pd(x) })
        }
        #[inline(always)]
        fn load(s: &[f64]) -> Self {
            let s = &s[..4];
            F64x4(unsafe { _mm256_loadu_pd(s.as_ptr()) })
        }
        #[inline(always)]
        fn store(self, s: &mut [f64]) {
            let s = &mut s[..4];
            unsafe { _mm256_storeu_pd(s.as_mut_ptr(), self.0) }
        }
        #[inline(always)]
        fn sqrt(self) -> Self {
            F64x4(unsafe { _mm256_sqrt_pd(self.0) })
        }
        #[inline(always)]
        fn le(self, b: Self) -> Self {
            F64x4(unsafe { _mm256_cmp_pd::<_CMP_LE_OQ>(self.0, b.0) })
        }
        #[inline(always)]
        fn lt(self, b: Self) -> Self {
            F64x4(unsafe { _mm256_cmp_pd::<_CMP_LT_OQ>(self.0, b.0) })
        }
        #[inline(always)]
        fn and(self, b: Self) -> Self {
            F64x4(unsafe { _mm256_and_pd(self.0, b.0) })
        }
        #[inline(always)]
        fn or(self, b: Self) -> Self {
            F64x4(unsafe { _mm256_or_pd(self.0, b.0) })
        }
        #[inline(always)]
        fn xor(self, b: Self) -> Self {
            F64x4(unsafe { _mm256_xor_pd(self.0, b.0) })
        }
        #[inline(always)]
        fn select(mask: Self, a: Self, b: Self) -> Self {
            F64x4(unsafe { _mm256_blendv_pd(b.0, a.0, mask.0) })
        }
        #[inline(always)]
        fn bits_add(self, b: u64) -> Self {
            F64x4(unsafe {
                let s = _mm256_add_epi64(_mm256_castpd_si256(self.0), _mm256_set1_epi64x(b as i64));
                _mm256_castsi256_pd(s)
            })
        }
        #[inline(always)]
        fn bits_shr<const N: i32>(self) -> Self {
            F64x4(unsafe {
                let s = _mm256_srl_epi64(_mm256_castpd_si256(self.0), _mm_cvtsi32_si128(N));
                _mm256_castsi256_pd(s)
            })
        }
        #[inline(always)]
        fn any(self) -> bool {
            unsafe { _mm256_movemask_pd(self.0) != 0 }
        }
    }
}
