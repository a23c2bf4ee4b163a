//! Greenlets (gevent's `gevent.greenlet`): [`Greenlet<T>`], a function
//! running in a greenlet of its own with a result, links and kill; and the
//! raw greenlet of the `greenlet` package, [`RawGreenlet`].
//!
//! ```
//! use gevent::Greenlet;
//!
//! let g = Greenlet::spawn(|| {
//!     gevent::sleep(0.01)?;
//!     Ok(6 * 7)
//! });
//! assert_eq!(g.get().unwrap(), 42);
//! assert!(g.successful());
//! ```
//!
//! The rules gevent users rely on hold: spawn order is run order; a
//! greenlet killed before it started never runs; `kill()` blocks until the
//! target is dead; links fire once each, in the order they were added,
//! after the greenlet is dead; a greenlet ended by `GreenletExit` counts as
//! successful; an error in one greenlet is reported and stored, never
//! crashing the others.
//!
//! # Subclassing `Greenlet`
//! gevent code subclasses `Greenlet`, keeps state on `self` and overrides
//! `_run` (and `__str__`):
//!
//! ```python
//! class Counter(gevent.Greenlet):
//!     def __init__(self, n):
//!         Greenlet.__init__(self)
//!         self.n = n
//!     def _run(self):
//!         for _ in range(self.n):
//!             gevent.sleep(0)
//!         return self.n
//!     def __str__(self):
//!         return 'Counter(%s)' % self.n
//! ```
//!
//! In Rust the state is a struct, `_run` a method that takes it, and the
//! "subclass" a type holding the `Greenlet` that runs the method (add
//! methods to it as the subclass would); the name stands in for
//! `__str__`:
//!
//! ```
//! use gevent::{Greenlet, sleep};
//!
//! struct Counter { n: u32 }
//!
//! impl Counter {
//!     fn run(self) -> gevent::Result<u32> {
//!         for _ in 0..self.n {
//!             sleep(0.0)?;
//!         }
//!         Ok(self.n)
//!     }
//!
//!     /// `Counter(n)` + `start()`.
//!     fn start(self) -> Greenlet<u32> {
//!         let g = Greenlet::new(move || self.run());
//!         g.set_name(&format!("Counter({})", g.minimal_ident()));
//!         g.start();
//!         g
//!     }
//! }
//!
//! let g = Counter { n: 3 }.start();
//! assert_eq!(g.get()?, 3);
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! An actor (a greenlet with an inbox `Queue`, the gevent tutorial's
//! `Actor(gevent.Greenlet)`) is the same shape with a loop over
//! `inbox.get()`: see `examples/actors.rs`.
//!
//! # Custom exceptions
//! An error type of your own is raised as [`Error::custom`], kills with
//! [`Greenlet::kill_with`], and is caught back by type:
//!
//! ```
//! use gevent::{Error, sleep, spawn};
//!
//! #[derive(Debug)]
//! struct Stop;
//! impl std::fmt::Display for Stop {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str("stop")
//!     }
//! }
//! impl std::error::Error for Stop {}
//!
//! let worker = spawn(|| loop {
//!     match sleep(1.0) {
//!         Err(e) if e.is::<Stop>() => return Ok("stopped cleanly"), // except Stop:
//!         Err(e) => return Err(e),
//!         Ok(()) => {}
//!     }
//! });
//! sleep(0.0)?;
//! worker.kill_with(Error::custom(Stop))?; // worker.kill(Stop)
//! assert_eq!(worker.get()?, "stopped cleanly");
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! Greenlets of different result types go together as [`AnyGreenlet`]
//! (`g.any()`, and back with `downcast`), in `joinall`, `killall` or a
//! `Vec`.
//!
//! # Differences from gevent
//! * A greenlet's function returns `gevent::Result<T>`; an `Err` is its
//!   exception. A panic is caught and stored as [`Error::Panicked`].
//! * Links are closures; `link*` return a [`LinkId`] that `unlink` takes,
//!   since closures have no identity to compare.
//! * A killed greenlet's `value()` is `None` and `get()` returns
//!   `Err(GreenletExit)` (gevent returns the `GreenletExit` instance as the
//!   value); `successful()` is still true, as in gevent.

mod any;
pub mod raw;

pub use any::{AnyGreenlet, AsRawGreenlet};
pub use raw::RawGreenlet;

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use crate::core::Timer;
use crate::error::{Error, Result, TimeoutError};
use crate::greenlet::raw::{ForcedUnwind, Kind, Msg, panic_to_error};
use crate::hub::{Hub, Seconds, checked_secs, get_hub, hub_switch};
use crate::linkable::{Link, LinkId, Links, Waitable};
use crate::timeout::{TimeoutArg, TimeoutSpec};

enum Outcome<T> {
    Value(T),
    /// The value was moved out with `take`.
    Taken,
    /// Ended by `GreenletExit`: successful, no value.
    Exit,
    Failed(Error),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    New,
    Scheduled,
    Running,
    Dead,
}

type LinkFn<T> = Box<dyn FnMut(&Greenlet<T>)>;

/// The greenlet's function, stored inline in its allocation (the last,
/// unsized field of `GInner`), so a greenlet costs one allocation for its
/// state and function together.
trait Func<T> {
    /// Runs the function once; `None` if already taken.
    fn call(&self) -> Option<std::thread::Result<Result<T>>>;
    /// Drops the function without running it.
    fn discard(&self);
}

struct FnCell<F>(Cell<Option<F>>);

impl<T, F: FnOnce() -> Result<T>> Func<T> for FnCell<F> {
    fn call(&self) -> Option<std::thread::Result<Result<T>>> {
        self.0.take().map(|f| catch_unwind(AssertUnwindSafe(f)))
    }

    fn discard(&self) {
        drop(self.0.take());
    }
}

impl<T: 'static, F: FnOnce() -> Result<T> + 'static> raw::Body for GInner<T, FnCell<F>> {
    fn run_body(self: Rc<Self>) {
        let g: Rc<GInner<T, dyn Func<T>>> = self;
        Greenlet(g).run();
    }

    fn start_failed(self: Rc<Self>, err: Error) {
        let g: Rc<GInner<T, dyn Func<T>>> = self;
        let g = Greenlet(g);
        g.0.start_timer.borrow_mut().take();
        g.0.func.discard();
        g.finish(Outcome::Failed(err));
    }

    fn abandon(self: Rc<Self>) {
        let g: Rc<GInner<T, dyn Func<T>>> = self;
        let g = Greenlet(g);
        let timer = g.0.start_timer.borrow_mut().take();
        drop(timer);
        g.0.func.discard();
        g.finish(Outcome::Exit);
    }
}

/// A greenlet with a result (gevent's `Greenlet`). Cloning gives another
/// handle to the same greenlet.
pub struct Greenlet<T: 'static>(Rc<GInner<T, dyn Func<T>>>);

impl<T> Clone for Greenlet<T> {
    fn clone(&self) -> Self {
        Greenlet(self.0.clone())
    }
}

impl<T> PartialEq for Greenlet<T> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

struct GInner<T: 'static, F: ?Sized> {
    raw: RawGreenlet,
    hub: Hub,
    phase: Cell<Phase>,
    outcome: RefCell<Option<Outcome<T>>>,
    links: Links<Greenlet<T>>,
    start_timer: RefCell<Option<Timer>>,
    /// This allocation seen as a link notifier (no allocation to schedule
    /// a notification).
    notifier: std::rc::Weak<dyn crate::linkable::Notify>,
    func: F,
}

