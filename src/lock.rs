//! Locks (gevent's `gevent.lock`): [`Semaphore`], [`BoundedSemaphore`],
//! [`RLock`] and [`DummySemaphore`].
//!
//! ```
//! use gevent::lock::Semaphore;
//!
//! let sem = Semaphore::new(1).unwrap();
//! let guard = sem.lock().unwrap();   // acquire; released on drop
//! assert!(sem.locked());
//! drop(guard);
//! assert_eq!(sem.counter(), 1);
//! ```
//!
//! Waiters acquire in the order they began to wait. As in gevent, a
//! greenlet that releases and at once re-acquires without yielding gets
//! the semaphore back (no hand-off on release).
//!
//! # Differences from gevent
//! `acquire_timeout` returns `Ok(false)` on timeout, as gevent's
//! `acquire(timeout=..)` returns False. Guards ([`Semaphore::lock`],
//! [`RLock::lock`]) replace the `with` statement.

use std::cell::Cell;
use std::rc::{Rc, Weak};

use crate::error::{Error, Result};
use crate::greenlet::RawGreenlet;
use crate::linkable::{LinkCore, Linkable, Notify, linkable_api};
use crate::timeout::{TimeoutArg, TimeoutSpec};

/// A counting semaphore (gevent's `Semaphore`). Cloning gives another
/// handle to the same semaphore.
#[derive(Clone)]
pub struct Semaphore(Rc<SemInner>);

struct SemInner {
    counter: Cell<i64>,
    /// `Some(initial)` for a bounded semaphore.
    bound: Option<i64>,
    core: LinkCore,
    me: Weak<SemInner>,
}

impl Notify for SemInner {
    fn notify(self: Rc<Self>) {
        self.core.run_notify(&*self);
    }
}

impl Linkable for SemInner {
    fn is_ready(&self) -> bool {
        self.counter.get() > 0
    }

    fn notifier(&self) -> Option<Rc<dyn Notify>> {
        self.me.upgrade().map(|r| r as Rc<dyn Notify>)
    }
}

impl Default for Semaphore {
    /// gevent's `Semaphore()`: one permit.
    fn default() -> Self {
        Semaphore::new(1).expect("1 is a valid semaphore value")
    }
}

impl Semaphore {
    /// A semaphore with `value` permits.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative value.
    pub fn new(value: i64) -> Result<Semaphore> {
        Self::make(value, None)
    }

    fn make(value: i64, bound: Option<i64>) -> Result<Semaphore> {
        if value < 0 {
            return Err(Error::invalid("semaphore initial value must be >= 0"));
        }
        Ok(Semaphore(Rc::new_cyclic(|me| SemInner {
            counter: Cell::new(value),
            bound,
            core: LinkCore::new(false),
            me: me.clone(),
        })))
    }

    /// The permits left.
    pub fn counter(&self) -> i64 {
        self.0.counter.get()
    }

    /// True when no permit is left.
    pub fn locked(&self) -> bool {
        self.0.counter.get() <= 0
    }

    /// True when a permit is left (gevent's `ready`).
    pub fn ready(&self) -> bool {
        self.0.counter.get() > 0
    }

    /// Takes a permit, blocking until one is free; returns true.
    ///
    /// # Errors
    /// [`Error::BlockingSwitchOut`] from the hub; whatever is thrown into
    /// the greenlet while it waits (`LoopExit` when nothing can release).
    #[inline]
    pub fn acquire(&self) -> Result<bool> {
        self.acquire_spec(None)
    }

    /// Like [`acquire`](Self::acquire) giving up after `timeout`: then
    /// `Ok(false)`.
    ///
    /// # Errors
    /// As [`acquire`](Self::acquire); an outer timeout is never swallowed.
    pub fn acquire_timeout(&self, timeout: impl TimeoutArg) -> Result<bool> {
        self.acquire_spec(Some(timeout.timeout_spec()?))
    }

    /// Takes a permit if one is free, without blocking (gevent's
    /// `acquire(blocking=False)`).
    #[inline]
    pub fn try_acquire(&self) -> bool {
        let c = self.0.counter.get();
        if c > 0 {
            self.0.counter.set(c - 1);
            true
        } else {
            false
        }
    }

    #[inline(always)]
    fn acquire_spec(&self, timeout: Option<TimeoutSpec>) -> Result<bool> {
        if self.try_acquire() {
            return Ok(true);
        }
        // Woken while a permit is free: take it before anything else runs.
        while !self.ready() {
            if !self.0.core.wait_core(&*self.0, timeout.clone())? {
                return Ok(false);
            }
        }
        self.0.counter.set(self.0.counter.get() - 1);
        Ok(true)
    }

