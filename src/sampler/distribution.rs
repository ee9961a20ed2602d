//! A distribution ([`Distribution`]: its float32- and float64-stream kernels) and a
//! [`Sampler`]: a distribution bound to a generator position and a dtype, which writes any
//! index range of that dtype (narrow dtypes through [`super::dtype_writer`]).

use super::dtype_writer::{round_to_bf16, round_to_f16};
use super::kernel::{cast_slice_mut, run_kernel, BlockKernel};
use crate::buffer::element::{interval, DType, Element};
use crate::error::Result;
use crate::rng::aes_ctr::AesCtr;
use half::{bf16, f16};

/// A distribution ready to sample one dtype: its float32-stream and float64-stream kernels.
pub trait Distribution: Sync {
    type K32: BlockKernel<f32>;
    type K64: BlockKernel<f64>;
    /// The closed interval every value lies in (after rounding to the dtype).
    fn support(&self) -> (f64, f64);
    fn kernel32(&self, bounds: (f32, f32)) -> Self::K32;
    fn kernel64(&self, bounds: (f64, f64)) -> Self::K64;
}

/// float32 values per chunk of a float16/bfloat16 fill: 16 KiB, so the chunk stays in L1.
const NARROW_CHUNK: usize = 4096;

/// A distribution bound to a generator position and a dtype: writes any index range.
pub struct Sampler<D: Distribution> {
    rng: AesCtr,
    base: u64,
    k32: D::K32,
    k64: D::K64,
    b16: (f16, f16),
    bb16: (bf16, bf16),
}

impl<D: Distribution> Sampler<D> {
    /// Validates that the dtype has values inside the support (the only check that depends
    /// on the dtype), so a call fails before it writes.
    pub fn new(dist: &D, dtype: DType, rng: AesCtr, base: u64) -> Result<Self> {
        let (lo, hi) = dist.support();
        // Only the dtype's own interval must be non-empty (a subnormal float64 window has no
        // float32 value); the other stream gets its widest bounds and is never used.
        let b32 = match dtype {
            DType::F64 => (-f32::MAX, f32::MAX),
            _ => interval::<f32>(lo, hi)?,
        };
        let b64 = match dtype {
            DType::F64 => interval::<f64>(lo, hi)?,
            _ => (-f64::MAX, f64::MAX),
        };
        let b16 = match dtype {
            DType::F16 => interval::<f16>(lo, hi)?,
            _ => (f16::MIN, f16::MAX),
        };
        let bb16 = match dtype {
            DType::BF16 => interval::<bf16>(lo, hi)?,
            _ => (bf16::MIN, bf16::MAX),
        };
        Ok(Sampler {
            rng,
            base,
            k32: dist.kernel32(b32),
            k64: dist.kernel64(b64),
            b16,
            bb16,
        })
    }

    /// Values at logical indices `first..first + out.len()`.
    pub fn fill<T: Element>(&self, first: u64, out: &mut [T], scratch: &mut Vec<f32>) {
        // The dtype is known statically; these casts are identity reinterpretations.
        match T::DTYPE {
            DType::F32 => {
                let out = cast_slice_mut::<T, f32>(out);
                run_kernel(&self.k32, &self.rng, self.base, first, out);
            }
            DType::F64 => {
                let out = cast_slice_mut::<T, f64>(out);
                run_kernel(&self.k64, &self.rng, self.base, first, out);
            }
            DType::F16 => {
                let out = cast_slice_mut::<T, f16>(out);
                self.narrow(first, out, scratch, |s, o| round_to_f16(s, o, self.b16));
            }
            DType::BF16 => {
                let out = cast_slice_mut::<T, bf16>(out);
                self.narrow(first, out, scratch, |s, o| round_to_bf16(s, o, self.bb16));
            }
        }
    }

    /// A float16/bfloat16 range: the float32 stream in chunks of [`NARROW_CHUNK`] values, each
    /// rounded while it is still in L1 (a scratch the size of the whole range sat in L2 and
    /// cost as much as the sampling). Chunking changes no value: every index is computed alone.
    fn narrow<H: Copy>(
        &self,
        first: u64,
        out: &mut [H],
        scratch: &mut Vec<f32>,
        round: impl Fn(&[f32], &mut [H]),
    ) {
        scratch.resize(NARROW_CHUNK.min(out.len()), 0.0);
        for (i, o) in out.chunks_mut(NARROW_CHUNK).enumerate() {
            let s = &mut scratch[..o.len()];
            let at = first + (i * NARROW_CHUNK) as u64;
            run_kernel(&self.k32, &self.rng, self.base, at, s);
            round(s, o);
        }
    }
}
