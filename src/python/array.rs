//! Python arrays to core [`Layout`]s: NumPy arrays directly (the fast path), ferroinit's own
//! buffers, and any other DLPack producer through `__dlpack__`; dtypes by NumPy descriptor.

use super::buffer::RustBuffer;
use super::call::to_pyerr;
use super::dlpack;
use crate::buffer::dlpack::{c_strides, Imported};
use crate::buffer::element::DType;
use crate::buffer::layout::{Layout, Shard};
use numpy::npyffi::flags;
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
