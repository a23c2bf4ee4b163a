//! gevent's `benchmarks/bench_sleep0.py`: `gevent.sleep(arg)` for arg in
//! 0, -1, 0.00001 and 0.001, N = 100 sleeps per inner loop, one greenlet
//! alone (nothing else runs). Values: ns per sleep for 0 and -1 (both
//! yield through the loop's callback queue), us per sleep for the timed
//! ones (a libev timer each).
//!
//! ```text
//! cargo bench -j1 --bench bench_sleep0
//! cargo bench -j1 --bench bench_sleep0 -- --only 0_001 --reps 3
//! ```
//!
//! Output: `name value unit  # min .. max n=R` (median of R timed reps,
//! after one untimed warm-up rep). Not ported: the `eventlet sleep(..)`
//! cases (no eventlet here) and `setswitchinterval(1000)` (Python's GIL
//! switch interval; a Rust thread has none).

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use gevent::sleep;

use common::{Runner, secs};

/// gevent's inner loop count.
const N: usize = 100;

/// Every case: `loops` x N calls of `sleep(arg)` in the main greenlet,
/// nothing else scheduled; seconds per sleep. `sleep(0)` and `sleep(-1)`
/// queue the greenlet's wake-up on the loop's callbacks and switch to the
/// hub; a positive `sleep` refreshes the loop's clock, starts a timer and
/// waits in the hub for it.
fn sleeps(loops: usize, arg: f64) -> f64 {
    let t0 = Instant::now();
    for _ in 0..loops {
        for _ in 0..N {
            sleep(arg).unwrap();
        }
    }
    secs(t0) / (loops * N) as f64
}

fn main() {
    let r = Runner::from_args();
    // (name, arg, inner loops per rep, unit, scale)
    let cases: [(&str, f64, usize, &str, f64); 4] = [
        ("bench_sleep0.gevent_sleep_0", 0.0, 1000, "ns", 1e9),
        ("bench_sleep0.gevent_sleep_minus1", -1.0, 1000, "ns", 1e9),
        ("bench_sleep0.gevent_sleep_1e_05", 0.00001, 20, "us", 1e6),
        ("bench_sleep0.gevent_sleep_0_001", 0.001, 1, "us", 1e6),
    ];
    for (name, arg, loops, unit, scale) in cases {
        let mut f = || sleeps(loops, arg) * scale;
        r.case(name, unit, &mut f);
    }
}
