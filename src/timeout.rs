//! Timeouts (gevent's `gevent.timeout`): a timer that raises an error in
//! the greenlet that started it, at whatever blocking call it is in.
//!
//! ```
//! use gevent::timeout::Timeout;
//!
//! let t = Timeout::start_new(0.01);
//! let err = gevent::sleep(1.0).unwrap_err();
//! assert!(t.caused(&err));
//! ```
//!
//! Dropping the last handle of a `Timeout` cancels it, like leaving
//! gevent's `with Timeout(...)` block. Nested timeouts work: the one that
//! fires is the one reported, and [`Timeout::caused`] tells which.
//!
//! # Keeping a timeout alive
//! gevent's docstring example `gevent.Timeout(0.1).start(); gevent.sleep(0.2)`
//! translates with a binding: a `Timeout` that is not bound is dropped at
//! once, and cancelled (the compiler warns: `Timeout` is `#[must_use]`).
//!
//! ```
//! use gevent::{Error, Timeout, sleep};
//!
//! let _t = Timeout::start_new(0.1); // `let _ = ...` would cancel it at once
//! assert!(matches!(sleep(0.2), Err(Error::Timeout(_))));
//! ```
//!
//! ```compile_fail
//! #![deny(unused_must_use)]
//! gevent::Timeout::start_new(0.1); // dropped and cancelled: refused
//! ```
//!
//! # `with Timeout(seconds) as t:`
//! The block form is a scope holding the timeout; the error it raises is
//! told from other timeouts' with `t.caused(&err)` (gevent's
//! `except Timeout as e: if e is not t: raise`):
//!
//! ```
//! use gevent::{Timeout, sleep};
//!
//! // with gevent.Timeout(0.05) as t:
//! //     gevent.sleep(10)
//! // except gevent.Timeout as e:
//! //     if e is not t: raise
//! //     print("timed out")
//! let outcome = {
//!     let t = Timeout::start_new(0.05);
//!     match sleep(10.0) {
//!         Err(e) if t.caused(&e) => "timed out",
//!         Err(e) => return Err(e),
//!         Ok(()) => "finished",
//!     }
//! }; // leaving the block drops `t`: cancelled if it had not fired
//! assert_eq!(outcome, "timed out");
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! [`Timeout::run`] is the same as a call: it starts the timeout, runs the
//! closure, and cancels it; [`with_timeout`] makes the timeout itself.
//!
//! # Differences from gevent
//! gevent's silent `Timeout(t, False)` context manager is
//! [`with_timeout_silent`]: it returns `Ok(None)` when its own timeout
//! fired. A custom exception is a custom [`Error`]
//! ([`Timeout::with_error`]).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::core::Timer;
use crate::error::{Error, Result, TimeoutError};
use crate::greenlet::RawGreenlet;
use crate::greenlet::raw::Msg;
use crate::hub::{Seconds, checked_secs, get_hub, hub_switch};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A timeout. Cloning gives another handle to the same timeout; dropping
/// the last one cancels it.
#[derive(Clone)]
#[must_use = "dropping the last handle of a Timeout cancels it: keep it alive with `let _t = ...` (not `let _ = ...`) for as long as it should run"]
pub struct Timeout(Rc<Inner>);

struct Inner {
    id: u64,
    seconds: Option<f64>,
    message: Option<std::sync::Arc<str>>,
    error: Option<Error>,
    timer: RefCell<Option<Timer>>,
    fired: Cell<bool>,
    ref_: Cell<bool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(t) = self.timer.get_mut().take() {
            t.close();
        }
    }
}

impl Timeout {
    /// A timeout of `seconds`, not started; `None` never fires.
    pub fn new(seconds: Option<f64>) -> Timeout {
        Self::make(seconds, None)
    }

    /// A timeout that delivers `err` instead of [`Error::Timeout`].
    pub fn with_error(seconds: Option<f64>, err: Error) -> Timeout {
        Self::make(seconds, Some(err))
    }

    /// A timeout whose own [`Error::Timeout`] carries `message` (gevent's
    /// `Timeout(secs, 'text')`: its text ends with the message).
    pub fn with_message(seconds: Option<f64>, message: impl Into<std::sync::Arc<str>>) -> Timeout {
        Self::make_with(seconds, None, Some(message.into()))
    }

