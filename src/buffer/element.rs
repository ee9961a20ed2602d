//! Element types: the dtypes ferroinit writes, and rounding into an interval.
//!
//! Invariant: float16 and bfloat16 values are the float32 stream rounded to nearest even;
//! float64 has a stream of its own (two 32-bit words per uniform).

use crate::error::{Error, Result};
use half::{bf16, f16};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F16,
    BF16,
    F32,
    F64,
}

impl DType {
    pub fn itemsize(self) -> usize {
        match self {
            DType::F16 | DType::BF16 => 2,
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// Elements drawn from one counter block (four 32-bit words): one word per value for the
    /// 32-bit-or-narrower family, two per value for float64.
    pub fn per_block(self) -> u64 {
        match self {
            DType::F64 => 2,
            _ => 4,
        }
    }

    /// Generator blocks consumed by `n` elements.
    pub fn blocks_for(self, n: u64) -> u64 {
        n.div_ceil(self.per_block())
    }
}

/// A float type ferroinit can write.
pub trait Element: Copy + Default + Send + Sync + PartialOrd + 'static {
    const DTYPE: DType;
    fn from_f64(x: f64) -> Self;
    fn from_f32(x: f32) -> Self;
    fn to_f64(self) -> f64;
    fn max_finite() -> Self;
    /// The next value towards +infinity (finite inputs only).
    fn next_up(self) -> Self;
    /// The next value towards -infinity (finite inputs only).
    fn next_down(self) -> Self;
}

macro_rules! impl_std_float {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn from_f32(x: f32) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn max_finite() -> Self {
                <$t>::MAX
            }
            fn next_up(self) -> Self {
                <$t>::next_up(self)
            }
            fn next_down(self) -> Self {
                <$t>::next_down(self)
            }
        }
    };
}
impl_std_float!(f32, DType::F32);
impl_std_float!(f64, DType::F64);

macro_rules! impl_half_float {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                <$t>::from_f64(x)
            }
            #[inline(always)]
            fn from_f32(x: f32) -> Self {
                <$t>::from_f32(x)
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                <$t>::to_f64(self)
            }
            fn max_finite() -> Self {
                <$t>::MAX
            }
            fn next_up(self) -> Self {
                let b = self.to_bits();
                if self.to_f64() == 0.0 {
                    <$t>::from_bits(1)
                } else if b & 0x8000 == 0 {
                    <$t>::from_bits(b + 1)
                } else {
                    <$t>::from_bits(b - 1)
                }
            }
            fn next_down(self) -> Self {
                let b = self.to_bits();
                if self.to_f64() == 0.0 {
                    <$t>::from_bits(0x8001)
                } else if b & 0x8000 == 0 {
                    <$t>::from_bits(b - 1)
                } else {
                    <$t>::from_bits(b + 1)
                }
            }
        }
    };
}
impl_half_float!(f16, DType::F16);
impl_half_float!(bf16, DType::BF16);

/// The tightest values of `T` inside `[lo, hi]`, clipped to `T`'s finite range: rounding a
/// value of `[lo, hi]` to `T` and then clamping to these bounds rounds it *into* the interval
/// (to its nearest representable value inside), never out of it.
pub fn interval<T: Element>(lo: f64, hi: f64) -> Result<(T, T)> {
    let max = T::max_finite();
    let mut l = if lo <= -max.to_f64() {
        T::from_f64(-max.to_f64())
    } else {
        T::from_f64(lo)
    };
    if l.to_f64() < lo {
        l = l.next_up();
    }
    let mut h = if hi >= max.to_f64() {
        max
    } else {
        T::from_f64(hi)
    };
    if h.to_f64() > hi {
        h = h.next_down();
    }
    if l.to_f64()
        .partial_cmp(&h.to_f64())
        .is_none_or(|o| o.is_gt())
        || !l.to_f64().is_finite()
        || !h.to_f64().is_finite()
    {
        return Err(Error::Value(format!(
            "no {} value lies in [{}, {}]",
            T::DTYPE.name(),
            crate::error::py_float(lo),
            crate::error::py_float(hi)
        )));
    }
    Ok((l, h))
}

/// Clamp for values already rounded to `T` (no NaNs reach here).
#[inline(always)]
pub fn clamp<T: PartialOrd>(x: T, lo: T, hi: T) -> T {
    let y = if x < lo { lo } else { x };
    if y > hi {
        hi
    } else {
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_rounds_inward() {
        let (l, h) = interval::<f16>(0.1, 0.2).unwrap();
        assert!(l.to_f64() >= 0.1 && h.to_f64() <= 0.2);
        assert!(l.next_down().to_f64() < 0.1 && h.next_up().to_f64() > 0.2);
        let (l, h) = interval::<f32>(-1e300, 1e300).unwrap();
        assert_eq!((l, h), (-f32::MAX, f32::MAX));
        assert!(interval::<f16>(0.1, 0.10001).is_err());
    }
}
