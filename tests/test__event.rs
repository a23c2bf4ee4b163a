//! Port of gevent 26.9.0 `src/gevent/tests/test__event.py`: `Event` and
//! `AsyncResult` waits and gets with timeouts (gevent's abstract W1/W2 and
//! G1-G4 contracts), `gevent.wait` over events, `set()` followed at once by
//! `clear()` still waking every waiter, async results as greenlet link
//! targets, `wait(count)`, and notification order while a notification
//! pass is pending.
//!
//! gevent's `error_fatal` (every class but TestAsyncResultAsLinkTarget):
//! an error reaching the hub fails the test; here an `ErrorLog` records
//! them and the test asserts it stayed empty. Methods that are not ported
//! are listed, with the reason, at the end of the file.

mod common;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Instant;

use common::ErrorLog;
use gevent::event::{AsyncResult, Event};
use gevent::timeout::{Timeout, TimeoutArg, with_timeout_value};
use gevent::*;

/// gevent's `DELAY = SMALL_TICK + SMALL_TICK_MAX_ADJ`.
const DELAY: f64 = common::SMALL_TICK + common::SMALL_TICK_MAX_ADJ;

/// gevent's `MyException(Exception)`.
#[derive(Debug)]
struct MyException(&'static str);

impl fmt::Display for MyException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MyException: {}", self.0)
    }
}

impl std::error::Error for MyException {}

/// `isinstance(err, MyException)`.
fn is_my_exception(err: &Error) -> bool {
    matches!(err, Error::Custom(e) if e.downcast_ref::<MyException>().is_some())
}

/// `greentest.ExpectedException`.
#[derive(Debug)]
struct ExpectedException(&'static str);

impl fmt::Display for ExpectedException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExpectedException: {}", self.0)
    }
}

impl std::error::Error for ExpectedException {}

/// `isinstance(err, greentest.ExpectedException)`.
fn is_expected_exception(err: &Error) -> bool {
    matches!(err, Error::Custom(e) if e.downcast_ref::<ExpectedException>().is_some())
}

/// gevent's `error_fatal`: no error may reach the hub during the test.
#[track_caller]
fn assert_no_errors(errors: &ErrorLog) {
    assert_eq!(errors.len(), 0, "unexpected errors: {:?}", errors.errors());
}

/// gevent's `AbstractGenericWaitTestCase` / `AbstractGenericGetTestCase`
/// (`gevent.testing.timing`), over a `wait(timeout)` function.
mod generic_wait {
    use super::*;

    /// `_DelayWaitMixin._wait_and_check(timeout=arg)` for any timeout
    /// argument (seconds or a `Timeout`): the call takes `seconds` (gevent's
    /// `getattr(timeout, 'seconds', timeout)`) within
    /// `[seconds - min_adj, seconds + max_adj]`.
    pub fn wait_and_check_arg<A, R>(
        wait: impl FnOnce(A) -> Result<R>,
        arg: A,
        seconds: f64,
        min_adj: f64,
        max_adj: f64,
    ) -> Result<R> {
        get_hub().loop_().update_now();
        let start = Instant::now();
        let result = wait(arg);
        common::assert_between(common::elapsed(start), seconds - min_adj, seconds + max_adj);
        result
    }

    /// W2/G1 `test_outer_timeout_is_not_lost`: while an outer
    /// `Timeout.start_new(SMALLEST_RELIABLE_DELAY, ref=False)` runs,
    /// `wait(timeout=1)` raises that very outer timeout.
    pub fn test_outer_timeout_is_not_lost<R: fmt::Debug>(wait: impl FnOnce(f64) -> Result<R>) {
        let errors = ErrorLog::install();
        let timeout = Timeout::start_new_ref(common::SMALLEST_RELIABLE_DELAY, false);
        match wait(1.0) {
            Err(e) => assert!(timeout.caused(&e), "not the outer timeout: {e:?}"),
            Ok(v) => panic!("the outer timeout was lost: returned {v:?}"),
        }
        timeout.close(); // finally: timeout.close()
        assert_no_errors(&errors);
    }

