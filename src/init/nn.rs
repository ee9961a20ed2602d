//! The initializers of torch.nn.init over a [`Layout`]: validate everything, reserve the
//! generator's blocks, then fill. Nothing is written, and the generator does not move, unless
//! every check passed.

use crate::buffer::element::{DType, Element};
use crate::buffer::layout::Layout;
use crate::error::{check_finite, Error, Result};
use crate::init::fans;
use crate::init::fill::{fill, Constant, Poll, Writer};
use crate::init::{orthogonal, sparse, structured};
use crate::rng::aes_ctr::AesCtr;
use crate::rng::generator::Generator;
use crate::sampler::law::Visit;
use crate::sampler::normal::Normal;
use crate::sampler::trunc_normal::TruncNormal;
use crate::sampler::uniform::Uniform;
use crate::sampler::{Distribution, Law, Sampler};

/// Samples `d` into the view: one block per `per_block` elements of the *global* array, so
/// shards of one array advance a generator in step.
fn sample<D: Distribution>(layout: &Layout, d: &D, gen: &Generator, poll: Poll<'_>) -> Result<()> {
    Sampler::new(d, layout.dtype, AesCtr::new(0, 0), 0)?; // dtype-dependent checks
    let (seed, base) = gen.reserve(layout.dtype.blocks_for(layout.global_len));
    let s = Sampler::new(d, layout.dtype, AesCtr::new(seed, 0), base)?;
    fill(layout, &s, poll)
}

/// The raw 32-bit stream: words of blocks `first..` in order (advances by `ceil(n / 4)`).
pub fn random_raw(gen: &Generator, out: &mut [u32]) {
    let (seed, first) = gen.reserve((out.len() as u64).div_ceil(4));
    crate::sampler::raw::fill_raw(&AesCtr::new(seed, 0), first, out);
}

/// Samples `law` (any law of the catalogue, [`Law`]) into the view.
pub fn fill_law(l: &Layout, law: &Law, gen: &Generator, poll: Poll<'_>) -> Result<()> {
    struct SampleInto<'a, 'p> {
        l: &'a Layout,
        gen: &'a Generator,
        poll: Poll<'p>,
    }
    impl Visit for SampleInto<'_, '_> {
        type Output = Result<()>;
        fn visit<D: Distribution>(self, d: &D) -> Result<()> {
            sample(self.l, d, self.gen, self.poll)
        }
    }
    law.visit(SampleInto { l, gen, poll })
}

pub fn uniform_(l: &Layout, a: f64, b: f64, gen: &Generator, poll: Poll<'_>) -> Result<()> {
    sample(l, &Uniform::new(a, b)?, gen, poll)
}

pub fn normal_(l: &Layout, mean: f64, std: f64, gen: &Generator, poll: Poll<'_>) -> Result<()> {
    sample(l, &Normal::new(mean, std)?, gen, poll)
}

#[allow(clippy::too_many_arguments)]
pub fn trunc_normal_(
    l: &Layout,
    mean: f64,
    std: f64,
    a: f64,
    b: f64,
    gen: &Generator,
    poll: Poll<'_>,
) -> Result<()> {
    sample(l, &TruncNormal::new(mean, std, a, b)?, gen, poll)
}

/// Uniform on `[-bound, bound]`; a zero bound (gain 0) writes zeros, as torch's
/// `uniform_(-0.0, 0.0)` does, and still advances the generator like any fill of this size.
fn symmetric_uniform(l: &Layout, bound: f64, gen: &Generator, poll: Poll<'_>) -> Result<()> {
    if bound == 0.0 {
        gen.reserve(l.dtype.blocks_for(l.global_len));
        return fill(l, &Constant(0.0), poll);
    }
    uniform_(l, -bound, bound, gen, poll)
}

/// Zero-element arrays are a no-op (after the checks that do not divide by the fans).
fn xavier_std(l: &Layout, gain: f64) -> Result<Option<f64>> {
    if l.global_len == 0 {
        fans::fan_in_and_fan_out(&l.global_shape)?;
        check_finite("gain", gain)?;
        return Ok(None);
    }
    fans::xavier_std(&l.global_shape, gain).map(Some)
}

pub fn xavier_uniform_(l: &Layout, gain: f64, gen: &Generator, poll: Poll<'_>) -> Result<()> {
    let Some(std) = xavier_std(l, gain)? else {
        return Ok(());
    };
    symmetric_uniform(l, 3f64.sqrt() * std, gen, poll)
}

