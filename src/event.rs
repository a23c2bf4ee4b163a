//! Events (gevent's `gevent.event`): [`Event`], a flag greenlets wait on,
//! and [`AsyncResult<T>`], a one-shot value or error delivered to waiters.
//!
//! ```
//! use gevent::event::{AsyncResult, Event};
//!
//! let ev = Event::new();
//! let result: AsyncResult<i32> = AsyncResult::new();
//! let (e, r) = (ev.clone(), result.clone());
//! gevent::spawn(move || {
//!     e.wait()?;
//!     r.set(42);
//!     Ok(())
//! });
//! ev.set();
//! assert_eq!(result.get().unwrap(), 42);
//! ```
//!
//! Waiters wake in the order they began to wait. `set()` followed at once by
//! `clear()` still wakes every greenlet that was waiting.
//!
//! Another thread sets them through a `Send` handle
//! ([`Event::threadsafe`], [`AsyncResult::threadsafe`]), which runs the
//! `set` on the owner's thread (gevent's cross-thread `set`, through the
//! hub's `run_callback_threadsafe`).
//!
//! # Differences from gevent
//! `Event::wait_timeout` returns `Ok(false)` on timeout (gevent returns
//! the flag, False); `AsyncResult::get_timeout` returns `Err(Timeout)`, as
//! gevent raises. `AsyncResult` is not callable as a link target: link a
//! greenlet to it with `g.link(move |g| result.set_from(g))`. Both are
//! per-thread objects (`!Send`): other threads use the thread-safe handles,
//! and only the owner thread's greenlets can wait.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use crate::error::{Error, Result, TimeoutError};
use crate::greenlet::Greenlet;
use crate::linkable::{LinkCore, Linkable, Notify, linkable_api};
use crate::timeout::{TimeoutArg, TimeoutSpec};

/// A flag greenlets can wait on (gevent's `Event`). Cloning gives another
/// handle to the same event.
#[derive(Clone)]
pub struct Event(Rc<EventInner>);

struct EventInner {
    flag: Cell<bool>,
    core: LinkCore,
    me: Weak<EventInner>,
}

impl Notify for EventInner {
    fn notify(self: Rc<Self>) {
        self.core.run_notify(&*self);
    }
}

impl Linkable for EventInner {
    fn is_ready(&self) -> bool {
        self.flag.get()
    }

    fn notifier(&self) -> Option<Rc<dyn Notify>> {
        self.me.upgrade().map(|r| r as Rc<dyn Notify>)
    }
}

impl Default for Event {
    fn default() -> Self {
        Self::new()
    }
}

impl Event {
    /// A new event, not set, on the current thread's hub.
    pub fn new() -> Event {
        Event(Rc::new_cyclic(|me| EventInner {
            flag: Cell::new(false),
            core: LinkCore::new(true),
            me: me.clone(),
        }))
    }

    /// Sets the flag and wakes every waiter (through the loop).
    pub fn set(&self) {
        self.0.flag.set(true);
        self.0.core.check_and_notify(&*self.0);
    }

    /// Resets the flag: later `wait()`s block until the next `set()`.
    pub fn clear(&self) {
        self.0.flag.set(false);
    }

    /// The flag.
    pub fn is_set(&self) -> bool {
        self.0.flag.get()
    }

    /// The flag (gevent's `ready`, for `wait`/`iwait` over mixed objects).
    pub fn ready(&self) -> bool {
        self.0.flag.get()
    }

    /// Blocks until the flag is set; returns true. Returns at once if it is
    /// set (after the waiters a pending notification is about to wake).
    ///
    /// # Errors
    /// [`Error::BlockingSwitchOut`] from the hub; whatever is thrown into
    /// the greenlet while it waits (`LoopExit` when nothing can set it).
    #[inline]
    pub fn wait(&self) -> Result<bool> {
        self.wait_spec(None)
    }

    /// Like [`wait`](Self::wait), but gives up after `timeout` (seconds or
    /// a [`Timeout`](crate::Timeout)): then `Ok(false)`.
    ///
    /// # Errors
    /// As [`wait`](Self::wait); an outer timeout is never swallowed.
    pub fn wait_timeout(&self, timeout: impl TimeoutArg) -> Result<bool> {
        self.wait_spec(Some(timeout.timeout_spec()?))
    }

    #[inline(always)]
    fn wait_spec(&self, timeout: Option<TimeoutSpec>) -> Result<bool> {
        if self.0.flag.get() {
            self.0.core.wait_behind_pending()?;
            return Ok(true);
        }
        self.0.core.wait_core(&*self.0, timeout)
    }
}

linkable_api!(impl [] Event, exception: |_| None);

