//! A pool of native threads for blocking work (gevent's
//! `gevent.threadpool`): a greenlet hands a `Send` closure to a worker
//! thread and waits cooperatively for its result, so the loop keeps
//! running meanwhile.
//!
//! ```
//! use gevent::threadpool::ThreadPool;
//!
//! let pool = ThreadPool::new(2)?;
//! let r = pool.spawn(|| (1..=10u64).product::<u64>())?;
//! assert_eq!(r.get()?, 3_628_800);
//! assert_eq!(pool.apply(|| 6 * 7)?, 42);
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! Completions come back through the hub's one thread-safe callback queue
//! (one `ev_async` watcher for everything; libev coalesces wake-ups while
//! one is pending and one loop callback drains the batch). A task that is
//! queued or running keeps the loop alive, so its waiter gets no
//! `LoopExit`. Workers are started on demand up to `maxsize` and stop
//! after [`IDLE_TIMEOUT`] without work.
//!
//! # Differences from gevent
//! A `ThreadPool` is `!Send`: spawning from a foreign thread does not
//! compile (gevent raises `InvalidThreadUseError`). A panic in a task is
//! its result: `get` returns [`Error::Panicked`].

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::core::LoopHandle;
use crate::error::{Error, Result};
use crate::event::{AsyncResult, Event};
use crate::forksafe::{Condvar, Mutex};
use crate::hub::{Hub, get_hub};
use crate::idmap::IdMap;

/// How long a worker waits for a task before it exits (gevent's
/// `idle_task_timeout`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// The size of a hub's own pool ([`Hub::threadpool`]).
pub const DEFAULT_SIZE: usize = 10;

type Job = Box<dyn FnOnce() + Send>;
/// Where a task's outcome goes, on the hub's thread.
type Deliver<R> = Box<dyn FnOnce(Result<R>)>;

/// The part workers share.
struct Shared {
    state: Mutex<State>,
    work: Condvar,
}

struct State {
    /// Queued tasks, with their ids.
    queue: VecDeque<(u64, Job)>,
    workers: usize,
    idle: usize,
    maxsize: usize,
    /// Threads asked to exit by `set_size` (after their task).
    exits: usize,
    /// Set by `kill`: workers exit after their current task.
    closing: bool,
}

thread_local! {
    /// This thread's pools, for `fork`.
    static POOLS: RefCell<Vec<std::rc::Weak<Inner>>> = const { RefCell::new(Vec::new()) };
    /// Results waiting for their task, by task id (this thread's pools).
    static PENDING: RefCell<IdMap<u64, Box<dyn PendingOps>>> = RefCell::new(IdMap::default());
    /// Set on worker threads: `apply` there runs inline.
    static IN_WORKER: Cell<bool> = const { Cell::new(false) };
}

static NEXT_TASK: AtomicU64 = AtomicU64::new(1);

/// A pool of worker threads owned by one hub (gevent's `ThreadPool`).
/// Cloning gives another handle to the same pool.
#[derive(Clone)]
pub struct ThreadPool(Rc<Inner>);

struct Inner {
    hub: Hub,
    handle: LoopHandle,
    /// Replaced in a forked child whose copy a dead thread may hold.
    shared: RefCell<Arc<Shared>>,
    /// Tasks submitted and not yet completed.
    unfinished: Cell<usize>,
    /// Set while no task is unfinished (for `join`).
    all_done: Event,
}

impl Inner {
    /// The part the workers share.
    fn shared(&self) -> Arc<Shared> {
        self.shared.borrow().clone()
    }

    /// Refuses new tasks, drops the queued ones and fails their results
    /// with `GreenletExit`; running tasks finish.
    fn close(&self) {
        let shared = self.shared();
        let dropped: Vec<(u64, Job)> = {
            let mut st = shared.state.lock();
            st.closing = true;
            st.queue.drain(..).collect()
        };
        shared.work.notify_all();
        for (id, job) in dropped {
            drop(job);
            // try_with: a pool can be dropped while the thread's locals are
            // being destroyed (a greenlet unwound at thread exit).
            let pending = PENDING
                .try_with(|p| p.borrow_mut().remove(&id))
                .ok()
                .flatten();
            if let Some(p) = pending {
                p.fail(Error::GreenletExit);
            }
        }
    }
}

