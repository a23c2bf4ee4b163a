//! Port of gevent's `src/gevent/tests/test__joinall.py`: `joinall` accepts
//! a list that names the same greenlet twice.

mod common;

use common::ErrorLog;
use gevent::{joinall, spawn};

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("Test::test", common::TEST_DEADLINE);
        // gevent's error_fatal: no error may reach the hub.
        let errors = ErrorLog::install();

        fn func() -> gevent::Result<()> {
            Ok(())
        }

        let a = spawn(func);
        let b = spawn(func);
        joinall(&[a.clone(), b, a]).unwrap();
        assert_eq!(errors.len(), 0, "unexpected errors: {:?}", errors.errors());
    }
}

// Not ported: nothing.
