//! Raw greenlets: stack switching on the `context` crate with the
//! `greenlet` package's semantics (`greenlet.greenlet`).
//!
//! A greenlet is a function with a stack of its own. `switch` suspends the
//! running greenlet and resumes the target where it last suspended (or
//! starts it); when a greenlet's function returns, its result goes to its
//! parent, the nearest one that is not dead.
//!
//! What `context` does not do and this module adds:
//!
//! * greenlets are `!Send` (they hold `Rc`s): a greenlet never leaves its
//!   thread;
//! * a panic is caught on the greenlet's own stack and becomes
//!   [`Error::Panicked`], never crossing the assembly entry frame;
//! * a forced unwind (hub destroyed, thread exit) is a message the greenlet
//!   receives at its switch point and turns into an unwinding panic *there*,
//!   so its destructors run before its stack is reused;
//! * stacks come from a per-thread pool (`crate::stack`), guarded
//!   against overflow.
//!
//! # How a switch works
//! The switching greenlet records itself as the switcher in the thread
//! state and resumes the target's context with a data word: a constant for
//! the messages without payload, or the address of a message on its own
//! stack. The side that resumes files the switcher's new context back into
//! the switcher's record (or, when the switcher has just died, returns its
//! stack to the pool) and decodes the message.

use std::any::Any;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr;
use std::rc::Rc;

use context::{Context, Transfer};

use crate::error::{Error, Result};
use crate::stack::{Stack, StackPool};

/// A value carried by a switch (the `greenlet` package's `*args`).
pub type Value = Option<Box<dyn Any>>;

/// The function a raw greenlet runs: it gets the value of the first switch
/// into it; what it returns goes to its parent.
pub type RunFn = Box<dyn FnOnce(Value) -> Result<Value>>;

/// A body that lives in another allocation (a `Greenlet`'s), run through a
/// weak reference so that the raw greenlet needs no closure of its own.
pub(crate) trait Body {
    /// Runs on the greenlet's stack.
    fn run_body(self: Rc<Self>);
    /// The greenlet could not start (no stack): it ends with `err`.
    fn start_failed(self: Rc<Self>, err: Error);
    /// The hub went away before the greenlet started: it ends as killed,
    /// without running, and its links are dropped unfired.
    fn abandon(self: Rc<Self>);
}

pub(crate) enum Run {
    Fn(RunFn),
    /// Not yet started: a dropped handle frees the body (no cycle).
    WeakBody(std::rc::Weak<dyn Body>),
    /// Started: the body must run even if every handle is dropped.
    Body(Rc<dyn Body>),
}

/// Makes a pending body strong: called when the greenlet is scheduled, so
/// that a spawned greenlet runs whatever happens to its handles. From then
/// on the greenlet is in the thread's registry, so that a hub destroyed
/// before it starts can end it (instead of leaking the body).
pub(crate) fn hold_body(g: &RawGreenlet) {
    let run = match g.0.run.take() {
        Some(Run::WeakBody(w)) => w.upgrade().map(Run::Body),
        other => other,
    };
    g.0.run.set(run);
    if g.0.state.get() == State::NotStarted && g.0.slot.get() == usize::MAX {
        registry_add(&g.0);
    }
}

/// Gives `g` its stack now rather than when it first runs, so that a
/// failure to allocate one is the caller's error (`try_spawn`).
///
/// # Errors
/// [`Error::Io`] when no stack can be allocated.
pub(crate) fn reserve_stack(g: &RawGreenlet) -> Result<()> {
    // SAFETY: reading the descriptor in place (single thread).
    if g.0.state.get() != State::NotStarted || unsafe { &*g.0.stack.as_ptr() }.is_some() {
        return Ok(());
    }
    let stack = state().pool.borrow_mut().get().map_err(Error::from)?;
    g.0.stack.set(Some(stack));
    Ok(())
}

/// Gives a stack reserved for a greenlet that never started back to the
/// pool.
fn release_reserved(g: &Inner) {
    if let Some(stack) = g.stack.take()
        && let Ok(p) = STATE.try_with(|s| s.get())
        && !p.is_null()
        && p != STATE_GONE
    {
        // SAFETY: see `state`.
        unsafe { &*p }.pool.borrow_mut().put(stack);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Only a greenlet that never started can still own a stack here
        // (a started one is in the registry until dead, and a dead one
        // gave its stack back).
        if self.state.get() == State::NotStarted {
            release_reserved(self);
        }
    }
}

/// What a switch delivers.
pub(crate) enum Msg {
    /// A plain switch, with an optional value.
    Value(Value),
    /// A wake-up for the current wait (see [`WakeToken`]).
    Wake,
    /// Raise this error at the switch point.
    Throw(Error),
    /// Unwind the stack now (hub destroyed, thread exit); for the hub: stop.
    Unwind,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    NotStarted,
    Active,
    Dead,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Main,
    Hub,
    Normal,
}

/// The payload of the panic used to unwind a greenlet on demand.
pub(crate) struct ForcedUnwind;

/// A greenlet's shared record.
///
/// # Invariant
/// While `state` is `Active` and the greenlet is not the running one, `ctx`
/// holds its suspended context and `stack` its stack. A greenlet that is
/// `Active` with a stack is in the thread's registry, which keeps it alive
/// until it is dead.
/// A greenlet's local values by key.
type Locals = crate::idmap::IdMap<u64, Rc<dyn Any>>;

