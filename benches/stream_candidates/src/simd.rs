//! Float32 / u32 vectors for the sampler math, written once against [`Vf`] / [`Vu`] and run as
//! scalar `f32` (the reference), AVX2 `__m256` (8 lanes), AVX-512 `__m512` (16 lanes), or a
//! [`Pack`] of several registers (independent dependency chains for the out-of-order core).
//!
//! Invariant: every operation is IEEE-exact and lane-wise, and `fma` is a true fused
//! multiply-add on every level (`f32::mul_add` in scalar code, `vfmadd` in SIMD), so every level
//! gives the same bits. x86 `min`/`max` semantics (`a < b ? a : b`) are spelled out for scalar.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Lane mask of a comparison.
#[allow(dead_code)] // complete set of mask operations; not every sampler uses each
pub trait Mask: Copy {
    fn and(self, b: Self) -> Self;
    fn or(self, b: Self) -> Self;
    /// `self & !b`
    fn andnot(self, b: Self) -> Self;
    fn any(self) -> bool;
    fn all(self) -> bool;
}

/// A vector of float32 lanes.
pub trait Vf: Copy {
    type U: Vu<F = Self, M = Self::M>;
    type M: Mask;
    const LANES: usize;
    fn splat(x: f32) -> Self;
    fn add(self, b: Self) -> Self;
    fn sub(self, b: Self) -> Self;
    fn mul(self, b: Self) -> Self;
    /// `self * b + c` with one rounding.
    fn fma(self, b: Self, c: Self) -> Self;
    /// `-(self * b) + c` with one rounding.
    fn fnma(self, b: Self, c: Self) -> Self;
    fn sqrt(self) -> Self;
    /// `self < b ? self : b` (x86 order).
    fn min(self, b: Self) -> Self;
    /// `self > b ? self : b` (x86 order).
    fn max(self, b: Self) -> Self;
    fn lt(self, b: Self) -> Self::M;
    /// Lanes in `m` take `a`, the others `b`.
    fn select(m: Self::M, a: Self, b: Self) -> Self;
    fn to_bits(self) -> Self::U;
    fn store(self, out: &mut [f32]);
}

/// A vector of u32 lanes (wrapping arithmetic).
#[allow(dead_code)] // complete set of lane operations; not every sampler uses each
pub trait Vu: Copy {
    type F: Vf<U = Self, M = Self::M>;
    type M: Mask;
    fn splat(x: u32) -> Self;
    fn add(self, b: Self) -> Self;
    fn sub(self, b: Self) -> Self;
    fn and(self, b: Self) -> Self;
    fn or(self, b: Self) -> Self;
    fn xor(self, b: Self) -> Self;
    fn shr<const N: u32>(self) -> Self;
    fn shl<const N: u32>(self) -> Self;
    fn sar<const N: u32>(self) -> Self;
    /// The lanes read as i32, converted to float32 (round to nearest even).
    fn i32_to_f32(self) -> Self::F;
    fn as_f32(self) -> Self::F;
    /// Lanes read as i32: `self < b`.
    fn lt_i32(self, b: Self) -> Self::M;
    fn select(m: Self::M, a: Self, b: Self) -> Self;
    /// `table[self & (LEN - 1)]` for a table of 2^k floats, k <= 7 (the layers of a ziggurat).
    fn lookup(self, table: &Table) -> Self::F;
    fn lookup_u(self, table: &TableU) -> Self;
    /// `table[self & 15]` (16 floats: one register on AVX-512, two on AVX2).
    fn lookup16(self, table: &Table16) -> Self::F;
}

/// A 128-entry float32 table, 64-byte aligned (eight zmm registers).
#[repr(C, align(64))]
pub struct Table(pub [f32; 128]);
/// A 16-entry float32 table (one zmm register).
#[repr(C, align(64))]
pub struct Table16(pub [f32; 16]);
/// A 128-entry u32 table.
#[repr(C, align(64))]
pub struct TableU(pub [u32; 128]);

/// `a * b + c` written with [`Vf`]: a Horner step.
#[inline(always)]
pub fn horner<V: Vf, const K: usize>(x: V, first: f32, coeffs: [f32; K]) -> V {
    let mut p = V::splat(first);
    for c in coeffs {
        p = p.fma(x, V::splat(c));
    }
    p
}

