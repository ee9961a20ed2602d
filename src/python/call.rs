//! How a binding function calls the core: with the GIL released, polling for Ctrl-C from the
//! calling thread between blocks, and the core's [`Error`] mapped to its Python exception.

use crate::error::Error;
use crate::init::fill::Poll;
use pyo3::exceptions::{
    PyKeyboardInterrupt, PyMemoryError, PyOverflowError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;

/// The Python exception a core error names.
pub fn to_pyerr(e: Error) -> PyErr {
    match e {
        Error::Value(m) => PyValueError::new_err(m),
        Error::Type(m) => PyTypeError::new_err(m),
        Error::Runtime(m) => PyRuntimeError::new_err(m),
        Error::Overflow(m) => PyOverflowError::new_err(m),
        Error::Memory(m) => PyMemoryError::new_err(m),
        Error::Interrupted => PyKeyboardInterrupt::new_err(()),
    }
}

/// Below this many elements a fill keeps the GIL: releasing and re-taking it costs a
/// measurable part of a tiny fill's call (NumPy's 16-element `normal_` is ~1 us in all), while
/// a fill of fewer elements holds the GIL for a few microseconds at most, far less than
/// Python's thread switch interval (5 ms), so no other thread notices. Fills that take time
/// (anything larger, and QR or sparse masks at any size) release it.
pub const DETACH_MIN: usize = 1 << 14;

/// [`detached`] for a fill of `n` elements: with the GIL held below [`DETACH_MIN`].
pub fn detached_for<F>(py: Python<'_>, n: usize, f: F) -> PyResult<()>
where
    F: for<'a> FnOnce(Poll<'a>) -> crate::error::Result<()> + Send,
{
    if n >= DETACH_MIN {
        return detached(py, f);
    }
    let mut pending: Option<PyErr> = None;
    let mut poll = || match py.check_signals() {
        Ok(()) => false,
        Err(e) => {
            pending = Some(e);
            true
        }
    };
    let r = f(&mut poll);
    finish(r, pending)
}

/// Runs `f` without the GIL; `f` gets a poll that re-attaches briefly to check for signals.
pub fn detached<F>(py: Python<'_>, f: F) -> PyResult<()>
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
    finish(r, pending)
}

fn finish(r: crate::error::Result<()>, pending: Option<PyErr>) -> PyResult<()> {
    match r {
        Ok(()) => Ok(()),
        Err(Error::Interrupted) => Err(pending.unwrap_or_else(|| PyKeyboardInterrupt::new_err(()))),
        Err(e) => Err(to_pyerr(e)),
    }
}
