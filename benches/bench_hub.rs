//! gevent's `benchmarks/bench_hub.py` (hub primitives), case by case, with
//! gevent's N = 1000 inner operations per call; every value is ns per
//! inner operation.
//!
//! ```text
//! cargo bench -j1 --bench bench_hub                     # 5 reps
//! cargo bench -j1 --bench bench_hub -- --only wait --reps 9
//! cargo bench -j1 --bench bench_hub -- --list
//! ```
//!
//! Output: `name value unit  # min .. max n=R` (median of R timed reps of
//! [`LOOPS`] calls each, after one untimed warm-up rep), as
//! `gevent_bench.rs`; `benches/py/gevent_micro.py` prints the same names
//! for gevent.
//!
//! gevent's cases use stand-in objects (a hub subclass, fake watchers,
//! objects whose `rawlink` fires at once); the Rust forms below are the
//! nearest the crate's public API allows, each described on its function.

#[path = "common/mod.rs"]
mod common;

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::rc::Rc;
use std::time::Instant;

use gevent::event::Event;
use gevent::{Error, LinkId, RawGreenlet, Waitable, Waiter, get_hub, sleep, wait};

use common::{Runner, secs};

/// gevent's inner loop count.
const N: usize = 1000;
/// Calls of each case per timed rep (pyperf calibrates this; fixed here).
const LOOPS: usize = 100;

/// `switch`: main -> child -> stand-in hub -> main, N times (gevent uses
/// a `Hub` subclass whose `run` switches to its parent, and a child
/// greenlet whose parent is that hub). Here both are raw greenlets: the
/// stand-in hub's parent is the main greenlet, the child's parent the
/// stand-in hub. ns per round trip (three switches).
fn switch() -> f64 {
    let mut total = 0.0;
    for _ in 0..LOOPS {
        let main = RawGreenlet::current();
        let hub = RawGreenlet::new(
            move |_| {
                for _ in 0..N {
                    main.switch(None)?;
                }
                Ok(None)
            },
            None,
        );
        let child = RawGreenlet::new(
            |_| {
                let parent = RawGreenlet::current().parent().unwrap();
                for _ in 0..N {
                    parent.switch(None)?;
                }
                Ok(None)
            },
            Some(&hub),
        );
        let t0 = Instant::now();
        for _ in 0..N {
            child.switch(None).unwrap();
        }
        total += secs(t0);
        // One more switch ends the child, which ends the stand-in hub,
        // which returns here (gevent leaves both to the collector).
        child.switch(None).unwrap();
        assert!(child.dead() && hub.dead());
    }
    total / (LOOPS * N) as f64 * 1e9
}

/// `wait ready`: `hub.wait(watcher)` N times with a stand-in watcher whose
/// `start` calls the callback at once, so the wait never switches. gevent's
/// `Hub.wait` is `waiter = Waiter(); watcher.start(waiter.switch);
/// waiter.get()`; the crate's `Hub::wait` takes a real libev watcher only,
/// so this runs the same steps on the crate's `Waiter`: a new waiter, a
/// value delivered before `get`, and `get` returning it without a switch.
/// ns per wait.
fn wait_ready() -> f64 {
    let t0 = Instant::now();
    for _ in 0..LOOPS {
        for _ in 0..N {
            let w: Waiter<()> = Waiter::new();
            w.switch(());
            w.get().unwrap();
        }
    }
    secs(t0) / (LOOPS * N) as f64 * 1e9
}

/// gevent's stand-in watcher for `cancel wait`: active, with a callback
/// that is not a greenlet's `switch`.
struct FakeWatcher {
    active: Cell<bool>,
    callback: RefCell<Option<Rc<dyn Any>>>,
}

impl FakeWatcher {
    /// gevent's stand-in `close()`: nothing to release.
    fn close(&self) {}
}

/// gevent's `Hub._cancel_wait`, run in the hub: throw into the greenlet
/// whose `switch` is the watcher's callback, if any (none here).
fn cancel_wait_cb(w: &FakeWatcher) {
    let active = w.active.get();
    let cb = w.callback.borrow().clone();
    w.close();
    if active && let Some(g) = cb.as_ref().and_then(|c| c.downcast_ref::<RawGreenlet>()) {
        g.throw(Error::msg("cancelled")).unwrap();
    }
}

/// `cancel wait`: `hub.cancel_wait(watcher, None, True)` N times with a
/// stand-in watcher (each schedules `_cancel_wait` with `run_callback`),
/// then the N callbacks run (here: one `sleep(0)` runs the loop's
/// callback queue; gevent calls them by hand), then the hub is destroyed
/// with its loop, as gevent's case does, and the next call makes a new
/// one. The crate's own `cancel_wait` (used by `Socket::close`) is
/// private; this is the same work through `Loop::run_callback`. ns per
/// cancel.
fn cancel_wait() -> f64 {
    let watcher = Rc::new(FakeWatcher {
        active: Cell::new(true),
        callback: RefCell::new(Some(Rc::new(()))),
    });
    let t0 = Instant::now();
    for _ in 0..LOOPS {
        let hub = get_hub();
        let lp = hub.loop_();
        for _ in 0..N {
            if watcher.callback.borrow().is_some() {
                let w = watcher.clone();
                lp.run_callback(move || cancel_wait_cb(&w)).unwrap();
            }
        }
        sleep(0.0).unwrap();
        hub.destroy_with(true);
    }
    let dt = secs(t0);
    assert_eq!(Rc::strong_count(&watcher), 1, "every callback ran");
    dt / (LOOPS * N) as f64 * 1e9
}

/// gevent's stand-in for `multiple wait ready`: an object whose `rawlink`
/// calls the callback at once. The crate's `Waitable::rawlink` returns a
/// `LinkId`, which only the crate makes, so each holds one taken from an
/// `Event` (never used: these objects unlink nothing).
struct ToWatch(LinkId);

impl Waitable for ToWatch {
    fn ready(&self) -> bool {
        true
    }

    fn rawlink(&self, mut f: Box<dyn FnMut()>) -> LinkId {
        f();
        self.0
    }

    fn unlink(&self, _: LinkId) -> bool {
        false
    }
}

/// `multiple wait ready`: `gevent.wait(objects)` over N objects that are
/// ready as soon as they are linked, so the wait never switches; only
/// the `wait` call is timed. ns per object.
fn multiple_wait_ready() -> f64 {
    let ev = Event::new();
    let id = ev.rawlink(|| ());
    ev.unlink(id);
    let mut total = 0.0;
    for _ in 0..LOOPS {
        let objs: Vec<ToWatch> = (0..N).map(|_| ToWatch(id)).collect();
        let t0 = Instant::now();
        let done = wait(&objs).unwrap();
        total += secs(t0);
        assert_eq!(black_box(done).len(), N);
    }
    total / (LOOPS * N) as f64 * 1e9
}

fn main() {
    let r = Runner::from_args();
    // gevent's order.
    r.case(
        "bench_hub.multiple_wait_ready",
        "ns",
        &mut multiple_wait_ready,
    );
    r.case("bench_hub.wait_ready", "ns", &mut wait_ready);
    r.case("bench_hub.cancel_wait", "ns", &mut cancel_wait);
    r.case("bench_hub.switch", "ns", &mut switch);
}
