//! Managing greenlets in a group (gevent's `gevent.pool`): a [`Group`]
//! tracks greenlets and forgets each one when it dies; a [`Pool`] is a
//! group with a limit, whose [`spawn`](Pool::spawn) blocks while it is
//! full.
//!
//! ```
//! use gevent::pool::Pool;
//!
//! let pool = Pool::new(2).unwrap();
//! // at most two run at a time; results come back in input order
//! let squares = pool.map(|x: u64| { gevent::sleep(0.001)?; Ok(x * x) }, 1..=4).unwrap();
//! assert_eq!(squares, [1, 4, 9, 16]);
//!
//! let g = pool.spawn(|| Ok("done")).unwrap();
//! assert_eq!(pool.len(), 1);
//! assert_eq!(g.get().unwrap(), "done");
//! pool.join().unwrap();
//! assert!(pool.is_empty());
//! ```
//!
//! A member is removed by a link callback once it is dead, so its slot is
//! free only after that callback ran (the loop iteration after its death),
//! as in gevent. [`Group::join`] waits until the group has been empty *at
//! least once*; [`Group::kill`] kills every member and waits for them; a
//! kill requested for a member already being killed by the group is not
//! delivered again. `map`, `imap` and `imap_unordered` run a function over
//! an iterator in member greenlets (at most `size` at once in a pool);
//! `apply` runs one call and waits for it, inline when called from a member
//! of the same group (so that a full pool cannot deadlock on itself);
//! `apply_async` never blocks and never runs inline.
//!
//! # Members of any type
//! A gevent group holds any greenlet. Here a group holds [`Greenlet<T>`]s
//! of *different* `T` at once: members are kept type-erased as
//! [`AnyGreenlet`] handles (iteration yields those;
//! [`AnyGreenlet::downcast`] gets the typed greenlet back), while the
//! spawning methods are generic per call and return the typed
//! `Greenlet<T>` or `T`. So one pool can throttle unrelated kinds of work,
//! as a gevent pool does, and no type parameter leaks into code that only
//! waits for or kills the members.
//!
//! # Differences from gevent
//! * `Pool::new(size)` refuses sizes below 1 (gevent accepts 0, a pool that
//!   can never run anything); [`Pool::unlimited`] is gevent's `Pool()`.
//!   `Pool` and `Group` are distinct types: `Group::spawn` cannot fail,
//!   `Pool::spawn` blocks and returns a `Result`.
//! * `PoolFull` is [`Error::Full`] (gevent's `PoolFull` subclasses
//!   `queue.Full`). Adding a greenlet that is already a member does
//!   nothing (gevent links it and takes a slot again).
//! * `timeout=`/`block=`/`raise_error=` become method variants (`_timeout`,
//!   `_nowait`, `try_`, `join_raise_error`); `exception=` becomes `_with`.
//! * `imap` takes one iterator (zip several yourself) and yields
//!   `Result<T>` items: a task's failure is an `Err` item and iteration
//!   goes on, as gevent raises from `next()` and lets you call it again.
//!   An iterator that fails (gevent: an iterable that raises) is written
//!   with Result items and the `_fallible` forms. Dropping an [`IMap`]
//!   stops it from spawning more tasks.
//! * A member killed with `GreenletExit` makes `map` and `apply` return
//!   `Err(GreenletExit)` (gevent returns the exception instance as the
//!   value), as [`Greenlet::get`] does.
//! * `map`, `imap` and `apply` do not need `T: Clone`: results are moved
//!   out of the task, not copied.
//! * After an input failure, `imap_unordered` still yields the results of
//!   the tasks already running and then ends (gevent's blocks forever once
//!   they are taken).
//! * Iteration gives the members in the order they were added (gevent: set
//!   order). A group made from greenlets (`collect()`, gevent's
//!   `Group(greenlets)`) is not empty for `join` (gevent's leaves its empty
//!   event set, so `join` returns at once).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};

use crate::error::{Error, Result};
use crate::event::Event;
pub use crate::greenlet::{AnyGreenlet, AsRawGreenlet};
use crate::greenlet::{Greenlet, RawGreenlet};
use crate::idmap::IdMap;
use crate::linkable::LinkId;
use crate::lock::Semaphore;
use crate::queue::Queue;
use crate::timeout::{Timeout, TimeoutArg, TimeoutSpec};

// ---------------------------------------------------------------------------
// The shared core of Group and Pool

struct Entry {
    seq: u64,
    member: AnyGreenlet,
    link: LinkId,
    /// gevent's `dying` set: a kill was requested by the group.
    dying: bool,
}

struct Core {
    /// Members by raw greenlet id.
    members: RefCell<IdMap<u64, Entry>>,
    next_seq: Cell<u64>,
    /// Set while the group is empty (gevent's `_empty_event`).
    empty: Event,
    /// `Some` for a pool with a size.
    sem: Option<Semaphore>,
    size: Option<usize>,
    me: Weak<Core>,
}

impl Core {
    /// A core; `sem` holds `size` permits.
    fn new(size: Option<usize>, sem: Option<Semaphore>) -> Rc<Core> {
        let empty = Event::new();
        empty.set();
        Rc::new_cyclic(|me| Core {
            members: RefCell::new(IdMap::default()),
            next_seq: Cell::new(0),
            empty,
            sem,
            size,
            me: me.clone(),
        })
    }

    fn len(&self) -> usize {
        self.members.borrow().len()
    }

    fn contains_key(&self, key: u64) -> bool {
        self.members.borrow().contains_key(&key)
    }

    fn contains_current(&self) -> bool {
        self.contains_key(RawGreenlet::current().id())
    }

