//! Waking N waiters of one object costs O(N) in all, not O(N²): the cost
//! per waiter at 8N must stay near the cost at N (a quadratic wake-up makes
//! it ~8x). The ratio is taken in one run on the same machine, the best of
//! three reps each, with a wide margin for a noisy 2-core machine. The
//! figures themselves are `cargo bench --bench wake_many`.

mod common;

use common::wake_many::{SCENARIOS, hub_destroy};

/// (Scaled down under valgrind, which checks memory here, not time.)
fn n() -> usize {
    common::scaled(1_500)
}
const MAX_RATIO: f64 = 3.0;

fn best_per_waiter(f: &dyn Fn(usize) -> f64, n: usize) -> f64 {
    (0..3)
        .map(|_| f(n) / n as f64)
        .fold(f64::INFINITY, f64::min)
}

fn assert_linear(name: &str, f: &dyn Fn(usize) -> f64) {
    assert_linear_at(name, f, n(), 8);
}

fn assert_linear_at(name: &str, f: &dyn Fn(usize) -> f64, n: usize, factor: usize) {
    let _d = common::deadline("wake_scaling", 60.0);
    // Warm the stack pool so both sizes reuse stacks.
    f(factor * n);
    let small = best_per_waiter(f, n);
    let large = best_per_waiter(f, factor * n);
    let ratio = large / small;
    if common::slow_run() {
        // Under valgrind the figures say nothing about the crate (its own
        // cost per switch grows with the number of registered stacks).
        return;
    }
    assert!(
        ratio < MAX_RATIO,
        "{name}: {:.0} ns/waiter at {n}, {:.0} ns/waiter at {}: ratio {ratio:.1} (quadratic?)",
        small * 1e9,
        large * 1e9,
        factor * n
    );
}

#[test]
fn wake_many_waiters_is_linear() {
    for (name, f) in SCENARIOS {
        assert_linear(name, f);
    }
}

#[test]
fn hub_destroy_with_many_suspended_greenlets_is_linear() {
    // Unwinding dominates at small sizes: compare over a wider range.
    assert_linear_at("hub_destroy", &hub_destroy, common::scaled(1_000), 24);
}