    fn make(seconds: Option<f64>, error: Option<Error>) -> Timeout {
        Self::make_with(seconds, error, None)
    }

    fn make_with(
        seconds: Option<f64>,
        error: Option<Error>,
        message: Option<std::sync::Arc<str>>,
    ) -> Timeout {
        Timeout(Rc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            seconds,
            message,
            error,
            timer: RefCell::new(None),
            fired: Cell::new(false),
            ref_: Cell::new(true),
        }))
    }

    /// A new timeout of `secs`, started (gevent's `Timeout.start_new`).
    pub fn start_new(secs: impl Seconds) -> Timeout {
        let t = Timeout::new(Some(secs.secs()));
        // Only NaN can fail, and NaN never fires: as gevent with None.
        let _ = t.start();
        t
    }

    /// Starts the timer: when it fires, the greenlet calling `start` gets
    /// the timeout's error from the blocking call it is in. Restarting a
    /// pending timeout restarts its timer. The loop's clock is refreshed
    /// first, so the timeout measures from now.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for NaN seconds; [`Error::BlockingSwitchOut`]
    /// from inside the hub (a timeout there has nobody to interrupt).
    pub fn start(&self) -> Result<()> {
        self.cancel();
        let Some(secs) = self.0.seconds else {
            return Ok(());
        };
        let secs = checked_secs(secs)?;
        let hub = get_hub();
        hub.ensure_can_block()?;
        let target = RawGreenlet::current();
        let lp = hub.loop_();
        lp.update_now();
        let timer = lp.timer(secs.max(0.0), 0.0)?;
        let _ = timer.set_priority(-1);
        timer.set_ref(self.0.ref_.get());
        let me = std::rc::Rc::downgrade(&self.0);
        timer.start(move || {
            let Some(inner) = me.upgrade() else { return };
            inner.fired.set(true);
            let err = Timeout(inner).error();
            if target.active() && !target.is_current() {
                hub_switch(&target, Msg::Throw(err));
            }
        })?;
        self.0.fired.set(false);
        *self.0.timer.borrow_mut() = Some(timer);
        Ok(())
    }

    /// gevent's `ref=False`: a timeout that does not keep the loop alive
    /// (a wait it guards may then end in `LoopExit`). Takes effect at once
    /// on a pending timeout.
    pub fn set_ref(&self, value: bool) {
        self.0.ref_.set(value);
        if let Some(t) = self.0.timer.borrow().as_ref() {
            t.set_ref(value);
        }
    }

    /// Whether the timeout keeps the loop alive.
    pub fn ref_(&self) -> bool {
        self.0.ref_.get()
    }

    /// [`start_new`](Self::start_new) with gevent's `ref` argument.
    pub fn start_new_ref(secs: impl Seconds, ref_: bool) -> Timeout {
        let t = Timeout::new(Some(secs.secs()));
        t.set_ref(ref_);
        let _ = t.start();
        t
    }

    /// The error this timeout delivers when it fires.
    pub fn error(&self) -> Error {
        match &self.0.error {
            Some(e) => e.clone(),
            None => Error::Timeout(TimeoutError {
                id: self.0.id,
                seconds: self.0.seconds,
                message: self.0.message.clone(),
            }),
        }
    }

    /// Stops the timer if pending.
    pub fn cancel(&self) {
        if let Some(t) = self.0.timer.borrow_mut().take() {
            t.close();
        }
    }

    /// Cancels and releases the timer (gevent's `close`).
    pub fn close(&self) {
        self.cancel()
    }

    /// True while started and not yet fired or cancelled.
    pub fn pending(&self) -> bool {
        self.0.timer.borrow().as_ref().is_some_and(|t| t.active())
    }

    /// True once the timer fired (until restarted).
    pub fn fired(&self) -> bool {
        self.0.fired.get()
    }

    /// The duration, `None` for a timeout that never fires.
    pub fn seconds(&self) -> Option<f64> {
        self.0.seconds
    }

    /// True when `err` is this timeout firing (gevent's `except Timeout as
    /// t: if t is not timer: raise`).
    pub fn caused(&self, err: &Error) -> bool {
        match (&self.0.error, err) {
            (None, Error::Timeout(t)) => t.id == self.0.id,
            (Some(mine), e) => self.0.fired.get() && mine == e,
            _ => false,
        }
    }
}

