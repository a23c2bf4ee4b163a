//! The hub: the per-thread greenlet that runs the event loop (gevent's
//! `gevent.hub`).
//!
//! ```
//! let hub = gevent::get_hub();
//! let t = hub.loop_().timer(0.01, 0.0).unwrap();
//! hub.wait(&t).unwrap(); // this greenlet sleeps; the hub runs the loop
//! ```
//!
//! Every blocking operation follows one pattern: park the current greenlet
//! with a wake-up token, arm a watcher or callback that fires the token,
//! and switch to the hub. The hub runs `ev_run`; when the watcher fires its
//! callback switches straight back into the parked greenlet, which carries
//! on where it stopped. [`Hub::wait`] is that pattern for one watcher;
//! [`Waiter`](crate::Waiter) is its general form.
//!
//! When the loop runs out of referenced watchers and callbacks while a
//! greenlet still waits, the hub raises [`Error::LoopExit`] in the main
//! greenlet instead of hanging.
//!
//! # Differences from gevent
//! Destroying a hub (explicitly, or when its thread exits) unwinds every
//! greenlet still suspended on that thread, so their destructors run;
//! gevent leaves them to the garbage collector. A hub handle is not `Send`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::core::{Loop, Watcher, WatcherKind};
use crate::error::{Error, Result};
use crate::greenlet::raw::{self, Kind, Msg, RawGreenlet};
use crate::libev as ev;
pub use crate::waiter::Waiter;

/// Conversion to seconds for every timed call: `f64` (as in gevent),
/// `f32`, integers and `std::time::Duration`.
pub trait Seconds {
    /// The value in seconds.
    fn secs(self) -> f64;
}

impl Seconds for f64 {
    fn secs(self) -> f64 {
        self
    }
}

impl Seconds for f32 {
    fn secs(self) -> f64 {
        self as f64
    }
}

impl Seconds for i32 {
    fn secs(self) -> f64 {
        self as f64
    }
}

impl Seconds for u64 {
    fn secs(self) -> f64 {
        self as f64
    }
}

impl Seconds for std::time::Duration {
    fn secs(self) -> f64 {
        self.as_secs_f64()
    }
}

/// Seconds checked: NaN is an error.
pub(crate) fn checked_secs(s: impl Seconds) -> Result<f64> {
    let v = s.secs();
    if v.is_nan() {
        Err(Error::invalid("seconds must not be NaN"))
    } else {
        Ok(v)
    }
}

/// A timeout in seconds checked: NaN and negative values are errors.
pub(crate) fn checked_timeout(s: impl Seconds) -> Result<f64> {
    let v = checked_secs(s)?;
    if v < 0.0 {
        return Err(Error::invalid(format!("timeout must be non-negative: {v}")));
    }
    Ok(v)
}

/// What a [`Hub::run_callback`] closure may return: `()`, or `Result<()>`
/// whose `Err` is reported through [`Hub::handle_error`].
pub trait CallbackResult {
    /// The outcome as a `Result`.
    fn into_result(self) -> Result<()>;
}

impl CallbackResult for () {
    fn into_result(self) -> Result<()> {
        Ok(())
    }
}

impl CallbackResult for Result<()> {
    fn into_result(self) -> Result<()> {
        self
    }
}

/// Handler installed with [`Hub::set_handle_error`].
pub type HandleError = Rc<dyn Fn(&str, &Error)>;

/// The per-thread hub. Cloning gives another handle to the same hub.
#[derive(Clone)]
pub struct Hub(pub(crate) Rc<HubInner>);

pub(crate) struct HubInner {
    greenlet: RawGreenlet,
    lp: Loop,
    destroyed: Cell<bool>,
    handle_error: RefCell<Option<HandleError>>,
    /// The cross-thread callback queue, made on first use.
    threadsafe: RefCell<Option<crate::core::ThreadsafeReceiver>>,
    /// `destroy` was asked from inside the hub or one of its greenlets:
    /// the hub greenlet tears down once it is back in `hub_run` (with
    /// whether to destroy the loop).
    pending_destroy: Cell<Option<bool>>,
    /// Run by `destroy`, after the greenlets are unwound (the hub's thread
    /// pool registers its shutdown here).
    destroy_hooks: RefCell<Vec<Box<dyn FnOnce()>>>,
    /// Attached to a loop its host runs ([`Hub::attach`]): the hub is the
    /// main greenlet, never runs nor destroys the loop.
    attached: bool,
    /// The main greenlet waits in `join`, which takes a `LoopExit` for
    /// "done": the hub then spares itself the message's formatting.
    joining: Cell<bool>,
}

