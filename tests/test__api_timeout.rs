//! Port of gevent's `src/gevent/tests/test__api_timeout.py`: a Timeout used
//! as a `with` block (`Timeout::run`) is pending only inside it, raises
//! itself or its custom error, can be cancelled inside the block; the
//! silent form (`with_timeout_silent`); `Timeout(None)` never fires; a
//! Timeout does not keep its custom error alive; nested timeouts report
//! the one that fired; starting a Timeout and `sleep` each refresh the
//! loop's clock exactly once.

mod common;

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use common::{SMALL_TICK as DELAY, assert_between, elapsed};
use gevent::timeout::{Timeout, with_timeout_silent};
use gevent::{Error, Result, get_hub, sleep};

/// The test's `class Error(Exception)`.
#[derive(Debug)]
struct TestError;

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Error")
    }
}

impl std::error::Error for TestError {}

/// Python's `ZeroDivisionError` (the class `sys.exc_info()[0]` gives).
#[derive(Debug)]
struct ZeroDivisionError;

impl fmt::Display for ZeroDivisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("division by zero")
    }
}

impl std::error::Error for ZeroDivisionError {}

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test_timeout_calls_update_now() {
        let _d = common::deadline("Test::test_timeout_calls_update_now", common::TEST_DEADLINE);
        // gevent swaps `hub.loop` for a proxy counting `update_now()`;
        // the crate's loop counts its own calls, so count the difference.
        let hub = get_hub();
        let lp = hub.loop_();
        let before = lp.update_now_calls();

        let t = Timeout::new(Some(DELAY * 2.0));
        t.run(|| {
            assert!(t.pending(), "{t:?}");
            Ok(())
        })
        .unwrap();

        assert_eq!(1, lp.update_now_calls() - before);
    }

    #[test]
    fn test_sleep_calls_update_now() {
        let _d = common::deadline("Test::test_sleep_calls_update_now", common::TEST_DEADLINE);
        let hub = get_hub();
        let lp = hub.loop_();
        let before = lp.update_now_calls();

        sleep(0.01).unwrap();

        assert_eq!(1, lp.update_now_calls() - before);
    }

    #[test]
    fn test_api() {
        let _d = common::deadline("Test::test_api", common::TEST_DEADLINE);
        // Nothing happens if with-block finishes before the timeout expires
        let t = Timeout::new(Some(DELAY * 2.0));
        assert!(!t.pending(), "{t:?}");
        t.run(|| {
            assert!(t.pending(), "{t:?}");
            sleep(DELAY)
        })
        .unwrap();
        // check if timer was actually cancelled
        assert!(!t.pending(), "{t:?}");
        sleep(DELAY * 2.0).unwrap();

        // An exception will be raised if it's not
        let t = Timeout::new(Some(DELAY));
        let exc = t.run(|| sleep(DELAY * 10.0));
        match &exc {
            // assertIs(exc.exception, t)
            Err(e @ Error::Timeout(_)) => assert!(t.caused(e), "not t: {e:?}"),
            other => panic!("expected a Timeout, got {other:?}"),
        }

        // You can customize the exception raised:
        let r = Timeout::with_error(
            Some(DELAY),
            std::io::Error::other("Operation takes way too long").into(),
        )
        .run(|| sleep(DELAY * 10.0));
        assert!(
            matches!(r, Err(Error::Io(_))),
            "expected IOError, got {r:?}"
        );

        // Providing classes instead of values should be possible too (Rust
        // has only values: ValueError is `Error::InvalidArgument`):
        let r = Timeout::with_error(Some(DELAY), Error::InvalidArgument("".into()))
            .run(|| sleep(DELAY * 10.0));
        assert!(
            matches!(r, Err(Error::InvalidArgument(_))),
            "expected ValueError, got {r:?}"
        );

        // with Timeout(DELAY, sys.exc_info()[0]) inside `except
        // ZeroDivisionError`:
        let r: Result<()> = (|| {
            Timeout::with_error(Some(DELAY), Error::custom(ZeroDivisionError)).run(|| {
                sleep(DELAY * 10.0)?;
                panic!("should not get there")
            })?;
            panic!("should not get there")
        })();
        assert!(
            matches!(&r, Err(Error::Custom(e)) if e.is::<ZeroDivisionError>()),
            "expected ZeroDivisionError, got {r:?}"
        );

        // It's possible to cancel the timer inside the block:
        let timer = Timeout::new(Some(DELAY));
        timer
            .run(|| {
                timer.cancel();
                sleep(DELAY * 2.0)
            })
            .unwrap();

        // To silent the exception before exiting the block, pass False as
        // second parameter.
        let xdelay = 0.1;
        let start = Instant::now();
        with_timeout_silent(xdelay, || sleep(xdelay * 2.0)).unwrap();
        let delta = elapsed(start);
        // assertTimeWithinRange(delta, 0, XDELAY * 2)
        assert_between(delta, 0.0, xdelay * 2.0);

        // passing None as seconds disables the timer
        Timeout::new(None).run(|| sleep(DELAY)).unwrap();
        sleep(DELAY).unwrap();
    }

    #[test]
    fn test_ref() {
        let _d = common::deadline("Test::test_ref", common::TEST_DEADLINE);
        // err = Error(); err_ref = weakref.ref(err)
        let err: Arc<dyn std::error::Error + Send + Sync> = Arc::new(TestError);
        let err_ref = Arc::downgrade(&err);
        Timeout::with_error(Some(DELAY * 2.0), Error::Custom(err))
            .run(|| sleep(DELAY))
            .unwrap();
        // del err; gc.collect(): `err` was moved into the Timeout, which
        // is gone with its block.
        assert!(
            err_ref.upgrade().is_none(),
            "the Timeout kept its error alive"
        );
    }

    #[test]
    fn test_nested_timeout() {
        let _d = common::deadline("Test::test_nested_timeout", common::TEST_DEADLINE);
        with_timeout_silent(DELAY, || -> Result<()> {
            with_timeout_silent(DELAY * 10.0, || sleep(DELAY * 3.0 * 20.0))?;
            panic!("should not get there")
        })
        .unwrap();

        let t1 = Timeout::new(Some(DELAY));
        t1.run(|| {
            let t2 = Timeout::new(Some(DELAY * 20.0));
            t2.run(|| {
                let exc = sleep(DELAY * 30.0);
                match &exc {
                    // assertIs(exc.exception, t1)
                    Err(e @ Error::Timeout(_)) => assert!(t1.caused(e), "not t1: {e:?}"),
                    other => panic!("expected a Timeout, got {other:?}"),
                }

                assert!(!t1.pending(), "{t1:?}");
                assert!(t2.pending(), "{t2:?}");
                Ok(())
            })?;

            assert!(!t2.pending(), "{t2:?}");
            Ok(())
        })
        .unwrap();

        let t1 = Timeout::new(Some(DELAY * 20.0));
        t1.run(|| {
            let t2 = Timeout::new(Some(DELAY));
            t2.run(|| {
                let exc = sleep(DELAY * 30.0);
                match &exc {
                    // assertIs(exc.exception, t2)
                    Err(e @ Error::Timeout(_)) => assert!(t2.caused(e), "not t2: {e:?}"),
                    other => panic!("expected a Timeout, got {other:?}"),
                }

                assert!(t1.pending(), "{t1:?}");
                assert!(!t2.pending(), "{t2:?}");
                Ok(())
            })
        })
        .unwrap();

        assert!(!t1.pending(), "{t1:?}");
    }
}

// Adapted:
// - Test.test_timeout_calls_update_now, Test.test_sleep_calls_update_now:
//   gevent replaces `hub.loop` with a proxy counting `loop.update_now()`
//   calls (and, for the timeout, a fake timer); the crate's `Loop` counts
//   them itself (`update_now_calls`), so the ports assert that the count
//   grows by exactly 1 across the `with Timeout(DELAY * 2)` block and the
//   `sleep(0.01)`, with the real timer.
//
// Not ported:
// - The flaky-test decorators (`reraises_flaky_timeout`,
//   `reraises_flaky_race_condition`, `skipOnAppVeyor`, `skipOnPyPy3OnCI`)
//   have no equivalent: the bodies run as they are.
