//! Port of gevent 26.9.0 `src/gevent/tests/test__greenletset.py`:
//! `gevent.pool.Group` membership, `join(raise_error=True)`, blocking and
//! non-blocking `kill`, a group kill delivered only once per member, and
//! `killall` over a collection with and without a timeout.
//!
//! The class is a `greentest.TestCase` (`error_fatal`): an error reaching
//! the hub fails the test; here an `ErrorLog` records them and each test
//! asserts it stayed empty. gevent's `GreenletSubclass` is a plain
//! `Greenlet` (Python subclassing).

mod common;

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::Instant;

use common::ErrorLog;
use gevent::pool::Group;
use gevent::timeout::with_timeout_value;
use gevent::*;

/// gevent's `DELAY = timing.LARGE_TICK`.
const DELAY: f64 = common::LARGE_TICK;

/// gevent's `SpecialError(Exception)`.
#[derive(Debug)]
struct SpecialError;

impl fmt::Display for SpecialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpecialError")
    }
}

impl std::error::Error for SpecialError {}

fn is_special(err: &Error) -> bool {
    matches!(err, Error::Custom(e) if e.downcast_ref::<SpecialError>().is_some())
}

/// `ZeroDivisionError` of `1 / 0`.
#[derive(Debug)]
struct ZeroDivisionError;

impl fmt::Display for ZeroDivisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("division by zero")
    }
}

impl std::error::Error for ZeroDivisionError {}

/// gevent's `Undead`: sleeps forever, counting every exception thrown into
/// it, until a `SpecialError` arrives.
fn undead(shot_count: Rc<Cell<u32>>) -> impl FnOnce() -> Result<()> {
    move || {
        loop {
            match sleep(1.0) {
                Ok(()) => {}
                Err(e) if is_special(&e) => break,
                Err(_) => shot_count.set(shot_count.get() + 1),
            }
        }
        Ok(())
    }
}