impl<T: 'static> Greenlet<T> {
    /// A greenlet that will run `f` once started (gevent's
    /// `Greenlet(f)`); it does not run until [`start`](Self::start).
    pub fn new<F>(f: F) -> Greenlet<T>
    where
        F: FnOnce() -> Result<T> + 'static,
    {
        let hub = get_hub();
        let parent = hub.greenlet().0.clone();
        let inner = Rc::new_cyclic(|weak: &std::rc::Weak<GInner<T, FnCell<F>>>| {
            let body: std::rc::Weak<dyn raw::Body> = weak.clone();
            let notifier: std::rc::Weak<dyn crate::linkable::Notify> = weak.clone();
            let raw = RawGreenlet::with_run(raw::Run::WeakBody(body), Some(parent), Kind::Normal);
            GInner {
                raw,
                hub,
                phase: Cell::new(Phase::New),
                outcome: RefCell::new(None),
                links: Links::default(),
                start_timer: RefCell::new(None),
                notifier,
                func: FnCell(Cell::new(Some(f))),
            }
        });
        Greenlet(inner)
    }

    /// Creates and starts a greenlet running `f` (gevent's `spawn`).
    ///
    /// Its stack is allocated when it first runs; if that fails, the
    /// greenlet ends with the [`Error::Io`] as its exception (see
    /// [`try_spawn`](Self::try_spawn) to get that error here instead).
    pub fn spawn<F>(f: F) -> Greenlet<T>
    where
        F: FnOnce() -> Result<T> + 'static,
    {
        let g = Greenlet::new(f);
        g.start();
        g
    }

    /// Like [`spawn`](Self::spawn), but allocates the greenlet's stack now,
    /// so that running out of memory is the caller's `Err` rather than the
    /// greenlet's.
    ///
    /// With plain `spawn`, a stack that cannot be allocated when the
    /// greenlet first runs ends the greenlet with that error: `ready()`
    /// turns true, `exception()` is the [`Error::Io`] (`ENOMEM`), links
    /// fire, `join` returns and `get` returns the error.
    ///
    /// ```
    /// let g = gevent::Greenlet::try_spawn(|| Ok(1)).expect("a stack");
    /// assert_eq!(g.get().unwrap(), 1);
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] when no stack can be allocated (`f` is dropped).
    pub fn try_spawn<F>(f: F) -> Result<Greenlet<T>>
    where
        F: FnOnce() -> Result<T> + 'static,
    {
        let g = Greenlet::new(f);
        raw::reserve_stack(&g.0.raw)?;
        g.start();
        Ok(g)
    }

    /// Creates a greenlet that starts after `secs` (gevent's
    /// `spawn_later`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for NaN seconds.
    pub fn spawn_later<F>(secs: impl Seconds, f: F) -> Result<Greenlet<T>>
    where
        F: FnOnce() -> Result<T> + 'static,
    {
        let g = Greenlet::new(f);
        g.start_later(secs)?;
        Ok(g)
    }

    /// Schedules the greenlet to run at the next loop iteration, after the
    /// greenlets started before it. No effect if already started or dead.
    pub fn start(&self) {
        if self.0.phase.get() != Phase::New {
            return;
        }
        self.0.phase.set(Phase::Scheduled);
        raw::hold_body(&self.0.raw);
        run_spawn_callbacks(&self.0.raw);
        // Switching into a raw greenlet that was discarded (killed before
        // it started) does nothing, so no Greenlet-level check is needed.
        self.0
            .hub
            .loop_()
            .push_callback(crate::core::CallbackEntry::Start(self.0.raw.clone()));
    }

    /// Schedules the greenlet to start after `secs`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for NaN seconds.
    pub fn start_later(&self, secs: impl Seconds) -> Result<()> {
        let secs = checked_secs(secs)?;
        if self.0.phase.get() != Phase::New {
            return Ok(());
        }
        let lp = self.0.hub.loop_();
        lp.update_now();
        let timer = lp.timer(secs.max(0.0), 0.0)?;
        let g = self.clone();
        timer.start(move || g.switch_in())?;
        self.0.phase.set(Phase::Scheduled);
        raw::hold_body(&self.0.raw);
        run_spawn_callbacks(&self.0.raw);
        *self.0.start_timer.borrow_mut() = Some(timer);
        Ok(())
    }

    fn switch_in(&self) {
        self.0.start_timer.borrow_mut().take();
        if self.0.phase.get() == Phase::Scheduled && !self.0.raw.started() {
            hub_switch(&self.0.raw, Msg::Value(None));
        }
    }

    /// The greenlet's body, on its own stack.
    fn run(&self) {
        self.0.phase.set(Phase::Running);
        let outcome = match self.0.func.call() {
            None => Outcome::Exit,
            Some(r) => match r {
                Ok(Ok(v)) => Outcome::Value(v),
                Ok(Err(e)) if e.is_greenlet_exit() => Outcome::Exit,
                Ok(Err(e)) => Outcome::Failed(e),
                Err(p) if p.is::<ForcedUnwind>() => Outcome::Exit,
                Err(p) => Outcome::Failed(panic_to_error(p)),
            },
        };
        self.finish(outcome);
    }

    fn finish(&self, outcome: Outcome<T>) {
        self.0.phase.set(Phase::Dead);
        let err = match &outcome {
            Outcome::Failed(e) => Some(e.clone()),
            _ => None,
        };
        *self.0.outcome.borrow_mut() = Some(outcome);
        if self.0.hub.destroyed() {
            // Ended by the hub's destruction: the loop that would fire the
            // links is gone, so they are dropped unfired (as gevent's
            // never-run callbacks), which also frees what they capture.
            self.0.links.clear();
        } else if !self.0.links.is_empty() {
            self.schedule_notify();
        }
        if let Some(e) = err {
            self.0.hub.handle_error(&format!("{self:?}"), e);
        }
    }

    fn schedule_notify(&self) {
        crate::linkable::schedule_notify(
            &self.0.hub,
            &self.0.links.scheduled,
            self.0.notifier.upgrade(),
        );
    }

    /// Blocks until the greenlet is dead.
    ///
    /// # Errors
    /// [`Error::BlockingSwitchOut`] from inside the hub; whatever is thrown
    /// into the *calling* greenlet while it waits (a `Timeout`, a kill,
    /// `LoopExit` if the greenlet can never finish).
    #[inline]
    pub fn join(&self) -> Result<()> {
        self.join_impl(None).map(|_| ())
    }

    /// Like [`join`](Self::join) but gives up after `timeout` (seconds, or a
    /// [`Timeout`](crate::Timeout) to start); true when the greenlet is dead
    /// (gevent's `join(timeout)` returns None either way).
    ///
    /// # Errors
    /// As [`join`](Self::join).
    pub fn join_timeout(&self, timeout: impl TimeoutArg) -> Result<bool> {
        match timeout.timeout_spec()? {
            TimeoutSpec::Seconds(s) => self.join_impl(Some(s)),
            TimeoutSpec::Timeout(t) => match t.run(|| self.join_impl(None)) {
                Err(e) if t.is_own_timeout(&e) => Ok(false),
                r => r,
            },
        }
    }

    #[inline]
    fn join_impl(&self, timeout: Option<f64>) -> Result<bool> {
        if self.ready() {
            return Ok(true);
        }
        self.0.hub.ensure_can_block()?;
        if self.0.raw.is_current() {
            return Err(Error::invalid("a greenlet cannot join itself"));
        }
        let token = raw::park_token();
        let id = self.0.links.add_link(Link::Wake(token.clone()));
        if self.ready() {
            self.schedule_notify();
        }
        let r = self.0.hub.park_for(token, timeout);
        self.0.links.remove(id);
        r.map(|_| self.ready())
    }

    /// The outcome: the value, or the greenlet's own failure (the `Err` it
    /// returned, [`Error::Panicked`], or [`Error::GreenletExit`] if killed).
    /// Blocks until the greenlet is dead.
    ///
    /// # Errors
    /// The greenlet's failure, or as [`join`](Self::join).
    pub fn get(&self) -> Result<T>
    where
        T: Clone,
    {
        if !self.ready() {
            self.join()?;
        }
        self.result()
    }

    /// Like [`get`](Self::get) but gives up after `timeout`: seconds give
    /// [`Error::Timeout`]; a [`Timeout`](crate::Timeout) gives that
    /// timeout's own error (gevent's `get(timeout=Timeout(..))`).
    ///
    /// # Errors
    /// As [`get`](Self::get), plus the timeout.
    pub fn get_timeout(&self, timeout: impl TimeoutArg) -> Result<T>
    where
        T: Clone,
    {
        let secs = match timeout.timeout_spec()? {
            TimeoutSpec::Seconds(s) => s,
            TimeoutSpec::Timeout(t) => {
                if !self.ready() {
                    t.run(|| self.join_impl(None))?;
                }
                return self.result();
            }
        };
        if !self.ready() && !self.join_impl(Some(secs))? {
            return Err(Error::Timeout(TimeoutError {
                id: 0,
                seconds: Some(secs),
                message: None,
            }));
        }
        self.result()
    }

    /// Moves the value out, blocking until the greenlet is dead: the way to
    /// get a result that is not `Clone` (a `Vec` of sockets, a big buffer).
    /// Only the first call gets the value; the greenlet still counts as
    /// successful afterwards, but [`value`](Self::value) is `None` and
    /// `get`/`take` return `Err(InvalidArgument("... already taken"))`.
    ///
    /// ```
    /// let g = gevent::spawn(|| Ok(vec![String::from("not Clone-cheap")]));
    /// assert_eq!(g.take().unwrap().len(), 1);
    /// assert!(g.take().is_err());
    /// assert!(g.successful());
    /// ```
    ///
    /// # Errors
    /// The greenlet's failure, as [`get`](Self::get); the "already taken"
    /// error after the first call; or as [`join`](Self::join).
    pub fn take(&self) -> Result<T> {
        if !self.ready() {
            self.join()?;
        }
        let mut outcome = self.0.outcome.borrow_mut();
        match outcome.take() {
            Some(Outcome::Value(v)) => {
                *outcome = Some(Outcome::Taken);
                Ok(v)
            }
            other => {
                let e = failure(&other);
                *outcome = other;
                Err(e)
            }
        }
    }

    /// The outcome without blocking: `Err(Timeout)` if not ready (gevent's
    /// `get(block=False)`).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn try_get(&self) -> Result<T>
    where
        T: Clone,
    {
        if !self.ready() {
            return Err(failure::<T>(&None));
        }
        self.result()
    }

    /// The outcome of a dead greenlet (`Err(Timeout)` if not dead yet).
    pub(crate) fn get_ready(&self) -> Result<T>
    where
        T: Clone,
    {
        self.result()
    }

    fn result(&self) -> Result<T>
    where
        T: Clone,
    {
        match &*self.0.outcome.borrow() {
            Some(Outcome::Value(v)) => Ok(v.clone()),
            other => Err(failure(other)),
        }
    }

    /// Kills the greenlet with `GreenletExit` and waits until it is dead. A
    /// greenlet that has not started never runs; a dead one is left alone.
    ///
    /// # Errors
    /// [`Error::BlockingSwitchOut`] from inside the hub (use
    /// [`kill_nowait`](Self::kill_nowait) there); whatever is thrown into
    /// the caller while it waits.
    pub fn kill(&self) -> Result<()> {
        self.kill_impl(Error::GreenletExit, true, None).map(|_| ())
    }

    /// Kills with `GreenletExit` without waiting (gevent's
    /// `kill(block=False)`): the greenlet sees the error at its next switch.
    pub fn kill_nowait(&self) {
        let _ = self.kill_impl(Error::GreenletExit, false, None);
    }

    /// Kills with `err` (gevent's `kill(exception)`) and waits: the greenlet
    /// sees `Err(err)` from its blocking call; unless it is a
    /// `GreenletExit`, the greenlet ends unsuccessful.
    ///
    /// # Errors
    /// As [`kill`](Self::kill).
    pub fn kill_with(&self, err: Error) -> Result<()> {
        self.kill_impl(err, true, None).map(|_| ())
    }

    /// [`kill_with`](Self::kill_with) without waiting.
    pub fn kill_with_nowait(&self, err: Error) {
        let _ = self.kill_impl(err, false, None);
    }

    /// Kills with `GreenletExit` and waits at most `secs`; true when dead.
    ///
    /// # Errors
    /// As [`kill`](Self::kill).
    pub fn kill_timeout(&self, secs: impl Seconds) -> Result<bool> {
        let secs = crate::hub::checked_timeout(secs)?;
        self.kill_impl(Error::GreenletExit, true, Some(secs))
    }

    pub(crate) fn kill_impl(&self, err: Error, block: bool, timeout: Option<f64>) -> Result<bool> {
        match self.0.phase.get() {
            Phase::Dead => return Ok(true),
            Phase::New | Phase::Scheduled if !self.0.raw.started() => {
                // Never ran: it never will. Links still fire.
                self.0.start_timer.borrow_mut().take();
                raw::discard_unstarted(&self.0.raw);
                self.0.func.discard();
                let outcome = if err.is_greenlet_exit() {
                    Outcome::Exit
                } else {
                    Outcome::Failed(err)
                };
                // As gevent's __handle_death_before_start: stored, links
                // scheduled, a real error reported.
                self.finish(outcome);
                return Ok(true);
            }
            _ => {}
        }
        let g = self.clone();
        self.0.hub.loop_().run_callback_fn(Box::new(move || {
            let r = &g.0.raw;
            if r.active() && !r.is_current() {
                hub_switch(r, Msg::Throw(err));
            }
        }));
        if !block || self.0.raw.is_current() {
            return Ok(false);
        }
        self.join_impl(timeout)
    }

    /// Raises `err` in the greenlet (gevent's `Greenlet.throw`). A greenlet
    /// that has not started never runs and dies with `err` (its links still
    /// fire); from inside the hub the error is delivered at once, otherwise
    /// through the loop, as a non-blocking kill.
    pub fn throw(&self, err: Error) {
        if self.0.hub.is_current() && self.0.raw.active() && !self.0.raw.is_current() {
            hub_switch(&self.0.raw, Msg::Throw(err));
        } else {
            let _ = self.kill_impl(err, false, None);
        }
    }

    /// gevent's `with greenlet:` block: runs `body`; if it succeeds, joins
    /// the greenlet and then kills it; if it fails, kills the greenlet with
    /// the body's error (so a greenlet that never started never runs) and
    /// returns that error.
    ///
    /// # Errors
    /// The body's error, or the join's.
    pub fn with_scope<R>(&self, body: impl FnOnce(&Greenlet<T>) -> Result<R>) -> Result<R> {
        match body(self) {
            Ok(r) => {
                let joined = self.join();
                let killed = self.kill();
                joined?;
                killed?;
                Ok(r)
            }
            Err(e) => {
                let _ = self.kill_with(e.clone());
                Err(e)
            }
        }
    }

    /// A small number identifying the greenlet among those of its thread
    /// (gevent's `minimal_ident`).
    pub fn minimal_ident(&self) -> u64 {
        self.0.raw.id()
    }

    fn add_link(&self, f: LinkFn<T>) -> LinkId {
        self.push_link(Link::Fn(f))
    }

    /// Adds a link, notifying at once (through the loop) if already dead.
    fn push_link(&self, link: Link<Greenlet<T>>) -> LinkId {
        let id = self.0.links.add_link(link);
        if self.ready() {
            self.schedule_notify();
        }
        id
    }

    /// Calls `f` in the hub once the greenlet is dead (at once, through the
    /// loop, if it already is). `f` must not block.
    pub fn rawlink(&self, f: impl FnOnce(&Greenlet<T>) + 'static) -> LinkId {
        let mut f = Some(f);
        self.add_link(Box::new(move |g| {
            if let Some(f) = f.take() {
                f(g)
            }
        }))
    }

    /// Calls `f` in a new greenlet once this one is dead; `f` may block.
    pub fn link(&self, f: impl FnOnce(&Greenlet<T>) + 'static) -> LinkId {
        self.link_filtered(f, |_| true)
    }

    /// Like [`link`](Self::link), only if the greenlet ended successfully
    /// (a killed greenlet counts as successful).
    pub fn link_value(&self, f: impl FnOnce(&Greenlet<T>) + 'static) -> LinkId {
        self.link_filtered(f, |g| g.successful())
    }

    /// Like [`link`](Self::link), only if the greenlet failed.
    pub fn link_exception(&self, f: impl FnOnce(&Greenlet<T>) + 'static) -> LinkId {
        self.link_filtered(f, |g| !g.successful())
    }

    fn link_filtered(
        &self,
        f: impl FnOnce(&Greenlet<T>) + 'static,
        filter: fn(&Greenlet<T>) -> bool,
    ) -> LinkId {
        let mut f = Some(f);
        self.add_link(Box::new(move |g| {
            if !filter(g) {
                return;
            }
            let Some(f) = f.take() else { return };
            let g = g.clone();
            let hub = get_hub();
            let runner = RawGreenlet::with_kind(
                Box::new(move |_| {
                    f(&g);
                    Ok(None)
                }),
                Some(hub.greenlet().0.clone()),
                Kind::Normal,
            );
            hub_switch(&runner, Msg::Value(None));
        }))
    }

    /// Removes a link; true if it had not fired yet.
    pub fn unlink(&self, id: LinkId) -> bool {
        self.0.links.remove(id)
    }

    /// Removes every link.
    pub fn unlink_all(&self) {
        self.0.links.clear()
    }

    /// Links not yet fired.
    pub fn has_links(&self) -> usize {
        self.0.links.len()
    }

    /// True once the greenlet finished, failed or was killed.
    pub fn ready(&self) -> bool {
        self.0.phase.get() == Phase::Dead
    }

    /// True once dead (the same as [`ready`](Self::ready)).
    pub fn dead(&self) -> bool {
        self.ready()
    }

    /// True once started and until dead (gevent's `bool(greenlet)`).
    pub fn started(&self) -> bool {
        matches!(self.0.phase.get(), Phase::Scheduled | Phase::Running)
    }

    /// True if it ended without a failure; ended by `GreenletExit` counts.
    pub fn successful(&self) -> bool {
        matches!(
            &*self.0.outcome.borrow(),
            Some(Outcome::Value(_) | Outcome::Taken | Outcome::Exit)
        )
    }

    /// The value it returned, once dead and successful.
    pub fn value(&self) -> Option<T>
    where
        T: Clone,
    {
        match &*self.0.outcome.borrow() {
            Some(Outcome::Value(v)) => Some(v.clone()),
            _ => None,
        }
    }

    /// True when it was ended by `GreenletExit` (a plain kill).
    pub fn killed(&self) -> bool {
        matches!(&*self.0.outcome.borrow(), Some(Outcome::Exit))
    }

    /// The failure it ended with (not `GreenletExit`).
    pub fn exception(&self) -> Option<Error> {
        match &*self.0.outcome.borrow() {
            Some(Outcome::Failed(e)) => Some(e.clone()),
            _ => None,
        }
    }

    /// The greenlet's name (`Greenlet-N` unless set).
    pub fn name(&self) -> String {
        self.0.raw.name()
    }

    /// Sets the name.
    pub fn set_name(&self, name: &str) {
        self.0.raw.set_name(name)
    }

    /// This greenlet as an [`AnyGreenlet`], to go with greenlets of other
    /// result types (`joinall`, `killall`, a `Vec` of mixed greenlets).
    pub fn any(&self) -> AnyGreenlet {
        AnyGreenlet::from(self)
    }

    /// The underlying raw greenlet.
    pub fn raw(&self) -> &RawGreenlet {
        &self.0.raw
    }

    /// The hub this greenlet belongs to.
    pub fn hub(&self) -> &Hub {
        &self.0.hub
    }
}

