//! `Hub::attach`: greenlets on a loop whose host runs `ev_run` itself (the
//! model of the C embedding). Each test runs on a fresh thread standing
//! for the host program: it makes the loop, keeps watchers of its own,
//! attaches the hub and calls the loop's `run` itself.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Instant;

use gevent::core::Loop;
use gevent::event::Event;
use gevent::socket::socketpair;
use gevent::{Error, Hub, sleep, spawn};

/// Runs `f` on a new thread (a host with no hub yet) and returns its
/// result, panics included.
fn host<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().unwrap()
}

/// A loop made as a C host makes it (`ev_loop_new`), the crate's handle
/// on it and a hub attached to it. The host destroys the raw loop itself,
/// after detaching.
fn raw_host_loop() -> (*mut gevent::libev::ev_loop, Loop, Hub) {
    // SAFETY: a new loop, owned by the calling "host" code.
    let raw = unsafe { gevent::libev::ev_loop_new(0) };
    assert!(!raw.is_null());
    // SAFETY: the callers destroy `raw` only after detaching the hub, and
    // use it on their own thread only.
    let lp = unsafe { Loop::from_raw(raw) };
    let hub = Hub::attach(lp.clone()).unwrap();
    (raw, lp, hub)
}

#[test]
fn greenlets_run_on_the_hosts_loop_beside_its_own_watchers() {
    let _d = common::deadline("attach_basic", common::TEST_DEADLINE);
    host(|| {
        let lp = Loop::new(0).unwrap();
        // The host's own repeating timer, 10 ticks of 10 ms, then it stops.
        let ticks: Rc<RefCell<Vec<f64>>> = Rc::default();
        let t0 = Instant::now();
        let timer = lp.timer(0.01, 0.01).unwrap();
        let (tk, me) = (ticks.clone(), timer.clone());
        timer
            .start(move || {
                tk.borrow_mut().push(t0.elapsed().as_secs_f64());
                if tk.borrow().len() == 10 {
                    me.stop();
                }
            })
            .unwrap();

        let hub = Hub::attach(lp.clone()).unwrap();
        assert!(hub.attached());
        let order: Rc<RefCell<Vec<&str>>> = Rc::default();
        let ev = Event::new();
        let (a, b) = socketpair().unwrap();
        let (o1, e1) = (order.clone(), ev.clone());
        let sleeper = spawn(move || {
            o1.borrow_mut().push("sleeper start");
            sleep(0.05)?;
            o1.borrow_mut().push("sleeper woke");
            e1.set();
            Ok(())
        });
        let (o2, e2) = (order.clone(), ev.clone());
        let waiter = spawn(move || {
            o2.borrow_mut().push("waiter start");
            e2.wait()?;
            o2.borrow_mut().push("waiter got the event");
            b.sendall(b"ping")
        });
        let o3 = order.clone();
        let reader = spawn(move || {
            o3.borrow_mut().push("reader start");
            let got = a.recv(4)?;
            o3.borrow_mut().push("reader got data");
            Ok(got)
        });
        // Nothing ran yet: greenlets start from the host's loop.
        assert!(order.borrow().is_empty());
        // The host runs its loop; it returns once its timer and the
        // greenlets' work are done.
        let started = Instant::now();
        lp.run();
        let took = started.elapsed().as_secs_f64();
        assert_eq!(reader.get().unwrap(), b"ping");
        sleeper.get().unwrap();
        waiter.get().unwrap();
        assert_eq!(
            *order.borrow(),
            [
                "sleeper start",
                "waiter start",
                "reader start",
                "sleeper woke",
                "waiter got the event",
                "reader got data"
            ]
        );
        // The host's timer kept its rate while the greenlets ran.
        let ticks = ticks.borrow();
        assert_eq!(ticks.len(), 10);
        assert!(ticks[9] < 0.1 + 0.5, "{ticks:?}");
        assert!(
            took >= 0.09,
            "returned before the host's timer was done: {took}"
        );
        hub.destroy();
        assert!(!lp.destroyed(), "an attached hub never destroys its loop");
    });
}

#[test]
fn blocking_from_the_hosts_callbacks_or_code_is_an_error_not_a_hang() {
    let _d = common::deadline("attach_blocking", common::TEST_DEADLINE);
    host(|| {
        let lp = Loop::new(0).unwrap();
        let hub = Hub::attach(lp.clone()).unwrap();
        // In the host's code around ev_run.
        assert!(matches!(sleep(0.01), Err(Error::BlockingSwitchOut(_))));
        assert!(matches!(hub.join(), Err(Error::BlockingSwitchOut(_))));
        assert!(matches!(
            Event::new().wait(),
            Err(Error::BlockingSwitchOut(_))
        ));
        // In one of the host's watcher callbacks.
        let seen = Rc::new(Cell::new(None));
        let t = lp.timer(0.001, 0.0).unwrap();
        let s = seen.clone();
        t.start(move || {
            s.set(Some(matches!(
                sleep(0.01),
                Err(Error::BlockingSwitchOut(_))
            )))
        })
        .unwrap();
        lp.run();
        assert_eq!(seen.get(), Some(true));
        // A second hub on the thread is refused.
        assert!(matches!(
            Hub::attach(lp.clone()),
            Err(Error::InvalidArgument(_))
        ));
        hub.destroy();
    });
}

