//! The tables printed by the commands (markdown, pasted into README.md).

use crate::bench::{self, rate, Plan};
use crate::gens::aes::Aes128;
use crate::gens::chacha::ChaCha;
use crate::gens::philox::{Layout512, Philox};
use crate::gens::{Buf, Gen, Lvl, Store};

const SEED: u64 = 0x5eed_0000_0000_0001;

fn levels() -> Vec<Lvl> {
    [Lvl::Avx2, Lvl::Avx512]
        .into_iter()
        .filter(|l| l.available())
        .collect()
}

/// Cache-resident raw words for one generator on every level (and scalar for reference).
fn gen_cached_rows<G: Gen>(plan: &Plan, g: &G) {
    let l1 = 4096; // 16 KiB
    let l2 = 65536; // 256 KiB
    let mut lv = levels();
    lv.insert(0, Lvl::Scalar);
    for lvl in lv {
        let mut p = *plan;
        if lvl == Lvl::Scalar {
            p.work /= 8;
            p.reps = p.reps.min(5);
        }
        let d1 = bench::raw_cached(&p, g, lvl, l1, Store::Direct);
        let b1 = bench::raw_cached(&p, g, lvl, l1, Store::Buffered);
        let d2 = bench::raw_cached(&p, g, lvl, l2, Store::Direct);
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            g.name(),
            lvl.name(),
            1e-9 / d1.min,
            1e-9 / b1.min,
            1e-9 / d2.min,
            d1.spread().max(b1.spread()).max(d2.spread()),
        );
    }
}

/// Raw words into the big array, 1 and 2 threads, plain and streaming stores, each beside a
/// plain fill of the same array measured right before it.
fn gen_big_rows<G: Gen>(plan: &Plan, g: &G, buf: &mut Buf<u32>, fbuf: &mut Buf<f32>) {
    for lvl in levels() {
        let r = plan.big_reps;
        let f2 = bench::value_big(fbuf, 2, r, false);
        let one = bench::raw_big(buf, g, lvl, 1, r, Store::Direct);
        let two = bench::raw_big(buf, g, lvl, 2, r, Store::Direct);
        let two_nt = bench::raw_big(buf, g, lvl, 2, r, Store::Streaming);
        let gbs = |s: f64| 4e-9 / s;
        // .1 = CPU-time based (the quiet-machine estimate), .0 = wall time.
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} |",
            g.name(),
            lvl.name(),
            gbs(one.1.min),
            gbs(two.1.min),
            gbs(two_nt.1.min),
            gbs(f2.1.min),
            f2.1.min / two.1.min,
            f2.1.min / two_nt.1.min,
            f2.0.min / two.0.min,
            one.1
                .spread()
                .max(two.1.spread())
                .max(two_nt.1.spread())
                .max(f2.1.spread()),
        );
    }
}

