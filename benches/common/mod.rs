//! What the ports of gevent's `benchmarks/` share: the command line
//! (`--reps N`, `--only SUBSTR`, `--list`) and the output of
//! `gevent_bench.rs`, one line per case:
//!
//! ```text
//! name value unit  # min .. max n=R
//! ```
//!
//! `value` is the median of R timed reps, after one untimed warm-up rep;
//! the first three whitespace-separated fields are the machine-readable
//! part. `benches/py/gevent_micro.py` prints the same lines for gevent.

// Each bench includes this file as a module and uses part of it.
#![allow(dead_code)]

use std::time::Instant;

/// The parsed command line and the filter it sets.
pub struct Runner {
    reps: usize,
    only: Option<String>,
    list: bool,
}

impl Runner {
    /// Reads `--reps N` (default 5), `--only SUBSTR` and `--list` from
    /// the command line (cargo's own `--bench` argument is ignored), and
    /// prints the `#` header line unless listing.
    pub fn from_args() -> Runner {
        let args: Vec<String> = std::env::args().collect();
        let value = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .map(|i| args.get(i + 1).cloned().expect("a value after the flag"))
        };
        let reps = value("--reps").map_or(5, |v| v.parse().expect("--reps N"));
        assert!(reps > 0, "--reps must be at least 1");
        let r = Runner {
            reps,
            only: value("--only"),
            list: args.iter().any(|a| a == "--list"),
        };
        if !r.list {
            println!(
                "# gevent crate {} libev {} backend {}",
                env!("CARGO_PKG_VERSION"),
                gevent::core::get_version(),
                gevent::get_hub().loop_().backend()
            );
        }
        r
    }

    /// True when `name` passes `--only` (and cases should run, not just
    /// be listed).
    pub fn wants(&self, name: &str) -> bool {
        self.only.as_ref().is_none_or(|o| name.contains(o.as_str()))
    }

    /// Runs `f` once untimed, then `--reps` times, and prints the median
    /// of what it returned; `f` returns the value already in `unit`. With
    /// `--list`, prints `name unit` and runs nothing.
    pub fn case(&self, name: &str, unit: &str, f: &mut dyn FnMut() -> f64) {
        if !self.wants(name) {
            return;
        }
        if self.list {
            println!("{name} {unit}");
            return;
        }
        f(); // warm-up
        let v: Vec<f64> = (0..self.reps).map(|_| f()).collect();
        print_line(name, unit, v);
    }
}

/// Prints one result line from the timed values.
pub fn print_line(name: &str, unit: &str, mut v: Vec<f64>) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{name:<44} {} {unit}  # min {} max {} n={}",
        fmt(v[v.len() / 2]),
        fmt(v[0]),
        fmt(v[v.len() - 1]),
        v.len()
    );
}

/// gevent_bench.rs's number format: 3 significant-ish digits.
pub fn fmt(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// Seconds since `t0`.
pub fn secs(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64()
}

/// Which of a pool's mapping functions a `bench_pool` / `bench_threadpool`
/// case runs.
#[derive(Clone, Copy)]
pub enum Kind {
    Map,
    Imap,
    ImapUnordered,
}

/// The mapping cases of gevent's `bench_pool.py` and `bench_threadpool.py`,
/// in their order: name, function, and whether the pool is parallel.
pub const MAPS: [(&str, Kind, bool); 6] = [
    ("imap_unordered_seq", Kind::ImapUnordered, false),
    ("imap_unordered_par", Kind::ImapUnordered, true),
    ("imap_seq", Kind::Imap, false),
    ("imap_par", Kind::Imap, true),
    ("map_seq", Kind::Map, false),
    ("map_par", Kind::Map, true),
];
