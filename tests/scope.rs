//! `gevent::scope`: scoped greenlets borrow from the enclosing greenlet's
//! stack, and the scope never ends (or unwinds) before they are dead,
//! whether the body succeeds, fails, panics, is killed, times out, or the
//! hub is destroyed. Drop counters prove the children's captures are gone
//! by then; under valgrind and ASan (tests/ANALYSERS.md) these tests also
//! prove no borrowed frame is touched after it is gone.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gevent::{Error, Timeout, get_hub, scope, sleep, spawn};

/// Counts its drops in a counter it borrows (so a drop after the scope
/// ended would touch a dead frame).
struct Borrowing<'a>(&'a Cell<usize>);

impl Drop for Borrowing<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn scope_waits_for_children_that_borrow_the_stack() {
    let _d = common::deadline("scope_waits", common::TEST_DEADLINE);
    let data = [1, 2, 3, 4];
    let sum = Cell::new(0);
    let drops = Cell::new(0);
    let r = scope(|s| {
        for chunk in data.chunks(2) {
            let (sum, drops) = (&sum, &drops);
            s.spawn(move || {
                let _b = Borrowing(drops);
                sleep(0.005)?;
                sum.set(sum.get() + chunk.iter().sum::<i32>());
                Ok(())
            });
        }
        Ok("body done")
    })
    .unwrap();
    assert_eq!(r, "body done");
    assert_eq!(sum.get(), 10);
    assert_eq!(drops.get(), 2);
}

#[test]
fn scope_children_may_spawn_more_children() {
    let _d = common::deadline("scope_nested_spawn", common::TEST_DEADLINE);
    let log = RefCell::new(Vec::new());
    scope(|s| {
        let log = &log;
        s.spawn(move || {
            log.borrow_mut().push("parent");
            s.spawn(move || {
                sleep(0.002)?;
                log.borrow_mut().push("grandchild");
                Ok(())
            });
            Ok(())
        });
        Ok(())
    })
    .unwrap();
    assert_eq!(*log.borrow(), ["parent", "grandchild"]);
}

#[test]
fn scope_kills_children_when_the_body_fails() {
    let _d = common::deadline("scope_body_fails", common::TEST_DEADLINE);
    let drops = Cell::new(0);
    let r: gevent::Result<()> = scope(|s| {
        for _ in 0..3 {
            let drops = &drops;
            s.spawn(move || {
                let _b = Borrowing(drops);
                sleep(10.0)
            });
        }
        sleep(0.0)?;
        Err(Error::msg("body failed"))
    });
    assert!(matches!(r, Err(Error::Custom(_))));
    assert_eq!(drops.get(), 3);
}

#[test]
fn scope_kills_children_when_the_enclosing_greenlet_is_killed() {
    let _d = common::deadline("scope_killed", common::TEST_DEADLINE);
    let drops = Rc::new(Cell::new(0usize));
    let children_killed = Rc::new(Cell::new(0usize));
    let (d, k) = (drops.clone(), children_killed.clone());
    let outer = spawn(move || {
        let local = Cell::new(0);
        let r = scope(|s| {
            let gs: Vec<_> = (0..4)
                .map(|_| {
                    let local = &local;
                    s.spawn(move || {
                        let _b = Borrowing(local);
                        sleep(10.0)
                    })
                })
                .collect();
            let r = sleep(10.0); // killed here
            let _ = gs;
            r
        });
        // Every child is dead before `local` goes away.
        d.set(local.get());
        k.set(4);
        r
    });
    sleep(0.01).unwrap();
    outer.kill().unwrap();
    assert!(outer.killed());
    assert_eq!(drops.get(), 4);
    assert_eq!(children_killed.get(), 4);
}

