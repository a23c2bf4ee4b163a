//! Port of gevent's `src/gevent/tests/lock_tests.py` as gevent's
//! `src/gevent/tests/test__threading_2.py` runs it: under
//! `monkey.patch_all()`, so every "thread" is a greenlet
//! (`start_new_thread` spawns one, `get_ident` is the greenlet's id) and
//! `_wait()` (`time.sleep(0.01)`) is `gevent.sleep(0.01)`.
//!
//! test__threading_2 binds the abstract classes to gevent's primitives:
//! `Lock = gevent.thread.allocate_lock` (gevent's `LockType`, a
//! `BoundedSemaphore(1)`), `RLock = gevent.lock.RLock`,
//! `Event = gevent.event.Event`, `Semaphore` / `BoundedSemaphore =
//! gevent.lock.*`. Each concrete class is a module here; the bodies of the
//! abstract base classes (BaseLockTests, BaseSemaphoreTests) are shared
//! helper functions.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Instant;

use gevent::event::Event;
use gevent::lock::{BoundedSemaphore, RLock, Semaphore};
use gevent::{Error, Result, getcurrent, sleep, spawn};

/// A crude wait/yield function not relying on synchronization primitives
/// (`time.sleep(0.01)`, monkey-patched).
fn _wait() -> Result<()> {
    sleep(0.01)
}

/// `_thread.start_new_thread` under monkey-patching: a new greenlet.
fn start_new_thread(f: impl FnOnce() -> Result<()> + 'static) {
    spawn(f);
}

/// A bunch of threads (greenlets).
struct Bunch {
    n: usize,
    started: Rc<RefCell<Vec<u64>>>,
    finished: Rc<RefCell<Vec<u64>>>,
    can_exit: Rc<Cell<bool>>,
}

impl Bunch {
    /// Constructs a bunch of `n` threads running the same function `f`.
    /// If `wait_before_exit` is true, the threads won't terminate until
    /// `do_finish()` is called.
    fn new(f: impl Fn() -> Result<()> + 'static, n: usize, wait_before_exit: bool) -> Bunch {
        let b = Bunch {
            n,
            started: Rc::default(),
            finished: Rc::default(),
            can_exit: Rc::new(Cell::new(!wait_before_exit)),
        };
        let f = Rc::new(f);
        for _ in 0..n {
            let (f, started, finished, can_exit) = (
                f.clone(),
                b.started.clone(),
                b.finished.clone(),
                b.can_exit.clone(),
            );
            start_new_thread(move || {
                let tid = getcurrent().id();
                started.borrow_mut().push(tid);
                let r = f();
                // finally:
                finished.borrow_mut().push(tid);
                while !can_exit.get() {
                    _wait()?;
                }
                r
            });
        }
        b
    }

    fn wait_for_started(&self) {
        while self.started.borrow().len() < self.n {
            _wait().unwrap();
        }
    }

    fn wait_for_finished(&self) {
        while self.finished.borrow().len() < self.n {
            _wait().unwrap();
        }
    }

    fn do_finish(&self) {
        self.can_exit.set(true);
    }
}

/// An error standing for the `TypeError` the `test_with` methods raise
/// inside the `with` block.
fn type_error() -> Error {
    Error::msg("TypeError")
}

fn is_type_error(r: &Result<()>) -> bool {
    matches!(r, Err(Error::Custom(e)) if e.to_string() == "TypeError")
}

/// The lock API the lock tests use: `acquire()`, `acquire(False)`,
/// `release()` and `with lock:`.
trait LockType: Clone + 'static {
    fn acquire(&self) -> Result<bool>;
    /// `acquire(False)`.
    fn try_acquire(&self) -> bool;
    fn release(&self) -> Result<()>;
    /// `with lock: body()`, through the lock's guard.
    fn with<R>(&self, body: impl FnOnce() -> Result<R>) -> Result<R>;
}

impl LockType for Semaphore {
    fn acquire(&self) -> Result<bool> {
        Semaphore::acquire(self)
    }
    fn try_acquire(&self) -> bool {
        Semaphore::try_acquire(self)
    }
    fn release(&self) -> Result<()> {
        Semaphore::release(self).map(|_| ())
    }
    fn with<R>(&self, body: impl FnOnce() -> Result<R>) -> Result<R> {
        let _g = self.lock()?;
        body()
    }
}

