//! Queues (gevent's `gevent.queue`): [`Queue<T>`], bounded or not, and
//! [`Channel<T>`], where `put` waits until a getter has taken the item.
//!
//! ```
//! use gevent::queue::Queue;
//!
//! let q: Queue<i32> = Queue::new(None);
//! let q2 = q.clone();
//! gevent::spawn(move || {
//!     for i in 0..3 {
//!         q2.put(i)?;
//!     }
//!     Ok(())
//! });
//! assert_eq!(q.get().unwrap(), 0);
//! assert_eq!(q.get().unwrap(), 1);
//! ```
//!
//! The non-blocking forms (`try_put`, `try_get`) may be used inside hub
//! callbacks; they hand items straight to waiting greenlets through the
//! loop.
//!
//! # Differences from gevent
//! `get_timeout`/`put_timeout` give `Err(Empty)`/`Err(Full)` on timeout,
//! as gevent raises; passing a [`Timeout`](crate::Timeout) instead of
//! seconds gives that timeout's error.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use crate::core::CallbackEntry;
use crate::error::{Error, Result};
use crate::greenlet::raw::{self, WakeToken};
use crate::hub::{Hub, after_switch_data, get_hub, invalid_switch};
use crate::linkable::{Notify, schedule_notify};
use crate::timeout::{TimeoutArg, TimeoutSpec};

type Slot<T> = Rc<Cell<Option<T>>>;

/// A FIFO queue between greenlets (gevent's `Queue`). Cloning gives
/// another handle to the same queue.
pub struct Queue<T: 'static>(Rc<QInner<T>>);

impl<T> PartialEq for Queue<T> {
    /// Identity: both handles name the same queue.
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue(self.0.clone())
    }
}

struct QInner<T: 'static> {
    items: RefCell<VecDeque<T>>,
    maxsize: Option<usize>,
    getters: RefCell<VecDeque<WakeToken>>,
    putters: RefCell<VecDeque<(WakeToken, Slot<T>)>>,
    unlock_scheduled: Cell<bool>,
    hub: Hub,
    me: Weak<QInner<T>>,
}

impl<T: 'static> Notify for QInner<T> {
    fn notify(self: Rc<Self>) {
        self.unlock_scheduled.set(false);
        self.unlock();
    }
}

impl<T: 'static> QInner<T> {
    fn full(&self) -> bool {
        self.maxsize.is_some_and(|m| self.items.borrow().len() >= m)
    }

    fn schedule_unlock(&self) {
        let me = self.me.upgrade().map(|m| m as Rc<dyn Notify>);
        schedule_notify(&self.hub, &self.unlock_scheduled, me);
    }

    /// gevent's `_unlock`: move waiting putters' items in while there is
    /// room, wake getters while there are items.
    fn unlock(&self) {
        loop {
            let mut repeat = false;
            if !self.full() {
                let putter = self.putters.borrow_mut().pop_front();
                if let Some((token, slot)) = putter {
                    repeat = true;
                    if token.is_current()
                        && let Some(item) = slot.take()
                    {
                        self.items.borrow_mut().push_back(item);
                        if let Some(d) = token.fire_data() {
                            after_switch_data(d);
                        }
                    }
                }
            }
            if !self.items.borrow().is_empty() {
                let getter = self.getters.borrow_mut().pop_front();
                if let Some(token) = getter {
                    repeat = true;
                    if let Some(d) = token.fire_data() {
                        after_switch_data(d);
                    }
                }
            }
            if !repeat {
                return;
            }
        }
    }
}

