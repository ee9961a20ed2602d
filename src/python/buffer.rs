//! `ferroinit._core.RustBuffer`: memory Rust allocates, as a DLPack producer and as the base
//! object of NumPy arrays (`array::empty`), and `buffer()`, which makes one.

use super::call::to_pyerr;
use super::dlpack;
use crate::buffer::alloc::{array_bytes, Buffer};
use crate::buffer::dlpack::{DLPACK_MAJOR, DL_CPU, FLAG_IS_COPIED};
use crate::buffer::element::DType;
use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use std::sync::Arc;

/// A C-contiguous buffer Rust allocated: the `base` that keeps a NumPy array's memory alive,
/// and a zero-copy DLPack producer (`torch.from_dlpack(buf)`, `np.from_dlpack(buf)`), bfloat16
/// included. Each capsule holds a reference to the memory; it is freed once, when the last
/// holder (this object, a NumPy array over it, a consumer's tensor) lets go.
#[pyclass(name = "RustBuffer", module = "ferroinit._core", frozen)]
pub struct RustBuffer {
    pub(crate) buf: Arc<Buffer>,
    pub(crate) dtype: DType,
    pub(crate) shape: Vec<usize>,
}

pub fn new_buffer(shape: Vec<usize>, dtype: DType) -> PyResult<RustBuffer> {
    let buf = Arc::new(Buffer::for_array(&shape, dtype).map_err(to_pyerr)?);
    Ok(RustBuffer { buf, dtype, shape })
}

fn dtype_named(name: &str) -> PyResult<DType> {
    match name.strip_prefix("torch.").unwrap_or(name) {
        "float16" | "half" => Ok(DType::F16),
        "bfloat16" => Ok(DType::BF16),
        "float32" | "float" => Ok(DType::F32),
        "float64" | "double" => Ok(DType::F64),
        _ => Err(PyTypeError::new_err(format!(
            "ferroinit allocates float16, bfloat16, float32 or float64, but got dtype {name}"
        ))),
    }
}

#[pymethods]
impl RustBuffer {
    /// Bytes allocated (rounded up to the alignment).
    #[getter]
    fn nbytes(&self) -> usize {
        self.buf.len()
    }

    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.shape)
    }

    #[getter]
    fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The dtype's name ("float16", "bfloat16", "float32" or "float64").
    #[getter]
    fn dtype(&self) -> &'static str {
        self.dtype.name()
    }

    /// The address of the first element.
    #[getter]
    fn data_ptr(&self) -> usize {
        self.buf.as_ptr() as usize
    }

    /// A DLPack capsule over this memory: DLPack 1.0 (versioned) when the consumer passes
    /// `max_version >= (1, 0)`, a legacy capsule otherwise. `copy=True` exports a copy.
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        stream: Option<&Bound<'py, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if stream.is_some_and(|s| !s.is_none()) {
            return Err(PyValueError::new_err("stream must be None for CPU memory"));
        }
        if let Some((t, _)) = dl_device {
            if t != DL_CPU {
                return Err(PyBufferError::new_err(
                    "ferroinit buffers live on the CPU; dl_device must be (1, 0)",
                ));
            }
        }
        let versioned = max_version.is_some_and(|(major, _)| major >= DLPACK_MAJOR);
        let (buf, flags) = if copy == Some(true) {
            let n = array_bytes(&self.shape, self.dtype).map_err(to_pyerr)?;
            let copy = self.buf.copy_of(n).map_err(to_pyerr)?;
            (Arc::new(copy), FLAG_IS_COPIED)
        } else {
            (self.buf.clone(), 0)
        };
        dlpack::capsule(py, buf, self.dtype, &self.shape, versioned, flags)
    }

    fn __dlpack_device__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        dlpack::cpu_device(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "RustBuffer(shape={:?}, dtype={})",
            self.shape,
            self.dtype.name()
        )
    }
}

/// A new uninitialized C-contiguous buffer (a DLPack producer) of `shape` and `dtype` (a name:
/// "float16", "bfloat16", "float32", "float64", with or without a "torch." prefix).
#[pyfunction]
pub fn buffer(shape: Vec<usize>, dtype: &str) -> PyResult<RustBuffer> {
    new_buffer(shape, dtype_named(dtype)?)
}
