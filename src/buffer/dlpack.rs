//! DLPack's C side: the structures of DLPack 1.0 (`dlpack.h`, written out here, no crate), the
//! validation of a producer's tensor into a [`Layout`], and managed tensors over a [`Buffer`].
//! The Python side (capsules, `__dlpack__` calls) is in the binding, `python::dlpack`.
//!
//! Ownership follows the spec:
//! - import: the consumer (ferroinit) renames the capsule to `used_dltensor[_versioned]` once it
//!   takes the tensor, keeps the managed tensor alive for the fill and calls its deleter exactly
//!   once afterwards ([`Imported`]'s drop). A capsule that is refused is left unrenamed, so its
//!   own destructor releases it.
//! - export: each capsule owns one `Arc` reference to the [`Buffer`]; the deleter drops it (no
//!   GIL needed, so a consumer may call it from any thread). The capsule's destructor calls the
//!   deleter only if no consumer took the tensor (the name is still `dltensor[_versioned]`).

use crate::buffer::alloc::Buffer;
use crate::buffer::element::DType;
use crate::buffer::layout::{Layout, Shard};
use crate::error::{Error, Result};
use std::ffi::{c_void, CStr};
use std::sync::Arc;

/// The DLPack ABI version ferroinit speaks.
pub const DLPACK_MAJOR: u32 = 1;
pub const DLPACK_MINOR: u32 = 0;
/// `kDLCPU`.
pub const DL_CPU: i32 = 1;
/// `kDLFloat`, `kDLBfloat`.
pub const DL_FLOAT: u8 = 2;
pub const DL_BFLOAT: u8 = 4;
/// `DLPACK_FLAG_BITMASK_READ_ONLY`, `DLPACK_FLAG_BITMASK_IS_COPIED`.
pub const FLAG_READ_ONLY: u64 = 1 << 0;
pub const FLAG_IS_COPIED: u64 = 1 << 1;

