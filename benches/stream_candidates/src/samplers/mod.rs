//! Float32 samplers over generator words. Each is a [`Kernel`]: a group of `W` words (as
//! vectors, in element order) to `W` values, so the value at element `e` is a pure function of
//! the key and `e` on every level. All arithmetic goes through [`crate::simd::Vf`] with FMA, so
//! scalar (`mul_add`), AVX2 and AVX-512 give the same bits (checked by `accuracy`).

pub mod boxmuller;
pub mod icdf;
pub mod math;
pub mod uniform;
pub mod ziggurat;

use crate::simd::{Pack, Vf, Vu};

/// Applies `f` to packs of `P` consecutive vectors of `w`, storing the results in order.
/// `w.len()` must be a multiple of `P`.
#[inline(always)]
pub fn map_packs<V: Vf, const P: usize>(
    w: &[V::U],
    out: &mut [f32],
    f: impl Fn(Pack<V::U, P>) -> Pack<V, P>,
) {
    for (k, c) in w.chunks_exact(P).enumerate() {
        let x = Pack::<V::U, P>(std::array::from_fn(|i| c[i]));
        f(x).store(&mut out[k * P * V::LANES..]);
    }
}

/// Pairs vector `i` of the first half of the group with vector `i` of the second half:
/// `f(first, second) -> (value for first, value for second)`.
#[inline(always)]
pub fn map_half_pairs<V: Vf, const P: usize>(
    w: &[V::U],
    out: &mut [f32],
    f: impl Fn(Pack<V::U, P>, Pack<V::U, P>) -> (Pack<V, P>, Pack<V, P>),
) {
    let half = w.len() / 2;
    let l = V::LANES;
    for k in (0..half).step_by(P) {
        let a = Pack::<V::U, P>(std::array::from_fn(|i| w[k + i]));
        let b = Pack::<V::U, P>(std::array::from_fn(|i| w[half + k + i]));
        let (x, y) = f(a, b);
        x.store(&mut out[k * l..]);
        y.store(&mut out[(half + k) * l..]);
    }
}

/// `(w >> 1) 2^-31 * scale + offset`: 31 bits to float32 with one rounding in the conversion
/// (a non-negative i32 converts in one instruction on every level, a u32 does not).
#[inline(always)]
pub fn unit31<V: Vf>(w: V::U, scale: f32, offset: f32) -> V {
    w.shr::<1>()
        .i32_to_f32()
        .fma(V::splat(scale * (1.0 / 2_147_483_648.0)), V::splat(offset))
}