impl<T: 'static> Queue<T> {
    /// A queue holding at most `maxsize` items (`None`: unbounded).
    ///
    /// A `maxsize` of 0 is refused: use [`Channel`] for a rendezvous.
    ///
    /// # Panics
    /// Never; see [`Queue::with_maxsize`] for the checked form.
    pub fn new(maxsize: Option<usize>) -> Queue<T> {
        Queue(Rc::new_cyclic(|me| QInner {
            items: RefCell::new(VecDeque::new()),
            maxsize: maxsize.filter(|m| *m > 0),
            getters: RefCell::new(VecDeque::new()),
            putters: RefCell::new(VecDeque::new()),
            unlock_scheduled: Cell::new(false),
            hub: get_hub(),
            me: me.clone(),
        }))
    }

    /// A queue of at most `maxsize` items, `maxsize` checked.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative size.
    pub fn with_maxsize(maxsize: i64) -> Result<Queue<T>> {
        if maxsize < 0 {
            return Err(Error::invalid("maxsize must be >= 0"));
        }
        Ok(Queue::new(Some(maxsize as usize)))
    }

    /// Items in the queue.
    pub fn qsize(&self) -> usize {
        self.0.items.borrow().len()
    }

    /// True when empty.
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// True when bounded and at its size.
    pub fn full(&self) -> bool {
        self.0.full()
    }

    /// The bound, if any.
    pub fn maxsize(&self) -> Option<usize> {
        self.0.maxsize
    }

    /// Greenlets waiting in `get`.
    pub fn getters(&self) -> usize {
        self.0.getters.borrow().len()
    }

    /// Greenlets waiting in `put`.
    pub fn putters(&self) -> usize {
        self.0.putters.borrow().len()
    }

    /// Puts `item` without blocking; from inside the hub too.
    ///
    /// # Errors
    /// [`Error::Full`] when bounded and full.
    pub fn try_put(&self, item: T) -> Result<()> {
        if self.0.full() {
            return Err(Error::Full);
        }
        self.0.items.borrow_mut().push_back(item);
        if !self.0.getters.borrow().is_empty() {
            self.0.schedule_unlock();
        }
        Ok(())
    }

    /// Puts `item`, blocking while the queue is full.
    ///
    /// # Errors
    /// [`Error::Full`] from inside the hub when full; whatever is thrown
    /// into the greenlet while it waits.
    pub fn put(&self, item: T) -> Result<()> {
        self.put_spec(item, None)
    }

    /// Like [`put`](Self::put), giving up after `timeout` with
    /// [`Error::Full`].
    ///
    /// # Errors
    /// As [`put`](Self::put).
    pub fn put_timeout(&self, item: T, timeout: impl TimeoutArg) -> Result<()> {
        self.put_spec(item, Some(timeout.timeout_spec()?))
    }

    fn put_spec(&self, item: T, timeout: Option<TimeoutSpec>) -> Result<()> {
        if !self.0.full() || self.0.hub.is_current() {
            return self.try_put(item);
        }
        self.0.hub.ensure_can_block()?;
        let token = raw::park_token();
        let slot: Slot<T> = Rc::new(Cell::new(Some(item)));
        self.0
            .putters
            .borrow_mut()
            .push_back((token.clone(), slot.clone()));
        let r = park(&self.0.hub, token.clone(), timeout, Error::Full);
        self.0.putters.borrow_mut().retain(|(t, _)| !t.same(&token));
        // Still holding the item: it was not put.
        if slot.take().is_some() {
            return Err(r.err().unwrap_or_else(invalid_switch));
        }
        r
    }

    /// Takes an item without blocking; from inside the hub too (it then
    /// moves a waiting putter's item in first).
    ///
    /// # Errors
    /// [`Error::Empty`] when there is none.
    pub fn try_get(&self) -> Result<T> {
        if self.0.hub.is_current() && self.empty() {
            self.0.unlock();
        }
        let item = self.0.items.borrow_mut().pop_front();
        match item {
            Some(v) => {
                if !self.0.putters.borrow().is_empty() {
                    self.0.schedule_unlock();
                }
                Ok(v)
            }
            None => Err(Error::Empty),
        }
    }

    /// Takes an item, blocking until there is one.
    ///
    /// # Errors
    /// [`Error::Empty`] from inside the hub when empty; whatever is thrown
    /// into the greenlet while it waits (`LoopExit` if nothing can put).
    pub fn get(&self) -> Result<T> {
        self.get_spec(None)
    }

    /// Like [`get`](Self::get), giving up after `timeout` with
    /// [`Error::Empty`].
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn get_timeout(&self, timeout: impl TimeoutArg) -> Result<T> {
        self.get_spec(Some(timeout.timeout_spec()?))
    }

    fn get_spec(&self, timeout: Option<TimeoutSpec>) -> Result<T> {
        if !self.empty() || self.0.hub.is_current() {
            return self.try_get();
        }
        loop {
            self.0.hub.ensure_can_block()?;
            let token = raw::park_token();
            self.0.getters.borrow_mut().push_back(token.clone());
            if !self.0.putters.borrow().is_empty() {
                self.0.schedule_unlock();
            }
            let r = park(&self.0.hub, token.clone(), timeout.clone(), Error::Empty);
            self.0.getters.borrow_mut().retain(|t| !t.same(&token));
            r?;
            match self.try_get() {
                Ok(v) => return Ok(v),
                // Another greenlet took it first: wait again.
                Err(Error::Empty) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The next item without taking it, blocking until there is one.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn peek(&self) -> Result<T>
    where
        T: Clone,
    {
        self.peek_spec(None)
    }

    /// Like [`peek`](Self::peek), giving up after `timeout` with
    /// [`Error::Empty`] (gevent's `peek(timeout=..)`).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn peek_timeout(&self, timeout: impl TimeoutArg) -> Result<T>
    where
        T: Clone,
    {
        self.peek_spec(Some(timeout.timeout_spec()?))
    }

    fn peek_spec(&self, timeout: Option<TimeoutSpec>) -> Result<T>
    where
        T: Clone,
    {
        loop {
            if let Some(v) = self.0.items.borrow().front() {
                return Ok(v.clone());
            }
            if self.0.hub.is_current() {
                return Err(Error::Empty);
            }
            self.0.hub.ensure_can_block()?;
            let token = raw::park_token();
            self.0.getters.borrow_mut().push_front(token.clone());
            let r = park(&self.0.hub, token.clone(), timeout.clone(), Error::Empty);
            self.0.getters.borrow_mut().retain(|t| !t.same(&token));
            r?;
        }
    }

    /// The next item without taking it or blocking.
    ///
    /// # Errors
    /// [`Error::Empty`] when there is none.
    pub fn try_peek(&self) -> Result<T>
    where
        T: Clone,
    {
        self.0.items.borrow().front().cloned().ok_or(Error::Empty)
    }
}

impl<T: 'static> std::fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<Queue maxsize={:?} queue={} getters[{}] putters[{}]>",
            self.0.maxsize,
            self.qsize(),
            self.getters(),
            self.putters()
        )
    }
}