pub fn gens(plan: &Plan) {
    let philox7 = Philox::<7>::new(SEED, 0, Layout512::Lanes64);
    let philox10 = Philox::<10>::new(SEED, 0, Layout512::Lanes64);
    let philox7p = Philox::<7>::new(SEED, 0, Layout512::Packed);
    let philox10p = Philox::<10>::new(SEED, 0, Layout512::Packed);
    let chacha8 = ChaCha::<8>::new(SEED, 0);
    let chacha12 = ChaCha::<12>::new(SEED, 0);
    let aes = Aes128::new(SEED, 0);
    let mut aes_ymm = Aes128::new(SEED, 0);
    aes_ymm.ymm = true;

    println!(
        "\n## Raw 32-bit words, cache-resident, one thread (G words/s, thread CPU time, min of {})",
        plan.reps
    );
    println!("(spread = median / min over the repeats; 1.00 = quiet)\n");
    println!(
        "| generator | level | 16 KiB direct | 16 KiB via L1 buffer | 256 KiB direct | spread |"
    );
    println!("|---|---|---|---|---|---|");
    gen_cached_rows(plan, &philox10);
    gen_cached_rows(plan, &philox7);
    gen_cached_rows(plan, &philox10p);
    gen_cached_rows(plan, &philox7p);
    gen_cached_rows(plan, &chacha8);
    gen_cached_rows(plan, &chacha12);
    gen_cached_rows(plan, &aes);
    gen_cached_rows(plan, &aes_ymm);
    let fc = bench::value_cached(plan, 4096);
    println!(
        "| fill (plain stores) | - | {:.2} | | | {:.2} |",
        1e-9 / fc.min,
        fc.spread()
    );

    let n = plan.big;
    println!(
        "\n## Raw words into a 2^{} word array (GB/s, wall time, min of {})\n",
        n.trailing_zeros(),
        plan.big_reps
    );
    println!("(GB/s from the largest thread CPU time of the run: the quiet-machine estimate; the wall-time ratio is shown too)\n");
    println!("| generator | level | 1 thread | 2 threads | 2 threads, streaming stores | fill, 2 threads | 2T / fill | 2T streaming / fill | 2T / fill, wall time | spread |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut buf = Buf::<u32>::new(n);
    let mut fbuf = Buf::<f32>::new(n);
    buf.fill(1);
    fbuf.fill(1.0);
    gen_big_rows(plan, &philox10, &mut buf, &mut fbuf);
    gen_big_rows(plan, &philox7, &mut buf, &mut fbuf);
    gen_big_rows(plan, &chacha8, &mut buf, &mut fbuf);
    gen_big_rows(plan, &chacha12, &mut buf, &mut fbuf);
    gen_big_rows(plan, &aes, &mut buf, &mut fbuf);
    gen_big_rows(plan, &aes_ymm, &mut buf, &mut fbuf);
    let r = plan.big_reps;
    let f1 = bench::value_big(&mut fbuf, 1, r, false);
    let f2 = bench::value_big(&mut fbuf, 2, r, false);
    let f1nt = bench::value_big(&mut fbuf, 1, r, true);
    let f2nt = bench::value_big(&mut fbuf, 2, r, true);
    let (_, z) = bench::big(&mut fbuf, 2, 16, r, &|p: &mut [f32], _| {
        // SAFETY: zero bytes are a valid f32; this is libc's memset.
        unsafe { std::ptr::write_bytes(p.as_mut_ptr(), 0, p.len()) }
    });
    let gbs = |s: f64| 4e-9 / s;
    println!(
        "\nfill baselines (GB/s, CPU time / wall time): plain stores 1T {:.1} / {:.1}, 2T {:.1} / {:.1}; streaming 1T {:.1} / {:.1}, 2T {:.1} / {:.1}; memset(0) 2T {:.1}; spread {:.2}",
        gbs(f1.1.min),
        gbs(f1.0.min),
        gbs(f2.1.min),
        gbs(f2.0.min),
        gbs(f1nt.1.min),
        gbs(f1nt.0.min),
        gbs(f2nt.1.min),
        gbs(f2nt.0.min),
        gbs(z.min),
        f1.1.spread().max(f2.1.spread()).max(f1nt.1.spread()).max(f2nt.1.spread()),
    );
    let _ = rate;
}

/// The sampler cases measured, in table order.
macro_rules! for_samplers {
    ($f:ident, $($args:expr),*) => {{
        use crate::samplers::boxmuller::BoxMuller;
        use crate::samplers::icdf::{IcdfNormal, TruncKernel};
        use crate::samplers::uniform::Uniform;
        use crate::samplers::ziggurat::Ziggurat;
        $f($($args,)* "uniform_ a+(b-a)u", &Uniform::new(-0.3, 0.7, false));
        $f($($args,)* "uniform_ lerp", &Uniform::new(-0.3, 0.7, true));
        $f($($args,)* "normal_ Box-Muller", &BoxMuller::standard());
        $f($($args,)* "normal_ inverse CDF", &IcdfNormal::standard());
        $f($($args,)* "normal_ ziggurat", &Ziggurat::standard(SEED));
        let mut fast = Ziggurat::standard(SEED);
        fast.skip_rejections = true;
        $f($($args,)* "normal_ ziggurat fast path only (wrong law)", &fast);
        $f($($args,)* "trunc_normal_ std=1 [-2,2]", &TruncKernel::new(0.0, 1.0, -2.0, 2.0));
        $f($($args,)* "trunc_normal_ std=0.02 [-2,2]", &TruncKernel::new(0.0, 0.02, -2.0, 2.0));
        $f($($args,)* "trunc_normal_ std=1 [2,3]", &TruncKernel::new(0.0, 1.0, 2.0, 3.0));
        $f($($args,)* "trunc_normal_ std=1 [5,6]", &TruncKernel::new(0.0, 1.0, 5.0, 6.0));
    }};
}

/// One row of the cache-resident sampler table: G values/s per core at L2 size, each level.
/// `SC_FILTER=text`: only rows whose "sampler generator" contains the text.
fn selected(name: &str, g: &str) -> bool {
    std::env::var("SC_FILTER").map_or(true, |f| format!("{name} {g}").contains(&f))
}

fn sampler_cached<G: Gen, K: crate::gens::Kernel>(plan: &Plan, g: &G, name: &str, k: &K) {
    if !selected(name, g.name()) {
        return;
    }
    let len = 65536; // 256 KiB of float32
    let mut cells = Vec::new();
    let mut spread: f64 = 1.0;
    for lvl in levels() {
        let s = bench::fill_cached(plan, g, k, lvl, len);
        cells.push(format!("{:.2}", 1e-9 / s.min));
        spread = spread.max(s.spread());
    }
    println!(
        "| {name} | {} | {} | {spread:.2} |",
        g.name(),
        cells.join(" | ")
    );
}

/// One row of the big-array table: 2 threads, plain and streaming stores, against the plain
/// 2-thread fill measured right before it.
fn sampler_big<G: Gen, K: crate::gens::Kernel>(
    plan: &Plan,
    buf: &mut Buf<f32>,
    lvl: Lvl,
    g: &G,
    name: &str,
    k: &K,
) {
    if !selected(name, g.name()) {
        return;
    }
    let r = plan.big_reps;
    let f = bench::value_big(buf, 2, r, false);
    let plain = bench::fill_big(buf, g, k, lvl, 2, r, false);
    let nt = bench::fill_big(buf, g, k, lvl, 2, r, true);
    let gbs = |s: f64| 4e-9 / s;
    println!(
        "| {name} | {} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} |",
        g.name(),
        lvl.name(),
        gbs(plain.1.min),
        gbs(nt.1.min),
        gbs(f.1.min),
        f.1.min / plain.1.min,
        f.1.min / nt.1.min,
        f.0.min / plain.0.min.min(nt.0.min),
        f.1.spread().max(plain.1.spread()).max(nt.1.spread()),
    );
}

pub fn samplers(plan: &Plan) {
    let aes = Aes128::new(SEED, 0);
    let mut aes_ymm = Aes128::new(SEED, 0);
    aes_ymm.ymm = true;
    let philox7 = Philox::<7>::new(SEED, 0, Layout512::Lanes64);
    let philox10 = Philox::<10>::new(SEED, 0, Layout512::Lanes64);
    let chacha8 = ChaCha::<8>::new(SEED, 0);
    let names: Vec<&str> = levels().iter().map(|l| l.name()).collect();
    println!(
        "\n## Samplers, 256 KiB float32 buffer, one thread (G values/s, thread CPU time, min of {})\n",
        plan.reps
    );
    println!("| sampler | generator | {} | spread |", names.join(" | "));
    println!("|---|---|{}---|", "---|".repeat(names.len()));
    for_samplers!(sampler_cached, plan, &crate::gens::weyl::Weyl);
    for_samplers!(sampler_cached, plan, &aes);
    for_samplers!(sampler_cached, plan, &aes_ymm);
    for_samplers!(sampler_cached, plan, &philox7);
    for_samplers!(sampler_cached, plan, &philox10);
    for_samplers!(sampler_cached, plan, &chacha8);

    let n = plan.big;
    if std::env::var("SC_NO_BIG").is_ok() {
        return;
    }
    println!(
        "\n## Samplers into a 2^{} float32 array, 2 threads (GB/s, wall time, min of {}), against a plain 2-thread fill measured just before each row\n",
        n.trailing_zeros(),
        plan.big_reps
    );
    println!("(GB/s from the largest thread CPU time of the run: the quiet-machine estimate; the wall-time ratio, best store kind, is shown too)\n");
    println!("| sampler | generator | level | plain stores | streaming stores | fill | plain / fill | streaming / fill | best / fill, wall time | spread |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut buf = Buf::<f32>::new(n);
    buf.fill(1.0);
    let f = bench::value_big(&mut buf, 2, plan.big_reps, false);
    let fnt = bench::value_big(&mut buf, 2, plan.big_reps, true);
    println!(
        "fill at the start: plain stores {:.1} GB/s wall ({:.1} CPU), streaming {:.1} GB/s wall ({:.1} CPU)\n",
        4e-9 / f.0.min,
        4e-9 / f.1.min,
        4e-9 / fnt.0.min,
        4e-9 / fnt.1.min
    );
    if Lvl::Avx512.available() {
        for_samplers!(sampler_big, plan, &mut buf, Lvl::Avx512, &aes);
        for_samplers!(sampler_big, plan, &mut buf, Lvl::Avx512, &philox7);
    }
    for_samplers!(sampler_big, plan, &mut buf, Lvl::Avx2, &aes_ymm);
    for_samplers!(sampler_big, plan, &mut buf, Lvl::Avx2, &philox7);
}
