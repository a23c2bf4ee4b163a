//! Port of gevent's `src/gevent/tests/test__api.py`: killing a sleeping
//! greenlet, nested `with_timeout`, invalid switches into a waiting
//! greenlet, and timers/spawns made by a greenlet that exits.

mod common;

use std::cell::RefCell;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use gevent::core::READ;
use gevent::timeout::with_timeout_value;
use gevent::{Error, Greenlet, Result, get_hub, sleep, spawn, spawn_later, with_timeout};

const DELAY: f64 = 0.1;

/// `gevent.util.wrap_errors(AssertionError, f)`: gevent's AssertionError
/// subclasses (InvalidSwitchError, BlockingSwitchOutError,
/// ConcurrentObjectUseError) are returned as the value instead of raised.
fn wrap_assertion_errors(r: Result<()>) -> Result<Option<Error>> {
    match r {
        Ok(()) => Ok(None),
        Err(
            e @ (Error::InvalidSwitch(_)
            | Error::BlockingSwitchOut(_)
            | Error::ConcurrentObjectUse(_)),
        ) => Ok(Some(e)),
        Err(e) => Err(e),
    }
}

/// `assert isinstance(result, AssertionError)` and
/// `assert 'Invalid switch' in str(result)`.
fn assert_invalid_switch(result: Result<Option<Error>>) {
    match result {
        Ok(Some(e @ Error::InvalidSwitch(_))) => {
            assert!(e.to_string().contains("Invalid switch"), "{e}")
        }
        other => panic!("expected an Invalid switch AssertionError, got {other:?}"),
    }
}

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test_killing_dormant() {
        let _d = common::deadline("Test::test_killing_dormant", common::TEST_DEADLINE);
        let state = Rc::new(RefCell::new(Vec::<&str>::new()));

        let st = state.clone();
        let test = move || {
            st.borrow_mut().push("start");
            if sleep(DELAY * 3.0).is_err() {
                // catching GreenletExit
                st.borrow_mut().push("except");
            }
            st.borrow_mut().push("finished");
            Ok(())
        };

        let g = spawn(test);
        sleep(DELAY / 2.0).unwrap();
        assert_eq!(*state.borrow(), ["start"]);
        g.kill().unwrap();
        // will not get there, unless switching is explicitly scheduled by kill
        assert_eq!(*state.borrow(), ["start", "except", "finished"]);
    }

    #[test]
    fn test_nested_with_timeout() {
        let _d = common::deadline("Test::test_nested_with_timeout", common::TEST_DEADLINE);
        // gevent.with_timeout(0.2, gevent.sleep, 2, timeout_value=1); sleep
        // returns None.
        let func = || with_timeout_value(0.2, Some(1), || sleep(2.0).map(|()| None));
        let r = with_timeout(0.1, func);
        assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
    }

    #[test]
    fn test_sleep_invalid_switch() {
        let _d = common::deadline("Test::test_sleep_invalid_switch", common::TEST_DEADLINE);
        let p = spawn(|| wrap_assertion_errors(sleep(2.0)));
        // wait for p to start, because actual order of switching is reversed
        sleep(0.0).unwrap();
        let praw = p.raw().clone();
        let switcher: Greenlet<()> = spawn(move || {
            praw.switch(None)?;
            Ok(())
        });
        let result = p.get();
        assert_invalid_switch(result);
        switcher.kill().unwrap();
    }

    /// gevent's `socket.wait_read(fd)` is `hub.wait(hub.loop.io(fd, READ))`;
    /// the same raw io watcher on one end of a socketpair (never readable:
    /// nothing is written) expresses exactly that behaviour.
    fn _test_wait_read_invalid_switch(sleep_for: Option<f64>) {
        let (sock1, sock2) = UnixStream::pair().unwrap();
        let fd = sock1.as_raw_fd();
        let p = spawn(move || {
            let hub = get_hub();
            let io = hub.loop_().io(fd, READ)?;
            wrap_assertion_errors(hub.wait(&io))
        });
        // gevent.get_hub().loop.run_callback(switch_None, p)
        let praw = p.raw().clone();
        get_hub()
            .loop_()
            .run_callback(move || {
                // switch_None(g): g.switch(None)
                let _ = praw.switch(None);
            })
            .unwrap();
        if let Some(s) = sleep_for {
            sleep(s).unwrap();
        }
        let result = p.get();
        assert_invalid_switch(result);
        drop(sock1);
        drop(sock2);
    }

    #[test]
    fn test_invalid_switch_None() {
        let _d = common::deadline("Test::test_invalid_switch_None", common::TEST_DEADLINE);
        _test_wait_read_invalid_switch(None);
    }

    #[test]
    fn test_invalid_switch_0() {
        let _d = common::deadline("Test::test_invalid_switch_0", common::TEST_DEADLINE);
        _test_wait_read_invalid_switch(Some(0.0));
    }

    #[test]
    fn test_invalid_switch_1() {
        let _d = common::deadline("Test::test_invalid_switch_1", common::TEST_DEADLINE);
        _test_wait_read_invalid_switch(Some(0.001));
    }
}

#[allow(non_snake_case)]
mod TestTimers {
    use super::*;

    #[test]
    fn test_timer_fired() {
        let _d = common::deadline("TestTimers::test_timer_fired", common::TEST_DEADLINE);
        let lst = Rc::new(RefCell::new(vec![1]));

        let l = lst.clone();
        let func = move || {
            spawn_later(0.01, move || Ok(l.borrow_mut().pop()))?;
            sleep(0.02)
        };

        spawn(func);
        // Func has not run yet
        assert_eq!(*lst.borrow(), [1]);
        // Run callbacks but don't yield.
        sleep(0.0).unwrap();

        // Let timers fire. Func should be done.
        sleep(0.1).unwrap();
        assert!(lst.borrow().is_empty(), "{:?}", lst.borrow());
    }

    #[test]
    fn test_spawn_is_not_cancelled() {
        let _d = common::deadline(
            "TestTimers::test_spawn_is_not_cancelled",
            common::TEST_DEADLINE,
        );
        let lst = Rc::new(RefCell::new(vec![1]));

        let l = lst.clone();
        let func = move || {
            spawn(move || Ok(l.borrow_mut().pop()));
            // exiting immediately, but lst.pop must be called
            Ok(())
        };
        spawn(func);
        sleep(0.1).unwrap();
        assert!(lst.borrow().is_empty(), "{:?}", lst.borrow());
    }
}

// Not ported: nothing. test_invalid_switch_None/_0/_1 use a raw io watcher
// on a socketpair fd with `hub.wait(&io)` in place of
// `gevent.socket.wait_read(fd)`, which is exactly that (see
// `_test_wait_read_invalid_switch`).