/// Parks the current greenlet with `token` until woken, or until `timeout`
/// (then `Err(on_timeout)`, or a `Timeout`'s own error).
fn park(
    hub: &Hub,
    token: WakeToken,
    timeout: Option<TimeoutSpec>,
    on_timeout: Error,
) -> Result<()> {
    match timeout {
        None => {
            let r = hub.switch_wait();
            raw::unpark();
            r
        }
        Some(TimeoutSpec::Seconds(s)) => {
            let lp = hub.loop_();
            lp.update_now();
            let timer = lp.timer(s.max(0.0), 0.0)?;
            let fired = Rc::new(Cell::new(false));
            let (f, t) = (fired.clone(), token.clone());
            timer.start(move || {
                f.set(true);
                if let Some(d) = t.fire_data() {
                    after_switch_data(d);
                }
            })?;
            let r = hub.switch_wait();
            raw::unpark();
            timer.stop();
            if fired.get() { Err(on_timeout) } else { r }
        }
        Some(TimeoutSpec::Timeout(t)) => t.run(|| {
            let r = hub.switch_wait();
            raw::unpark();
            r
        }),
    }
}

/// A rendezvous between greenlets (gevent's `Channel`): `put` returns only
/// once a getter has taken the item.
pub struct Channel<T: 'static>(Rc<ChInner<T>>);

impl<T> PartialEq for Channel<T> {
    /// Identity: both handles name the same channel.
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Clone for Channel<T> {
    fn clone(&self) -> Self {
        Channel(self.0.clone())
    }
}

struct ChInner<T: 'static> {
    getters: RefCell<VecDeque<(WakeToken, Slot<T>)>>,
    putters: RefCell<VecDeque<(WakeToken, Slot<T>)>>,
    unlock_scheduled: Cell<bool>,
    hub: Hub,
    me: Weak<ChInner<T>>,
}

impl<T: 'static> Notify for ChInner<T> {
    fn notify(self: Rc<Self>) {
        self.unlock_scheduled.set(false);
        // gevent's Channel._unlock: pair putters with getters; the getter
        // runs with its item first, then the putter returns.
        loop {
            let pair = {
                let mut g = self.getters.borrow_mut();
                let mut p = self.putters.borrow_mut();
                if g.is_empty() || p.is_empty() {
                    None
                } else {
                    Some((
                        g.pop_front().expect("checked"),
                        p.pop_front().expect("checked"),
                    ))
                }
            };
            let Some(((gt, gslot), (pt, pslot))) = pair else {
                return;
            };
            if !pt.is_current() {
                // The putter gave up: the getter stays first in line.
                self.getters.borrow_mut().push_front((gt, gslot));
                continue;
            }
            if !gt.is_current() {
                self.putters.borrow_mut().push_front((pt, pslot));
                continue;
            }
            gslot.set(pslot.take());
            if let Some(d) = gt.fire_data() {
                after_switch_data(d);
            }
            if let Some(d) = pt.fire_data() {
                after_switch_data(d);
            }
        }
    }
}

impl<T: 'static> ChInner<T> {
    fn schedule_unlock(&self) {
        let me = self.me.upgrade().map(|m| m as Rc<dyn Notify>);
        schedule_notify(&self.hub, &self.unlock_scheduled, me);
    }
}

impl<T: 'static> Default for Channel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: 'static> Channel<T> {
    /// A new channel on the current thread's hub.
    pub fn new() -> Channel<T> {
        Channel(Rc::new_cyclic(|me| ChInner {
            getters: RefCell::new(VecDeque::new()),
            putters: RefCell::new(VecDeque::new()),
            unlock_scheduled: Cell::new(false),
            hub: get_hub(),
            me: me.clone(),
        }))
    }

