//! PLACEHOLDER (being replaced by the faer-based module): naive modified Gram-Schmidt.
fn mgs<T: Copy + Into<f64>>(a: &[T], rows: usize, cols: usize, gain: f64) -> Vec<f64> {
    let tr = rows < cols;
    let (m, n) = if tr { (cols, rows) } else { (rows, cols) };
    // column j of the (m x n) working matrix
    let mut q: Vec<Vec<f64>> = (0..n)
        .map(|j| (0..m).map(|i| if tr { a[j * cols + i].into() } else { a[i * cols + j].into() }).collect())
        .collect();
    for j in 0..n {
        for p in 0..j {
            let d: f64 = (0..m).map(|i| q[p][i] * q[j][i]).sum();
            for i in 0..m {
                q[j][i] -= d * q[p][i];
            }
        }
        let nrm: f64 = q[j].iter().map(|x| x * x).sum::<f64>().sqrt();
        for i in 0..m {
            q[j][i] /= nrm;
        }
    }
    let mut out = vec![0.0; rows * cols];
    for j in 0..n {
        for i in 0..m {
            let v = q[j][i] * gain;
            if tr { out[j * cols + i] = v } else { out[i * cols + j] = v }
        }
    }
    out
}
pub fn orthogonalize_f32(a: &mut [f32], rows: usize, cols: usize, gain: f64) {
    let o = mgs(a, rows, cols, gain);
    for (x, y) in a.iter_mut().zip(o) { *x = y as f32 }
}
pub fn orthogonalize_f64(a: &mut [f64], rows: usize, cols: usize, gain: f64) {
    let o = mgs(a, rows, cols, gain);
    a.copy_from_slice(&o);
}
