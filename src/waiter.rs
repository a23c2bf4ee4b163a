//! `Waiter<T>`: the one-shot mailbox between a blocked greenlet and the hub
//! (gevent's `gevent._waiter.Waiter`).
//!
//! ```
//! use gevent::{Waiter, get_hub};
//!
//! let w: Waiter<i32> = Waiter::new();
//! let w2 = w.clone();
//! get_hub().run_callback(move || w2.switch(25)).unwrap();
//! assert_eq!(w.get().unwrap(), 25);
//! ```
//!
//! `switch(value)` and `throw(err)` are meant to run in the hub (a callback
//! or a watcher callback). If no greenlet waits yet, the value is kept and
//! the next `get()` returns it at once. Called from an ordinary greenlet,
//! they deliver through the loop's callback queue.
//!
//! # Differences from gevent
//! `get()` returns `Err(..)` where gevent raises; a second concurrent
//! `get()` is [`Error::ConcurrentObjectUse`], a foreign switch into the
//! waiting greenlet [`Error::InvalidSwitch`].

use std::cell::Cell;
use std::rc::Rc;

use crate::core::CallbackEntry;
use crate::error::{Error, Result};
use crate::greenlet::raw::{self, RawGreenlet, WakeToken};
use crate::hub::{Hub, after_switch_data, get_hub, invalid_switch};

/// A one-shot handoff from the hub to one waiting greenlet. Cloning gives
/// another handle to the same waiter.
pub struct Waiter<T>(Rc<WaiterInner<T>>);

impl<T> Clone for Waiter<T> {
    fn clone(&self) -> Self {
        Waiter(self.0.clone())
    }
}

struct WaiterInner<T> {
    hub: Hub,
    /// Set while a greenlet waits in `get()`: the wake-up for it.
    token: Cell<Option<WakeToken>>,
    value: Cell<Option<Result<T>>>,
}

impl<T: 'static> Default for Waiter<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: 'static> Waiter<T> {
    /// A waiter on the current thread's hub.
    #[inline]
    pub fn new() -> Waiter<T> {
        Self::with_hub(get_hub())
    }

    /// A waiter on `hub`.
    pub fn with_hub(hub: Hub) -> Waiter<T> {
        Waiter(Rc::new(WaiterInner {
            hub,
            token: Cell::new(None),
            value: Cell::new(None),
        }))
    }

    /// Delivers `value`: wakes the waiting greenlet, or keeps the value for
    /// the next `get()`.
    #[inline]
    pub fn switch(&self, value: T) {
        self.deliver(Ok(value))
    }

    /// Delivers `err`: the waiting (or next) `get()` returns it.
    pub fn throw(&self, err: Error) {
        self.deliver(Err(err))
    }

    #[inline]
    fn deliver(&self, v: Result<T>) {
        self.0.value.set(Some(v));
        let Some(token) = self.0.token.take() else {
            return;
        };
        if self.0.hub.is_current() {
            if let Some(d) = token.fire_data() {
                after_switch_data(d);
            }
        } else {
            self.0.hub.loop_().push_callback(CallbackEntry::Wake(token));
        }
    }

    /// Blocks until a value or error is delivered; returns it at once if it
    /// already was.
    ///
    /// # Errors
    /// The delivered error; [`Error::ConcurrentObjectUse`] if another
    /// greenlet already waits here; [`Error::BlockingSwitchOut`] from the
    /// hub; whatever else is thrown into the waiting greenlet (a timeout, a
    /// kill); [`Error::InvalidSwitch`] for a foreign switch.
    #[inline]
    pub fn get(&self) -> Result<T> {
        if let Some(v) = self.0.value.take() {
            return v;
        }
        if let Some(g) = self.greenlet() {
            return Err(Error::ConcurrentObjectUse(
                format!("This Waiter is already used by {}", g.name()).into(),
            ));
        }
        self.0.hub.ensure_can_block()?;
        self.0.token.set(Some(raw::park_token()));
        let r = self.0.hub.switch_wait();
        raw::unpark();
        self.0.token.set(None);
        match self.0.value.take() {
            Some(v) => v,
            None => match r {
                Err(e) => Err(e),
                Ok(()) => Err(invalid_switch()),
            },
        }
    }

    /// True once a value or error was delivered and not yet taken.
    pub fn ready(&self) -> bool {
        let v = self.0.value.take();
        let r = v.is_some();
        self.0.value.set(v);
        r
    }

    /// True when a value (not an error) is waiting to be taken.
    pub fn successful(&self) -> bool {
        let v = self.0.value.take();
        let r = matches!(v, Some(Ok(_)));
        self.0.value.set(v);
        r
    }

    /// Forgets a delivered value or error.
    pub fn clear(&self) {
        self.0.value.set(None);
    }

    /// The greenlet waiting in `get()`, if any.
    pub fn greenlet(&self) -> Option<RawGreenlet> {
        let t = self.0.token.take();
        let g = t.as_ref().map(|t| t.greenlet());
        self.0.token.set(t);
        g
    }
}

impl<T: std::fmt::Debug + 'static> std::fmt::Debug for Waiter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0.value.take();
        let gs = self.greenlet().map_or("None".to_string(), |g| g.name());
        let r = match &v {
            Some(Ok(v)) => write!(f, "<Waiter greenlet={gs} value={v:?}>"),
            Some(Err(e)) => write!(f, "<Waiter greenlet={gs} exc_info={e}>"),
            None => write!(f, "<Waiter greenlet={gs}>"),
        };
        self.0.value.set(v);
        r
    }
}