    /// W1 `test_returns_none_after_timeout` (`_default_wait_timeout =
    /// LARGE_TICK`, window -0.1 / +0.11): returns what the wait returned.
    pub fn test_returns_none_after_timeout<R>(wait: impl FnOnce(f64) -> Result<R>) -> R {
        let errors = ErrorLog::install();
        let r = wait_and_check_arg(
            wait,
            common::LARGE_TICK,
            common::LARGE_TICK,
            common::LARGE_TICK_MIN_ADJ,
            common::LARGE_TICK_MAX_ADJ,
        )
        .expect("wait must return after its timeout, not fail");
        assert_no_errors(&errors);
        r
    }
}

#[allow(non_snake_case)]
mod TestEventWait {
    use super::*;

    /// `Event().wait(timeout=timeout)`.
    fn wait(timeout: f64) -> Result<bool> {
        Event::new().wait_timeout(timeout)
    }

    #[test]
    fn test_returns_none_after_timeout() {
        let _d = common::deadline(
            "TestEventWait::test_returns_none_after_timeout",
            common::TEST_DEADLINE,
        );
        // gevent's `self.wait` returns None; the Rust form returns the flag:
        // false (falsy) after a timeout.
        let result = generic_wait::test_returns_none_after_timeout(wait);
        assert!(!result);
    }

    #[test]
    fn test_outer_timeout_is_not_lost() {
        let _d = common::deadline(
            "TestEventWait::test_outer_timeout_is_not_lost",
            common::TEST_DEADLINE,
        );
        generic_wait::test_outer_timeout_is_not_lost(wait);
    }

    #[test]
    fn test_cover() {
        let _d = common::deadline("TestEventWait::test_cover", common::TEST_DEADLINE);
        // str(Event()): the Rust form is Debug.
        let s = format!("{:?}", Event::new());
        assert!(!s.is_empty());
    }
}

#[allow(non_snake_case)]
mod TestGeventWaitOnEvent {
    use super::*;

    /// `gevent.wait([Event()], timeout=timeout)`.
    fn wait(timeout: f64) -> Result<usize> {
        let objs = [Event::new()];
        wait_timeout(&objs, timeout).map(|done| done.len())
    }

    #[test]
    fn test_returns_none_after_timeout() {
        let _d = common::deadline(
            "TestGeventWaitOnEvent::test_returns_none_after_timeout",
            common::TEST_DEADLINE,
        );
        // gevent's `self.wait` returns None; gevent.wait returns the ready
        // objects: none (falsy) after a timeout.
        let ready = generic_wait::test_returns_none_after_timeout(wait);
        assert_eq!(ready, 0);
    }

    #[test]
    fn test_outer_timeout_is_not_lost() {
        let _d = common::deadline(
            "TestGeventWaitOnEvent::test_outer_timeout_is_not_lost",
            common::TEST_DEADLINE,
        );
        generic_wait::test_outer_timeout_is_not_lost(wait);
    }

    #[test]
    fn test_set_during_wait() {
        let _d = common::deadline(
            "TestGeventWaitOnEvent::test_set_during_wait",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        // https://github.com/gevent/gevent/issues/771
        // broke in the refactoring. we must not add new links
        // while we're running the callback

        let event = Event::new();

        let ev = event.clone();
        let setter = move || {
            ev.set();
            Ok(())
        };

        let ev = event.clone();
        let waiter = move || {
            let s = spawn(setter);
            // let the setter set() the event;
            // when this method returns we'll be running in the
            // Event._notify_links callback (that is, it switched to us)
            let res = ev.wait()?;
            assert!(res);
            assert!(ev.ready());
            s.join()?; // make sure it's dead
            // Clear the event. Now we can't wait for the event without
            // another set to happen.
            ev.clear();
            assert!(!ev.ready());

            // Before the bug fix, this would return "immediately" with
            // event in the result list, because the _notify_links loop
            // would immediately add the waiter and call it
            let objs = [ev.clone()];
            let o = wait_timeout(&objs, 0.01)?;
            assert!(!ev.ready());
            assert!(
                !o.iter().any(|e| std::ptr::eq(*e, &objs[0])),
                "the cleared event is in the result"
            );
            Ok(())
        };

        spawn(waiter).join().unwrap();
        assert_no_errors(&errors);
    }
}

#[allow(non_snake_case)]
mod TestAsyncResultWait {
    use super::*;