impl Inner {
    /// The hub is going away: close, and fail every result still waiting
    /// for a task of this pool with `HubDestroyed` (a late completion then
    /// finds nothing to complete).
    fn abandon(&self) {
        self.close();
        let me = self as *const Inner;
        let mine: Vec<Box<dyn PendingOps>> = PENDING
            .try_with(|p| {
                let mut p = p.borrow_mut();
                let ids: Vec<u64> = p
                    .iter()
                    .filter(|(_, v)| v.pool_ptr() == me)
                    .map(|(k, _)| *k)
                    .collect();
                ids.into_iter().filter_map(|id| p.remove(&id)).collect()
            })
            .unwrap_or_default();
        for p in mine {
            p.fail(Error::HubDestroyed);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}

impl ThreadPool {
    /// A pool of at most `maxsize` threads on the current thread's hub.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `maxsize` 0;
    /// [`Error::HubDestroyed`] if the hub's thread-safe queue is gone.
    pub fn new(maxsize: usize) -> Result<ThreadPool> {
        let hub = get_hub();
        let handle = hub.threadsafe_handle()?;
        let all_done = Event::new();
        all_done.set();
        let pool = ThreadPool(Rc::new(Inner {
            hub,
            handle,
            shared: RefCell::new(Shared::new(VecDeque::new(), maxsize, false)),
            unfinished: Cell::new(0),
            all_done,
        }));
        POOLS.with(|p| {
            let mut p = p.borrow_mut();
            p.retain(|w| w.strong_count() > 0);
            p.push(Rc::downgrade(&pool.0));
        });
        // The hub's end is the pool's: queued and running tasks can no
        // longer report back.
        let weak = Rc::downgrade(&pool.0);
        pool.0.hub.on_destroy(Box::new(move || {
            if let Some(p) = weak.upgrade() {
                p.abandon();
            }
        }));
        Ok(pool)
    }

    /// The most threads the pool runs.
    pub fn maxsize(&self) -> usize {
        self.0.shared().state.lock().maxsize
    }

    /// Changes the most threads (gevent's `maxsize = n`): running tasks
    /// finish and extra threads exit; raised, it starts threads for the
    /// queued tasks. With 0, tasks wait in the queue until it is raised.
    ///
    /// # Errors
    /// [`Error::Io`] if a thread cannot be started.
    pub fn set_maxsize(&self, maxsize: usize) -> Result<()> {
        let shared = self.0.shared();
        let mut st = shared.state.lock();
        st.maxsize = maxsize;
        shared.work.notify_all();
        start_for_queue(&shared, &mut st)
    }

    /// Threads running now (gevent's `size`).
    pub fn size(&self) -> usize {
        self.0.shared().state.lock().workers
    }

    /// Starts or stops threads until `size` run (gevent's `size = n`);
    /// a stopped thread finishes its task first.
    ///
    /// # Blocking
    /// When shrinking, until the surplus threads have exited.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] above [`maxsize`](Self::maxsize);
    /// [`Error::Io`] if a thread cannot be started.
    pub fn set_size(&self, size: usize) -> Result<()> {
        let shared = self.0.shared();
        let mut st = shared.state.lock();
        if size > st.maxsize {
            return Err(Error::invalid(format!(
                "size {size} is above maxsize {}",
                st.maxsize
            )));
        }
        let live = st.workers - st.exits.min(st.workers);
        if size > live {
            // Cancel pending exits first, then start threads.
            let keep = (size - live).min(st.exits);
            st.exits -= keep;
            while st.workers - st.exits < size {
                start_worker(&shared, &mut st)?;
            }
        } else {
            st.exits += live - size;
            shared.work.notify_all();
            drop(st);
            // As gevent: wait (cooperatively) until they are gone.
            while self.size() > size {
                crate::sleep(0.001)?;
            }
        }
        Ok(())
    }

    /// Tasks submitted and not completed yet.
    pub fn unfinished(&self) -> usize {
        self.0.unfinished.get()
    }

    /// Runs `f` on a worker thread; its result arrives in the returned
    /// [`AsyncResult`] (gevent's `spawn`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] after [`kill`](Self::kill).
    pub fn spawn<R, F>(&self, f: F) -> Result<AsyncResult<R>>
    where
        R: Send + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        let result: AsyncResult<R> = AsyncResult::new();
        let r = result.clone();
        self.submit(
            f,
            Box::new(move |outcome| match outcome {
                Ok(v) => r.set(v),
                Err(e) => r.set_exception(e),
            }),
        )?;
        Ok(result)
    }

    /// Queues `f`; `deliver` gets its outcome on the hub's thread (or the
    /// error that kept it from running).
    fn submit<R, F>(&self, f: F, deliver: Deliver<R>) -> Result<()>
    where
        R: Send + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        let id = NEXT_TASK.fetch_add(1, Ordering::Relaxed);
        let handle = self.0.handle.clone();
        let job: Job = Box::new(move || {
            let outcome = catch_unwind(AssertUnwindSafe(f))
                .map_err(|p| crate::greenlet::raw::panic_message(&*p));
            // Back on the hub's thread: hand the outcome to the result.
            let _ = handle.run_callback_threadsafe(move || complete::<R>(id, outcome));
        });
        {
            let shared = self.0.shared();
            let mut st = shared.state.lock();
            if st.closing {
                return Err(Error::invalid("the thread pool was killed"));
            }
            st.queue.push_back((id, job));
            if st.idle > 0 {
                shared.work.notify_one();
            } else if st.workers < st.maxsize
                && let Err(e) = start_worker(&shared, &mut st)
            {
                st.queue.pop_back();
                return Err(e);
            }
        }
        let pending = Pending {
            deliver,
            pool: Rc::downgrade(&self.0),
            lp: self.0.hub.loop_().clone(),
        };
        PENDING.with(|p| p.borrow_mut().insert(id, Box::new(pending)));
        self.0.unfinished.set(self.0.unfinished.get() + 1);
        self.0.all_done.clear();
        // A task in flight keeps the loop alive.
        self.0.hub.loop_().ref_();
        Ok(())
    }

