//! DLPack's Python side: take a writable CPU view of any DLPack producer (calling its
//! `__dlpack__`, renaming the capsule once the tensor is taken), and wrap exported managed
//! tensors in capsules. The C structures and their validation are [`crate::buffer::dlpack`].

use super::call::to_pyerr;
use crate::buffer::alloc::Buffer;
use crate::buffer::dlpack::{
    delete_legacy, delete_versioned, export_legacy, export_versioned, layout_from_dl, not_cpu,
    DLManagedTensor, DLManagedTensorVersioned, Imported, DLPACK_MAJOR, DLPACK_MINOR, DL_CPU,
    FLAG_IS_COPIED, FLAG_READ_ONLY, NAME_LEGACY, NAME_VERSIONED, USED_LEGACY, USED_VERSIONED,
};
use crate::buffer::element::DType;
use crate::buffer::layout::{Layout, Shard};
use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::ffi::{c_void, CStr};
use std::sync::Arc;

fn type_name(x: &Bound<'_, PyAny>) -> String {
    x.get_type()
        .fully_qualified_name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}

/// The producer could not export: say so plainly when the reason is its device (a torch meta
/// or CUDA tensor), else pass the producer's own error on.
fn explain_export_error(x: &Bound<'_, PyAny>, e: PyErr) -> PyErr {
    let py = x.py();
    let msg = match x.call_method0(pyo3::intern!(py, "__dlpack_device__")) {
        Ok(dev) => match dev.extract::<(i32, i32)>() {
            Ok((t, id)) if t != DL_CPU => not_cpu(t, id).to_string(),
            _ => return e,
        },
        Err(_) => {
            let Ok(dev) = x.getattr(pyo3::intern!(py, "device")) else {
                return e;
            };
            let dev = dev.str().map(|s| s.to_string()).unwrap_or_default();
            if dev == "cpu" {
                return e;
            }
            format!(
                "ferroinit fills CPU memory only, but the {} is on device {dev}; move it to the \
                 CPU first",
                type_name(x)
            )
        }
    };
    let err = PyValueError::new_err(msg);
    err.set_cause(py, Some(e));
    err
}

/// Takes a writable CPU view of any DLPack producer (torch tensors, including parameters
/// that require grad, whose detached view shares their storage; NumPy; anything with
/// `__dlpack__`). The returned guard must outlive every use of the layout.
pub fn import(x: &Bound<'_, PyAny>, shard: Option<&Shard>) -> PyResult<(Layout, Imported)> {
    let py = x.py();
    let module = x.get_type().getattr(pyo3::intern!(py, "__module__"))?;
    // An owned String: borrowing a `&str` needs CPython >= 3.10 under the stable ABI (abi3).
    if module
        .extract::<String>()
        .is_ok_and(|m| m.starts_with("jax"))
    {
        return Err(PyValueError::new_err(format!(
            "assignment destination is read-only: JAX arrays ({}) are immutable; fill a NumPy or \
             torch array and convert it with jax.numpy.from_dlpack",
            type_name(x)
        )));
    }
    let Ok(mut dlpack) = x.getattr(pyo3::intern!(py, "__dlpack__")) else {
        return Err(PyTypeError::new_err(format!(
            "expected a NumPy array or a DLPack producer (an object with __dlpack__), but got {}",
            type_name(x)
        )));
    };
    // torch refuses to export a tensor that requires grad; its detached view shares storage.
    if let Ok(rg) = x.getattr(pyo3::intern!(py, "requires_grad")) {
        if rg.is_truthy()? {
            dlpack = x
                .call_method0(pyo3::intern!(py, "detach"))?
                .getattr(pyo3::intern!(py, "__dlpack__"))?;
        }
    }
    let kw = PyDict::new(py);
    kw.set_item(
        pyo3::intern!(py, "max_version"),
        (DLPACK_MAJOR, DLPACK_MINOR),
    )?;
    kw.set_item(pyo3::intern!(py, "copy"), false)?;
    let capsule = match dlpack.call((), Some(&kw)) {
        Ok(c) => c,
        // A legacy producer: no keywords.
        Err(e) if e.is_instance_of::<PyTypeError>(py) => match dlpack.call0() {
            Ok(c) => c,
            Err(e) => return Err(explain_export_error(x, e)),
        },
        Err(e) => return Err(explain_export_error(x, e)),
    };
    let tname = || type_name(x);
    let cap = capsule.as_ptr();
    // SAFETY: capsule API on a live object; IsValid sets no exception.
    unsafe {
        if ffi::PyCapsule_IsValid(cap, NAME_VERSIONED.as_ptr()) == 1 {
            let m = ffi::PyCapsule_GetPointer(cap, NAME_VERSIONED.as_ptr())
                as *mut DLManagedTensorVersioned;
            if m.is_null() {
                return Err(PyErr::fetch(py));
            }
            let v = (*m).version;
            if v.major != DLPACK_MAJOR {
                return Err(PyBufferError::new_err(format!(
                    "{}.__dlpack__ returned DLPack {}.{}, but ferroinit asked for at most {}.{}",
                    tname(),
                    v.major,
                    v.minor,
                    DLPACK_MAJOR,
                    DLPACK_MINOR
                )));
            }
            if (*m).flags & FLAG_READ_ONLY != 0 {
                return Err(PyValueError::new_err(format!(
                    "assignment destination is read-only ({} exported read-only memory)",
                    tname()
                )));
            }
            if (*m).flags & FLAG_IS_COPIED != 0 {
                return Err(PyBufferError::new_err(format!(
                    "{}.__dlpack__ returned a copy; an in-place fill needs the array's own memory",
                    tname()
                )));
            }
            let l = layout_from_dl(&(*m).dl_tensor, shard).map_err(to_pyerr)?;
            if ffi::PyCapsule_SetName(cap, USED_VERSIONED.as_ptr()) != 0 {
                return Err(PyErr::fetch(py));
            }
            Ok((l, Imported::Versioned(m)))
        } else if ffi::PyCapsule_IsValid(cap, NAME_LEGACY.as_ptr()) == 1 {
            let m = ffi::PyCapsule_GetPointer(cap, NAME_LEGACY.as_ptr()) as *mut DLManagedTensor;
            if m.is_null() {
                return Err(PyErr::fetch(py));
            }
            let l = layout_from_dl(&(*m).dl_tensor, shard).map_err(to_pyerr)?;
            if ffi::PyCapsule_SetName(cap, USED_LEGACY.as_ptr()) != 0 {
                return Err(PyErr::fetch(py));
            }
            Ok((l, Imported::Legacy(m)))
        } else {
            Err(PyTypeError::new_err(format!(
                "{}.__dlpack__ did not return a DLPack capsule (named \"dltensor\" or \
                 \"dltensor_versioned\")",
                tname()
            )))
        }
    }
}

