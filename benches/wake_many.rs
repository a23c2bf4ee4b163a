//! Waking many waiters of one object: cost per woken waiter at 10k and
//! 100k waiters, which must stay flat (linear code), and the hub's
//! destruction with as many suspended greenlets.
//!
//! ```text
//! cargo bench --bench wake_many                    # 10k and 100k, 3 reps
//! cargo bench --bench wake_many -- --million       # plus 1M on one Event
//! ```
//!
//! Output: `name n value ns/waiter  # min .. max`, the median of the reps.

#[path = "../tests/common/wake_many.rs"]
mod scenarios;

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn report(name: &str, n: usize, reps: usize, f: &dyn Fn(usize) -> f64) {
    let per: Vec<f64> = (0..reps).map(|_| f(n) / n as f64 * 1e9).collect();
    let (med, lo, hi) = median(per);
    println!("{name:<22} {n:>8} {med:>9.1} ns/waiter  # min {lo:.1} max {hi:.1} n={reps}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let million = args.iter().any(|a| a == "--million");
    let reps = 3;
    for (name, f) in scenarios::SCENARIOS {
        for n in [10_000, 100_000] {
            report(name, n, reps, f);
        }
    }
    for n in [10_000, 100_000] {
        report("hub_destroy", n, reps, &scenarios::hub_destroy);
    }
    if million {
        let n = 1_000_000;
        let secs = scenarios::event_set(n);
        println!(
            "{:<22} {n:>8} {:>9.3} s from set() to all joined ({:.1} ns/waiter)",
            "event_set_1M",
            secs,
            secs / n as f64 * 1e9
        );
    }
}