    /// Runs `f` on a worker and waits for its result (gevent's `apply`);
    /// called from a worker thread of a pool, runs `f` inline.
    ///
    /// # Blocking
    /// Until the task is done.
    ///
    /// # Errors
    /// [`Error::Panicked`] when `f` panicked; as [`spawn`](Self::spawn);
    /// whatever is thrown into the caller while it waits.
    pub fn apply<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + Clone + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        if IN_WORKER.with(|w| w.get()) {
            return Ok(f());
        }
        self.spawn(f)?.get()
    }

    /// [`spawn`](Self::spawn) calling `callback` with the result in the
    /// hub once it is there (gevent's `apply_async(func, callback=)`).
    ///
    /// # Errors
    /// As [`spawn`](Self::spawn).
    pub fn apply_async<R, F, C>(&self, f: F, callback: C) -> Result<AsyncResult<R>>
    where
        R: Send + Clone + 'static,
        F: FnOnce() -> R + Send + 'static,
        C: FnOnce(R) + 'static,
    {
        let r = self.spawn(f)?;
        let r2 = r.clone();
        let mut cb = Some(callback);
        r.rawlink(move || {
            if let (Some(cb), Ok(v)) = (cb.take(), r2.try_get()) {
                cb(v);
            }
        });
        Ok(r)
    }

    /// Runs `f` on every item on the workers; the results in item order
    /// (gevent's `map`).
    ///
    /// # Errors
    /// The first task's failure (a panic), or as [`apply`](Self::apply).
    pub fn map<X, R, F, I>(&self, f: F, items: I) -> Result<Vec<R>>
    where
        X: Send + 'static,
        R: Send + Clone + 'static,
        F: Fn(X) -> R + Send + Sync + 'static,
        I: IntoIterator<Item = X>,
    {
        let f = Arc::new(f);
        let results: Vec<AsyncResult<R>> = items
            .into_iter()
            .map(|x| {
                let f = f.clone();
                self.spawn(move || f(x))
            })
            .collect::<Result<_>>()?;
        results.iter().map(|r| r.get()).collect()
    }

    /// Waits until every task submitted so far is done (gevent's `join`;
    /// waits on an event, never polls).
    ///
    /// # Errors
    /// Whatever is thrown into the caller while it waits.
    pub fn join(&self) -> Result<()> {
        self.0.all_done.wait().map(|_| ())
    }

    /// [`join`](Self::join) giving up after `secs`; true when all done.
    ///
    /// # Errors
    /// As [`join`](Self::join).
    pub fn join_timeout(&self, secs: f64) -> Result<bool> {
        self.0.all_done.wait_timeout(secs)
    }

    /// Runs `f` on every item on the workers, the results as an iterator
    /// in item order (gevent's `imap`). The items are taken lazily: at
    /// most twice `maxsize` are taken ahead of the reader (running, queued
    /// or done and unread), so an endless input works and memory stays
    /// bounded.
    ///
    /// ```
    /// let pool = gevent::threadpool::ThreadPool::new(3)?;
    /// let squares: Vec<u64> = pool
    ///     .imap(|x: u64| x * x, 1..=5)
    ///     .collect::<gevent::Result<_>>()?;
    /// assert_eq!(squares, [1, 4, 9, 16, 25]);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    ///
    /// Each item is `Err` for a task that panicked ([`Error::Panicked`])
    /// or could not run, or with what was thrown into the reader while it
    /// waited.
    pub fn imap<X, R, F, I>(&self, f: F, items: I) -> ThreadIMap<R>
    where
        X: Send + 'static,
        R: Send + 'static,
        F: Fn(X) -> R + Send + Sync + 'static,
        I: IntoIterator<Item = X>,
        I::IntoIter: 'static,
    {
        ThreadIMap::new(self.clone(), f, items, true)
    }

    /// [`imap`](Self::imap) yielding each result as soon as its task is
    /// done (gevent's `imap_unordered`).
    pub fn imap_unordered<X, R, F, I>(&self, f: F, items: I) -> ThreadIMap<R>
    where
        X: Send + 'static,
        R: Send + 'static,
        F: Fn(X) -> R + Send + Sync + 'static,
        I: IntoIterator<Item = X>,
        I::IntoIter: 'static,
    {
        ThreadIMap::new(self.clone(), f, items, false)
    }

    /// Stops the pool (gevent's `kill`): queued tasks are dropped (their
    /// results fail with `GreenletExit`), running ones finish, the threads
    /// exit, and spawning is refused from now on.
    pub fn kill(&self) {
        self.0.close();
    }
}

