//! Synchronized queues (gevent's `gevent.queue`): multi-producer,
//! multi-consumer queues between greenlets.
//!
//! - [`Queue<T>`] (gevent 25.4.1 and later: the joinable queue; FIFO) and
//!   its alias [`JoinableQueue<T>`], with `task_done`/`join` and
//!   `shutdown`;
//! - [`LifoQueue<T>`] (last in, first out) and [`PriorityQueue<T>`]
//!   (lowest first), joinable too;
//! - [`SimpleQueue<T>`], a FIFO queue without tasks or shutdown;
//! - [`Channel<T>`], a rendezvous: `put` waits until a getter has taken
//!   the item.
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
//!     q2.shutdown(false); // no more puts; getters drain what is left
//!     Ok(())
//! });
//! assert_eq!(q.get().unwrap(), 0);
//! let rest: Vec<i32> = q.iter().collect::<gevent::Result<_>>().unwrap();
//! assert_eq!(rest, [1, 2]);
//! ```
//!
//! Blocked putters and getters are served in the order they blocked. The
//! non-blocking forms (`try_put`, `try_get`, `try_peek`) may be used
//! inside hub callbacks; there they hand items straight to (or take them
//! from) waiting greenlets, switching to them, as gevent does.
//!
//! All queue kinds share one machinery (a core generic over how items are
//! stored: a deque, a stack or a binary heap), so they behave alike in
//! every respect except the order items come out.
//!
//! # Differences from gevent
//! - `get_timeout`/`put_timeout` give `Err(Empty)`/`Err(Full)` on timeout,
//!   as gevent raises; passing a [`Timeout`](crate::Timeout) instead of
//!   seconds gives that timeout's error. A negative timeout is
//!   [`Error::InvalidArgument`] (gevent's `ValueError`) whether or not the
//!   call would block.
//! - gevent's `ShutDown` exception is [`Error::ShutDown`] (also
//!   recognised by [`ShutDown::is`]); gevent's `ValueError` from
//!   `task_done` is [`Error::InvalidArgument`].
//! - Iteration: gevent's `for item in q` stops at the item
//!   `StopIteration`; a typed queue has no such universal sentinel, so
//!   [`Queue::iter_until`] takes the sentinel value, and [`Queue::iter`]
//!   (and `for item in &q`) ends when the queue is shut down. Both yield
//!   `Result<T>`: any other failure of `get` is yielded once and ends the
//!   iteration.
//! - Python's subclass hooks (`_init`, `_put`, `_get`, `_peek`) do not
//!   exist; the order is fixed by the type. `PriorityQueue` needs
//!   `T: Ord` (gevent compares with `<` at run time); equal items come
//!   out in no particular order, as with `heapq`.
//! - `Queue::new(Some(0))` means unbounded, as gevent's deprecated
//!   `Queue(0)`; use [`Channel`] for a rendezvous.
//! - A greenlet blocked in `get` when the queue is shut down (not
//!   `immediate`) still takes an item if one arrived meanwhile; it fails
//!   with [`ShutDown`] only if the queue is empty, as gevent documents
//!   (gevent's code throws `ShutDown` into every blocked getter, even one
//!   whose item is already queued, when `put` and `shutdown` happen in the
//!   same loop iteration).
//! - `set_maxsize` wakes putters that now fit (gevent's setter leaves them
//!   waiting until the next get; its source marks that as a to-do).

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::iter::FusedIterator;
use std::ptr::NonNull;
use std::rc::{Rc, Weak};

use crate::core::CallbackEntry;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::greenlet::raw::{self, WakeToken};
use crate::hub::{Hub, after_switch_data, get_hub, invalid_switch};
use crate::linkable::{Notify, schedule_notify};
use crate::timeout::{TimeoutArg, TimeoutSpec};
use crate::waitlist::{Key, WaitList};

/// A parked greenlet's item cell, kept in its own frame: a blocked
/// `put`'s item, a blocked channel `get`'s answer. The waiter list holds
/// the pointer only while that greenlet is parked in the wait: the entry
/// leaves the list (popped by whoever serves it, or removed by [`Unlist`]
/// on every way out of the wait, unwinding included) before the frame
/// does, and whoever pops it uses the cell before switching anywhere.
struct Slot<T>(NonNull<Cell<Option<T>>>);

impl<T> Slot<T> {
    fn new(cell: &Cell<Option<T>>) -> Slot<T> {
        Slot(NonNull::from(cell))
    }

    fn take(&self) -> Option<T> {
        // SAFETY: the cell outlives the entry holding this pointer (see
        // the type's doc); single thread, no reference into the cell kept.
        unsafe { self.0.as_ref() }.take()
    }

    fn set(&self, value: Option<T>) {
        // SAFETY: as in `take`.
        unsafe { self.0.as_ref() }.set(value)
    }
}

/// Removes a waiter's entry from its list when dropped, on every way out
/// of the wait.
struct Unlist<'a, E> {
    list: &'a RefCell<WaitList<E>>,
    key: Key,
}

impl<E> Drop for Unlist<'_, E> {
    fn drop(&mut self) {
        let left = self.list.borrow_mut().remove(self.key);
        drop(left);
    }
}