pub(crate) struct Inner {
    ctx: Cell<Option<Context>>,
    stack: Cell<Option<Stack>>,
    state: Cell<State>,
    kind: Kind,
    parent: UnsafeCell<Option<Rc<Inner>>>,
    run: Cell<Option<Run>>,
    unwinding: Cell<bool>,
    park_seq: Cell<u64>,
    slot: Cell<usize>,
    id: u64,
    name: RefCell<Option<Rc<str>>>,
    /// Greenlet-local values (`gevent::local`), dropped when the greenlet's
    /// function ends, on its own stack. Boxed: a greenlet that has none
    /// pays one word.
    locals: RefCell<Option<Box<Locals>>>,
    /// The stack has only a canary, to be checked at every switch away.
    canary: Cell<bool>,
    /// For AddressSanitizer: the bounds of a stack the greenlet does not
    /// own (the main greenlet's), learned when it first switches away.
    #[cfg(feature = "sanitize-address")]
    asan_bounds: Cell<(*const u8, usize)>,
}

impl Inner {
    fn parent_ref(&self) -> Option<&Rc<Inner>> {
        // SAFETY: `parent` is only replaced through `set_parent`, never
        // while a reference obtained here is in use (single thread, no
        // re-entrancy between the read and the use).
        unsafe { (*self.parent.get()).as_ref() }
    }

    fn set_parent(&self, p: Option<Rc<Inner>>) {
        // SAFETY: see `parent_ref`; the old value is dropped after the write.
        let old = unsafe { std::mem::replace(&mut *self.parent.get(), p) };
        drop(old);
    }
}

struct ThreadState {
    main: Rc<Inner>,
    current: Cell<*const Inner>,
    /// The greenlet that made the switch being received (see `receive`).
    switch_from: Cell<*const Inner>,
    registry: RefCell<Vec<Option<Rc<Inner>>>>,
    free_slots: RefCell<Vec<usize>>,
    pool: RefCell<StackPool>,
    seq: Cell<u64>,
    next_id: Cell<u64>,
    exit_hooks: RefCell<Vec<Box<dyn FnOnce()>>>,
}

thread_local! {
    static STATE: Cell<*const ThreadState> = const { Cell::new(ptr::null()) };
    static GUARD: ThreadGuard = const { ThreadGuard };
}

const STATE_GONE: *const ThreadState = std::ptr::dangling::<ThreadState>();

struct ThreadGuard;

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        shutdown_thread();
    }
}

#[inline]
fn state() -> &'static ThreadState {
    let p = STATE.with(|s| s.get());
    if p.is_null() || p == STATE_GONE {
        return init_state(p);
    }
    // SAFETY: a non-null, non-sentinel pointer was made by `init_state` from
    // a leaked Box and is freed only by `shutdown_thread`, which first
    // resets STATE.
    unsafe { &*p }
}

#[cold]
fn init_state(p: *const ThreadState) -> &'static ThreadState {
    assert!(
        p != STATE_GONE,
        "gevent used on a thread whose greenlet state was already torn down"
    );
    let main = Rc::new(Inner {
        ctx: Cell::new(None),
        stack: Cell::new(None),
        state: Cell::new(State::Active),
        kind: Kind::Main,
        parent: UnsafeCell::new(None),
        run: Cell::new(None),
        unwinding: Cell::new(false),
        park_seq: Cell::new(0),
        slot: Cell::new(usize::MAX),
        id: 0,
        name: RefCell::new(Some("MainGreenlet".into())),
        locals: RefCell::new(None),
        canary: Cell::new(false),
        #[cfg(feature = "sanitize-address")]
        asan_bounds: Cell::new((ptr::null(), 0)),
    });
    let st = Box::new(ThreadState {
        current: Cell::new(Rc::as_ptr(&main)),
        switch_from: Cell::new(ptr::null()),
        main,
        registry: RefCell::new(Vec::new()),
        free_slots: RefCell::new(Vec::new()),
        pool: RefCell::new(StackPool::new()),
        seq: Cell::new(0),
        next_id: Cell::new(1),
        exit_hooks: RefCell::new(Vec::new()),
    });
    let raw = Box::into_raw(st) as *const ThreadState;
    STATE.with(|s| s.set(raw));
    // Register the thread-exit destructor (a no-op access).
    GUARD.with(|_| ());
    // SAFETY: just leaked; lives until `shutdown_thread`.
    unsafe { &*raw }
}

/// Registers `f` to run at thread exit, before the remaining greenlets are
/// unwound and the stacks are freed. The hub uses it to destroy itself.
pub(crate) fn at_thread_exit(f: Box<dyn FnOnce()>) {
    state().exit_hooks.borrow_mut().push(f);
}

fn shutdown_thread() {
    let p = STATE.with(|s| s.get());
    if p.is_null() || p == STATE_GONE {
        return;
    }
    // SAFETY: see `state`.
    let st = unsafe { &*p };
    loop {
        let hook = st.exit_hooks.borrow_mut().pop();
        match hook {
            Some(h) => h(),
            None => break,
        }
    }
    if st.current.get() == Rc::as_ptr(&st.main) {
        unwind_all(&[]);
    }
    let leaked = st.pool.borrow().outstanding();
    if leaked != 0 {
        crate::error::emit(
            log::Level::Warn,
            format_args!("gevent: {leaked} greenlet stack(s) could not be unwound at thread exit"),
        );
    }
    STATE.with(|s| s.set(STATE_GONE));
    // SAFETY: made by Box::into_raw in `init_state`; STATE no longer points
    // to it.
    drop(unsafe { Box::from_raw(p as *mut ThreadState) });
}

