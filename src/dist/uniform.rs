//! Uniform on `[a, b]`: `a + (b - a) * u`, computed in float64 and rounded into the interval.

use super::{unit_f32_24, unit_f64_53, BlockKernel, Distribution};
use crate::element::clamp;
use crate::error::{check_finite, py_float, Error, Result};
use crate::philox::Philox4x32;

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
    a: f64,
    d: f64,
    lo: T,
    hi: T,
}

impl BlockKernel<f32> for UniformKernel<f32> {
    const PER_BLOCK: usize = 4;
    #[inline(always)]
    fn batch<const L: usize>(&self, rng: &Philox4x32, block: u64, out: &mut [f32]) {
        let w = rng.blocks::<L>(block);
        for j in 0..L {
            for k in 0..4 {
                let x = (self.a + self.d * unit_f32_24(w[k][j])) as f32;
                out[4 * j + k] = clamp(x, self.lo, self.hi);
            }
        }
    }
}

impl BlockKernel<f64> for UniformKernel<f64> {
    const PER_BLOCK: usize = 2;
    #[inline(always)]
    fn batch<const L: usize>(&self, rng: &Philox4x32, block: u64, out: &mut [f64]) {
        let w = rng.blocks::<L>(block);
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
        UniformKernel { a: self.a, d: self.b - self.a, lo, hi }
    }
    fn kernel64(&self, (lo, hi): (f64, f64)) -> Self::K64 {
        UniformKernel { a: self.a, d: self.b - self.a, lo, hi }
    }
}