    /// The members in the order they were added.
    fn snapshot(&self) -> Vec<AnyGreenlet> {
        let m = self.members.borrow();
        let mut v: Vec<(u64, AnyGreenlet)> =
            m.values().map(|e| (e.seq, e.member.clone())).collect();
        v.sort_by_key(|(s, _)| *s);
        v.into_iter().map(|(_, g)| g).collect()
    }

    fn full(&self) -> bool {
        self.free_count() == 0
    }

    fn free_count(&self) -> usize {
        match self.size {
            None => 1,
            Some(n) => n.saturating_sub(self.len()),
        }
    }

    /// Takes a slot (a pool's semaphore), blocking as `block`/`timeout`
    /// say; `Err(Full)` when it could not.
    fn acquire_slot(&self, block: bool, timeout: Option<TimeoutSpec>) -> Result<()> {
        let Some(sem) = &self.sem else {
            return Ok(());
        };
        let ok = if !block {
            sem.try_acquire()
        } else {
            match timeout {
                None => sem.acquire()?,
                Some(TimeoutSpec::Seconds(s)) => sem.acquire_timeout(s)?,
                Some(TimeoutSpec::Timeout(t)) => sem.acquire_timeout(t)?,
            }
        };
        if ok { Ok(()) } else { Err(Error::Full) }
    }

    fn release_slot(&self) {
        if let Some(sem) = &self.sem {
            // Never over the size: a slot is released once per member.
            let _ = sem.release();
        }
    }

    /// gevent's `Group.add` once a slot is held: links the member so it is
    /// removed when it dies. False if it was a member already.
    fn add_member(&self, g: AnyGreenlet) -> bool {
        let key = g.raw().id();
        if self.contains_key(key) {
            return false;
        }
        let me = self.me.clone();
        let link = g.0.rawlink(Box::new(move || {
            if let Some(core) = me.upgrade() {
                core.on_member_dead(key);
            }
        }));
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        self.members.borrow_mut().insert(
            key,
            Entry {
                seq,
                member: g,
                link,
                dying: false,
            },
        );
        self.empty.clear();
        true
    }

    /// Pool.add: a slot, then membership; a member already present keeps
    /// its single slot.
    fn add(&self, g: AnyGreenlet, block: bool, timeout: Option<TimeoutSpec>) -> Result<()> {
        if self.contains_key(g.raw().id()) {
            return Ok(());
        }
        self.acquire_slot(block, timeout)?;
        if !self.add_member(g) {
            // Became a member while we waited for the slot.
            self.release_slot();
        }
        Ok(())
    }

    /// gevent's `_discard` (the link callback): forget the member, free its
    /// slot, and set the empty event if it was the last.
    fn on_member_dead(&self, key: u64) {
        let removed = self.members.borrow_mut().remove(&key);
        if removed.is_some() {
            self.release_slot();
        }
        if self.members.borrow().is_empty() {
            self.empty.set();
        }
        drop(removed);
    }

    fn discard(&self, key: u64) {
        let removed = self.members.borrow_mut().remove(&key);
        if let Some(e) = &removed {
            e.member.0.unlink(e.link);
            self.release_slot();
        }
        if self.members.borrow().is_empty() {
            self.empty.set();
        }
        drop(removed);
    }

    /// Spawns `f` as a member, blocking for a slot in a pool.
    fn spawn<T: 'static>(
        &self,
        f: impl FnOnce() -> Result<T> + 'static,
        block: bool,
    ) -> Result<Greenlet<T>> {
        self.acquire_slot(block, None)?;
        let g = Greenlet::new(f);
        self.add_member(AnyGreenlet::from(&g));
        g.start();
        Ok(g)
    }

    /// gevent's `join`: waits for the empty event, then (with
    /// `raise_error`) raises the failure of a greenlet that was a member
    /// when the call began.
    fn join(&self, timeout: Option<TimeoutSpec>, raise_error: bool) -> Result<bool> {
        let before = if raise_error {
            self.snapshot()
        } else {
            Vec::new()
        };
        let r = match timeout {
            None => self.empty.wait()?,
            Some(TimeoutSpec::Seconds(s)) => self.empty.wait_timeout(s)?,
            Some(TimeoutSpec::Timeout(t)) => self.empty.wait_timeout(t)?,
        };
        for g in &before {
            if let Some(e) = g.exception() {
                return Err(e);
            }
        }
        Ok(r)
    }

    /// One round of gevent's `kill`: non-blocking kills of the members the
    /// group is not already killing.
    fn kill_round(&self, err: &Error) {
        let targets: Vec<AnyGreenlet> = {
            let mut m = self.members.borrow_mut();
            let mut v: Vec<(u64, AnyGreenlet)> = m
                .values_mut()
                .filter(|e| !e.dying)
                .map(|e| {
                    e.dying = true;
                    (e.seq, e.member.clone())
                })
                .collect();
            v.sort_by_key(|(s, _)| *s);
            v.into_iter().map(|(_, g)| g).collect()
        };
        for g in targets {
            let _ = g.0.kill_impl(err.clone(), false, None);
        }
    }

    /// gevent's `Group.kill(exception, block, timeout)`: true when the
    /// group ended empty.
    fn kill(&self, err: Error, block: bool, timeout: Option<TimeoutSpec>) -> Result<bool> {
        if !block {
            self.kill_round(&err);
            return Ok(self.len() == 0);
        }
        let run = || -> Result<bool> {
            loop {
                self.kill_round(&err);
                let members = self.snapshot();
                if members.is_empty() {
                    return Ok(true);
                }
                crate::wait::wait(&members)?;
            }
        };
        let t = match timeout {
            None => return run(),
            Some(TimeoutSpec::Seconds(s)) => Timeout::new(Some(s)),
            Some(TimeoutSpec::Timeout(t)) => t,
        };
        match t.run(run) {
            Err(e) if t.is_own_timeout(&e) => Ok(false),
            r => r,
        }
    }

    /// gevent's `killone`: true when the greenlet is dead at the end.
    fn killone(
        &self,
        g: &RawGreenlet,
        err: Error,
        block: bool,
        timeout: Option<TimeoutSpec>,
    ) -> Result<bool> {
        let member = {
            let mut m = self.members.borrow_mut();
            match m.get_mut(&g.id()) {
                Some(e) if !e.dying => {
                    e.dying = true;
                    Some(e.member.clone())
                }
                _ => None,
            }
        };
        let Some(member) = member else {
            return Ok(g.dead());
        };
        let _ = member.0.kill_impl(err, false, None);
        if block {
            member.0.join_spec(timeout)
        } else {
            Ok(member.ready())
        }
    }

    fn wait_available(&self, timeout: Option<TimeoutSpec>) -> Result<usize> {
        let Some(sem) = &self.sem else {
            return Ok(1);
        };
        let n = match timeout {
            None => Some(sem.wait()?),
            Some(TimeoutSpec::Seconds(s)) => sem.wait_timeout(s)?,
            Some(TimeoutSpec::Timeout(t)) => sem.wait_timeout(t)?,
        };
        Ok(n.map_or(0, |n| usize::try_from(n).unwrap_or(0)))
    }
}

