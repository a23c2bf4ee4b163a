//! Port of gevent's `src/gevent/tests/test__issue607.py`: a greenlet
//! killed with an exception fails with it; a plain kill is a successful
//! `GreenletExit`.

mod common;

use std::error::Error as _;
use std::fmt;

use common::ErrorLog;
use gevent::{Error, sleep, spawn};

/// gevent's `ExpectedError(greentest.ExpectedException)`.
#[derive(Debug)]
struct ExpectedError;

impl fmt::Display for ExpectedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExpectedError")
    }
}

impl std::error::Error for ExpectedError {}

fn is_expected_error(e: &Error) -> bool {
    matches!(e, Error::Custom(_)) && e.source().is_some_and(|s| s.is::<ExpectedError>())
}

/// Only ExpectedError reports reached the hub.
fn assert_only_expected(errors: &ErrorLog) {
    let errs = errors.errors();
    assert!(
        errs.iter().all(|(_, e)| is_expected_error(e)),
        "unexpected errors: {errs:?}"
    );
}

fn f() -> gevent::Result<()> {
    sleep(999)?;
    Ok(())
}

#[allow(non_snake_case)]
mod TestKillWithException {
    use super::*;

    #[test]
    fn test_kill_without_exception() {
        let _d = common::deadline(
            "TestKillWithException::test_kill_without_exception",
            common::TEST_DEADLINE,
        );
        // gevent's error_fatal: no error may reach the hub.
        let errors = ErrorLog::install();
        let g = spawn(f);
        g.kill().unwrap();
        assert!(g.successful());
        // gevent: `g.get()` returns a GreenletExit instance; the crate's
        // `get()` gives `Err(GreenletExit)` for a killed greenlet.
        assert!(matches!(g.get(), Err(Error::GreenletExit)));
        assert!(g.killed());
        assert_eq!(errors.len(), 0, "unexpected errors: {:?}", errors.errors());
    }

    #[test]
    fn test_kill_with_exception() {
        let _d = common::deadline(
            "TestKillWithException::test_kill_with_exception",
            common::TEST_DEADLINE,
        );
        // issue-607 pointed this case.
        // gevent's error_fatal with `ignoring_expected_test_error()`: a
        // report of the ExpectedError is tolerated, any other error fails.
        let errors = ErrorLog::install();
        let g = spawn(f);
        g.kill_with(Error::custom(ExpectedError)).unwrap();
        assert!(!g.successful());
        let r = g.get();
        assert!(matches!(&r, Err(e) if is_expected_error(e)), "{r:?}");
        assert_eq!(g.value(), None);
        assert!(g.exception().is_some_and(|e| is_expected_error(&e)));
        assert_only_expected(&errors);
    }

    #[test]
    fn test_kill_with_exception_after_started() {
        let _d = common::deadline(
            "TestKillWithException::test_kill_with_exception_after_started",
            common::TEST_DEADLINE,
        );
        // error_fatal with `ignoring_expected_test_error()`, as above.
        let errors = ErrorLog::install();
        let g = spawn(f);
        g.join_timeout(0).unwrap();
        g.kill_with(Error::custom(ExpectedError)).unwrap();

        assert!(!g.successful());
        let r = g.get();
        assert!(matches!(&r, Err(e) if is_expected_error(e)), "{r:?}");
        assert_eq!(g.value(), None);
        assert!(g.exception().is_some_and(|e| is_expected_error(&e)));
        assert_only_expected(&errors);
    }
}

// Not ported: nothing.
