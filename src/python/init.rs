//! The initializers and the fan / gain helpers of torch.nn.init: each converts its array to a
//! layout, then calls the core initializer, with the GIL released unless the fill is tiny
//! (see [`super::call::DETACH_MIN`]).

use super::array::{layout_of, shard_of};
use super::call::{detached, detached_for, to_pyerr};
use super::generator::Gen;
use crate::init::{self, fans};
use crate::sampler::Law;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// Fills `x` with the law `law` of the catalogue ([`crate::sampler::Law`]) and its `params`:
/// the one binding of every sampled law (`uniform_`, `normal_`, `trunc_normal_`, ...).
#[pyfunction]
#[pyo3(signature = (x, law, params, generator, global_shape=None, offset=None))]
pub fn fill_law(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    law: &str,
    params: &Bound<'_, PyTuple>,
    generator: Gen<'_>,
    global_shape: Option<Vec<usize>>,
    offset: Option<Vec<usize>>,
) -> PyResult<()> {
    let (l, _guard) = layout_of(x, shard_of(global_shape, offset)?.as_ref())?;
    let mut values = [0.0; MAX_PARAMS];
    let law = Law::new(law, law_params(law, params, &mut values)?).map_err(to_pyerr)?;
    let g = &generator.inner;
    detached_for(py, l.len, |p| init::fill_law(&l, &law, g, p))
}

/// The most parameters a law takes (a tuple is read into a stack array: no allocation).
const MAX_PARAMS: usize = 8;

fn law_params<'a>(
    law: &str,
    t: &Bound<'_, PyTuple>,
    out: &'a mut [f64; MAX_PARAMS],
) -> PyResult<&'a [f64]> {
    let n = t.len();
    if n > MAX_PARAMS {
        return Err(PyValueError::new_err(format!(
            "a law takes at most {MAX_PARAMS} parameters, but got {n}"
        )));
    }
    let names = crate::sampler::law::parameters(law);
    for (i, (o, v)) in out.iter_mut().zip(t.iter()).enumerate() {
        // A wrong type is named by the parameter, as a Python signature would name it.
        *o = v.extract().map_err(|e: PyErr| {
            let name = names.get(i).copied().unwrap_or("params");
            PyTypeError::new_err(format!("argument '{name}': {}", e.value(t.py())))
        })?;
    }
    Ok(&out[..n])
}

/// The catalogue of laws: each law's name and its parameters' names.
#[pyfunction]
pub fn laws() -> Vec<(&'static str, Vec<&'static str>)> {
    Law::CATALOGUE
        .iter()
        .map(|(n, p)| (*n, p.to_vec()))
        .collect()
}

/// A random, shardable core initializer with its own parameters: the binding converts the
/// array (and shard) to a layout and calls `init::$name(&layout, params.., generator, poll)`.
macro_rules! random_shardable {
    ($name:ident($($p:ident: $t:ty),*)) => {
        #[pyfunction]
        #[pyo3(signature = (x, $($p,)* generator, global_shape=None, offset=None))]
        #[allow(clippy::too_many_arguments)]
        pub fn $name(
            py: Python<'_>,
            x: &Bound<'_, PyAny>,
            $($p: $t,)*
            generator: Gen<'_>,
            global_shape: Option<Vec<usize>>,
            offset: Option<Vec<usize>>,
        ) -> PyResult<()> {
            let (l, _guard) = layout_of(x, shard_of(global_shape, offset)?.as_ref())?;
            let g = &generator.inner;
            detached_for(py, l.len, |p| init::$name(&l, $($p,)* g, p))
        }
    };
}

random_shardable!(xavier_uniform_(gain: f64));
random_shardable!(xavier_normal_(gain: f64));
random_shardable!(kaiming_uniform_(a: f64, mode: &str, nonlinearity: &str));
random_shardable!(kaiming_normal_(a: f64, mode: &str, nonlinearity: &str));

#[pyfunction]
pub fn constant_(py: Python<'_>, x: &Bound<'_, PyAny>, val: f64) -> PyResult<()> {
    let (l, _guard) = layout_of(x, None)?;
    detached_for(py, l.len, |p| init::constant_(&l, val, p))
}

#[pyfunction]
pub fn eye_(py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<()> {
    let (l, _guard) = layout_of(x, None)?;
    detached_for(py, l.len, |p| init::eye_(&l, p))
}

#[pyfunction]
pub fn dirac_(py: Python<'_>, x: &Bound<'_, PyAny>, groups: i64) -> PyResult<()> {
    let (l, _guard) = layout_of(x, None)?;
    detached_for(py, l.len, |p| init::dirac_(&l, groups, p))
}

#[pyfunction]
pub fn orthogonal_(
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
pub fn sparse_(
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
pub fn calculate_gain(nonlinearity: &str, param: Option<f64>) -> PyResult<f64> {
    fans::calculate_gain(nonlinearity, param).map_err(to_pyerr)
}

#[pyfunction]
pub fn fan_in_and_fan_out(shape: Vec<usize>) -> PyResult<(usize, usize)> {
    fans::fan_in_and_fan_out(&shape).map_err(to_pyerr)
}

/// The SIMD path this process uses ("avx512", "avx2", "portable" or "scalar").
#[pyfunction]
pub fn simd_level() -> &'static str {
    crate::simd::level().name()
}