/// A result moved out of a task greenlet (no `T: Clone` needed).
type ResultSlot<T> = Rc<Cell<Option<T>>>;

/// The outcome of a dead task greenlet whose value went to `slot`.
fn take_outcome<T>(g: &Greenlet<()>, slot: &ResultSlot<T>) -> Result<T> {
    if let Some(v) = slot.take() {
        return Ok(v);
    }
    Err(g.exception().unwrap_or(Error::GreenletExit))
}

/// Runs `f` in a new greenlet that is not a member of any group and waits
/// for its outcome (gevent's `Greenlet.spawn(...).get()`).
fn run_in_greenlet<R: 'static>(f: impl FnOnce() -> Result<R> + 'static) -> Result<R> {
    let slot: ResultSlot<R> = Rc::new(Cell::new(None));
    let s = slot.clone();
    let g = Greenlet::spawn(move || {
        s.set(Some(f()?));
        Ok(())
    });
    g.join()?;
    take_outcome(&g, &slot)
}

/// Spawns `f(x)` as a member whose value goes to a slot.
fn spawn_task<X: 'static, T: 'static>(
    core: &Core,
    f: Rc<dyn Fn(X) -> Result<T>>,
    x: X,
) -> Result<(Greenlet<()>, ResultSlot<T>)> {
    let slot: ResultSlot<T> = Rc::new(Cell::new(None));
    let s = slot.clone();
    let g = core.spawn(
        move || {
            s.set(Some(f(x)?));
            Ok(())
        },
        true,
    )?;
    Ok((g, slot))
}

impl Core {
    fn apply<T: 'static>(self: &Rc<Self>, f: impl FnOnce() -> Result<T> + 'static) -> Result<T> {
        if self.contains_current() {
            return f();
        }
        let slot: ResultSlot<T> = Rc::new(Cell::new(None));
        let s = slot.clone();
        let g = self.spawn(
            move || {
                s.set(Some(f()?));
                Ok(())
            },
            true,
        )?;
        g.join()?;
        take_outcome(&g, &slot)
    }

    fn apply_async<T: 'static>(
        self: &Rc<Self>,
        f: impl FnOnce() -> Result<T> + 'static,
    ) -> Greenlet<T> {
        if !self.full() && self.acquire_slot(false, None).is_ok() {
            let g = Greenlet::new(f);
            self.add_member(AnyGreenlet::from(&g));
            g.start();
            return g;
        }
        // Full: an untracked greenlet that waits for a slot itself.
        let core = self.clone();
        Greenlet::spawn(move || core.apply(f))
    }

    fn map<X: 'static, T: 'static>(
        self: &Rc<Self>,
        f: Rc<dyn Fn(X) -> Result<T>>,
        iter: Box<dyn Iterator<Item = Result<X>>>,
    ) -> Result<Vec<T>> {
        let core = self.clone();
        run_in_greenlet(move || {
            let mut tasks = Vec::new();
            for item in iter {
                tasks.push(spawn_task(&core, f.clone(), item?)?);
            }
            let mut out = Vec::with_capacity(tasks.len());
            for (g, slot) in tasks {
                g.join()?;
                out.push(take_outcome(&g, &slot)?);
            }
            Ok(out)
        })
    }

    fn imap<X: 'static, T: 'static>(
        self: &Rc<Self>,
        f: Rc<dyn Fn(X) -> Result<T>>,
        iter: Box<dyn Iterator<Item = Result<X>>>,
        result_sem: Option<Semaphore>,
    ) -> ImapInner<T> {
        let state = Rc::new(ImapState {
            queue: Queue::new(None),
            result_sem,
            outstanding: Cell::new(0),
            spawned: Cell::new(0),
            end_index: Cell::new(0),
            producing: Cell::new(true),
            finished_put: Cell::new(false),
        });
        let core = self.clone();
        let st = state.clone();
        let producer: Greenlet<()> = Greenlet::spawn(move || {
            let r = st.produce(&core, f, iter);
            st.on_finish(r.as_ref().err().cloned());
            r
        });
        // A producer killed before it ran still ends the iteration.
        let st = state.clone();
        producer.rawlink(move |g| {
            if st.producing.get() {
                st.on_finish(Some(g.exception().unwrap_or(Error::GreenletExit)));
            }
        });
        ImapInner {
            state,
            producer,
            results: IdMap::default(),
            index: 0,
            done: false,
        }
    }
}

