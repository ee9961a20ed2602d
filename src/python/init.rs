//! The PyO3 binding (`ferroinit._core`): converts Python arguments into core types, releases
//! the GIL around every fill, polls for Ctrl-C from the calling thread, and maps errors to
//! Python exceptions. No math here.

use crate::alloc::Buffer;
use crate::dlpack::{self, Imported};
use crate::element::DType;
use crate::error::Error;
use crate::fill::Poll;
use crate::generator::{Generator, DEFAULT_SEED};
use crate::layout::{checked_len, Layout, Shard};
use crate::{fans, init};
use numpy::npyffi::{self, flags, NpyTypes, PY_ARRAY_API};
use numpy::{PyArray1, PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{
    PyBufferError, PyKeyboardInterrupt, PyMemoryError, PyOverflowError, PyRuntimeError,
    PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use std::sync::Arc;

pub(crate) fn to_pyerr(e: Error) -> PyErr {
    match e {
        Error::Value(m) => PyValueError::new_err(m),
        Error::Type(m) => PyTypeError::new_err(m),
        Error::Runtime(m) => PyRuntimeError::new_err(m),
        Error::Overflow(m) => PyOverflowError::new_err(m),
        Error::Memory(m) => PyMemoryError::new_err(m),
        Error::Interrupted => PyKeyboardInterrupt::new_err(()),
    }
}

/// Runs `f` without the GIL; `f` gets a poll that re-attaches briefly to check for signals.
fn detached<F>(py: Python<'_>, f: F) -> PyResult<()>
where
    F: for<'a> FnOnce(Poll<'a>) -> crate::error::Result<()> + Send,
{
    let mut pending: Option<PyErr> = None;
    let r = py.detach(|| {
        let mut poll = || {
            Python::attach(|py| match py.check_signals() {
                Ok(()) => false,
                Err(e) => {
                    pending = Some(e);
                    true
                }
            })
        };
        f(&mut poll)
    });
    match r {
        Ok(()) => Ok(()),
        Err(Error::Interrupted) => Err(pending.unwrap_or_else(|| PyKeyboardInterrupt::new_err(()))),
        Err(e) => Err(to_pyerr(e)),
    }
}

fn dtype_of(d: &Bound<'_, PyArrayDescr>) -> PyResult<DType> {
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

fn shard_of(
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
fn layout_of(x: &Bound<'_, PyAny>, shard: Option<&Shard>) -> PyResult<(Layout, Option<Imported>)> {
    let Ok(arr) = x.cast::<PyUntypedArray>() else {
        if let Ok(b) = x.cast::<RustBuffer>() {
            let b = b.get();
            let strides = dlpack::c_strides(&b.shape, b.dtype.itemsize() as isize);
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

/// A ferroinit generator: a seed and a position in its counter-based stream.
#[pyclass(name = "Generator", module = "ferroinit._core", frozen)]
pub struct PyGenerator {
    inner: Generator,
}

fn parse_seed(seed: &Bound<'_, PyAny>) -> PyResult<u64> {
    let v: i128 = seed
        .extract()
        .map_err(|_| PyTypeError::new_err("seed must be an int"))?;
    if !(-(1i128 << 63)..(1i128 << 64)).contains(&v) {
        return Err(PyValueError::new_err(format!(
            "seed must be in [-2**63, 2**64), but found {v}"
        )));
    }
    Ok(if v < 0 {
        (v + (1i128 << 64)) as u64
    } else {
        v as u64
    })
}

#[pymethods]
impl PyGenerator {
    #[new]
    #[pyo3(signature = (seed = None))]
    fn new(seed: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let seed = match seed {
            Some(s) => parse_seed(s)?,
            None => DEFAULT_SEED,
        };
        Ok(PyGenerator {
            inner: Generator::new(seed),
        })
    }

    /// The seed (the Philox key), in [0, 2**64).
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed()
    }

    /// The position: the next unused 128-bit Philox counter block.
    #[getter]
    fn position(&self) -> u64 {
        self.inner.position()
    }

    fn initial_seed(&self) -> u64 {
        self.inner.seed()
    }

    fn get_state(&self) -> (u64, u64) {
        (self.inner.seed(), self.inner.position())
    }

    fn set_state(&self, state: (u64, u64)) {
        self.inner.set_state(state.0, state.1)
    }

    fn manual_seed<'py>(
        slf: &Bound<'py, Self>,
        seed: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, Self>> {
        slf.get().inner.set_state(parse_seed(seed)?, 0);
        Ok(slf.clone())
    }

    /// The raw 32-bit stream as a uint32 array (advances the position by ceil(n / 4)).
    fn random_raw<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let mut v: Vec<u32> = Vec::new();
        v.try_reserve_exact(n)
            .map_err(|_| PyMemoryError::new_err(format!("cannot allocate {n} words")))?;
        v.resize(n, 0);
        let g = &self.inner;
        py.detach(|| g.random_raw(&mut v));
        Ok(PyArray1::from_vec(py, v))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let g = &slf.get().inner;
        Ok((
            slf.get_type().into_any(),
            (g.seed(),),
            (g.seed(), g.position()),
        ))
    }

    fn __setstate__(&self, state: (u64, u64)) {
        self.inner.set_state(state.0, state.1)
    }

    fn __repr__(&self) -> String {
        format!(
            "Generator(seed={}, position={})",
            self.inner.seed(),
            self.inner.position()
        )
    }
}

type Gen<'a> = PyRef<'a, PyGenerator>;

/// `__reduce__`'s (callable, args, state).
type Reduced<'py> = (Bound<'py, PyAny>, (u64,), (u64, u64));

#[pyfunction]
#[pyo3(signature = (x, a, b, generator, global_shape=None, offset=None))]
fn uniform_(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    a: f64,
    b: f64,
    generator: Gen<'_>,
    global_shape: Option<Vec<usize>>,
    offset: Option<Vec<usize>>,
) -> PyResult<()> {
    let (l, _guard) = layout_of(x, shard_of(global_shape, offset)?.as_ref())?;
    let g = &generator.inner;
    detached(py, |p| init::uniform_(&l, a, b, g, p))
}

#[pyfunction]
#[pyo3(signature = (x, mean, std, generator, global_shape=None, offset=None))]
fn normal_(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    mean: f64,
    std: f64,
    generator: Gen<'_>,
    global_shape: Option<Vec<usize>>,
    offset: Option<Vec<usize>>,
) -> PyResult<()> {
    let (l, _guard) = layout_of(x, shard_of(global_shape, offset)?.as_ref())?;
    let g = &generator.inner;
    detached(py, |p| init::normal_(&l, mean, std, g, p))
}

#[pyfunction]
#[pyo3(signature = (x, mean, std, a, b, generator, global_shape=None, offset=None))]
#[allow(clippy::too_many_arguments)]
fn trunc_normal_(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    mean: f64,
    std: f64,
    a: f64,
    b: f64,
    generator: Gen<'_>,
    global_shape: Option<Vec<usize>>,
    offset: Option<Vec<usize>>,
) -> PyResult<()> {
    let (l, _guard) = layout_of(x, shard_of(global_shape, offset)?.as_ref())?;
    let g = &generator.inner;
    detached(py, |p| init::trunc_normal_(&l, mean, std, a, b, g, p))
}

#[pyfunction]
#[pyo3(signature = (x, gain, generator, global_shape=None, offset=None))]
fn xavier_uniform_(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    gain: f64,
    generator: Gen<'_>,
    global_shape: Option<Vec<usize>>,
    offset: Option<Vec<usize>>,
) -> PyResult<()> {
    let (l, _guard) = layout_of(x, shard_of(global_shape, offset)?.as_ref())?;
    let g = &generator.inner;
    detached(py, |p| init::xavier_uniform_(&l, gain, g, p))
}

#[pyfunction]
#[pyo3(signature = (x, gain, generator, global_shape=None, offset=None))]
fn xavier_normal_(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    gain: f64,
    generator: Gen<'_>,
    global_shape: Option<Vec<usize>>,
    offset: Option<Vec<usize>>,
) -> PyResult<()> {
    let (l, _guard) = layout_of(x, shard_of(global_shape, offset)?.as_ref())?;
    let g = &generator.inner;
    detached(py, |p| init::xavier_normal_(&l, gain, g, p))
}

#[pyfunction]
#[pyo3(signature = (x, a, mode, nonlinearity, generator, global_shape=None, offset=None))]
#[allow(clippy::too_many_arguments)]
fn kaiming_uniform_(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    a: f64,
    mode: &str,
    nonlinearity: &str,
    generator: Gen<'_>,
    global_shape: Option<Vec<usize>>,
    offset: Option<Vec<usize>>,
) -> PyResult<()> {
    let (l, _guard) = layout_of(x, shard_of(global_shape, offset)?.as_ref())?;
    let g = &generator.inner;
    detached(py, |p| {
        init::kaiming_uniform_(&l, a, mode, nonlinearity, g, p)
    })
}

#[pyfunction]
#[pyo3(signature = (x, a, mode, nonlinearity, generator, global_shape=None, offset=None))]
#[allow(clippy::too_many_arguments)]
fn kaiming_normal_(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    a: f64,
    mode: &str,
    nonlinearity: &str,
    generator: Gen<'_>,
    global_shape: Option<Vec<usize>>,
    offset: Option<Vec<usize>>,
) -> PyResult<()> {
    let (l, _guard) = layout_of(x, shard_of(global_shape, offset)?.as_ref())?;
    let g = &generator.inner;
    detached(py, |p| {
        init::kaiming_normal_(&l, a, mode, nonlinearity, g, p)
    })
}

#[pyfunction]
fn constant_(py: Python<'_>, x: &Bound<'_, PyAny>, val: f64) -> PyResult<()> {
    let (l, _guard) = layout_of(x, None)?;
    detached(py, |p| init::constant_(&l, val, p))
}

#[pyfunction]
fn eye_(py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<()> {
    let (l, _guard) = layout_of(x, None)?;
    detached(py, |p| init::eye_(&l, p))
}

#[pyfunction]
fn dirac_(py: Python<'_>, x: &Bound<'_, PyAny>, groups: i64) -> PyResult<()> {
    let (l, _guard) = layout_of(x, None)?;
    detached(py, |p| init::dirac_(&l, groups, p))
}

#[pyfunction]
fn orthogonal_(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    gain: f64,
    generator: Gen<'_>,
) -> PyResult<()> {
    let (l, _guard) = layout_of(x, None)?;
    let g = &generator.inner;
    detached(py, |p| init::orthogonal_(&l, gain, g, p))
}

#[pyfunction]
fn sparse_(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    sparsity: f64,
    std: f64,
    generator: Gen<'_>,
) -> PyResult<()> {
    let (l, _guard) = layout_of(x, None)?;
    let g = &generator.inner;
    detached(py, |p| init::sparse_(&l, sparsity, std, g, p))
}

#[pyfunction]
#[pyo3(signature = (nonlinearity, param=None))]
fn calculate_gain(nonlinearity: &str, param: Option<f64>) -> PyResult<f64> {
    fans::calculate_gain(nonlinearity, param).map_err(to_pyerr)
}

#[pyfunction]
fn fan_in_and_fan_out(shape: Vec<usize>) -> PyResult<(usize, usize)> {
    fans::fan_in_and_fan_out(&shape).map_err(to_pyerr)
}

/// A C-contiguous buffer Rust allocated: the `base` that keeps a NumPy array's memory alive,
/// and a zero-copy DLPack producer (`torch.from_dlpack(buf)`, `np.from_dlpack(buf)`), bfloat16
/// included. Each capsule holds a reference to the memory; it is freed once, when the last
/// holder (this object, a NumPy array over it, a consumer's tensor) lets go.
#[pyclass(name = "RustBuffer", module = "ferroinit._core", frozen)]
pub struct RustBuffer {
    buf: Arc<Buffer>,
    dtype: DType,
    shape: Vec<usize>,
}

fn new_buffer(shape: Vec<usize>, dtype: DType) -> PyResult<RustBuffer> {
    let n = checked_len(&shape).map_err(to_pyerr)?;
    let bytes = n
        .checked_mul(dtype.itemsize())
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| PyOverflowError::new_err(format!("shape {shape:?} is too large")))?;
    let buf = Arc::new(Buffer::new(bytes).map_err(to_pyerr)?);
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
            if t != dlpack::DL_CPU {
                return Err(PyBufferError::new_err(
                    "ferroinit buffers live on the CPU; dl_device must be (1, 0)",
                ));
            }
        }
        let versioned = max_version.is_some_and(|(major, _)| major >= dlpack::DLPACK_MAJOR);
        let (buf, flags) = if copy == Some(true) {
            let b = new_buffer(self.shape.clone(), self.dtype)?;
            let n = checked_len(&self.shape).map_err(to_pyerr)? * self.dtype.itemsize();
            // SAFETY: both buffers hold at least n bytes and do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(self.buf.as_ptr(), b.buf.as_ptr(), n) };
            (b.buf, dlpack::FLAG_IS_COPIED)
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
fn buffer(shape: Vec<usize>, dtype: &str) -> PyResult<RustBuffer> {
    new_buffer(shape, dtype_named(dtype)?)
}

/// A new C-contiguous, uninitialized array of `shape` and `dtype` whose memory Rust allocated
/// and NumPy owns (through its base object) without a copy.
#[pyfunction]
fn empty<'py>(
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

/// The SIMD path this process uses ("avx512", "avx2", "portable" or "scalar").
#[pyfunction]
fn simd_level() -> &'static str {
    crate::simd::level().name()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyGenerator>()?;
    m.add_class::<RustBuffer>()?;
    m.add_function(wrap_pyfunction!(uniform_, m)?)?;
    m.add_function(wrap_pyfunction!(normal_, m)?)?;
    m.add_function(wrap_pyfunction!(trunc_normal_, m)?)?;
    m.add_function(wrap_pyfunction!(xavier_uniform_, m)?)?;
    m.add_function(wrap_pyfunction!(xavier_normal_, m)?)?;
    m.add_function(wrap_pyfunction!(kaiming_uniform_, m)?)?;
    m.add_function(wrap_pyfunction!(kaiming_normal_, m)?)?;
    m.add_function(wrap_pyfunction!(constant_, m)?)?;
    m.add_function(wrap_pyfunction!(eye_, m)?)?;
    m.add_function(wrap_pyfunction!(dirac_, m)?)?;
    m.add_function(wrap_pyfunction!(orthogonal_, m)?)?;
    m.add_function(wrap_pyfunction!(sparse_, m)?)?;
    m.add_function(wrap_pyfunction!(calculate_gain, m)?)?;
    m.add_function(wrap_pyfunction!(fan_in_and_fan_out, m)?)?;
    m.add_function(wrap_pyfunction!(empty, m)?)?;
    m.add_function(wrap_pyfunction!(buffer, m)?)?;
    m.add_function(wrap_pyfunction!(simd_level, m)?)?;
    m.add("DEFAULT_SEED", DEFAULT_SEED)?;
    Ok(())
}
