//! Uniform on `[a, b]`, rounded into the interval.
//!
//! float32 stream: `a (1 - u) + b u` in float32 with `u` the top 24 bits of one word (the lerp
//! form cannot overflow for any finite `a, b`); float64 stream: `a + (b - a) u` with 53 bits.

use super::{interleave4, unit_f32, unit_f64_53, BlockKernel, Distribution};
use crate::buffer::element::clamp;
use crate::error::{check_finite, py_float, Error, Result};
use crate::rng::aes_ctr::AesCtr;
use crate::simd::isa::Isa;

#[derive(Clone, Copy, Debug)]
pub struct Uniform {
    a: f64,
    b: f64,
}

impl Uniform {
    /// torch's check and wording for `a > b`; an empty range `a == b` is refused too.
    pub fn new(a: f64, b: f64) -> Result<Self> {
        check_finite("a", a)?;
        check_finite("b", b)?;
        if a > b {
            return Err(Error::Runtime(format!(
                "uniform_ expects to return a [from, to) range, but found from={} > to={}",
                py_float(a),
                py_float(b)
            )));
        }
        if a == b {
            return Err(Error::Runtime(format!(
                "uniform_ expects to return a [from, to) range, but found an empty range from={} == to={}",
                py_float(a),
                py_float(b)
            )));
        }
        if !(b - a).is_finite() {
            return Err(Error::Value(format!(
                "uniform_: b - a overflows float64 (a={}, b={})",
                py_float(a),
                py_float(b)
            )));
        }
        Ok(Uniform { a, b })
    }
}

pub struct UniformKernel<T> {
    a: T,
    /// `b` for the float32 stream (lerp form), `b - a` for the float64 stream.
    d: T,
    lo: T,
    hi: T,
}

impl BlockKernel<f32> for UniformKernel<f32> {
    const PER_BLOCK: usize = 4;
    #[inline(always)]
    fn batch<const L: usize, I: Isa>(&self, rng: &AesCtr, block: u64, out: &mut [f32]) {
        let w = I::blocks::<L>(rng, block);
        let mut v = [[0f32; L]; 4];
        for j in 0..L {
            for k in 0..4 {
                let u = unit_f32(w[k][j]);
                let x = self.a * (1.0 - u) + self.d * u;
                v[k][j] = clamp(x, self.lo, self.hi);
            }
        }
        interleave4::<f32, L, I>(&v, out);
    }
}

impl BlockKernel<f64> for UniformKernel<f64> {
    const PER_BLOCK: usize = 2;
    #[inline(always)]
    fn batch<const L: usize, I: Isa>(&self, rng: &AesCtr, block: u64, out: &mut [f64]) {
        let w = I::blocks::<L>(rng, block);
        for j in 0..L {
            let x0 = self.a + self.d * unit_f64_53(w[0][j], w[1][j]);
            let x1 = self.a + self.d * unit_f64_53(w[2][j], w[3][j]);
            out[2 * j] = clamp(x0, self.lo, self.hi);
            out[2 * j + 1] = clamp(x1, self.lo, self.hi);
        }
    }
}

impl Distribution for Uniform {
    type K32 = UniformKernel<f32>;
    type K64 = UniformKernel<f64>;
    fn support(&self) -> (f64, f64) {
        (self.a, self.b)
    }
    fn kernel32(&self, (lo, hi): (f32, f32)) -> Self::K32 {
        // a and b rounded to float32 may fall outside [a, b]: the clamp brings values back.
        // Beyond float32's range they saturate at f32::MAX, so the lerp never sees inf - inf.
        let fin = |x: f64| x.clamp(-(f32::MAX as f64), f32::MAX as f64) as f32;
        UniformKernel {
            a: fin(self.a),
            d: fin(self.b),
            lo,
            hi,
        }
    }
    fn kernel64(&self, (lo, hi): (f64, f64)) -> Self::K64 {
        UniformKernel {
            a: self.a,
            d: self.b - self.a,
            lo,
            hi,
        }
    }
}
