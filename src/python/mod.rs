//! The PyO3 binding, `ferroinit._core` (cargo feature `python`): converts Python arguments into
//! core types, releases the GIL around every fill, polls for Ctrl-C from the calling thread,
//! and maps errors to Python exceptions. No math here.
//!
//! - [`call`]: the GIL release and error mapping every function goes through.
//! - [`array`]: Python arrays to layouts, and `empty`. [`dlpack`]: DLPack capsules in and out.
//! - [`generator`]: the `Generator` class. [`buffer`]: `RustBuffer` and `buffer`.
//! - [`init`]: the initializer functions. [`batch`]: `fill_many`, many fills in one call.

mod array;
mod batch;
mod buffer;
mod call;
mod dlpack;
mod generator;
mod init;

use crate::rng::generator::DEFAULT_SEED;
use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<generator::PyGenerator>()?;
    m.add_class::<buffer::RustBuffer>()?;
    m.add_function(wrap_pyfunction!(init::fill_law, m)?)?;
    m.add_function(wrap_pyfunction!(init::laws, m)?)?;
    m.add_function(wrap_pyfunction!(init::xavier_uniform_, m)?)?;
    m.add_function(wrap_pyfunction!(init::xavier_normal_, m)?)?;
    m.add_function(wrap_pyfunction!(init::kaiming_uniform_, m)?)?;
    m.add_function(wrap_pyfunction!(init::kaiming_normal_, m)?)?;
    m.add_function(wrap_pyfunction!(init::constant_, m)?)?;
    m.add_function(wrap_pyfunction!(init::eye_, m)?)?;
    m.add_function(wrap_pyfunction!(init::dirac_, m)?)?;
    m.add_function(wrap_pyfunction!(init::orthogonal_, m)?)?;
    m.add_function(wrap_pyfunction!(init::sparse_, m)?)?;
    m.add_function(wrap_pyfunction!(init::calculate_gain, m)?)?;
    m.add_function(wrap_pyfunction!(init::fan_in_and_fan_out, m)?)?;
    m.add_function(wrap_pyfunction!(batch::fill_many, m)?)?;
    m.add_function(wrap_pyfunction!(array::empty, m)?)?;
    m.add_function(wrap_pyfunction!(buffer::buffer, m)?)?;
    m.add_function(wrap_pyfunction!(init::simd_level, m)?)?;
    m.add("DEFAULT_SEED", DEFAULT_SEED)?;
    Ok(())
}
