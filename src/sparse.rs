//! The zero mask of sparse_: exactly `k = ceil(sparsity * rows)` distinct zero rows per column.
//!
//! Column `c` draws its rows by a partial Fisher-Yates shuffle fed from stream 1 of the
//! generator, starting at block `base + c * blocks_per_column(rows)`, two words per step
//! (a 64-bit multiply-shift, bias below rows / 2^64). So the mask is a pure function of
//! (seed, position, rows, cols, k) and columns can be drawn in parallel.

use crate::error::{Error, Result};
use crate::philox::Philox4x32;

/// The stream id of mask draws (values use stream 0).
pub const MASK_STREAM: u32 = 1;

/// Number of zeros per column, as torch computes it: `ceil(sparsity * rows)`.
pub fn zeros_per_column(sparsity: f64, rows: usize) -> Result<usize> {
    if !(0.0..1.0).contains(&sparsity) {
        return Err(Error::Value(format!(
            "sparsity must be in [0, 1), but found sparsity={}",
            crate::error::py_float(sparsity)
        )));
    }
    Ok((sparsity * rows as f64).ceil() as usize)
}

/// Blocks of stream 1 reserved for each column (enough for `rows` steps of two words).
pub fn blocks_per_column(rows: usize) -> u64 {
    (rows as u64).div_ceil(2)
}

/// The first `k` entries of `perm` become column `col`'s zero rows. `perm` is scratch of
/// length `rows`, reused across columns.
pub fn zero_rows(
    rng: &Philox4x32,
    base: u64,
    col: usize,
    rows: usize,
    k: usize,
    perm: &mut Vec<usize>,
) {
    perm.clear();
    perm.extend(0..rows);
    let first = base.wrapping_add(col as u64 * blocks_per_column(rows));
    let mut words = [0u32; 4];
    for i in 0..k {
        if i % 2 == 0 {
            let b = rng.blocks::<1>(first.wrapping_add((i / 2) as u64));
            words = [b[0][0], b[1][0], b[2][0], b[3][0]];
        }
        let r = ((words[2 * (i % 2)] as u64) << 32) | words[2 * (i % 2) + 1] as u64;
        let span = (rows - i) as u128;
        let j = i + ((r as u128 * span) >> 64) as usize;
        perm.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_rows_and_reproducible() {
        let rng = Philox4x32::new(5, MASK_STREAM);
        let mut p = Vec::new();
        zero_rows(&rng, 0, 3, 100, 37, &mut p);
        let mut a = p[..37].to_vec();
        a.sort();
        a.dedup();
        assert_eq!(a.len(), 37);
        let mut q = Vec::new();
        zero_rows(&rng, 0, 3, 100, 37, &mut q);
        assert_eq!(p[..37], q[..37]);
    }
}