/// The same polynomial as [`horner`] (coefficients highest power first, `K + 1` of them),
/// evaluated as `E(x^2) + x O(x^2)`: two independent Horner chains of half the length, so the
/// dependent-FMA latency is about halved for one extra multiply. (Different rounding from
/// [`horner`], identical on every level.)
#[inline(always)]
pub fn horner2<V: Vf, const K: usize>(x: V, first: f32, coeffs: [f32; K]) -> V {
    // c[0] = first (highest power K), c[K] = constant term.
    let mut c = [0f32; 16];
    c[0] = first;
    c[1..=K].copy_from_slice(&coeffs);
    let x2 = x.mul(x);
    // Powers K - i for i in 0..=K; even powers into `e`, odd into `o`.
    let mut e: Option<V> = None;
    let mut o: Option<V> = None;
    for (i, &ci) in c[..=K].iter().enumerate() {
        let power = K - i;
        let slot = if power.is_multiple_of(2) {
            &mut e
        } else {
            &mut o
        };
        *slot = Some(match *slot {
            None => V::splat(ci),
            Some(acc) => acc.fma(x2, V::splat(ci)),
        });
    }
    match (e, o) {
        (Some(e), Some(o)) => o.fma(x, e),
        (Some(e), None) => e,
        _ => unreachable!(),
    }
}

#[inline(always)]
pub fn clamp<V: Vf>(x: V, lo: V, hi: V) -> V {
    hi.min(lo.max(x))
}

// ---------------------------------------------------------------------------------------------
// Scalar reference.

impl Mask for bool {
    #[inline(always)]
    fn and(self, b: Self) -> Self {
        self & b
    }
    #[inline(always)]
    fn or(self, b: Self) -> Self {
        self | b
    }
    #[inline(always)]
    fn andnot(self, b: Self) -> Self {
        self & !b
    }
    #[inline(always)]
    fn any(self) -> bool {
        self
    }
    #[inline(always)]
    fn all(self) -> bool {
        self
    }
}