/// Unwinds every started, not yet dead greenlet of this thread except the
/// current one, the main one and those in `keep`, running their destructors.
/// Each is re-parented to the current greenlet so that control comes back
/// here when it dies. Returns how many were unwound.
pub(crate) fn unwind_all(keep: &[&RawGreenlet]) -> usize {
    let st = state();
    let cur = st.current.get();
    let mut count = 0;
    // One pass over the registry is linear; greenlets started meanwhile
    // (by a destructor) may take slots already passed, so pass again until
    // a pass finds nothing.
    loop {
        let mut found = false;
        let mut i = 0;
        loop {
            let victim = {
                let reg = st.registry.borrow();
                if i >= reg.len() {
                    break;
                }
                reg[i].as_ref().and_then(|g| {
                    let p = Rc::as_ptr(g);
                    (p != cur
                        && g.kind == Kind::Normal
                        && g.state.get() != State::Dead
                        && !g.unwinding.get()
                        && !keep.iter().any(|k| Rc::as_ptr(&k.0) == p))
                    .then(|| g.clone())
                })
            };
            i += 1;
            let Some(g) = victim else { continue };
            found = true;
            if g.state.get() == State::NotStarted {
                abandon_unstarted(&g);
                count += 1;
                continue;
            }
            g.unwinding.set(true);
            g.set_parent(Some(current_rc()));
            // SAFETY: g is Active and suspended (it is not the current one).
            let m = unsafe { switch_raw(&g, Msg::Unwind) };
            drop(m);
            count += 1;
        }
        if !found {
            return count;
        }
    }
}

/// Ends a scheduled greenlet that never started, without running it.
fn abandon_unstarted(g: &Rc<Inner>) {
    g.state.set(State::Dead);
    let run = g.run.take();
    release_reserved(g);
    registry_remove(g);
    match run {
        Some(Run::Body(b)) => b.abandon(),
        Some(Run::WeakBody(w)) => {
            if let Some(b) = w.upgrade() {
                b.abandon()
            }
        }
        other => drop(other),
    }
}

fn registry_add(g: &Rc<Inner>) {
    let st = state();
    let slot = st.free_slots.borrow_mut().pop();
    let mut reg = st.registry.borrow_mut();
    let slot = match slot {
        Some(s) => {
            reg[s] = Some(g.clone());
            s
        }
        None => {
            reg.push(Some(g.clone()));
            reg.len() - 1
        }
    };
    g.slot.set(slot);
}

fn registry_remove(g: &Inner) {
    let slot = g.slot.replace(usize::MAX);
    if slot == usize::MAX {
        return;
    }
    let st = state();
    let old = st.registry.borrow_mut()[slot].take();
    st.free_slots.borrow_mut().push(slot);
    // Dropping may free `g` itself: nothing touches it afterwards.
    drop(old);
}

/// Figures of this thread's greenlets and stack pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackStats {
    /// Started greenlets not yet dead (the hub included, main excluded).
    pub live_greenlets: usize,
    /// Stacks in use by those greenlets.
    pub stacks_in_use: usize,
    /// Stacks kept free for reuse.
    pub stacks_free: usize,
    /// Slab mappings made so far (each holds many stacks).
    pub slabs: usize,
    /// How stack guards are made in this process: `"madvise"`
    /// (`MADV_GUARD_INSTALL`), `"mprotect"` or `"canary"`; `None` before the
    /// first stack.
    pub guard: Option<&'static str>,
}

/// Returns the pages of this thread's free greenlet stacks (beyond a small
/// warm reserve) to the kernel now, instead of after they stayed unused for
/// a second.
pub fn trim_stacks() {
    state().pool.borrow_mut().trim();
}

/// This thread's greenlet and stack figures (for tests and monitoring).
pub fn stack_stats() -> StackStats {
    let st = state();
    let pool = st.pool.borrow();
    StackStats {
        live_greenlets: st
            .registry
            .borrow()
            .iter()
            .flatten()
            .filter(|g| g.state.get() == State::Active)
            .count(),
        stacks_in_use: pool.outstanding(),
        stacks_free: pool.free_count(),
        slabs: pool.slab_count(),
        guard: crate::stack::guard_mode(),
    }
}

/// Names of suspended greenlets (for the LoopExit report), at most `max`.
pub(crate) fn suspended_names(max: usize) -> (usize, Vec<String>) {
    let st = state();
    let cur = st.current.get();
    let reg = st.registry.borrow();
    let all: Vec<&Rc<Inner>> = reg
        .iter()
        .flatten()
        .filter(|g| {
            g.kind == Kind::Normal && g.state.get() == State::Active && Rc::as_ptr(g) != cur
        })
        .collect();
    let names = all
        .iter()
        .take(max)
        .map(|g| RawGreenlet((*g).clone()).name())
        .collect();
    (all.len(), names)
}

/// `Transfer::data` for the messages that need no payload; anything else
/// is the address of a `Msg` on the switcher's stack. Working on this word
/// rather than on `Msg` keeps the hot paths free of enum copies through
/// memory (which stall on store forwarding right after a switch).
pub(crate) const DATA_VALUE_NONE: usize = 0;
pub(crate) const DATA_WAKE: usize = 1;
pub(crate) const DATA_UNWIND: usize = 2;

/// Turns a message into a data word; `slot` holds a payload message until
/// the receiver moved it out.
#[inline(always)]
fn encode(msg: Msg, slot: &mut std::mem::MaybeUninit<Msg>) -> usize {
    match msg {
        Msg::Value(None) => DATA_VALUE_NONE,
        Msg::Wake => DATA_WAKE,
        Msg::Unwind => DATA_UNWIND,
        m => {
            slot.write(m);
            slot.as_mut_ptr() as usize
        }
    }
}

/// The message a received data word stands for.
///
/// # Safety
/// `d` must have just been received by this greenlet, and be decoded once.
#[inline(always)]
pub(crate) unsafe fn decode(d: usize) -> Msg {
    match d {
        DATA_VALUE_NONE => Msg::Value(None),
        DATA_WAKE => Msg::Wake,
        DATA_UNWIND => Msg::Unwind,
        // SAFETY: the switcher's `slot`, which it never reads or drops
        // again; the caller decodes it once, before any other switch.
        p => unsafe { ptr::read(p as *const Msg) },
    }
}