impl LockType for RLock {
    fn acquire(&self) -> Result<bool> {
        RLock::acquire(self)
    }
    fn try_acquire(&self) -> bool {
        RLock::try_acquire(self)
    }
    fn release(&self) -> Result<()> {
        RLock::release(self)
    }
    fn with<R>(&self, body: impl FnOnce() -> Result<R>) -> Result<R> {
        let _g = self.lock()?;
        body()
    }
}

/// BaseLockTests: tests for both recursive and non-recursive locks.
mod base_lock_tests {
    use super::*;

    pub fn test_constructor<L: LockType>(locktype: fn() -> L) {
        let lock = locktype();
        drop(lock);
    }

    pub fn test_acquire_destroy<L: LockType>(locktype: fn() -> L) {
        let lock = locktype();
        lock.acquire().unwrap();
        drop(lock);
    }

    pub fn test_acquire_release<L: LockType>(locktype: fn() -> L) {
        let lock = locktype();
        lock.acquire().unwrap();
        lock.release().unwrap();
        drop(lock);
    }

    pub fn test_try_acquire<L: LockType>(locktype: fn() -> L) {
        let lock = locktype();
        assert!(lock.try_acquire());
        lock.release().unwrap();
    }

    pub fn test_try_acquire_contended<L: LockType>(locktype: fn() -> L) {
        let lock = locktype();
        lock.acquire().unwrap();
        let result = Rc::new(RefCell::new(Vec::new()));
        let (l, r) = (lock.clone(), result.clone());
        let f = move || {
            r.borrow_mut().push(l.try_acquire());
            Ok(())
        };
        Bunch::new(f, 1, false).wait_for_finished();
        assert!(!result.borrow()[0]);
        lock.release().unwrap();
    }

    pub fn test_acquire_contended<L: LockType>(locktype: fn() -> L) {
        let lock = locktype();
        lock.acquire().unwrap();
        const N: usize = 5;
        let l = lock.clone();
        let f = move || {
            l.acquire()?;
            l.release()
        };
        let b = Bunch::new(f, N, false);
        b.wait_for_started();
        _wait().unwrap();
        assert_eq!(b.finished.borrow().len(), 0);
        lock.release().unwrap();
        b.wait_for_finished();
        assert_eq!(b.finished.borrow().len(), N);
    }

    pub fn test_with<L: LockType>(locktype: fn() -> L) {
        let lock = locktype();
        let l = lock.clone();
        let f = move || {
            l.acquire()?;
            l.release()
        };
        let _with = |err: Option<Error>| -> Result<()> {
            lock.with(|| match err {
                Some(e) => Err(e),
                None => Ok(()),
            })
        };
        _with(None).unwrap();
        // Check the lock is unacquired
        Bunch::new(f.clone(), 1, false).wait_for_finished();
        let r = _with(Some(type_error()));
        assert!(is_type_error(&r), "{r:?}");
        // Check the lock is unacquired
        Bunch::new(f, 1, false).wait_for_finished();
    }
}

/// BaseSemaphoreTests: common tests for {bounded, unbounded} semaphores.
mod base_semaphore_tests {
    use super::*;

    type SemType = fn(i64) -> Result<Semaphore>;

    pub fn test_constructor(semtype: SemType) {
        let r = semtype(-1);
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
        let r = semtype(-(isize::MAX as i64));
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
    }

    pub fn test_acquire(semtype: SemType) {
        let sem = semtype(1).unwrap();
        sem.acquire().unwrap();
        sem.release().unwrap();
        let sem = semtype(2).unwrap();
        sem.acquire().unwrap();
        sem.acquire().unwrap();
        sem.release().unwrap();
        sem.release().unwrap();
    }

    pub fn test_acquire_destroy(semtype: SemType) {
        // gevent: `semtype()`, the default value 1.
        let sem = semtype(1).unwrap();
        sem.acquire().unwrap();
        drop(sem);
    }