impl Vf for f32 {
    type U = u32;
    type M = bool;
    const LANES: usize = 1;
    #[inline(always)]
    fn splat(x: f32) -> Self {
        x
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        self + b
    }
    #[inline(always)]
    fn sub(self, b: Self) -> Self {
        self - b
    }
    #[inline(always)]
    fn mul(self, b: Self) -> Self {
        self * b
    }
    #[inline(always)]
    fn fma(self, b: Self, c: Self) -> Self {
        self.mul_add(b, c)
    }
    #[inline(always)]
    fn fnma(self, b: Self, c: Self) -> Self {
        (-self).mul_add(b, c)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn min(self, b: Self) -> Self {
        if self < b {
            self
        } else {
            b
        }
    }
    #[inline(always)]
    fn max(self, b: Self) -> Self {
        if self > b {
            self
        } else {
            b
        }
    }
    #[inline(always)]
    fn lt(self, b: Self) -> bool {
        self < b
    }
    #[inline(always)]
    fn select(m: bool, a: Self, b: Self) -> Self {
        if m {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn to_bits(self) -> u32 {
        f32::to_bits(self)
    }
    #[inline(always)]
    fn store(self, out: &mut [f32]) {
        out[0] = self;
    }
}

impl Vu for u32 {
    type F = f32;
    type M = bool;
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
    fn or(self, b: Self) -> Self {
        self | b
    }
    #[inline(always)]
    fn xor(self, b: Self) -> Self {
        self ^ b
    }
    #[inline(always)]
    fn shr<const N: u32>(self) -> Self {
        self >> N
    }
    #[inline(always)]
    fn shl<const N: u32>(self) -> Self {
        self << N
    }
    #[inline(always)]
    fn sar<const N: u32>(self) -> Self {
        ((self as i32) >> N) as u32
    }
    #[inline(always)]
    fn i32_to_f32(self) -> f32 {
        self as i32 as f32
    }
    #[inline(always)]
    fn as_f32(self) -> f32 {
        f32::from_bits(self)
    }
    #[inline(always)]
    fn lt_i32(self, b: Self) -> bool {
        (self as i32) < (b as i32)
    }
    #[inline(always)]
    fn select(m: bool, a: Self, b: Self) -> Self {
        if m {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn lookup(self, table: &Table) -> f32 {
        table.0[(self & 127) as usize]
    }
    #[inline(always)]
    fn lookup_u(self, table: &TableU) -> u32 {
        table.0[(self & 127) as usize]
    }
    #[inline(always)]
    fn lookup16(self, table: &Table16) -> f32 {
        table.0[(self & 15) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// Packs of registers.

/// `N` vectors processed as one: each operation is applied to all `N` before the next.
#[derive(Clone, Copy)]
pub struct Pack<V, const N: usize>(pub [V; N]);

impl<M: Mask, const N: usize> Mask for Pack<M, N> {
    #[inline(always)]
    fn and(self, b: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].and(b.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn or(self, b: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].or(b.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn andnot(self, b: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].andnot(b.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn any(self) -> bool {
        let mut m = self.0[0];
        for i in 1..N {
            m = m.or(self.0[i]);
        }
        m.any()
    }
    #[inline(always)]
    fn all(self) -> bool {
        let mut m = self.0[0];
        for i in 1..N {
            m = m.and(self.0[i]);
        }
        m.all()
    }
}

/// `Pack([f(x) for x in s])` without a closure (closures are not always inlined, and an
/// out-of-line one lacks the caller's target features).
macro_rules! pack_map {
    ($s:ident, $f:expr) => {{
        let mut r = Pack([$f($s.0[0]); N]);
        for i in 1..N {
            r.0[i] = $f($s.0[i]);
        }
        r
    }};
}

/// `Pack([f(a_i, b_i)])` without a closure.
macro_rules! pack_zip {
    ($a:expr, $b:expr, $f:expr) => {{
        let (a, b) = ($a, $b);
        let mut r = Pack([$f(a.0[0], b.0[0]); N]);
        for i in 1..N {
            r.0[i] = $f(a.0[i], b.0[i]);
        }
        r
    }};
}

impl<V: Vf, const N: usize> Vf for Pack<V, N> {
    type U = Pack<V::U, N>;
    type M = Pack<V::M, N>;
    const LANES: usize = V::LANES * N;
    #[inline(always)]
    fn splat(x: f32) -> Self {
        Pack([V::splat(x); N])
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].add(b.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn sub(self, b: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].sub(b.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn mul(self, b: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].mul(b.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn fma(self, b: Self, c: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].fma(b.0[i], c.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn fnma(self, b: Self, c: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].fnma(b.0[i], c.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        pack_map!(self, V::sqrt)
    }
    #[inline(always)]
    fn min(self, b: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].min(b.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn max(self, b: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].max(b.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn lt(self, b: Self) -> Self::M {
        pack_zip!(self, b, V::lt)
    }
    #[inline(always)]
    fn select(m: Self::M, a: Self, b: Self) -> Self {
        let mut r = a;
        for i in 0..N {
            r.0[i] = V::select(m.0[i], a.0[i], b.0[i]);
        }
        r
    }
    #[inline(always)]
    fn to_bits(self) -> Self::U {
        pack_map!(self, V::to_bits)
    }
    #[inline(always)]
    fn store(self, out: &mut [f32]) {
        for i in 0..N {
            self.0[i].store(&mut out[i * V::LANES..]);
        }
    }
}

impl<U: Vu, const N: usize> Vu for Pack<U, N> {
    type F = Pack<U::F, N>;
    type M = Pack<U::M, N>;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        Pack([U::splat(x); N])
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].add(b.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn sub(self, b: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].sub(b.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn and(self, b: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].and(b.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn or(self, b: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].or(b.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn xor(self, b: Self) -> Self {
        {
            let mut r = self;
            for i in 0..N {
                r.0[i] = r.0[i].xor(b.0[i]);
            }
            r
        }
    }
    #[inline(always)]
    fn shr<const S: u32>(self) -> Self {
        pack_map!(self, U::shr::<S>)
    }
    #[inline(always)]
    fn shl<const S: u32>(self) -> Self {
        pack_map!(self, U::shl::<S>)
    }
    #[inline(always)]
    fn sar<const S: u32>(self) -> Self {
        pack_map!(self, U::sar::<S>)
    }
    #[inline(always)]
    fn i32_to_f32(self) -> Self::F {
        pack_map!(self, U::i32_to_f32)
    }
    #[inline(always)]
    fn as_f32(self) -> Self::F {
        pack_map!(self, U::as_f32)
    }
    #[inline(always)]
    fn lt_i32(self, b: Self) -> Self::M {
        pack_zip!(self, b, U::lt_i32)
    }
    #[inline(always)]
    fn select(m: Self::M, a: Self, b: Self) -> Self {
        let mut r = a;
        for i in 0..N {
            r.0[i] = U::select(m.0[i], a.0[i], b.0[i]);
        }
        r
    }
    #[inline(always)]
    fn lookup(self, table: &Table) -> Self::F {
        let mut r = Pack([self.0[0].lookup(table); N]);
        for i in 1..N {
            r.0[i] = self.0[i].lookup(table);
        }
        r
    }
    #[inline(always)]
    fn lookup_u(self, table: &TableU) -> Self {
        let mut r = self;
        for i in 0..N {
            r.0[i] = self.0[i].lookup_u(table);
        }
        r
    }
    #[inline(always)]
    fn lookup16(self, table: &Table16) -> Self::F {
        pack_map!(self, |x: U| x.lookup16(table))
    }
}

// ---------------------------------------------------------------------------------------------
// AVX2 + FMA: 8 lanes. Only used inside functions compiled with `avx2,fma`.

#[cfg(target_arch = "x86_64")]
pub use x86::*;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;

    /// AVX2 shift intrinsics take an `i32` immediate, the trait a `u32` const: match on it
    /// (folded at compile time).
    macro_rules! imm_shift {
        ($f:ident, $x:expr, $n:expr) => {
            match $n {
                0 => $f::<0>($x),
                1 => $f::<1>($x),
                2 => $f::<2>($x),
                3 => $f::<3>($x),
                4 => $f::<4>($x),
                5 => $f::<5>($x),
                6 => $f::<6>($x),
                7 => $f::<7>($x),
                8 => $f::<8>($x),
                9 => $f::<9>($x),
                10 => $f::<10>($x),
                11 => $f::<11>($x),
                12 => $f::<12>($x),
                13 => $f::<13>($x),
                14 => $f::<14>($x),
                15 => $f::<15>($x),
                16 => $f::<16>($x),
                17 => $f::<17>($x),
                18 => $f::<18>($x),
                19 => $f::<19>($x),
                20 => $f::<20>($x),
                21 => $f::<21>($x),
                22 => $f::<22>($x),
                23 => $f::<23>($x),
                24 => $f::<24>($x),
                25 => $f::<25>($x),
                26 => $f::<26>($x),
                27 => $f::<27>($x),
                28 => $f::<28>($x),
                29 => $f::<29>($x),
                30 => $f::<30>($x),
                31 => $f::<31>($x),
                _ => unreachable!(),
            }
        };
    }

    #[derive(Clone, Copy)]
    pub struct F8(pub __m256);
    #[derive(Clone, Copy)]
    pub struct U8(pub __m256i);
    /// An AVX2 mask: all-ones lanes.
    #[derive(Clone, Copy)]
    pub struct M8(pub __m256i);

    // SAFETY (all AVX2 impls): these types are only constructed and used inside functions
    // compiled with `avx2,fma` (see gens::Level), so the intrinsics are available.
    impl Mask for M8 {
        #[inline(always)]
        fn and(self, b: Self) -> Self {
            unsafe { M8(_mm256_and_si256(self.0, b.0)) }
        }
        #[inline(always)]
        fn or(self, b: Self) -> Self {
            unsafe { M8(_mm256_or_si256(self.0, b.0)) }
        }
        #[inline(always)]
        fn andnot(self, b: Self) -> Self {
            unsafe { M8(_mm256_andnot_si256(b.0, self.0)) }
        }
        #[inline(always)]
        fn any(self) -> bool {
            unsafe { _mm256_testz_si256(self.0, self.0) == 0 }
        }
        #[inline(always)]
        fn all(self) -> bool {
            unsafe { _mm256_movemask_ps(_mm256_castsi256_ps(self.0)) == 0xff }
        }
    }

    impl Vf for F8 {
        type U = U8;
        type M = M8;
        const LANES: usize = 8;
        #[inline(always)]
        fn splat(x: f32) -> Self {
            unsafe { F8(_mm256_set1_ps(x)) }
        }
        #[inline(always)]
        fn add(self, b: Self) -> Self {
            unsafe { F8(_mm256_add_ps(self.0, b.0)) }
        }
        #[inline(always)]
        fn sub(self, b: Self) -> Self {
            unsafe { F8(_mm256_sub_ps(self.0, b.0)) }
        }
        #[inline(always)]
        fn mul(self, b: Self) -> Self {
            unsafe { F8(_mm256_mul_ps(self.0, b.0)) }
        }
        #[inline(always)]
        fn fma(self, b: Self, c: Self) -> Self {
            unsafe { F8(_mm256_fmadd_ps(self.0, b.0, c.0)) }
        }
        #[inline(always)]
        fn fnma(self, b: Self, c: Self) -> Self {
            unsafe { F8(_mm256_fnmadd_ps(self.0, b.0, c.0)) }
        }
        #[inline(always)]
        fn sqrt(self) -> Self {
            unsafe { F8(_mm256_sqrt_ps(self.0)) }
        }
        #[inline(always)]
        fn min(self, b: Self) -> Self {
            unsafe { F8(_mm256_min_ps(self.0, b.0)) }
        }
        #[inline(always)]
        fn max(self, b: Self) -> Self {
            unsafe { F8(_mm256_max_ps(self.0, b.0)) }
        }
        #[inline(always)]
        fn lt(self, b: Self) -> M8 {
            unsafe {
                M8(_mm256_castps_si256(_mm256_cmp_ps::<_CMP_LT_OQ>(
                    self.0, b.0,
                )))
            }
        }
        #[inline(always)]
        fn select(m: M8, a: Self, b: Self) -> Self {
            unsafe { F8(_mm256_blendv_ps(b.0, a.0, _mm256_castsi256_ps(m.0))) }
        }
        #[inline(always)]
        fn to_bits(self) -> U8 {
            unsafe { U8(_mm256_castps_si256(self.0)) }
        }
        #[inline(always)]
        fn store(self, out: &mut [f32]) {
            assert!(out.len() >= 8);
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), self.0) }
        }
    }

    impl Vu for U8 {
        type F = F8;
        type M = M8;
        #[inline(always)]
        fn splat(x: u32) -> Self {
            unsafe { U8(_mm256_set1_epi32(x as i32)) }
        }
        #[inline(always)]
        fn add(self, b: Self) -> Self {
            unsafe { U8(_mm256_add_epi32(self.0, b.0)) }
        }
        #[inline(always)]
        fn sub(self, b: Self) -> Self {
            unsafe { U8(_mm256_sub_epi32(self.0, b.0)) }
        }
        #[inline(always)]
        fn and(self, b: Self) -> Self {
            unsafe { U8(_mm256_and_si256(self.0, b.0)) }
        }
        #[inline(always)]
        fn or(self, b: Self) -> Self {
            unsafe { U8(_mm256_or_si256(self.0, b.0)) }
        }
        #[inline(always)]
        fn xor(self, b: Self) -> Self {
            unsafe { U8(_mm256_xor_si256(self.0, b.0)) }
        }
        #[inline(always)]
        fn shr<const N: u32>(self) -> Self {
            unsafe { U8(imm_shift!(_mm256_srli_epi32, self.0, N)) }
        }
        #[inline(always)]
        fn shl<const N: u32>(self) -> Self {
            unsafe { U8(imm_shift!(_mm256_slli_epi32, self.0, N)) }
        }
        #[inline(always)]
        fn sar<const N: u32>(self) -> Self {
            unsafe { U8(imm_shift!(_mm256_srai_epi32, self.0, N)) }
        }
        #[inline(always)]
        fn i32_to_f32(self) -> F8 {
            unsafe { F8(_mm256_cvtepi32_ps(self.0)) }
        }
        #[inline(always)]
        fn as_f32(self) -> F8 {
            unsafe { F8(_mm256_castsi256_ps(self.0)) }
        }
        #[inline(always)]
        fn lt_i32(self, b: Self) -> M8 {
            unsafe { M8(_mm256_cmpgt_epi32(b.0, self.0)) }
        }
        #[inline(always)]
        fn select(m: M8, a: Self, b: Self) -> Self {
            unsafe { U8(_mm256_blendv_epi8(b.0, a.0, m.0)) }
        }
        #[inline(always)]
        fn lookup(self, table: &Table) -> F8 {
            unsafe {
                let i = _mm256_and_si256(self.0, _mm256_set1_epi32(127));
                F8(_mm256_i32gather_ps::<4>(table.0.as_ptr(), i))
            }
        }
        #[inline(always)]
        fn lookup_u(self, table: &TableU) -> U8 {
            unsafe {
                let i = _mm256_and_si256(self.0, _mm256_set1_epi32(127));
                U8(_mm256_i32gather_epi32::<4>(
                    table.0.as_ptr() as *const i32,
                    i,
                ))
            }
        }
        /// Two `vpermps` (low 3 index bits) and a blend on bit 3.
        #[inline(always)]
        fn lookup16(self, table: &Table16) -> F8 {
            unsafe {
                let lo = _mm256_load_ps(table.0.as_ptr());
                let hi = _mm256_load_ps(table.0.as_ptr().add(8));
                let a = _mm256_permutevar8x32_ps(lo, self.0);
                let b = _mm256_permutevar8x32_ps(hi, self.0);
                let m = _mm256_slli_epi32::<28>(self.0);
                F8(_mm256_blendv_ps(a, b, _mm256_castsi256_ps(m)))
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // AVX-512 (F, BW, DQ, VL): 16 lanes, k-register masks. Only used inside functions compiled
    // with those features.

    #[derive(Clone, Copy)]
    pub struct F16(pub __m512);
    #[derive(Clone, Copy)]
    pub struct U16(pub __m512i);
    #[derive(Clone, Copy)]
    pub struct M16(pub __mmask16);

    impl Mask for M16 {
        #[inline(always)]
        fn and(self, b: Self) -> Self {
            M16(self.0 & b.0)
        }
        #[inline(always)]
        fn or(self, b: Self) -> Self {
            M16(self.0 | b.0)
        }
        #[inline(always)]
        fn andnot(self, b: Self) -> Self {
            M16(self.0 & !b.0)
        }
        #[inline(always)]
        fn any(self) -> bool {
            self.0 != 0
        }
        #[inline(always)]
        fn all(self) -> bool {
            self.0 == 0xffff
        }
    }

    impl Vf for F16 {
        type U = U16;
        type M = M16;
        const LANES: usize = 16;
        #[inline(always)]
        fn splat(x: f32) -> Self {
            unsafe { F16(_mm512_set1_ps(x)) }
        }
        #[inline(always)]
        fn add(self, b: Self) -> Self {
            unsafe { F16(_mm512_add_ps(self.0, b.0)) }
        }
        #[inline(always)]
        fn sub(self, b: Self) -> Self {
            unsafe { F16(_mm512_sub_ps(self.0, b.0)) }
        }
        #[inline(always)]
        fn mul(self, b: Self) -> Self {
            unsafe { F16(_mm512_mul_ps(self.0, b.0)) }
        }
        #[inline(always)]
        fn fma(self, b: Self, c: Self) -> Self {
            unsafe { F16(_mm512_fmadd_ps(self.0, b.0, c.0)) }
        }
        #[inline(always)]
        fn fnma(self, b: Self, c: Self) -> Self {
            unsafe { F16(_mm512_fnmadd_ps(self.0, b.0, c.0)) }
        }
        #[inline(always)]
        fn sqrt(self) -> Self {
            unsafe { F16(_mm512_sqrt_ps(self.0)) }
        }
        #[inline(always)]
        fn min(self, b: Self) -> Self {
            unsafe { F16(_mm512_min_ps(self.0, b.0)) }
        }
        #[inline(always)]
        fn max(self, b: Self) -> Self {
            unsafe { F16(_mm512_max_ps(self.0, b.0)) }
        }
        #[inline(always)]
        fn lt(self, b: Self) -> M16 {
            unsafe { M16(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(self.0, b.0)) }
        }
        #[inline(always)]
        fn select(m: M16, a: Self, b: Self) -> Self {
            unsafe { F16(_mm512_mask_blend_ps(m.0, b.0, a.0)) }
        }
        #[inline(always)]
        fn to_bits(self) -> U16 {
            unsafe { U16(_mm512_castps_si512(self.0)) }
        }
        #[inline(always)]
        fn store(self, out: &mut [f32]) {
            assert!(out.len() >= 16);
            unsafe { _mm512_storeu_ps(out.as_mut_ptr(), self.0) }
        }
    }

    impl Vu for U16 {
        type F = F16;
        type M = M16;
        #[inline(always)]
        fn splat(x: u32) -> Self {
            unsafe { U16(_mm512_set1_epi32(x as i32)) }
        }
        #[inline(always)]
        fn add(self, b: Self) -> Self {
            unsafe { U16(_mm512_add_epi32(self.0, b.0)) }
        }
        #[inline(always)]
        fn sub(self, b: Self) -> Self {
            unsafe { U16(_mm512_sub_epi32(self.0, b.0)) }
        }
        #[inline(always)]
        fn and(self, b: Self) -> Self {
            unsafe { U16(_mm512_and_si512(self.0, b.0)) }
        }
        #[inline(always)]
        fn or(self, b: Self) -> Self {
            unsafe { U16(_mm512_or_si512(self.0, b.0)) }
        }
        #[inline(always)]
        fn xor(self, b: Self) -> Self {
            unsafe { U16(_mm512_xor_si512(self.0, b.0)) }
        }
        #[inline(always)]
        fn shr<const N: u32>(self) -> Self {
            unsafe { U16(_mm512_srli_epi32::<N>(self.0)) }
        }
        #[inline(always)]
        fn shl<const N: u32>(self) -> Self {
            unsafe { U16(_mm512_slli_epi32::<N>(self.0)) }
        }
        #[inline(always)]
        fn sar<const N: u32>(self) -> Self {
            unsafe { U16(_mm512_srai_epi32::<N>(self.0)) }
        }
        #[inline(always)]
        fn i32_to_f32(self) -> F16 {
            unsafe { F16(_mm512_cvtepi32_ps(self.0)) }
        }
        #[inline(always)]
        fn as_f32(self) -> F16 {
            unsafe { F16(_mm512_castsi512_ps(self.0)) }
        }
        #[inline(always)]
        fn lt_i32(self, b: Self) -> M16 {
            unsafe { M16(_mm512_cmplt_epi32_mask(self.0, b.0)) }
        }
        #[inline(always)]
        fn select(m: M16, a: Self, b: Self) -> Self {
            unsafe { U16(_mm512_mask_blend_epi32(m.0, b.0, a.0)) }
        }
        /// 128 entries in eight registers: four two-register permutes (`vpermt2ps`, 32 entries
        /// each) on the low five index bits, then two levels of blends on bits 5 and 6.
        #[inline(always)]
        fn lookup(self, table: &Table) -> F16 {
            unsafe {
                let p = table.0.as_ptr();
                macro_rules! t {
                    ($k:expr) => {
                        _mm512_load_ps(p.add(16 * $k))
                    };
                }
                let i = self.0;
                let q0 = _mm512_permutex2var_ps(t!(0), i, t!(1));
                let q1 = _mm512_permutex2var_ps(t!(2), i, t!(3));
                let q2 = _mm512_permutex2var_ps(t!(4), i, t!(5));
                let q3 = _mm512_permutex2var_ps(t!(6), i, t!(7));
                let b5 = _mm512_test_epi32_mask(i, _mm512_set1_epi32(32));
                let b6 = _mm512_test_epi32_mask(i, _mm512_set1_epi32(64));
                let lo = _mm512_mask_blend_ps(b5, q0, q1);
                let hi = _mm512_mask_blend_ps(b5, q2, q3);
                F16(_mm512_mask_blend_ps(b6, lo, hi))
            }
        }
        #[inline(always)]
        fn lookup_u(self, table: &TableU) -> U16 {
            unsafe {
                let p = table.0.as_ptr() as *const __m512i;
                macro_rules! t {
                    ($k:expr) => {
                        _mm512_load_si512(p.add($k) as *const _)
                    };
                }
                let i = self.0;
                let q0 = _mm512_permutex2var_epi32(t!(0), i, t!(1));
                let q1 = _mm512_permutex2var_epi32(t!(2), i, t!(3));
                let q2 = _mm512_permutex2var_epi32(t!(4), i, t!(5));
                let q3 = _mm512_permutex2var_epi32(t!(6), i, t!(7));
                let b5 = _mm512_test_epi32_mask(i, _mm512_set1_epi32(32));
                let b6 = _mm512_test_epi32_mask(i, _mm512_set1_epi32(64));
                let lo = _mm512_mask_blend_epi32(b5, q0, q1);
                let hi = _mm512_mask_blend_epi32(b5, q2, q3);
                U16(_mm512_mask_blend_epi32(b6, lo, hi))
            }
        }
        #[inline(always)]
        fn lookup16(self, table: &Table16) -> F16 {
            unsafe {
                F16(_mm512_permutexvar_ps(
                    self.0,
                    _mm512_load_ps(table.0.as_ptr()),
                ))
            }
        }
    }
}