    /// `AsyncResult().wait(timeout=timeout)`.
    fn wait(timeout: f64) -> Result<Option<()>> {
        AsyncResult::<()>::new().wait_timeout(timeout)
    }

    #[test]
    fn test_returns_none_after_timeout() {
        let _d = common::deadline(
            "TestAsyncResultWait::test_returns_none_after_timeout",
            common::TEST_DEADLINE,
        );
        let result = generic_wait::test_returns_none_after_timeout(wait);
        assert!(result.is_none());
    }

    #[test]
    fn test_outer_timeout_is_not_lost() {
        let _d = common::deadline(
            "TestAsyncResultWait::test_outer_timeout_is_not_lost",
            common::TEST_DEADLINE,
        );
        generic_wait::test_outer_timeout_is_not_lost(wait);
    }
}

#[allow(non_snake_case)]
mod TestWaitAsyncResult {
    use super::*;

    /// `gevent.wait([AsyncResult()], timeout=timeout)`.
    fn wait(timeout: f64) -> Result<usize> {
        let objs = [AsyncResult::<()>::new()];
        wait_timeout(&objs, timeout).map(|done| done.len())
    }

    #[test]
    fn test_returns_none_after_timeout() {
        let _d = common::deadline(
            "TestWaitAsyncResult::test_returns_none_after_timeout",
            common::TEST_DEADLINE,
        );
        let ready = generic_wait::test_returns_none_after_timeout(wait);
        assert_eq!(ready, 0);
    }

    #[test]
    fn test_outer_timeout_is_not_lost() {
        let _d = common::deadline(
            "TestWaitAsyncResult::test_outer_timeout_is_not_lost",
            common::TEST_DEADLINE,
        );
        generic_wait::test_outer_timeout_is_not_lost(wait);
    }
}

#[allow(non_snake_case)]
mod TestAsyncResultGet {
    use super::*;

    /// `AsyncResult().get(timeout=timeout)`: seconds, or a `Timeout` the
    /// call starts.
    fn wait(timeout: impl TimeoutArg) -> Result<()> {
        AsyncResult::<()>::new().get_timeout(timeout)
    }

    /// `_default_wait_timeout` (SMALL_TICK for a get test case).
    const DEFAULT_WAIT_TIMEOUT: f64 = common::SMALL_TICK;

    #[test]
    fn test_outer_timeout_is_not_lost() {
        let _d = common::deadline(
            "TestAsyncResultGet::test_outer_timeout_is_not_lost",
            common::TEST_DEADLINE,
        );
        generic_wait::test_outer_timeout_is_not_lost(wait);
    }