/// Switches from the running greenlet to `target`, delivering `msg`;
/// returns the message of whoever switches back.
///
/// # Safety
/// Must be called on a greenlet stack of this thread (or its native stack,
/// the main greenlet). `target` must not be dead.
#[inline(always)]
pub(crate) unsafe fn switch_raw(target: &Rc<Inner>, msg: Msg) -> Msg {
    let mut slot = std::mem::MaybeUninit::<Msg>::uninit();
    let data = encode(msg, &mut slot);
    // SAFETY: forwarded contract; `slot` outlives the switch and the
    // receiver moves its message out before we are resumed.
    unsafe { decode(switch_data(target, data)) }
}

/// The switch itself, on data words: sends `data`, returns the data word of
/// whoever switches back (to be decoded once with [`decode`]).
///
/// # Safety
/// As [`switch_raw`]; a pointer `data` must stay valid until the receiver
/// decoded it.
///
/// Inlined on purpose: `jump_fcontext` switches stacks with an indirect
/// jump, so every `ret` the resumed side executes afterwards through frames
/// made before the switch is mispredicted (the return-stack buffer is off by
/// one). Keeping the switch path in its caller's frame avoids those returns.
#[inline(always)]
pub(crate) unsafe fn switch_data(target: &Rc<Inner>, data: usize) -> usize {
    let st = state();
    let from = st.current.get();
    let tp = Rc::as_ptr(target);
    if tp == from {
        return data;
    }
    if target.state.get() != State::Active {
        // SAFETY: forwarded.
        let m = unsafe { decode(data) };
        let back = switch_slow(target, m);
        return SLOW_RESULT.with(|r| {
            // The slow path returns a Msg; park it in a thread-local slot
            // so it can travel as a data word too.
            // SAFETY: the slot is only used between here and the caller's
            // immediate decode.
            unsafe { (*r.get()).write(back) };
            r.get() as usize
        });
    }
    // SAFETY: `from` is the running greenlet (kept alive by its registry
    // entry, the thread state, or the caller).
    let fromr = unsafe { &*from };
    if fromr.canary.get() {
        check_canary(fromr);
    }
    let Some(ctx) = target.ctx.take() else {
        no_context()
    };
    st.current.set(tp);
    st.switch_from.set(from);
    #[cfg(feature = "sanitize-address")]
    let asan = {
        let (bottom, size) = asan_bounds(target);
        crate::sanitize::asan_start(bottom, size, fromr.state.get() == State::Dead)
    };
    // SAFETY: `ctx` is the target's suspended context on a live stack (type
    // invariant of Inner).
    let tr = unsafe { ctx.resume(data) };
    #[cfg(feature = "sanitize-address")]
    asan_resumed(st, Some(asan));
    // Greenlets never change threads: `st` is still this thread's state.
    file_switcher(st, tr.context);
    tr.data
}

/// The stack `g` runs on, for AddressSanitizer.
#[cfg(feature = "sanitize-address")]
fn asan_bounds(g: &Inner) -> (*const u8, usize) {
    // SAFETY: reading the stack descriptor in place (single thread).
    match unsafe { &*g.stack.as_ptr() } {
        Some(s) => (s.bottom().cast_const(), s.size()),
        None => g.asan_bounds.get(),
    }
}

/// Just switched to: end ASan's switch, and remember the bounds of the
/// switcher's stack if it is one we do not own (the main greenlet's).
#[cfg(feature = "sanitize-address")]
fn asan_resumed(st: &ThreadState, s: Option<crate::sanitize::AsanSwitch>) {
    let (bottom, size) = crate::sanitize::asan_finish(s);
    // SAFETY: the switcher is alive (see `file_switcher`).
    let from = unsafe { &*st.switch_from.get() };
    // SAFETY: reading the stack descriptor in place (single thread).
    if unsafe { &*from.stack.as_ptr() }.is_none() {
        from.asan_bounds.set((bottom, size));
    }
}

thread_local! {
    static SLOW_RESULT: std::cell::UnsafeCell<std::mem::MaybeUninit<Msg>> =
        const { std::cell::UnsafeCell::new(std::mem::MaybeUninit::uninit()) };
}

/// Files away the context of the greenlet that just switched to us (or
/// frees its stack if it just died).
#[inline(always)]
fn file_switcher(st: &ThreadState, ctx: Context) {
    // SAFETY: the switcher is alive: registry, thread state or caller; it
    // set `switch_from` just before resuming us.
    let from = unsafe { &*st.switch_from.get() };
    if from.state.get() == State::Dead {
        release_dead(from);
    } else {
        from.ctx.set(Some(ctx));
    }
}

#[cold]
#[inline(never)]
fn no_context() -> ! {
    eprintln!("fatal runtime error: gevent: a suspended greenlet has no saved context");
    std::process::abort()
}

#[cold]
#[inline(never)]
fn check_canary(g: &Inner) {
    if let Some(false) = stack_canary_ok(g) {
        crate::stack::report_overflow(0, 0);
        std::process::abort();
    }
}

/// Switching to a greenlet that is not started or is dead.
#[cold]
#[inline(never)]
fn switch_slow(target: &Rc<Inner>, msg: Msg) -> Msg {
    match target.state.get() {
        State::Dead => Msg::Throw(Error::InvalidSwitch(
            "cannot switch to a greenlet that is dead".into(),
        )),
        State::NotStarted => match msg {
            Msg::Throw(e) => {
                // Python greenlet: throwing into a greenlet that never ran
                // kills it without running it; the outcome goes to its parent.
                end_unstarted(target);
                deliver_to_parent(target, exit_msg(Err(e)))
            }
            Msg::Unwind => {
                end_unstarted(target);
                deliver_to_parent(target, Msg::Value(None))
            }
            msg => match start(target) {
                // SAFETY: the target is Active now; same contract as ours.
                Ok(()) => unsafe { switch_raw(target, msg) },
                Err(e) => start_failed(target, e),
            },
        },
        // SAFETY: same contract as ours.
        State::Active => unsafe { switch_raw(target, msg) },
    }
}