    /// Gives a permit back and wakes the next waiter (through the loop).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] ("Semaphore released too many times") for
    /// a bounded semaphore already at its initial value, or for a counter
    /// already at `i64::MAX`.
    #[inline]
    pub fn release(&self) -> Result<i64> {
        let c = self.0.counter.get();
        if let Some(b) = self.0.bound
            && c >= b
        {
            return Err(Error::invalid("Semaphore released too many times"));
        }
        let Some(n) = c.checked_add(1) else {
            return Err(Error::invalid(
                "Semaphore released too many times: the counter is at i64::MAX",
            ));
        };
        self.0.counter.set(n);
        self.0.core.check_and_notify(&*self.0);
        Ok(n)
    }

    /// Blocks until a permit is free, without taking it; returns the
    /// counter (gevent's `wait`).
    ///
    /// # Errors
    /// As [`acquire`](Self::acquire).
    pub fn wait(&self) -> Result<i64> {
        if !self.ready() {
            self.0.core.wait_core(&*self.0, None)?;
        }
        Ok(self.counter())
    }

    /// Like [`wait`](Self::wait), giving up after `timeout`: then
    /// `Ok(None)`.
    ///
    /// # Errors
    /// As [`acquire`](Self::acquire).
    pub fn wait_timeout(&self, timeout: impl TimeoutArg) -> Result<Option<i64>> {
        if !self.ready()
            && !self
                .0
                .core
                .wait_core(&*self.0, Some(timeout.timeout_spec()?))?
        {
            return Ok(None);
        }
        Ok(Some(self.counter()))
    }

    /// Acquires and returns a guard that releases on drop (gevent's
    /// `with sem:`).
    ///
    /// # Errors
    /// As [`acquire`](Self::acquire).
    pub fn lock(&self) -> Result<SemaphoreGuard<'_>> {
        self.acquire()?;
        Ok(SemaphoreGuard(self))
    }
}

linkable_api!(impl [] Semaphore, exception: |_| None);

impl std::fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<{} counter={} _links[{}]>",
            if self.0.bound.is_some() {
                "BoundedSemaphore"
            } else {
                "Semaphore"
            },
            self.counter(),
            self.linkcount()
        )
    }
}

impl Semaphore {
    /// A `Send` handle that releases this semaphore from any thread (gevent
    /// allows a release from a thread without a hub, issue 2013); the
    /// release happens on the semaphore's thread at its loop's next
    /// iteration. While a handle exists the loop is kept alive.
    ///
    /// # Errors
    /// [`Error::HubDestroyed`] when the hub is gone.
    pub fn threadsafe(&self) -> Result<ThreadSafeSemaphore> {
        let remote = crate::remote::Remote::register(&self.0.core.hub, Rc::new(self.clone()))?;
        Ok(ThreadSafeSemaphore(remote))
    }
}

/// Releases a [`Semaphore`] from any thread (see [`Semaphore::threadsafe`]).
#[derive(Clone)]
pub struct ThreadSafeSemaphore(crate::remote::Remote);

impl ThreadSafeSemaphore {
    /// Releases one permit (on the semaphore's thread, soon). An
    /// over-release of a bounded semaphore is reported to its hub.
    ///
    /// # Errors
    /// [`Error::HubDestroyed`] when the semaphore's hub is gone.
    pub fn release(&self) -> Result<()> {
        self.0.call(|s: &Semaphore| {
            if let Err(e) = s.release() {
                s.0.core.hub.handle_error("Semaphore.release", e);
            }
        })
    }
}

impl std::fmt::Debug for ThreadSafeSemaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<ThreadSafeSemaphore>")
    }
}

/// Releases its semaphore when dropped: bind it (`let _g = sem.lock()?;`)
/// for as long as the permit should be held.
#[must_use = "dropping a SemaphoreGuard releases the semaphore at once: bind it with `let _g = ...`"]
pub struct SemaphoreGuard<'a>(&'a Semaphore);

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.release();
    }
}

/// A semaphore that cannot be released above its initial value (gevent's
/// `BoundedSemaphore`).
pub struct BoundedSemaphore;

impl BoundedSemaphore {
    /// A bounded semaphore with `value` permits: `release` beyond `value`
    /// is an error.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative value.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(value: i64) -> Result<Semaphore> {
        Semaphore::make(value, Some(value))
    }
}

