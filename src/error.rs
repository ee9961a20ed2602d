//! The crate's error type. Each variant names the Python exception the binding raises, so the
//! core decides the type (matching torch where torch raises) without depending on Python.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Python `ValueError`.
    Value(String),
    /// Python `TypeError`.
    Type(String),
    /// Python `RuntimeError` (torch raises this type for some argument checks).
    Runtime(String),
    /// Python `OverflowError`.
    Overflow(String),
    /// Python `MemoryError`.
    Memory(String),
    /// The caller's poll asked to stop (Ctrl-C); the binding re-raises the pending signal.
    Interrupted,
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Value(m)
            | Error::Type(m)
            | Error::Runtime(m)
            | Error::Overflow(m)
            | Error::Memory(m) => f.write_str(m),
            Error::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl std::error::Error for Error {}

/// Formats a float the way Python's `str(float)` does for the common cases, so messages read
/// like torch's (`1.0`, not `1`).
pub fn py_float(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else if x == x.trunc() && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// Rejects NaN and infinities in a named parameter.
pub fn check_finite(name: &str, x: f64) -> Result<()> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(Error::Value(format!(
            "{name} must be finite, but found {name}={}",
            py_float(x)
        )))
    }
}