    pub fn test_acquire_contended(semtype: SemType) {
        let sem = semtype(7).unwrap();
        sem.acquire().unwrap();
        let results1 = Rc::new(RefCell::new(Vec::<i32>::new()));
        let results2 = Rc::new(RefCell::new(Vec::<i32>::new()));
        let phase_num = Rc::new(Cell::new(0));
        let (s, r1, r2, p) = (
            sem.clone(),
            results1.clone(),
            results2.clone(),
            phase_num.clone(),
        );
        let f = move || {
            s.acquire()?;
            r1.borrow_mut().push(p.get());
            s.acquire()?;
            r2.borrow_mut().push(p.get());
            Ok(())
        };
        let total = || results1.borrow().len() + results2.borrow().len();
        let all = || {
            let mut v = results1.borrow().clone();
            v.extend(results2.borrow().iter());
            v
        };
        let sorted_all = || {
            let mut v = all();
            v.sort();
            v
        };
        let b = Bunch::new(f, 10, false);
        b.wait_for_started();
        while total() < 6 {
            _wait().unwrap();
        }
        assert_eq!(all(), vec![0; 6]);
        phase_num.set(1);
        for _ in 0..7 {
            sem.release().unwrap();
        }
        while total() < 13 {
            _wait().unwrap();
        }
        let mut expected = vec![0; 6];
        expected.extend([1; 7]);
        assert_eq!(sorted_all(), expected);
        phase_num.set(2);
        for _ in 0..6 {
            sem.release().unwrap();
        }
        while total() < 19 {
            _wait().unwrap();
        }
        expected.extend([2; 6]);
        assert_eq!(sorted_all(), expected);
        // The semaphore is still locked
        assert!(!sem.try_acquire());
        // Final release, to let the last thread finish
        sem.release().unwrap();
        b.wait_for_finished();
    }

    pub fn test_try_acquire(semtype: SemType) {
        let sem = semtype(2).unwrap();
        assert!(sem.try_acquire());
        assert!(sem.try_acquire());
        assert!(!sem.try_acquire());
        sem.release().unwrap();
        assert!(sem.try_acquire());
    }

    pub fn test_try_acquire_contended(semtype: SemType) {
        let sem = semtype(4).unwrap();
        sem.acquire().unwrap();
        let results = Rc::new(RefCell::new(Vec::new()));
        let (s, r) = (sem.clone(), results.clone());
        let f = move || {
            r.borrow_mut().push(s.try_acquire());
            r.borrow_mut().push(s.try_acquire());
            Ok(())
        };
        Bunch::new(f, 5, false).wait_for_finished();
        // There can be a thread switch between acquiring the semaphore and
        // appending the result, therefore results will not necessarily be
        // ordered.
        let mut got = results.borrow().clone();
        got.sort();
        let mut expected = vec![false; 7];
        expected.extend([true; 3]);
        assert_eq!(got, expected);
    }

    pub fn test_default_value(semtype: SemType) {
        // The default initial value is 1 (gevent: `semtype()`; the crate's
        // constructors take the value, so 1 is passed).
        let sem = semtype(1).unwrap();
        sem.acquire().unwrap();
        let s = sem.clone();
        let f = move || {
            s.acquire()?;
            s.release()?;
            Ok(())
        };
        let b = Bunch::new(f, 1, false);
        b.wait_for_started();
        _wait().unwrap();
        assert!(b.finished.borrow().is_empty());
        sem.release().unwrap();
        b.wait_for_finished();
    }

    pub fn test_with(semtype: SemType) {
        let sem = semtype(2).unwrap();
        let _with = |err: Option<Error>| -> Result<()> {
            let _g = sem.lock()?;
            assert!(sem.try_acquire());
            sem.release()?;
            let _g2 = sem.lock()?;
            assert!(!sem.try_acquire());
            if let Some(e) = err {
                return Err(e);
            }
            Ok(())
        };
        _with(None).unwrap();
        assert!(sem.try_acquire());
        sem.release().unwrap();
        let r = _with(Some(type_error()));
        assert!(is_type_error(&r), "{r:?}");
        assert!(sem.try_acquire());
        sem.release().unwrap();
    }
}

