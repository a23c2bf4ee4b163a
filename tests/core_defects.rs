//! Regression tests for the core defects found by probing the crate from
//! outside (a greenlet whose stack cannot be allocated, unstarted greenlets
//! leaked with their hub, `Hub::destroy` from inside the hub, and the small
//! misuse cases). Each test is named after what it pins down.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gevent::event::Event;
use gevent::lock::Semaphore;
use gevent::{Error, get_hub, sleep, spawn, spawn_later, try_spawn};

/// Counts its drops.
struct Counted(Rc<Cell<usize>>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

fn is_enomem(e: &Error) -> bool {
    matches!(e, Error::Io(io) if io.raw_os_error() == Some(libc::ENOMEM))
}

const ENOMEM_CHILD: &str = "GEVENT_TEST_ENOMEM_CHILD";

#[test]
fn stack_allocation_failure_ends_the_greenlet_with_the_error() {
    if common::asan_run() {
        eprintln!("skipped under AddressSanitizer: it cannot run under RLIMIT_AS");
        return;
    }
    let (ok, out, err) = common::run_child("enomem_child", &[(ENOMEM_CHILD, "1")]);
    assert!(ok, "child failed:\n{out}\n{err}");
    assert!(
        out.contains("enomem child: ok"),
        "child output:\n{out}\n{err}"
    );
}

fn vm_size_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = s
        .lines()
        .find(|l| l.starts_with("VmSize:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}

/// Under an address-space limit that lets the first stack slab exist but
/// not a second one: the greenlets that get no stack end with ENOMEM as
/// their exception (links fire, `join` returns, `get` returns the error),
/// `try_spawn` reports it to its caller, and once stacks are free again
/// spawning works.
#[test]
#[ignore = "child process of stack_allocation_failure_ends_the_greenlet_with_the_error: it lowers RLIMIT_AS for the whole process"]
fn enomem_child() {
    if std::env::var(ENOMEM_CHILD).is_err() {
        return;
    }
    // Start the hub and fill the first slab's free list with warm stacks.
    let warm: Vec<_> = (0..8).map(|_| spawn(|| sleep(0.0))).collect();
    gevent::joinall(&warm).unwrap();
    let limit = vm_size_bytes() + 24 * 1024 * 1024;
    let rl = libc::rlimit {
        rlim_cur: limit,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: plain syscall on a valid struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &rl) }, 0);
    get_hub().set_handle_error(|_, _| {});

    let ev = Event::new();
    let fired = Rc::new(Cell::new(0usize));
    let drops = Rc::new(Cell::new(0usize));
    // More greenlets than one slab (128 stacks) holds, all parked at once.
    let gs: Vec<_> = (0..300)
        .map(|_| {
            let e = ev.clone();
            let c = Counted(drops.clone());
            let g = spawn(move || {
                let _c = c;
                e.wait()
            });
            let f = fired.clone();
            g.rawlink(move |_| f.set(f.get() + 1));
            g
        })
        .collect();
    sleep(0.0).unwrap();
    let failed: Vec<_> = gs.iter().filter(|g| g.ready()).collect();
    assert!(!failed.is_empty(), "the limit did not bite");
    assert!(failed.len() < gs.len(), "no greenlet got a stack");
    println!("{} of {} greenlets got no stack", failed.len(), gs.len());
    for g in &failed {
        assert!(!g.successful());
        assert!(
            is_enomem(&g.exception().expect("an exception")),
            "{:?}",
            g.exception()
        );
        assert!(is_enomem(&g.get().unwrap_err()));
        g.join().unwrap();
    }
    // The ones that never ran dropped their closures.
    assert_eq!(drops.get(), failed.len());
    // try_spawn: the failure is the caller's, the closure is dropped.
    let c = Counted(drops.clone());
    let r = try_spawn(move || {
        let _c = c;
        Ok(())
    });
    assert!(is_enomem(&r.expect_err("no stack left")));
    assert_eq!(drops.get(), failed.len() + 1);
    ev.set();
    gevent::joinall(&gs).unwrap();
    assert_eq!(fired.get(), gs.len(), "every link fired once");
    // Stacks came back: spawning works again.
    let g = try_spawn(|| Ok(7)).expect("a stack again");
    assert_eq!(g.get().unwrap(), 7);
    println!("enomem child: ok");
}

#[test]
fn unstarted_greenlets_are_dropped_when_the_hub_is_destroyed() {
    let _d = common::deadline("unstarted_destroyed", common::TEST_DEADLINE);
    let drops = Rc::new(Cell::new(0usize));
    let ran = Rc::new(Cell::new(false));
    let before = gevent::greenlet::raw::stack_stats();
    let (c, r) = (Counted(drops.clone()), ran.clone());
    let soon = spawn(move || {
        let _c = c;
        r.set(true);
        Ok(1)
    });
    let (c, r) = (Counted(drops.clone()), ran.clone());
    let later = spawn_later(60.0, move || {
        let _c = c;
        r.set(true);
        Ok(2)
    })
    .unwrap();
    // Links that capture the greenlet itself (a cycle) and a counter.
    for g in [&soon, &later] {
        let (me, c) = (g.clone(), Counted(drops.clone()));
        g.rawlink(move |_| drop((me, c)));
    }
    get_hub().destroy();
    assert!(!ran.get(), "an unstarted greenlet ran");
    assert_eq!(drops.get(), 4, "closures and links were not dropped");
    for g in [&soon, &later] {
        assert!(g.ready() && g.killed(), "{g:?}");
        assert_eq!(g.has_links(), 0);
        assert!(matches!(g.get(), Err(Error::GreenletExit)));
    }
    let after = gevent::greenlet::raw::stack_stats();
    assert_eq!(after.live_greenlets, 0);
    assert!(after.stacks_in_use <= before.stacks_in_use);
}

#[test]
fn unstarted_greenlets_are_dropped_when_their_thread_exits() {
    struct Sent(Arc<AtomicUsize>);
    impl Drop for Sent {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    std::thread::spawn(move || {
        for _ in 0..10 {
            let s = Sent(d.clone());
            spawn(move || {
                let _s = s;
                Ok(())
            });
        }
        let s = Sent(d.clone());
        spawn_later(60.0, move || {
            let _s = s;
            Ok(())
        })
        .unwrap();
    })
    .join()
    .unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 11);
}

#[test]
fn destroy_from_a_callback_leaves_the_thread_usable() {
    let _d = common::deadline("destroy_from_callback", common::TEST_DEADLINE);
    let hub = get_hub();
    let drops = Rc::new(Cell::new(0usize));
    let c = Counted(drops.clone());
    let parked = spawn(move || {
        let _c = c;
        sleep(60.0)
    });
    let h = hub.clone();
    hub.run_callback(move || h.destroy()).unwrap();
    // The main greenlet's pending wait learns that its hub is gone.
    assert!(matches!(sleep(30.0), Err(Error::HubDestroyed)));
    assert!(hub.destroyed());
    assert!(parked.ready() && parked.killed());
    assert_eq!(drops.get(), 1, "the parked greenlet was not unwound");
    let hub2 = get_hub();
    assert!(hub2 != hub && !hub2.destroyed());
    sleep(0.001).unwrap();
    assert_eq!(spawn(|| Ok(5)).get().unwrap(), 5);
    assert!(matches!(hub.run_callback(|| ()), Err(Error::HubDestroyed)));
}

#[test]
fn destroy_from_a_rawlink_leaves_the_thread_usable() {
    let _d = common::deadline("destroy_from_rawlink", common::TEST_DEADLINE);
    let hub = get_hub();
    let ev = Event::new();
    let h = hub.clone();
    ev.rawlink(move || h.destroy());
    ev.set();
    // hub.join() ends: the loop is gone.
    assert!(hub.join().unwrap());
    assert!(hub.destroyed());
    assert!(get_hub() != hub);
    sleep(0.001).unwrap();
}

#[test]
fn destroy_from_a_greenlet_unwinds_it_and_leaves_the_thread_usable() {
    let _d = common::deadline("destroy_from_greenlet", common::TEST_DEADLINE);
    let hub = get_hub();
    let drops = Rc::new(Cell::new(0usize));
    let after = Rc::new(Cell::new(false));
    let (c, a) = (Counted(drops.clone()), after.clone());
    let destroyer = spawn(move || {
        let _c = c;
        get_hub().destroy();
        a.set(true);
        Ok(())
    });
    let c = Counted(drops.clone());
    let other = spawn(move || {
        let _c = c;
        sleep(60.0)
    });
    assert!(matches!(destroyer.join(), Err(Error::HubDestroyed)));
    assert!(!after.get(), "destroy() returned inside the destroyed hub");
    assert!(destroyer.killed() && other.killed());
    assert_eq!(drops.get(), 2);
    assert!(hub.destroyed());
    let hub2 = get_hub();
    assert!(hub2 != hub);
    let ev = Event::new();
    let e = ev.clone();
    let w = spawn(move || e.wait());
    sleep(0.0).unwrap();
    ev.set();
    assert!(w.get().unwrap());
}

#[test]
fn semaphore_release_at_i64_max_is_an_error() {
    let s = Semaphore::new(i64::MAX).unwrap();
    assert!(matches!(s.release(), Err(Error::InvalidArgument(_))));
    assert_eq!(s.counter(), i64::MAX);
}

#[test]
fn huge_stack_size_is_rejected() {
    assert!(gevent::config::set_stack_size(usize::MAX).is_err());
    assert!(gevent::config::set_stack_size(gevent::config::MAX_STACK_SIZE + 1).is_err());
}

const BAD_SIZE_CHILD: &str = "GEVENT_TEST_BAD_STACK_SIZE_CHILD";

#[test]
fn unparsable_gevent_stack_size_warns_once() {
    let (ok, out, err) = common::run_child(
        "bad_stack_size_child",
        &[(BAD_SIZE_CHILD, "1"), ("GEVENT_STACK_SIZE", "lots")],
    );
    assert!(ok, "child failed:\n{out}\n{err}");
    assert!(out.contains("bad size child: ok"), "{out}\n{err}");
    assert_eq!(
        err.matches("GEVENT_STACK_SIZE=\"lots\"").count(),
        1,
        "stderr:\n{err}"
    );
}

#[test]
#[ignore = "child process of unparsable_gevent_stack_size_warns_once: it needs GEVENT_STACK_SIZE set before the first stack"]
fn bad_stack_size_child() {
    if std::env::var(BAD_SIZE_CHILD).is_err() {
        return;
    }
    assert_eq!(
        gevent::config::stack_size(),
        gevent::config::DEFAULT_STACK_SIZE
    );
    let g = spawn(|| Ok(1));
    assert_eq!(g.get().unwrap(), 1);
    assert_eq!(
        gevent::config::stack_size(),
        gevent::config::DEFAULT_STACK_SIZE
    );
    println!("bad size child: ok");
}

#[test]
fn destroyed_loop_refuses_callbacks_and_reports_watchers_inactive() {
    // A thread's own hub: its loop is destroyed with it.
    let hub = get_hub();
    assert!(!hub.loop_().is_default());
    let lp = hub.loop_().clone();
    let t = lp.timer(60.0, 0.0).unwrap();
    t.start(|| ()).unwrap();
    assert!(t.active());
    hub.destroy();
    assert!(lp.destroyed());
    assert!(!t.active());
    assert!(!t.pending());
    assert!(matches!(lp.run_callback(|| ()), Err(Error::HubDestroyed)));
}