unsafe extern "C" fn capsule_legacy_destructor(cap: *mut ffi::PyObject) {
    // SAFETY: called by Python with a live capsule; an unconsumed one still owns its tensor.
    unsafe {
        if ffi::PyCapsule_IsValid(cap, NAME_LEGACY.as_ptr()) == 1 {
            let m = ffi::PyCapsule_GetPointer(cap, NAME_LEGACY.as_ptr()) as *mut DLManagedTensor;
            if !m.is_null() {
                delete_legacy(m);
            }
        }
    }
}

unsafe extern "C" fn capsule_versioned_destructor(cap: *mut ffi::PyObject) {
    // SAFETY: as in `capsule_legacy_destructor`.
    unsafe {
        if ffi::PyCapsule_IsValid(cap, NAME_VERSIONED.as_ptr()) == 1 {
            let m = ffi::PyCapsule_GetPointer(cap, NAME_VERSIONED.as_ptr())
                as *mut DLManagedTensorVersioned;
            if !m.is_null() {
                delete_versioned(m);
            }
        }
    }
}

/// A DLPack capsule over `buf` (versioned when `versioned`), for `__dlpack__`.
pub fn capsule<'py>(
    py: Python<'py>,
    buf: Arc<Buffer>,
    dtype: DType,
    shape: &[usize],
    versioned: bool,
    flags: u64,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: PyCapsule_New with a valid pointer, a static name and a destructor matching the
    // pointer's type; on failure we free the tensor ourselves.
    unsafe {
        let (ptr, name, destructor, free): (*mut c_void, &CStr, ffi::PyCapsule_Destructor, _) =
            if versioned {
                let m = export_versioned(buf, dtype, shape, flags);
                (
                    m as *mut c_void,
                    NAME_VERSIONED,
                    capsule_versioned_destructor as ffi::PyCapsule_Destructor,
                    Box::new(move || delete_versioned(m)) as Box<dyn FnOnce()>,
                )
            } else {
                let m = export_legacy(buf, dtype, shape);
                (
                    m as *mut c_void,
                    NAME_LEGACY,
                    capsule_legacy_destructor as ffi::PyCapsule_Destructor,
                    Box::new(move || delete_legacy(m)) as Box<dyn FnOnce()>,
                )
            };
        let cap = ffi::PyCapsule_New(ptr, name.as_ptr(), Some(destructor));
        if cap.is_null() {
            free();
            return Err(PyErr::fetch(py));
        }
        Ok(Bound::from_owned_ptr(py, cap))
    }
}

/// `__dlpack_device__` of ferroinit's buffers.
pub fn cpu_device(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
    PyTuple::new(py, [DL_CPU, 0])
}