/// gevent's `_result_semaphore`: `maxsize` permits (none for `None`/0).
fn result_semaphore(maxsize: Option<usize>) -> Result<Option<Semaphore>> {
    match maxsize.filter(|m| *m > 0) {
        Some(m) => {
            let m = i64::try_from(m).map_err(|_| Error::invalid("imap maxsize too large"))?;
            Ok(Some(Semaphore::new(m)?))
        }
        None => Ok(None),
    }
}

// ---------------------------------------------------------------------------
// imap / imap_unordered

enum ImapMsg<T> {
    Value(Result<T>),
    Finished,
}

struct ImapState<T: 'static> {
    /// (index, message): results as tasks finish.
    queue: Queue<(usize, ImapMsg<T>)>,
    /// gevent's `_result_semaphore` (`maxsize`).
    result_sem: Option<Semaphore>,
    outstanding: Cell<usize>,
    spawned: Cell<usize>,
    /// Index of the `Finished` message.
    end_index: Cell<usize>,
    producing: Cell<bool>,
    finished_put: Cell<bool>,
}

impl<T: 'static> ImapState<T> {
    fn put(&self, index: usize, msg: ImapMsg<T>) {
        // Unbounded: never full, and usable from the hub.
        let _ = self.queue.try_put((index, msg));
    }

    /// The producer greenlet's body (gevent's `IMapUnordered._run`).
    fn produce<X: 'static>(
        self: &Rc<Self>,
        core: &Core,
        f: Rc<dyn Fn(X) -> Result<T>>,
        iter: Box<dyn Iterator<Item = Result<X>>>,
    ) -> Result<()> {
        for item in iter {
            let x = item?;
            if let Some(sem) = &self.result_sem {
                sem.acquire()?;
            }
            let (g, slot) = spawn_task(core, f.clone(), x)?;
            let index = self.spawned.get();
            self.spawned.set(index + 1);
            self.outstanding.set(self.outstanding.get() + 1);
            let st = self.clone();
            g.rawlink(move |g| st.on_result(index, take_outcome(g, &slot)));
        }
        Ok(())
    }

    /// gevent's `_on_finish`, in the producer.
    fn on_finish(&self, err: Option<Error>) {
        if !self.producing.replace(false) {
            return;
        }
        let mut end = self.spawned.get();
        if let Some(e) = err {
            self.put(end, ImapMsg::Value(Err(e)));
            end += 1;
        }
        self.end_index.set(end);
        self.maybe_finish();
    }

    /// gevent's `_on_result`, a link of each task (in the hub).
    fn on_result(&self, index: usize, r: Result<T>) {
        self.outstanding
            .set(self.outstanding.get().saturating_sub(1));
        self.put(index, ImapMsg::Value(r));
        self.maybe_finish();
    }

    fn maybe_finish(&self) {
        if !self.producing.get() && self.outstanding.get() == 0 && !self.finished_put.get() {
            self.finished_put.set(true);
            self.put(self.end_index.get(), ImapMsg::Finished);
        }
    }
}

struct ImapInner<T: 'static> {
    state: Rc<ImapState<T>>,
    producer: Greenlet<()>,
    /// Ordered mode: results that arrived ahead of their turn.
    results: IdMap<usize, ImapMsg<T>>,
    index: usize,
    done: bool,
}

impl<T: 'static> ImapInner<T> {
    fn next_item(&mut self, ordered: bool) -> Option<Result<T>> {
        if self.done {
            return None;
        }
        if let Some(sem) = &self.state.result_sem {
            let _ = sem.release();
        }
        let msg = if ordered {
            match self.results.remove(&self.index) {
                Some(m) => m,
                None => loop {
                    match self.state.queue.get() {
                        Err(e) => return Some(Err(e)),
                        Ok((i, m)) if i == self.index => break m,
                        Ok((i, m)) => {
                            self.results.insert(i, m);
                        }
                    }
                },
            }
        } else {
            match self.state.queue.get() {
                Err(e) => return Some(Err(e)),
                Ok((_, m)) => m,
            }
        };
        self.index += 1;
        match msg {
            ImapMsg::Value(r) => Some(r),
            ImapMsg::Finished => {
                self.done = true;
                None
            }
        }
    }
}

impl<T: 'static> Drop for ImapInner<T> {
    fn drop(&mut self) {
        if !self.producer.ready() {
            self.producer.kill_nowait();
        }
    }
}

/// The iterator of [`Group::imap`]: results in input order (gevent's
/// `IMap`). Each item is the task's result, or its failure; a failure of
/// the input iterator comes after the results of the tasks spawned before
/// it, and ends the iteration.
///
/// # Blocking
/// `next()` blocks until the next result in order is ready. It returns
/// `Some(Err(..))` also when the wait itself is interrupted (a timeout or a
/// kill of the reading greenlet).
///
/// Dropping it kills the greenlet that spawns the tasks, so no more are
/// started; tasks already running go on.
#[must_use = "an IMap does nothing useful unless iterated; dropping it stops it"]
pub struct IMap<T: 'static>(ImapInner<T>);

impl<T: 'static> IMap<T> {
    /// Finished results waiting to be taken by the reader (gevent's
    /// `len(imap.queue)`; in order mode, not counting results kept aside
    /// until their turn).
    pub fn queued(&self) -> usize {
        self.0.state.queue.qsize()
    }

    /// The greenlet that iterates the input and spawns the tasks (gevent's
    /// `IMap` is itself that greenlet).
    pub fn greenlet(&self) -> &Greenlet<()> {
        &self.0.producer
    }
}

impl<T: 'static> Iterator for IMap<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        self.0.next_item(true)
    }
}

impl<T: 'static> fmt::Debug for IMap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<IMap queued={} {:?}>", self.queued(), self.0.producer)
    }
}

