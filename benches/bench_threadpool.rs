//! gevent's `benchmarks/bench_threadpool.py`: tasks on a native thread
//! pool (`gevent.threadpool.ThreadPool`), N = 20 tasks per inner loop,
//! one worker (`_seq`) or `PAR_COUNT` = 5 started up front (`_par`).
//! gevent's cases have no inner-loop count, so pyperf reports the time
//! of one loop of N tasks: every value is us per N = 20 tasks
//! (`us/20tasks`).
//!
//! ```text
//! cargo bench -j1 --bench bench_threadpool
//! cargo bench -j1 --bench bench_threadpool -- --only imap --reps 9
//! ```
//!
//! Output: `name value unit  # min .. max n=R` (median of R timed reps of
//! [`LOOPS`] loops, after one untimed warm-up rep). Each rep makes a new
//! pool (untimed, as in gevent; with `_seq` its thread starts inside the
//! timing, at the first task, as gevent's does); the timing ends with
//! `join()` and `kill()`.

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use gevent::threadpool::ThreadPool;

use common::{Kind, MAPS, Runner, secs};

/// Tasks per inner loop.
const N: usize = 20;
/// Threads of the `_par` pools.
const PAR_COUNT: usize = 5;
/// Loops per timed rep (pyperf calibrates this; fixed here).
const LOOPS: usize = 50;

/// gevent's `noop`.
fn noop() {}

/// gevent's `identity`.
fn identity(i: i32) -> i32 {
    i
}

/// `ThreadPool(1)`.
fn seq_pool() -> ThreadPool {
    ThreadPool::new(1).unwrap()
}

/// gevent's `_ppool`: `ThreadPool(PAR_COUNT)` with its `size` set to
/// `PAR_COUNT`, which starts the threads now.
fn par_pool() -> ThreadPool {
    let p = ThreadPool::new(PAR_COUNT).unwrap();
    p.set_size(PAR_COUNT).unwrap();
    p
}

/// Times `LOOPS` x `body(pool)`, then `join()` and `kill()`: us per loop.
fn timed(pool: ThreadPool, body: &dyn Fn(&ThreadPool)) -> f64 {
    let t0 = Instant::now();
    for _ in 0..LOOPS {
        body(&pool);
    }
    pool.join().unwrap();
    pool.kill();
    secs(t0) / LOOPS as f64 * 1e6
}

/// `apply`: N x `pool.apply(noop)` on one thread.
fn apply() -> f64 {
    timed(seq_pool(), &|p| {
        for _ in 0..N {
            p.apply(noop).unwrap();
        }
    })
}

/// `spawn`: N x `pool.spawn(noop).get()` on one thread.
fn spawn_wait() -> f64 {
    timed(seq_pool(), &|p| {
        for _ in 0..N {
            p.spawn(noop).unwrap().get().unwrap();
        }
    })
}

/// gevent's `_map`: `list(pool_func(identity, [1] * N))`.
fn map_body(p: &ThreadPool, kind: Kind) {
    let data = vec![1i32; N];
    let out: Vec<i32> = match kind {
        Kind::Map => p.map(identity, data).unwrap(),
        Kind::Imap => p
            .imap(identity, data)
            .collect::<gevent::Result<_>>()
            .unwrap(),
        Kind::ImapUnordered => p
            .imap_unordered(identity, data)
            .collect::<gevent::Result<_>>()
            .unwrap(),
    };
    assert_eq!(out.len(), N);
}

/// `map_seq` .. `imap_unordered_par`: one of the mapping functions over
/// N items, on one thread or on `PAR_COUNT`.
fn mapping(kind: Kind, par: bool) -> f64 {
    let pool = if par { par_pool() } else { seq_pool() };
    timed(pool, &|p| map_body(p, kind))
}

fn main() {
    let r = Runner::from_args();
    let u = "us/20tasks";
    for (name, kind, par) in MAPS {
        r.case(&format!("bench_threadpool.{name}"), u, &mut || {
            mapping(kind, par)
        });
    }
    r.case("bench_threadpool.apply", u, &mut apply);
    r.case("bench_threadpool.spawn", u, &mut spawn_wait);
}