/// A task of [`ThreadIMap`], boxed with its item.
type MapJob<R> = Box<dyn FnOnce() -> R + Send>;

/// The iterator of [`ThreadPool::imap`] and
/// [`imap_unordered`](ThreadPool::imap_unordered).
pub struct ThreadIMap<R: 'static> {
    pool: ThreadPool,
    /// The next task, made from the next item; `None` once exhausted.
    jobs: Box<dyn Iterator<Item = MapJob<R>>>,
    ordered: bool,
    /// Tasks submitted (the next one's index).
    submitted: usize,
    /// The index the ordered reader wants next.
    wanted: usize,
    /// Results arrived and not yet read, by index.
    done: Rc<RefCell<BTreeMap<usize, Result<R>>>>,
    /// Set when a result arrives.
    arrived: Event,
    /// An error to report once the results in flight are read (a
    /// submission that failed).
    failed: Option<Error>,
    /// No more items are taken (a submission failed).
    stopped: bool,
}

impl<R: Send + 'static> ThreadIMap<R> {
    fn new<X, F, I>(pool: ThreadPool, f: F, items: I, ordered: bool) -> ThreadIMap<R>
    where
        X: Send + 'static,
        F: Fn(X) -> R + Send + Sync + 'static,
        I: IntoIterator<Item = X>,
        I::IntoIter: 'static,
    {
        let f = Arc::new(f);
        let jobs = items.into_iter().map(move |x| {
            let f = f.clone();
            Box::new(move || f(x)) as MapJob<R>
        });
        ThreadIMap {
            pool,
            jobs: Box::new(jobs),
            ordered,
            submitted: 0,
            wanted: 0,
            done: Rc::default(),
            arrived: Event::new(),
            failed: None,
            stopped: false,
        }
    }

    /// Submits tasks until `maxsize` are in flight or the items run out.
    fn top_up(&mut self) {
        let window = 2 * self.pool.maxsize().max(1);
        while !self.stopped && self.submitted - self.wanted < window {
            let Some(job) = self.jobs.next() else { break };
            let index = self.submitted;
            self.submitted += 1;
            let (done, arrived) = (self.done.clone(), self.arrived.clone());
            let deliver: Deliver<R> = Box::new(move |outcome| {
                done.borrow_mut().insert(index, outcome);
                arrived.set();
            });
            if let Err(e) = self.pool.submit(job, deliver) {
                self.submitted -= 1;
                self.failed = Some(e);
                self.stopped = true;
            }
        }
    }
}

