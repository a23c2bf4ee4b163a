//! gevent's `benchmarks/micro_*.sh` (`pyperf timeit` one-liners) and the
//! gevent ones of `micro.sh`, which runs them: `run_callback`, greenlet
//! `link` + `join`, `Semaphore` release / ping-pong through `spawn_raw`,
//! `sleep`, plus `get_hub`, `getcurrent`, `spawn`, `spawn().join()`,
//! 10000 x `spawn` + `wait()`, `spawn_raw`.
//!
//! ```text
//! cargo bench -j1 --bench bench_micro
//! cargo bench -j1 --bench bench_micro -- --only link --reps 9
//! cargo bench -j1 --bench bench_micro -- --list
//! ```
//!
//! Output: `name value unit  # min .. max n=R` (median of R timed reps,
//! after one untimed warm-up rep). `timeit` reports per statement; a
//! statement that repeats an operation K times is reported here per
//! operation (the unit says which: `ns/callback`, `ns/link`, ...).
//!
//! `timeit` runs the statement in a loop with the setup done once, so
//! what a statement leaves behind piles up (scheduled greenlets and
//! callbacks, links). The same happens here within a rep, in batches of
//! bounded size; what piled up is run (untimed) after each batch so
//! memory stays bounded. Names: what the script is about (`run_callback`,
//! `greenlet_link`, `semaphore`, `sleep`, or `micro.sh`'s call), the
//! statement's repeat count, and `_wait` / `_join` when the statement ends
//! with one. Not ported: `micro.sh`'s `obj.x` (a Python attribute read, no
//! gevent).

#[path = "common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Instant;

use gevent::lock::Semaphore;
use gevent::{get_hub, getcurrent, sleep, spawn, spawn_raw, wait_loop};

use common::{Runner, secs};

/// `timeit`'s loop for one rep: `batches` x (`stmts` x `stmt()`, timed,
/// then `flush()`, untimed); ns per operation when each statement does
/// `ops` of them.
fn timeit(
    batches: usize,
    stmts: usize,
    ops: usize,
    stmt: &mut dyn FnMut(),
    flush: &mut dyn FnMut(),
) -> f64 {
    let mut total = 0.0;
    for _ in 0..batches {
        let t0 = Instant::now();
        for _ in 0..stmts {
            stmt();
        }
        total += secs(t0);
        flush();
    }
    total / (batches * stmts * ops) as f64 * 1e9
}

/// Nothing to run after a batch.
fn nothing() {}

/// Runs what a batch scheduled (gevent's `wait()`: the loop until idle).
fn run_loop() {
    wait_loop().unwrap();
}

/// gevent's `f = lambda: 5`, as a greenlet body.
fn five() -> gevent::Result<i32> {
    Ok(black_box(5))
}

// ------------------------------------------------------------ micro.sh

/// `get_hub()`: ns per call.
fn get_hub_call() -> f64 {
    timeit(
        1,
        1_000_000,
        1,
        &mut || drop(black_box(get_hub())),
        &mut nothing,
    )
}

/// `getcurrent()`: ns per call.
fn getcurrent_call() -> f64 {
    timeit(
        1,
        1_000_000,
        1,
        &mut || drop(black_box(getcurrent())),
        &mut nothing,
    )
}

/// `spawn(f)`: ns per spawn (the greenlets run after each batch).
fn spawn_call() -> f64 {
    timeit(10, 10_000, 1, &mut || drop(spawn(five)), &mut run_loop)
}

/// `spawn(f).join()`: ns per spawn + join.
fn spawn_join() -> f64 {
    timeit(
        1,
        50_000,
        1,
        &mut || spawn(five).join().unwrap(),
        &mut nothing,
    )
}

/// `for _ in xrange(10000): spawn(f)` then `wait()`: ns per greenlet.
fn spawn_10000_wait() -> f64 {
    let mut stmt = || {
        for _ in 0..10_000 {
            drop(spawn(five));
        }
        wait_loop().unwrap();
    };
    timeit(1, 10, 10_000, &mut stmt, &mut nothing)
}

/// `spawn_raw(f)`: ns per spawn (the greenlets run after each batch).
fn spawn_raw_call() -> f64 {
    let mut stmt = || {
        drop(spawn_raw(|| {
            black_box(5);
        }))
    };
    timeit(10, 10_000, 1, &mut stmt, &mut run_loop)
}

// ------------------------------------------------------------ micro_run_callback.sh

/// Callbacks scheduled per rep of a `run_callback` case.
const CALLBACKS: usize = 50_000;

/// `for _ in xrange(k): run_cb(f)` (`run_cb = get_hub().loop.run_callback`),
/// then `wait()` if `then_wait` (otherwise the callbacks pile up until the
/// batch ends): ns per callback.
fn run_callback(k: usize, then_wait: bool) -> f64 {
    let hub = get_hub();
    let lp = hub.loop_();
    let mut stmt = || {
        for _ in 0..k {
            lp.run_callback(|| {
                black_box(5);
            })
            .unwrap();
        }
        if then_wait {
            wait_loop().unwrap();
        }
    };
    timeit(1, CALLBACKS / k, k, &mut stmt, &mut run_loop)
}