// ---------------------------------------------------------------------------
// ShutDown

/// gevent's (and Python 3.13's) `queue.ShutDown`: the queue was shut down
/// (see [`Queue::shutdown`]). It reaches callers as [`Error::ShutDown`];
/// [`ShutDown::is`] recognises it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShutDown;

impl fmt::Display for ShutDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShutDown: the queue is shut down")
    }
}

impl std::error::Error for ShutDown {}

impl ShutDown {
    /// The error queue operations return once the queue is shut down:
    /// [`Error::ShutDown`].
    pub fn error() -> Error {
        Error::ShutDown
    }

    /// True when `err` is a queue's shutdown error (gevent's
    /// `except ShutDown`).
    pub fn is(err: &Error) -> bool {
        matches!(err, Error::ShutDown)
    }
}

// ---------------------------------------------------------------------------
// Item stores

/// How a queue keeps its items: the only thing that differs between the
/// queue kinds (gevent's `_create_queue`/`_put`/`_get`/`_peek` hooks).
trait Store<T>: 'static {
    fn from_items(items: Vec<T>) -> Self;
    /// A copy of the store (gevent's `copy()`).
    fn copy_store(&self) -> Self
    where
        T: Clone;
    fn len(&self) -> usize;
    fn push(&mut self, item: T);
    /// The next item out.
    fn pop(&mut self) -> Option<T>;
    /// The item `pop` would return.
    fn peek(&self) -> Option<&T>;
}

/// First in, first out.
struct Fifo<T>(VecDeque<T>);

impl<T: 'static> Store<T> for Fifo<T> {
    fn from_items(items: Vec<T>) -> Self {
        Fifo(items.into())
    }
    fn copy_store(&self) -> Self
    where
        T: Clone,
    {
        Fifo(self.0.clone())
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn push(&mut self, item: T) {
        self.0.push_back(item)
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn peek(&self) -> Option<&T> {
        self.0.front()
    }
}

/// Last in, first out.
struct Lifo<T>(Vec<T>);

impl<T: 'static> Store<T> for Lifo<T> {
    fn from_items(items: Vec<T>) -> Self {
        Lifo(items)
    }
    fn copy_store(&self) -> Self
    where
        T: Clone,
    {
        Lifo(self.0.clone())
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn push(&mut self, item: T) {
        self.0.push(item)
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn peek(&self) -> Option<&T> {
        self.0.last()
    }
}

/// Lowest first (a min-heap).
struct Heap<T>(BinaryHeap<Reverse<T>>);

impl<T: Ord + 'static> Store<T> for Heap<T> {
    fn from_items(items: Vec<T>) -> Self {
        // gevent heapifies the given items.
        Heap(items.into_iter().map(Reverse).collect())
    }
    fn copy_store(&self) -> Self
    where
        T: Clone,
    {
        Heap(self.0.clone())
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item))
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|r| r.0)
    }
    fn peek(&self) -> Option<&T> {
        self.0.peek().map(|r| &r.0)
    }
}

// ---------------------------------------------------------------------------
// The shared core

/// The state and machinery every queue kind shares (gevent's
/// `SimpleQueue` with its `Queue` extension): items in a store `S`, FIFO
/// lists of blocked getters and putters, the scheduled `_unlock`, and the
/// unfinished-task count of joinable queues.
struct Core<T: 'static, S: 'static> {
    items: RefCell<S>,
    /// `None`: unbounded.
    maxsize: Cell<Option<usize>>,
    getters: RefCell<WaitList<WakeToken>>,
    /// A blocked putter and the item it offers (taken when it is put).
    putters: RefCell<WaitList<(WakeToken, Slot<T>)>>,
    unlock_scheduled: Cell<bool>,
    hub: Hub,
    me: Weak<Core<T, S>>,
    /// Counts tasks (gevent's `Queue`); false for `SimpleQueue`.
    joinable: bool,
    unfinished: Cell<usize>,
    /// gevent's `_cond`, set while no task is unfinished; made on the
    /// first `join`.
    all_done: RefCell<Option<Event>>,
    is_shutdown: Cell<bool>,
}

impl<T: 'static, S: Store<T>> Notify for Core<T, S> {
    fn notify(self: Rc<Self>) {
        self.unlock_scheduled.set(false);
        self.unlock();
    }
}

/// `Err(InvalidArgument)` for a negative number of seconds (gevent's
/// "'timeout' must be a non-negative number").
#[inline]
fn check_timeout(timeout: &Option<TimeoutSpec>) -> Result<()> {
    match timeout {
        Some(TimeoutSpec::Seconds(s)) if *s < 0.0 => {
            Err(Error::invalid("'timeout' must be a non-negative number"))
        }
        _ => Ok(()),
    }
}