/// The error `get`/`take` return for an outcome that is not a value: the
/// greenlet's failure, `GreenletExit` when killed, "already taken", or
/// `Timeout` while not dead yet.
fn failure<T>(outcome: &Option<Outcome<T>>) -> Error {
    match outcome {
        Some(Outcome::Failed(e)) => e.clone(),
        Some(Outcome::Exit) => Error::GreenletExit,
        Some(Outcome::Taken) => Error::invalid("the greenlet's value was already taken"),
        Some(Outcome::Value(_)) | None => Error::Timeout(TimeoutError {
            id: 0,
            seconds: None,
            message: None,
        }),
    }
}

thread_local! {
    static SPAWN_CALLBACKS: std::cell::RefCell<Vec<(u64, SpawnCallback)>> =
        const { std::cell::RefCell::new(Vec::new()) };
    static NEXT_SPAWN_CALLBACK: Cell<u64> = const { Cell::new(1) };
}

/// A hook run for every greenlet started on this thread.
pub type SpawnCallback = Rc<dyn Fn(&RawGreenlet)>;

/// Identifies a spawn callback, for [`remove_spawn_callback`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpawnCallbackId(u64);

/// Registers `f` to run whenever a [`Greenlet`] of this thread is started
/// (`spawn`, `spawn_later`, `start`, `start_later`), with the greenlet
/// (gevent's `Greenlet.add_spawn_callback`).
pub fn add_spawn_callback(f: impl Fn(&RawGreenlet) + 'static) -> SpawnCallbackId {
    let id = NEXT_SPAWN_CALLBACK.with(|n| n.replace(n.get() + 1));
    SPAWN_CALLBACKS.with(|c| c.borrow_mut().push((id, Rc::new(f))));
    SpawnCallbackId(id)
}