impl<R: Send + 'static> Iterator for ThreadIMap<R> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        self.top_up();
        loop {
            let got = {
                let mut done = self.done.borrow_mut();
                if self.ordered {
                    done.remove(&self.wanted)
                } else {
                    done.pop_first().map(|(_, r)| r)
                }
            };
            if let Some(r) = got {
                self.wanted += 1;
                self.top_up();
                return Some(r);
            }
            if self.wanted == self.submitted {
                // Nothing in flight: the items ran out (or one could not
                // be submitted).
                return self.failed.take().map(Err);
            }
            self.arrived.clear();
            if let Err(e) = self.arrived.wait() {
                return Some(Err(e));
            }
        }
    }
}

/// A result waiting for its task, with its pool and the loop it holds.
struct Pending<R: 'static> {
    deliver: Deliver<R>,
    pool: std::rc::Weak<Inner>,
    lp: crate::core::Loop,
}

/// A task is over: the loop reference goes, the pool counts it.
fn finish(pool: &std::rc::Weak<Inner>, lp: &crate::core::Loop) {
    lp.unref();
    if let Some(pool) = pool.upgrade() {
        let n = pool.unfinished.get().saturating_sub(1);
        pool.unfinished.set(n);
        if n == 0 {
            pool.all_done.set();
        }
    }
}

/// What the registry needs from a [`Pending`] of any result type.
trait PendingOps {
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    /// The pool the task belongs to.
    fn pool_ptr(&self) -> *const Inner;
    /// The task will never run: its result fails with `err`.
    fn fail(self: Box<Self>, err: Error);
}

impl<R: 'static> PendingOps for Pending<R> {
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }

    fn pool_ptr(&self) -> *const Inner {
        self.pool.as_ptr()
    }

    fn fail(self: Box<Self>, err: Error) {
        let Pending { deliver, pool, lp } = *self;
        deliver(Err(err));
        finish(&pool, &lp);
    }
}

/// On the hub's thread: the task `id` is done.
fn complete<R: 'static>(id: u64, outcome: std::result::Result<R, String>) {
    let Some(p) = PENDING.with(|p| p.borrow_mut().remove(&id)) else {
        return;
    };
    let Ok(p) = p.into_any().downcast::<Pending<R>>() else {
        return;
    };
    let Pending { deliver, pool, lp } = *p;
    deliver(outcome.map_err(|msg| Error::Panicked(msg.into())));
    finish(&pool, &lp);
}

impl Shared {
    fn new(queue: VecDeque<(u64, Job)>, maxsize: usize, closing: bool) -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State {
                queue,
                workers: 0,
                idle: 0,
                maxsize,
                exits: 0,
                closing,
            }),
            work: Condvar::new(),
        })
    }
}

/// Starts workers for the queued tasks, up to `maxsize`.
fn start_for_queue(shared: &Arc<Shared>, st: &mut State) -> Result<()> {
    let wanted = st.queue.len().min(st.maxsize);
    while st.workers < wanted {
        start_worker(shared, st)?;
    }
    Ok(())
}

/// Starts one worker thread, counted in `st`.
fn start_worker(shared: &Arc<Shared>, st: &mut State) -> Result<()> {
    st.workers += 1;
    let shared = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("gevent threadpool".into())
        .spawn(move || worker(&shared));
    if let Err(e) = spawned {
        st.workers -= 1;
        return Err(e.into());
    }
    Ok(())
}