impl<T: 'static, S: Store<T>> Core<T, S> {
    fn new(maxsize: Option<usize>, items: Vec<T>, joinable: bool) -> Rc<Self> {
        let unfinished = if joinable { items.len() } else { 0 };
        Self::with_state(maxsize, S::from_items(items), joinable, unfinished)
    }

    fn with_state(maxsize: Option<usize>, items: S, joinable: bool, unfinished: usize) -> Rc<Self> {
        Rc::new_cyclic(|me| Core {
            items: RefCell::new(items),
            maxsize: Cell::new(maxsize.filter(|m| *m > 0)),
            getters: RefCell::new(WaitList::default()),
            putters: RefCell::new(WaitList::default()),
            unlock_scheduled: Cell::new(false),
            hub: get_hub(),
            me: me.clone(),
            joinable,
            unfinished: Cell::new(unfinished),
            all_done: RefCell::new(None),
            is_shutdown: Cell::new(false),
        })
    }

    /// gevent's `copy()`: same bound, same items (and task count).
    fn copy(&self) -> Rc<Self>
    where
        T: Clone,
    {
        let items = self.items.borrow().copy_store();
        Self::with_state(
            self.maxsize.get(),
            items,
            self.joinable,
            self.unfinished.get(),
        )
    }

    fn qsize(&self) -> usize {
        self.items.borrow().len()
    }

    fn full(&self) -> bool {
        self.maxsize.get().is_some_and(|m| self.qsize() >= m)
    }

    fn set_maxsize(&self, maxsize: Option<usize>) {
        self.maxsize.set(maxsize.filter(|m| *m > 0));
        if !self.full() && !self.putters.borrow().is_empty() {
            self.schedule_unlock();
        }
    }

    /// gevent's `_put`: store the item and count the task.
    fn push_item(&self, item: T) {
        self.items.borrow_mut().push(item);
        if self.joinable {
            self.unfinished.set(self.unfinished.get() + 1);
            if let Some(ev) = &*self.all_done.borrow() {
                ev.clear();
            }
        }
    }

    fn pop_item(&self) -> Option<T> {
        self.items.borrow_mut().pop()
    }

    fn schedule_unlock(&self) {
        let me = self.me.upgrade().map(|m| m as Rc<dyn Notify>);
        schedule_notify(&self.hub, &self.unlock_scheduled, me);
    }

    /// Wakes a parked greenlet from the hub; it runs until it blocks again.
    #[inline(always)]
    fn fire(token: &WakeToken) {
        if let Some(d) = token.fire_data() {
            after_switch_data(d);
        }
    }

    /// gevent's `_unlock` (run in the hub): move waiting putters' items in
    /// while there is room, wake getters while there are items.
    fn unlock(&self) {
        loop {
            let mut repeat = false;
            if !self.full() {
                let putter = self.putters.borrow_mut().pop_front();
                if let Some((_, (token, slot))) = putter {
                    repeat = true;
                    if token.is_current()
                        && let Some(item) = slot.take()
                    {
                        self.push_item(item);
                        Self::fire(&token);
                    }
                }
            }
            if self.qsize() > 0 {
                let getter = self.getters.borrow_mut().pop_front();
                if let Some((_, token)) = getter {
                    repeat = true;
                    Self::fire(&token);
                }
            }
            if !repeat {
                return;
            }
        }
    }

    /// From the hub, with the queue empty: put blocked putters' items in,
    /// one at a time, switching to each putter (gevent's `put_and_switch`),
    /// until there is an item.
    fn hub_fill(&self) {
        while self.qsize() == 0 {
            let putter = self.putters.borrow_mut().pop_front();
            let Some((_, (token, slot))) = putter else {
                return;
            };
            if !token.is_current() {
                continue;
            }
            let Some(item) = slot.take() else { continue };
            self.push_item(item);
            Self::fire(&token);
        }
    }

    fn shutdown_error(&self) -> Result<()> {
        if self.is_shutdown.get() {
            Err(ShutDown::error())
        } else {
            Ok(())
        }
    }

    fn try_put(&self, item: T) -> Result<()> {
        self.shutdown_error()?;
        if self.full() && self.hub.is_current() {
            // In the hub we cannot wait, but we can let waiting getters
            // take items to make room.
            while self.full() && self.qsize() > 0 {
                let getter = self.getters.borrow_mut().pop_front();
                let Some((_, token)) = getter else { break };
                Self::fire(&token);
            }
        }
        if self.full() {
            return Err(Error::Full);
        }
        self.push_item(item);
        if !self.getters.borrow().is_empty() {
            self.schedule_unlock();
        }
        Ok(())
    }

    #[inline(always)]
    fn put(&self, item: T, timeout: Option<TimeoutSpec>) -> Result<()> {
        self.shutdown_error()?;
        check_timeout(&timeout)?;
        if !self.full() || self.hub.is_current() {
            return self.try_put(item);
        }
        self.hub.ensure_can_block()?;
        let token = raw::park_token();
        let slot = Cell::new(Some(item));
        let key = self
            .putters
            .borrow_mut()
            .push_back((token.clone(), Slot::new(&slot)));
        let unlist = Unlist {
            list: &self.putters,
            key,
        };
        if !self.getters.borrow().is_empty() {
            self.schedule_unlock();
        }
        let r = park(&self.hub, token, timeout, Error::Full);
        drop(unlist);
        // Still holding the item: it was not put.
        if let Some(item) = slot.take() {
            drop(item);
            if r.is_ok() && self.is_shutdown.get() {
                return Err(ShutDown::error());
            }
            return Err(r.err().unwrap_or_else(invalid_switch));
        }
        r
    }

    /// Takes the next item if there is one (scheduling waiting putters).
    #[inline]
    fn take_ready(&self) -> Option<T> {
        let item = self.pop_item()?;
        if !self.putters.borrow().is_empty() {
            self.schedule_unlock();
        }
        Some(item)
    }

    fn try_get(&self) -> Result<T> {
        if let Some(v) = self.take_ready() {
            return Ok(v);
        }
        self.shutdown_error()?;
        if self.hub.is_current() {
            self.hub_fill();
            if let Some(v) = self.take_ready() {
                return Ok(v);
            }
        }
        Err(Error::Empty)
    }

    #[inline(always)]
    fn get(&self, timeout: Option<TimeoutSpec>) -> Result<T> {
        if let Some(v) = self.take_ready() {
            return Ok(v);
        }
        self.shutdown_error()?;
        check_timeout(&timeout)?;
        if self.hub.is_current() {
            return self.try_get();
        }
        loop {
            self.wait_for_item(timeout.clone())?;
            if let Some(v) = self.take_ready() {
                return Ok(v);
            }
            // Woken by `shutdown`, or another greenlet took the item
            // first: fail, or wait again.
            self.shutdown_error()?;
        }
    }

    /// Blocks as a getter until woken: by an item, or by `shutdown` (the
    /// caller then fails with ShutDown if there is no item for it).
    fn wait_for_item(&self, timeout: Option<TimeoutSpec>) -> Result<()> {
        self.hub.ensure_can_block()?;
        let token = raw::park_token();
        let key = self.getters.borrow_mut().push_back(token.clone());
        if !self.putters.borrow().is_empty() {
            self.schedule_unlock();
        }
        let r = park(&self.hub, token, timeout, Error::Empty);
        let left = self.getters.borrow_mut().remove(key);
        drop(left);
        r
    }

    fn try_peek(&self) -> Result<T>
    where
        T: Clone,
    {
        if let Some(v) = self.items.borrow().peek() {
            return Ok(v.clone());
        }
        self.shutdown_error()?;
        if self.hub.is_current() {
            self.hub_fill();
            if let Some(v) = self.items.borrow().peek() {
                return Ok(v.clone());
            }
        }
        Err(Error::Empty)
    }

    fn peek(&self, timeout: Option<TimeoutSpec>) -> Result<T>
    where
        T: Clone,
    {
        if let Some(v) = self.items.borrow().peek() {
            return Ok(v.clone());
        }
        self.shutdown_error()?;
        check_timeout(&timeout)?;
        if self.hub.is_current() {
            return self.try_peek();
        }
        loop {
            self.wait_for_item(timeout.clone())?;
            if let Some(v) = self.items.borrow().peek() {
                return Ok(v.clone());
            }
            self.shutdown_error()?;
        }
    }

    // --- joinable queues ---

    fn task_done(&self) -> Result<()> {
        let n = self.unfinished.get();
        if n == 0 {
            return Err(Error::invalid("task_done() called too many times"));
        }
        self.unfinished.set(n - 1);
        if n == 1
            && let Some(ev) = &*self.all_done.borrow()
        {
            ev.set();
        }
        Ok(())
    }

    fn join(&self, timeout: Option<TimeoutSpec>) -> Result<bool> {
        if self.unfinished.get() == 0 && self.all_done.borrow().is_none() {
            // Never waited on: nothing to queue behind (gevent's #45).
            return Ok(true);
        }
        let ev = self
            .all_done
            .borrow_mut()
            .get_or_insert_with(|| {
                let ev = Event::new();
                if self.unfinished.get() == 0 {
                    ev.set();
                }
                ev
            })
            .clone();
        match timeout {
            None => ev.wait(),
            Some(TimeoutSpec::Seconds(s)) => ev.wait_timeout(s),
            Some(TimeoutSpec::Timeout(t)) => ev.wait_timeout(&t),
        }
    }

    fn shutdown(&self, immediate: bool) {
        self.is_shutdown.set(true);
        if immediate {
            // gevent's `_drain_for_immediate_shutdown`: get and
            // `task_done` every item left (dropping it).
            while let Some(item) = self.pop_item() {
                drop(item);
                let _ = self.task_done();
            }
        }
        let getters = self.getters.borrow_mut().take_all();
        let putters = self.putters.borrow_mut().take_all();
        let lp = self.hub.loop_();
        for token in getters
            .into_iter()
            .chain(putters.into_iter().map(|(t, _)| t))
        {
            lp.push_callback(CallbackEntry::Wake(token));
        }
    }
}

