//! Strided views: which memory a fill writes, in which logical order, and where that view sits
//! inside a larger (global) array.
//!
//! Invariant: the value written at local multi-index `m` is the value of global linear index
//! `g0 + sum(m_k * gstride_k)` (C order of the global shape). Without a shard the global array
//! is the view itself, so values follow the view's logical C order whatever its strides.

use crate::buffer::element::DType;
use crate::error::{Error, Result};

/// Where a view sits in a larger array: the global shape and the index of its first element.
#[derive(Clone, Debug, Default)]
pub struct Shard {
    pub global_shape: Vec<usize>,
    pub offset: Vec<usize>,
}

#[derive(Clone, Copy, Debug)]
struct Dim {
    size: usize,
    /// Memory stride in elements (may be negative).
    stride: isize,
    /// Stride in the global logical (C-order) index space.
    gstride: u64,
}

/// A validated, writable strided view, with dimensions merged where memory and global order
/// agree, so a C-contiguous array is one run.
#[derive(Clone, Debug)]
pub struct Layout {
    pub ptr: *mut u8,
    pub dtype: DType,
    /// The view's own shape (as given).
    pub shape: Vec<usize>,
    dims: Vec<Dim>,
    /// Global index of the view's first element.
    g0: u64,
    /// Elements in the view.
    pub len: usize,
    /// Elements in the global array (what the generator advances by).
    pub global_len: u64,
    /// The global shape (the view's shape when unsharded): fans are taken from it.
    pub global_shape: Vec<usize>,
}

// SAFETY: a Layout is a description of memory that the caller guarantees stays alive and is
// not written by anyone else during a fill; workers write disjoint elements of it.
unsafe impl Send for Layout {}
unsafe impl Sync for Layout {}

/// Product of a shape, or an OverflowError.
pub fn checked_len(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            Error::Overflow(format!(
                "shape {shape:?} has more elements than fit in memory"
            ))
        })
}

impl Layout {
    /// `strides` are in bytes, as NumPy and DLPack (after scaling) give them.
    pub fn new(
        ptr: *mut u8,
        dtype: DType,
        shape: &[usize],
        strides: &[isize],
        shard: Option<&Shard>,
    ) -> Result<Self> {
        let item = dtype.itemsize() as isize;
        if strides.len() != shape.len() {
            return Err(Error::Value("strides and shape differ in length".into()));
        }
        let len = checked_len(shape)?;
        if len > 0 && !(ptr as usize).is_multiple_of(dtype.itemsize()) {
            return Err(Error::Value(format!(
                "array data is not aligned to its {}-byte itemsize",
                dtype.itemsize()
            )));
        }
        let mut estrides = Vec::with_capacity(shape.len());
        for (&s, &n) in strides.iter().zip(shape) {
            if n > 1 && s % item != 0 {
                return Err(Error::Value(format!(
                    "stride {s} is not a multiple of the itemsize {item}"
                )));
            }
            estrides.push(if n > 1 { s / item } else { 0 });
        }
        // Every element's byte offset must be an isize (no real buffer spans more), so that
        // offset arithmetic here and in the writers cannot overflow.
        let span = strides.iter().zip(shape).try_fold(0isize, |acc, (&s, &n)| {
            if n <= 1 {
                return Some(acc);
            }
            (n as isize - 1)
                .checked_mul(s.checked_abs()?)?
                .checked_add(acc)
        });
        if len > 0 && span.is_none() {
            return Err(Error::Overflow(format!(
                "strides {strides:?} of shape {shape:?} span more bytes than an address space"
            )));
        }
        if len > 1 {
            check_no_overlap(shape, &estrides)?;
        }
        let (global_shape, offset) = match shard {
            None => (shape.to_vec(), vec![0; shape.len()]),
            Some(sh) => {
                if sh.global_shape.len() != shape.len() || sh.offset.len() != shape.len() {
                    return Err(Error::Value(format!(
                        "global_shape {:?} and offset {:?} must have one entry per dimension of the array (shape {:?})",
                        sh.global_shape, sh.offset, shape
                    )));
                }
                for k in 0..shape.len() {
                    let end = sh.offset[k].checked_add(shape[k]);
                    if end.is_none_or(|e| e > sh.global_shape[k]) {
                        return Err(Error::Value(format!(
                            "shard of shape {:?} at offset {:?} does not fit in global_shape {:?}",
                            shape, sh.offset, sh.global_shape
                        )));
                    }
                }
                (sh.global_shape.clone(), sh.offset.clone())
            }
        };
        let global_len = checked_len(&global_shape)? as u64;
        let mut gstrides = vec![0u64; shape.len()];
        let mut acc = 1u64;
        for k in (0..shape.len()).rev() {
            gstrides[k] = acc;
            acc = acc.saturating_mul(global_shape[k] as u64);
        }
        let g0 = offset
            .iter()
            .zip(&gstrides)
            .map(|(&o, &g)| o as u64 * g)
            .sum();
        // Drop size-1 dims (they move nothing), then merge neighbours that are contiguous both
        // in memory and in the global order.
        let mut dims: Vec<Dim> = Vec::new();
        for k in 0..shape.len() {
            if shape[k] == 1 {
                continue;
            }
            let d = Dim {
                size: shape[k],
                stride: estrides[k],
                gstride: gstrides[k],
            };
            if let Some(prev) = dims.last_mut() {
                // Checked: strides from a foreign producer (DLPack) may be extreme.
                let merged_stride = d.stride.checked_mul(d.size as isize);
                if merged_stride == Some(prev.stride) && prev.gstride == d.gstride * d.size as u64 {
                    prev.size *= d.size;
                    prev.stride = d.stride;
                    prev.gstride = d.gstride;
                    continue;
                }
            }
            dims.push(d);
        }
        if dims.is_empty() {
            dims.push(Dim {
                size: 1,
                stride: 1,
                gstride: 1,
            });
        }
        // A run (the innermost merged dim) must be consecutive in the global order: a shard
        // whose trailing dims are 1 where the global array's are not (a one-column shard)
        // has an innermost dim with gstride > 1, so its runs are single elements.
        if dims.last().is_some_and(|d| d.gstride != 1) {
            dims.push(Dim {
                size: 1,
                stride: 1,
                gstride: 1,
            });
        }
        Ok(Layout {
            ptr,
            dtype,
            shape: shape.to_vec(),
            dims,
            g0,
            len,
            global_len,
            global_shape,
        })
    }