    /// Greenlets waiting in `get`.
    pub fn getters(&self) -> usize {
        self.0.getters.borrow().len()
    }

    /// Greenlets waiting in `put`.
    pub fn putters(&self) -> usize {
        self.0.putters.borrow().len()
    }

    /// Always 0: a channel holds nothing.
    pub fn qsize(&self) -> usize {
        0
    }

    /// Always true: a channel holds nothing (gevent's `Channel.empty`).
    pub fn empty(&self) -> bool {
        true
    }

    /// Always true: a channel has no room (gevent's `Channel.full`).
    pub fn full(&self) -> bool {
        true
    }

    /// Hands `item` to a getter, blocking until one has taken it.
    ///
    /// # Errors
    /// [`Error::Full`] from inside the hub with no getter waiting;
    /// whatever is thrown into the greenlet while it waits.
    pub fn put(&self, item: T) -> Result<()> {
        self.put_spec(item, None)
    }

    /// Like [`put`](Self::put), giving up after `timeout` with
    /// [`Error::Full`].
    ///
    /// # Errors
    /// As [`put`](Self::put).
    pub fn put_timeout(&self, item: T, timeout: impl TimeoutArg) -> Result<()> {
        self.put_spec(item, Some(timeout.timeout_spec()?))
    }

    /// Hands `item` to a waiting getter without blocking.
    ///
    /// # Errors
    /// [`Error::Full`] when no getter waits.
    pub fn try_put(&self, item: T) -> Result<()> {
        loop {
            let g = self.0.getters.borrow_mut().pop_front();
            let Some((token, slot)) = g else {
                return Err(Error::Full);
            };
            if !token.is_current() {
                continue;
            }
            slot.set(Some(item));
            self.0.hub.loop_().push_callback(CallbackEntry::Wake(token));
            return Ok(());
        }
    }

    fn put_spec(&self, item: T, timeout: Option<TimeoutSpec>) -> Result<()> {
        if self.0.hub.is_current() {
            return self.try_put(item);
        }
        self.0.hub.ensure_can_block()?;
        let token = raw::park_token();
        let slot: Slot<T> = Rc::new(Cell::new(Some(item)));
        self.0
            .putters
            .borrow_mut()
            .push_back((token.clone(), slot.clone()));
        if !self.0.getters.borrow().is_empty() {
            self.0.schedule_unlock();
        }
        let r = park(&self.0.hub, token.clone(), timeout, Error::Full);
        self.0.putters.borrow_mut().retain(|(t, _)| !t.same(&token));
        if slot.take().is_some() {
            return Err(r.err().unwrap_or_else(invalid_switch));
        }
        r
    }

    /// Takes an item from a waiting putter without blocking.
    ///
    /// # Errors
    /// [`Error::Empty`] when no putter waits.
    pub fn try_get(&self) -> Result<T> {
        loop {
            let p = self.0.putters.borrow_mut().pop_front();
            let Some((token, slot)) = p else {
                return Err(Error::Empty);
            };
            if !token.is_current() {
                continue;
            }
            let Some(item) = slot.take() else { continue };
            self.0.hub.loop_().push_callback(CallbackEntry::Wake(token));
            return Ok(item);
        }
    }

    /// Takes an item, blocking until a putter offers one.
    ///
    /// # Errors
    /// As [`Queue::get`].
    pub fn get(&self) -> Result<T> {
        self.get_spec(None)
    }

    /// Like [`get`](Self::get), giving up after `timeout` with
    /// [`Error::Empty`].
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn get_timeout(&self, timeout: impl TimeoutArg) -> Result<T> {
        self.get_spec(Some(timeout.timeout_spec()?))
    }

    fn get_spec(&self, timeout: Option<TimeoutSpec>) -> Result<T> {
        if self.0.hub.is_current() {
            return self.try_get();
        }
        self.0.hub.ensure_can_block()?;
        let token = raw::park_token();
        let slot: Slot<T> = Rc::new(Cell::new(None));
        self.0
            .getters
            .borrow_mut()
            .push_back((token.clone(), slot.clone()));
        if !self.0.putters.borrow().is_empty() {
            self.0.schedule_unlock();
        }
        let r = park(&self.0.hub, token.clone(), timeout, Error::Empty);
        self.0.getters.borrow_mut().retain(|(t, _)| !t.same(&token));
        match slot.take() {
            Some(v) => Ok(v),
            None => Err(r.err().unwrap_or_else(invalid_switch)),
        }
    }
}

impl<T: 'static> std::fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<Channel getters[{}] putters[{}]>",
            self.getters(),
            self.putters()
        )
    }
}
