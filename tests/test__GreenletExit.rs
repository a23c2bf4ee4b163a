//! Port of gevent 26.9.0 `src/gevent/tests/test__GreenletExit.py`.
//!
//! The gevent script asserts that `GreenletExit` is a `BaseException` but
//! not an `Exception`: code that handles ordinary failures does not treat
//! a kill as one. In the crate every failure is a `gevent::Error`
//! (`BaseException`), and `Error::is_greenlet_exit` is what sets
//! `GreenletExit` apart from the ordinary errors (`Exception`).

mod common;

use gevent::Error;

#[test]
#[allow(non_snake_case)]
fn test__GreenletExit() {
    let _d = common::deadline("test__GreenletExit", common::TEST_DEADLINE);
    // assert issubclass(GreenletExit, BaseException)
    let exit: Error = Error::GreenletExit;
    assert_eq!(exit.kind_name(), "GreenletExit");
    // assert not issubclass(GreenletExit, Exception)
    assert!(exit.is_greenlet_exit());
    assert!(!Error::msg("an ordinary exception").is_greenlet_exit());
}
