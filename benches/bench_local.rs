//! gevent's `benchmarks/bench_local.py`: reading and writing ten
//! attributes of a greenlet-local object (`gevent.local.local`) and of a
//! thread-local one (`threading.local`), from the main greenlet. gevent's
//! inner loop is the ten accesses; every value is ns per access.
//!
//! ```text
//! cargo bench -j1 --bench bench_local
//! cargo bench -j1 --bench bench_local -- --only gevent --reps 9
//! ```
//!
//! Output: `name value unit  # min .. max n=R` (median of R timed reps of
//! [`LOOPS`] x 10 accesses, after one untimed warm-up rep).
//!
//! A gevent `local` with attributes `attr0`..`attr9` is here a
//! `Local<Attrs>` (ten `Cell`s, the crate's documented translation); an
//! attribute access is one `Local::with` reaching the running greenlet's
//! value. `threading.local` is std's `thread_local!` with the same
//! struct. Not ported: the `gevent sub` and `native sub` cases
//! (subclasses of the local classes; Rust has no subclassing, a wrapper
//! type would be the same code).

#[path = "common/mod.rs"]
mod common;

use std::cell::Cell;
use std::hint::black_box;
use std::time::Instant;

use gevent::local::Local;

use common::{Runner, secs};

/// Calls of the ten-access body per timed rep (pyperf calibrates this).
const LOOPS: usize = 100_000;

/// The ten attributes, `attr0`..`attr9`.
#[derive(Default)]
struct Attrs([Cell<i64>; 10]);

thread_local! {
    /// The `threading.local()` object.
    static NATIVE: Attrs = Attrs::default();
}

/// gevent's `_populate`: `attrN = N`.
fn populate(set: &dyn Fn(usize, i64)) {
    for i in 0..10 {
        set(i, i as i64);
    }
}

/// [`LOOPS`] x (`local.attr0` .. `local.attr9`), each read through
/// `get`: ns per access.
fn getattr(get: &dyn Fn(usize) -> i64) -> f64 {
    let t0 = Instant::now();
    for _ in 0..LOOPS {
        for i in 0..10 {
            black_box(get(black_box(i)));
        }
    }
    secs(t0) / (LOOPS * 10) as f64 * 1e9
}

/// [`LOOPS`] x (`local.attr0 = 0` .. `local.attr9 = 9`): ns per access.
fn setattr(set: &dyn Fn(usize, i64)) -> f64 {
    let t0 = Instant::now();
    for _ in 0..LOOPS {
        for i in 0..10 {
            set(black_box(i), i as i64);
        }
    }
    secs(t0) / (LOOPS * 10) as f64 * 1e9
}

fn main() {
    let r = Runner::from_args();
    let glocal: Local<Attrs> = Local::new(Attrs::default);
    let gget = |i: usize| glocal.with(|a| a.0[i].get());
    let gset = |i: usize, v: i64| glocal.with(|a| a.0[i].set(v));
    let nget = |i: usize| NATIVE.with(|a| a.0[i].get());
    let nset = |i: usize, v: i64| NATIVE.with(|a| a.0[i].set(v));
    populate(&gset);
    populate(&nset);
    r.case("bench_local.getattr_gevent", "ns", &mut || getattr(&gget));
    r.case("bench_local.setattr_gevent", "ns", &mut || setattr(&gset));
    r.case("bench_local.getattr_native", "ns", &mut || getattr(&nget));
    r.case("bench_local.setattr_native", "ns", &mut || setattr(&nset));
    assert_eq!(gget(9), 9);
}