thread_local! {
    static HUB: Cell<*const HubInner> = const { Cell::new(std::ptr::null()) };
    /// The main thread's default-loop object, kept across hubs so that a
    /// new hub after `destroy()` gets the same loop object (gevent).
    static DEFAULT_LOOP: RefCell<Option<Loop>> = const { RefCell::new(None) };
}

fn is_main_thread() -> bool {
    // SAFETY: plain syscalls.
    unsafe { libc::gettid() == libc::getpid() }
}

/// The current thread's hub, created on first use (gevent's `get_hub`).
///
/// The main thread's hub runs libev's default loop; other threads get a
/// loop of their own.
///
/// # Panics
/// If libev cannot create a loop (no file descriptors left).
#[inline]
pub fn get_hub() -> Hub {
    let p = HUB.with(|h| h.get());
    if !p.is_null() {
        // SAFETY: HUB holds one strong count (Rc::into_raw in `make_hub`)
        // until `destroy` clears it.
        unsafe {
            Rc::increment_strong_count(p);
            return Hub(Rc::from_raw(p));
        }
    }
    make_hub().expect("gevent: cannot create the hub's event loop")
}

/// The current thread's hub if one exists, without creating it.
pub fn get_hub_if_exists() -> Option<Hub> {
    let p = HUB.with(|h| h.get());
    if p.is_null() {
        return None;
    }
    Some(get_hub())
}

fn make_hub() -> Result<Hub> {
    let lp = if is_main_thread() {
        let cached = DEFAULT_LOOP
            .try_with(|d| d.borrow().clone())
            .ok()
            .flatten()
            .filter(|l| !l.destroyed());
        match cached {
            Some(l) => l,
            None => {
                let l = Loop::default_loop()?;
                let _ = DEFAULT_LOOP.try_with(|d| *d.borrow_mut() = Some(l.clone()));
                l
            }
        }
    } else {
        Loop::new(0)?
    };
    Hub::with_loop(lp)
}

impl Hub {
    /// Makes `lp` the loop of this thread's hub. The thread must not have a
    /// hub yet (gevent's `Hub(loop)` + `set_hub`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the thread already has a hub.
    pub fn with_loop(lp: Loop) -> Result<Hub> {
        if !HUB.with(|h| h.get()).is_null() {
            return Err(Error::invalid("this thread already has a hub"));
        }
        let hub = Hub(Rc::new_cyclic(|me: &std::rc::Weak<HubInner>| {
            let (run_loop, me) = (lp.clone(), me.clone());
            let greenlet = RawGreenlet::with_kind(
                Box::new(move |_| hub_run(run_loop, me)),
                Some(RawGreenlet::main().0),
                Kind::Hub,
            );
            greenlet.set_name("Hub");
            HubInner {
                greenlet,
                lp: lp.clone(),
                destroyed: Cell::new(false),
                handle_error: RefCell::new(None),
                threadsafe: RefCell::new(None),
                pending_destroy: Cell::new(None),
                destroy_hooks: RefCell::new(Vec::new()),
                attached: false,
                joining: Cell::new(false),
            }
        }));
        hub.install();
        Ok(hub)
    }

    /// Makes this hub the thread's: its loop's errors come to it, and it is
    /// destroyed when the thread exits.
    fn install(&self) {
        let weak = Rc::downgrade(&self.0);
        self.0.lp.set_error_handler(move |ctx, err| {
            if let Some(h) = weak.upgrade() {
                Hub(h).handle_error(ctx, err)
            } else {
                crate::error::report_failure(ctx, &err);
            }
        });
        HUB.with(|h| h.set(Rc::into_raw(self.0.clone())));
        raw::at_thread_exit(Box::new(|| {
            if let Some(h) = get_hub_if_exists() {
                let default = h.loop_().is_default();
                h.destroy_with(!default);
            }
        }));
    }

