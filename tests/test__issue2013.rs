//! Port of gevent 26.9.0 `src/gevent/tests/test__issue2013.py`: a
//! `BoundedSemaphore` released from a native thread that has no hub wakes
//! the greenlets waiting on it, on the semaphore's own thread (the
//! notification and the resumed waiters run there); the same for a release
//! from the owner thread and from a greenlet.
//!
//! gevent monkey-patches and captures the native thread API first; Rust
//! threads are native, so `std::thread` stands in for
//! `_thread.start_new_thread`, `std::thread::current().id()` for
//! `_thread.get_ident` and `std::thread::sleep` for `time.sleep`.
//!
//! A Rust semaphore is per-thread (`!Send`): the hub-less producer thread
//! releases it through its `threadsafe()` handle. gevent's producer also
//! takes the semaphore's one permit from its own thread first (a
//! non-blocking acquire, which involves no hub); a native thread cannot
//! acquire a Rust semaphore, so the owner takes that permit for it before
//! starting it. Methods not ported are listed at the end of the file.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use common::ErrorLog;
use gevent::hub::get_hub_if_exists;
use gevent::lock::{BoundedSemaphore, Semaphore};
use gevent::{Greenlet, Timeout, joinall_timeout, sleep, spawn};

/// `native_get_ident()`.
fn native_get_ident() -> ThreadId {
    std::thread::current().id()
}

/// gevent's `error_fatal`: no error may reach the hub during the test.
#[track_caller]
fn assert_no_errors(errors: &ErrorLog) {
    assert_eq!(errors.len(), 0, "unexpected errors: {:?}", errors.errors());
}

#[allow(non_snake_case)]
mod TestHublessThreadSemaphore {
    use super::*;

    /// `_wait_for(condition)`: polls every 1 ms, for at most 2 s.
    fn wait_for(condition: impl Fn() -> bool) {
        // with gevent.Timeout(2):
        let t = Timeout::new(Some(2.0));
        t.start().unwrap();
        while !condition() {
            sleep(0.001).unwrap();
        }
        t.cancel();
    }

    /// `_run_waiters(semaphore, count, release)`.
    fn run_waiters(semaphore: &Semaphore, count: usize, release: impl FnOnce()) {
        let owner_ident = native_get_ident();
        let notified_on: Rc<RefCell<Vec<ThreadId>>> = Rc::default();
        let resumed_on: Rc<RefCell<Vec<ThreadId>>> = Rc::default();

        let n = notified_on.clone();
        semaphore.rawlink(move || n.borrow_mut().push(native_get_ident()));

        let waiters: Vec<Greenlet<()>> = (0..count)
            .map(|_| {
                let (semaphore, resumed_on) = (semaphore.clone(), resumed_on.clone());
                spawn(move || {
                    semaphore.acquire()?;
                    resumed_on.borrow_mut().push(native_get_ident());
                    semaphore.release()?;
                    Ok(())
                })
            })
            .collect();
        wait_for(|| semaphore.linkcount() == count + 1);
        release();
        joinall_timeout(&waiters, 2.0).unwrap();

        assert!(
            waiters.iter().all(|waiter| waiter.successful()),
            "not all waiters succeeded"
        );
        assert_eq!(*notified_on.borrow(), vec![owner_ident]);
        assert_eq!(*resumed_on.borrow(), vec![owner_ident; count]);
    }

    /// `_run_native_round(owner_ident)`.
    fn run_native_round(owner_ident: ThreadId) {
        let semaphore = BoundedSemaphore::new(1).unwrap();
        let acquired: Arc<Mutex<Vec<bool>>> = Arc::default();
        let release_requested: Arc<Mutex<Vec<bool>>> = Arc::default();
        let released: Arc<Mutex<Vec<bool>>> = Arc::default();
        let producer_ident: Arc<Mutex<Vec<ThreadId>>> = Arc::default();
        let producer_hub: Arc<Mutex<Vec<bool>>> = Arc::default(); // has a hub?

        // The producer's `semaphore.acquire()`, taken for it (see the top
        // of the file); it releases through the handle.
        semaphore.acquire().unwrap();
        let remote = semaphore.threadsafe().unwrap();

        let producer = {
            let (acquired, release_requested, released) = (
                acquired.clone(),
                release_requested.clone(),
                released.clone(),
            );
            let (producer_ident, producer_hub) = (producer_ident.clone(), producer_hub.clone());
            move || {
                producer_ident.lock().unwrap().push(native_get_ident());
                producer_hub
                    .lock()
                    .unwrap()
                    .push(get_hub_if_exists().is_some());
                acquired.lock().unwrap().push(true);
                while release_requested.lock().unwrap().is_empty() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                remote.release().unwrap();
                released.lock().unwrap().push(true);
            }
        };

        // native_start_new_thread(producer, ()): never joined.
        std::thread::spawn(producer);
        wait_for(|| !acquired.lock().unwrap().is_empty());
        run_waiters(&semaphore, 4, || {
            release_requested.lock().unwrap().push(true)
        });
        wait_for(|| !released.lock().unwrap().is_empty());

        assert_ne!(*producer_ident.lock().unwrap(), vec![owner_ident]);
        // producer_hub == [None]
        assert_eq!(*producer_hub.lock().unwrap(), vec![false]);
    }

    #[test]
    fn test_hubless_native_thread_release_wakes_waiters() {
        let _d = common::deadline(
            "TestHublessThreadSemaphore::test_hubless_native_thread_release_wakes_waiters",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        let owner_ident = native_get_ident();
        for _ in 0..20 {
            run_native_round(owner_ident);
        }
        assert_no_errors(&errors);
    }

    #[test]
    fn test_owner_thread_release_wakes_waiters() {
        let _d = common::deadline(
            "TestHublessThreadSemaphore::test_owner_thread_release_wakes_waiters",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        let semaphore = BoundedSemaphore::new(1).unwrap();
        semaphore.acquire().unwrap();
        let s = semaphore.clone();
        run_waiters(&semaphore, 2, move || {
            s.release().unwrap();
        });
        assert_no_errors(&errors);
    }

    #[test]
    fn test_gevent_producer_release_wakes_waiters() {
        let _d = common::deadline(
            "TestHublessThreadSemaphore::test_gevent_producer_release_wakes_waiters",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        let semaphore = BoundedSemaphore::new(1).unwrap();
        semaphore.acquire().unwrap();
        let s = semaphore.clone();
        let producer = Greenlet::new(move || s.release());
        let p = producer.clone();
        run_waiters(&semaphore, 2, move || p.start());
        producer.get_timeout(2.0).unwrap();
        assert_no_errors(&errors);
    }
}

// Not ported from test__issue2013.py:
//
// * `__timeout__ = 10`: every test here has the suite's common deadline.
// * `monkey.patch_all()` and the capture of the native `_thread` /
//   `time` functions before it (Python-only: Rust threads and sleeps are
//   native).
// * test_hubless_native_thread_release_wakes_waiters: the producer's own
//   `semaphore.acquire()` only (a native thread cannot acquire a `!Send`
//   Rust semaphore; the owner takes that permit for it, see the top of the
//   file); the release from the hub-less thread and every check are
//   ported.
