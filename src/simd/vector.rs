//! Float32 vectors for the sampler math: one generic source, written against [`Vf`], runs as
//! scalar `f32`, as AVX2 or AVX-512 registers, or as a [`Pack`] of several of them.
//!
//! Invariant: every operation is IEEE-exact and lane-wise (add, sub, mul, sqrt, x86-ordered
//! min/max, `i32 -> f32` conversion, integer bit operations; never a fused multiply-add), so
//! every implementation gives the same bits for the same lanes.
//!
//! Why [`Pack`]: a polynomial in Horner form is one chain of dependent operations per vector.
//! Applying each step to several registers before the next step gives the CPU independent
//! work to overlap; lane-at-a-time code leaves the FP units waiting on latency.

use std::ops::{Add, Div, Mul, Sub};

/// A vector of float32 lanes.
pub trait Vf: Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> {
    /// The matching vector of u32 lanes.
    type U: Vu<F = Self>;
    fn splat(x: f32) -> Self;
    fn sqrt(self) -> Self;
    /// `if self > b { self } else { b }`: x86 `maxps` order. `lo.max_x86(x)` is exactly
    /// `if x < lo { lo } else { x }` (NaN stays NaN), the first half of `element::clamp`.
    fn max_x86(self, b: Self) -> Self;
    /// `if self < b { self } else { b }`: `hi.min_x86(y)` is `if y > hi { hi } else { y }`.
    fn min_x86(self, b: Self) -> Self;
    fn to_bits(self) -> Self::U;
}

/// A vector of u32 lanes (wrapping arithmetic).
pub trait Vu: Copy {
    type F: Vf<U = Self>;
    fn splat(x: u32) -> Self;
    fn add(self, b: Self) -> Self;
    fn sub(self, b: Self) -> Self;
    fn and(self, b: Self) -> Self;
    fn xor(self, b: Self) -> Self;
    /// Logical shift right.
    fn shr<const N: i32>(self) -> Self;
    /// Arithmetic shift right of the lanes read as i32.
    fn sar<const N: i32>(self) -> Self;
    /// The lanes read as i32, converted to float32 (round to nearest even).
    fn i32_to_f32(self) -> Self::F;
    /// The same bits read as float32.
    fn as_f32_bits(self) -> Self::F;
}

/// `clamp(x, lo, hi)` exactly as `element::clamp` (for `lo <= hi`).
#[inline(always)]
pub fn clamp<V: Vf>(x: V, lo: V, hi: V) -> V {
    hi.min_x86(lo.max_x86(x))
}

/// Lanes where `mask` is all ones take `a`, where it is zero `b`.
#[inline(always)]
pub fn select<V: Vf>(mask: V::U, a: V, b: V) -> V {
    let (a, b) = (a.to_bits(), b.to_bits());
    b.xor(a.xor(b).and(mask)).as_f32_bits()
}

impl Vf for f32 {
    type U = u32;
    #[inline(always)]
    fn splat(x: f32) -> Self {
        x
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn max_x86(self, b: Self) -> Self {
        if self > b {
            self
        } else {
            b
        }
    }
    #[inline(always)]
    fn min_x86(self, b: Self) -> Self {
        if self < b {
            self
        } else {
            b
        }
    }
    #[inline(always)]
    fn to_bits(self) -> u32 {
        f32::to_bits(self)
    }
}

impl Vu for u32 {
    type F = f32;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        x
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        self.wrapping_add(b)
    }
    #[inline(always)]
    fn sub(self, b: Self) -> Self {
        self.wrapping_sub(b)
    }
    #[inline(always)]
    fn and(self, b: Self) -> Self {
        self & b
    }
    #[inline(always)]
    fn xor(self, b: Self) -> Self {
        self ^ b
    }
    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        self >> N
    }
    #[inline(always)]
    fn sar<const N: i32>(self) -> Self {
        ((self as i32) >> N) as u32
    }
    #[inline(always)]
    fn i32_to_f32(self) -> f32 {
        self as i32 as f32
    }
    #[inline(always)]
    fn as_f32_bits(self) -> f32 {
        f32::from_bits(self)
    }
}

/// `G` vectors used as one: every operation is applied to all `G` before the next. Packs of
/// float32 vectors are [`Vf`]s, packs of float64 ones [`crate::simd::vector64::Vd`]s.
#[derive(Clone, Copy)]
pub struct Pack<V, const G: usize>(pub [V; G]);