pub fn xavier_normal_(l: &Layout, gain: f64, gen: &Generator, poll: Poll<'_>) -> Result<()> {
    let Some(std) = xavier_std(l, gain)? else {
        return Ok(());
    };
    normal_(l, 0.0, std, gen, poll)
}

pub fn kaiming_uniform_(
    l: &Layout,
    a: f64,
    mode: &str,
    nonlinearity: &str,
    gen: &Generator,
    poll: Poll<'_>,
) -> Result<()> {
    if l.global_len == 0 {
        return Ok(()); // torch warns and returns before any check (the binding warns)
    }
    let std = fans::kaiming_std(&l.global_shape, a, mode, nonlinearity)?;
    symmetric_uniform(l, 3f64.sqrt() * std, gen, poll)
}

pub fn kaiming_normal_(
    l: &Layout,
    a: f64,
    mode: &str,
    nonlinearity: &str,
    gen: &Generator,
    poll: Poll<'_>,
) -> Result<()> {
    if l.global_len == 0 {
        return Ok(());
    }
    let std = fans::kaiming_std(&l.global_shape, a, mode, nonlinearity)?;
    normal_(l, 0.0, std, gen, poll)
}

/// `val` may be NaN or infinite (as in torch's `fill_`), but a finite value must fit the dtype.
pub fn constant_(l: &Layout, val: f64, poll: Poll<'_>) -> Result<()> {
    let fits = |max: f64| !val.is_finite() || val.abs() <= max;
    let max = match l.dtype {
        DType::F16 => half::f16::MAX.to_f64(),
        DType::BF16 => half::bf16::MAX.to_f64(),
        DType::F32 => f32::MAX as f64,
        DType::F64 => f64::MAX,
    };
    if !fits(max) {
        return Err(Error::Runtime(format!(
            "value cannot be converted to type {} without overflow",
            l.dtype.name()
        )));
    }
    fill(l, &Constant(val), poll)
}

fn no_shards(l: &Layout, what: &str, why: &str) -> Result<()> {
    if l.shape != l.global_shape {
        return Err(Error::Value(format!(
            "{what} does not support shards: {why}"
        )));
    }
    Ok(())
}

pub fn eye_(l: &Layout, poll: Poll<'_>) -> Result<()> {
    let ones = structured::eye_ones(&l.shape)?;
    zeros_then_ones(
        l,
        &ones,
        "eye_",
        "the diagonal is placed by the view's own shape",
        poll,
    )
}

pub fn dirac_(l: &Layout, groups: i64, poll: Poll<'_>) -> Result<()> {
    let ones = structured::dirac_ones(&l.shape, groups)?;
    let why = "the centre taps are placed by the view's own shape";
    zeros_then_ones(l, &ones, "dirac_", why, poll)
}

/// eye and dirac: zeros, then ones at logical indices of the view's own shape (so no shards).
fn zeros_then_ones(
    l: &Layout,
    ones: &[usize],
    what: &str,
    why: &str,
    poll: Poll<'_>,
) -> Result<()> {
    no_shards(l, what, why)?;
    if l.len == 0 {
        return Ok(());
    }
    fill(l, &Constant(0.0), poll)?;
    structured::set_ones(l, ones);
    Ok(())
}

/// torch's orthogonal_: `Q * sign(diag(R))` of the QR of a `rows x prod(rest)` standard normal
/// matrix (transposed when `rows < cols`), times `gain`. The Householder vectors of that QR are
/// drawn directly (see [`orthogonal`]); the generator advances like `normal_` on the matrix.
///
/// Memory: a C-contiguous float32/float64 array is the working matrix itself (no copy of the
/// matrix is made). Otherwise (float16/bfloat16, or a non-contiguous view) Q is computed in a
/// C-ordered float32 (float64 for float64) buffer and then written into the view, so the
/// values never depend on the view's strides.
pub fn orthogonal_(l: &Layout, gain: f64, gen: &Generator, poll: Poll<'_>) -> Result<()> {
    if l.shape.len() < 2 {
        return Err(Error::Value(
            "Only tensors with 2 or more dimensions are supported".into(),
        ));
    }
    check_finite("gain", gain)?;
    no_shards(
        l,
        "orthogonal_",
        "the QR factorization couples every element of the matrix",
    )?;
    if l.len == 0 {
        return Ok(());
    }
    match l.dtype {
        DType::F64 => orthogonal_typed::<f64>(l, gain, gen, poll),
        _ => orthogonal_typed::<f32>(l, gain, gen, poll),
    }
}