// ------------------------------------------------------------ micro_greenlet_link.sh

/// Links made per rep of a `link` case (at least one statement).
const LINKS: usize = 50_000;

/// `for _ in xrange(1000): g.link(l)` on `g = spawn(lambda: 5)`, which
/// never runs while timed (`timeit` never yields): ns per link. The
/// links pile up on the one greenlet of the rep, which runs (with them)
/// at the end.
fn link_1000() -> f64 {
    let g = spawn(five);
    let mut stmt = || {
        for _ in 0..1000 {
            g.link(|_| {
                black_box(5);
            });
        }
    };
    let v = timeit(1, LINKS / 1000, 1000, &mut stmt, &mut run_loop);
    assert!(g.dead());
    v
}

/// `for _ in xrange(k): g.link(l)` then `g.join()`. As under `timeit`,
/// the first statement (untimed here, pyperf's warm-up there) runs `g`
/// and its links; in the timed ones `g` is dead, so `link` schedules
/// the links to run and `join` returns at once; they run after the
/// batch. ns per link.
fn link_join(k: usize) -> f64 {
    let g = spawn(five);
    let mut stmt = || {
        for _ in 0..k {
            g.link(|_| {
                black_box(5);
            });
        }
        g.join().unwrap();
    };
    stmt();
    run_loop();
    timeit(1, (LINKS / k).max(1), k, &mut stmt, &mut run_loop)
}

// ------------------------------------------------------------ micro_semaphore.sh

/// `s.release()` on `s = Semaphore()` (its counter only grows): ns per
/// release.
fn semaphore_release() -> f64 {
    let s = Semaphore::new(1).unwrap();
    timeit(
        1,
        1_000_000,
        1,
        &mut || {
            s.release().unwrap();
        },
        &mut nothing,
    )
}

/// `k` x `spawn_raw(s.release)` then `k` x `s.acquire()` on
/// `s = Semaphore(0)`: each acquire waits for a raw greenlet to release.
/// ns per release/acquire pair.
fn semaphore_spawn_raw(k: usize) -> f64 {
    let s = Semaphore::new(0).unwrap();
    let mut stmt = || {
        for _ in 0..k {
            let s = s.clone();
            spawn_raw(move || {
                s.release().unwrap();
            });
        }
        for _ in 0..k {
            s.acquire().unwrap();
        }
    };
    timeit(1, 100_000 / k, k, &mut stmt, &mut nothing)
}

// ------------------------------------------------------------ micro_sleep.sh

/// `sleep(secs)`, `n` times: ns per sleep.
fn sleep_n(secs: f64, n: usize) -> f64 {
    timeit(1, n, 1, &mut || sleep(secs).unwrap(), &mut nothing)
}

fn main() {
    let r = Runner::from_args();
    r.case("bench_micro.get_hub", "ns/call", &mut get_hub_call);
    r.case("bench_micro.getcurrent", "ns/call", &mut getcurrent_call);
    r.case("bench_micro.spawn", "ns/greenlet", &mut spawn_call);
    r.case("bench_micro.spawn_join", "ns/greenlet", &mut spawn_join);
    r.case(
        "bench_micro.spawn_10000_wait",
        "ns/greenlet",
        &mut spawn_10000_wait,
    );
    r.case("bench_micro.spawn_raw", "ns/greenlet", &mut spawn_raw_call);
    for k in [1, 100, 10_000] {
        r.case(
            &format!("bench_micro.run_callback_{k}"),
            "ns/callback",
            &mut || run_callback(k, false),
        );
        r.case(
            &format!("bench_micro.run_callback_{k}_wait"),
            "ns/callback",
            &mut || run_callback(k, true),
        );
    }
    r.case("bench_micro.greenlet_link_1000", "ns/link", &mut link_1000);
    for k in [10, 100, 1000, 10_000, 100_000] {
        r.case(
            &format!("bench_micro.greenlet_link_{k}_join"),
            "ns/link",
            &mut || link_join(k),
        );
    }
    r.case(
        "bench_micro.semaphore_release",
        "ns/release",
        &mut semaphore_release,
    );
    r.case(
        "bench_micro.semaphore_spawn_raw_release_acquire",
        "ns/pair",
        &mut || semaphore_spawn_raw(1),
    );
    r.case(
        "bench_micro.semaphore_spawn_raw_release_acquire_x4",
        "ns/pair",
        &mut || semaphore_spawn_raw(4),
    );
    r.case("bench_micro.sleep_0", "ns/sleep", &mut || {
        sleep_n(0.0, 100_000)
    });
    r.case("bench_micro.sleep_1e_05", "us/sleep", &mut || {
        sleep_n(0.00001, 2000) / 1e3
    });
    r.case("bench_micro.sleep_0_0001", "us/sleep", &mut || {
        sleep_n(0.0001, 1000) / 1e3
    });
    r.case("bench_micro.sleep_0_001", "us/sleep", &mut || {
        sleep_n(0.001, 100) / 1e3
    });
}
