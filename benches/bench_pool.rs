//! gevent's `benchmarks/bench_pool.py`: `bench_threadpool.py` run with
//! `gevent.pool.Pool` (greenlets) in place of the thread pool, N = 20
//! tasks per inner loop, `Pool(1)` (`_seq`) or `Pool(PAR_COUNT = 5)`
//! (`_par`). As there, a value is the time of one loop of N tasks:
//! us per 20 tasks (`us/20tasks`).
//!
//! ```text
//! cargo bench -j1 --bench bench_pool
//! cargo bench -j1 --bench bench_pool -- --only map --reps 9
//! ```
//!
//! Output: `name value unit  # min .. max n=R` (median of R timed reps of
//! [`LOOPS`] loops, after one untimed warm-up rep). Each rep makes a new
//! pool (untimed); the timing ends with `join()` and `kill()`.

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use gevent::pool::Pool;

use common::{Kind, MAPS, Runner, secs};

/// Tasks per inner loop.
const N: usize = 20;
/// Size of the `_par` pools.
const PAR_COUNT: i64 = 5;
/// Loops per timed rep (pyperf calibrates this; fixed here).
const LOOPS: usize = 500;

/// gevent's `noop`.
fn noop() -> gevent::Result<()> {
    Ok(())
}

/// gevent's `identity`.
fn identity(i: i32) -> gevent::Result<i32> {
    Ok(i)
}

/// Times `LOOPS` x `body(pool)`, then `join()` and `kill()`: us per loop.
fn timed(pool: Pool, body: &dyn Fn(&Pool)) -> f64 {
    let t0 = Instant::now();
    for _ in 0..LOOPS {
        body(&pool);
    }
    pool.join().unwrap();
    pool.kill().unwrap();
    secs(t0) / LOOPS as f64 * 1e6
}

/// `apply`: N x `pool.apply(noop)` on `Pool(1)`.
fn apply() -> f64 {
    timed(Pool::new(1).unwrap(), &|p| {
        for _ in 0..N {
            p.apply(noop).unwrap();
        }
    })
}

/// `spawn`: N x `pool.spawn(noop).get()` on `Pool(1)`.
fn spawn_wait() -> f64 {
    timed(Pool::new(1).unwrap(), &|p| {
        for _ in 0..N {
            p.spawn(noop).unwrap().get().unwrap();
        }
    })
}

/// gevent's `_map`: `list(pool_func(identity, [1] * N))`.
fn map_body(p: &Pool, kind: Kind) {
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
/// N items on `Pool(1)` or `Pool(PAR_COUNT)`.
fn mapping(kind: Kind, par: bool) -> f64 {
    let pool = Pool::new(if par { PAR_COUNT } else { 1 }).unwrap();
    timed(pool, &|p| map_body(p, kind))
}

fn main() {
    let r = Runner::from_args();
    let u = "us/20tasks";
    for (name, kind, par) in MAPS {
        r.case(&format!("bench_pool.{name}"), u, &mut || mapping(kind, par));
    }
    r.case("bench_pool.apply", u, &mut apply);
    r.case("bench_pool.spawn", u, &mut spawn_wait);
}