#[test]
fn scope_kills_children_when_its_wait_times_out() {
    let _d = common::deadline("scope_timeout", common::TEST_DEADLINE);
    let drops = Cell::new(0);
    let t = Timeout::start_new(0.02);
    let r = scope(|s| {
        let drops = &drops;
        let child = s.spawn(move || {
            let _b = Borrowing(drops);
            sleep(10.0)
        });
        Ok(child)
    });
    let err = r.expect_err("timed out");
    assert!(t.caused(&err), "{err:?}");
    assert_eq!(drops.get(), 1);
}

#[test]
fn scope_kills_children_when_the_body_panics() {
    let _d = common::deadline("scope_panics", common::TEST_DEADLINE);
    let drops = Cell::new(0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        scope(|s| -> gevent::Result<()> {
            let drops = &drops;
            s.spawn(move || {
                let _b = Borrowing(drops);
                sleep(10.0)
            });
            sleep(0.0)?;
            panic!("body panicked");
        })
    }));
    assert!(r.is_err());
    assert_eq!(drops.get(), 1);
}

#[test]
fn scope_is_sound_when_the_hub_is_destroyed() {
    let _d = common::deadline("scope_hub_destroyed", common::TEST_DEADLINE);
    let drops = Rc::new(Cell::new(0usize));
    let after = Rc::new(Cell::new(usize::MAX));
    let (d, a) = (drops.clone(), after.clone());
    let outer = spawn(move || {
        let local = Cell::new(0);
        struct Report<'a>(&'a Cell<usize>, Rc<Cell<usize>>);
        impl Drop for Report<'_> {
            // Runs as `outer` is unwound, after the scope ended: every
            // child must have dropped its borrow of `local` by then.
            fn drop(&mut self) {
                self.1.set(self.0.get());
            }
        }
        let _report = Report(&local, a);
        scope(|s| {
            for _ in 0..3 {
                let (local, d) = (&local, d.clone());
                s.spawn(move || {
                    let _b = Borrowing(local);
                    let r = sleep(10.0);
                    d.set(d.get() + 1);
                    r
                });
            }
            sleep(10.0)
        })
    });
    sleep(0.01).unwrap();
    get_hub().destroy();
    assert!(outer.ready());
    assert_eq!(drops.get(), 3, "every child ended");
    assert_eq!(after.get(), 3, "every child dropped its borrow first");
    // The thread goes on with a new hub.
    sleep(0.001).unwrap();
}

#[test]
fn scope_children_are_ended_before_a_force_unwound_parent_frame() {
    // The enclosing greenlet is unwound while its children are still
    // suspended (thread exit): they are ended before its frame goes.
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let seen = Arc::new(AtomicUsize::new(usize::MAX));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        let _outer = spawn(move || {
            let local = Cell::new(0);
            struct Report<'a>(&'a Cell<usize>, Arc<AtomicUsize>);
            impl Drop for Report<'_> {
                fn drop(&mut self) {
                    self.1.store(self.0.get(), Ordering::SeqCst);
                }
            }
            let _report = Report(&local, s2);
            scope(|s| {
                for _ in 0..2 {
                    let local = &local;
                    s.spawn(move || {
                        let _b = Borrowing(local);
                        sleep(10.0)
                    });
                }
                sleep(10.0)
            })
        });
        sleep(0.01).unwrap();
    })
    .join()
    .unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[test]
fn scope_refuses_to_run_inside_the_hub() {
    let _d = common::deadline("scope_in_hub", common::TEST_DEADLINE);
    let out: Rc<RefCell<Option<gevent::Result<()>>>> = Rc::default();
    let o = out.clone();
    let ran = Rc::new(Cell::new(false));
    let r2 = ran.clone();
    get_hub()
        .run_callback(move || {
            *o.borrow_mut() = Some(scope(|_| {
                r2.set(true);
                Ok(())
            }));
        })
        .unwrap();
    sleep(0.0).unwrap();
    assert!(matches!(
        out.borrow_mut().take(),
        Some(Err(Error::BlockingSwitchOut(_)))
    ));
    assert!(!ran.get());
}