#[test]
fn a_panicking_greenlet_is_reported_and_the_host_loop_goes_on() {
    let _d = common::deadline("attach_panic", common::TEST_DEADLINE);
    host(|| {
        let lp = Loop::new(0).unwrap();
        let hub = Hub::attach(lp.clone()).unwrap();
        let errors: Rc<RefCell<Vec<String>>> = Rc::default();
        let e = errors.clone();
        hub.set_handle_error(move |ctx, err| e.borrow_mut().push(format!("{ctx}: {err}")));
        let bad = spawn(|| -> gevent::Result<()> { panic!("boom in a greenlet") });
        let good = spawn(|| {
            sleep(0.01)?;
            Ok(1)
        });
        lp.run();
        assert!(matches!(bad.get(), Err(Error::Panicked(_))));
        assert_eq!(good.get().unwrap(), 1);
        assert!(
            errors
                .borrow()
                .iter()
                .any(|m| m.contains("boom in a greenlet")),
            "{:?}",
            errors.borrow()
        );
        hub.destroy();
    });
}

#[test]
fn detaching_unwinds_blocked_greenlets_and_leaves_the_loop_to_the_host() {
    let _d = common::deadline("attach_detach", common::TEST_DEADLINE);
    host(|| {
        let lp = Loop::new(0).unwrap();
        let hub = Hub::attach(lp.clone()).unwrap();
        let ev = Event::new();
        let e = ev.clone();
        let blocked = spawn(move || e.wait());
        // Start it: one iteration of the host's loop.
        lp.run_nowait();
        assert!(!blocked.ready());
        hub.destroy();
        assert!(blocked.ready(), "destroy unwinds the greenlets");
        assert!(!lp.destroyed());
        // The host's loop works on without the hub.
        let fired = Rc::new(Cell::new(false));
        let t = lp.timer(0.001, 0.0).unwrap();
        let f = fired.clone();
        t.start(move || f.set(true)).unwrap();
        lp.run();
        assert!(fired.get());
    });
}

#[test]
fn destroy_from_a_greenlet_of_an_attached_hub() {
    let _d = common::deadline("attach_destroy_inside", common::TEST_DEADLINE);
    host(|| {
        let lp = Loop::new(0).unwrap();
        let hub = Hub::attach(lp.clone()).unwrap();
        let other = spawn(|| sleep(10.0));
        let h = hub.clone();
        let killer = spawn(move || {
            sleep(0.01)?;
            h.destroy();
            Ok(())
        });
        let t0 = Instant::now();
        lp.run();
        assert!(
            t0.elapsed().as_secs_f64() < 5.0,
            "the 10 s sleeper kept the loop"
        );
        assert!(hub.destroyed());
        assert!(other.ready() && killer.ready());
        assert!(!lp.destroyed());
    });
}

/// A greenlet made ready by the host's own prepare watcher (which runs
/// after the hub's, just before the poll) runs at once: the poll does not
/// wait for an unrelated event first.
#[test]
fn a_greenlet_woken_in_a_hosts_prepare_watcher_runs_before_the_poll_blocks() {
    let _d = common::deadline("attach_prepare_wake", common::TEST_DEADLINE);
    host(|| {
        let lp = Loop::new(0).unwrap();
        let hub = Hub::attach(lp.clone()).unwrap();
        let ev = Event::new();
        let woke = Rc::new(Cell::new(None));
        let (e, w) = (ev.clone(), woke.clone());
        let t0 = Instant::now();
        let g = spawn(move || {
            e.wait()?;
            w.set(Some(t0.elapsed().as_secs_f64()));
            Ok(())
        });
        // Start the greenlet; it waits on the event.
        lp.run_nowait();
        assert!(!g.ready());
        // The host's prepare watcher sets the event on its first run.
        let prep = lp.prepare().unwrap();
        let (e, p) = (ev.clone(), prep.clone());
        prep.start(move || {
            e.set();
            p.stop();
        })
        .unwrap();
        // The host's only other watcher: a timer 1 s away, which ends the
        // loop.
        let end = lp.timer(1.0, 0.0).unwrap();
        end.start(|| {}).unwrap();
        lp.run();
        // Woken by the host's prepare at once, not after the 1 s timer.
        let at = woke.get().expect("the greenlet ran");
        assert!(at < 0.5, "the poll waited for the timer first: {at}");
        end.stop();
        hub.destroy();
    });
}

