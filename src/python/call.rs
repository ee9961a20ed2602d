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
    match r {
        Ok(()) => Ok(()),
        Err(Error::Interrupted) => Err(pending.unwrap_or_else(|| PyKeyboardInterrupt::new_err(()))),
        Err(e) => Err(to_pyerr(e)),
    }
}
