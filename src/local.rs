//! Greenlet-local objects (gevent's `gevent.local`): [`Local<T>`] holds one
//! value of `T` per greenlet.
//!
//! ```
//! use std::cell::Cell;
//! use gevent::local::Local;
//!
//! // Each greenlet sees its own counter, created by the initialiser the
//! // first time that greenlet touches it.
//! let hits: Local<Cell<u32>> = Local::new(|| Cell::new(0));
//! hits.with(|h| h.set(42));
//!
//! let h = hits.clone(); // another handle to the same local
//! let g = gevent::spawn(move || {
//!     assert!(h.try_get().is_none()); // nothing set in this greenlet yet
//!     h.with(|c| c.set(c.get() + 1));
//!     Ok(h.get().get())
//! });
//! assert_eq!(g.get().unwrap(), 1); // the spawned greenlet's own value
//! assert_eq!(hits.get().get(), 42); // main's value is untouched
//! ```
//!
//! A greenlet's values live in that greenlet: the initialiser runs lazily,
//! once per greenlet, on the first [`get`](Local::get) or
//! [`with`](Local::with); values are never inherited by spawned children;
//! and they are dropped when the greenlet's function ends, on the
//! greenlet's own stack, whether it returned, failed, was killed or was
//! unwound by [`Hub::destroy`](crate::Hub::destroy). The main greenlet's
//! values are dropped when its thread exits. Dropping the last handle of a
//! `Local` drops its values in every greenlet at once.
//!
//! # Differences from gevent
//! **Rust's `thread_local!` is shared by every greenlet on a thread.**
//! gevent's monkey-patching turns `threading.local` into a greenlet-local,
//! so Python code written for threads keeps working when its threads
//! become greenlets. Rust has no monkey-patching: a `thread_local!` (in
//! your code or in a library) holds one value per OS thread, which every
//! greenlet of that thread sees and overwrites. Use a `Local` for state
//! that must follow a greenlet:
//!
//! ```
//! use std::cell::Cell;
//! use gevent::local::Local;
//!
//! thread_local! {
//!     static THREAD_WIDE: Cell<u32> = const { Cell::new(0) };
//! }
//! let per_greenlet: Local<Cell<u32>> = Local::new(|| Cell::new(0));
//!
//! THREAD_WIDE.with(|v| v.set(1));
//! per_greenlet.with(|v| v.set(1));
//!
//! let l = per_greenlet.clone();
//! gevent::spawn(move || {
//!     THREAD_WIDE.with(|v| v.set(2)); // overwrites main's value
//!     l.with(|v| v.set(2)); // sets only this greenlet's value
//!     Ok(())
//! })
//! .join()
//! .unwrap();
//!
//! assert_eq!(THREAD_WIDE.with(|v| v.get()), 2); // shared: changed
//! assert_eq!(per_greenlet.get().get(), 1); // greenlet-local: kept
//! ```
//!
//! gevent's `local` is an object with per-greenlet *attributes*; a
//! `Local<T>` holds one value, so several attributes become a struct (with
//! `Cell`/`RefCell` fields for the ones that change) or several `Local`s.
//! A `local` subclass's `__init__`, re-run in each greenlet, is the
//! initialiser given to [`Local::new`]; an attribute that is not set
//! (`AttributeError`) is [`try_get`](Local::try_get) returning `None`;
//! `del` is [`take`](Local::take), after which the initialiser runs again
//! on the next access; `copy(local)` is [`duplicate`](Local::duplicate).
//! `__slots__` (state shared by all greenlets) is simply a value outside
//! the `Local`. Cloning a `Local` gives another handle to the same local,
//! like the other handles of this crate. Values are `Rc<T>`: one read
//! from [`get`](Local::get) stays valid after its greenlet ended. A
//! `Local` is per thread (`!Send`), like every greenlet.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::greenlet::raw::{at_thread_exit, local_get, local_remove, local_set};
use crate::idmap::IdMap;

