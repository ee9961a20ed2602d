//! `ferroinit._core.Generator`: a core [`Generator`] (seed + position) as a Python object.

use crate::rng::generator::{Generator, DEFAULT_SEED};
use numpy::PyArray1;
use pyo3::exceptions::{PyMemoryError, PyTypeError, PyValueError};
use pyo3::prelude::*;

/// A ferroinit generator: a seed and a position in its counter-based stream.
#[pyclass(name = "Generator", module = "ferroinit._core", frozen)]
pub struct PyGenerator {
    pub(crate) inner: Generator,
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

    /// The seed (the source of the AES-128 key), in [0, 2**64).
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed()
    }

    /// The position: the next unused 128-bit counter block.
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
        py.detach(|| crate::init::random_raw(g, &mut v));
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

pub type Gen<'a> = PyRef<'a, PyGenerator>;

/// `__reduce__`'s (callable, args, state).
type Reduced<'py> = (Bound<'py, PyAny>, (u64,), (u64, u64));