/// Parks the current greenlet with `token` until woken, or until `timeout`
/// (then `Err(on_timeout)`, or a `Timeout`'s own error).
#[inline(always)]
fn park(
    hub: &Hub,
    token: WakeToken,
    timeout: Option<TimeoutSpec>,
    on_timeout: Error,
) -> Result<()> {
    match timeout {
        None => hub.park_for(token, None).map(|_| ()),
        Some(TimeoutSpec::Seconds(s)) => match hub.park_for(token, Some(s))? {
            true => Ok(()),
            false => Err(on_timeout),
        },
        Some(TimeoutSpec::Timeout(t)) => t.run(|| hub.park_for(token, None).map(|_| ())),
    }
}

// ---------------------------------------------------------------------------
// Iteration

/// A sentinel value and how to compare items with it.
type Sentinel<T> = (T, fn(&T, &T) -> bool);

/// Something an [`Iter`] can take items from.
trait GetItem<T> {
    fn get_item(&self) -> Result<T>;
}

/// The iterator of [`Queue::iter`], [`Queue::iter_until`] and their
/// twins on the other queue kinds and [`Channel`]: calls `get()` for each
/// item (blocking), yielding `Ok(item)`.
///
/// It ends when the sentinel (if any) is received (the sentinel is not
/// yielded) or when the queue is shut down; any other error of `get` is
/// yielded once, then it ends.
pub struct Iter<T: 'static> {
    q: Box<dyn GetItem<T>>,
    sentinel: Option<Sentinel<T>>,
    done: bool,
}