/// Capsule names: a producer's, and the consumer's once it took the tensor.
pub const NAME_LEGACY: &CStr = c"dltensor";
pub const NAME_VERSIONED: &CStr = c"dltensor_versioned";
pub const USED_LEGACY: &CStr = c"used_dltensor";
pub const USED_VERSIONED: &CStr = c"used_dltensor_versioned";

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DLPackVersion {
    pub major: u32,
    pub minor: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DLDevice {
    pub device_type: i32,
    pub device_id: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DLDataType {
    pub code: u8,
    pub bits: u8,
    pub lanes: u16,
}

#[repr(C)]
#[derive(Debug)]
pub struct DLTensor {
    pub data: *mut c_void,
    pub device: DLDevice,
    pub ndim: i32,
    pub dtype: DLDataType,
    pub shape: *mut i64,
    /// In elements; NULL means C-contiguous.
    pub strides: *mut i64,
    pub byte_offset: u64,
}

#[repr(C)]
pub struct DLManagedTensor {
    pub dl_tensor: DLTensor,
    pub manager_ctx: *mut c_void,
    pub deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

#[repr(C)]
pub struct DLManagedTensorVersioned {
    pub version: DLPackVersion,
    pub manager_ctx: *mut c_void,
    pub deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    pub flags: u64,
    pub dl_tensor: DLTensor,
}

/// A DLPack device type's name, for error messages.
fn device_name(t: i32) -> &'static str {
    match t {
        1 => "CPU",
        2 => "CUDA",
        3 => "CUDAHost",
        4 => "OpenCL",
        7 => "Vulkan",
        8 => "Metal",
        9 => "VPI",
        10 => "ROCM",
        11 => "ROCMHost",
        12 => "ExtDev",
        13 => "CUDAManaged",
        14 => "OneAPI",
        15 => "WebGPU",
        16 => "Hexagon",
        17 => "MAIA",
        _ => "unknown",
    }
}

/// The error for memory that is not on the CPU.
pub fn not_cpu(t: i32, id: i32) -> Error {
    Error::Value(format!(
        "ferroinit fills CPU memory only, but the array is on DLPack device {} ({t}, {id}); \
         move it to the CPU first",
        device_name(t)
    ))
}

/// The ferroinit dtype of a DLPack dtype.
pub fn dtype_from_dl(d: DLDataType) -> Result<DType> {
    match (d.code, d.bits, d.lanes) {
        (DL_FLOAT, 16, 1) => Ok(DType::F16),
        (DL_FLOAT, 32, 1) => Ok(DType::F32),
        (DL_FLOAT, 64, 1) => Ok(DType::F64),
        (DL_BFLOAT, 16, 1) => Ok(DType::BF16),
        (code, bits, lanes) => {
            let kind = match code {
                0 => "int",
                1 => "uint",
                2 => "float",
                3 => "opaque",
                4 => "bfloat",
                5 => "complex",
                6 => "bool",
                _ => "code",
            };
            let lanes = if lanes == 1 {
                String::new()
            } else {
                format!("x{lanes}")
            };
            Err(Error::Type(format!(
                "ferroinit fills float16, bfloat16, float32 or float64 arrays, but got DLPack \
                 dtype {kind}{bits}{lanes}"
            )))
        }
    }
}

/// The DLPack dtype of a ferroinit dtype.
pub fn dl_from_dtype(d: DType) -> DLDataType {
    let (code, bits) = match d {
        DType::F16 => (DL_FLOAT, 16),
        DType::BF16 => (DL_BFLOAT, 16),
        DType::F32 => (DL_FLOAT, 32),
        DType::F64 => (DL_FLOAT, 64),
    };
    DLDataType {
        code,
        bits,
        lanes: 1,
    }
}

/// Validates a DLTensor (CPU, float dtype, sane shape and strides) and describes its memory.
///
/// # Safety
/// `t.shape` (and `t.strides` unless NULL) must point to `t.ndim` values, as DLPack requires.
pub unsafe fn layout_from_dl(t: &DLTensor, shard: Option<&Shard>) -> Result<Layout> {
    if t.device.device_type != DL_CPU {
        return Err(not_cpu(t.device.device_type, t.device.device_id));
    }
    let dtype = dtype_from_dl(t.dtype)?;
    let nd = usize::try_from(t.ndim)
        .map_err(|_| Error::Value(format!("DLPack tensor has ndim {}", t.ndim)))?;
    let raw_shape: &[i64] = if nd == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(t.shape, nd)
    };
    let shape = raw_shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<Vec<usize>, _>>()
        .map_err(|_| Error::Value(format!("DLPack tensor has a negative shape {raw_shape:?}")))?;
    let item = dtype.itemsize() as i64;
    let strides: Vec<isize> = if t.strides.is_null() || nd == 0 {
        c_strides(&shape, item as isize)
    } else {
        std::slice::from_raw_parts(t.strides, nd)
            .iter()
            .map(|&s| {
                s.checked_mul(item)
                    .and_then(|b| isize::try_from(b).ok())
                    .ok_or_else(|| Error::Overflow(format!("DLPack stride {s} is too large")))
            })
            .collect::<Result<_>>()?
    };
    let offset = usize::try_from(t.byte_offset)
        .map_err(|_| Error::Overflow("DLPack byte_offset is too large".into()))?;
    let ptr = (t.data as *mut u8).wrapping_add(offset);
    Layout::new(ptr, dtype, &shape, &strides, shard)
}

/// C-contiguous strides in bytes.
pub fn c_strides(shape: &[usize], itemsize: isize) -> Vec<isize> {
    let mut s = vec![0isize; shape.len()];
    let mut acc = itemsize;
    for k in (0..shape.len()).rev() {
        s[k] = acc;
        acc = acc.saturating_mul(shape[k] as isize);
    }
    s
}

/// A managed tensor ferroinit took from a producer; dropping it calls the producer's deleter
/// (exactly once). Drop it with the GIL held: some producers' deleters touch Python objects.
pub enum Imported {
    Legacy(*mut DLManagedTensor),
    Versioned(*mut DLManagedTensorVersioned),
}

impl Drop for Imported {
    fn drop(&mut self) {
        // SAFETY: the pointer came from a capsule we renamed, so we are its only owner and
        // call its deleter exactly once (here), as DLPack requires.
        unsafe {
            match *self {
                Imported::Legacy(m) => {
                    if let Some(d) = (*m).deleter {
                        d(m)
                    }
                }
                Imported::Versioned(m) => {
                    if let Some(d) = (*m).deleter {
                        d(m)
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------ export

/// What an exported capsule owns besides the managed tensor: the shape and strides it points
/// to, and one reference to the buffer.
struct Holder {
    shape: Vec<i64>,
    strides: Vec<i64>,
    _buf: Arc<Buffer>,
}

fn dl_tensor(h: &mut Holder, data: *mut u8, dtype: DType) -> DLTensor {
    DLTensor {
        data: data as *mut c_void,
        device: DLDevice {
            device_type: DL_CPU,
            device_id: 0,
        },
        ndim: h.shape.len() as i32,
        dtype: dl_from_dtype(dtype),
        shape: h.shape.as_mut_ptr(),
        strides: h.strides.as_mut_ptr(),
        byte_offset: 0,
    }
}

fn holder(buf: Arc<Buffer>, shape: &[usize]) -> Box<Holder> {
    let mut strides = vec![0i64; shape.len()];
    let mut acc = 1i64;
    for k in (0..shape.len()).rev() {
        strides[k] = acc;
        acc = acc.saturating_mul(shape[k] as i64);
    }
    Box::new(Holder {
        shape: shape.iter().map(|&d| d as i64).collect(),
        strides,
        _buf: buf,
    })
}

/// The deleter of [`export_legacy`]'s tensors.
///
/// # Safety
/// `m` must come from [`export_legacy`] and be deleted once.
pub unsafe extern "C" fn delete_legacy(m: *mut DLManagedTensor) {
    // SAFETY: `m` and its manager_ctx were made by Box::into_raw in `export_legacy`; the
    // DLPack contract calls the deleter once.
    unsafe {
        let m = Box::from_raw(m);
        drop(Box::from_raw(m.manager_ctx as *mut Holder));
    }
}

/// The deleter of [`export_versioned`]'s tensors.
///
/// # Safety
/// `m` must come from [`export_versioned`] and be deleted once.
pub unsafe extern "C" fn delete_versioned(m: *mut DLManagedTensorVersioned) {
    // SAFETY: as in `delete_legacy`.
    unsafe {
        let m = Box::from_raw(m);
        drop(Box::from_raw(m.manager_ctx as *mut Holder));
    }
}

/// A legacy managed tensor over a C-contiguous buffer; it owns one reference to `buf`.
pub fn export_legacy(buf: Arc<Buffer>, dtype: DType, shape: &[usize]) -> *mut DLManagedTensor {
    let data = buf.as_ptr();
    let mut h = holder(buf, shape);
    let t = dl_tensor(&mut h, data, dtype);
    Box::into_raw(Box::new(DLManagedTensor {
        dl_tensor: t,
        manager_ctx: Box::into_raw(h) as *mut c_void,
        deleter: Some(delete_legacy),
    }))
}

/// A DLPack 1.0 managed tensor over a C-contiguous buffer; it owns one reference to `buf`.
pub fn export_versioned(
    buf: Arc<Buffer>,
    dtype: DType,
    shape: &[usize],
    flags: u64,
) -> *mut DLManagedTensorVersioned {
    let data = buf.as_ptr();
    let mut h = holder(buf, shape);
    let t = dl_tensor(&mut h, data, dtype);
    Box::into_raw(Box::new(DLManagedTensorVersioned {
        version: DLPackVersion {
            major: DLPACK_MAJOR,
            minor: DLPACK_MINOR,
        },
        manager_ctx: Box::into_raw(h) as *mut c_void,
        deleter: Some(delete_versioned),
        flags,
        dl_tensor: t,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_sizes_match_dlpack_h() {
        assert_eq!(std::mem::size_of::<DLTensor>(), 48);
        assert_eq!(std::mem::size_of::<DLManagedTensor>(), 64);
        assert_eq!(std::mem::size_of::<DLManagedTensorVersioned>(), 80);
        assert_eq!(
            std::mem::offset_of!(DLManagedTensorVersioned, dl_tensor),
            32
        );
    }

    #[test]
    fn export_roundtrip_frees_once() {
        let buf = Arc::new(Buffer::new(4 * 6).unwrap());
        let m = export_versioned(buf.clone(), DType::BF16, &[2, 3], 0);
        assert_eq!(Arc::strong_count(&buf), 2);
        unsafe {
            let l = layout_from_dl(&(*m).dl_tensor, None).unwrap();
            assert_eq!((l.len, l.dtype), (6, DType::BF16));
            assert_eq!((*m).dl_tensor.dtype, dl_from_dtype(DType::BF16));
            ((*m).deleter.unwrap())(m);
        }
        assert_eq!(Arc::strong_count(&buf), 1);
        let m = export_legacy(buf.clone(), DType::F32, &[6]);
        unsafe { ((*m).deleter.unwrap())(m) };
        assert_eq!(Arc::strong_count(&buf), 1);
    }

    #[test]
    fn strides_and_dtypes_are_checked() {
        let mut shape = [3i64, 4];
        let mut strides = [1i64, 3]; // a transposed view
        let mut t = DLTensor {
            data: 64 as *mut c_void,
            device: DLDevice {
                device_type: DL_CPU,
                device_id: 0,
            },
            ndim: 2,
            dtype: dl_from_dtype(DType::F32),
            shape: shape.as_mut_ptr(),
            strides: strides.as_mut_ptr(),
            byte_offset: 8,
        };
        let l = unsafe { layout_from_dl(&t, None) }.unwrap();
        assert_eq!(l.ptr as usize, 72);
        assert!(!l.inner_unit_stride());
        t.dtype = DLDataType {
            code: 0,
            bits: 32,
            lanes: 1,
        };
        assert!(matches!(
            unsafe { layout_from_dl(&t, None) },
            Err(Error::Type(_))
        ));
        t.dtype = dl_from_dtype(DType::F64);
        t.device.device_type = 2;
        assert!(matches!(
            unsafe { layout_from_dl(&t, None) },
            Err(Error::Value(_))
        ));
    }
}
