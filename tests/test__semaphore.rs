//! Port of gevent's `src/gevent/tests/test__semaphore.py`:
//! `gevent.lock.Semaphore` / `BoundedSemaphore`: a timed acquire returns
//! false, rawlinks fire once per release, a ready semaphore notifies at
//! once (#1287), and waiters are served in FIFO order (#1487).

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::ErrorLog;
use gevent::lock::Semaphore;
use gevent::{Error, Greenlet, idle, joinall, sleep, spawn};

#[allow(non_snake_case)]
mod TestSemaphore {
    use super::*;

    // issue 39
    #[test]
    fn test_acquire_returns_false_after_timeout() {
        let _d = common::deadline(
            "TestSemaphore::test_acquire_returns_false_after_timeout",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        let s = Semaphore::new(0).unwrap();
        let result = s.acquire_timeout(0.01);
        // `result is False`: not None, no raise.
        assert!(matches!(result, Ok(false)), "{result:?}");
        assert_eq!(errors.len(), 0, "{:?}", errors.errors());
    }

    #[test]
    fn test_release_twice() {
        let _d = common::deadline("TestSemaphore::test_release_twice", common::TEST_DEADLINE);
        let errors = ErrorLog::install();
        let s = Semaphore::new(1).unwrap();
        let result = Rc::new(RefCell::new(Vec::<&str>::new()));
        let r = result.clone();
        s.rawlink(move || r.borrow_mut().push("a"));
        s.release().unwrap();
        let r = result.clone();
        s.rawlink(move || r.borrow_mut().push("b"));
        s.release().unwrap();
        sleep(0.001).unwrap();
        // The order, though, is not guaranteed.
        let mut got = result.borrow().clone();
        got.sort();
        assert_eq!(got, vec!["a", "b"]);
        assert_eq!(errors.len(), 0, "{:?}", errors.errors());
    }

    #[test]
    fn test_semaphore_in_class_with_del() {
        // Issue #704. This used to crash the process under PyPy when the
        // Semaphore was implemented with Cython: a destructor acquiring a
        // semaphore its object owns. Here: `Drop`.
        let _d = common::deadline(
            "TestSemaphore::test_semaphore_in_class_with_del",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        struct X {
            s: Semaphore,
        }
        impl Drop for X {
            fn drop(&mut self) {
                self.s.acquire().unwrap();
            }
        }
        drop(X {
            s: Semaphore::new(1).unwrap(),
        });
        assert_eq!(errors.len(), 0, "{:?}", errors.errors());
    }

    #[test]
    fn test_rawlink_on_unacquired_runs_notifiers() {
        // https://github.com/gevent/gevent/issues/1287
        // Rawlinking a ready semaphore should fire immediately, not raise
        // LoopExit.
        let _d = common::deadline(
            "TestSemaphore::test_rawlink_on_unacquired_runs_notifiers",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        let s = Semaphore::new(1).unwrap();
        let ready = gevent::wait(std::slice::from_ref(&s)).unwrap();
        assert_eq!(ready.len(), 1);
        assert_eq!(errors.len(), 0, "{:?}", errors.errors());
    }
}

type Quit = Rc<RefCell<Vec<bool>>>;

// gevent's FirstG / LastG only give the greenlets' `switch` a fixed hash,
// to show that the waiters are not kept in a hashed set; a Rust link list
// has no hashing, so plain greenlets stand in for them.

fn acquire_then_exit(sem: Semaphore, should_quit: Quit) -> gevent::Result<()> {
    sem.acquire()?;
    should_quit.borrow_mut().push(true);
    Ok(())
}

fn acquire_then_spawn(sem: Semaphore, should_quit: Quit) -> gevent::Result<()> {
    if !should_quit.borrow().is_empty() {
        return Ok(());
    }
    sem.acquire()?;
    let g = spawn(move || release_then_spawn(sem, should_quit));
    g.join()
}

fn release_then_spawn(sem: Semaphore, should_quit: Quit) -> gevent::Result<()> {
    sem.release()?;
    if !should_quit.borrow().is_empty() {
        return Ok(());
    }
    let g = spawn(move || acquire_then_spawn(sem, should_quit));
    g.join()
}

#[allow(non_snake_case)]
mod TestSemaphoreFair {
    use super::*;

    #[test]
    fn test_fair_or_hangs() {
        // If the lock isn't fair, this hangs, spinning between the last two
        // greenlets. See https://github.com/gevent/gevent/issues/1487
        let _d = common::deadline(
            "TestSemaphoreFair::test_fair_or_hangs",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        let sem = Semaphore::new(1).unwrap();
        let should_quit: Quit = Rc::default();

        let (s, q) = (sem.clone(), should_quit.clone());
        let keep_going1: Greenlet<()> = spawn(move || acquire_then_spawn(s, q));
        let (s, q) = (sem.clone(), should_quit.clone());
        let keep_going2: Greenlet<()> = spawn(move || acquire_then_spawn(s, q));
        let (s, q) = (sem.clone(), should_quit.clone());
        let exiting: Greenlet<()> = spawn(move || acquire_then_exit(s, q));

        let r = joinall(&[keep_going1.clone(), keep_going2.clone(), exiting.clone()]);
        assert!(matches!(r, Err(Error::LoopExit(_))), "{r:?}");

        assert!(exiting.dead(), "exiting is not dead");
        assert!(keep_going2.dead(), "keep_going2 is not dead");
        assert!(!keep_going1.dead(), "keep_going1 is dead");

        sem.release().unwrap();
        keep_going1.kill().unwrap();
        keep_going2.kill().unwrap();
        exiting.kill().unwrap();

        idle().unwrap();
        assert_eq!(errors.len(), 0, "{:?}", errors.errors());
    }
}

// Not ported:
// - TestSemaphore::test_semaphore_weakref: Python-only (`weakref.ref` to a
//   semaphore; a Rust `Semaphore` is an `Rc` handle, no weak handle is
//   part of its API).
// - TestSemaphoreMultiThread (test_acquire_in_one_then_another,
//   test_acquire_in_one_then_another_timed,
//   test_acquire_in_one_wait_greenlet_wait_thread_gives_up,
//   test_dueling_threads, test_dueling_threads_timeout,
//   test_dueling_threads_with_hub) and TestBoundedSemaphoreMultiThread (the
//   same six): not yet ported: needs cross-thread wake (issue 3). The
//   crate's Semaphore is `!Send` (an `Rc`), so a native thread cannot
//   acquire or release it.
// - TestCExt::test_c_extension: Python-only (checks the Cython module name).