impl<T: 'static> Iter<T> {
    fn new(q: Box<dyn GetItem<T>>) -> Iter<T> {
        Iter {
            q,
            sentinel: None,
            done: false,
        }
    }

    fn until(q: Box<dyn GetItem<T>>, sentinel: T) -> Iter<T>
    where
        T: PartialEq,
    {
        Iter {
            q,
            sentinel: Some((sentinel, <T as PartialEq>::eq)),
            done: false,
        }
    }
}

impl<T: 'static> Iterator for Iter<T> {
    type Item = Result<T>;

    /// # Blocking
    /// Blocks in `get()` until an item arrives.
    fn next(&mut self) -> Option<Result<T>> {
        if self.done {
            return None;
        }
        match self.q.get_item() {
            Ok(v) => {
                if let Some((s, eq)) = &self.sentinel
                    && eq(&v, s)
                {
                    self.done = true;
                    return None;
                }
                Some(Ok(v))
            }
            Err(e) => {
                self.done = true;
                if ShutDown::is(&e) { None } else { Some(Err(e)) }
            }
        }
    }
}

impl<T: 'static> FusedIterator for Iter<T> {}

impl<T: 'static> fmt::Debug for Iter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("sentinel", &self.sentinel.is_some())
            .field("done", &self.done)
            .finish()
    }
}

// ---------------------------------------------------------------------------
// The public queue types