/// Source of the keys of the greenlets' local maps: one per `Local`, never
/// reused.
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// The thread's greenlet state, as far as this module knows it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No `Local` value was ever stored on this thread.
    Unused,
    /// A value was stored and the thread-exit hook is registered: the
    /// greenlet state is alive and the running greenlet's map reachable.
    Live,
    /// The thread is exiting: the greenlet state may already be gone, so
    /// this module no longer touches the greenlets' maps.
    Exiting,
}

thread_local! {
    // No destructor: readable even while other thread-locals are torn down.
    static PHASE: Cell<Phase> = const { Cell::new(Phase::Unused) };
}

fn phase() -> Phase {
    PHASE.try_with(Cell::get).unwrap_or(Phase::Exiting)
}

/// Called before this module first stores a value on the thread.
fn ensure_exit_hook() {
    if phase() == Phase::Unused {
        let _ = PHASE.try_with(|p| p.set(Phase::Live));
        at_thread_exit(Box::new(|| {
            let _ = PHASE.try_with(|p| p.set(Phase::Exiting));
        }));
    }
}

/// Greenlet-local storage (gevent's `gevent.local.local`): one value of
/// `T` per greenlet, created lazily by the initialiser.
///
/// Cloning gives another handle to the same local (the same values). When
/// the last handle is dropped, the values of every greenlet are dropped.
///
/// "The running greenlet" is the hub inside a hub callback (a watcher,
/// `run_callback` or rawlink callback): values set there belong to the
/// hub greenlet and are dropped when the hub is destroyed.
///
/// # Panics
/// Like every greenlet operation, the methods panic when called on a
/// thread whose greenlet state is already torn down (from a thread-local
/// destructor that runs after it, at thread exit). Dropping a `Local` or a
/// value never panics there.
pub struct Local<T: 'static>(Rc<Shared<T>>);

struct Shared<T: 'static> {
    /// The key of this local's entry in each greenlet's map.
    key: u64,
    init: Rc<dyn Fn() -> T>,
    /// Every greenlet's slot of this local, so that dropping the local
    /// frees the values of greenlets that are still alive.
    slots: RefCell<IdMap<u64, Weak<Slot<T>>>>,
    next_slot: Cell<u64>,
}

/// What a greenlet's map holds for one local: the value, and the way back
/// to the local's list of slots. Dropped with the greenlet's map, when its
/// function ends.
struct Slot<T: 'static> {
    owner: Weak<Shared<T>>,
    id: u64,
    value: RefCell<Option<Rc<T>>>,
}

impl<T: 'static> Drop for Slot<T> {
    fn drop(&mut self) {
        // The value itself is dropped after this, with the field.
        if let Some(owner) = self.owner.upgrade() {
            owner.slots.borrow_mut().remove(&self.id);
        }
    }
}

impl<T: 'static> Drop for Shared<T> {
    fn drop(&mut self) {
        let slots = std::mem::take(self.slots.get_mut());
        // Take the values out first, then drop them with no borrow held:
        // a value's destructor may use other locals.
        let values: Vec<Option<Rc<T>>> = slots
            .values()
            .filter_map(Weak::upgrade)
            .map(|s| s.value.borrow_mut().take())
            .collect();
        drop(slots);
        drop(values);
        // The running greenlet's (now empty) slot goes at once; the other
        // greenlets' ones go with their maps.
        if phase() == Phase::Live {
            drop(local_remove(self.key));
        }
    }
}

impl<T: 'static> Clone for Local<T> {
    fn clone(&self) -> Self {
        Local(self.0.clone())
    }
}

impl<T: Default + 'static> Default for Local<T> {
    /// A local whose initialiser is `T::default`.
    fn default() -> Self {
        Local::new(T::default)
    }
}

impl<T: 'static> fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Local")
            .field("key", &self.0.key)
            .field("greenlets", &self.0.slots.borrow().len())
            .finish()
    }
}

