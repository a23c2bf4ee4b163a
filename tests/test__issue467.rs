//! Port of gevent's `src/gevent/tests/test__issue467.py`: `iwait` must not
//! end in `LoopExit` ("This operation would block forever") or an invalid
//! switch when its caller makes greenlets switch between the values it
//! takes.

mod common;

use std::error::Error as _;
use std::fmt;

use gevent::{Error, Greenlet, get_hub, iwait, joinall, sleep, spawn};

/// Python's `ValueError(i)`.
#[derive(Debug)]
struct ValueError(i32);

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ValueError({})", self.0)
    }
}

impl std::error::Error for ValueError {}

/// `worker`'s argument: the string "done" or an int.
#[derive(Clone, Debug, PartialEq)]
enum Arg {
    Str(&'static str),
    Int(i32),
}

fn worker(i: Arg) -> gevent::Result<Arg> {
    // Have one of them raise an exception to test that case
    if i == Arg::Int(2) {
        return Err(Error::custom(ValueError(2)));
    }
    Ok(i)
}

/// gevent's `error_fatal` (`Hub.SYSTEM_ERROR = object`): every error
/// reported to the hub is raised in the main greenlet, through the loop
/// when it is reported from another greenlet (`handle_system_error`).
fn error_fatal() {
    get_hub().set_handle_error(|_, err| get_hub().handle_system_error(err.clone()));
}

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("Test::test", common::TEST_DEADLINE);
        error_fatal();
        let mut finished = 0;
        // Wait on a group that includes one that will already be
        // done, plus some that will finish as we watch
        let done_worker = spawn(|| worker(Arg::Str("done")));
        joinall(std::slice::from_ref(&done_worker)).unwrap();

        let mut workers: Vec<Greenlet<Arg>> =
            (0..3).map(|i| spawn(move || worker(Arg::Int(i)))).collect();
        workers.push(done_worker);
        for r in iwait(&workers) {
            r.unwrap();
            finished += 1;
            // Simulate doing something that causes greenlets to switch;
            // a non-zero timeout is crucial
            match sleep(0.01) {
                Ok(()) => {}
                Err(ex) => {
                    let v = ex.source().and_then(|s| s.downcast_ref::<ValueError>());
                    let Some(v) = v else {
                        panic!("unexpected error from sleep: {ex:?}")
                    };
                    assert_eq!(v.0, 2);
                }
            }
        }

        assert_eq!(finished, 4);
    }
}

// Not ported: nothing.
