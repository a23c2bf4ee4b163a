//! Port of gevent's `src/gevent/tests/test__hub_join_timeout.py`:
//! `gevent.wait()` with no objects (here [`gevent::wait_loop`] /
//! [`gevent::wait_loop_timeout`]) runs the loop until nothing referenced is
//! left, or until its timeout. Every body runs twice (`@repeated`), and the
//! whole class runs twice (`TestAgain`).
//!
//! The module-level `gevent.signal_handler(1, lambda: None)` ("setting up
//! signal does not affect join()") is installed once in gevent, on the hub
//! every test uses. Here every test has a hub of its own (its own thread
//! and loop), so each test sets up the handler on its hub first
//! ([`module_signal_handler`]).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::{assert_no_time, assert_time_about, elapsed};
use gevent::core::Timer;
use gevent::event::Event;
use gevent::{
    SignalHandler, get_hub, signal_handler, spawn, spawn_later, wait, wait_loop, wait_loop_timeout,
};

/// This file's own SMALL_TICK.
const SMALL_TICK: f64 = 0.05;

/// Which signal the next test sets up.
static NEXT_SIGNAL: AtomicUsize = AtomicUsize::new(0);

/// `gevent.signal_handler(1, lambda: None)` on this test's hub; it must
/// not keep the loop alive.
///
/// libev attaches a signal to one loop at a time, and the crate keeps a
/// signal attached to the first loop that watched it even once that
/// watcher is cancelled, so tests (one loop each, in parallel) cannot all
/// use SIGHUP: the first test gets gevent's SIGHUP, the others another
/// catchable signal that nothing sends.
fn module_signal_handler() -> SignalHandler {
    let n = NEXT_SIGNAL.fetch_add(1, Ordering::Relaxed);
    let signum = match n {
        0 => libc::SIGHUP,
        1 => libc::SIGUSR1,
        2 => libc::SIGUSR2,
        _ => libc::SIGRTMIN() + (n - 3) as i32,
    };
    signal_handler(signum, || Ok(())).unwrap()
}

/// `@repeated`: runs the body twice. Watchers a body started stay alive
/// across the repetitions, as the loop keeps gevent's started watchers
/// alive (a Rust watcher stops when its last handle is dropped).
fn repeated(func: impl Fn(&mut Vec<Timer>)) {
    let mut keep = Vec::new();
    for _ in 0..2 {
        func(&mut keep);
    }
}

fn test_callback(_: &mut Vec<Timer>) {
    // exiting because the spawned greenlet finished execution (spawn
    // (=callback) variant)
    let x = spawn(|| Ok(5));
    let start = Instant::now();
    let result = wait_loop_timeout(10.0).unwrap();
    assert_no_time(elapsed(start));
    assert!(result);
    assert!(x.dead(), "{}", x.name());
    assert_eq!(x.value(), Some(5));
}

fn test_later(_: &mut Vec<Timer>) {
    // exiting because the spawned greenlet finished execution (spawn_later
    // (=timer) variant)
    let x = spawn_later(SMALL_TICK, || Ok(5)).unwrap();
    let start = Instant::now();
    let result = wait_loop_timeout(10.0).unwrap();
    assert_time_about(elapsed(start), SMALL_TICK);
    assert!(result);
    assert!(x.dead(), "{}", x.name());
}

fn test_timeout(_: &mut Vec<Timer>) {
    // exiting because of timeout (the spawned greenlet still runs)
    let x = spawn_later(10.0, || Ok(5)).unwrap();
    let start = Instant::now();
    let result = wait_loop_timeout(SMALL_TICK).unwrap();
    assert_time_about(elapsed(start), SMALL_TICK);
    assert!(!result);
    assert!(!x.dead(), "{}", x.name());
    x.kill().unwrap();
    let start = Instant::now();
    let result = wait_loop().unwrap();
    assert_no_time(elapsed(start));
    assert!(result);
}