/// A semaphore that never blocks (gevent's `DummySemaphore`), for code that
/// takes "a semaphore or nothing".
#[derive(Clone, Copy, Debug, Default)]
pub struct DummySemaphore;

impl DummySemaphore {
    /// Always succeeds at once.
    pub fn acquire(&self) -> Result<bool> {
        Ok(true)
    }

    /// Always succeeds at once.
    #[inline]
    pub fn try_acquire(&self) -> bool {
        true
    }

    /// Does nothing.
    pub fn release(&self) -> Result<()> {
        Ok(())
    }

    /// Never locked.
    pub fn locked(&self) -> bool {
        false
    }

    /// Always ready.
    pub fn ready(&self) -> bool {
        true
    }

    /// Returns at once.
    pub fn wait(&self) -> Result<i64> {
        Ok(1)
    }
}

/// A re-entrant lock owned by a greenlet (gevent's `RLock`).
#[derive(Clone)]
pub struct RLock(Rc<RLockInner>);

struct RLockInner {
    block: Semaphore,
    owner: Cell<Option<u64>>,
    count: Cell<usize>,
}

impl Default for RLock {
    fn default() -> Self {
        Self::new()
    }
}

impl RLock {
    /// A new, unlocked lock.
    pub fn new() -> RLock {
        RLock(Rc::new(RLockInner {
            block: Semaphore::new(1).expect("1 is a valid semaphore value"),
            owner: Cell::new(None),
            count: Cell::new(0),
        }))
    }

    fn me() -> u64 {
        RawGreenlet::current().id()
    }

    /// Acquires the lock; the owner may acquire again (re-entrant).
    ///
    /// # Errors
    /// As [`Semaphore::acquire`].
    pub fn acquire(&self) -> Result<bool> {
        let me = Self::me();
        if self.0.owner.get() == Some(me) {
            self.0.count.set(self.0.count.get() + 1);
            return Ok(true);
        }
        self.0.block.acquire()?;
        self.0.owner.set(Some(me));
        self.0.count.set(1);
        Ok(true)
    }

    /// Like [`acquire`](Self::acquire) giving up after `timeout`.
    ///
    /// # Errors
    /// As [`Semaphore::acquire_timeout`].
    pub fn acquire_timeout(&self, timeout: impl TimeoutArg) -> Result<bool> {
        let me = Self::me();
        if self.0.owner.get() == Some(me) {
            self.0.count.set(self.0.count.get() + 1);
            return Ok(true);
        }
        if !self.0.block.acquire_timeout(timeout)? {
            return Ok(false);
        }
        self.0.owner.set(Some(me));
        self.0.count.set(1);
        Ok(true)
    }

    /// Acquires without blocking; false if another greenlet owns it.
    #[inline]
    pub fn try_acquire(&self) -> bool {
        let me = Self::me();
        if self.0.owner.get() == Some(me) {
            self.0.count.set(self.0.count.get() + 1);
            return true;
        }
        if !self.0.block.try_acquire() {
            return false;
        }
        self.0.owner.set(Some(me));
        self.0.count.set(1);
        true
    }

    /// Releases one level of ownership.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] ("cannot release un-acquired lock") when
    /// the current greenlet does not own it.
    pub fn release(&self) -> Result<()> {
        if self.0.owner.get() != Some(Self::me()) {
            return Err(Error::invalid("cannot release un-acquired lock"));
        }
        let c = self.0.count.get() - 1;
        self.0.count.set(c);
        if c == 0 {
            self.0.owner.set(None);
            self.0.block.release()?;
        }
        Ok(())
    }

    /// True while some greenlet owns it.
    pub fn locked(&self) -> bool {
        self.0.block.locked()
    }

    /// True when the current greenlet owns it.
    pub fn is_owned(&self) -> bool {
        self.0.owner.get() == Some(Self::me())
    }

    /// Acquires and returns a guard that releases on drop.
    ///
    /// # Errors
    /// As [`acquire`](Self::acquire).
    pub fn lock(&self) -> Result<RLockGuard<'_>> {
        self.acquire()?;
        Ok(RLockGuard(self))
    }
}

/// Releases one level of its [`RLock`] when dropped: bind it
/// (`let _g = lock.lock()?;`) for as long as the lock should be held.
#[must_use = "dropping an RLockGuard releases the lock at once: bind it with `let _g = ...`"]
pub struct RLockGuard<'a>(&'a RLock);

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.release();
    }
}