/// `orthogonal_` computed in `T` (float64 for float64 arrays, float32 otherwise).
fn orthogonal_typed<T: orthogonal::Elem>(
    l: &Layout,
    gain: f64,
    gen: &Generator,
    poll: Poll<'_>,
) -> Result<()> {
    let rows = l.shape[0];
    let cols = l.len / rows;
    let in_place = l.dtype == T::DTYPE && is_c_contiguous(l);
    // Allocate before the generator moves (a MemoryError leaves it where it was).
    let mut owned = if in_place {
        Vec::new()
    } else {
        try_vec::<T>(l.len)?
    };
    let normal = Normal::new(0.0, 1.0)?;
    let (seed, base) = gen.reserve(T::DTYPE.blocks_for(l.len as u64));
    let s = Sampler::new(&normal, T::DTYPE, AesCtr::new(seed, 0), base)?;
    // float32/float64 samplers never use the scratch vector.
    let draw = |first: u64, out: &mut [T]| s.fill(first, out, &mut Vec::new());
    if in_place {
        // SAFETY: the layout is C-contiguous and unsharded: its `len` elements of type `T`
        // start at `ptr` (aligned, in bounds and not aliased, as Layout::new checked).
        let buf = unsafe { std::slice::from_raw_parts_mut(l.ptr as *mut T, l.len) };
        orthogonal::orthogonalize(buf, rows, cols, &draw, poll)?;
        if gain != 1.0 {
            scale_saturating(buf, gain);
        }
        Ok(())
    } else {
        orthogonal::orthogonalize(&mut owned, rows, cols, &draw, poll)?;
        fill(l, &ScaledCopy(&owned, gain), poll)
    }
}

/// True when the view is C-contiguous (one run from the first element, unit stride).
fn is_c_contiguous(l: &Layout) -> bool {
    let mut first = None;
    l.for_each_run(0, l.len, |mem, _, n, stride| {
        first.get_or_insert((mem, n, stride));
    });
    matches!(first, Some((0, n, s)) if n == l.len && (s == 1 || n == 1))
}

/// `x * gain`, the product in float64, saturated at the dtype's finite range and rounded once
/// to nearest even (a huge gain gives +-max rather than inf; `0 * gain` stays 0).
#[inline]
fn scaled<T: Element>(x: f64, gain: f64, max: f64) -> T {
    let y = (x * gain).clamp(-max, max);
    match T::DTYPE {
        // half's f64 -> f16/bf16 conversions drop the low 32 bits of the mantissa before
        // rounding (so e.g. a float32 value just above a bfloat16 midpoint rounds down).
        // Round to float32 with round-to-odd first: a second rounding to a format with at
        // least 2 fewer bits is then exact (no double-rounding error).
        DType::F16 | DType::BF16 => T::from_f32(f32_round_to_odd(y)),
        _ => T::from_f64(y),
    }
}

/// `x` rounded to float32 toward zero, with the last bit set when that was inexact.
#[inline]
fn f32_round_to_odd(x: f64) -> f32 {
    let r = x as f32; // to nearest even
    let rf = r as f64;
    if rf == x || !r.is_finite() || r.to_bits() & 1 == 1 {
        return r;
    }
    // Inexact and even: the odd neighbour on the side of x (toward larger magnitude when
    // |x| > |r|; the bit pattern of a float orders magnitudes).
    if x.abs() > rf.abs() {
        f32::from_bits(r.to_bits() + 1)
    } else {
        f32::from_bits(r.to_bits() - 1)
    }
}

fn scale_saturating<T: Element>(buf: &mut [T], gain: f64) {
    use rayon::prelude::*;
    let max = T::max_finite().to_f64();
    let f = |c: &mut [T]| {
        c.iter_mut()
            .for_each(|x| *x = scaled(x.to_f64(), gain, max))
    };
    if buf.len() < crate::init::fill::PARALLEL_MIN {
        f(buf)
    } else {
        buf.par_chunks_mut(crate::init::fill::BLOCK).for_each(f)
    }
}

/// Copies from a C-ordered source covering the whole array, times `gain` (see [`scaled`]).
struct ScaledCopy<'a, S>(&'a [S], f64);

