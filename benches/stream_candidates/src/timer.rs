//! Timing: thread CPU time for one-thread measurements (unaffected by other processes being
//! scheduled on the same core, as long as caches are not thrashed), wall time for multi-thread
//! ones. Every measurement is repeated; callers report the minimum and the median/minimum ratio
//! as a stability indicator.

use std::time::Instant;

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clk: i32, ts: *mut Timespec) -> i32;
}

const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

/// CPU seconds consumed by the calling thread.
pub fn thread_cpu() -> f64 {
    let mut t = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to a Timespec; Linux's clock id 3 is the thread CPU clock.
    unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Min and median of repeated timings.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub min: f64,
    pub median: f64,
}

impl Stats {
    pub fn from(mut v: Vec<f64>) -> Stats {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        Stats {
            min: v[0],
            median: v[v.len() / 2],
        }
    }
    /// median / min: 1.00 means quiet, larger means the machine was busy.
    pub fn spread(&self) -> f64 {
        self.median / self.min
    }
}

/// Runs `f` `reps` times, timing each run in thread CPU seconds.
pub fn cpu_reps(reps: usize, mut f: impl FnMut()) -> Stats {
    f(); // warm up (page faults, caches, frequency)
    Stats::from(
        (0..reps)
            .map(|_| {
                let t = thread_cpu();
                f();
                thread_cpu() - t
            })
            .collect(),
    )
}

/// Wall seconds of one run of `f`.
pub fn wall(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

/// The 1-minute load average (other agents share this machine).
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