/// Marks a greenlet that never ran as dead and drops its function.
fn end_unstarted(g: &Inner) {
    g.state.set(State::Dead);
    drop(g.run.take());
    release_reserved(g);
    registry_remove(g);
}

/// No stack for a greenlet being started: a `Greenlet` ends with the error
/// (its links fire, `get` returns it) and the switcher carries on; a raw
/// greenlet stays unstarted and the switcher gets the error.
#[cold]
fn start_failed(g: &Rc<Inner>, err: Error) -> Msg {
    let body = match g.run.take() {
        Some(Run::Body(b)) => Some(b),
        Some(Run::WeakBody(w)) => w.upgrade(),
        other => {
            g.run.set(other);
            return Msg::Throw(err);
        }
    };
    g.state.set(State::Dead);
    registry_remove(g);
    if let Some(b) = body {
        b.start_failed(err);
    }
    Msg::Value(None)
}

fn stack_canary_ok(g: &Inner) -> Option<bool> {
    // SAFETY: reading the stack descriptor without moving it out.
    let stack = unsafe { &*g.stack.as_ptr() };
    stack.as_ref().map(|s| s.canary_intact())
}

/// For a greenlet that ended without running, hand `msg` to its parent:
/// directly when the parent is the caller.
fn deliver_to_parent(g: &Rc<Inner>, msg: Msg) -> Msg {
    let Some(parent) = live_parent(g) else {
        return msg;
    };
    if Rc::as_ptr(&parent) == state().current.get() {
        return msg;
    }
    // SAFETY: `parent` is live (checked by live_parent).
    unsafe { switch_raw(&parent, msg) }
}

fn live_parent(g: &Inner) -> Option<Rc<Inner>> {
    let mut p = g.parent_ref();
    while let Some(pp) = p {
        if pp.state.get() != State::Dead {
            return Some(pp.clone());
        }
        p = pp.parent_ref();
    }
    None
}

fn start(g: &Rc<Inner>) -> Result<()> {
    let stack = match g.stack.take() {
        Some(reserved) => reserved,
        None => state().pool.borrow_mut().get().map_err(Error::from)?,
    };
    // SAFETY: the context runs on `stack`, which `g` owns until it is dead
    // and its last switch has been received (see `receive`).
    let ctx = unsafe { Context::new(&stack.as_context_stack(), entry) };
    g.canary.set(stack.is_canary());
    g.stack.set(Some(stack));
    g.ctx.set(Some(ctx));
    g.state.set(State::Active);
    if g.slot.get() == usize::MAX {
        registry_add(g);
    }
    Ok(())
}

/// Takes the message of the greenlet that just switched to us, and files
/// away its context.
///
/// # Safety
/// `tr.data` must be a data word sent by a switch, decoded here only.
#[inline(always)]
unsafe fn receive(tr: Transfer) -> Msg {
    file_switcher(state(), tr.context);
    // SAFETY: forwarded.
    unsafe { decode(tr.data) }
}

/// The switcher's function returned: its stack is free now that we run on
/// another one; its context is simply forgotten.
#[cold]
#[inline(never)]
fn release_dead(from: &Inner) {
    if let Some(stack) = from.stack.take() {
        state().pool.borrow_mut().put(stack);
    }
    registry_remove(from);
}

fn exit_msg(r: Result<Value>) -> Msg {
    match r {
        Ok(v) => Msg::Value(v),
        // greenlet: GreenletExit is caught and returned to the parent.
        Err(e) if e.is_greenlet_exit() => Msg::Value(Some(Box::new(e))),
        Err(e) => Msg::Throw(e),
    }
}

/// The message of a panic payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(e) = payload.downcast_ref::<Error>() {
        e.to_string()
    } else {
        "Box<dyn Any>".to_string()
    }
}

/// Maps a caught panic to the error it stands for: a payload that is a
/// [`Error`] (`std::panic::panic_any(err)`) is that error.
pub(crate) fn panic_to_error(payload: Box<dyn Any + Send>) -> Error {
    match payload.downcast::<Error>() {
        Ok(e) => *e,
        Err(p) => Error::Panicked(panic_message(&*p).into()),
    }
}

extern "C" fn entry(tr: Transfer) -> ! {
    #[cfg(feature = "sanitize-address")]
    asan_resumed(state(), None);
    // SAFETY: the first resume of a greenlet context passes a Packet.
    let msg = unsafe { receive(tr) };
    let me = state().current.get();
    let result = run_body(me, msg);
    drop_locals(me);
    // SAFETY: `me` is the running greenlet, kept alive by its registry
    // entry until the switch below has been received.
    unsafe { final_switch(me, result) }
}

/// Drops the greenlet-local values of a greenlet whose function ended,
/// still on its stack; a panicking destructor is reported, not propagated.
fn drop_locals(me: *const Inner) {
    // SAFETY: see `entry`.
    let me = unsafe { &*me };
    // A destructor may set a local again: drop until the map stays empty
    // (bounded, in case a destructor keeps re-creating values).
    for _ in 0..16 {
        let locals = me.locals.borrow_mut().take();
        if locals.is_none() {
            return;
        }
        if catch_unwind(AssertUnwindSafe(move || drop(locals))).is_err() {
            crate::error::emit(
                log::Level::Error,
                format_args!("gevent: a greenlet-local value panicked while dropped"),
            );
        }
    }
}