impl<S: Element> Writer for ScaledCopy<'_, S> {
    fn write<T: Element>(&self, first: u64, out: &mut [T], _scratch: &mut Vec<f32>) {
        let src = &self.0[first as usize..first as usize + out.len()];
        let max = T::max_finite().to_f64();
        for (o, &v) in out.iter_mut().zip(src) {
            *o = scaled(v.to_f64(), self.1, max);
        }
    }
}

fn try_vec<T: Element>(n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::Memory(format!("cannot allocate {n} elements")))?;
    v.resize(n, T::default());
    Ok(v)
}

/// torch's sparse_: exactly `ceil(sparsity * rows)` zeros in every column at uniformly random
/// rows, N(0, std^2) elsewhere (see `sparse.rs` for the streams). Advances the generator by the
/// larger of the value block count of the whole array and the mask block count, so the
/// position after a call depends only on the shape, the dtype and `sparsity`.
pub fn sparse_(l: &Layout, sparsity: f64, std: f64, gen: &Generator, poll: Poll<'_>) -> Result<()> {
    if l.shape.len() != 2 {
        return Err(Error::Value(
            "Only tensors with 2 dimensions are supported".into(),
        ));
    }
    check_finite("sparsity", sparsity)?;
    let normal = Normal::new(0.0, std)?;
    let (rows, cols) = (l.shape[0], l.shape[1]);
    let k = sparse::zeros_per_column(sparsity, rows)?;
    no_shards(
        l,
        "sparse_",
        "each column's zero rows are drawn over the whole column",
    )?;
    Sampler::new(&normal, l.dtype, AesCtr::new(0, 0), 0)?;
    let mask_blocks = (cols as u64).saturating_mul(sparse::blocks_per_column(rows, k));
    let (seed, base) = gen.reserve(l.dtype.blocks_for(l.len as u64).max(mask_blocks));
    if l.len == 0 {
        return Ok(());
    }
    let values = Sampler::new(&normal, l.dtype, AesCtr::new(seed, 0), base)?;
    let mask = AesCtr::new(seed, sparse::MASK_STREAM);
    let plan = sparse::Plan::new(l, k, mask, base, &values);
    match l.dtype {
        DType::F16 => sparse::run::<half::f16>(&plan, poll),
        DType::BF16 => sparse::run::<half::bf16>(&plan, poll),
        DType::F32 => sparse::run::<f32>(&plan, poll),
        DType::F64 => sparse::run::<f64>(&plan, poll),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::{bf16, f16};

    /// `x` rounded to nearest even with `mbits` explicit mantissa bits (normal range), from the
    /// exact float64 bits: the reference for `scaled`'s one rounding.
    fn rne(x: f64, mbits: u32) -> f64 {
        let shift = 52 - mbits;
        let b = x.to_bits();
        let r = b + (1u64 << (shift - 1)) - 1 + ((b >> shift) & 1);
        f64::from_bits(r & !((1u64 << shift) - 1))
    }

    #[test]
    fn scaled_rounds_once_to_half_types() {
        let mut s = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for i in 0..200_000 {
            // float32 values (as orthogonal_ produces) and arbitrary float64 products
            let u = (next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let x = if i % 2 == 0 { u as f32 as f64 } else { u };
            let gain = if i % 3 == 0 {
                1.0
            } else {
                1.0 + (next() % 1000) as f64 / 7.0
            };
            let y = x * gain;
            if y.abs() < 1e-4 {
                continue; // keep to the normal range of float16
            }
            let b: bf16 = scaled(x, gain, bf16::MAX.to_f64());
            assert_eq!(b.to_f64(), rne(y, 7), "bf16 of {y:e}");
            let h: f16 = scaled(x, gain, f16::MAX.to_f64());
            assert_eq!(h.to_f64(), rne(y, 10), "f16 of {y:e}");
            let f: f32 = scaled(x, gain, f32::MAX as f64);
            assert_eq!(f as f64, rne(y, 23), "f32 of {y:e}");
        }
        // saturation, and zero stays zero
        let h: f16 = scaled(0.5, 1e300, f16::MAX.to_f64());
        assert_eq!(h, f16::MAX);
        let b: bf16 = scaled(-0.5, 1e300, bf16::MAX.to_f64());
        assert_eq!(b, bf16::MIN);
        let z: bf16 = scaled(0.0, 1e300, bf16::MAX.to_f64());
        assert_eq!(z.to_f64(), 0.0);
    }
}