/// The iterator of [`Group::imap_unordered`]: results in the order the
/// tasks finish (gevent's `IMapUnordered`). Each item is the task's
/// result, or its failure; a failure of the input iterator is yielded when
/// it happens, then the results of the tasks still running, then the end.
///
/// # Blocking
/// `next()` blocks until a task finishes. It returns `Some(Err(..))` also
/// when the wait itself is interrupted.
///
/// Dropping it kills the greenlet that spawns the tasks, so no more are
/// started; tasks already running go on.
#[must_use = "an IMapUnordered does nothing useful unless iterated; dropping it stops it"]
pub struct IMapUnordered<T: 'static>(ImapInner<T>);

impl<T: 'static> IMapUnordered<T> {
    /// Finished results waiting to be taken by the reader (gevent's
    /// `len(imap.queue)`).
    pub fn queued(&self) -> usize {
        self.0.state.queue.qsize()
    }

    /// The greenlet that iterates the input and spawns the tasks.
    pub fn greenlet(&self) -> &Greenlet<()> {
        &self.0.producer
    }
}

impl<T: 'static> Iterator for IMapUnordered<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        self.0.next_item(false)
    }
}

impl<T: 'static> fmt::Debug for IMapUnordered<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<IMapUnordered queued={} {:?}>",
            self.queued(),
            self.0.producer
        )
    }
}

fn boxed_ok<I>(iter: I) -> Box<dyn Iterator<Item = Result<I::Item>>>
where
    I: IntoIterator + 'static,
    I::IntoIter: 'static,
{
    Box::new(iter.into_iter().map(Ok))
}

// ---------------------------------------------------------------------------
// Group and Pool

/// A group of greenlets that are still running, without a limit (gevent's
/// `Group`). Members are removed when they die. Cloning gives another
/// handle to the same group.
#[derive(Clone)]
pub struct Group(Rc<Core>);

/// A group with a maximum number of members (gevent's `Pool`):
/// [`spawn`](Pool::spawn) blocks while it is full. Cloning gives another
/// handle to the same pool.
#[derive(Clone)]
pub struct Pool(Rc<Core>);

