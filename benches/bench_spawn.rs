//! gevent's `benchmarks/bench_spawn.py`: spawning N = 10000 greenlets that
//! each increment a counter, with `gevent.spawn` (`gevent`), `spawn_raw`
//! (`geventraw`), an unlimited `Pool().spawn` (`geventpool`) and a plain
//! call (`none`). Every value is ns per greenlet.
//!
//! ```text
//! cargo bench -j1 --bench bench_spawn
//! cargo bench -j1 --bench bench_spawn -- --only geventraw --reps 9
//! ```
//!
//! Output: `name value unit  # min .. max n=R` (median of R timed reps of
//! [`LOOPS`] x N greenlets, after one untimed warm-up rep). The cases, as
//! gevent names them:
//!
//! - `<kind>_spawn`: only the N spawn calls are timed. (gevent never runs
//!   these greenlets during the measurement; here and in the Python twin
//!   they are run untimed after each batch, so memory stays bounded.)
//! - `<kind>_sleep`: after spawning N (untimed), the one `sleep(0)` that
//!   runs them all.
//! - `geventpool_join`: the same `sleep(0)`, in the run that also joins
//!   the pool afterwards. gevent's `join_time` sums the runs'
//!   `sleep_duration`, not their `join_duration` (a slip in the original),
//!   so that is what its number is and what is measured here too.
//! - `<kind>_spawn_kwarg`: `spawn(incr, foo=1, bar='hello')`; in Rust the
//!   closure captures the two values.
//!
//! Not ported: the `eventlet` cases (no eventlet here).

#[path = "common/mod.rs"]
mod common;

use std::cell::Cell;
use std::hint::black_box;
use std::time::Instant;

use gevent::pool::Pool;
use gevent::{sleep, spawn, spawn_raw};

use common::{Runner, secs};

/// gevent's greenlets per batch.
const N: usize = 10_000;
/// Batches per timed rep (pyperf calibrates this; fixed here).
const LOOPS: usize = 10;

thread_local! {
    /// gevent's global `counter`.
    static COUNTER: Cell<usize> = const { Cell::new(0) };
}

/// gevent's `incr(**_kwargs)`.
#[inline(never)]
fn incr() {
    COUNTER.with(|c| c.set(c.get() + 1));
}

/// `incr` as a greenlet body.
fn incr_ok() -> gevent::Result<()> {
    incr();
    Ok(())
}

/// `incr(foo=1, bar='hello')`: the arguments are used, then dropped.
#[inline(never)]
fn incr_kw(kw_foo: i32, kw_bar: &'static str) {
    black_box((kw_foo, kw_bar));
    incr();
}

/// The counter's value.
fn counter() -> usize {
    COUNTER.with(Cell::get)
}

/// What a case times: gevent's `Times`, summed over the batches.
#[derive(Default)]
struct Times {
    spawn: f64,
    sleep: f64,
}

/// gevent's `test`: [`LOOPS`] batches of `_test`: N calls of `spawn`
/// (timed), then, with `do_sleep`, one `sleep(0)` that runs them
/// (timed), then `pool.join()` if given (untimed: see the module doc).
/// Without `do_sleep` the batch is run untimed afterwards.
fn batches(spawn: &mut dyn FnMut(), do_sleep: bool, join: Option<&Pool>, scheduled: bool) -> Times {
    let mut t = Times::default();
    for _ in 0..LOOPS {
        COUNTER.with(|c| c.set(0));
        let t0 = Instant::now();
        for _ in 0..N {
            spawn();
        }
        t.spawn += secs(t0);
        if do_sleep {
            assert_eq!(counter(), 0);
            let t1 = Instant::now();
            sleep(0.0).unwrap();
            t.sleep += secs(t1);
            assert_eq!(counter(), N);
        } else if scheduled {
            sleep(0.0).unwrap();
            assert_eq!(counter(), N);
        }
        if let Some(p) = join {
            p.join().unwrap();
        }
    }
    t
}

/// ns per greenlet from a sum over [`LOOPS`] x N.
fn per(secs: f64) -> f64 {
    secs / (LOOPS * N) as f64 * 1e9
}

/// `none spawn`: N plain calls of `incr()`.
fn none_spawn() -> f64 {
    per(batches(&mut || black_box(incr as fn())(), false, None, false).spawn)
}

/// `none spawn kwarg`: N plain calls of `incr(foo=1, bar='hello')`.
fn none_spawn_kwarg() -> f64 {
    let (kw_foo, kw_bar) = (1, "hello");
    per(batches(
        &mut || black_box(incr_kw as fn(_, _))(kw_foo, kw_bar),
        false,
        None,
        false,
    )
    .spawn)
}