/// After detaching, nothing of the crate touches the host's loop: the host
/// may destroy it while Rust handles to it (a socket, the thread pool)
/// still exist, and dropping them later is harmless.
#[test]
fn the_host_may_destroy_its_loop_after_detaching() {
    let _d = common::deadline("attach_host_destroys", common::TEST_DEADLINE);
    host(|| {
        let (raw, lp, hub) = raw_host_loop();
        let pool = hub.threadpool().unwrap();
        let (a, b) = socketpair().unwrap();
        let g = spawn(move || pool.apply(|| 21 * 2));
        // SAFETY: the live loop, on its thread.
        unsafe { gevent::libev::ev_run(raw, 0) };
        assert_eq!(g.get().unwrap(), 42);
        hub.destroy();
        assert!(lp.destroyed(), "detached: the handle is inert");
        // SAFETY: the host destroys its own loop; the crate let go of it.
        unsafe { gevent::libev::ev_loop_destroy(raw) };
        drop((a, b, lp, g));
    });
}

/// Detaching from inside a greenlet on a loop given as a raw pointer:
/// the host's `ev_run` returns, and the host destroys its loop.
#[test]
fn detach_from_a_greenlet_on_a_raw_loop() {
    let _d = common::deadline("attach_raw_detach_inside", common::TEST_DEADLINE);
    host(|| {
        let (raw, _lp, hub) = raw_host_loop();
        let sleeper = spawn(|| sleep(10.0));
        let h = hub.clone();
        let killer = spawn(move || {
            sleep(0.01)?;
            h.destroy();
            Ok(())
        });
        let t0 = Instant::now();
        // SAFETY: the live loop, on its thread.
        unsafe { gevent::libev::ev_run(raw, 0) };
        assert!(t0.elapsed().as_secs_f64() < 5.0);
        assert!(hub.destroyed() && sleeper.ready() && killer.ready());
        drop((hub, sleeper, killer));
        // SAFETY: the host destroys its own loop; the crate let go of it.
        unsafe { gevent::libev::ev_loop_destroy(raw) };
    });
}

unsafe extern "C" fn hosts_syserr(_msg: *const std::ffi::c_char) {}

const SYSERR_CHILD: &str = "GEVENT_TEST_ATTACH_SYSERR";

/// Attaching to a raw loop leaves the host's process-wide libev syserr
/// callback in place (in a child process: other tests make loops, which
/// install the crate's own).
#[test]
fn attaching_keeps_the_hosts_syserr_callback() {
    let (ok, out, err) = common::run_child("syserr_child", &[(SYSERR_CHILD, "1")]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("syserr child: ok"), "{out}\n{err}");
}

#[test]
#[ignore = "child process of attaching_keeps_the_hosts_syserr_callback"]
fn syserr_child() {
    if std::env::var(SYSERR_CHILD).is_err() {
        return;
    }
    host(|| {
        // SAFETY: setting libev's callback before any loop exists.
        unsafe { gevent::libev::ev_set_syserr_cb(Some(hosts_syserr)) };
        let (raw, _lp, hub) = raw_host_loop();
        let g = spawn(|| sleep(0.001));
        // SAFETY: the live loop, on its thread.
        unsafe { gevent::libev::ev_run(raw, 0) };
        g.get().unwrap();
        // SAFETY: reads libev's global.
        let cb = unsafe { gevent::libev::gevent_ev_syserr_cb() };
        assert_eq!(
            cb as usize, hosts_syserr as *const () as usize,
            "the host's callback was replaced"
        );
        hub.destroy();
        // SAFETY: the host destroys its own loop after detaching.
        unsafe { gevent::libev::ev_loop_destroy(raw) };
    });
    println!("syserr child: ok");
}

/// With `set_keep_loop_alive(false)` the host's `ev_run` returns once its
/// own watchers are done, while a greenlet still sleeps; running the loop
/// again lets it finish.
#[test]
fn the_host_can_choose_that_greenlets_do_not_keep_its_loop_running() {
    let _d = common::deadline("attach_keep_alive", common::TEST_DEADLINE);
    host(|| {
        let lp = Loop::new(0).unwrap();
        let hub = Hub::attach(lp.clone()).unwrap();
        hub.set_keep_loop_alive(false);
        let g = spawn(|| {
            sleep(0.3)?;
            Ok(5)
        });
        let t = lp.timer(0.02, 0.0).unwrap();
        t.set_ref(true);
        t.start(|| {}).unwrap();
        let t0 = Instant::now();
        lp.run();
        let first = t0.elapsed().as_secs_f64();
        assert!(first < 0.25, "ev_run waited for the greenlet: {first}");
        assert!(!g.ready());
        // The host runs its loop again, with a watcher of its own that
        // outlasts the greenlet.
        let t2 = lp.timer(0.5, 0.0).unwrap();
        t2.set_ref(true);
        t2.start(|| {}).unwrap();
        lp.run();
        assert_eq!(g.get().unwrap(), 5);
        hub.destroy();
    });
}