/// The methods Group and Pool share, written once.
macro_rules! group_api {
    ($ty:ident) => {
        impl $ty {
            /// How many greenlets are tracked (gevent's `len(group)`).
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// True when no greenlet is tracked (gevent's `not group`).
            pub fn is_empty(&self) -> bool {
                self.0.len() == 0
            }

            /// True if `g` is tracked (gevent's `g in group`).
            pub fn contains(&self, g: &impl AsRawGreenlet) -> bool {
                self.0.contains_key(g.as_raw_greenlet().id())
            }

            /// The tracked greenlets, in the order they were added (a
            /// snapshot; gevent's `iter(group)`).
            pub fn greenlets(&self) -> Vec<AnyGreenlet> {
                self.0.snapshot()
            }

            /// Iterates over a snapshot of the members
            /// ([`greenlets`](Self::greenlets)).
            pub fn iter(&self) -> std::vec::IntoIter<AnyGreenlet> {
                self.0.snapshot().into_iter()
            }

            /// Stops tracking `g` without killing it, freeing its slot.
            pub fn discard(&self, g: &impl AsRawGreenlet) {
                self.0.discard(g.as_raw_greenlet().id())
            }

            /// Blocks until the group has been empty at least once
            /// (gevent's `join()`); returns true. It may have new members
            /// by the time this returns.
            ///
            /// # Errors
            /// [`Error::BlockingSwitchOut`] from the hub if not empty;
            /// whatever is thrown into the caller while it waits
            /// (`LoopExit` if a member can never finish).
            pub fn join(&self) -> Result<bool> {
                self.0.join(None, false)
            }

            /// [`join`](Self::join) giving up after `timeout` (seconds or a
            /// [`Timeout`]): then `Ok(false)`.
            ///
            /// # Errors
            /// As [`join`](Self::join); an outer timeout is never
            /// swallowed.
            pub fn join_timeout(&self, timeout: impl TimeoutArg) -> Result<bool> {
                self.0.join(Some(timeout.timeout_spec()?), false)
            }

            /// gevent's `join(raise_error=True)`: as [`join`](Self::join),
            /// then the failure of a greenlet that was a member when the
            /// call began, if one failed (the first added, if several).
            ///
            /// # Errors
            /// That failure, or as [`join`](Self::join).
            pub fn join_raise_error(&self) -> Result<bool> {
                self.0.join(None, true)
            }

            /// [`join_raise_error`](Self::join_raise_error) giving up after
            /// `timeout`: then `Ok(false)` unless a member failed.
            ///
            /// # Errors
            /// As [`join_raise_error`](Self::join_raise_error).
            pub fn join_raise_error_timeout(&self, timeout: impl TimeoutArg) -> Result<bool> {
                self.0.join(Some(timeout.timeout_spec()?), true)
            }

            /// Kills every member with `GreenletExit` and waits until the
            /// group is empty (gevent's `kill()`). Members added meanwhile
            /// are killed too; a member the group is already killing is not
            /// sent the error again.
            ///
            /// # Errors
            /// [`Error::BlockingSwitchOut`] from the hub (use
            /// [`kill_nowait`](Self::kill_nowait)); whatever is thrown into
            /// the caller while it waits.
            pub fn kill(&self) -> Result<()> {
                self.0.kill(Error::GreenletExit, true, None).map(|_| ())
            }

            /// Kills every member with `GreenletExit` without waiting
            /// (gevent's `kill(block=False)`); they see it at their next
            /// switch and leave the group after that. Never blocks.
            pub fn kill_nowait(&self) {
                let _ = self.0.kill(Error::GreenletExit, false, None);
            }

            /// Kills every member with `err` and waits (gevent's
            /// `kill(exception)`).
            ///
            /// # Errors
            /// As [`kill`](Self::kill).
            pub fn kill_with(&self, err: Error) -> Result<()> {
                self.0.kill(err, true, None).map(|_| ())
            }

            /// Kills every member with `err` without waiting.
            pub fn kill_with_nowait(&self, err: Error) {
                let _ = self.0.kill(err, false, None);
            }

            /// [`kill`](Self::kill) waiting at most `timeout` (gevent's
            /// `kill(timeout=..)`, which returns quietly when it expires):
            /// true when the group ended empty.
            ///
            /// # Errors
            /// As [`kill`](Self::kill); an outer timeout is never
            /// swallowed.
            pub fn kill_timeout(&self, timeout: impl TimeoutArg) -> Result<bool> {
                self.0
                    .kill(Error::GreenletExit, true, Some(timeout.timeout_spec()?))
            }

            /// [`kill_with`](Self::kill_with) waiting at most `timeout`;
            /// true when the group ended empty.
            ///
            /// # Errors
            /// As [`kill`](Self::kill).
            pub fn kill_with_timeout(&self, err: Error, timeout: impl TimeoutArg) -> Result<bool> {
                self.0.kill(err, true, Some(timeout.timeout_spec()?))
            }

            /// Kills `g` with `GreenletExit` and waits until it is dead, if
            /// it is a member the group is not already killing (gevent's
            /// `killone`); otherwise returns at once.
            ///
            /// # Errors
            /// As [`Greenlet::kill`].
            pub fn killone(&self, g: &impl AsRawGreenlet) -> Result<()> {
                self.0
                    .killone(g.as_raw_greenlet(), Error::GreenletExit, true, None)
                    .map(|_| ())
            }

            /// [`killone`](Self::killone) without waiting (gevent's
            /// `killone(g, block=False)`). Never blocks.
            pub fn killone_nowait(&self, g: &impl AsRawGreenlet) {
                let _ = self
                    .0
                    .killone(g.as_raw_greenlet(), Error::GreenletExit, false, None);
            }

            /// [`killone`](Self::killone) with `err`.
            ///
            /// # Errors
            /// As [`killone`](Self::killone).
            pub fn killone_with(&self, g: &impl AsRawGreenlet, err: Error) -> Result<()> {
                self.0
                    .killone(g.as_raw_greenlet(), err, true, None)
                    .map(|_| ())
            }

            /// [`killone_nowait`](Self::killone_nowait) with `err`.
            pub fn killone_with_nowait(&self, g: &impl AsRawGreenlet, err: Error) {
                let _ = self.0.killone(g.as_raw_greenlet(), err, false, None);
            }

            /// [`killone`](Self::killone) waiting at most `timeout`; true
            /// when `g` is dead.
            ///
            /// # Errors
            /// As [`killone`](Self::killone).
            pub fn killone_timeout(
                &self,
                g: &impl AsRawGreenlet,
                timeout: impl TimeoutArg,
            ) -> Result<bool> {
                self.0.killone(
                    g.as_raw_greenlet(),
                    Error::GreenletExit,
                    true,
                    Some(timeout.timeout_spec()?),
                )
            }

            /// Runs `f` in a member greenlet and waits for its outcome
            /// (gevent's `apply`). Called from a member of this group, it
            /// runs `f` at once in the caller instead, so that a full pool
            /// cannot deadlock waiting for itself.
            ///
            /// # Blocking
            /// Until `f` finished (and, in a full pool, until a slot is
            /// free).
            ///
            /// # Errors
            /// `f`'s failure (`GreenletExit` if the member was killed);
            /// whatever is thrown into the caller while it waits.
            pub fn apply<T: 'static, F>(&self, f: F) -> Result<T>
            where
                F: FnOnce() -> Result<T> + 'static,
            {
                self.0.apply(f)
            }

            /// Starts `f` in a new greenlet and returns it at once (gevent's
            /// `apply_async`). Never blocks and never runs `f` in the
            /// caller: in a full pool the returned greenlet is not a member
            /// but waits for a slot and runs `f` in a member, so join the
            /// returned greenlet, not the group, to wait for the result.
            pub fn apply_async<T: 'static, F>(&self, f: F) -> Greenlet<T>
            where
                F: FnOnce() -> Result<T> + 'static,
            {
                self.0.apply_async(f)
            }

            /// [`apply_async`](Self::apply_async) calling `callback` with
            /// the value, in a greenlet of its own, once `f` succeeded
            /// (gevent's `apply_async(.., callback=)`).
            pub fn apply_async_callback<T, F, C>(&self, f: F, callback: C) -> Greenlet<T>
            where
                T: Clone + 'static,
                F: FnOnce() -> Result<T> + 'static,
                C: FnOnce(T) + 'static,
            {
                if self.0.full() {
                    let core = self.0.clone();
                    return Greenlet::spawn(move || {
                        let r = core.apply(f)?;
                        let v = r.clone();
                        Greenlet::<()>::spawn(move || {
                            callback(v);
                            Ok(())
                        });
                        Ok(r)
                    });
                }
                let g = self.0.apply_async(f);
                g.link(move |g| {
                    if let Some(v) = g.value() {
                        callback(v)
                    }
                });
                g
            }

            /// Runs `f` on every item in member greenlets and returns the
            /// results in input order (gevent's `map`). The input is read
            /// and the tasks spawned by a helper greenlet.
            ///
            /// # Blocking
            /// Until every result is in; in a pool at most `size` tasks run
            /// at once.
            ///
            /// # Errors
            /// The first failure in input order (the other tasks are
            /// neither waited for nor killed, as in gevent); whatever is
            /// thrown into the caller while it waits.
            pub fn map<X, T, I, F>(&self, f: F, iter: I) -> Result<Vec<T>>
            where
                X: 'static,
                T: 'static,
                I: IntoIterator<Item = X> + 'static,
                I::IntoIter: 'static,
                F: Fn(X) -> Result<T> + 'static,
            {
                self.0.map(Rc::new(f), boxed_ok(iter))
            }

            /// [`map`](Self::map) over an input whose items may be `Err`
            /// (gevent: an iterable that raises): the first `Err` read stops
            /// the spawning and is returned.
            ///
            /// # Errors
            /// As [`map`](Self::map).
            pub fn map_fallible<X, T, I, F>(&self, f: F, iter: I) -> Result<Vec<T>>
            where
                X: 'static,
                T: 'static,
                I: IntoIterator<Item = Result<X>> + 'static,
                I::IntoIter: 'static,
                F: Fn(X) -> Result<T> + 'static,
            {
                self.0.map(Rc::new(f), Box::new(iter.into_iter()))
            }

            /// [`map`](Self::map) in a new greenlet, returned at once
            /// (gevent's `map_async`). Never blocks.
            pub fn map_async<X, T, I, F>(&self, f: F, iter: I) -> Greenlet<Vec<T>>
            where
                X: 'static,
                T: 'static,
                I: IntoIterator<Item = X> + 'static,
                I::IntoIter: 'static,
                F: Fn(X) -> Result<T> + 'static,
            {
                let core = self.0.clone();
                Greenlet::spawn(move || core.map(Rc::new(f), boxed_ok(iter)))
            }

            /// Runs `f` on every item in member greenlets, yielding the
            /// results in input order as they become available (gevent's
            /// `imap`). A helper greenlet reads the input and spawns the
            /// tasks (in a pool, at most `size` at once). Never blocks.
            pub fn imap<X, T, I, F>(&self, f: F, iter: I) -> IMap<T>
            where
                X: 'static,
                T: 'static,
                I: IntoIterator<Item = X> + 'static,
                I::IntoIter: 'static,
                F: Fn(X) -> Result<T> + 'static,
            {
                IMap(self.0.imap(Rc::new(f), boxed_ok(iter), None))
            }

            /// [`imap`](Self::imap) over an input whose items may be `Err`,
            /// with gevent's `maxsize`: at most `maxsize` finished results
            /// wait for the reader before the tasks are held back (`None`
            /// or 0: no bound).
            ///
            /// # Errors
            /// [`Error::InvalidArgument`] for a `maxsize` above `i64::MAX`.
            pub fn imap_fallible<X, T, I, F>(
                &self,
                f: F,
                iter: I,
                maxsize: Option<usize>,
            ) -> Result<IMap<T>>
            where
                X: 'static,
                T: 'static,
                I: IntoIterator<Item = Result<X>> + 'static,
                I::IntoIter: 'static,
                F: Fn(X) -> Result<T> + 'static,
            {
                let sem = result_semaphore(maxsize)?;
                Ok(IMap(self.0.imap(
                    Rc::new(f),
                    Box::new(iter.into_iter()),
                    sem,
                )))
            }

            /// As [`imap`](Self::imap), yielding the results in the order
            /// the tasks finish (gevent's `imap_unordered`). Never blocks.
            pub fn imap_unordered<X, T, I, F>(&self, f: F, iter: I) -> IMapUnordered<T>
            where
                X: 'static,
                T: 'static,
                I: IntoIterator<Item = X> + 'static,
                I::IntoIter: 'static,
                F: Fn(X) -> Result<T> + 'static,
            {
                IMapUnordered(self.0.imap(Rc::new(f), boxed_ok(iter), None))
            }

            /// [`imap_unordered`](Self::imap_unordered) over an input whose
            /// items may be `Err`, with gevent's `maxsize`.
            ///
            /// # Errors
            /// [`Error::InvalidArgument`] for a `maxsize` above `i64::MAX`.
            pub fn imap_unordered_fallible<X, T, I, F>(
                &self,
                f: F,
                iter: I,
                maxsize: Option<usize>,
            ) -> Result<IMapUnordered<T>>
            where
                X: 'static,
                T: 'static,
                I: IntoIterator<Item = Result<X>> + 'static,
                I::IntoIter: 'static,
                F: Fn(X) -> Result<T> + 'static,
            {
                let sem = result_semaphore(maxsize)?;
                Ok(IMapUnordered(self.0.imap(
                    Rc::new(f),
                    Box::new(iter.into_iter()),
                    sem,
                )))
            }
        }

        impl<'a> IntoIterator for &'a $ty {
            type Item = AnyGreenlet;
            type IntoIter = std::vec::IntoIter<AnyGreenlet>;

            fn into_iter(self) -> Self::IntoIter {
                self.iter()
            }
        }
    };
}