    /// Attaches a hub to a loop its host runs (Coro::EV's way; what the C
    /// embedding uses): the host keeps calling `ev_run` itself, on this
    /// thread. The hub is this thread's main greenlet: greenlets are
    /// started and resumed from the loop's callbacks (its prepare watcher
    /// and the watchers they wait on), and a greenlet that blocks switches
    /// back into the callback that resumed it, which returns to the host's
    /// `ev_run`. The hub never runs the loop and never destroys it.
    ///
    /// ```
    /// use gevent::{Hub, core::Loop};
    ///
    /// std::thread::spawn(|| {
    ///     let lp = Loop::new(0)?;           // the host's loop
    ///     let hub = Hub::attach(lp.clone())?;
    ///     let g = gevent::spawn(|| { gevent::sleep(0.01)?; Ok(7) });
    ///     lp.run();                          // the host's own ev_run
    ///     assert_eq!(g.get()?, 7);
    ///     hub.destroy();                     // detach; the loop lives on
    ///     assert!(!lp.destroyed());
    ///     Ok::<(), gevent::Error>(())
    /// }).join().unwrap()?;
    /// # Ok::<(), gevent::Error>(())
    /// ```
    ///
    /// Blocking calls made outside a greenlet (in the host's own
    /// callbacks, or in the host's code around `ev_run`) fail with
    /// [`Error::BlockingSwitchOut`]; [`Hub::join`] is refused (the host
    /// runs the loop).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the thread already has a hub, or when
    /// called from a greenlet; [`Error::HubDestroyed`] for a destroyed
    /// loop.
    pub fn attach(lp: Loop) -> Result<Hub> {
        if !HUB.with(|h| h.get()).is_null() {
            return Err(Error::invalid("this thread already has a hub"));
        }
        if !RawGreenlet::current().is_main() {
            return Err(Error::invalid("attach from the thread's main context"));
        }
        if lp.destroyed() {
            return Err(Error::HubDestroyed);
        }
        lp.0.wake_on_push.set(true);
        lp.set_callbacks_last();
        let hub = Hub(Rc::new(HubInner {
            greenlet: RawGreenlet::main(),
            lp,
            destroyed: Cell::new(false),
            handle_error: RefCell::new(None),
            threadsafe: RefCell::new(None),
            pending_destroy: Cell::new(None),
            destroy_hooks: RefCell::new(Vec::new()),
            attached: true,
            joining: Cell::new(false),
        }));
        hub.install();
        Ok(hub)
    }

    /// True for a hub made by [`attach`](Self::attach).
    pub fn attached(&self) -> bool {
        self.0.attached
    }

    /// Whether the greenlets' own watchers (their timers, sockets, waits)
    /// keep the loop running: true by default, as for any libev watcher.
    /// With `false`, watchers made from now on are unreferenced, so an
    /// attached hub's host gets `ev_run` back once *its* own watchers are
    /// done, greenlets still waiting or not (they go on when it runs the
    /// loop again).
    pub fn set_keep_loop_alive(&self, keep: bool) {
        self.0.lp.0.watchers_unref.set(!keep);
    }

    /// The loop this hub runs.
    pub fn loop_(&self) -> &Loop {
        &self.0.lp
    }

    /// The hub's greenlet.
    pub fn greenlet(&self) -> &RawGreenlet {
        &self.0.greenlet
    }

    /// True once [`destroy`](Self::destroy) ran.
    pub fn destroyed(&self) -> bool {
        self.0.destroyed.get()
    }

    /// True when the running greenlet is this hub.
    pub fn is_current(&self) -> bool {
        self.0.greenlet.is_current()
    }

    /// `Err(BlockingSwitchOut)` when called from inside the hub (a watcher
    /// callback, a loop callback or a rawlink), where blocking is
    /// impossible.
    #[inline]
    pub(crate) fn ensure_can_block(&self) -> Result<()> {
        if self.0.greenlet.is_current() {
            return Err(Error::BlockingSwitchOut(
                "Impossible to call blocking function in the event loop callback".into(),
            ));
        }
        if self.0.destroyed.get() {
            return Err(Error::HubDestroyed);
        }
        Ok(())
    }

    /// Switches to the hub; the raw message of whoever switches back.
    #[inline(always)]
    pub(crate) fn switch_msg(&self) -> Msg {
        raw::switch_to(&self.0.greenlet.0, Msg::Value(None))
    }

    /// Switches to the hub to wait for a wake-up: `Ok` for a `Wake`,
    /// otherwise what [`wake_result`] makes of the message.
    #[inline(always)]
    pub(crate) fn switch_wait(&self) -> Result<()> {
        let d = raw::switch_to_data(&self.0.greenlet.0, raw::DATA_VALUE_NONE);
        if d == raw::DATA_WAKE {
            return Ok(());
        }
        // SAFETY: just received, decoded once.
        wake_result(unsafe { raw::decode(d) })
    }

    /// Parks the running greenlet, which holds `token` (from
    /// `park_token`), until something fires the token or, with `secs`, a
    /// timer started now (after refreshing the clock) expires. Always
    /// unparks. `Ok(true)` unless the timer expired; the error thrown into
    /// the greenlet otherwise. The one "wait with an optional timeout" of
    /// the crate: links, joins and queues all park through it.
    #[inline(always)]
    pub(crate) fn park_for(&self, token: raw::WakeToken, secs: Option<f64>) -> Result<bool> {
        self.park_timed(token, secs, true)
    }

