//! stream_candidates: measures candidate counter-based generators and float32 normal samplers
//! for ferroinit's 0.3 stream on the machine it runs on. See README.md.
//!
//!   cargo run --release -- kat        known-answer tests, levels == scalar
//!   cargo run --release -- gens       raw words/s (cache-resident and 2^27, 1 and 2 threads)
//!   cargo run --release -- samplers   uniform_/normal_/trunc_normal_ values/s and ratios
//!   cargo run --release -- accuracy   errors against float64, tail reach, KS, bitwise levels
//!   cargo run --release -- all
//! `--quick` shrinks every measurement (for a smoke test).

mod accuracy;
mod bench;
mod gens;
mod kat;
mod reference;
mod report;
mod samplers;
mod simd;
mod timer;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let plan = if quick {
        bench::Plan::quick()
    } else {
        bench::Plan::full()
    };
    let what: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(|s| s.as_str())
        .collect();
    let what = if what.is_empty() { vec!["all"] } else { what };
    println!(
        "# stream_candidates ({}), load average {}",
        if quick { "quick" } else { "full" },
        timer::loadavg()
    );
    for w in what {
        match w {
            "kat" => {
                if kat::run() != 0 {
                    std::process::exit(1);
                }
            }
            "gens" => report::gens(&plan),
            "samplers" => report::samplers(&plan),
            "accuracy" => {
                let n = if quick { 1_000_000 } else { 10_000_000 };
                if accuracy::run(n) != 0 {
                    std::process::exit(1);
                }
            }
            "all" => {
                if kat::run() != 0 {
                    std::process::exit(1);
                }
                report::gens(&plan);
                report::samplers(&plan);
                if accuracy::run(10_000_000) != 0 {
                    std::process::exit(1);
                }
            }
            other => {
                eprintln!("unknown command {other}");
                std::process::exit(2);
            }
        }
    }
    println!("# done, load average {}", timer::loadavg());
}