impl<V: Copy, const G: usize> Pack<V, G> {
    /// `f` on the pairs of members of `self` and `b`.
    #[inline(always)]
    pub fn zip(self, b: Self, f: impl Fn(V, V) -> V) -> Self {
        Pack(std::array::from_fn(|i| f(self.0[i], b.0[i])))
    }
}

macro_rules! pack_binop {
    ($tr:ident, $f:ident) => {
        impl<V: $tr<Output = V> + Copy, const G: usize> $tr for Pack<V, G> {
            type Output = Self;
            #[inline(always)]
            fn $f(self, b: Self) -> Self {
                self.zip(b, V::$f)
            }
        }
    };
}
pack_binop!(Add, add);
pack_binop!(Sub, sub);
pack_binop!(Mul, mul);
pack_binop!(Div, div);

impl<V: Vf, const G: usize> Vf for Pack<V, G> {
    type U = Pack<V::U, G>;
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Pack([V::splat(x); G])
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Pack(self.0.map(V::sqrt))
    }
    #[inline(always)]
    fn max_x86(self, b: Self) -> Self {
        self.zip(b, V::max_x86)
    }
    #[inline(always)]
    fn min_x86(self, b: Self) -> Self {
        self.zip(b, V::min_x86)
    }
    #[inline(always)]
    fn to_bits(self) -> Self::U {
        Pack(self.0.map(V::to_bits))
    }
}

impl<U: Vu, const G: usize> Vu for Pack<U, G> {
    type F = Pack<U::F, G>;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        Pack([U::splat(x); G])
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        self.zip(b, U::add)
    }
    #[inline(always)]
    fn sub(self, b: Self) -> Self {
        self.zip(b, U::sub)
    }
    #[inline(always)]
    fn and(self, b: Self) -> Self {
        self.zip(b, U::and)
    }
    #[inline(always)]
    fn xor(self, b: Self) -> Self {
        self.zip(b, U::xor)
    }
    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        Pack(self.0.map(U::shr::<N>))
    }
    #[inline(always)]
    fn sar<const N: i32>(self) -> Self {
        Pack(self.0.map(U::sar::<N>))
    }
    #[inline(always)]
    fn i32_to_f32(self) -> Self::F {
        Pack(self.0.map(U::i32_to_f32))
    }
    #[inline(always)]
    fn as_f32_bits(self) -> Self::F {
        Pack(self.0.map(U::as_f32_bits))
    }
}

/// A vector type whose lanes are a row of 16 words: what the 16-block kernels work on.
pub trait Row16: Vf {
    fn load_u32(w: &[u32; 16]) -> Self::U;
    fn store(self, out: &mut [f32; 16]);
}

/// 16 lanes as plain scalars: the portable level (the compiler vectorizes the lane loops for
/// the baseline target).
impl Row16 for Pack<f32, 16> {
    #[inline(always)]
    fn load_u32(w: &[u32; 16]) -> Pack<u32, 16> {
        Pack(*w)
    }
    #[inline(always)]
    fn store(self, out: &mut [f32; 16]) {
        *out = self.0;
    }
}

