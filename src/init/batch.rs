//! Many fills in one call: the deferred fills of `ferroinit.torch` (`materialize`, the exit
//! of `accelerate()`), each on its own tensor at its own key.
//!
//! Invariant: every job's values are those of the single fill it stands for (the law over its
//! layout from a fresh generator at `(key, position 0)`); the batch only decides which thread
//! writes which job. Every job is checked before any is written, so a bad job leaves all
//! memory untouched.

use crate::buffer::layout::Layout;
use crate::error::Result;
use crate::init::fill::{Poll, PARALLEL_MIN};
use crate::init::nn;
use crate::init::structured;
use crate::rng::generator::Generator;
use crate::sampler::Law;
use rayon::prelude::*;

/// What one job writes.
#[derive(Clone, Copy, Debug)]
pub enum Fill {
    /// A sampled law of the catalogue (its parameters already validated).
    Sample(Law),
    Constant(f64),
    Eye,
}

/// One fill: `fill` over `layout`, from a fresh generator seeded with `key` (deterministic
/// fills ignore it).
#[derive(Clone, Debug)]
pub struct Job {
    pub layout: Layout,
    pub fill: Fill,
    pub key: u64,
}

/// Elements of small jobs run between two Ctrl-C polls (a few milliseconds of work).
const GROUP_ELEMENTS: usize = 1 << 22;
/// Below this many elements in all, a group of small jobs runs on the calling thread.
const INLINE_MAX: usize = 1 << 14;

fn run(job: &Job, poll: Poll<'_>) -> Result<()> {
    let l = &job.layout;
    let g = Generator::new(job.key);
    match &job.fill {
        Fill::Sample(law) => nn::fill_law(l, law, &g, poll),
        Fill::Constant(v) => nn::constant_(l, *v, poll),
        Fill::Eye => nn::eye_(l, poll),
    }
}

/// Runs every check `job` would make, writing nothing: the fill over an empty view of the
/// same dtype (dtype checks; a [`Law`]'s parameters were checked when it was made), and the
/// shape checks of `eye_`.
fn check(job: &Job) -> Result<()> {
    if matches!(job.fill, Fill::Eye) {
        return structured::eye_ones(&job.layout.shape).map(|_| ());
    }
    let l = &job.layout;
    let empty = Layout::new(l.ptr, l.dtype, &[0], &[l.dtype.itemsize() as isize], None)?;
    let dry = Job {
        layout: empty,
        fill: job.fill,
        key: job.key,
    };
    run(&dry, &mut || false)
}

/// Fills every job. Large jobs run one after another, each parallel within (and polling for
/// Ctrl-C); the small ones, which a single thread fills, run in parallel across jobs, in
/// groups of about [`GROUP_ELEMENTS`] with a poll between groups. Jobs must not overlap in
/// memory.
pub fn fill_many(jobs: &[Job], poll: Poll<'_>) -> Result<()> {
    for j in jobs {
        check(j)?;
    }
    let (large, small): (Vec<&Job>, Vec<&Job>) =
        jobs.iter().partition(|j| j.layout.len >= PARALLEL_MIN);
    for j in large {
        run(j, poll)?;
    }
    let mut start = 0;
    while start < small.len() {
        let mut end = start;
        let mut n = 0;
        while end < small.len() && (end == start || n + small[end].layout.len <= GROUP_ELEMENTS) {
            n += small[end].layout.len;
            end += 1;
        }
        if poll() {
            return Err(crate::error::Error::Interrupted);
        }
        // A small job never polls (it finishes well within the poll interval). One job, or a
        // group too small to pay for waking the pool, runs on the calling thread.
        let group = &small[start..end];
        if group.len() == 1 || n < INLINE_MAX {
            group.iter().try_for_each(|j| run(j, &mut || false))?;
        } else {
            group.par_iter().try_for_each(|j| run(j, &mut || false))?;
        }
        start = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::fill::Poll;

    fn no_poll() -> impl FnMut() -> bool {
        || false
    }

    fn job(buf: &mut [f32], fill: Fill, key: u64) -> Job {
        let layout = Layout::contiguous(buf.as_mut_ptr() as *mut u8, DType::F32, &[buf.len()])
            .expect("layout");
        Job { layout, fill, key }
    }

    fn law(name: &str, params: &[f64]) -> Fill {
        Fill::Sample(Law::new(name, params).expect("law"))
    }

    use crate::buffer::element::DType;

    fn single(n: usize, law: Fill, key: u64) -> Vec<f32> {
        let mut v = vec![0f32; n];
        let j = job(&mut v, law, key);
        let mut p = no_poll();
        run(&j, &mut p as Poll<'_>).expect("fill");
        v
    }

    #[test]
    fn batch_equals_single_fills() {
        let laws = [
            (3, law("normal", &[1.0, 2.0]), 7),
            (PARALLEL_MIN + 5, law("uniform", &[-1.0, 3.0]), 9),
            (1000, law("trunc_normal", &[0.0, 1.0, -0.5, 2.0]), 11),
            (17, Fill::Constant(4.5), 0),
            (70_000, law("normal", &[0.0, 0.02]), 7),
        ];
        let mut bufs: Vec<Vec<f32>> = laws.iter().map(|&(n, _, _)| vec![0f32; n]).collect();
        let jobs: Vec<Job> = bufs
            .iter_mut()
            .zip(&laws)
            .map(|(b, &(_, law, key))| job(b, law, key))
            .collect();
        let mut p = no_poll();
        fill_many(&jobs, &mut p).expect("batch");
        for (b, &(n, law, key)) in bufs.iter().zip(&laws) {
            assert_eq!(b, &single(n, law, key));
        }
    }

    #[test]
    fn eye_in_a_batch() {
        let mut v = vec![7f32; 6];
        let layout = Layout::contiguous(v.as_mut_ptr() as *mut u8, DType::F32, &[2, 3]).unwrap();
        let jobs = [Job {
            layout,
            fill: Fill::Eye,
            key: 0,
        }];
        fill_many(&jobs, &mut no_poll()).unwrap();
        assert_eq!(v, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn a_bad_job_writes_nothing() {
        let mut good = vec![5f32; 8];
        let mut bad = vec![5f32; 8];
        let jobs = [
            job(&mut good, law("normal", &[0.0, 1.0]), 1),
            // (a law's parameters are checked when it is made; this fails the batch's check)
            job(&mut bad, Fill::Constant(1e300), 1),
        ];
        assert!(fill_many(&jobs, &mut no_poll()).is_err());
        assert!(good.iter().chain(&bad).all(|&x| x == 5.0));
        let mut m = vec![5f32; 8];
        let layout = Layout::contiguous(m.as_mut_ptr() as *mut u8, DType::F32, &[8]).unwrap();
        let jobs = [Job {
            layout,
            fill: Fill::Eye,
            key: 0,
        }];
        assert!(fill_many(&jobs, &mut no_poll()).is_err());
        assert!(m.iter().all(|&x| x == 5.0));
    }
}
