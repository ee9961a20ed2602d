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

/// Formats a float as torch's C++ messages do (`std::ostream` defaults, like printf `%g`):
/// six significant digits, no trailing zeros, so `2.0` prints `2` and `0.25` prints `0.25`.
pub fn py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sci = format!("{x:.5e}");
    let (mant, exp) = sci.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("exponent");
    let trim = |s: &str| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if (-5..6).contains(&exp) {
        let decimals = (5 - exp).max(0) as usize;
        trim(&format!("{x:.decimals$}"))
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", trim(mant), sign, exp.abs())
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

#[cfg(test)]
mod tests {
    #[test]
    fn floats_print_like_torch() {
        use super::py_float;
        assert_eq!(py_float(2.0), "2");
        assert_eq!(py_float(-3.0), "-3");
        assert_eq!(py_float(0.25), "0.25");
        assert_eq!(py_float(0.123456789), "0.123457");
        assert_eq!(py_float(1e-7), "1e-07");
        assert_eq!(py_float(1234567.0), "1.23457e+06");
        assert_eq!(py_float(f64::NAN), "nan");
    }
}