    /// [`park_for`](Self::park_for); with `ref_` false the timer does not
    /// keep the loop alive. The timer lives in this frame (no allocation).
    #[inline(always)]
    pub(crate) fn park_timed(
        &self,
        token: raw::WakeToken,
        secs: Option<f64>,
        ref_: bool,
    ) -> Result<bool> {
        let Some(s) = secs else {
            let r = self.switch_wait();
            raw::unpark();
            return r.map(|()| true);
        };
        self.park_with_timer(token, s, ref_)
    }

    /// The timed half of [`park_timed`](Self::park_timed). Unoptimised
    /// builds keep it out of line: inlined there, its timer would sit in
    /// every untimed park's frame too, and cost each parked greenlet one
    /// more stack page.
    #[cfg_attr(debug_assertions, inline(never))]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn park_with_timer(&self, token: raw::WakeToken, secs: f64, ref_: bool) -> Result<bool> {
        let lp = self.loop_();
        lp.update_now();
        let parked = crate::core::ParkTimer::start(lp, secs, token, ref_, || {
            let r = self.switch_wait();
            raw::unpark();
            r
        });
        match parked {
            // A timer that expired while something else woke us was
            // stopped before its callback ran: not expired.
            Ok((r, expired)) => r.map(|()| !expired),
            Err(e) => {
                raw::unpark();
                Err(e)
            }
        }
    }

    /// Switches to the hub and waits until something switches back (gevent's
    /// `hub.switch()`).
    ///
    /// # Errors
    /// [`Error::BlockingSwitchOut`] from inside the hub; otherwise whatever
    /// is thrown into this greenlet (a `Timeout`, `GreenletExit`,
    /// `LoopExit` when nothing is left to wake it).
    pub fn switch(&self) -> Result<()> {
        self.ensure_can_block()?;
        match self.switch_msg() {
            Msg::Throw(e) => Err(e),
            _ => Ok(()),
        }
    }

    /// Starts `watcher`, switches to the hub until it fires, and stops it on
    /// the way out whatever happened (gevent's `Hub.wait`).
    ///
    /// # Errors
    /// [`Error::BlockingSwitchOut`] from inside the hub;
    /// [`Error::ConcurrentObjectUse`] if the watcher is already started;
    /// whatever is thrown into this greenlet while it waits;
    /// [`Error::InvalidSwitch`] if something else switched into it.
    #[inline]
    pub fn wait<K: WatcherKind>(&self, watcher: &Watcher<K>) -> Result<()> {
        self.wait_watcher(watcher, None).map(|_| ())
    }

    /// [`wait`](Self::wait) giving up after `secs`: `Ok(true)` when the
    /// watcher fired, `Ok(false)` on timeout. The watcher is stopped on the
    /// way out whatever happened.
    pub(crate) fn wait_watcher<K: WatcherKind>(
        &self,
        watcher: &Watcher<K>,
        secs: Option<f64>,
    ) -> Result<bool> {
        self.wait_on(
            watcher.active(),
            |t| watcher.start_wake(t),
            secs,
            || watcher.stop(),
        )
    }

    /// A socket's wait on one of its io watchers (whose fd it knows is
    /// open): as [`wait_watcher`](Self::wait_watcher), but the watcher is
    /// left started and idle afterwards, so a socket that waits again
    /// costs libev no `ev_io_start`/`ev_io_stop` pair per wait.
    #[inline]
    pub(crate) fn wait_io(&self, watcher: &crate::core::Io, secs: Option<f64>) -> Result<bool> {
        self.wait_on(
            watcher.waiting(),
            |t| watcher.attach_wake(t),
            secs,
            || watcher.detach_wake(),
        )
    }

    /// The shape of both: refuse a second waiter (`busy`), `start` the
    /// watcher with this greenlet's wake-up, park, then `finish`.
    #[inline(always)]
    fn wait_on(
        &self,
        busy: bool,
        start: impl FnOnce(raw::WakeToken) -> Result<()>,
        secs: Option<f64>,
        finish: impl FnOnce(),
    ) -> Result<bool> {
        self.ensure_can_block()?;
        if busy {
            return Err(Error::ConcurrentObjectUse(
                "this watcher (or socket) is already used by another greenlet".into(),
            ));
        }
        let token = raw::park_token();
        if let Err(e) = start(token.clone()) {
            raw::unpark();
            return Err(e);
        }
        let r = self.park_for(token, secs);
        finish();
        r
    }

    /// Registers `f` to run when this hub is destroyed, after its
    /// greenlets were unwound (at once if it already is).
    pub(crate) fn on_destroy(&self, f: Box<dyn FnOnce()>) {
        if self.0.destroyed.get() {
            f();
        } else {
            self.0.destroy_hooks.borrow_mut().push(f);
        }
    }

    /// A handle any thread can use to run code on this hub's loop (gevent's
    /// `loop.run_callback_threadsafe`), made on first use.
    ///
    /// # Errors
    /// [`Error::HubDestroyed`] after [`destroy`](Self::destroy); an error of
    /// the loop if the async watcher cannot be made.
    pub fn threadsafe_handle(&self) -> Result<crate::core::LoopHandle> {
        if self.0.destroyed.get() {
            return Err(Error::HubDestroyed);
        }
        let mut ts = self.0.threadsafe.borrow_mut();
        if ts.is_none() {
            *ts = Some(crate::core::ThreadsafeReceiver::new(&self.0.lp)?);
        }
        Ok(ts.as_ref().expect("just made").handle())
    }

    /// Schedules `f` on this hub's loop (gevent's `loop.run_callback`). `f`
    /// returns `()` or `Result<()>`; an `Err` goes to
    /// [`handle_error`](Self::handle_error), as an exception raised by a
    /// gevent callback does.
    ///
    /// ```
    /// let hub = gevent::get_hub();
    /// hub.run_callback(|| println!("in the hub")).unwrap();
    /// hub.run_callback(|| -> gevent::Result<()> { Err(gevent::Error::msg("reported")) })
    ///     .unwrap();
    /// # hub.set_handle_error(|_, _| ());
    /// gevent::sleep(0.0).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::HubDestroyed`] after [`destroy`](Self::destroy).
    pub fn run_callback<R, F>(&self, f: F) -> Result<crate::core::Callback>
    where
        R: CallbackResult,
        F: FnOnce() -> R + 'static,
    {
        if self.0.destroyed.get() {
            return Err(Error::HubDestroyed);
        }
        let weak = Rc::downgrade(&self.0);
        self.0.lp.run_callback(move || {
            if let Err(e) = f().into_result()
                && let Some(h) = weak.upgrade()
            {
                Hub(h).handle_error("callback", e);
            }
        })
    }

    /// Runs the loop until nothing is left to do (gevent's `hub.join`).
    /// Returns true. Main greenlet only.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] from any greenlet but the main one.
    pub fn join(&self) -> Result<bool> {
        self.join_inner(None)
    }

    /// Like [`join`](Self::join), but gives up after `secs`: false when the
    /// loop still had work then.
    ///
    /// # Errors
    /// As [`join`](Self::join).
    pub fn join_timeout(&self, secs: impl Seconds) -> Result<bool> {
        self.join_inner(Some(checked_timeout(secs)?))
    }

    fn join_inner(&self, timeout: Option<f64>) -> Result<bool> {
        if self.0.attached {
            return Err(Error::BlockingSwitchOut(
                "an attached hub's loop is run by its host: call ev_run".into(),
            ));
        }
        if !raw::RawGreenlet::current().is_main() {
            return Err(Error::invalid(
                "hub.join() is only possible from the main greenlet",
            ));
        }
        if self.0.destroyed.get() {
            return Ok(true);
        }
        let token = raw::park_token();
        let timer = match timeout {
            Some(t) => {
                self.0.lp.update_now();
                let timer = self.0.lp.timer(t.max(0.0), 0.0)?;
                timer.set_ref(false);
                timer.start_wake(token)?;
                Some(timer)
            }
            None => None,
        };
        self.0.joining.set(true);
        let m = self.switch_msg();
        self.0.joining.set(false);
        raw::unpark();
        if let Some(t) = timer {
            t.stop();
        }
        match m {
            Msg::Throw(Error::LoopExit(_) | Error::HubDestroyed) => Ok(true),
            Msg::Throw(e) => Err(e),
            _ => Ok(false),
        }
    }

    /// Sets the handler for errors that escape greenlets and callbacks
    /// (gevent's `Hub.handle_error` override). The default logs them.
    pub fn set_handle_error(&self, f: impl Fn(&str, &Error) + 'static) {
        *self.0.handle_error.borrow_mut() = Some(Rc::new(f));
    }

    /// Restores the default error handler.
    pub fn reset_handle_error(&self) {
        *self.0.handle_error.borrow_mut() = None;
    }

    /// Reports an error that escaped `context` (a greenlet, a callback)
    /// (gevent's `Hub.handle_error`). `GreenletExit` is not reported.
    /// System errors ([`Error::is_system_error`]) are then raised in the
    /// main greenlet, as gevent does.
    pub fn handle_error(&self, context: &str, err: Error) {
        let custom = self.0.handle_error.borrow().clone();
        match custom {
            Some(h) => {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h(context, &err)));
                if r.is_err() {
                    crate::error::emit(
                        log::Level::Error,
                        format_args!("gevent: the hub's error handler panicked"),
                    );
                }
            }
            None => self.print_exception(context, &err),
        }
        if err.is_system_error() {
            self.handle_system_error(err);
        }
    }

    /// Writes the report of `handle_error` (`"<context> failed with X: .."`):
    /// through the `log` crate when a logger is installed, on stderr
    /// otherwise (gevent prints to stderr), so a failed greenlet is never
    /// silent. `GreenletExit` is not reported.
    pub fn print_exception(&self, context: &str, err: &Error) {
        crate::error::report_failure(context, err);
    }

    /// Raises `err` in the main greenlet (gevent's
    /// `handle_system_error`): directly from the hub, otherwise through a
    /// callback.
    pub fn handle_system_error(&self, err: Error) {
        let main = RawGreenlet::main();
        if self.0.greenlet.is_current() {
            hub_switch(&main, Msg::Throw(err));
        } else {
            self.0.lp.run_callback_fn(Box::new(move || {
                if !main.is_current() {
                    hub_switch(&main, Msg::Throw(err));
                }
            }));
        }
    }

    /// Destroys the hub: unwinds every greenlet still suspended on this
    /// thread, ends the greenlets scheduled but not started (as killed,
    /// without running them), stops the hub greenlet and, unless the loop
    /// is the default one, destroys the loop. Links of the greenlets it ends
    /// are dropped unfired: the loop that would run them is gone. The next
    /// [`get_hub`] makes a new hub.
    ///
    /// From the main greenlet this happens at once. From inside the hub (a
    /// callback, a rawlink) or from one of its greenlets, the hub greenlet
    /// does it as soon as it is back in control: the calling greenlet is
    /// unwound with the others (its `destroy()` call does not return), and
    /// the main greenlet's pending blocking call returns
    /// `Err(HubDestroyed)` (`Hub::join` returns `Ok(true)`).
    pub fn destroy(&self) {
        let default = self.0.lp.is_default();
        self.destroy_with(!default)
    }

    /// [`destroy`](Self::destroy), choosing whether to destroy the loop too
    /// (gevent's `destroy(destroy_loop=...)`).
    pub fn destroy_with(&self, destroy_loop: bool) {
        // An attached hub's loop is its host's.
        let destroy_loop = destroy_loop && !self.0.attached;
        if self.0.destroyed.replace(true) {
            return;
        }
        if RawGreenlet::current().is_main() {
            self.teardown(destroy_loop);
            return;
        }
        if self.0.attached {
            // From a greenlet: the main context (the host's callbacks)
            // tears down, unwinding this greenlet with the others.
            let me = self.clone();
            let queued = self.0.lp.run_callback(move || me.teardown(false));
            if queued.is_err() {
                return;
            }
            drop(raw::switch_to(&self.0.greenlet.0, Msg::Value(None)));
            return;
        }
        // Inside the hub or one of its greenlets: the hub greenlet tears
        // down once back in `hub_run`, where no loop callback is running.
        self.0.pending_destroy.set(Some(destroy_loop));
        self.0.lp.0.stopping.set(true);
        self.0.lp.break_how(ev::EVBREAK_ALL);
        if !self.0.greenlet.is_current() {
            // A greenlet: hand control to the hub, which unwinds us with
            // the others (inside a destructor this returns at once).
            drop(raw::switch_to(&self.0.greenlet.0, Msg::Value(None)));
        }
    }

    /// The work of `destroy`, on the main greenlet's or the hub's stack.
    fn teardown(&self, destroy_loop: bool) {
        raw::unwind_all(&[]);
        let hooks = std::mem::take(&mut *self.0.destroy_hooks.borrow_mut());
        for hook in hooks {
            hook();
        }
        // Other threads can no longer reach this hub.
        drop(self.0.threadsafe.borrow_mut().take());
        let hg = &self.0.greenlet;
        if hg.active() && !hg.is_current() {
            // From the main greenlet, the hub's parent: the unwound hub
            // greenlet comes back here.
            self.0.lp.0.stopping.set(true);
            // SAFETY: the hub greenlet is active and suspended (not current).
            let m = unsafe { raw::switch_raw(&hg.0, Msg::Unwind) };
            drop(m);
        }
        // Anything still queued never runs.
        drop(self.0.lp.0.take_callbacks());
        if self.0.attached {
            self.0.lp.0.wake_on_push.set(false);
            if self.0.lp.borrowed() {
                // Detach from a loop given as a raw pointer (the C API):
                // the hub's watchers leave it, and every handle to it
                // (sockets, timers, the thread pool's) turns inert, so
                // nothing touches the loop once its owner destroys it.
                self.0.lp.destroy();
            }
        }
        self.0.lp.0.stopping.set(false);
        let me = Rc::as_ptr(&self.0);
        if HUB.with(|h| h.get()) == me {
            HUB.with(|h| h.set(std::ptr::null()));
            // SAFETY: the strong count HUB held (Rc::into_raw in with_loop).
            drop(unsafe { Rc::from_raw(me) });
        }
        if destroy_loop {
            self.0.lp.destroy();
            if self.0.lp.is_default() {
                let _ = DEFAULT_LOOP.try_with(|d| d.borrow_mut().take());
            }
        }
    }

    fn loop_exit_message(&self) -> String {
        let (n, names) = raw::suspended_names(10);
        let mut m = String::from("This operation would block forever");
        m.push_str(&format!(
            "\n\tHub: <Hub at {:p} {:?}>",
            Rc::as_ptr(&self.0),
            self.0.lp
        ));
        m.push_str(&format!("\n\tHandles: {n} greenlet(s) still waiting"));
        if !names.is_empty() {
            m.push_str(&format!(": {}", names.join(", ")));
            if n > names.len() {
                m.push_str(", ...");
            }
        }
        m
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.destroyed() {
            write!(f, "<Hub at {:p} destroyed>", Rc::as_ptr(&self.0))
        } else {
            write!(f, "<Hub at {:p} {:?}>", Rc::as_ptr(&self.0), self.0.lp)
        }
    }
}