    /// A C-contiguous layout over `len` elements at `ptr` (for buffers ferroinit owns).
    pub fn contiguous(ptr: *mut u8, dtype: DType, shape: &[usize]) -> Result<Self> {
        let item = dtype.itemsize() as isize;
        let mut strides = vec![0isize; shape.len()];
        let mut acc = item;
        for k in (0..shape.len()).rev() {
            strides[k] = acc;
            acc = acc.saturating_mul(shape[k] as isize);
        }
        Layout::new(ptr, dtype, shape, &strides, None)
    }

    /// True when the innermost run is unit-stride in memory.
    pub fn inner_unit_stride(&self) -> bool {
        self.dims
            .last()
            .is_some_and(|d| d.stride == 1 || d.size == 1)
    }

    /// Calls `f(mem_offset, global_index, len, inner_stride)` for each maximal run of the
    /// logical index range `start..end` that is one row of the innermost merged dimension.
    /// `mem_offset` and `inner_stride` are in elements.
    pub fn for_each_run(
        &self,
        start: usize,
        end: usize,
        mut f: impl FnMut(isize, u64, usize, isize),
    ) {
        let inner = *self.dims.last().expect("at least one dim");
        let outer = &self.dims[..self.dims.len() - 1];
        let mut i = start;
        while i < end {
            let mut rest = i / inner.size;
            let col = i % inner.size;
            let mut mem = col as isize * inner.stride;
            let mut g = self.g0 + col as u64 * inner.gstride;
            for d in outer.iter().rev() {
                let m = rest % d.size;
                rest /= d.size;
                mem += m as isize * d.stride;
                g += m as u64 * d.gstride;
            }
            let n = (inner.size - col).min(end - i);
            f(mem, g, n, inner.stride);
            i += n;
        }
    }

    /// The memory offset (in elements) of a local logical index.
    pub fn offset_of(&self, mut i: usize) -> isize {
        let mut mem = 0isize;
        for d in self.dims.iter().rev() {
            mem += (i % d.size) as isize * d.stride;
            i /= d.size;
        }
        mem
    }
}

/// Refuses views where two indices reach the same element (zero strides from broadcasting,
/// or strides shorter than the inner extent): a fill could not be well defined there.
fn check_no_overlap(shape: &[usize], estrides: &[isize]) -> Result<()> {
    let mut dims: Vec<(usize, usize)> = shape
        .iter()
        .zip(estrides)
        .filter(|(&n, _)| n > 1)
        .map(|(&n, &s)| (s.unsigned_abs(), n))
        .collect();
    dims.sort_unstable();
    let mut span = 1usize; // elements reachable by the inner dims, as an extent
    for (s, n) in dims {
        if s < span {
            return Err(Error::Value(
                "the array has overlapping memory (a zero or self-overlapping stride, as from \
                 broadcasting); fill a copy or a non-overlapping view instead"
                    .into(),
            ));
        }
        span = s
            .checked_mul(n - 1)
            .and_then(|x| x.checked_add(span))
            .ok_or_else(|| {
                Error::Overflow("the array's strides span more than the address space".into())
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(l: &Layout) -> Vec<(isize, u64, usize, isize)> {
        let mut v = vec![];
        l.for_each_run(0, l.len, |a, b, c, d| v.push((a, b, c, d)));
        v
    }

    #[test]
    fn contiguous_is_one_run() {
        let l = Layout::contiguous(8 as *mut u8, DType::F32, &[3, 4, 5]).unwrap();
        assert_eq!(runs(&l), vec![(0, 0, 60, 1)]);
    }

    #[test]
    fn transpose_follows_logical_order() {
        // x.T of a C-contiguous (2, 3) float32 array: shape (3, 2), strides (4, 12) bytes.
        let l = Layout::new(8 as *mut u8, DType::F32, &[3, 2], &[4, 12], None).unwrap();
        assert_eq!(runs(&l), vec![(0, 0, 2, 3), (1, 2, 2, 3), (2, 4, 2, 3)]);
    }

    #[test]
    fn shard_maps_to_global_indices() {
        let sh = Shard {
            global_shape: vec![4, 6],
            offset: vec![1, 2],
        };
        let l = Layout::new(8 as *mut u8, DType::F32, &[2, 3], &[12, 4], Some(&sh)).unwrap();
        assert_eq!(runs(&l), vec![(0, 8, 3, 1), (3, 14, 3, 1)]);
        assert_eq!(l.global_len, 24);
    }

    #[test]
    fn broadcast_is_refused() {
        assert!(Layout::new(8 as *mut u8, DType::F32, &[3, 4], &[0, 4], None).is_err());
        assert!(Layout::new(8 as *mut u8, DType::F32, &[3, 4], &[4, 4], None).is_err());
    }
}