group_api!(Group);
group_api!(Pool);

impl Default for Group {
    fn default() -> Self {
        Group::new()
    }
}

impl Group {
    /// An empty group (gevent's `Group()`).
    pub fn new() -> Group {
        Group(Core::new(None, None))
    }

    /// Starts tracking `g` (gevent's `add`); it is removed when it dies.
    /// Adding a dead greenlet tracks it until its links run. Never blocks.
    pub fn add(&self, g: impl Into<AnyGreenlet>) {
        self.0.add_member(g.into());
    }

    /// Tracks the greenlet, then starts it (gevent's `start`). Never
    /// blocks.
    pub fn start<T: 'static>(&self, g: &Greenlet<T>) {
        self.add(g);
        g.start();
    }

    /// Creates, tracks and starts a greenlet running `f` (gevent's
    /// `spawn`). Never blocks.
    pub fn spawn<T: 'static, F>(&self, f: F) -> Greenlet<T>
    where
        F: FnOnce() -> Result<T> + 'static,
    {
        let g = Greenlet::new(f);
        self.start(&g);
        g
    }

    /// Always false: a group has no limit.
    pub fn full(&self) -> bool {
        false
    }

    /// Returns 1 at once: a group always has room (gevent's
    /// `wait_available` returns None). Never blocks.
    ///
    /// # Errors
    /// None.
    pub fn wait_available(&self) -> Result<usize> {
        Ok(1)
    }
}