/// LockTests: tests for non-recursive, weak locks (which can be acquired
/// and released from different threads). `threading.Lock` is
/// `gevent.thread.allocate_lock`, a `BoundedSemaphore(1)`.
#[allow(non_snake_case)]
mod LockTests {
    use super::*;

    fn locktype() -> Semaphore {
        BoundedSemaphore::new(1).unwrap()
    }

    #[test]
    fn test_constructor() {
        let _d = common::deadline("LockTests::test_constructor", common::TEST_DEADLINE);
        base_lock_tests::test_constructor(locktype);
    }

    #[test]
    fn test_acquire_destroy() {
        let _d = common::deadline("LockTests::test_acquire_destroy", common::TEST_DEADLINE);
        base_lock_tests::test_acquire_destroy(locktype);
    }

    #[test]
    fn test_acquire_release() {
        let _d = common::deadline("LockTests::test_acquire_release", common::TEST_DEADLINE);
        base_lock_tests::test_acquire_release(locktype);
    }

    #[test]
    fn test_try_acquire() {
        let _d = common::deadline("LockTests::test_try_acquire", common::TEST_DEADLINE);
        base_lock_tests::test_try_acquire(locktype);
    }

    #[test]
    fn test_try_acquire_contended() {
        let _d = common::deadline(
            "LockTests::test_try_acquire_contended",
            common::TEST_DEADLINE,
        );
        base_lock_tests::test_try_acquire_contended(locktype);
    }

    #[test]
    fn test_acquire_contended() {
        let _d = common::deadline("LockTests::test_acquire_contended", common::TEST_DEADLINE);
        base_lock_tests::test_acquire_contended(locktype);
    }

    #[test]
    fn test_with() {
        let _d = common::deadline("LockTests::test_with", common::TEST_DEADLINE);
        base_lock_tests::test_with(locktype);
    }

    #[test]
    fn test_reacquire() {
        // Lock needs to be released before re-acquiring.
        let _d = common::deadline("LockTests::test_reacquire", common::TEST_DEADLINE);
        let lock = locktype();
        let phase = Rc::new(Cell::new(0usize));
        let (l, p) = (lock.clone(), phase.clone());
        start_new_thread(move || {
            l.acquire()?;
            p.set(p.get() + 1);
            l.acquire()?;
            p.set(p.get() + 1);
            Ok(())
        });
        while phase.get() == 0 {
            _wait().unwrap();
        }
        _wait().unwrap();
        assert_eq!(phase.get(), 1);
        lock.release().unwrap();
        while phase.get() == 1 {
            _wait().unwrap();
        }
        assert_eq!(phase.get(), 2);
    }

    #[test]
    fn test_different_thread() {
        // Lock can be released from a different thread.
        let _d = common::deadline("LockTests::test_different_thread", common::TEST_DEADLINE);
        let lock = locktype();
        lock.acquire().unwrap();
        let l = lock.clone();
        let f = move || l.release().map(|_| ());
        let b = Bunch::new(f, 1, false);
        b.wait_for_finished();
        lock.acquire().unwrap();
        lock.release().unwrap();
    }
}

/// RLockTests: tests for recursive locks (`gevent.lock.RLock`).
#[allow(non_snake_case)]
mod RLockTests {
    use super::*;

    fn locktype() -> RLock {
        RLock::new()
    }

    /// gevent raises RuntimeError; the crate reports
    /// `Error::InvalidArgument("cannot release un-acquired lock")`.
    fn is_runtime_error(r: &Result<()>) -> bool {
        matches!(r, Err(Error::InvalidArgument(_)))
    }

    #[test]
    fn test_constructor() {
        let _d = common::deadline("RLockTests::test_constructor", common::TEST_DEADLINE);
        base_lock_tests::test_constructor(locktype);
    }

    #[test]
    fn test_acquire_destroy() {
        let _d = common::deadline("RLockTests::test_acquire_destroy", common::TEST_DEADLINE);
        base_lock_tests::test_acquire_destroy(locktype);
    }

    #[test]
    fn test_acquire_release() {
        let _d = common::deadline("RLockTests::test_acquire_release", common::TEST_DEADLINE);
        base_lock_tests::test_acquire_release(locktype);
    }