/// `gevent spawn`: N `gevent::spawn(incr)` (the `Greenlet` handle is
/// dropped at once, as gevent's result is).
fn gevent_spawn() -> f64 {
    let mut s = || drop(spawn(incr_ok));
    per(batches(&mut s, false, None, true).spawn)
}

/// `gevent sleep`: the `sleep(0)` that runs N greenlets from `spawn`.
fn gevent_sleep() -> f64 {
    let mut s = || drop(spawn(incr_ok));
    per(batches(&mut s, true, None, true).sleep)
}

/// `gevent spawn kwarg`: N `spawn` of a closure capturing `foo=1` and
/// `bar="hello"`.
fn gevent_spawn_kwarg() -> f64 {
    let (kw_foo, kw_bar) = (1, "hello");
    let mut s = || {
        drop(spawn(move || {
            incr_kw(kw_foo, kw_bar);
            Ok(())
        }))
    };
    per(batches(&mut s, false, None, true).spawn)
}

/// `geventraw spawn`: N `gevent::spawn_raw(incr)`.
fn geventraw_spawn() -> f64 {
    let mut s = || drop(spawn_raw(incr));
    per(batches(&mut s, false, None, true).spawn)
}

/// `geventraw sleep`: the `sleep(0)` that runs N `spawn_raw` greenlets.
fn geventraw_sleep() -> f64 {
    let mut s = || drop(spawn_raw(incr));
    per(batches(&mut s, true, None, true).sleep)
}

/// `geventraw spawn kwarg`: N `spawn_raw` of the capturing closure.
fn geventraw_spawn_kwarg() -> f64 {
    let (kw_foo, kw_bar) = (1, "hello");
    let mut s = || drop(spawn_raw(move || incr_kw(kw_foo, kw_bar)));
    per(batches(&mut s, false, None, true).spawn)
}

/// `geventpool spawn`: N `Pool::spawn(incr)` on one unlimited pool
/// (gevent's `Pool()`), made once per rep.
fn geventpool_spawn() -> f64 {
    let p = Pool::unlimited();
    let mut s = || drop(p.spawn(incr_ok).unwrap());
    per(batches(&mut s, false, None, true).spawn)
}

/// `geventpool sleep`: the `sleep(0)` that runs N pool members.
fn geventpool_sleep() -> f64 {
    let p = Pool::unlimited();
    let mut s = || drop(p.spawn(incr_ok).unwrap());
    per(batches(&mut s, true, None, true).sleep)
}

/// `geventpool join`: the `sleep(0)` that runs N pool members, in runs
/// that then `join()` the pool (gevent reports the sleep; see the module
/// doc).
fn geventpool_join() -> f64 {
    let p = Pool::unlimited();
    let q = p.clone();
    let mut s = || drop(q.spawn(incr_ok).unwrap());
    per(batches(&mut s, true, Some(&p), true).sleep)
}

/// `geventpool spawn kwarg`: N `Pool::spawn` of the capturing closure.
fn geventpool_spawn_kwarg() -> f64 {
    let p = Pool::unlimited();
    let (kw_foo, kw_bar) = (1, "hello");
    let mut s = || {
        drop(
            p.spawn(move || {
                incr_kw(kw_foo, kw_bar);
                Ok(())
            })
            .unwrap(),
        )
    };
    per(batches(&mut s, false, None, true).spawn)
}

fn main() {
    let r = Runner::from_args();
    // gevent's order: sorted kinds, then the pool's join, then the kwargs.
    r.case("bench_spawn.gevent_spawn", "ns", &mut gevent_spawn);
    r.case("bench_spawn.gevent_sleep", "ns", &mut gevent_sleep);
    r.case("bench_spawn.geventpool_spawn", "ns", &mut geventpool_spawn);
    r.case("bench_spawn.geventpool_sleep", "ns", &mut geventpool_sleep);
    r.case("bench_spawn.geventraw_spawn", "ns", &mut geventraw_spawn);
    r.case("bench_spawn.geventraw_sleep", "ns", &mut geventraw_sleep);
    r.case("bench_spawn.none_spawn", "ns", &mut none_spawn);
    r.case("bench_spawn.geventpool_join", "ns", &mut geventpool_join);
    r.case(
        "bench_spawn.gevent_spawn_kwarg",
        "ns",
        &mut gevent_spawn_kwarg,
    );
    r.case(
        "bench_spawn.geventpool_spawn_kwarg",
        "ns",
        &mut geventpool_spawn_kwarg,
    );
    r.case(
        "bench_spawn.geventraw_spawn_kwarg",
        "ns",
        &mut geventraw_spawn_kwarg,
    );
    r.case("bench_spawn.none_spawn_kwarg", "ns", &mut none_spawn_kwarg);
}