/// The running greenlet's local value under `key` (`gevent::local`).
pub(crate) fn local_get(key: u64) -> Option<Rc<dyn Any>> {
    // SAFETY: current always points to a live Inner.
    let me = unsafe { &*current_ptr() };
    me.locals
        .borrow()
        .as_ref()
        .and_then(|m| m.get(&key).cloned())
}

/// Sets the running greenlet's local value under `key`; returns the old one
/// (dropped by the caller, outside the borrow).
pub(crate) fn local_set(key: u64, value: Rc<dyn Any>) -> Option<Rc<dyn Any>> {
    // SAFETY: current always points to a live Inner.
    let me = unsafe { &*current_ptr() };
    me.locals
        .borrow_mut()
        .get_or_insert_with(Default::default)
        .insert(key, value)
}

/// Removes the running greenlet's local value under `key`.
pub(crate) fn local_remove(key: u64) -> Option<Rc<dyn Any>> {
    // SAFETY: current always points to a live Inner.
    let me = unsafe { &*current_ptr() };
    me.locals.borrow_mut().as_mut().and_then(|m| m.remove(&key))
}

fn run_body(me: *const Inner, msg: Msg) -> Msg {
    // SAFETY: see `entry`.
    let me = unsafe { &*me };
    let f = me.run.take();
    let arg = match msg {
        Msg::Value(v) => v,
        Msg::Wake => None,
        Msg::Throw(e) => return exit_msg(Err(e)),
        Msg::Unwind => return Msg::Value(None),
    };
    let f = match f {
        None => return Msg::Value(None),
        Some(Run::Fn(f)) => f,
        Some(Run::Body(b)) => {
            // The body catches its own panics and forced unwinds.
            b.run_body();
            return Msg::Value(None);
        }
        Some(Run::WeakBody(weak)) => {
            if let Some(b) = weak.upgrade() {
                b.run_body();
            }
            return Msg::Value(None);
        }
    };
    match catch_unwind(AssertUnwindSafe(move || f(arg))) {
        // A hub that tore itself down tells its parent why.
        Ok(Err(e)) if me.kind == Kind::Hub => Msg::Throw(e),
        Ok(r) => exit_msg(r),
        Err(payload) => {
            if payload.is::<ForcedUnwind>() {
                Msg::Value(None)
            } else {
                Msg::Throw(panic_to_error(payload))
            }
        }
    }
}

/// The last switch of a greenlet whose function returned.
///
/// # Safety
/// `me` must be the running greenlet. Nothing owned may be left on this
/// stack: it is never resumed.
unsafe fn final_switch(me: *const Inner, msg: Msg) -> ! {
    // SAFETY: guaranteed by the caller.
    let me = unsafe { &*me };
    me.state.set(State::Dead);
    me.unwinding.set(false);
    // Find the nearest live ancestor without taking a new reference (this
    // frame is abandoned, so a clone would leak).
    let mut p = me.parent_ref();
    while let Some(pp) = p {
        if pp.state.get() != State::Dead {
            break;
        }
        p = pp.parent_ref();
    }
    if let Some(parent) = p {
        // A payload travels in the thread-local slot, not on this stack:
        // the stack is left for good (and under AddressSanitizer its fake
        // stack is freed before the receiver reads the message).
        let data = match msg {
            Msg::Value(None) => DATA_VALUE_NONE,
            m => slow_result(m),
        };
        // SAFETY: parent is live; `me` stays alive (registry) until the
        // parent side's `receive` removes it; `data` is a data word or the
        // thread-local slot, read once by the receiver.
        unsafe { switch_data(parent, data) };
    }
    // A greenlet always has a live ancestor (the main greenlet never dies).
    eprintln!("fatal runtime error: gevent: a dead greenlet was resumed");
    std::process::abort()
}

/// The running greenlet, as a counted reference.
#[inline]
pub(crate) fn current_rc() -> Rc<Inner> {
    let p = state().current.get();
    // SAFETY: `current` always points into a live Rc<Inner> (see Inner's
    // invariant); taking one more strong count is sound.
    unsafe {
        Rc::increment_strong_count(p);
        Rc::from_raw(p)
    }
}

/// The running greenlet's address (cheap identity test).
#[inline]
pub(crate) fn current_ptr() -> *const Inner {
    state().current.get()
}

/// A one-shot wake-up for a parked greenlet.
///
/// A blocking primitive calls [`park_token`] before switching to the hub
/// and hands the token to whatever will wake it (a callback, a watcher, a
/// link). `fire` resumes the greenlet only if it is still parked in that
/// same wait, so a stale wake-up (the wait already ended through a timeout
/// or a kill) is ignored.
#[derive(Clone)]
pub(crate) struct WakeToken {
    g: Rc<Inner>,
    seq: u64,
}

impl WakeToken {
    /// True while the greenlet still waits in the wait this token is for.
    pub(crate) fn is_current(&self) -> bool {
        self.g.park_seq.get() == self.seq
    }

    /// Resumes the parked greenlet with `Msg::Wake` if still parked in this
    /// wait; returns what the next switch back delivered (for the hub to
    /// handle), or `None` for a stale token.
    /// Resumes the parked greenlet with a wake-up if it still waits in
    /// this wait; returns the data word of the switch back (for the hub to
    /// handle with `hub::after_switch_data`), or `None` for a stale token.
    #[inline(always)]
    pub(crate) fn fire_data(&self) -> Option<usize> {
        if !self.is_current() || self.g.state.get() != State::Active {
            return None;
        }
        self.g.park_seq.set(0);
        // SAFETY: the greenlet is Active and parked (not running).
        Some(unsafe { switch_data(&self.g, DATA_WAKE) })
    }

    /// The greenlet this token wakes.
    pub(crate) fn greenlet(&self) -> RawGreenlet {
        RawGreenlet(self.g.clone())
    }
}