impl PartialEq for Hub {
    fn eq(&self, other: &Hub) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// Maps the message that ended a wait to its result.
#[inline]
pub(crate) fn wake_result(m: Msg) -> Result<()> {
    match m {
        Msg::Wake => Ok(()),
        Msg::Throw(e) => Err(e),
        Msg::Value(_) | Msg::Unwind => Err(invalid_switch()),
    }
}

pub(crate) fn invalid_switch() -> Error {
    Error::InvalidSwitch(
        format!(
            "Invalid switch into {}: got a switch it was not waiting for",
            RawGreenlet::current().name()
        )
        .into(),
    )
}

/// The hub greenlet's function: run the loop; when it runs out of work,
/// raise LoopExit in the main greenlet; repeat until stopped. A `destroy`
/// asked from inside is carried out here, and the main greenlet then gets
/// `HubDestroyed`.
fn hub_run(lp: Loop, me: std::rc::Weak<HubInner>) -> Result<raw::Value> {
    // Looked at before the first run too: a greenlet may destroy the hub
    // before it ever ran, or while it waits for the answer to LoopExit.
    let torn_down = || {
        let hub = me.upgrade()?;
        let destroy_loop = hub.pending_destroy.take()?;
        Hub(hub).teardown(destroy_loop);
        Some(Err(Error::HubDestroyed))
    };
    let stopped = || lp.0.stopping.get() || lp.destroyed();
    loop {
        if let Some(r) = torn_down() {
            return r;
        }
        lp.run();
        if let Some(r) = torn_down() {
            return r;
        }
        if stopped() {
            return Ok(None);
        }
        let msg = match get_hub_if_exists() {
            Some(h) if h.0.lp == lp && !h.0.joining.get() => h.loop_exit_message(),
            _ => "This operation would block forever".to_string(),
        };
        let main = RawGreenlet::main();
        hub_switch(&main, Msg::Throw(Error::LoopExit(msg.into())));
        if let Some(r) = torn_down() {
            return r;
        }
        if stopped() {
            return Ok(None);
        }
    }
}

/// A switch made by the hub (or any code running in it): afterwards,
/// handle what the switch back delivered.
pub(crate) fn hub_switch(target: &RawGreenlet, msg: Msg) {
    if target.dead() {
        return;
    }
    // SAFETY: called on the hub's (or the main) stack of this thread; the
    // target is not dead.
    let m = unsafe { raw::switch_raw(&target.0, msg) };
    after_switch_into(m);
}

/// Handles the message the hub receives when control comes back to it
/// after it switched into a greenlet: an error a raw greenlet died with is
/// reported; an unwind request stops the hub.
/// [`after_switch_into`] on the data word of the switch back.
#[inline(always)]
pub(crate) fn after_switch_data(d: usize) {
    if d != raw::DATA_VALUE_NONE && d != raw::DATA_WAKE {
        // SAFETY: just received, decoded once.
        after_switch_slow(unsafe { raw::decode(d) });
    }
}

#[inline]
pub(crate) fn after_switch_into(m: Msg) {
    match m {
        Msg::Value(None) | Msg::Wake => {}
        m => after_switch_slow(m),
    }
}

#[cold]
#[inline(never)]
fn after_switch_slow(m: Msg) {
    match m {
        Msg::Value(_) | Msg::Wake => {}
        Msg::Throw(e) => {
            if let Some(h) = get_hub_if_exists() {
                h.handle_error("greenlet", e);
            } else {
                crate::error::report_failure("greenlet", &e);
            }
        }
        Msg::Unwind => {
            let cur = RawGreenlet::current();
            if cur.is_hub()
                && let Some(h) = get_hub_if_exists()
            {
                h.0.lp.0.stopping.set(true);
                h.0.lp.break_how(ev::EVBREAK_ALL);
            }
        }
    }
}

/// Blocks the current greenlet for `secs` seconds (gevent's `sleep`).
///
/// `sleep(0.0)` (or less) yields: every other greenlet and callback that is
/// ready runs once, in FIFO order, then this one resumes. A positive sleep
/// waits on a timer started after refreshing the loop's clock.
///
/// # Errors
/// [`Error::BlockingSwitchOut`] from inside the hub; [`Error::InvalidArgument`]
/// for NaN; whatever is thrown into the greenlet while it sleeps (a
/// `Timeout`, a kill).
#[inline]
pub fn sleep(secs: impl Seconds) -> Result<()> {
    sleep_ref(secs, true)
}

/// [`sleep`] with gevent's `ref` argument: with `ref_ = false` the sleep
/// does not keep the loop alive, so the wait may end in `LoopExit`.
///
/// # Errors
/// As [`sleep`].
#[inline]
pub fn sleep_ref(secs: impl Seconds, ref_: bool) -> Result<()> {
    let secs = checked_secs(secs)?;
    let hub = get_hub();
    hub.ensure_can_block()?;
    if secs <= 0.0 {
        let token = raw::park_token();
        hub.0
            .lp
            .push_callback(crate::core::CallbackEntry::Wake(token));
        let m = hub.switch_msg();
        raw::unpark();
        return wake_result(m);
    }
    // Parked with nothing but the timer to wake it.
    hub.park_timed(raw::park_token(), Some(secs), ref_)
        .map(|_expired| ())
}

/// Waits until the loop is idle: no other events of this or higher priority
/// are pending (gevent's `idle`).
///
/// # Errors
/// As [`sleep`].
pub fn idle() -> Result<()> {
    let hub = get_hub();
    hub.ensure_can_block()?;
    let w = hub.loop_().idle()?;
    hub.wait(&w)
}

/// An installed signal handler (gevent's `signal_handler` result). The
/// handler stays installed while this value lives: bind it
/// (`let _handler = signal_handler(..)?;`) for as long as it should handle
/// the signal; dropping it uninstalls the handler.
#[must_use = "dropping a SignalHandler uninstalls it: keep it alive with `let _h = ...` (not `let _ = ...`)"]
pub struct SignalHandler {
    watcher: crate::core::Signal,
}

impl SignalHandler {
    /// Stops handling the signal.
    pub fn cancel(&self) {
        self.watcher.stop();
    }