    #[test]
    fn test_try_acquire() {
        let _d = common::deadline("RLockTests::test_try_acquire", common::TEST_DEADLINE);
        base_lock_tests::test_try_acquire(locktype);
    }

    #[test]
    fn test_try_acquire_contended() {
        let _d = common::deadline(
            "RLockTests::test_try_acquire_contended",
            common::TEST_DEADLINE,
        );
        base_lock_tests::test_try_acquire_contended(locktype);
    }

    #[test]
    fn test_acquire_contended() {
        let _d = common::deadline("RLockTests::test_acquire_contended", common::TEST_DEADLINE);
        base_lock_tests::test_acquire_contended(locktype);
    }

    #[test]
    fn test_with() {
        let _d = common::deadline("RLockTests::test_with", common::TEST_DEADLINE);
        base_lock_tests::test_with(locktype);
    }

    #[test]
    fn test_reacquire() {
        let _d = common::deadline("RLockTests::test_reacquire", common::TEST_DEADLINE);
        let lock = locktype();
        lock.acquire().unwrap();
        lock.acquire().unwrap();
        lock.release().unwrap();
        lock.acquire().unwrap();
        lock.release().unwrap();
        lock.release().unwrap();
    }

    #[test]
    fn test_release_unacquired() {
        // Cannot release an unacquired lock
        let _d = common::deadline("RLockTests::test_release_unacquired", common::TEST_DEADLINE);
        let lock = locktype();
        let r = lock.release();
        assert!(is_runtime_error(&r), "{r:?}");
        lock.acquire().unwrap();
        lock.acquire().unwrap();
        lock.release().unwrap();
        lock.acquire().unwrap();
        lock.release().unwrap();
        lock.release().unwrap();
        let r = lock.release();
        assert!(is_runtime_error(&r), "{r:?}");
    }

    #[test]
    fn test_different_thread() {
        // Cannot release from a different thread
        let _d = common::deadline("RLockTests::test_different_thread", common::TEST_DEADLINE);
        let lock = locktype();
        let l = lock.clone();
        let f = move || l.acquire().map(|_| ());
        let b = Bunch::new(f, 1, true);
        // try: ... finally: b.do_finish()
        let r = lock.release();
        b.do_finish();
        assert!(is_runtime_error(&r), "{r:?}");
    }

    #[test]
    fn test__is_owned() {
        let _d = common::deadline("RLockTests::test__is_owned", common::TEST_DEADLINE);
        let lock = locktype();
        assert!(!lock.is_owned());
        lock.acquire().unwrap();
        assert!(lock.is_owned());
        lock.acquire().unwrap();
        assert!(lock.is_owned());
        let result = Rc::new(RefCell::new(Vec::new()));
        let (l, r) = (lock.clone(), result.clone());
        let f = move || {
            r.borrow_mut().push(l.is_owned());
            Ok(())
        };
        Bunch::new(f, 1, false).wait_for_finished();
        assert!(!result.borrow()[0]);
        lock.release().unwrap();
        assert!(lock.is_owned());
        lock.release().unwrap();
        assert!(!lock.is_owned());
    }
}

/// EventTests: tests for Event objects (`gevent.event.Event`).
#[allow(non_snake_case)]
mod EventTests {
    use super::*;

    fn eventtype() -> Event {
        Event::new()
    }

    #[test]
    fn test_is_set() {
        let _d = common::deadline("EventTests::test_is_set", common::TEST_DEADLINE);
        let evt = eventtype();
        assert!(!evt.is_set());
        evt.set();
        assert!(evt.is_set());
        evt.set();
        assert!(evt.is_set());
        evt.clear();
        assert!(!evt.is_set());
        evt.clear();
        assert!(!evt.is_set());
    }

