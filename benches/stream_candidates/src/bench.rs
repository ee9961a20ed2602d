//! Throughput measurements: raw generator words and sampler values, into a cache-resident
//! buffer (one thread, thread CPU time) and into a large array (1 and 2 threads, wall time,
//! side by side with a plain fill of the same array in the same run).

use crate::gens::{fill, fill_value, raw, Buf, Gen, Kernel, Lvl, Store};
use crate::timer::{cpu_reps, wall, Stats};

/// Knobs shared by all measurements (`--quick` shrinks them).
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Words written per cache-resident repeat (the buffer is rewritten until this many).
    pub work: usize,
    pub reps: usize,
    /// Elements of the large array.
    pub big: usize,
    pub big_reps: usize,
}

impl Plan {
    pub fn full() -> Plan {
        Plan {
            work: 1 << 23,
            reps: 21,
            big: 1 << 27,
            // SC_BIG_REPS: more repeats catch quieter moments on a shared machine.
            big_reps: std::env::var("SC_BIG_REPS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(7),
        }
    }
    pub fn quick() -> Plan {
        Plan {
            work: 1 << 21,
            reps: 7,
            big: 1 << 25,
            big_reps: 3,
        }
    }
}

/// Giga-items per second from a count and seconds.
pub fn rate(n: usize, s: f64) -> f64 {
    n as f64 / s * 1e-9
}

/// `f(buffer)` rewriting a cache-resident buffer of `len` elements until `plan.work` elements.
pub fn cached<T: Copy + Default>(
    plan: &Plan,
    len: usize,
    mut f: impl FnMut(&mut [T], u64),
) -> Stats {
    let mut buf = Buf::<T>::new(len);
    let passes = plan.work.div_ceil(len);
    let mut first = 0u64;
    let s = cpu_reps(plan.reps, || {
        for _ in 0..passes {
            f(&mut buf, first);
            std::hint::black_box(&mut buf[..]);
            first = first.wrapping_add(1 << 20);
        }
    });
    Stats {
        min: s.min / (passes * len) as f64,
        median: s.median / (passes * len) as f64,
    }
}

/// Seconds per element of `f` over a big array split into `threads` contiguous parts (each a
/// multiple of `align` elements), one thread each: `.0` from wall time, `.1` from the largest
/// thread CPU time among the threads. On a shared machine the wall time also counts the time
/// other processes held our cores; the CPU time counts only our own execution, memory stalls
/// included, so it estimates the quiet-machine figure (when the other processes do not also
/// saturate memory bandwidth).
pub fn big<T: Copy + Send + Sync + Default>(
    buf: &mut Buf<T>,
    threads: usize,
    align: usize,
    reps: usize,
    f: &(impl Fn(&mut [T], usize) + Sync),
) -> (Stats, Stats) {
    let n = buf.len();
    let part = (n / threads) / align * align;
    let mut run = || {
        let mut cpu = 0f64;
        let w = wall(|| {
            std::thread::scope(|s| {
                let mut rest: &mut [T] = &mut buf[..];
                let mut off = 0usize;
                let mut handles = Vec::new();
                for t in 0..threads {
                    let take = if t + 1 == threads { rest.len() } else { part };
                    let (mine, r) = rest.split_at_mut(take);
                    rest = r;
                    let start = off;
                    off += take;
                    handles.push(s.spawn(move || {
                        let t0 = crate::timer::thread_cpu();
                        f(mine, start);
                        crate::timer::thread_cpu() - t0
                    }));
                }
                for h in handles {
                    cpu = cpu.max(h.join().unwrap());
                }
            })
        });
        (w, cpu)
    };
    run();
    let v: Vec<(f64, f64)> = (0..reps).map(|_| run()).collect();
    (
        Stats::from(v.iter().map(|x| x.0 / n as f64).collect()),
        Stats::from(v.iter().map(|x| x.1 / n as f64).collect()),
    )
}

/// One line of the cache-resident table for a generator's raw words.
pub fn raw_cached<G: Gen>(plan: &Plan, g: &G, lvl: Lvl, len: usize, s: Store) -> Stats {
    cached::<u32>(plan, len, |b, first| raw(lvl, g, first, b, s))
}

/// Raw words into the big array with `threads` threads.
pub fn raw_big<G: Gen>(
    buf: &mut Buf<u32>,
    g: &G,
    lvl: Lvl,
    threads: usize,
    reps: usize,
    s: Store,
) -> (Stats, Stats) {
    big(
        buf,
        threads,
        G::WORDS,
        reps,
        &|part: &mut [u32], start: usize| raw(lvl, g, (start / G::WORDS) as u64, part, s),
    )
}

/// A sampler into a cache-resident float32 buffer.
pub fn fill_cached<G: Gen, K: Kernel>(plan: &Plan, g: &G, k: &K, lvl: Lvl, len: usize) -> Stats {
    cached::<f32>(plan, len, |b, first| fill(lvl, g, k, first, b, false))
}

/// A sampler into the big float32 array.
pub fn fill_big<G: Gen, K: Kernel>(
    buf: &mut Buf<f32>,
    g: &G,
    k: &K,
    lvl: Lvl,
    threads: usize,
    reps: usize,
    nt: bool,
) -> (Stats, Stats) {
    big(
        buf,
        threads,
        G::WORDS,
        reps,
        &|part: &mut [f32], start: usize| fill(lvl, g, k, (start / G::WORDS) as u64, part, nt),
    )
}

/// The plain fill of the big array (plain stores or non-temporal).
pub fn value_big(buf: &mut Buf<f32>, threads: usize, reps: usize, nt: bool) -> (Stats, Stats) {
    big(buf, threads, 16, reps, &|part: &mut [f32], _| {
        fill_value(part, 1.5, nt)
    })
}

/// A plain fill into the cache-resident buffer (the in-cache ceiling).
pub fn value_cached(plan: &Plan, len: usize) -> Stats {
    cached::<f32>(plan, len, |b, _| fill_value(b, 1.5, false))
}