    #[test]
    fn test_raises_timeout_number() {
        let _d = common::deadline(
            "TestAsyncResultGet::test_raises_timeout_number",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        let r = generic_wait::wait_and_check_arg(
            wait,
            common::SMALL_TICK,
            common::SMALL_TICK,
            common::SMALL_TICK_MIN_ADJ,
            common::SMALL_TICK_MAX_ADJ,
        );
        // get raises Timeout after timeout expired
        assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
        assert_no_errors(&errors);
    }

    #[test]
    fn test_raises_timeout_Timeout() {
        let _d = common::deadline(
            "TestAsyncResultGet::test_raises_timeout_Timeout",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        // An unstarted Timeout: the call starts it, and raises that very
        // timeout (`assertIs(ex, timeout)`).
        let timeout = Timeout::new(Some(DEFAULT_WAIT_TIMEOUT));
        let r = generic_wait::wait_and_check_arg(
            wait,
            &timeout,
            timeout.seconds().unwrap(),
            common::SMALL_TICK_MIN_ADJ,
            common::SMALL_TICK_MAX_ADJ,
        );
        match &r {
            Err(e) => assert!(timeout.caused(e), "not the given timeout: {e:?}"),
            Ok(()) => panic!("must raise the given Timeout, got {r:?}"),
        }
        timeout.close(); // finally: timeout.close()
        assert_no_errors(&errors);
    }

    #[test]
    fn test_raises_timeout_Timeout_exc_customized() {
        let _d = common::deadline(
            "TestAsyncResultGet::test_raises_timeout_Timeout_exc_customized",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        // error = RuntimeError('expected error')
        let error = Error::msg("expected error");
        let timeout = Timeout::with_error(Some(DEFAULT_WAIT_TIMEOUT), error.clone());
        let r = generic_wait::wait_and_check_arg(
            wait,
            &timeout,
            timeout.seconds().unwrap(),
            common::SMALL_TICK_MIN_ADJ,
            common::SMALL_TICK_MAX_ADJ,
        );
        // assertRaises(RuntimeError), `exc.exception is error`: the very
        // same object (Error::Custom compares by identity).
        match &r {
            Err(e) => assert!(*e == error, "not the customized exception: {e:?}"),
            Ok(()) => panic!("must raise the customized exception, got {r:?}"),
        }
        timeout.close(); // finally: timeout.close()
        assert_no_errors(&errors);
    }
}

#[allow(non_snake_case)]
mod TestAsyncResult {
    use super::*;

    #[test]
    fn test_link() {
        let _d = common::deadline("TestAsyncResult::test_link", common::TEST_DEADLINE);
        let errors = ErrorLog::install();
        let ar = AsyncResult::<()>::new();
        // `assertRaises(TypeError, ar.rawlink, None)`: a non-callable link
        // does not compile in Rust. `ar.unlink(None)` twice: unlinking
        // something that is not linked does not raise (the Rust id of a
        // link already removed stands for None).
        let id = ar.rawlink(|| {});
        assert!(ar.unlink(id));
        ar.unlink(id); // doesn't raise
        ar.unlink(id); // doesn't raise
        let _ = format!("{ar:?}"); // str(ar): cover
        assert_no_errors(&errors);
    }

    #[test]
    fn test_set_exc() {
        let _d = common::deadline("TestAsyncResult::test_set_exc", common::TEST_DEADLINE);
        let errors = ErrorLog::install();
        let log: Rc<RefCell<Vec<(&'static str, Error)>>> = Rc::default();
        let e = AsyncResult::<()>::new();
        // `e.exc_info == ()` is Python-only (a traceback triple).
        assert!(e.exception().is_none());

        let (l, ee) = (log.clone(), e.clone());
        let waiter = move || {
            // with self.assertRaises(MyException) as exc: e.get()
            match ee.get() {
                Err(exc) if is_my_exception(&exc) => l.borrow_mut().push(("caught", exc)),
                other => panic!("e.get() must raise MyException, got {other:?}"),
            }
            Ok(())
        };
        spawn(waiter);
        let obj = Error::custom(MyException(""));
        e.set_exception(obj.clone());
        sleep(0.0).unwrap();
        // Error::Custom compares by identity: `('caught', obj)`.
        assert_eq!(*log.borrow(), vec![("caught", obj)]);
        assert_no_errors(&errors);
    }

    #[test]
    fn test_set() {
        let _d = common::deadline("TestAsyncResult::test_set", common::TEST_DEADLINE);
        let errors = ErrorLog::install();
        let event1 = AsyncResult::<&'static str>::new();
        let timer_exc = Error::custom(MyException("interrupted"));

        // Notice that this test is racy:
        // After DELAY, we set the event. We also try to immediately
        // raise the exception with a timer of 0 --- but that depends
        // on cycling the loop. Hence the fairly large value for DELAY.
        let e1 = event1.clone();
        let g = spawn_later(DELAY, move || {
            e1.set("hello event1");
            Ok(())
        })
        .unwrap();
        {
            // with gevent.Timeout.start_new(0, timer_exc):
            let t = Timeout::with_error(Some(0.0), timer_exc.clone());
            t.start().unwrap();
            let r = event1.get();
            match &r {
                Err(exc) => {
                    assert!(is_my_exception(exc), "{exc:?}");
                    assert!(*exc == timer_exc, "not timer_exc: {exc:?}");
                }
                Ok(v) => panic!("get() must raise MyException, returned {v:?}"),
            }
            t.cancel();
        }
        g.kill().unwrap(); // _close_on_teardown(g.kill)
        assert_no_errors(&errors);
    }

    #[test]
    fn test_set_with_timeout() {
        let _d = common::deadline(
            "TestAsyncResult::test_set_with_timeout",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        let event2 = AsyncResult::<Rc<()>>::new();

        // X = object(): identity through an Rc.
        let x = Rc::new(());
        let result = with_timeout_value(DELAY, x.clone(), || event2.get()).unwrap();
        assert!(
            Rc::ptr_eq(&result, &x),
            "Nobody sent anything to event2 yet it received {result:?}"
        );
        assert_no_errors(&errors);
    }

    #[test]
    fn test_nonblocking_get() {
        let _d = common::deadline(
            "TestAsyncResult::test_nonblocking_get",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        let ar = AsyncResult::<()>::new();
        // `ar.get(block=False)` and `ar.get_nowait()` are both `try_get()`.
        let r = ar.try_get();
        assert!(
            matches!(r, Err(Error::Timeout(_))),
            "get(block=False): {r:?}"
        );
        let r = ar.try_get();
        assert!(matches!(r, Err(Error::Timeout(_))), "get_nowait(): {r:?}");
        assert_no_errors(&errors);
    }
}

/// `TestAsyncResultAsLinkTarget` (`error_fatal = False`). gevent links the
/// AsyncResult itself (`g.link(s1)`); the Rust link target is
/// `move |g| s1.set_from(g)`.
#[allow(non_snake_case)]
mod TestAsyncResultAsLinkTarget {
    use super::*;

    #[test]
    fn test_set() {
        let _d = common::deadline(
            "TestAsyncResultAsLinkTarget::test_set",
            common::TEST_DEADLINE,
        );
        let g = spawn(|| Ok(1));
        let (s1, s2, s3) = (
            AsyncResult::<i32>::new(),
            AsyncResult::<i32>::new(),
            AsyncResult::<i32>::new(),
        );
        let s = s1.clone();
        g.link(move |g| s.set_from(g));
        let s = s2.clone();
        g.link_value(move |g| s.set_from(g));
        let s = s3.clone();
        g.link_exception(move |g| s.set_from(g));
        assert_eq!(s1.get().unwrap(), 1);
        assert_eq!(s2.get().unwrap(), 1);
        // X = object(): a sentinel no set() can produce (None).
        let result = with_timeout_value(DELAY, None, || s3.get().map(Some)).unwrap();
        assert_eq!(result, None, "s3 was set");
    }

    #[test]
    fn test_set_exception() {
        let _d = common::deadline(
            "TestAsyncResultAsLinkTarget::test_set_exception",
            common::TEST_DEADLINE,
        );
        let func = || -> Result<i32> {
            Err(Error::custom(ExpectedException(
                "TestAsyncResultAsLinkTarget.test_set_exception",
            )))
        };
        let g = spawn(func);
        let (s1, s2, s3) = (
            AsyncResult::<i32>::new(),
            AsyncResult::<i32>::new(),
            AsyncResult::<i32>::new(),
        );
        let s = s1.clone();
        g.link(move |g| s.set_from(g));
        let s = s2.clone();
        g.link_value(move |g| s.set_from(g));
        let s = s3.clone();
        g.link_exception(move |g| s.set_from(g));
        let r = s1.get();
        assert!(
            matches!(&r, Err(e) if is_expected_exception(e)),
            "s1.get() must raise ExpectedException: {r:?}"
        );
        let result = with_timeout_value(DELAY, None, || s2.get().map(Some)).unwrap();
        assert_eq!(result, None, "s2 was set");
        let r = s3.get();
        assert!(
            matches!(&r, Err(e) if is_expected_exception(e)),
            "s3.get() must raise ExpectedException: {r:?}"
        );
    }
}

/// `TestEvent_SetThenClear.test`, shared by the subclasses that only
/// change `N`.
fn set_then_clear(n: usize) {
    let errors = ErrorLog::install();
    let e = Event::new();
    let waiters: Vec<Greenlet<bool>> = (0..n)
        .map(|_| {
            let e = e.clone();
            spawn(move || e.wait())
        })
        .collect();
    sleep(0.001).unwrap();
    e.set();
    e.clear();
    for greenlet in &waiters {
        greenlet.join().unwrap();
    }
    assert_no_errors(&errors);
}

#[allow(non_snake_case)]
mod TestEvent_SetThenClear {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("TestEvent_SetThenClear::test", common::TEST_DEADLINE);
        set_then_clear(1);
    }
}

#[allow(non_snake_case)]
mod TestEvent_SetThenClear100 {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("TestEvent_SetThenClear100::test", common::TEST_DEADLINE);
        set_then_clear(100);
    }
}

#[allow(non_snake_case)]
mod TestEvent_SetThenClear1000 {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("TestEvent_SetThenClear1000::test", common::TEST_DEADLINE);
        set_then_clear(1000);
    }
}

/// `TestWait` and its subclasses: `N = 5`, `period = timeout / 100.0`
/// computed on TestWait (timeout 1), so 0.01 for every subclass.
mod test_wait {
    use super::*;

    const N: usize = 5;
    const PERIOD: f64 = 1.0 / 100.0;

    /// `_sender`: sets the last event, then the last async result, one
    /// every `period`, until both lists are empty.
    fn sender(mut events: Vec<Event>, mut asyncs: Vec<AsyncResult<()>>) -> Result<()> {
        while !events.is_empty() || !asyncs.is_empty() {
            sleep(PERIOD)?;
            if let Some(e) = events.pop() {
                e.set();
            }
            sleep(PERIOD)?;
            if let Some(a) = asyncs.pop() {
                a.set(());
            }
        }
        Ok(())
    }

    /// `TestWait.test` with the class's `count` and `timeout`.
    pub fn test(count: Option<usize>, timeout: Option<f64>) {
        let errors = ErrorLog::install();
        let events: Vec<Event> = (0..N).map(|_| Event::new()).collect();
        let asyncs: Vec<AsyncResult<()>> = (0..N).map(|_| AsyncResult::new()).collect();
        let max_len = events.len() + asyncs.len();
        let (ev, asy) = (events.clone(), asyncs.clone());
        let sender = spawn(move || sender(ev, asy));
        // events + asyncs: gevent.wait takes a list of mixed objects.
        let objs: Vec<&dyn Waitable> = events
            .iter()
            .map(|e| e as &dyn Waitable)
            .chain(asyncs.iter().map(|a| a as &dyn Waitable))
            .collect();
        // gevent.wait(events + asyncs, count=self.count, timeout=self.timeout)
        let results = match (count, timeout) {
            (None, None) => wait(&objs),
            (None, Some(t)) => wait_timeout(&objs, t),
            (Some(c), t) => wait_count(&objs, c, t),
        }
        .unwrap();
        let mut expected_len = match timeout {
            None => max_len,
            Some(t) => max_len.min((t / PERIOD) as usize),
        };
        match count {
            None => assert!(sender.ready(), "the sender is still running"),
            Some(c) => {
                expected_len = c.min(expected_len);
                assert!(!sender.ready(), "the sender already finished");
                sender.kill().unwrap();
            }
        }
        assert_eq!(
            expected_len,
            results.len(),
            "({expected_len}, {}, results)",
            results.len()
        );
        assert_no_errors(&errors);
    }
}

#[allow(non_snake_case)]
mod TestWait {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("TestWait::test", common::TEST_DEADLINE);
        test_wait::test(None, Some(1.0));
    }
}

#[allow(non_snake_case)]
mod TestWait_notimeout {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("TestWait_notimeout::test", common::TEST_DEADLINE);
        test_wait::test(None, None);
    }
}

#[allow(non_snake_case)]
mod TestWait_count1 {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("TestWait_count1::test", common::TEST_DEADLINE);
        test_wait::test(Some(1), Some(1.0));
    }
}

#[allow(non_snake_case)]
mod TestWait_count2 {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("TestWait_count2::test", common::TEST_DEADLINE);
        test_wait::test(Some(2), Some(1.0));
    }
}