    fn _check_notify(evt: &Event) {
        // All threads get notified
        const N: usize = 5;
        let results1 = Rc::new(RefCell::new(Vec::new()));
        let results2 = Rc::new(RefCell::new(Vec::new()));
        let (e, r1, r2) = (evt.clone(), results1.clone(), results2.clone());
        let f = move || {
            e.wait()?;
            r1.borrow_mut().push(e.is_set());
            e.wait()?;
            r2.borrow_mut().push(e.is_set());
            Ok(())
        };
        let b = Bunch::new(f, N, false);
        b.wait_for_started();
        _wait().unwrap();
        assert_eq!(results1.borrow().len(), 0);
        evt.set();
        b.wait_for_finished();
        assert_eq!(*results1.borrow(), vec![true; N]);
        assert_eq!(*results2.borrow(), vec![true; N]);
    }

    #[test]
    fn test_notify() {
        let _d = common::deadline("EventTests::test_notify", common::TEST_DEADLINE);
        let evt = eventtype();
        _check_notify(&evt);
        // Another time, after an explicit clear()
        evt.set();
        evt.clear();
        _check_notify(&evt);
    }

    #[test]
    fn test_timeout() {
        let _d = common::deadline("EventTests::test_timeout", common::TEST_DEADLINE);
        let evt = eventtype();
        let results1 = Rc::new(RefCell::new(Vec::new()));
        let results2 = Rc::new(RefCell::new(Vec::<(bool, f64)>::new()));
        const N: usize = 5;
        let make_f = || {
            let (e, r1, r2) = (evt.clone(), results1.clone(), results2.clone());
            move || {
                e.wait_timeout(0.0)?;
                r1.borrow_mut().push(e.is_set());
                let t1 = Instant::now();
                e.wait_timeout(0.2)?;
                let r = e.is_set();
                let dt = common::elapsed(t1);
                r2.borrow_mut().push((r, dt));
                Ok(())
            }
        };
        Bunch::new(make_f(), N, false).wait_for_finished();
        assert_eq!(*results1.borrow(), vec![false; N]);
        for &(r, dt) in results2.borrow().iter() {
            assert!(!r);
            common::assert_between(dt, 0.18, 10.0);
        }
        // The event is set
        results1.borrow_mut().clear();
        results2.borrow_mut().clear();
        evt.set();
        Bunch::new(make_f(), N, false).wait_for_finished();
        assert_eq!(*results1.borrow(), vec![true; N]);
        for &(r, _dt) in results2.borrow().iter() {
            assert!(r);
        }
    }
}

/// SemaphoreTests: tests for unbounded semaphores (`gevent.lock.Semaphore`).
#[allow(non_snake_case)]
mod SemaphoreTests {
    use super::*;

    fn semtype(value: i64) -> Result<Semaphore> {
        Semaphore::new(value)
    }

    #[test]
    fn test_constructor() {
        let _d = common::deadline("SemaphoreTests::test_constructor", common::TEST_DEADLINE);
        base_semaphore_tests::test_constructor(semtype);
    }

    #[test]
    fn test_acquire() {
        let _d = common::deadline("SemaphoreTests::test_acquire", common::TEST_DEADLINE);
        base_semaphore_tests::test_acquire(semtype);
    }

    #[test]
    fn test_acquire_destroy() {
        let _d = common::deadline(
            "SemaphoreTests::test_acquire_destroy",
            common::TEST_DEADLINE,
        );
        base_semaphore_tests::test_acquire_destroy(semtype);
    }

    #[test]
    fn test_acquire_contended() {
        let _d = common::deadline(
            "SemaphoreTests::test_acquire_contended",
            common::TEST_DEADLINE,
        );
        base_semaphore_tests::test_acquire_contended(semtype);
    }

    #[test]
    fn test_try_acquire() {
        let _d = common::deadline("SemaphoreTests::test_try_acquire", common::TEST_DEADLINE);
        base_semaphore_tests::test_try_acquire(semtype);
    }

    #[test]
    fn test_try_acquire_contended() {
        let _d = common::deadline(
            "SemaphoreTests::test_try_acquire_contended",
            common::TEST_DEADLINE,
        );
        base_semaphore_tests::test_try_acquire_contended(semtype);
    }

    #[test]
    fn test_default_value() {
        let _d = common::deadline("SemaphoreTests::test_default_value", common::TEST_DEADLINE);
        base_semaphore_tests::test_default_value(semtype);
    }