/// The API every queue kind shares, written once over [`Core`].
macro_rules! queue_api {
    ($name:ident, joinable: $joinable:expr, [$($bound:tt)*]) => {
        impl<T: 'static> Clone for $name<T> {
            fn clone(&self) -> Self {
                $name(self.0.clone())
            }
        }

        impl<T: 'static> PartialEq for $name<T> {
            /// Identity: both handles name the same queue.
            fn eq(&self, other: &Self) -> bool {
                Rc::ptr_eq(&self.0, &other.0)
            }
        }

        impl<T: 'static $($bound)*> GetItem<T> for $name<T> {
            fn get_item(&self) -> Result<T> {
                self.get()
            }
        }

        impl<T: 'static $($bound)*> $name<T> {
            /// A queue holding at most `maxsize` items (`None`, or `Some(0)`
            /// as gevent's deprecated `Queue(0)`: unbounded), on the current
            /// thread's hub.
            pub fn new(maxsize: Option<usize>) -> Self {
                $name(Core::new(maxsize, Vec::new(), $joinable))
            }

            /// A queue of at most `maxsize` items (0: unbounded), `maxsize`
            /// checked.
            ///
            /// # Errors
            /// [`Error::InvalidArgument`] for a negative size.
            pub fn with_maxsize(maxsize: i64) -> Result<Self> {
                if maxsize < 0 {
                    return Err(Error::invalid("maxsize must be >= 0"));
                }
                Ok(Self::new(Some(maxsize as usize)))
            }

            /// A queue holding `items` from the start (gevent's `items=`
            /// argument); `maxsize` bounds later puts only. In joinable
            /// queues each item counts as an unfinished task.
            pub fn from_items(maxsize: Option<usize>, items: impl IntoIterator<Item = T>) -> Self {
                $name(Core::new(maxsize, items.into_iter().collect(), $joinable))
            }

            /// A new queue with the same bound and (cloned) items, and for
            /// joinable queues the same unfinished-task count (gevent's
            /// `copy()`). Waiting greenlets are not copied.
            pub fn copy(&self) -> Self
            where
                T: Clone,
            {
                $name(self.0.copy())
            }

            /// Items in the queue (gevent's `qsize()` and `len()`).
            pub fn qsize(&self) -> usize {
                self.0.qsize()
            }

            /// True when empty.
            pub fn empty(&self) -> bool {
                self.0.qsize() == 0
            }

            /// True when bounded and at its size.
            pub fn full(&self) -> bool {
                self.0.full()
            }

            /// The bound, if any.
            pub fn maxsize(&self) -> Option<usize> {
                self.0.maxsize.get()
            }

            /// Changes the bound (`None` or `Some(0)`: unbounded); blocked
            /// putters that now fit are let in (through the loop).
            pub fn set_maxsize(&self, maxsize: Option<usize>) {
                self.0.set_maxsize(maxsize)
            }

            /// Greenlets waiting in `get` or `peek`.
            pub fn getters(&self) -> usize {
                self.0.getters.borrow().len()
            }

            /// Greenlets waiting in `put`.
            pub fn putters(&self) -> usize {
                self.0.putters.borrow().len()
            }

            /// Puts `item` without blocking (gevent's `put_nowait`); from
            /// inside the hub too, where it first lets waiting getters take
            /// items if the queue is full.
            ///
            /// # Errors
            /// [`Error::Full`] when bounded and full; [`ShutDown`] once
            /// shut down.
            pub fn try_put(&self, item: T) -> Result<()> {
                self.0.try_put(item)
            }

            /// Puts `item`, blocking while the queue is full.
            ///
            /// # Blocking
            /// Blocks while full; blocked putters are served in order.
            ///
            /// # Errors
            /// [`Error::Full`] from inside the hub when full; [`ShutDown`]
            /// once shut down (a blocked putter gets it too, its item not
            /// put); whatever is thrown into the greenlet while it waits.
            pub fn put(&self, item: T) -> Result<()> {
                self.0.put(item, None)
            }

            /// Like [`put`](Self::put), giving up after `timeout` (seconds,
            /// or a [`Timeout`](crate::Timeout) whose own error is then
            /// returned) with [`Error::Full`].
            ///
            /// # Errors
            /// As [`put`](Self::put); [`Error::InvalidArgument`] for a
            /// negative or NaN timeout.
            pub fn put_timeout(&self, item: T, timeout: impl TimeoutArg) -> Result<()> {
                self.0.put(item, Some(timeout.timeout_spec()?))
            }

            /// Takes an item without blocking (gevent's `get_nowait`); from
            /// inside the hub too, where it first takes a waiting putter's
            /// item.
            ///
            /// # Errors
            /// [`Error::Empty`] when there is none; [`ShutDown`] when shut
            /// down and empty.
            pub fn try_get(&self) -> Result<T> {
                self.0.try_get()
            }

            /// Takes an item, blocking until there is one.
            ///
            /// # Blocking
            /// Blocks while empty; blocked getters are served in order.
            ///
            /// # Errors
            /// [`Error::Empty`] from inside the hub when empty;
            /// [`ShutDown`] when shut down and empty (a blocked getter gets
            /// it too); whatever is thrown into the greenlet while it waits
            /// (`LoopExit` if nothing can put).
            pub fn get(&self) -> Result<T> {
                self.0.get(None)
            }

            /// Like [`get`](Self::get), giving up after `timeout` with
            /// [`Error::Empty`] (or a [`Timeout`](crate::Timeout)'s own
            /// error).
            ///
            /// # Errors
            /// As [`get`](Self::get); [`Error::InvalidArgument`] for a
            /// negative or NaN timeout.
            pub fn get_timeout(&self, timeout: impl TimeoutArg) -> Result<T> {
                self.0.get(Some(timeout.timeout_spec()?))
            }

            /// The next item without taking it, blocking until there is
            /// one.
            ///
            /// # Blocking
            /// As [`get`](Self::get).
            ///
            /// # Errors
            /// As [`get`](Self::get).
            pub fn peek(&self) -> Result<T>
            where
                T: Clone,
            {
                self.0.peek(None)
            }

            /// Like [`peek`](Self::peek), giving up after `timeout` with
            /// [`Error::Empty`] (gevent's `peek(timeout=..)`).
            ///
            /// # Errors
            /// As [`get_timeout`](Self::get_timeout).
            pub fn peek_timeout(&self, timeout: impl TimeoutArg) -> Result<T>
            where
                T: Clone,
            {
                self.0.peek(Some(timeout.timeout_spec()?))
            }

            /// The next item without taking it or blocking (gevent's
            /// `peek_nowait`).
            ///
            /// # Errors
            /// As [`try_get`](Self::try_get).
            pub fn try_peek(&self) -> Result<T>
            where
                T: Clone,
            {
                self.0.try_peek()
            }

            /// An iterator calling [`get`](Self::get) for each item; it ends
            /// when the queue is shut down (see [`Iter`]).
            ///
            /// # Blocking
            /// Each `next()` blocks as `get`.
            pub fn iter(&self) -> Iter<T> {
                Iter::new(Box::new(self.clone()))
            }

            /// Like [`iter`](Self::iter), also ending (without yielding it)
            /// at the first item equal to `sentinel`: gevent's iteration
            /// until `StopIteration`.
            pub fn iter_until(&self, sentinel: T) -> Iter<T>
            where
                T: PartialEq,
            {
                Iter::until(Box::new(self.clone()), sentinel)
            }
        }

        impl<T: 'static $($bound)*> IntoIterator for &$name<T> {
            type Item = Result<T>;
            type IntoIter = Iter<T>;

            /// The same as `iter()`.
            fn into_iter(self) -> Iter<T> {
                self.iter()
            }
        }

        impl<T: 'static $($bound)*> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "<{} maxsize={:?} queue={} getters[{}] putters[{}]",
                    stringify!($name),
                    self.maxsize(),
                    self.qsize(),
                    self.getters(),
                    self.putters()
                )?;
                if self.0.unfinished.get() > 0 {
                    write!(f, " tasks={}", self.0.unfinished.get())?;
                }
                f.write_str(">")
            }
        }
    };
}

