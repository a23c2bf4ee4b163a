//! Blocking calls on a pool of threads (gevent's `examples/threadpool.py`):
//! four one-second `sleep`s on three threads take about two seconds, while
//! the hub stays free.
//!
//! `cargo run --example threadpool`

use std::time::{Duration, Instant};

use gevent::threadpool::ThreadPool;

fn main() -> gevent::Result<()> {
    env_logger::init();
    let pool = ThreadPool::new(3)?;
    let start = Instant::now();
    for _ in 0..4 {
        // A real blocking sleep, on a worker thread.
        let _ = pool.spawn(|| std::thread::sleep(Duration::from_secs(1)))?;
    }
    gevent::wait_loop()?;
    let delay = start.elapsed().as_secs_f64();
    println!(
        "Running \"time.sleep(1)\" 4 times with 3 threads. Should take about 2 seconds: {delay:.3}s"
    );
    Ok(())
}
