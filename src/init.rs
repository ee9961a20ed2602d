//! The initializers of torch.nn.init over a [`Layout`]: validate everything, reserve the
//! generator's blocks, then fill. Nothing is written, and the generator does not move, unless
//! every check passed.

use crate::dist::normal::Normal;
use crate::dist::trunc_normal::TruncNormal;
use crate::dist::uniform::Uniform;
use crate::dist::{Distribution, Sampler};
use crate::element::{DType, Element};
use crate::error::{check_finite, Error, Result};
use crate::fans;
use crate::fill::{fill, Constant, CopyFrom, Poll};
use crate::generator::Generator;
use crate::layout::Layout;
use crate::philox::Philox4x32;
use crate::{orthogonal, sparse, structured};

/// Samples `d` into the view: one block per `per_block` elements of the *global* array, so
/// shards of one array advance a generator in step.
fn sample<D: Distribution>(layout: &Layout, d: &D, gen: &Generator, poll: Poll<'_>) -> Result<()> {
    Sampler::new(d, layout.dtype, Philox4x32::new(0, 0), 0)?; // dtype-dependent checks
    let (seed, base) = gen.reserve(layout.dtype.blocks_for(layout.global_len));
    let s = Sampler::new(d, layout.dtype, Philox4x32::new(seed, 0), base)?;
    fill(layout, &s, poll)
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

/// torch's orthogonal_: QR of a `rows x prod(rest)` standard normal matrix (drawn like
/// `normal_` on that shape, so it advances the generator by the same amount).
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
    let rows = l.shape[0];
    let cols = l.len / rows;
    match l.dtype {
        DType::F64 => {
            let mut a = normal_matrix::<f64>(rows, cols, gen, poll)?;
            orthogonal::orthogonalize_f64(&mut a, rows, cols, gain);
            fill(l, &CopyFrom(&a), poll)
        }
        _ => {
            let mut a = normal_matrix::<f32>(rows, cols, gen, poll)?;
            orthogonal::orthogonalize_f32(&mut a, rows, cols, gain);
            fill(l, &CopyFrom(&a), poll)
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

fn normal_matrix<T: Element>(
    rows: usize,
    cols: usize,
    gen: &Generator,
    poll: Poll<'_>,
) -> Result<Vec<T>> {
    let mut a = try_vec::<T>(rows * cols)?;
    let l = Layout::contiguous(a.as_mut_ptr() as *mut u8, T::DTYPE, &[rows, cols])?;
    normal_(&l, 0.0, 1.0, gen, poll)?;
    Ok(a)
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
    Sampler::new(&normal, l.dtype, Philox4x32::new(0, 0), 0)?;
    let mask_blocks = (cols as u64).saturating_mul(sparse::blocks_per_column(rows, k));
    let (seed, base) = gen.reserve(l.dtype.blocks_for(l.len as u64).max(mask_blocks));
    if l.len == 0 {
        return Ok(());
    }
    let values = Sampler::new(&normal, l.dtype, Philox4x32::new(seed, 0), base)?;
    let mask = Philox4x32::new(seed, sparse::MASK_STREAM);
    let plan = sparse::Plan::new(l, k, mask, base, &values);
    match l.dtype {
        DType::F16 => sparse::run::<half::f16>(&plan, poll),
        DType::BF16 => sparse::run::<half::bf16>(&plan, poll),
        DType::F32 => sparse::run::<f32>(&plan, poll),
        DType::F64 => sparse::run::<f64>(&plan, poll),
    }
}
