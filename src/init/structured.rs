//! The deterministic initializers: eye and dirac (torch's exact semantics).

use crate::buffer::layout::Layout;
use crate::error::{Error, Result};

/// Logical indices of the ones torch.eye puts in a `rows x cols` matrix.
pub fn eye_ones(shape: &[usize]) -> Result<Vec<usize>> {
    if shape.len() != 2 {
        return Err(Error::Value(
            "Only tensors with 2 dimensions are supported".into(),
        ));
    }
    let (r, c) = (shape[0], shape[1]);
    Ok((0..r.min(c)).map(|i| i * c + i).collect())
}

/// Logical indices of the ones torch.nn.init.dirac_ sets: for every group `g` and channel `d`
/// below `min(out_per_group, in)`, the centre tap `[g * out_per_group + d, d, k0 // 2, ...]`.
pub fn dirac_ones(shape: &[usize], groups: i64) -> Result<Vec<usize>> {
    if !(3..=5).contains(&shape.len()) {
        return Err(Error::Value(
            "Only tensors with 3, 4, or 5 dimensions are supported".into(),
        ));
    }
    if groups < 1 {
        return Err(Error::Value(format!(
            "groups must be a positive integer, but found groups={groups}"
        )));
    }
    let groups = groups as usize;
    if !shape[0].is_multiple_of(groups) {
        return Err(Error::Value("dim 0 must be divisible by groups".into()));
    }
    let out_per_group = shape[0] / groups;
    let min_dim = out_per_group.min(shape[1]);
    let mut strides = vec![1usize; shape.len()];
    for k in (0..shape.len() - 1).rev() {
        strides[k] = strides[k + 1] * shape[k + 1];
    }
    let centre: usize = (2..shape.len()).map(|k| (shape[k] / 2) * strides[k]).sum();
    let mut ones = Vec::with_capacity(groups * min_dim);
    for g in 0..groups {
        for d in 0..min_dim {
            ones.push((g * out_per_group + d) * strides[0] + d * strides[1] + centre);
        }
    }
    Ok(ones)
}

/// Writes `1` at the given logical indices of a view already filled with zeros.
pub fn set_ones(layout: &Layout, ones: &[usize]) {
    for &i in ones {
        set_value(layout, i, 1.0);
    }
}

/// Writes one value at a logical index. Distinct indices may be written from different threads.
pub fn set_value(layout: &Layout, i: usize, v: f64) {
    use crate::buffer::element::DType;
    assert!(i < layout.len, "index {i} outside the view");
    let off = layout.offset_of(i);
    // SAFETY: i < layout.len, so the offset is inside the validated view.
    unsafe {
        match layout.dtype {
            DType::F16 => *(layout.ptr as *mut half::f16).offset(off) = half::f16::from_f64(v),
            DType::BF16 => *(layout.ptr as *mut half::bf16).offset(off) = half::bf16::from_f64(v),
            DType::F32 => *(layout.ptr as *mut f32).offset(off) = v as f32,
            DType::F64 => *(layout.ptr as *mut f64).offset(off) = v,
        }
    }
}