impl<G: Into<AnyGreenlet>> FromIterator<G> for Group {
    /// A group tracking these greenlets (gevent's `Group(greenlets)`).
    fn from_iter<I: IntoIterator<Item = G>>(iter: I) -> Group {
        let group = Group::new();
        for g in iter {
            group.add(g);
        }
        group
    }
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Group {:?}>", self.0.snapshot())
    }
}

impl Default for Pool {
    /// An unlimited pool (gevent's `Pool()`).
    fn default() -> Self {
        Pool::unlimited()
    }
}

impl Pool {
    /// A pool of at most `size` members (gevent's `Pool(size)`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a negative size (gevent's
    /// `ValueError`). Size 0 is a pool that is always full, as in gevent:
    /// `spawn` on it blocks until the wait is interrupted.
    pub fn new(size: i64) -> Result<Pool> {
        if size < 0 {
            return Err(Error::invalid(format!(
                "pool size must be non-negative: {size}"
            )));
        }
        let sem = Semaphore::new(size)?;
        let size = usize::try_from(size).map_err(|_| Error::invalid("pool size too large"))?;
        Ok(Pool(Core::new(Some(size), Some(sem))))
    }

    /// A pool without a limit (gevent's `Pool()` / `Pool(None)`): it tracks
    /// like a [`Group`] and never blocks in `spawn`.
    pub fn unlimited() -> Pool {
        Pool(Core::new(None, None))
    }

    /// The maximum number of members, `None` when unlimited.
    pub fn size(&self) -> Option<usize> {
        self.0.size
    }

    /// True when no more member can be added without blocking.
    pub fn full(&self) -> bool {
        self.0.full()
    }

    /// About how many more members can be added (gevent's `free_count`);
    /// an unlimited pool says 1, as gevent's.
    pub fn free_count(&self) -> usize {
        self.0.free_count()
    }

    /// Blocks until a member can be added; returns how many can be added
    /// (the slot semaphore's counter; 1 for an unlimited pool).
    ///
    /// # Errors
    /// [`Error::BlockingSwitchOut`] from the hub when full; whatever is
    /// thrown into the caller while it waits.
    pub fn wait_available(&self) -> Result<usize> {
        self.0.wait_available(None)
    }

    /// [`wait_available`](Self::wait_available) giving up after `timeout`:
    /// then `Ok(0)`.
    ///
    /// # Errors
    /// As [`wait_available`](Self::wait_available).
    pub fn wait_available_timeout(&self, timeout: impl TimeoutArg) -> Result<usize> {
        self.0.wait_available(Some(timeout.timeout_spec()?))
    }

    /// Tracks `g`, blocking until there is room (gevent's `add`). Add an
    /// unstarted greenlet: a started one may run to completion while this
    /// waits. A greenlet already tracked is left as it is.
    ///
    /// # Errors
    /// [`Error::BlockingSwitchOut`] from the hub when full; whatever is
    /// thrown into the caller while it waits.
    pub fn add(&self, g: impl Into<AnyGreenlet>) -> Result<()> {
        self.0.add(g.into(), true, None)
    }

    /// Tracks `g` if there is room now (gevent's `add(g, blocking=False)`).
    /// Never blocks.
    ///
    /// # Errors
    /// [`Error::Full`] (gevent's `PoolFull`) when full.
    pub fn try_add(&self, g: impl Into<AnyGreenlet>) -> Result<()> {
        self.0.add(g.into(), false, None)
    }

    /// [`add`](Self::add) waiting at most `timeout` (gevent's
    /// `add(g, timeout=..)`).
    ///
    /// # Errors
    /// [`Error::Full`] when the timeout expired; otherwise as
    /// [`add`](Self::add).
    pub fn add_timeout(&self, g: impl Into<AnyGreenlet>, timeout: impl TimeoutArg) -> Result<()> {
        self.0.add(g.into(), true, Some(timeout.timeout_spec()?))
    }

    /// [`add`](Self::add)s the unstarted greenlet, then starts it (gevent's
    /// `start`).
    ///
    /// # Errors
    /// As [`add`](Self::add); the greenlet is not started then.
    pub fn start<T: 'static>(&self, g: &Greenlet<T>) -> Result<()> {
        self.add(g)?;
        g.start();
        Ok(())
    }

    /// [`try_add`](Self::try_add), then start.
    ///
    /// # Errors
    /// As [`try_add`](Self::try_add).
    pub fn try_start<T: 'static>(&self, g: &Greenlet<T>) -> Result<()> {
        self.try_add(g)?;
        g.start();
        Ok(())
    }

    /// [`add_timeout`](Self::add_timeout), then start.
    ///
    /// # Errors
    /// As [`add_timeout`](Self::add_timeout).
    pub fn start_timeout<T: 'static>(
        &self,
        g: &Greenlet<T>,
        timeout: impl TimeoutArg,
    ) -> Result<()> {
        self.add_timeout(g, timeout)?;
        g.start();
        Ok(())
    }

    /// Creates a greenlet running `f`, tracks it and starts it (gevent's
    /// `spawn`).
    ///
    /// # Blocking
    /// While the pool is full, until a member dies (its slot is free once
    /// the loop ran its link).
    ///
    /// # Errors
    /// [`Error::BlockingSwitchOut`] from the hub when full; whatever is
    /// thrown into the caller while it waits (`f` never runs then).
    pub fn spawn<T: 'static, F>(&self, f: F) -> Result<Greenlet<T>>
    where
        F: FnOnce() -> Result<T> + 'static,
    {
        self.0.spawn(f, true)
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.size {
            Some(n) => write!(f, "<Pool size={n} {:?}>", self.0.snapshot()),
            None => write!(f, "<Pool size=None {:?}>", self.0.snapshot()),
        }
    }
}
