//! Shared helpers for the ported gevent tests (gevent's
//! `gevent.testing`): timing constants, a per-test deadline so that a hang
//! fails instead of stalling, and error recorders replacing gevent's
//! `expect_one_error` / `error_fatal`.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gevent::{Error, get_hub};

/// `gevent.testing.timing.SMALLEST_RELIABLE_DELAY`.
pub const SMALLEST_RELIABLE_DELAY: f64 = 0.001;
/// `SMALL_TICK`.
pub const SMALL_TICK: f64 = 0.01;
/// Allowed window around SMALL_TICK: -0.001 / +0.11 (wide for a noisy
/// 2-core machine, as gevent's CI values).
pub const SMALL_TICK_MIN_ADJ: f64 = SMALLEST_RELIABLE_DELAY;
pub const SMALL_TICK_MAX_ADJ: f64 = 0.11;
/// `LARGE_TICK` and its window (-0.1 / +0.11).
pub const LARGE_TICK: f64 = 0.2;
pub const LARGE_TICK_MIN_ADJ: f64 = 0.1;
pub const LARGE_TICK_MAX_ADJ: f64 = 0.11;
/// `DEFAULT_SOCKET_TIMEOUT`.
pub const DEFAULT_SOCKET_TIMEOUT: f64 = 0.1;
/// gevent's per-test timeout on CI (`__timeout__`, 15 s with
/// LARGE_TIMEOUT); a test still running after this aborts the binary.
pub const TEST_DEADLINE: f64 = 30.0;

/// Aborts the process (with the test's name) if dropped later than `secs`
/// after creation: gevent's per-test `Timeout`, robust even when the hub
/// is stuck.
pub struct Deadline {
    done: Arc<AtomicBool>,
}

pub fn deadline(name: &'static str, secs: f64) -> Deadline {
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs_f64(secs);
        while Instant::now() < end {
            if d.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if !d.load(Ordering::Relaxed) {
            eprintln!("test {name} did not finish within {secs}s: aborting");
            std::process::abort();
        }
    });
    Deadline { done }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// Errors reported to the hub's `handle_error` while installed.
#[derive(Clone, Default)]
pub struct ErrorLog(Rc<RefCell<Vec<(String, Error)>>>);

impl ErrorLog {
    /// Installs a recorder as the current hub's error handler (gevent's
    /// `expect_one_error`).
    pub fn install() -> ErrorLog {
        let log = ErrorLog::default();
        let l = log.clone();
        get_hub().set_handle_error(move |ctx, err| {
            l.0.borrow_mut().push((ctx.to_string(), err.clone()));
        });
        log
    }

    pub fn errors(&self) -> Vec<(String, Error)> {
        self.0.borrow().clone()
    }

    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// gevent's `assert_error`: exactly one error was reported, and
    /// `check` accepts it.
    pub fn assert_one(&self, check: impl Fn(&Error) -> bool) {
        let errs = self.errors();
        assert_eq!(errs.len(), 1, "expected exactly one error, got {errs:?}");
        assert!(check(&errs[0].1), "unexpected error {:?}", errs[0]);
    }
}

/// Seconds elapsed since `t`.
pub fn elapsed(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Asserts `lo <= value <= hi`.
#[track_caller]
pub fn assert_between(value: f64, lo: f64, hi: f64) {
    // Under valgrind everything runs ~50x slower: only the lower bound
    // (nothing ended early) still means something.
    let hi = if slow_run() { hi + 2.0 } else { hi };
    assert!(
        value >= lo && value <= hi,
        "{value} not within [{lo}, {hi}]"
    );
}

/// gevent's `runs_in_given_time(x)`: the elapsed time is x ± x/2 (with a
/// floor of 0.05 s of slack above, for a noisy machine).
#[track_caller]
pub fn assert_time_about(value: f64, expected: f64) {
    let slack = (expected / 2.0).max(0.05);
    assert_between(value, expected - expected / 2.0, expected + slack);
}

/// gevent's `runs_in_no_time()`: at most 0.01 s (0.05 here, for CI).
#[track_caller]
pub fn assert_no_time(value: f64) {
    // Under valgrind the first loop iteration alone can take a while.
    let max = if slow_run() { 2.0 } else { 0.05 };
    assert!(value <= max, "took {value}s, expected no time");
}
pub mod example;
pub mod wake_many;

/// True when the suite runs under a slow analyser (`tests/valgrind.sh`
/// sets `GEVENT_TEST_SLOW=1`): scale tests shrink (see [`scaled`]); they
/// check memory correctness there, not scale.
pub fn slow_run() -> bool {
    std::env::var_os("GEVENT_TEST_SLOW").is_some()
}

/// `n`, or a fiftieth of it (at least 100) in a [`slow_run`].
pub fn scaled(n: usize) -> usize {
    if slow_run() { (n / 50).max(100) } else { n }
}

/// How much longer timing windows are in a [`slow_run`] (20x), for tests
/// whose order of events depends on them.
pub fn time_scale() -> f64 {
    if slow_run() { 20.0 } else { 1.0 }
}

/// True in an AddressSanitizer build (the documented command sets
/// `GEVENT_TEST_SANITIZER=address`): tests that lower `RLIMIT_AS` cannot
/// run there, since ASan reserves terabytes of shadow memory.
pub fn asan_run() -> bool {
    std::env::var("GEVENT_TEST_SANITIZER").is_ok_and(|v| v == "address")
}

/// Re-runs this test binary with only `test` (an ignored child body) and
/// `env` set; returns (success, stdout, stderr).
pub fn run_child(test: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        "--exact",
        test,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the child");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
