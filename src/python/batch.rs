//! `fill_many`: the deferred fills of `ferroinit.torch` in one call, one GIL release,
//! parallel across tensors ([`crate::init::batch`]). Tensors are given by address, dtype,
//! shape and strides, as torch reports them: no DLPack export, no NumPy view.

use super::call::{detached_for, to_pyerr};
use crate::buffer::element::DType;
use crate::buffer::layout::Layout;
use crate::init::batch::{self, Fill, Job};
use crate::sampler::Law;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;

/// One job as Python gives it: (address, dtype name, shape, strides in elements, kind,
/// parameters, key).
type PyJob = (
    usize,
    PyBackedStr,
    Vec<usize>,
    Vec<isize>,
    PyBackedStr,
    Vec<f64>,
    u64,
);

fn dtype(name: &str) -> PyResult<DType> {
    match name {
        "float16" => Ok(DType::F16),
        "bfloat16" => Ok(DType::BF16),
        "float32" => Ok(DType::F32),
        "float64" => Ok(DType::F64),
        _ => Err(PyTypeError::new_err(format!(
            "ferroinit fills float16, bfloat16, float32 or float64, but got dtype {name}"
        ))),
    }
}

/// "constant" (value), "eye" (), or a law of the catalogue by name ([`Law::new`]).
fn fill(kind: &str, p: &[f64]) -> PyResult<Fill> {
    match (kind, p) {
        ("constant", &[v]) => Ok(Fill::Constant(v)),
        ("eye", &[]) => Ok(Fill::Eye),
        _ => Law::new(kind, p).map(Fill::Sample).map_err(to_pyerr),
    }
}

fn job(j: PyJob) -> PyResult<Job> {
    let (ptr, dt, shape, strides, kind, params, key) = j;
    let dt = dtype(&dt)?;
    let item = dt.itemsize() as isize;
    let bytes: Vec<isize> = strides.iter().map(|&s| s.saturating_mul(item)).collect();
    if ptr == 0 && shape.iter().all(|&d| d > 0) {
        return Err(PyValueError::new_err("fill_many: a null address"));
    }
    let layout = Layout::new(ptr as *mut u8, dt, &shape, &bytes, None).map_err(to_pyerr)?;
    Ok(Job {
        layout,
        fill: fill(&kind, &params)?,
        key,
    })
}

/// Fills every job of `jobs`, a list of `(address, dtype, shape, strides, kind, params, key)`
/// (strides in elements; kind a law of the catalogue with its parameters ("normal" (mean,
/// std), ...), "constant" (value) or "eye" (); key seeds a fresh generator at position 0).
/// Every job is checked before any is written. Private: the caller keeps each tensor alive
/// and guarantees its memory is the given extent, writable, and not shared between jobs.
#[pyfunction]
pub fn fill_many(py: Python<'_>, jobs: Vec<PyJob>) -> PyResult<()> {
    let jobs = jobs.into_iter().map(job).collect::<PyResult<Vec<Job>>>()?;
    let n = jobs.iter().map(|j| j.layout.len).sum();
    detached_for(py, n, |p| batch::fill_many(&jobs, p))
}