impl<T: 'static> Local<T> {
    /// A new local; `init` makes a greenlet's value the first time that
    /// greenlet reads it (gevent runs a `local` subclass's `__init__` again
    /// in each greenlet).
    ///
    /// The initialiser runs in the greenlet that reads, with no borrow
    /// held: it may read other locals, and may block (other greenlets keep
    /// running and get their own values meanwhile). If it sets this same
    /// local, the value it set is kept and its return value dropped; if it
    /// reads this same local, it recurses, as a function calling itself.
    pub fn new(init: impl Fn() -> T + 'static) -> Local<T> {
        Local::with_init(Rc::new(init))
    }

    fn with_init(init: Rc<dyn Fn() -> T>) -> Local<T> {
        Local(Rc::new(Shared {
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            init,
            slots: RefCell::new(IdMap::default()),
            next_slot: Cell::new(0),
        }))
    }

    /// The running greenlet's slot of this local, if it has one.
    fn slot(&self) -> Option<Rc<Slot<T>>> {
        local_get(self.0.key).and_then(|s| s.downcast::<Slot<T>>().ok())
    }

    /// Stores `value` as the running greenlet's value; returns the old one.
    fn store(&self, value: Rc<T>) -> Option<Rc<T>> {
        if let Some(slot) = self.slot() {
            return slot.value.replace(Some(value));
        }
        ensure_exit_hook();
        let id = self.0.next_slot.get();
        self.0.next_slot.set(id + 1);
        let slot = Rc::new(Slot {
            owner: Rc::downgrade(&self.0),
            id,
            value: RefCell::new(Some(value)),
        });
        self.0.slots.borrow_mut().insert(id, Rc::downgrade(&slot));
        // No slot was there: nothing is replaced.
        drop(local_set(self.0.key, slot as Rc<dyn Any>));
        None
    }

    /// The running greenlet's value, made by the initialiser if this
    /// greenlet has none yet.
    ///
    /// # Blocking
    /// Only if the initialiser blocks.
    pub fn get(&self) -> Rc<T> {
        if let Some(v) = self.try_get() {
            return v;
        }
        let value = Rc::new((self.0.init)());
        // The initialiser may have set this local itself: keep that.
        if let Some(v) = self.try_get() {
            return v;
        }
        self.store(value.clone());
        value
    }

    /// Calls `f` with the running greenlet's value (made by the initialiser
    /// if this greenlet has none yet), like `thread_local!`'s `with`.
    ///
    /// No borrow is held while `f` runs: it may use this local again, and
    /// may block.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.get())
    }

    /// The running greenlet's value if it has one; never runs the
    /// initialiser (gevent raises `AttributeError` for an attribute the
    /// greenlet has not set).
    pub fn try_get(&self) -> Option<Rc<T>> {
        self.slot().and_then(|s| s.value.borrow().clone())
    }

    /// True if the running greenlet has a value (set, or made by the
    /// initialiser).
    pub fn is_set(&self) -> bool {
        self.slot().is_some_and(|s| s.value.borrow().is_some())
    }

    /// Sets the running greenlet's value; the old one, if any, is dropped.
    pub fn set(&self, value: T) {
        drop(self.store(Rc::new(value)));
    }

    /// Sets the running greenlet's value; returns the old one, if any.
    pub fn replace(&self, value: T) -> Option<Rc<T>> {
        self.store(Rc::new(value))
    }

    /// Removes the running greenlet's value and returns it, if it had one
    /// (gevent's `del`); the next [`get`](Self::get) in this greenlet runs
    /// the initialiser again. Other greenlets' values are untouched.
    pub fn take(&self) -> Option<Rc<T>> {
        let slot = local_remove(self.0.key)?.downcast::<Slot<T>>().ok()?;
        slot.value.borrow_mut().take()
    }

    /// A new, independent local with the same initialiser, whose value in
    /// the running greenlet starts as a clone of this local's value there,
    /// if it has one (gevent's `copy(local)`, a shallow copy of the
    /// running greenlet's dict). Other greenlets start afresh.
    pub fn duplicate(&self) -> Local<T>
    where
        T: Clone,
    {
        let copy = Local::with_init(self.0.init.clone());
        if let Some(v) = self.try_get() {
            copy.set(T::clone(&v));
        }
        copy
    }
}
