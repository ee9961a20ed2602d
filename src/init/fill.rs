//! The parallel fill driver.
//!
//! Invariant: the work is cut into fixed blocks of [`BLOCK`] logical indices, independent of
//! the thread count; a block writes exactly the elements of its index range, each with the
//! value its (global) index defines. So the result never depends on how many threads ran or
//! in which order blocks finished. Small fills run inline and never wake the thread pool.

use crate::buffer::element::{DType, Element};
use crate::buffer::layout::Layout;
use crate::error::{Error, Result};
use half::{bf16, f16};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Logical indices per work block (256 KiB of float32: stays in L2 while it is written).
pub const BLOCK: usize = 1 << 16;
/// Below this many elements a fill runs on the calling thread.
pub const PARALLEL_MIN: usize = 1 << 17;
/// How often the calling thread polls for Ctrl-C while workers fill.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// Produces the values of a run of consecutive global indices.
pub trait Writer: Sync {
    fn write<T: Element>(&self, first: u64, out: &mut [T], scratch: &mut Vec<f32>);
}

/// A poll callback: called on the calling thread between blocks; `true` stops the fill.
pub type Poll<'a> = &'a mut dyn FnMut() -> bool;

/// Fills the view with the writer's values, in parallel for large views.
pub fn fill<W: Writer>(layout: &Layout, w: &W, poll: Poll<'_>) -> Result<()> {
    match layout.dtype {
        DType::F16 => fill_typed::<f16, W>(layout, w, poll),
        DType::BF16 => fill_typed::<bf16, W>(layout, w, poll),
        DType::F32 => fill_typed::<f32, W>(layout, w, poll),
        DType::F64 => fill_typed::<f64, W>(layout, w, poll),
    }
}

#[derive(Default)]
struct Scratch<T> {
    staging: Vec<T>,
    f32s: Vec<f32>,
}

fn fill_block<T: Element, W: Writer>(layout: &Layout, w: &W, b: usize, sc: &mut Scratch<T>) {
    let start = b * BLOCK;
    let end = (start + BLOCK).min(layout.len);
    let base = layout.ptr as *mut T;
    layout.for_each_run(start, end, |mem, g, len, stride| {
        // SAFETY: Layout::new checked that the view's elements are distinct and in bounds of
        // the caller's buffer; blocks cover disjoint index ranges, so no two threads write one
        // element.
        unsafe {
            let p = base.offset(mem);
            if stride == 1 {
                w.write(g, std::slice::from_raw_parts_mut(p, len), &mut sc.f32s);
            } else {
                sc.staging.resize(len, T::default());
                w.write(g, &mut sc.staging[..len], &mut sc.f32s);
                for (i, &v) in sc.staging[..len].iter().enumerate() {
                    *p.offset(i as isize * stride) = v;
                }
            }
        }
    });
}

fn fill_typed<T: Element, W: Writer>(layout: &Layout, w: &W, poll: Poll<'_>) -> Result<()> {
    let n = layout.len;
    if n == 0 {
        return Ok(());
    }
    let nblocks = n.div_ceil(BLOCK);
    if n < PARALLEL_MIN || rayon::current_num_threads() <= 1 {
        let mut sc = Scratch::<T>::default();
        // Poll by time, not by block count: a slow kernel (scalar, deep tails) must still
        // answer Ctrl-C within POLL_EVERY.
        let mut last = std::time::Instant::now();
        for b in 0..nblocks {
            if last.elapsed() >= POLL_EVERY {
                if poll() {
                    return Err(Error::Interrupted);
                }
                last = std::time::Instant::now();
            }
            fill_block(layout, w, b, &mut sc);
        }
        return Ok(());
    }
    run_parallel(nblocks, poll, |b, sc: &mut Scratch<T>| {
        fill_block(layout, w, b, sc)
    })
}

/// Runs `work(b)` for every block on the rayon pool while the calling thread polls.
pub fn run_parallel<S: Default + Send, F>(nblocks: usize, poll: Poll<'_>, work: F) -> Result<()>
where
    F: Fn(usize, &mut S) + Sync,
{
    let cancel = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let mut interrupted = false;
    rayon::in_place_scope(|s| {
        let (cancel, work) = (&cancel, &work);
        s.spawn(move |_| {
            (0..nblocks)
                .into_par_iter()
                .for_each_init(S::default, |sc, b| {
                    if !cancel.load(Ordering::Relaxed) {
                        work(b, sc);
                    }
                });
            let _ = tx.send(());
        });
        // Wait for the workers, waking every POLL_EVERY to let the caller check for Ctrl-C.
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(POLL_EVERY) {
            if !interrupted && poll() {
                interrupted = true;
                cancel.store(true, Ordering::Relaxed);
            }
        }
    });
    if interrupted {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}

/// Writes one constant.
pub struct Constant(pub f64);

impl Writer for Constant {
    fn write<T: Element>(&self, _first: u64, out: &mut [T], _scratch: &mut Vec<f32>) {
        out.fill(T::from_f64(self.0));
    }
}

/// Copies from a C-ordered source covering the whole (global) array.
pub struct CopyFrom<'a, S>(pub &'a [S]);

impl<S: Element> Writer for CopyFrom<'_, S> {
    fn write<T: Element>(&self, first: u64, out: &mut [T], _scratch: &mut Vec<f32>) {
        let src = &self.0[first as usize..first as usize + out.len()];
        // Saturate at the dtype's finite range (orthogonal_ with a huge gain in float16).
        let max = T::max_finite().to_f64();
        for (o, &v) in out.iter_mut().zip(src) {
            *o = T::from_f64(v.to_f64().clamp(-max, max));
        }
    }
}

impl<D: crate::sampler::Distribution> Writer for crate::sampler::Sampler<D> {
    fn write<T: Element>(&self, first: u64, out: &mut [T], scratch: &mut Vec<f32>) {
        self.fill(first, out, scratch)
    }
}
