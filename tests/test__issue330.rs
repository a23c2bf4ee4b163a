//! Port of gevent's `src/gevent/tests/test__issue330.py`: a greenlet that
//! is killed before it is ever started is never switched to, whichever way
//! it is killed (`gevent.kill`, `Greenlet.kill`, `Greenlet.throw`); and
//! `gevent.kill(g, exc)` delivers that very exception object.

mod common;

use std::cell::RefCell;
use std::error::Error as _;
use std::fmt;
use std::rc::Rc;

use common::ErrorLog;
use gevent::{Error, Greenlet, joinall, kill, kill_with, sleep, spawn};

#[derive(Debug)]
struct MyException;

impl fmt::Display for MyException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MyException")
    }
}

impl std::error::Error for MyException {}

/// gevent's `error_fatal`: no error may reach the hub during the test.
fn assert_no_errors(errors: &ErrorLog) {
    assert_eq!(errors.len(), 0, "unexpected errors: {:?}", errors.errors());
}

#[allow(non_snake_case)]
mod TestSwitch {
    use super::*;

    /// The TestCase's state, set up fresh for every test (`setUp`).
    struct Fixture {
        switched_to: Rc<RefCell<[bool; 2]>>,
        caught: Rc<RefCell<Option<Error>>>,
        errors: ErrorLog,
    }

    fn set_up() -> Fixture {
        Fixture {
            switched_to: Rc::new(RefCell::new([false, false])),
            caught: Rc::new(RefCell::new(None)),
            errors: ErrorLog::install(),
        }
    }

    impl Fixture {
        /// `spawn(self.should_never_run, i)`.
        fn spawn_should_never_run(&self, i: usize) -> Greenlet<()> {
            let switched_to = self.switched_to.clone();
            spawn(move || {
                switched_to.borrow_mut()[i] = true;
                Ok(())
            })
        }

        fn check(&self, g: &Greenlet<()>, g2: &Greenlet<()>) {
            joinall(&[g.clone(), g2.clone()]).unwrap();
            assert_eq!([false, false], *self.switched_to.borrow());

            // They both have a GreenletExit as their value (the crate: no
            // value, `get()` gives `Err(GreenletExit)`, `killed()`).
            assert!(g.killed());
            assert!(g2.killed());
            assert!(matches!(g.get(), Err(Error::GreenletExit)));
            assert!(matches!(g2.get(), Err(Error::GreenletExit)));
            assert_eq!(g.value(), None);
            assert_eq!(g2.value(), None);

            // They both have no reported exc_info / exception
            assert!(g.exception().is_none());
            assert!(g2.exception().is_none());
            assert_no_errors(&self.errors);
        }

        fn catcher(&self) -> impl FnOnce() -> gevent::Result<()> + 'static {
            let caught = self.caught.clone();
            move || {
                loop {
                    match sleep(0) {
                        Ok(()) => {}
                        Err(e @ Error::Custom(_))
                            if e.source().is_some_and(|s| s.is::<MyException>()) =>
                        {
                            *caught.borrow_mut() = Some(e);
                            return Ok(());
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }

    #[test]
    fn test_gevent_kill() {
        let _d = common::deadline("TestSwitch::test_gevent_kill", common::TEST_DEADLINE);
        let t = set_up();
        let g = t.spawn_should_never_run(0); // create but do not switch to
        let g2 = t.spawn_should_never_run(1); // create but do not switch to
        // Using gevent.kill
        kill(&g);
        kill(&g2);
        t.check(&g, &g2);
    }

    #[test]
    fn test_greenlet_kill() {
        let _d = common::deadline("TestSwitch::test_greenlet_kill", common::TEST_DEADLINE);
        let t = set_up();
        // killing directly
        let g = t.spawn_should_never_run(0);
        let g2 = t.spawn_should_never_run(1);
        g.kill().unwrap();
        g2.kill().unwrap();
        t.check(&g, &g2);
    }

    #[test]
    fn test_throw() {
        let _d = common::deadline("TestSwitch::test_throw", common::TEST_DEADLINE);
        let t = set_up();
        // throwing
        let g = t.spawn_should_never_run(0);
        let g2 = t.spawn_should_never_run(1);
        g.throw(Error::GreenletExit);
        g2.throw(Error::GreenletExit);
        t.check(&g, &g2);
    }

    #[test]
    fn test_kill_exception() {
        let _d = common::deadline("TestSwitch::test_kill_exception", common::TEST_DEADLINE);
        let t = set_up();
        // Killing with gevent.kill gets the right exception,
        // and we can pass exception objects, not just exception classes.

        let g = spawn(t.catcher());
        g.start();
        sleep(0).unwrap();
        let exc = Error::custom(MyException);
        kill_with(&g, exc.clone());
        sleep(0).unwrap();

        let caught = t.caught.borrow().clone();
        let caught = caught.expect("catcher did not catch the exception");
        assert!(caught.source().is_some_and(|s| s.is::<MyException>()));
        // the very object passed to kill (`Error::Custom` compares by identity)
        assert_eq!(caught, exc);
        assert!(g.exception().is_none());
        assert_no_errors(&t.errors);
    }
}

// Not ported: nothing. `check`'s `exc_info is None` has no separate Rust
// form (there is no traceback); it is covered by `exception().is_none()`.
