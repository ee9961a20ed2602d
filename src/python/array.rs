//! Python arrays to core [`Layout`]s: NumPy arrays directly (the fast path), ferroinit's own
//! buffers, and any other DLPack producer through `__dlpack__`; dtypes by NumPy descriptor;
//! and `empty()`, a NumPy array over memory Rust allocated.

use super::buffer::{new_buffer, RustBuffer};
use super::call::to_pyerr;
use super::dlpack;
use crate::buffer::dlpack::{c_strides, Imported};
use crate::buffer::element::DType;
use crate::buffer::layout::{Layout, Shard};
use numpy::npyffi::{self, flags, NpyTypes, PY_ARRAY_API};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

pub fn dtype_of(d: &Bound<'_, PyArrayDescr>) -> PyResult<DType> {
    let dt = match d.num() {
        23 => Some(DType::F16),
        11 => Some(DType::F32),
        12 => Some(DType::F64),
        _ if d.itemsize() == 2 && d.typeobj().name()? == "bfloat16" => Some(DType::BF16),
        _ => None,
    };
    // The type name is looked up only for messages: it costs a Python call per fill.
    let name = || {
        d.typeobj()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    };
    let dt = dt.ok_or_else(|| {
        PyTypeError::new_err(format!(
            "ferroinit fills float16, bfloat16, float32 or float64 arrays, but got dtype {}",
            name()
        ))
    })?;
    if d.is_native_byteorder() == Some(false) {
        let name = name();
        return Err(PyValueError::new_err(format!(
            "ferroinit writes native byte order only, but the array's {name} dtype has non-native byte order; \
             use x.astype(x.dtype.newbyteorder('='))"
        )));
    }
    Ok(dt)
}

pub fn shard_of(
    global_shape: Option<Vec<usize>>,
    offset: Option<Vec<usize>>,
) -> PyResult<Option<Shard>> {
    match (global_shape, offset) {
        (None, None) => Ok(None),
        (Some(g), o) => {
            let offset = o.unwrap_or_else(|| vec![0; g.len()]);
            Ok(Some(Shard {
                global_shape: g,
                offset,
            }))
        }
        (None, Some(_)) => Err(PyValueError::new_err("offset needs global_shape")),
    }
}

/// Validates a writable array and describes it: NumPy arrays directly (the fast path), any
/// other DLPack producer (torch tensors, ...) through `__dlpack__`. The guard keeps an imported
/// producer's memory alive; hold it until the fill is done.
pub fn layout_of(
    x: &Bound<'_, PyAny>,
    shard: Option<&Shard>,
) -> PyResult<(Layout, Option<Imported>)> {
    let Ok(arr) = x.cast::<PyUntypedArray>() else {
        if let Ok(b) = x.cast::<RustBuffer>() {
            let b = b.get();
            let strides = c_strides(&b.shape, b.dtype.itemsize() as isize);
            let l = Layout::new(b.buf.as_ptr(), b.dtype, &b.shape, &strides, shard);
            return Ok((l.map_err(to_pyerr)?, None));
        }
        let (l, guard) = dlpack::import(x, shard)?;
        return Ok((l, Some(guard)));
    };
    let dt = dtype_of(&arr.dtype())?;
    // SAFETY: `arr` is a live ndarray; we only read its header.
    let (ptr, writable) = unsafe {
        let a = &*arr.as_array_ptr();
        (
            a.fields.data as *mut u8,
            a.fields.flags & flags::NPY_ARRAY_WRITEABLE != 0,
        )
    };
    if !writable {
        return Err(PyValueError::new_err("assignment destination is read-only"));
    }
    Ok((
        Layout::new(ptr, dt, arr.shape(), arr.strides(), shard).map_err(to_pyerr)?,
        None,
    ))
}

/// A new C-contiguous, uninitialized array of `shape` and `dtype` whose memory Rust allocated
/// and NumPy owns (through its base object) without a copy.
#[pyfunction]
pub fn empty<'py>(
    py: Python<'py>,
    shape: Vec<usize>,
    dtype: &Bound<'py, PyArrayDescr>,
) -> PyResult<Bound<'py, PyAny>> {
    let dt = dtype_of(dtype)?;
    let owner = new_buffer(shape.clone(), dt)?;
    let data = owner.buf.as_ptr();
    let owner = Py::new(py, owner)?;
    let mut dims: Vec<npyffi::npy_intp> = shape.iter().map(|&d| d as npyffi::npy_intp).collect();
    // SAFETY: numpy's C API with a valid descr (a new reference, which NewFromDescr steals),
    // dims of length nd, and data valid for the buffer's bytes for as long as `owner` lives;
    // the array takes `owner` as its base, so it keeps the memory alive.
    unsafe {
        let arr = PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            npyffi::get_type_object(py, NpyTypes::PyArray_Type),
            dtype.clone().into_dtype_ptr(),
            dims.len() as std::os::raw::c_int,
            dims.as_mut_ptr(),
            std::ptr::null_mut(),
            data as *mut std::os::raw::c_void,
            flags::NPY_ARRAY_CARRAY,
            std::ptr::null_mut(),
        );
        if arr.is_null() {
            return Err(PyErr::fetch(py));
        }
        let arr = Bound::from_owned_ptr(py, arr);
        if PY_ARRAY_API.PyArray_SetBaseObject(
            py,
            arr.as_ptr() as *mut npyffi::PyArrayObject,
            owner.into_ptr(),
        ) < 0
        {
            return Err(PyErr::fetch(py));
        }
        Ok(arr)
    }
}