#[cfg(target_arch = "x86_64")]
pub use x86::{F16, F8, U16, U8};

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! SAFETY (whole module): these types are only created and used inside functions compiled
    //! with the matching target features (`simd::dispatch` after CPU detection).
    use super::*;
    use std::arch::x86_64::*;

    macro_rules! x86_vec {
        ($F:ident, $U:ident, $f:ty, $u:ty, $feat:literal,
         add $add:ident, sub $sub:ident, mul $mul:ident, sqrt $sqrt:ident, max $max:ident,
         min $min:ident, set1f $set1f:ident, set1u $set1u:ident, addu $addu:ident,
         subu $subu:ident, and $and:ident, xor $xor:ident, srli $srli:ident, srai $srai:ident,
         cvt $cvt:ident, castfu $castfu:ident, castuf $castuf:ident) => {
            #[doc = concat!("float32 lanes in one ", $feat, " register.")]
            #[derive(Clone, Copy)]
            pub struct $F(pub $f);
            #[doc = concat!("u32 lanes in one ", $feat, " register.")]
            #[derive(Clone, Copy)]
            pub struct $U(pub $u);

            impl Add for $F {
                type Output = Self;
                #[inline(always)]
                fn add(self, b: Self) -> Self {
                    $F(unsafe { $add(self.0, b.0) })
                }
            }
            impl Sub for $F {
                type Output = Self;
                #[inline(always)]
                fn sub(self, b: Self) -> Self {
                    $F(unsafe { $sub(self.0, b.0) })
                }
            }
            impl Mul for $F {
                type Output = Self;
                #[inline(always)]
                fn mul(self, b: Self) -> Self {
                    $F(unsafe { $mul(self.0, b.0) })
                }
            }
            impl Vf for $F {
                type U = $U;
                #[inline(always)]
                fn splat(x: f32) -> Self {
                    $F(unsafe { $set1f(x) })
                }
                #[inline(always)]
                fn sqrt(self) -> Self {
                    $F(unsafe { $sqrt(self.0) })
                }
                #[inline(always)]
                fn max_x86(self, b: Self) -> Self {
                    $F(unsafe { $max(self.0, b.0) })
                }
                #[inline(always)]
                fn min_x86(self, b: Self) -> Self {
                    $F(unsafe { $min(self.0, b.0) })
                }
                #[inline(always)]
                fn to_bits(self) -> $U {
                    $U(unsafe { $castfu(self.0) })
                }
            }
            impl Vu for $U {
                type F = $F;
                #[inline(always)]
                fn splat(x: u32) -> Self {
                    $U(unsafe { $set1u(x as i32) })
                }
                #[inline(always)]
                fn add(self, b: Self) -> Self {
                    $U(unsafe { $addu(self.0, b.0) })
                }
                #[inline(always)]
                fn sub(self, b: Self) -> Self {
                    $U(unsafe { $subu(self.0, b.0) })
                }
                #[inline(always)]
                fn and(self, b: Self) -> Self {
                    $U(unsafe { $and(self.0, b.0) })
                }
                #[inline(always)]
                fn xor(self, b: Self) -> Self {
                    $U(unsafe { $xor(self.0, b.0) })
                }
                #[inline(always)]
                fn shr<const N: i32>(self) -> Self {
                    $U(unsafe { $srli(self.0, N as u32) })
                }
                #[inline(always)]
                fn sar<const N: i32>(self) -> Self {
                    $U(unsafe { $srai(self.0, N as u32) })
                }
                #[inline(always)]
                fn i32_to_f32(self) -> $F {
                    $F(unsafe { $cvt(self.0) })
                }
                #[inline(always)]
                fn as_f32_bits(self) -> $F {
                    $F(unsafe { $castuf(self.0) })
                }
            }
        };
    }

    // Shifts by a vector-independent count: the `_epi32` forms with an immediate take a const
    // generic; these wrappers take the count at run time (it is a constant after inlining).
    #[inline(always)]
    unsafe fn srli256(a: __m256i, n: u32) -> __m256i {
        _mm256_srl_epi32(a, _mm_cvtsi32_si128(n as i32))
    }
    #[inline(always)]
    unsafe fn srai256(a: __m256i, n: u32) -> __m256i {
        _mm256_sra_epi32(a, _mm_cvtsi32_si128(n as i32))
    }
    #[inline(always)]
    unsafe fn srli512(a: __m512i, n: u32) -> __m512i {
        _mm512_srl_epi32(a, _mm_cvtsi32_si128(n as i32))
    }
    #[inline(always)]
    unsafe fn srai512(a: __m512i, n: u32) -> __m512i {
        _mm512_sra_epi32(a, _mm_cvtsi32_si128(n as i32))
    }

    x86_vec!(F8, U8, __m256, __m256i, "AVX2",
        add _mm256_add_ps, sub _mm256_sub_ps, mul _mm256_mul_ps, sqrt _mm256_sqrt_ps,
        max _mm256_max_ps, min _mm256_min_ps, set1f _mm256_set1_ps, set1u _mm256_set1_epi32,
        addu _mm256_add_epi32, subu _mm256_sub_epi32, and _mm256_and_si256,
        xor _mm256_xor_si256, srli srli256, srai srai256, cvt _mm256_cvtepi32_ps,
        castfu _mm256_castps_si256, castuf _mm256_castsi256_ps);

    x86_vec!(F16, U16, __m512, __m512i, "AVX-512",
        add _mm512_add_ps, sub _mm512_sub_ps, mul _mm512_mul_ps, sqrt _mm512_sqrt_ps,
        max _mm512_max_ps, min _mm512_min_ps, set1f _mm512_set1_ps, set1u _mm512_set1_epi32,
        addu _mm512_add_epi32, subu _mm512_sub_epi32, and _mm512_and_si512,
        xor _mm512_xor_si512, srli srli512, srai srai512, cvt _mm512_cvtepi32_ps,
        castfu _mm512_castps_si512, castuf _mm512_castsi512_ps);

    impl Row16 for Pack<F8, 2> {
        #[inline(always)]
        fn load_u32(w: &[u32; 16]) -> Pack<U8, 2> {
            // SAFETY: 16 u32 are two unaligned 256-bit loads.
            unsafe {
                let p = w.as_ptr() as *const __m256i;
                Pack([U8(_mm256_loadu_si256(p)), U8(_mm256_loadu_si256(p.add(1)))])
            }
        }
        #[inline(always)]
        fn store(self, out: &mut [f32; 16]) {
            // SAFETY: 16 f32 are two unaligned 256-bit stores.
            unsafe {
                _mm256_storeu_ps(out.as_mut_ptr(), self.0[0].0);
                _mm256_storeu_ps(out.as_mut_ptr().add(8), self.0[1].0);
            }
        }
    }

    impl Row16 for Pack<F16, 1> {
        #[inline(always)]
        fn load_u32(w: &[u32; 16]) -> Pack<U16, 1> {
            // SAFETY: 16 u32 are one unaligned 512-bit load.
            unsafe { Pack([U16(_mm512_loadu_si512(w.as_ptr() as *const __m512i))]) }
        }
        #[inline(always)]
        fn store(self, out: &mut [f32; 16]) {
            // SAFETY: 16 f32 are one unaligned 512-bit store.
            unsafe { _mm512_storeu_ps(out.as_mut_ptr(), self.0[0].0) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_matches_element_clamp() {
        let xs = [-3.0f32, -0.0, 0.0, 1.0, 2.5, f32::NAN, f32::INFINITY];
        for &(lo, hi) in &[(-0.0f32, 0.0f32), (0.0, 0.0), (-1.0, 2.0), (0.0, 1.0)] {
            for &x in &xs {
                let want = crate::buffer::element::clamp(x, lo, hi);
                let got = clamp(x, lo, hi);
                assert_eq!(got.to_bits(), want.to_bits(), "{x} in [{lo}, {hi}]");
            }
        }
    }

    /// The math functions give the same bits as 16-lane AVX2 rows and as scalars.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_rows_match_scalar() {
        if !is_x86_feature_detected!("avx2") {
            return;
        }
        use crate::simd::math::{cos_sin_turns, erfinv_central, ln};
        #[target_feature(enable = "avx2")]
        unsafe fn rows(w: &[u32; 16]) -> [[f32; 16]; 4] {
            type R = Pack<F8, 2>;
            let u = R::load_u32(w);
            let unit = u.shr::<8>().i32_to_f32() * R::splat(1.0 / 16_777_216.0) + R::splat(1e-9);
            let (c, s) = cos_sin_turns::<R>(u);
            let e = erfinv_central(unit * R::splat(1.99) - R::splat(0.995));
            let mut out = [[0f32; 16]; 4];
            for (o, v) in out.iter_mut().zip([ln(unit), c, s, e]) {
                v.store(o);
            }
            out
        }
        let mut x = 0x1234_5678u32;
        for _ in 0..20_000 {
            let w: [u32; 16] = std::array::from_fn(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x
            });
            // SAFETY: avx2 was detected above.
            let got = unsafe { rows(&w) };
            for j in 0..16 {
                let unit = (w[j] >> 8) as i32 as f32 * (1.0 / 16_777_216.0) + 1e-9;
                let (c, s) = cos_sin_turns::<f32>(w[j]);
                let want = [ln(unit), c, s, erfinv_central(unit * 1.99 - 0.995)];
                for k in 0..4 {
                    assert_eq!(got[k][j].to_bits(), want[k].to_bits(), "{k} {:#x}", w[j]);
                }
            }
        }
    }
}