#[allow(non_snake_case)]
mod TestEventBasics {
    use super::*;

    #[test]
    fn test_wait_while_notifying() {
        let _d = common::deadline(
            "TestEventBasics::test_wait_while_notifying",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        // If someone calls wait() on an Event that is
        // ready, and notifying other waiters, that new
        // waiter still runs at the end, but this does not
        // require a trip around the event loop.
        // See https://github.com/gevent/gevent/issues/1520
        let event = Event::new();
        let results: Rc<RefCell<Vec<i32>>> = Rc::default();

        let wait_then_append = {
            let (event, results) = (event.clone(), results.clone());
            move |arg: i32| -> Result<()> {
                event.wait()?;
                results.borrow_mut().push(arg);
                Ok(())
            }
        };

        let f = wait_then_append.clone();
        spawn(move || f(1));
        let f = wait_then_append.clone();
        spawn(move || f(2));
        idle().unwrap();
        assert_eq!(2, event.linkcount());
        let check = get_hub().loop_().check().unwrap();
        let r = results.clone();
        check.start(move || r.borrow_mut().push(4)).unwrap();
        event.set();
        wait_then_append(3).unwrap();
        assert_eq!(*results.borrow(), vec![1, 2, 3]);
        // Note that the check event DID NOT run.
        check.stop();
        check.close();
        assert_no_errors(&errors);
    }

    #[test]
    fn test_gevent_wait_twice_when_already_set() {
        let _d = common::deadline(
            "TestEventBasics::test_gevent_wait_twice_when_already_set",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        let event = Event::new();
        event.set();
        let objs = [event];
        // First one works fine.
        let result = wait(&objs).unwrap();
        assert_eq!(result.len(), 1);
        assert!(std::ptr::eq(result[0], &objs[0]), "result == [event]");
        // Second one used to fail with an AssertionError,
        // now it passes
        let result = wait(&objs).unwrap();
        assert_eq!(result.len(), 1);
        assert!(std::ptr::eq(result[0], &objs[0]), "result == [event]");
        assert_no_errors(&errors);
    }
}

// Not ported from test__event.py:
//
// * TestAsyncResult.test_get_repeated_does_not_accumulate_traceback
//   (Python-only: the length of the exception's __traceback__).
// * TestAsyncResult.test_set_exc: the `e.exc_info == ()` check only
//   (Python-only: a traceback triple); the rest is ported.
// * TestAsyncResult.test_link: `assertRaises(TypeError, ar.rawlink, None)`
//   only (Python-only: a non-callable link does not compile in Rust); the
//   rest is ported.
// * TestAsyncResultCrossThread: test_cross_thread_use,
//   test_cross_thread_use_bg, test_cross_thread_use_timed,
//   test_cross_thread_use_timed_bg, test_cross_thread_use_set_in_bg,
//   test_cross_thread_use_set_in_bg2,
//   test_cross_thread_callback_can_run_before_scheduling_returns (not yet
//   ported: needs the cross-thread set (issue 3)).
// * TestEventCrossThread: the same 7 methods (not yet ported: needs the
//   cross-thread set (issue 3)).
// * TestEventBasics.test_weakref (Python-only: weakref support of the
//   Python object; a Rust handle is owned, `Rc`/`Weak` are the caller's).
