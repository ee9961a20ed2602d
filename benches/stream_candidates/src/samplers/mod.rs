//! Float32 samplers over generator words. Each is a [`Kernel`]: a group of `W` words (as
//! vectors, in element order) to `W` values, so the value at element `e` is a pure function of
//! the key and `e` on every level. All arithmetic goes through [`crate::simd::Vf`] with FMA, so
//! scalar (`mul_add`), AVX2 and AVX-512 give the same bits (checked by `accuracy`).

pub mod boxmuller;
pub mod icdf;
pub mod math;
pub mod uniform;
pub mod ziggurat;

use crate::simd::{Vf, Vu};

/// Applies `$body` (with `$x` bound to a pack of `$p` consecutive word vectors of `$w`) and
/// stores the results in order. A macro, not a function taking a closure: LLVM does not always
/// inline a large closure, and an out-of-line closure lacks the caller's target features, so
/// every intrinsic in it would become a call.
#[macro_export]
macro_rules! map_packs {
    ($V:ty, $p:expr, $w:expr, $out:expr, |$x:ident| $body:expr) => {{
        let w = $w;
        let out = $out;
        let l = <$V as $crate::simd::Vf>::LANES;
        for (k, c) in w.chunks_exact($p).enumerate() {
            let mut a = [c[0]; $p];
            a.copy_from_slice(c);
            let $x = $crate::simd::Pack::<_, { $p }>(a);
            let r: $crate::simd::Pack<$V, { $p }> = $body;
            $crate::simd::Vf::store(r, &mut out[k * $p * l..]);
        }
    }};
}

/// Pairs vector `i` of the first half of the group with vector `i` of the second half:
/// `$body` gives (value for the first, value for the second). A macro for the same reason.
#[macro_export]
macro_rules! map_half_pairs {
    ($V:ty, $p:expr, $w:expr, $out:expr, |$a:ident, $b:ident| $body:expr) => {{
        let w = $w;
        let out = $out;
        let half = w.len() / 2;
        let l = <$V as $crate::simd::Vf>::LANES;
        for k in (0..half).step_by($p) {
            let mut a = [w[k]; $p];
            a.copy_from_slice(&w[k..k + $p]);
            let $a = $crate::simd::Pack::<_, { $p }>(a);
            let mut b = [w[half]; $p];
            b.copy_from_slice(&w[half + k..half + k + $p]);
            let $b = $crate::simd::Pack::<_, { $p }>(b);
            let (x, y): (
                $crate::simd::Pack<$V, { $p }>,
                $crate::simd::Pack<$V, { $p }>,
            ) = $body;
            $crate::simd::Vf::store(x, &mut out[k * l..]);
            $crate::simd::Vf::store(y, &mut out[(half + k) * l..]);
        }
    }};
}

/// Runs `$f::<P>` with P = 4 registers per pack on 16-lane levels (AVX-512 has 32 registers)
/// and P = 2 elsewhere (AVX2's 16 registers spill with 4).
#[macro_export]
macro_rules! by_width {
    ($V:ty, $f:ident ( $($arg:expr),* )) => {
        if <$V as $crate::simd::Vf>::LANES == 16 {
            $f::<$V, 4>($($arg),*)
        } else {
            $f::<$V, 2>($($arg),*)
        }
    };
}

/// `(w >> 1) 2^-31 * scale + offset`: 31 bits to float32 with one rounding in the conversion
/// (a non-negative i32 converts in one instruction on every level, a u32 does not).
#[inline(always)]
pub fn unit31<V: Vf>(w: V::U, scale: f32, offset: f32) -> V {
    w.shr::<1>()
        .i32_to_f32()
        .fma(V::splat(scale * (1.0 / 2_147_483_648.0)), V::splat(offset))
}