/// The joinable-queue API (gevent's `Queue` over `SimpleQueue`):
/// task accounting and shutdown.
macro_rules! joinable_api {
    ($name:ident, [$($bound:tt)*]) => {
        impl<T: 'static $($bound)*> $name<T> {
            /// Items put and not yet marked done with
            /// [`task_done`](Self::task_done) (gevent's `unfinished_tasks`).
            pub fn unfinished_tasks(&self) -> usize {
                self.0.unfinished.get()
            }

            /// Marks one formerly enqueued task done: for each item taken
            /// with `get`, a later `task_done` tells the queue its
            /// processing is complete. Once every item put is done,
            /// [`join`](Self::join) returns.
            ///
            /// # Errors
            /// [`Error::InvalidArgument`] (gevent's `ValueError`) when
            /// called more times than items were put.
            pub fn task_done(&self) -> Result<()> {
                self.0.task_done()
            }

            /// Blocks until every item put has been marked done. Returns
            /// at once, without switching, on a queue that never had an
            /// unfinished task.
            ///
            /// # Blocking
            /// Until [`unfinished_tasks`](Self::unfinished_tasks) drops
            /// to 0.
            ///
            /// # Errors
            /// [`Error::BlockingSwitchOut`] from the hub while tasks are
            /// unfinished; whatever is thrown into the greenlet while it
            /// waits (`LoopExit` when nothing can finish them).
            pub fn join(&self) -> Result<()> {
                self.0.join(None).map(|_| ())
            }

            /// Like [`join`](Self::join), giving up after `timeout`:
            /// `Ok(true)` when every task is done, `Ok(false)` when the
            /// timeout passed first (gevent's `join(timeout)`).
            ///
            /// # Errors
            /// As [`join`](Self::join); an outer timeout is never
            /// swallowed.
            pub fn join_timeout(&self, timeout: impl TimeoutArg) -> Result<bool> {
                self.0.join(Some(timeout.timeout_spec()?))
            }

            /// Shuts the queue down (Python 3.13's `shutdown`): from now on
            /// `put` fails with [`ShutDown`], and `get` too once the queue
            /// is empty. With `immediate`, the items left are dropped and
            /// each counted as a done task (which may release `join`), so
            /// `get` fails at once. Greenlets blocked in `put`, `get` or
            /// `peek` are woken (through the loop) with [`ShutDown`].
            /// Shutting down is permanent.
            pub fn shutdown(&self, immediate: bool) {
                self.0.shutdown(immediate)
            }

            /// True once [`shutdown`](Self::shutdown) was called (gevent's
            /// `is_shutdown`).
            pub fn is_shutdown(&self) -> bool {
                self.0.is_shutdown.get()
            }
        }
    };
}

/// A FIFO queue between greenlets (gevent's `Queue`: since gevent 25.4.1
/// the joinable queue, with [`task_done`](Self::task_done),
/// [`join`](Self::join) and [`shutdown`](Self::shutdown)). Cloning gives
/// another handle to the same queue.
///
/// ```
/// use gevent::queue::Queue;
///
/// let q: Queue<u32> = Queue::new(None);
/// let total = std::rc::Rc::new(std::cell::Cell::new(0));
/// for _ in 0..2 {
///     let (q, total) = (q.clone(), total.clone());
///     gevent::spawn(move || -> gevent::Result<()> {
///         loop {
///             let n = q.get()?;
///             total.set(total.get() + n);
///             q.task_done()?;
///         }
///     });
/// }
/// for n in 1..=10 {
///     q.put(n).unwrap();
/// }
/// q.join().unwrap(); // every item processed
/// assert_eq!(total.get(), 55);
/// ```
pub struct Queue<T: 'static>(Rc<Core<T, Fifo<T>>>);

/// gevent's `JoinableQueue`: since gevent 25.4.1 an alias of [`Queue`].
pub type JoinableQueue<T> = Queue<T>;

/// A FIFO queue without task accounting or shutdown (gevent's
/// `SimpleQueue`, the plain `Queue` of gevent before 25.4.1). Cloning
/// gives another handle to the same queue.
pub struct SimpleQueue<T: 'static>(Rc<Core<T, Fifo<T>>>);

/// A queue that returns the most recently added item first (gevent's
/// `LifoQueue`, joinable). Cloning gives another handle to the same queue.
///
/// ```
/// use gevent::queue::LifoQueue;
///
/// let q = LifoQueue::from_items(None, [1, 2, 3]);
/// assert_eq!(q.get().unwrap(), 3);
/// ```
pub struct LifoQueue<T: 'static>(Rc<Core<T, Lifo<T>>>);

/// A queue that returns the lowest item first (gevent's `PriorityQueue`,
/// joinable); items are typically `(priority, data)` tuples. Cloning gives
/// another handle to the same queue.
///
/// ```
/// use gevent::queue::PriorityQueue;
///
/// let q = PriorityQueue::new(None);
/// q.put((2, "b")).unwrap();
/// q.put((1, "a")).unwrap();
/// assert_eq!(q.get().unwrap(), (1, "a"));
/// ```
pub struct PriorityQueue<T: 'static>(Rc<Core<T, Heap<T>>>);