/// Removes a spawn callback; true if it was registered.
pub fn remove_spawn_callback(id: SpawnCallbackId) -> bool {
    SPAWN_CALLBACKS.with(|c| {
        let mut c = c.borrow_mut();
        let before = c.len();
        c.retain(|(i, _)| *i != id.0);
        c.len() != before
    })
}

fn run_spawn_callbacks(g: &RawGreenlet) {
    let cbs: Vec<SpawnCallback> = SPAWN_CALLBACKS
        .try_with(|c| c.borrow().iter().map(|(_, f)| f.clone()).collect())
        .unwrap_or_default();
    for f in cbs {
        f(g);
    }
}

impl<T> std::fmt::Debug for Greenlet<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.0.phase.get() {
            Phase::New => "unstarted",
            Phase::Scheduled => "scheduled",
            Phase::Running => "running",
            Phase::Dead => "dead",
        };
        write!(f, "<Greenlet \"{}\" {}>", self.0.raw.name(), state)
    }
}

impl<T: 'static, F: FnOnce() -> Result<T> + 'static> crate::linkable::Notify
    for GInner<T, FnCell<F>>
{
    fn notify(self: Rc<Self>) {
        let g: Rc<GInner<T, dyn Func<T>>> = self;
        let g = Greenlet(g);
        g.0.links.drain(&g);
        g.0.links.scheduled.set(false);
        if !g.0.links.is_empty() {
            g.schedule_notify();
        }
    }
}

impl<T: 'static> Waitable for Greenlet<T> {
    fn ready(&self) -> bool {
        Greenlet::ready(self)
    }

    fn rawlink(&self, f: Box<dyn FnMut()>) -> LinkId {
        self.push_link(Link::Plain(f))
    }

    fn link_ready(&self, set: &Rc<crate::linkable::ReadySet>, i: usize) -> LinkId {
        self.push_link(Link::Ready(set.clone(), i))
    }

    fn unlink(&self, id: LinkId) -> bool {
        Greenlet::unlink(self, id)
    }

    fn exception(&self) -> Option<Error> {
        Greenlet::exception(self)
    }

    fn identity(&self) -> *const () {
        Rc::as_ptr(&self.0) as *const ()
    }
}