impl std::fmt::Debug for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<Timeout seconds={:?} pending={}>",
            self.0.seconds,
            self.pending()
        )
    }
}

/// Runs `f` under a timeout of `secs` (gevent's `with_timeout`).
///
/// # Errors
/// [`Error::Timeout`] if it fired; otherwise whatever `f` returned.
pub fn with_timeout<T>(secs: impl Seconds, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let t = Timeout::new(Some(secs.secs()));
    t.start()?;
    let r = f();
    t.cancel();
    r
}

/// `with_timeout(secs, f, timeout_value=v)`: returns `v` when this
/// timeout fired, instead of an error. An outer timeout still propagates.
///
/// # Errors
/// Whatever `f` returned other than this timeout.
pub fn with_timeout_value<T>(
    secs: impl Seconds,
    value: T,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let t = Timeout::new(Some(secs.secs()));
    t.start()?;
    let r = f();
    t.cancel();
    match r {
        Err(e) if t.caused(&e) => Ok(value),
        r => r,
    }
}

/// gevent's silent `with Timeout(secs, False):` block: `Ok(None)` when this
/// timeout interrupted `f`.
///
/// # Errors
/// Whatever `f` returned other than this timeout.
pub fn with_timeout_silent<T>(
    secs: impl Seconds,
    f: impl FnOnce() -> Result<T>,
) -> Result<Option<T>> {
    let t = Timeout::new(Some(secs.secs()));
    t.start()?;
    let r = f();
    t.cancel();
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if t.caused(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What a `_timeout` form accepts: seconds (anything [`Seconds`], not
/// negative), or a
/// [`Timeout`] that the call starts itself, gevent's `timeout=Timeout(..)`
/// argument. With a `Timeout`, the call fails with *that* timeout's error
/// (its identity, or its custom error) when it fires.
pub trait TimeoutArg {
    /// The timeout as given.
    fn timeout_spec(self) -> Result<TimeoutSpec>;
}

/// A resolved [`TimeoutArg`].
#[derive(Clone, Debug)]
pub enum TimeoutSpec {
    /// Give up after this many seconds.
    Seconds(f64),
    /// Start this timeout and fail with its error when it fires.
    Timeout(Timeout),
}

impl<S: Seconds> TimeoutArg for S {
    /// # Errors
    /// [`Error::InvalidArgument`] for NaN or a negative number of seconds
    /// (a bug in the caller: it could only mean "already expired").
    fn timeout_spec(self) -> Result<TimeoutSpec> {
        let s = checked_secs(self)?;
        if s < 0.0 {
            return Err(Error::invalid(format!("timeout must be non-negative: {s}")));
        }
        Ok(TimeoutSpec::Seconds(s))
    }
}

impl TimeoutArg for Timeout {
    fn timeout_spec(self) -> Result<TimeoutSpec> {
        Ok(TimeoutSpec::Timeout(self))
    }
}

impl TimeoutArg for &Timeout {
    fn timeout_spec(self) -> Result<TimeoutSpec> {
        Ok(TimeoutSpec::Timeout(self.clone()))
    }
}

impl Timeout {
    /// Runs `f` (a blocking call) under this timeout: starts it, runs, and
    /// cancels it. `f`'s result is returned as is; when this timeout fired,
    /// that is `Err(self.error())`.
    ///
    /// # Errors
    /// As [`start`](Self::start), or `f`'s.
    pub fn run<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        // gevent's `Timeout._start_new_or_dummy`: a pending timeout is used
        // as it is, not restarted.
        let started_here = !self.pending();
        if started_here {
            self.start()?;
        }
        let r = f();
        if started_here {
            self.cancel();
        }
        r
    }

    /// True when `err` is this timeout's own [`Error::Timeout`] (not its
    /// custom error): what gevent's `join(timeout=t)` swallows.
    pub fn is_own_timeout(&self, err: &Error) -> bool {
        matches!(err, Error::Timeout(t) if t.id == self.0.id)
    }
}