/// gevent's `error_fatal`: no error may reach the hub during the test.
#[track_caller]
fn assert_no_errors(errors: &ErrorLog) {
    assert_eq!(errors.len(), 0, "unexpected errors: {:?}", errors.errors());
}

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test_basic() {
        let _d = common::deadline("Test::test_basic", common::TEST_DEADLINE);
        let errors = ErrorLog::install();
        let s = Group::new();
        s.spawn(|| sleep(common::LARGE_TICK));
        assert_eq!(s.len(), 1, "{s:?}");
        s.spawn(|| sleep(common::LARGE_TICK * 5.0));
        assert_eq!(s.len(), 2, "{s:?}");
        sleep(0.0).unwrap();
        sleep(common::LARGE_TICK * 2.0 + common::LARGE_TICK_MIN_ADJ).unwrap();
        assert_eq!(s.len(), 1, "{s:?}");
        sleep(common::LARGE_TICK * 5.0 + common::LARGE_TICK_MIN_ADJ).unwrap();
        assert!(s.is_empty(), "{s:?}");
        assert_no_errors(&errors);
    }

    #[test]
    fn test_waitall() {
        let _d = common::deadline("Test::test_waitall", common::TEST_DEADLINE);
        let errors = ErrorLog::install();
        let s = Group::new();
        s.spawn(|| sleep(DELAY));
        s.spawn(|| sleep(DELAY * 2.0));
        assert_eq!(s.len(), 2, "{s:?}");
        let start = Instant::now();
        s.join_raise_error().unwrap();
        let delta = common::elapsed(start);
        assert!(s.is_empty());
        assert_eq!(s.len(), 0);
        common::assert_between(delta, DELAY * 1.9, DELAY * 2.5);
        assert_no_errors(&errors);
    }

    #[test]
    fn test_kill_block() {
        let _d = common::deadline("Test::test_kill_block", common::TEST_DEADLINE);
        let errors = ErrorLog::install();
        let s = Group::new();
        s.spawn(|| sleep(DELAY));
        s.spawn(|| sleep(DELAY * 2.0));
        assert_eq!(s.len(), 2, "{s:?}");
        let start = Instant::now();
        s.kill().unwrap();
        assert!(s.is_empty());
        assert_eq!(s.len(), 0);
        let delta = common::elapsed(start);
        assert!(delta < DELAY * 0.8, "{delta}");
        assert_no_errors(&errors);
    }

    #[test]
    fn test_kill_noblock() {
        let _d = common::deadline("Test::test_kill_noblock", common::TEST_DEADLINE);
        let errors = ErrorLog::install();
        let s = Group::new();
        s.spawn(|| sleep(DELAY));
        s.spawn(|| sleep(DELAY * 2.0));
        assert_eq!(s.len(), 2, "{s:?}");
        s.kill_nowait();
        assert_eq!(s.len(), 2, "{s:?}");
        sleep(0.0001).unwrap();
        assert!(s.is_empty());
        assert_eq!(s.len(), 0);
        assert_no_errors(&errors);
    }

    #[test]
    fn test_kill_fires_once() {
        let _d = common::deadline("Test::test_kill_fires_once", common::TEST_DEADLINE);
        let errors = ErrorLog::install();
        let u1 = Rc::new(Cell::new(0u32));
        let u2 = Rc::new(Cell::new(0u32));
        let p1: Greenlet<()> = spawn(undead(u1.clone()));
        let p2: Greenlet<()> = spawn(undead(u2.clone()));

        let check = |count1: u32, count2: u32| {
            assert!(p1.started());
            assert!(p2.started());
            assert!(!p1.dead(), "{p1:?}");
            assert!(!p2.dead(), "{p2:?}");
            assert_eq!(u1.get(), count1);
            assert_eq!(u2.get(), count2);
        };

        sleep(0.01).unwrap();
        let s: Group = [&p1, &p2].into_iter().collect();
        assert_eq!(s.len(), 2, "{s:?}");
        check(0, 0);
        s.killone_nowait(&p1);
        check(0, 0);
        sleep(0.0).unwrap();
        check(1, 0);
        s.killone(&p1).unwrap();
        check(1, 0);
        s.killone(&p1).unwrap();
        check(1, 0);
        s.kill_nowait();
        s.kill_nowait();
        s.kill_nowait();
        check(1, 0);
        sleep(DELAY).unwrap();
        check(1, 1);
        // X = object(); with_timeout(DELAY, s.kill, block=True,
        // timeout_value=X) is X.
        let kill_result = with_timeout_value(DELAY, "X", || s.kill().map(|()| "killed")).unwrap();
        assert_eq!(kill_result, "X");
        assert_eq!(s.len(), 2, "{s:?}");
        check(1, 1);

        p1.kill_with(Error::custom(SpecialError)).unwrap();
        p2.kill_with(Error::custom(SpecialError)).unwrap();
        assert_no_errors(&errors);
    }

    #[test]
    fn test_killall_subclass() {
        let _d = common::deadline("Test::test_killall_subclass", common::TEST_DEADLINE);
        let errors = ErrorLog::install();
        let p1: Greenlet<i32> = Greenlet::spawn(|| Err(Error::custom(ZeroDivisionError)));
        let p2: Greenlet<()> = Greenlet::spawn(|| sleep(10.0));
        let s = Group::new();
        // Group([p1, p2]) with members of different result types.
        s.add(&p1);
        s.add(&p2);
        s.kill().unwrap();
        assert_no_errors(&errors);
    }

    #[test]
    fn test_killall_iterable_argument_non_block() {
        let _d = common::deadline(
            "Test::test_killall_iterable_argument_non_block",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        let p1: Greenlet<()> = Greenlet::spawn(|| sleep(0.5));
        let p2: Greenlet<()> = Greenlet::spawn(|| sleep(0.5));
        let s = vec![p1, p2];
        killall_with(&s, Error::GreenletExit, false, None).unwrap();
        sleep(0.5).unwrap();
        for g in &s {
            assert!(g.dead());
        }
        assert_no_errors(&errors);
    }

    /// gevent's `f`: sleeps 1.5 s; whatever interrupts it, sleeps 1 s more.
    fn f() -> Result<()> {
        if sleep(1.5).is_err() {
            sleep(1.0)?;
        }
        Ok(())
    }

    #[test]
    fn test_killall_iterable_argument_timeout_not_started() {
        let _d = common::deadline(
            "Test::test_killall_iterable_argument_timeout_not_started",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        let p1: Greenlet<()> = Greenlet::spawn(f);
        let p2: Greenlet<()> = Greenlet::spawn(f);
        let s = vec![p1, p2];
        killall_with(&s, Error::GreenletExit, true, Some(0.5)).unwrap();

        for g in &s {
            assert!(g.dead(), "{g:?}");
        }
        assert_no_errors(&errors);
    }

    #[test]
    fn test_killall_iterable_argument_timeout_started() {
        let _d = common::deadline(
            "Test::test_killall_iterable_argument_timeout_started",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        let p1: Greenlet<()> = Greenlet::spawn(f);
        let p2: Greenlet<()> = Greenlet::spawn(f);
        let s = vec![p1, p2];
        // Get them both running.
        sleep(common::SMALLEST_RELIABLE_DELAY).unwrap();
        let r = killall_with(&s, Error::GreenletExit, true, Some(0.5));
        assert!(matches!(&r, Err(e) if e.is_timeout()), "{r:?}");

        for g in &s {
            assert!(!g.dead(), "{g:?}");
        }
        assert_no_errors(&errors);
    }
}

// Own tests: what the port does not pin.
mod own {
    use super::*;

    /// Members of different result types live in one group; iteration
    /// gives them back, typed again through `downcast`.
    #[test]
    fn group_holds_members_of_any_type() {
        let _d = common::deadline(
            "own::group_holds_members_of_any_type",
            common::TEST_DEADLINE,
        );
        let s = Group::new();
        let a = s.spawn(|| Ok(1u8));
        let b = s.spawn(|| Ok("b"));
        let members = s.greenlets();
        assert_eq!(members.len(), 2);
        assert!(members[0] == a && members[1] == b);
        assert_eq!(members[0].downcast::<u8>(), Some(a.clone()));
        assert!(members[1].downcast::<u8>().is_none());
        assert!(s.contains(&a) && s.contains(&members[1]));
        assert!(!s.contains(&getcurrent()));
        s.join().unwrap();
        assert!(s.is_empty() && !s.contains(&a));
        assert_eq!(b.get().unwrap(), "b");
    }

    /// `join_raise_error` raises the failure of a member; plain `join` does
    /// not.
    #[test]
    fn join_raise_error_raises_member_failure() {
        let _d = common::deadline(
            "own::join_raise_error_raises_member_failure",
            common::TEST_DEADLINE,
        );
        let errors = ErrorLog::install();
        let s = Group::new();
        s.spawn(|| -> Result<()> { Err(Error::custom(SpecialError)) });
        s.spawn(|| sleep(0.01));
        let r = s.join_raise_error();
        assert!(matches!(&r, Err(e) if is_special(e)), "{r:?}");
        assert_eq!(errors.len(), 1);
        s.spawn(|| -> Result<()> { Err(Error::custom(SpecialError)) });
        assert!(s.join().unwrap());
    }

    /// A member discarded is neither tracked nor killed; `kill` of an empty
    /// group returns at once; `killone` of a non-member does nothing.
    #[test]
    fn discard_and_killone_non_member() {
        let _d = common::deadline("own::discard_and_killone_non_member", common::TEST_DEADLINE);
        let s = Group::new();
        let g = s.spawn(|| sleep(10.0));
        s.discard(&g);
        assert!(s.is_empty());
        s.kill().unwrap();
        s.killone(&g).unwrap();
        sleep(0.01).unwrap();
        assert!(!g.dead());
        g.kill().unwrap();
    }

    /// A kill with a timeout that expires returns false, and the group
    /// keeps its undead members.
    #[test]
    fn kill_timeout_reports_members_left() {
        let _d = common::deadline(
            "own::kill_timeout_reports_members_left",
            common::TEST_DEADLINE,
        );
        let u = Rc::new(Cell::new(0u32));
        let s = Group::new();
        let g: Greenlet<()> = s.spawn(undead(u.clone()));
        sleep(0.0).unwrap();
        assert!(!s.kill_timeout(0.05).unwrap());
        assert_eq!(u.get(), 1);
        assert_eq!(s.len(), 1);
        assert!(!s.killone_timeout(&g, 0.01).unwrap());
        g.kill_with(Error::custom(SpecialError)).unwrap();
        assert!(s.join_timeout(1.0).unwrap());
    }

    /// The non-blocking kills work from inside the hub (a rawlink).
    #[test]
    fn kill_nowait_from_the_hub() {
        let _d = common::deadline("own::kill_nowait_from_the_hub", common::TEST_DEADLINE);
        let s = Group::new();
        s.spawn(|| sleep(10.0));
        let trigger: Greenlet<()> = spawn(|| Ok(()));
        let s2 = s.clone();
        let blocked = Rc::new(Cell::new(None));
        let b2 = blocked.clone();
        trigger.rawlink(move |_| {
            s2.kill_nowait();
            b2.set(Some(matches!(s2.kill(), Err(Error::BlockingSwitchOut(_)))));
        });
        assert!(s.join_timeout(1.0).unwrap());
        assert_eq!(blocked.get(), Some(true));
    }
}

// Not ported: none. All 9 methods of test__greenletset.py are ported;
// `GreenletSubclass` is a plain `Greenlet` (Python subclassing).