impl Event {
    /// A `Send` handle that sets (or clears) this event from any thread;
    /// the change happens on this event's thread at its loop's next
    /// iteration. While a handle exists the loop is kept alive.
    ///
    /// # Errors
    /// [`Error::HubDestroyed`] when the hub is gone.
    pub fn threadsafe(&self) -> Result<ThreadSafeEvent> {
        let remote = crate::remote::Remote::register(&self.0.core.hub, Rc::new(self.clone()))?;
        Ok(ThreadSafeEvent(remote))
    }
}

/// Sets an [`Event`] from any thread (see [`Event::threadsafe`]).
#[derive(Clone)]
pub struct ThreadSafeEvent(crate::remote::Remote);

impl ThreadSafeEvent {
    /// Sets the event (on its thread, soon).
    ///
    /// # Errors
    /// [`Error::HubDestroyed`] when the event's hub is gone.
    pub fn set(&self) -> Result<()> {
        self.0.call(|e: &Event| e.set())
    }

    /// Clears the event (on its thread, soon).
    ///
    /// # Errors
    /// [`Error::HubDestroyed`] when the event's hub is gone.
    pub fn clear(&self) -> Result<()> {
        self.0.call(|e: &Event| e.clear())
    }
}

impl std::fmt::Debug for ThreadSafeEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<ThreadSafeEvent>")
    }
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<Event {} _links[{}]>",
            if self.is_set() { "set" } else { "clear" },
            self.linkcount()
        )
    }
}

/// A one-shot result: a value or an error, set once, waited on by any
/// number of greenlets (gevent's `AsyncResult`). Cloning gives another
/// handle to the same result.
pub struct AsyncResult<T: 'static>(Rc<ResultInner<T>>);

impl<T> Clone for AsyncResult<T> {
    fn clone(&self) -> Self {
        AsyncResult(self.0.clone())
    }
}

struct ResultInner<T: 'static> {
    value: RefCell<Option<Result<T>>>,
    core: LinkCore,
    me: Weak<ResultInner<T>>,
}

impl<T: 'static> Notify for ResultInner<T> {
    fn notify(self: Rc<Self>) {
        self.core.run_notify(&*self);
    }
}

impl<T: 'static> Linkable for ResultInner<T> {
    fn is_ready(&self) -> bool {
        self.value.borrow().is_some()
    }

    fn notifier(&self) -> Option<Rc<dyn Notify>> {
        self.me.upgrade().map(|r| r as Rc<dyn Notify>)
    }
}

impl<T: 'static> Default for AsyncResult<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: 'static> AsyncResult<T> {
    /// A new, empty result on the current thread's hub.
    #[inline]
    pub fn new() -> AsyncResult<T> {
        AsyncResult(Rc::new_cyclic(|me| ResultInner {
            value: RefCell::new(None),
            core: LinkCore::new(true),
            me: me.clone(),
        }))
    }

    /// Stores `value` and wakes the waiters. A later `set` replaces the
    /// value (as in gevent).
    #[inline]
    pub fn set(&self, value: T) {
        *self.0.value.borrow_mut() = Some(Ok(value));
        self.0.core.check_and_notify(&*self.0);
    }

    /// Stores an error and wakes the waiters: their `get()` returns it.
    pub fn set_exception(&self, err: Error) {
        *self.0.value.borrow_mut() = Some(Err(err));
        self.0.core.check_and_notify(&*self.0);
    }

    /// Sets this result from a dead greenlet's outcome (gevent's link target
    /// `greenlet.link(async_result)`): its value, or its failure
    /// (`GreenletExit` for a killed one).
    pub fn set_from(&self, g: &Greenlet<T>)
    where
        T: Clone,
    {
        match g.get_ready() {
            Ok(v) => self.set(v),
            Err(e) => self.set_exception(e),
        }
    }

    /// True once set.
    pub fn ready(&self) -> bool {
        self.0.value.borrow().is_some()
    }

    /// True once set with a value (not an error).
    pub fn successful(&self) -> bool {
        matches!(&*self.0.value.borrow(), Some(Ok(_)))
    }

    /// The value, once set with one.
    pub fn value(&self) -> Option<T>
    where
        T: Clone,
    {
        match &*self.0.value.borrow() {
            Some(Ok(v)) => Some(v.clone()),
            _ => None,
        }
    }

    /// The error, once set with one.
    pub fn exception(&self) -> Option<Error> {
        match &*self.0.value.borrow() {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        }
    }

    fn outcome(&self) -> Option<Result<T>>
    where
        T: Clone,
    {
        self.0.value.borrow().clone()
    }

    /// Blocks until set; returns the value or the error set.
    ///
    /// # Errors
    /// The error set; [`Error::BlockingSwitchOut`] from the hub; whatever is
    /// thrown into the greenlet while it waits.
    #[inline]
    pub fn get(&self) -> Result<T>
    where
        T: Clone,
    {
        if let Some(r) = self.outcome() {
            return r;
        }
        self.0.core.wait_core(&*self.0, None)?;
        self.outcome()
            .unwrap_or_else(|| Err(crate::hub::invalid_switch()))
    }