    #[test]
    fn test_with() {
        let _d = common::deadline("SemaphoreTests::test_with", common::TEST_DEADLINE);
        base_semaphore_tests::test_with(semtype);
    }

    #[test]
    fn test_release_unacquired() {
        // Unbounded releases are allowed and increment the semaphore's
        // value
        let _d = common::deadline(
            "SemaphoreTests::test_release_unacquired",
            common::TEST_DEADLINE,
        );
        let sem = semtype(1).unwrap();
        sem.release().unwrap();
        sem.acquire().unwrap();
        sem.acquire().unwrap();
        sem.release().unwrap();
    }
}

/// BoundedSemaphoreTests: tests for bounded semaphores
/// (`gevent.lock.BoundedSemaphore`).
#[allow(non_snake_case)]
mod BoundedSemaphoreTests {
    use super::*;

    fn semtype(value: i64) -> Result<Semaphore> {
        BoundedSemaphore::new(value)
    }

    #[test]
    fn test_constructor() {
        let _d = common::deadline(
            "BoundedSemaphoreTests::test_constructor",
            common::TEST_DEADLINE,
        );
        base_semaphore_tests::test_constructor(semtype);
    }

    #[test]
    fn test_acquire() {
        let _d = common::deadline("BoundedSemaphoreTests::test_acquire", common::TEST_DEADLINE);
        base_semaphore_tests::test_acquire(semtype);
    }

    #[test]
    fn test_acquire_destroy() {
        let _d = common::deadline(
            "BoundedSemaphoreTests::test_acquire_destroy",
            common::TEST_DEADLINE,
        );
        base_semaphore_tests::test_acquire_destroy(semtype);
    }

    #[test]
    fn test_acquire_contended() {
        let _d = common::deadline(
            "BoundedSemaphoreTests::test_acquire_contended",
            common::TEST_DEADLINE,
        );
        base_semaphore_tests::test_acquire_contended(semtype);
    }

    #[test]
    fn test_try_acquire() {
        let _d = common::deadline(
            "BoundedSemaphoreTests::test_try_acquire",
            common::TEST_DEADLINE,
        );
        base_semaphore_tests::test_try_acquire(semtype);
    }

    #[test]
    fn test_try_acquire_contended() {
        let _d = common::deadline(
            "BoundedSemaphoreTests::test_try_acquire_contended",
            common::TEST_DEADLINE,
        );
        base_semaphore_tests::test_try_acquire_contended(semtype);
    }

    #[test]
    fn test_default_value() {
        let _d = common::deadline(
            "BoundedSemaphoreTests::test_default_value",
            common::TEST_DEADLINE,
        );
        base_semaphore_tests::test_default_value(semtype);
    }

    #[test]
    fn test_with() {
        let _d = common::deadline("BoundedSemaphoreTests::test_with", common::TEST_DEADLINE);
        base_semaphore_tests::test_with(semtype);
    }

    #[test]
    fn test_release_unacquired() {
        // Cannot go past the initial value (gevent: ValueError, the
        // crate's `Error::InvalidArgument`).
        let _d = common::deadline(
            "BoundedSemaphoreTests::test_release_unacquired",
            common::TEST_DEADLINE,
        );
        // gevent: `semtype()`, the default value 1.
        let sem = semtype(1).unwrap();
        let r = sem.release();
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
        sem.acquire().unwrap();
        sem.release().unwrap();
        let r = sem.release();
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
    }
}

// Not ported:
// - BaseLockTests::test_thread_leak (in LockTests and RLockTests):
//   Python-only (counts `threading.enumerate()` entries; greenlets are not
//   registered threads).
// - NativeRLockTests (the 12 RLockTests methods on the monkey-patched
//   stdlib `threading.RLock`): Python-only; the crate has one RLock,
//   already run by RLockTests.
// - ConditionAsRLockTests (12) and ConditionTests (test_acquire,
//   test_unacquired_wait, test_unacquired_notify, test_notify,
//   test_timeout): not yet ported: needs a Condition (stdlib
//   `threading.Condition` over gevent locks), which the crate does not
//   have.
// - BarrierTests: never instantiated by test__threading_2 (no gevent
//   Barrier).