/// A worker thread: run queued tasks until idle for `IDLE_TIMEOUT`, or
/// the pool closes or shrinks below it.
fn worker(shared: &Shared) {
    IN_WORKER.with(|w| w.set(true));
    let mut st = shared.state.lock();
    loop {
        if st.closing || st.workers > st.maxsize {
            break;
        }
        if st.exits > 0 {
            st.exits -= 1;
            break;
        }
        if let Some((_, job)) = st.queue.pop_front() {
            drop(st);
            job();
            st = shared.state.lock();
            continue;
        }
        st.idle += 1;
        let (guard, timed_out) = shared.work.wait_timeout(st, IDLE_TIMEOUT);
        st = guard;
        st.idle -= 1;
        if timed_out && st.queue.is_empty() {
            break;
        }
    }
    st.workers -= 1;
    st.exits = st.exits.min(st.workers);
}

impl Hub {
    /// The hub's own thread pool, made on first use with
    /// [`DEFAULT_SIZE`] threads (gevent's `hub.threadpool`).
    ///
    /// # Errors
    /// As [`ThreadPool::new`].
    pub fn threadpool(&self) -> Result<ThreadPool> {
        thread_local! {
            static POOL: RefCell<Option<(*const (), ThreadPool)>> = const { RefCell::new(None) };
        }
        let key = Rc::as_ptr(&self.0) as *const ();
        if let Some(p) = POOL.with(|p| {
            p.borrow()
                .as_ref()
                .filter(|(k, _)| *k == key)
                .map(|(_, p)| p.clone())
        }) {
            return Ok(p);
        }
        let pool = ThreadPool::new(DEFAULT_SIZE)?;
        POOL.with(|p| *p.borrow_mut() = Some((key, pool.clone())));
        Ok(pool)
    }
}

/// This thread's pools that still exist.
fn live_pools() -> Vec<Rc<Inner>> {
    POOLS.with(|p| {
        p.borrow()
            .iter()
            .filter_map(std::rc::Weak::upgrade)
            .collect()
    })
}

/// Runs `f` (the `fork`) holding every lock a worker thread of this
/// thread's pools may take (each pool's queue, its hub's callback queue),
/// after waiting for workers that hold one now; so that in the child no
/// lock is held by a thread that does not exist there.
pub(crate) fn with_quiesced<R>(f: impl FnOnce() -> R) -> R {
    let pools = live_pools();
    fn hold<R>(pools: &[Rc<Inner>], f: impl FnOnce() -> R) -> R {
        match pools.split_first() {
            None => f(),
            Some((p, rest)) => {
                let shared = p.shared();
                let _state = shared.state.lock();
                p.handle.hold(|| hold(rest, f))
            }
        }
    }
    hold(&pools, f)
}

/// In a forked child: every pool of this thread gets new workers (see
/// [`revive`]).
pub(crate) fn after_fork_in_child() {
    let pools = live_pools();
    for p in &pools {
        revive(p);
    }
}

/// In a forked child the pool's worker threads are gone: the pool gets a
/// fresh shared part (a dead thread may hold the old one's lock, if the
/// fork was not made by [`crate::os::fork`]) with the queued tasks, which
/// get new workers; tasks that were running fail with `ECANCELED`.
fn revive(p: &Rc<Inner>) {
    let old = p.shared();
    let (queue, maxsize, closing) = match old.state.try_lock() {
        Some(mut st) => (std::mem::take(&mut st.queue), st.maxsize, st.closing),
        // Held by a thread that is not in this process: its queue is lost.
        None => (VecDeque::new(), DEFAULT_SIZE, false),
    };
    let queued: Vec<u64> = queue.iter().map(|(id, _)| *id).collect();
    let fresh = Shared::new(queue, maxsize, closing);
    // Best effort: a task left queued runs once a later spawn starts one.
    let _ = start_for_queue(&fresh, &mut fresh.state.lock());
    // The old part may still be locked: it is never touched again.
    std::mem::forget(old);
    *p.shared.borrow_mut() = fresh;
    let me = Rc::as_ptr(p);
    let lost: Vec<Box<dyn PendingOps>> = PENDING.with(|pending| {
        let mut pending = pending.borrow_mut();
        let ids: Vec<u64> = pending
            .iter()
            .filter(|(id, v)| v.pool_ptr() == me && !queued.contains(id))
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter()
            .filter_map(|id| pending.remove(&id))
            .collect()
    });
    for task in lost {
        task.fail(std::io::Error::from_raw_os_error(libc::ECANCELED).into());
    }
}