    /// Like [`get`](Self::get), giving up after `timeout`: seconds give
    /// [`Error::Timeout`], a [`Timeout`](crate::Timeout) gives that
    /// timeout's own error.
    ///
    /// # Errors
    /// As [`get`](Self::get), plus the timeout.
    pub fn get_timeout(&self, timeout: impl TimeoutArg) -> Result<T>
    where
        T: Clone,
    {
        if let Some(r) = self.outcome() {
            return r;
        }
        match timeout.timeout_spec()? {
            TimeoutSpec::Seconds(s) => {
                if !self
                    .0
                    .core
                    .wait_core(&*self.0, Some(TimeoutSpec::Seconds(s)))?
                {
                    return Err(Error::Timeout(TimeoutError {
                        id: 0,
                        seconds: Some(s),
                        message: None,
                    }));
                }
            }
            TimeoutSpec::Timeout(t) => {
                t.run(|| self.0.core.wait_core(&*self.0, None))?;
            }
        }
        self.outcome()
            .unwrap_or_else(|| Err(crate::hub::invalid_switch()))
    }

    /// The outcome without blocking: `Err(Timeout)` if not set yet
    /// (gevent's `get(block=False)` / `get_nowait`).
    ///
    /// # Errors
    /// The error set, or the timeout.
    pub fn try_get(&self) -> Result<T>
    where
        T: Clone,
    {
        self.outcome().unwrap_or(Err(Error::Timeout(TimeoutError {
            id: 0,
            seconds: None,
            message: None,
        })))
    }

    /// Blocks until set; returns the value if it is one (gevent's
    /// `wait`).
    ///
    /// # Errors
    /// As [`Event::wait`].
    pub fn wait(&self) -> Result<Option<T>>
    where
        T: Clone,
    {
        if !self.ready() {
            self.0.core.wait_core(&*self.0, None)?;
        } else {
            self.0.core.wait_behind_pending()?;
        }
        Ok(self.value())
    }

    /// Like [`wait`](Self::wait), giving up after `timeout` (then
    /// `Ok(None)`).
    ///
    /// # Errors
    /// As [`Event::wait`].
    pub fn wait_timeout(&self, timeout: impl TimeoutArg) -> Result<Option<T>>
    where
        T: Clone,
    {
        if !self.ready() {
            self.0
                .core
                .wait_core(&*self.0, Some(timeout.timeout_spec()?))?;
        } else {
            self.0.core.wait_behind_pending()?;
        }
        Ok(self.value())
    }
}

linkable_api!(impl [T: 'static] AsyncResult<T>, exception: |r| r.exception());

impl<T: Send + 'static> AsyncResult<T> {
    /// A `Send` handle that sets this result from any thread (gevent's
    /// cross-thread `AsyncResult.set`); the value is delivered on this
    /// result's thread at its loop's next iteration. While a handle exists
    /// the loop is kept alive.
    ///
    /// # Errors
    /// [`Error::HubDestroyed`] when the hub is gone.
    pub fn threadsafe(&self) -> Result<ThreadSafeAsyncResult<T>> {
        let remote = crate::remote::Remote::register(&self.0.core.hub, Rc::new(self.clone()))?;
        Ok(ThreadSafeAsyncResult(remote, std::marker::PhantomData))
    }
}

/// Sets an [`AsyncResult`] from any thread (see [`AsyncResult::threadsafe`]).
pub struct ThreadSafeAsyncResult<T>(crate::remote::Remote, std::marker::PhantomData<fn(T)>);

impl<T> Clone for ThreadSafeAsyncResult<T> {
    fn clone(&self) -> Self {
        ThreadSafeAsyncResult(self.0.clone(), std::marker::PhantomData)
    }
}

impl<T: Send + 'static> ThreadSafeAsyncResult<T> {
    /// Sets the value (on the result's thread, soon).
    ///
    /// # Errors
    /// [`Error::HubDestroyed`] when the result's hub is gone.
    pub fn set(&self, value: T) -> Result<()> {
        self.0.call(move |r: &AsyncResult<T>| r.set(value))
    }

    /// Sets an error (on the result's thread, soon).
    ///
    /// # Errors
    /// [`Error::HubDestroyed`] when the result's hub is gone.
    pub fn set_exception(&self, err: Error) -> Result<()> {
        self.0.call(move |r: &AsyncResult<T>| r.set_exception(err))
    }
}

impl<T> std::fmt::Debug for ThreadSafeAsyncResult<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<ThreadSafeAsyncResult>")
    }
}

impl<T: 'static> std::fmt::Debug for AsyncResult<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &*self.0.value.borrow() {
            None => "unset",
            Some(Ok(_)) => "value",
            Some(Err(_)) => "exception",
        };
        write!(f, "<AsyncResult {state} _links[{}]>", self.linkcount())
    }
}
