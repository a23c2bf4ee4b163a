//! Port of gevent's `src/gevent/tests/test__systemerror.py`: a system error
//! (`SystemExit`, `KeyboardInterrupt`, `SystemError`) raised in a loop
//! callback or a greenlet is re-raised in the main greenlet, at whatever
//! blocking call it is in; an ordinary error is only reported.
//!
//! gevent's abstract `Test` is run by two classes, `TestCallback` (the error
//! is raised by a `loop.run_callback` callback, which here "raises" by
//! panicking with the `gevent::Error`) and `TestSpawn` (raised by a spawned
//! greenlet, which here returns `Err(..)`). gevent runs them with
//! `error_fatal = False`: the hub's default `handle_error` stays installed.

mod common;

use gevent::core::Callback;
use gevent::{Error, Greenlet, get_hub, sleep, spawn};

const MSG: &str = "should be re-raised and caught";

#[derive(Clone, Copy)]
enum Kind {
    Callback,
    Spawn,
}

/// `self.x`: what `start` made.
enum Started {
    Callback(Callback),
    Spawn(Greenlet<()>),
}

/// `start(raise_, ex)`: raises `err` in the background.
fn start(kind: Kind, err: Error) -> Started {
    match kind {
        Kind::Callback => Started::Callback(
            get_hub()
                .loop_()
                .run_callback(move || std::panic::panic_any(err))
                .unwrap(),
        ),
        Kind::Spawn => Started::Spawn(spawn(move || Err(err))),
    }
}

/// The classes' `tearDown`.
fn tear_down(x: Started) {
    match x {
        // TestCallback: assert not self.x.pending
        Started::Callback(cb) => assert!(!cb.pending(), "{cb:?}"),
        // TestSpawn: gevent.sleep(0.0001); assert self.x.dead
        Started::Spawn(g) => {
            sleep(0.0001).unwrap();
            assert!(g.dead());
        }
    }
}

fn test_sys_exit(kind: Kind) {
    // self.start(sys.exit, MSG)
    let x = start(kind, Error::SystemExit(MSG.into()));

    match sleep(0.001) {
        Err(Error::SystemExit(m)) => assert_eq!(&*m, MSG),
        other => panic!("must raise SystemExit, got {other:?}"),
    }
    tear_down(x);
}

fn test_keyboard_interrupt(kind: Kind) {
    let x = start(kind, Error::KeyboardInterrupt);

    match sleep(0.001) {
        Err(Error::KeyboardInterrupt) => {}
        other => panic!("must raise KeyboardInterrupt, got {other:?}"),
    }
    tear_down(x);
}

/// gevent first does `monkey.patch_sys(stderr=True)` (Python-only, not
/// ported); the rest is the same: the sleep loop is interrupted by the
/// KeyboardInterrupt.
fn test_keyboard_interrupt_stderr_patched(kind: Kind) {
    let x = start(kind, Error::KeyboardInterrupt);
    loop {
        match sleep(0.1) {
            Ok(()) => continue,
            Err(Error::KeyboardInterrupt) => break, // expected
            Err(e) => panic!("expected KeyboardInterrupt, got {e:?}"),
        }
    }
    tear_down(x);
}

fn test_system_error(kind: Kind) {
    let x = start(kind, Error::SystemError(MSG.into()));

    // with self.assertRaisesRegex(SystemError, MSG): gevent.sleep(0.002)
    match sleep(0.002) {
        Err(e @ Error::SystemError(_)) => assert!(e.to_string().contains(MSG), "{e}"),
        other => panic!("must raise SystemError, got {other:?}"),
    }
    tear_down(x);
}

fn test_exception(kind: Kind) {
    let x = start(
        kind,
        Error::msg("regular exception must not kill the program"),
    );
    sleep(0.001).unwrap();
    tear_down(x);
}

#[allow(non_snake_case)]
mod TestCallback {
    use super::*;

    #[test]
    fn test_sys_exit() {
        let _d = common::deadline("TestCallback::test_sys_exit", common::TEST_DEADLINE);
        super::test_sys_exit(Kind::Callback);
    }

    #[test]
    fn test_keyboard_interrupt() {
        let _d = common::deadline(
            "TestCallback::test_keyboard_interrupt",
            common::TEST_DEADLINE,
        );
        super::test_keyboard_interrupt(Kind::Callback);
    }

    #[test]
    fn test_keyboard_interrupt_stderr_patched() {
        let _d = common::deadline(
            "TestCallback::test_keyboard_interrupt_stderr_patched",
            common::TEST_DEADLINE,
        );
        super::test_keyboard_interrupt_stderr_patched(Kind::Callback);
    }

    #[test]
    fn test_system_error() {
        let _d = common::deadline("TestCallback::test_system_error", common::TEST_DEADLINE);
        super::test_system_error(Kind::Callback);
    }

    #[test]
    fn test_exception() {
        let _d = common::deadline("TestCallback::test_exception", common::TEST_DEADLINE);
        super::test_exception(Kind::Callback);
    }
}

#[allow(non_snake_case)]
mod TestSpawn {
    use super::*;

    #[test]
    fn test_sys_exit() {
        let _d = common::deadline("TestSpawn::test_sys_exit", common::TEST_DEADLINE);
        super::test_sys_exit(Kind::Spawn);
    }

    #[test]
    fn test_keyboard_interrupt() {
        let _d = common::deadline("TestSpawn::test_keyboard_interrupt", common::TEST_DEADLINE);
        super::test_keyboard_interrupt(Kind::Spawn);
    }

    #[test]
    fn test_keyboard_interrupt_stderr_patched() {
        let _d = common::deadline(
            "TestSpawn::test_keyboard_interrupt_stderr_patched",
            common::TEST_DEADLINE,
        );
        super::test_keyboard_interrupt_stderr_patched(Kind::Spawn);
    }

    #[test]
    fn test_system_error() {
        let _d = common::deadline("TestSpawn::test_system_error", common::TEST_DEADLINE);
        super::test_system_error(Kind::Spawn);
    }

    #[test]
    fn test_exception() {
        let _d = common::deadline("TestSpawn::test_exception", common::TEST_DEADLINE);
        super::test_exception(Kind::Spawn);
    }
}

// Not ported:
// - test_keyboard_interrupt_stderr_patched: only its
//   `monkey.patch_sys(stderr=True)` / restore of sys.stderr is left out
//   (Python-only monkey-patching); the method itself is ported in both
//   classes.
// - TestCallback.test_exception's libuv-only override (an extra
//   sleep(0.001) first): libuv only; the crate runs libev.