fn test_event(_: &mut Vec<Timer>) {
    // exiting because of event (the spawned greenlet still runs)
    let x = spawn_later(10.0, || Ok(5)).unwrap();
    let event = Event::new();
    let e = event.clone();
    let event_set = spawn_later(SMALL_TICK, move || {
        e.set();
        Ok(())
    })
    .unwrap();
    let objs = [event];
    let start = Instant::now();
    let result = wait(&objs).unwrap();
    assert_time_about(elapsed(start), SMALL_TICK);
    // assertEqual(result, [event]): Event compares by identity in gevent;
    // `wait` returns references into the slice it was given.
    assert_eq!(result.len(), 1, "{result:?}");
    assert!(std::ptr::eq(result[0], &objs[0]), "{result:?}");
    assert!(!x.dead(), "{}", x.name());
    assert!(event_set.dead());
    // gevent asserts `event.is_set` (the bound method, always true); the
    // intended check is the flag.
    assert!(objs[0].is_set());
    x.kill().unwrap();
    let start = Instant::now();
    let result = wait_loop().unwrap();
    assert_no_time(elapsed(start));
    assert!(result);
}

fn test_ref_arg(keep: &mut Vec<Timer>) {
    // checking "ref=False" argument:
    // gevent.get_hub().loop.timer(10, ref=False).start(lambda: None)
    let t = get_hub().loop_().timer(10.0, 0.0).unwrap();
    t.set_ref(false);
    t.start(|| {}).unwrap();
    keep.push(t);
    let start = Instant::now();
    let result = wait_loop().unwrap();
    assert_no_time(elapsed(start));
    assert!(result);
}

fn test_ref_attribute(keep: &mut Vec<Timer>) {
    // checking "ref=False" attribute
    let w = get_hub().loop_().timer(10.0, 0.0).unwrap();
    w.start(|| {}).unwrap();
    w.set_ref(false);
    keep.push(w);
    let start = Instant::now();
    let result = wait_loop().unwrap();
    assert_no_time(elapsed(start));
    assert!(result);
}

macro_rules! join_timeout_tests {
    ($class:ident) => {
        #[allow(non_snake_case)]
        mod $class {
            use super::*;

            #[test]
            fn test_callback() {
                let _d = common::deadline(
                    concat!(stringify!($class), "::test_callback"),
                    common::TEST_DEADLINE,
                );
                let _signal = module_signal_handler();
                repeated(super::test_callback);
            }

            #[test]
            fn test_later() {
                let _d = common::deadline(
                    concat!(stringify!($class), "::test_later"),
                    common::TEST_DEADLINE,
                );
                let _signal = module_signal_handler();
                repeated(super::test_later);
            }

            #[test]
            fn test_timeout() {
                let _d = common::deadline(
                    concat!(stringify!($class), "::test_timeout"),
                    common::TEST_DEADLINE,
                );
                let _signal = module_signal_handler();
                repeated(super::test_timeout);
            }

            #[test]
            fn test_event() {
                let _d = common::deadline(
                    concat!(stringify!($class), "::test_event"),
                    common::TEST_DEADLINE,
                );
                let _signal = module_signal_handler();
                repeated(super::test_event);
            }

            #[test]
            fn test_ref_arg() {
                let _d = common::deadline(
                    concat!(stringify!($class), "::test_ref_arg"),
                    common::TEST_DEADLINE,
                );
                let _signal = module_signal_handler();
                repeated(super::test_ref_arg);
            }

            #[test]
            fn test_ref_attribute() {
                let _d = common::deadline(
                    concat!(stringify!($class), "::test_ref_attribute"),
                    common::TEST_DEADLINE,
                );
                let _signal = module_signal_handler();
                repeated(super::test_ref_attribute);
            }
        }
    };
}

join_timeout_tests!(Test);
// "Repeat the same tests"
join_timeout_tests!(TestAgain);

// Every method of test__hub_join_timeout.py is ported.