/// Ends `g` now, from the running greenlet, without waiting for the loop:
/// a greenlet that never started is abandoned (as killed, without
/// running); a suspended one is unwound on its own stack and comes back
/// here when dead. Used where waiting is impossible (the caller is itself
/// being unwound) but `g` must not outlive the caller's frame.
pub(crate) fn unwind_now(g: &RawGreenlet) {
    match g.0.state.get() {
        State::NotStarted => abandon_unstarted(&g.0),
        State::Active if !g.is_current() && !g.0.unwinding.get() && g.0.kind == Kind::Normal => {
            g.0.unwinding.set(true);
            g.0.set_parent(Some(current_rc()));
            // SAFETY: g is Active and suspended (not the current one).
            drop(unsafe { switch_raw(&g.0, Msg::Unwind) });
        }
        _ => {}
    }
}

/// True while the running greenlet is being unwound (hub destroyed, thread
/// exit): it can no longer block.
pub(crate) fn current_unwinding() -> bool {
    // SAFETY: current always points to a live Inner.
    unsafe { &*current_ptr() }.unwinding.get()
}

/// Marks a greenlet that never started as dead without running it (a
/// `Greenlet` killed before its first switch). Returns false if it had
/// already started.
pub(crate) fn discard_unstarted(g: &RawGreenlet) -> bool {
    if g.0.state.get() != State::NotStarted {
        return false;
    }
    end_unstarted(&g.0);
    true
}

/// Marks the running greenlet as parked in a new wait and returns the token
/// that wakes it.
#[inline]
pub(crate) fn park_token() -> WakeToken {
    let st = state();
    let seq = st.seq.get().wrapping_add(1).max(1);
    st.seq.set(seq);
    let g = current_rc();
    g.park_seq.set(seq);
    WakeToken { g, seq }
}

/// Ends the current wait of the running greenlet (stale tokens are ignored
/// from now on).
#[inline]
pub(crate) fn unpark() {
    // SAFETY: current always points to a live Inner.
    unsafe { &*current_ptr() }.park_seq.set(0);
}

/// Switch from an ordinary greenlet (never the hub) to `target`, turning an
/// unwind request into an unwinding panic here, at the switch point.
///
/// A greenlet that is already unwinding does not switch at all: it gets
/// `Throw(GreenletExit)` (inside a destructor) or unwinds again.
#[inline(always)]
pub(crate) fn switch_to(target: &Rc<Inner>, msg: Msg) -> Msg {
    let mut slot = std::mem::MaybeUninit::<Msg>::uninit();
    let data = encode(msg, &mut slot);
    let d = switch_to_data(target, data);
    if d == DATA_UNWIND {
        return unwinding_switch();
    }
    // SAFETY: just received, decoded once.
    unsafe { decode(d) }
}

/// [`switch_to`] on data words. Never returns `DATA_UNWIND`: an unwind
/// request unwinds here (or, inside a destructor, comes back as a thrown
/// `GreenletExit` through the thread-local slow-result slot).
#[inline(always)]
pub(crate) fn switch_to_data(target: &Rc<Inner>, data: usize) -> usize {
    // SAFETY: current always points to a live Inner.
    let me = unsafe { &*current_ptr() };
    if me.unwinding.get() {
        return slow_result(unwinding_switch());
    }
    // SAFETY: called on a greenlet (or native) stack of this thread; the
    // target's liveness is checked inside.
    let d = unsafe { switch_data(target, data) };
    if d == DATA_UNWIND {
        me.unwinding.set(true);
        return slow_result(unwinding_switch());
    }
    d
}

/// Parks a message in the thread-local slot and returns its data word.
#[cold]
fn slow_result(m: Msg) -> usize {
    SLOW_RESULT.with(|r| {
        // SAFETY: the slot is used only between here and the caller's
        // immediate decode.
        unsafe { (*r.get()).write(m) };
        r.get() as usize
    })
}

/// A greenlet asked to unwind: unwind here, or, inside a destructor that
/// runs during the unwinding, fail the blocking call instead of switching.
#[cold]
#[inline(never)]
fn unwinding_switch() -> Msg {
    if std::thread::panicking() {
        return Msg::Throw(Error::GreenletExit);
    }
    resume_unwind(Box::new(ForcedUnwind))
}

/// Writes the running greenlet's name into `out` for the stack-overflow
/// report; returns the length. Called from a signal handler: no allocation,
/// no panics.
pub(crate) fn current_name_for_crash(out: &mut [u8]) -> usize {
    let Ok(p) = STATE.try_with(|s| s.get()) else {
        return 0;
    };
    if p.is_null() || p == STATE_GONE {
        return 0;
    }
    // SAFETY: see `state`.
    let cur = unsafe { (*p).current.get() };
    // SAFETY: current points to a live Inner.
    let g = unsafe { &*cur };
    if let Ok(name) = g.name.try_borrow()
        && let Some(n) = name.as_ref()
    {
        let b = n.as_bytes();
        let k = b.len().min(out.len());
        out[..k].copy_from_slice(&b[..k]);
        return k;
    }
    let prefix = b"Greenlet-";
    let mut n = prefix.len().min(out.len());
    out[..n].copy_from_slice(&prefix[..n]);
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = g.id;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        if n < out.len() {
            out[n] = d;
            n += 1;
        }
    }
    n
}

/// A raw greenlet (the `greenlet` package's `greenlet.greenlet`): a
/// function on its own stack, started and resumed by [`switch`](Self::switch).
///
/// Cloning gives another handle to the same greenlet. Not `Send`: a
/// greenlet lives and dies on the thread that made it.
#[derive(Clone)]
pub struct RawGreenlet(pub(crate) Rc<Inner>);

impl PartialEq for RawGreenlet {
    fn eq(&self, other: &RawGreenlet) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for RawGreenlet {}

impl std::fmt::Debug for RawGreenlet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<greenlet {} ({:?})>", self.name(), self.0.state.get())
    }
}