queue_api!(Queue, joinable: true, []);
joinable_api!(Queue, []);
queue_api!(SimpleQueue, joinable: false, []);
queue_api!(LifoQueue, joinable: true, []);
joinable_api!(LifoQueue, []);
queue_api!(PriorityQueue, joinable: true, [+ Ord]);
joinable_api!(PriorityQueue, [+ Ord]);

// ---------------------------------------------------------------------------
// Channel

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
    getters: RefCell<WaitList<(WakeToken, Slot<T>)>>,
    putters: RefCell<WaitList<(WakeToken, Slot<T>)>>,
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
                match (g.front(), p.front()) {
                    (Some(_), Some((pt, _))) if !pt.is_current() => {
                        // The putter gave up: the getter stays first in line.
                        let stale = p.pop_front();
                        drop((g, p));
                        drop(stale);
                        continue;
                    }
                    (Some((gt, _)), Some(_)) if !gt.is_current() => {
                        let stale = g.pop_front();
                        drop((g, p));
                        drop(stale);
                        continue;
                    }
                    (Some(_), Some(_)) => g.pop_front().zip(p.pop_front()),
                    _ => None,
                }
            };
            let Some(((_, (gt, gslot)), (_, (pt, pslot)))) = pair else {
                return;
            };
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
            getters: RefCell::new(WaitList::default()),
            putters: RefCell::new(WaitList::default()),
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

    /// Waiting putters minus waiting getters (gevent's `balance`).
    pub fn balance(&self) -> isize {
        self.putters() as isize - self.getters() as isize
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

    /// Hands `item` to a waiting getter without blocking. From inside the
    /// hub the getter runs at once with its item, until it blocks again
    /// (gevent's `getter.switch(item)`), so a second `try_put` in the same
    /// callback finds it waiting again; from a greenlet the getter is woken
    /// through the loop.
    ///
    /// # Errors
    /// [`Error::Full`] when no getter waits.
    pub fn try_put(&self, item: T) -> Result<()> {
        let in_hub = self.0.hub.is_current();
        loop {
            let g = self.0.getters.borrow_mut().pop_front();
            let Some((_, (token, slot))) = g else {
                return Err(Error::Full);
            };
            if !token.is_current() {
                continue;
            }
            slot.set(Some(item));
            if in_hub {
                if let Some(d) = token.fire_data() {
                    after_switch_data(d);
                }
            } else {
                self.0.hub.loop_().push_callback(CallbackEntry::Wake(token));
            }
            return Ok(());
        }
    }

    fn put_spec(&self, item: T, timeout: Option<TimeoutSpec>) -> Result<()> {
        if self.0.hub.is_current() {
            return self.try_put(item);
        }
        self.0.hub.ensure_can_block()?;
        let token = raw::park_token();
        let slot = Cell::new(Some(item));
        let key = self
            .0
            .putters
            .borrow_mut()
            .push_back((token.clone(), Slot::new(&slot)));
        let unlist = Unlist {
            list: &self.0.putters,
            key,
        };
        if !self.0.getters.borrow().is_empty() {
            self.0.schedule_unlock();
        }
        let r = park(&self.0.hub, token, timeout, Error::Full);
        drop(unlist);
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
            let Some((_, (token, slot))) = p else {
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
        let slot = Cell::new(None);
        let key = self
            .0
            .getters
            .borrow_mut()
            .push_back((token.clone(), Slot::new(&slot)));
        let unlist = Unlist {
            list: &self.0.getters,
            key,
        };
        if !self.0.putters.borrow().is_empty() {
            self.0.schedule_unlock();
        }
        let r = park(&self.0.hub, token, timeout, Error::Empty);
        drop(unlist);
        match slot.take() {
            Some(v) => Ok(v),
            None => Err(r.err().unwrap_or_else(invalid_switch)),
        }
    }

    /// An iterator calling [`get`](Self::get) for each item (see
    /// [`Iter`]); a channel is never shut down, so only an error of `get`
    /// ends it.
    ///
    /// # Blocking
    /// Each `next()` blocks as `get`.
    pub fn iter(&self) -> Iter<T> {
        Iter::new(Box::new(self.clone()))
    }

    /// Like [`iter`](Self::iter), ending (without yielding it) at the first
    /// item equal to `sentinel`: gevent's iteration until `StopIteration`.
    pub fn iter_until(&self, sentinel: T) -> Iter<T>
    where
        T: PartialEq,
    {
        Iter::until(Box::new(self.clone()), sentinel)
    }
}

impl<T: 'static> GetItem<T> for Channel<T> {
    fn get_item(&self) -> Result<T> {
        self.get()
    }
}

impl<T: 'static> IntoIterator for &Channel<T> {
    type Item = Result<T>;
    type IntoIter = Iter<T>;

    /// [`iter`](Channel::iter).
    fn into_iter(self) -> Iter<T> {
        self.iter()
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