    /// Whether the handler keeps the loop alive (false by default).
    pub fn ref_(&self) -> bool {
        self.watcher.ref_()
    }

    /// Sets whether the handler keeps the loop alive.
    pub fn set_ref(&self, value: bool) {
        self.watcher.set_ref(value)
    }

    /// True while installed.
    pub fn active(&self) -> bool {
        self.watcher.active()
    }
}

impl Drop for SignalHandler {
    fn drop(&mut self) {
        self.watcher.stop();
    }
}

/// Runs `handler` in a new greenlet each time `signum` arrives (gevent's
/// `signal_handler`). The watcher does not keep the loop alive. An error
/// returned by the handler is reported and then raised in the main
/// greenlet, as gevent raises a signal handler's exception there. The
/// handler stays installed until the returned value is cancelled or
/// dropped.
///
/// # Errors
/// [`Error::InvalidArgument`] for a bad signal number (or one already
/// watched by another thread's loop).
pub fn signal_handler(
    signum: i32,
    handler: impl Fn() -> Result<()> + 'static,
) -> Result<SignalHandler> {
    let hub = get_hub();
    let watcher = hub.loop_().signal(signum)?;
    watcher.set_ref(false);
    let handler = Rc::new(handler);
    let weak_hub = Rc::downgrade(&hub.0);
    watcher.start(move || {
        let h = handler.clone();
        let Some(hub) = weak_hub.upgrade().map(Hub) else {
            return;
        };
        let g = RawGreenlet::with_kind(
            Box::new(move |_| {
                if let Err(e) = h() {
                    let hub = get_hub();
                    hub.handle_error("signal handler", e.clone());
                    if !e.is_system_error() {
                        hub.handle_system_error(e);
                    }
                }
                Ok(None)
            }),
            Some(hub.greenlet().0.clone()),
            Kind::Normal,
        );
        hub_switch(&g, Msg::Value(None));
    })?;
    Ok(SignalHandler { watcher })
}