impl RawGreenlet {
    /// A new greenlet that will run `f` when first switched to. Its parent
    /// is `parent`, or the current greenlet when `None` (as in the
    /// `greenlet` package).
    pub fn new<F>(f: F, parent: Option<&RawGreenlet>) -> RawGreenlet
    where
        F: FnOnce(Value) -> Result<Value> + 'static,
    {
        Self::with_kind(Box::new(f), parent.map(|p| p.0.clone()), Kind::Normal)
    }

    pub(crate) fn with_kind(f: RunFn, parent: Option<Rc<Inner>>, kind: Kind) -> RawGreenlet {
        Self::with_run(Run::Fn(f), parent, kind)
    }

    pub(crate) fn with_run(run: Run, parent: Option<Rc<Inner>>, kind: Kind) -> RawGreenlet {
        let st = state();
        let id = st.next_id.get();
        st.next_id.set(id + 1);
        let parent = Some(parent.unwrap_or_else(current_rc));
        RawGreenlet(Rc::new(Inner {
            ctx: Cell::new(None),
            stack: Cell::new(None),
            state: Cell::new(State::NotStarted),
            kind,
            parent: UnsafeCell::new(parent),
            run: Cell::new(Some(run)),
            unwinding: Cell::new(false),
            park_seq: Cell::new(0),
            slot: Cell::new(usize::MAX),
            id,
            name: RefCell::new(None),
            locals: RefCell::new(None),
            canary: Cell::new(false),
            #[cfg(feature = "sanitize-address")]
            asan_bounds: Cell::new((ptr::null(), 0)),
        }))
    }

    /// The running greenlet (`greenlet.getcurrent()`).
    pub fn current() -> RawGreenlet {
        RawGreenlet(current_rc())
    }

    /// The thread's main greenlet (the one running on the thread's own
    /// stack).
    pub fn main() -> RawGreenlet {
        RawGreenlet(state().main.clone())
    }

    /// Switches to this greenlet, starting it if needed, and passes
    /// `value`. Returns the value of the switch that later resumes the
    /// caller, or the error thrown into it.
    ///
    /// # Errors
    /// Whatever is thrown into the caller while it is suspended; a
    /// [`Error::InvalidSwitch`] if this greenlet is dead; an [`Error::Io`]
    /// if no stack could be allocated.
    #[inline]
    pub fn switch(&self, value: Value) -> Result<Value> {
        if value.is_none() {
            let d = switch_to_data(&self.0, DATA_VALUE_NONE);
            if d == DATA_VALUE_NONE || d == DATA_WAKE {
                return Ok(None);
            }
            // SAFETY: just received, decoded once.
            return msg_to_result(unsafe { decode(d) });
        }
        msg_to_result(switch_to(&self.0, Msg::Value(value)))
    }

    /// Raises `err` in this greenlet at its switch point (`greenlet.throw`).
    /// A greenlet that has not started dies without running; its parent
    /// receives the outcome (a `GreenletExit` is returned as a value).
    pub fn throw(&self, err: Error) -> Result<Value> {
        msg_to_result(switch_to(&self.0, Msg::Throw(err)))
    }

    /// The parent greenlet, if any (only the main greenlet has none).
    pub fn parent(&self) -> Option<RawGreenlet> {
        self.0.parent_ref().map(|p| RawGreenlet(p.clone()))
    }

    /// Changes the parent. Refuses a change that would make a cycle.
    pub fn set_parent(&self, parent: &RawGreenlet) -> Result<()> {
        let mut p = Some(parent.0.clone());
        while let Some(pp) = p {
            if Rc::ptr_eq(&pp, &self.0) {
                return Err(Error::invalid("cyclic parent chain"));
            }
            p = pp.parent_ref().cloned();
        }
        self.0.set_parent(Some(parent.0.clone()));
        Ok(())
    }

    /// True once the greenlet's function has returned (or it was killed
    /// before starting).
    pub fn dead(&self) -> bool {
        self.0.state.get() == State::Dead
    }

    /// True once started and until dead (Python's `bool(greenlet)`).
    pub fn active(&self) -> bool {
        self.0.state.get() == State::Active
    }

    /// True once the greenlet has been switched to at least once (or died).
    pub fn started(&self) -> bool {
        self.0.state.get() != State::NotStarted
    }

    /// True for the running greenlet.
    pub fn is_current(&self) -> bool {
        Rc::as_ptr(&self.0) == current_ptr()
    }

    /// True for the thread's main greenlet.
    pub fn is_main(&self) -> bool {
        self.0.kind == Kind::Main
    }

    pub(crate) fn is_hub(&self) -> bool {
        self.0.kind == Kind::Hub
    }

    /// A number unique among the greenlets of this thread.
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// The greenlet's name (`Greenlet-<id>` unless set).
    pub fn name(&self) -> String {
        match &*self.0.name.borrow() {
            Some(n) => n.to_string(),
            None => format!("Greenlet-{}", self.0.id),
        }
    }

    /// Sets the name shown in reports.
    pub fn set_name(&self, name: &str) {
        *self.0.name.borrow_mut() = Some(name.into());
    }

    /// Stack bytes of this greenlet (0 for the main greenlet and greenlets
    /// not started).
    pub fn stack_size(&self) -> usize {
        // SAFETY: reading the descriptor in place.
        unsafe { &*self.0.stack.as_ptr() }
            .as_ref()
            .map_or(0, |s| s.size())
    }
}

#[inline]
pub(crate) fn msg_to_result(m: Msg) -> Result<Value> {
    match m {
        Msg::Value(v) => Ok(v),
        Msg::Wake => Ok(None),
        Msg::Throw(e) => Err(e),
        Msg::Unwind => Err(Error::GreenletExit),
    }
}
