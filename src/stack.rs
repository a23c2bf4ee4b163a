//! Greenlet stacks: carved from large slabs, guarded, pooled per thread.
//!
//! One `mmap` per greenlet plus an `mprotect`ed guard page costs two memory
//! mappings each, and Linux allows about 65k mappings by default
//! (`vm.max_map_count`), which caps such a design near 32k greenlets. So:
//!
//! * stacks are carved from slabs of [`STACKS_PER_SLAB`] stacks, each slab one
//!   `MAP_NORESERVE` mapping; pages are committed only when touched;
//! * below every stack lies one guard page, installed with
//!   `madvise(MADV_GUARD_INSTALL)` (Linux 6.13+), which faults on access
//!   *without splitting the mapping*. On older kernels the guard falls back
//!   to `mprotect` (bounded by the mapping limit: [`MPROTECT_GUARD_LIMIT`]),
//!   and past that to a canary checked at every switch;
//! * a `SIGSEGV` handler running on an alternate signal stack recognises a
//!   fault in a guard page and reports "greenlet stack overflow" with the
//!   greenlet's name before aborting, instead of a bare segfault;
//! * freed stacks go back to a per-thread pool (reuse costs nanoseconds, a
//!   fresh mapping microseconds). Free stacks beyond [`POOL_HIGH_WATER`]
//!   that stayed unused for [`TRIM_AFTER`] get their pages returned with
//!   `MADV_DONTNEED`, so RSS follows the live set without making a workload
//!   that churns many greenlets fault every page in again each time (the
//!   decay idea of jemalloc's dirty-page purging).

use std::ptr;
use std::sync::Once;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// How many stacks one slab mapping holds.
pub const STACKS_PER_SLAB: usize = 128;
/// Free stacks a thread keeps committed; stacks freed beyond this have their
/// pages given back to the kernel.
pub const POOL_HIGH_WATER: usize = 64;
/// How long a free stack beyond the high-water mark keeps its pages.
pub const TRIM_AFTER: std::time::Duration = std::time::Duration::from_secs(1);
/// Puts between two looks at the clock for trimming.
const TRIM_CHECK_EVERY: u32 = 256;
/// The most `mprotect` guard pages made process-wide when the kernel lacks
/// `MADV_GUARD_INSTALL` (each splits a mapping in two).
pub const MPROTECT_GUARD_LIMIT: usize = 24_000;

const MADV_GUARD_INSTALL: libc::c_int = 102;
const CANARY: u64 = 0x6765_7665_6e74_2121; // "gevent!!"
const MAX_SLABS: usize = 65_536;

/// How the guard of a stack is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Guard {
    /// A `MADV_GUARD_INSTALL` guard region: faults, no extra mapping.
    Madvise,
    /// An `mprotect(PROT_NONE)` guard page.
    Mprotect,
    /// No fault-on-access guard: a canary word checked at every switch.
    Canary,
}

/// One greenlet stack. Owned by exactly one greenlet, or by the pool.
///
/// # Invariant
/// `base` is the start of a guard page of [`page_size`] bytes, followed by
/// `size` usable bytes, all inside a live slab mapping.
pub(crate) struct Stack {
    base: *mut u8,
    size: usize,
    guard: Guard,
    /// Pages given back (`MADV_DONTNEED`) since it was last used.
    cold: bool,
    /// valgrind's id for this stack (0 when not under valgrind).
    valgrind_id: usize,
}

impl Stack {
    /// The lowest usable address (just above the guard).
    pub(crate) fn bottom(&self) -> *mut u8 {
        // SAFETY: base + one page is inside the slot (invariant).
        unsafe { self.base.add(page_size()) }
    }

    /// One past the highest usable address: where the stack starts growing
    /// down from.
    pub(crate) fn top(&self) -> *mut u8 {
        // SAFETY: base + page + size is the end of the slot (invariant).
        unsafe { self.bottom().add(self.size) }
    }

    /// Usable size in bytes.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The `context` crate's view of this stack.
    pub(crate) fn as_context_stack(&self) -> context::stack::Stack {
        // SAFETY: [bottom, top) is valid writable memory for as long as the
        // Stack lives; the greenlet that uses the context owns the Stack and
        // outlives its context.
        unsafe { context::stack::Stack::new(self.top().cast(), self.bottom().cast()) }
    }

    /// True when the stack's only overflow guard is the canary.
    pub(crate) fn is_canary(&self) -> bool {
        self.guard == Guard::Canary
    }

    fn write_canary(&self) {
        if self.guard == Guard::Canary {
            // SAFETY: the first 8 usable bytes belong to this stack.
            unsafe { ptr::write_volatile(self.bottom().cast::<u64>(), CANARY) }
        }
    }

    /// For canary-guarded stacks: false when the canary was overwritten,
    /// meaning the greenlet ran off the end of its stack.
    pub(crate) fn canary_intact(&self) -> bool {
        self.guard != Guard::Canary
            // SAFETY: the first 8 usable bytes belong to this stack.
            || unsafe { ptr::read_volatile(self.bottom().cast::<u64>()) } == CANARY
    }
}

/// How guards are made in this process (see [`StackStats`]).
///
/// [`StackStats`]: crate::greenlet::raw::StackStats
pub(crate) fn guard_mode() -> Option<&'static str> {
    match MADVISE_GUARDS.load(Ordering::Relaxed) {
        0 => None,
        1 => Some("madvise"),
        _ if MPROTECT_GUARDS.load(Ordering::Relaxed) < MPROTECT_GUARD_LIMIT => Some("mprotect"),
        _ => Some("canary"),
    }
}

/// The system page size.
pub(crate) fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    let p = PAGE.load(Ordering::Relaxed);
    if p != 0 {
        return p;
    }
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let p = if p > 0 { p as usize } else { 4096 };
    PAGE.store(p, Ordering::Relaxed);
    p
}

/// Slab ranges, readable from the signal handler without locks.
struct SlabEntry {
    start: AtomicUsize,
    len: AtomicUsize,
    stride: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_ENTRY: SlabEntry = SlabEntry {
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    stride: AtomicUsize::new(0),
};
static SLAB_TABLE: [SlabEntry; MAX_SLABS] = [EMPTY_ENTRY; MAX_SLABS];
static SLAB_HIGH: AtomicUsize = AtomicUsize::new(0);
static MPROTECT_GUARDS: AtomicUsize = AtomicUsize::new(0);
/// 0 = not yet known, 1 = madvise guards work, 2 = they do not.
static MADVISE_GUARDS: AtomicU8 = AtomicU8::new(0);

fn register_slab(start: usize, len: usize, stride: usize) -> Option<usize> {
    for (i, e) in SLAB_TABLE.iter().enumerate() {
        if e.start
            .compare_exchange(0, usize::MAX, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            e.len.store(len, Ordering::Relaxed);
            e.stride.store(stride, Ordering::Relaxed);
            e.start.store(start, Ordering::Release);
            SLAB_HIGH.fetch_max(i + 1, Ordering::AcqRel);
            return Some(i);
        }
    }
    None
}

fn unregister_slab(index: usize) {
    let e = &SLAB_TABLE[index];
    e.len.store(0, Ordering::Relaxed);
    e.start.store(0, Ordering::Release);
}

/// If `addr` lies in the guard page of a greenlet stack, the usable size of
/// that stack. Async-signal-safe.
fn guard_hit(addr: usize) -> Option<usize> {
    let page = page_size();
    let high = SLAB_HIGH.load(Ordering::Acquire);
    for e in &SLAB_TABLE[..high] {
        let start = e.start.load(Ordering::Acquire);
        if start == 0 || start == usize::MAX {
            continue;
        }
        let len = e.len.load(Ordering::Relaxed);
        let stride = e.stride.load(Ordering::Relaxed);
        if addr >= start && addr < start + len && stride != 0 && (addr - start) % stride < page {
            return Some(stride - page);
        }
    }
    None
}

struct Slab {
    base: *mut u8,
    len: usize,
    stride: usize,
    used: usize,
    table_index: Option<usize>,
}

/// A thread's stacks: its slabs and the free list.
pub(crate) struct StackPool {
    slabs: Vec<Slab>,
    /// LIFO: the most recently freed (hottest) stacks at the end. Entries
    /// below `warm_from` were freed before the last trim epoch.
    free: Vec<Stack>,
    outstanding: usize,
    puts: u32,
    /// `free[..warm_from]` were already free at the last trim check.
    warm_from: usize,
    last_check: std::time::Instant,
    altstack: Option<(*mut u8, usize)>,
}

impl StackPool {
    pub(crate) fn new() -> StackPool {
        install_segv_handler();
        StackPool {
            slabs: Vec::new(),
            free: Vec::new(),
            outstanding: 0,
            puts: 0,
            warm_from: 0,
            last_check: std::time::Instant::now(),
            altstack: ensure_altstack(),
        }
    }

    /// A stack of at least the configured size, from the pool or a slab.
    pub(crate) fn get(&mut self) -> std::io::Result<Stack> {
        let mut stack = match self.free.pop() {
            Some(s) => {
                // A dead greenlet's frames may have left ASan poison here.
                crate::sanitize::unpoison(s.bottom(), s.size);
                s
            }
            None => self.carve()?,
        };
        self.warm_from = self.warm_from.min(self.free.len());
        if stack.cold || stack.guard == Guard::Canary {
            stack.write_canary();
            stack.cold = false;
        }
        self.outstanding += 1;
        Ok(stack)
    }

    /// Gives a stack back. Its owner must have left it for good.
    pub(crate) fn put(&mut self, stack: Stack) {
        self.outstanding -= 1;
        self.free.push(stack);
        self.puts = self.puts.wrapping_add(1);
        if self.puts.is_multiple_of(TRIM_CHECK_EVERY) && self.free.len() > POOL_HIGH_WATER {
            self.maybe_trim();
        }
    }

    /// Every [`TRIM_AFTER`]: stacks that were already free at the previous
    /// check and are still free (the bottom of the LIFO) lose their pages,
    /// keeping [`POOL_HIGH_WATER`] warm ones.
    fn maybe_trim(&mut self) {
        let now = std::time::Instant::now();
        if now.duration_since(self.last_check) < TRIM_AFTER {
            return;
        }
        self.last_check = now;
        let keep_warm = self.free.len().saturating_sub(POOL_HIGH_WATER);
        let old = self.warm_from.min(keep_warm);
        for s in &mut self.free[..old] {
            if !s.cold {
                // SAFETY: the usable range belongs to this free stack and
                // nothing runs on it; MADV_DONTNEED only drops its pages.
                unsafe { libc::madvise(s.bottom().cast(), s.size, libc::MADV_DONTNEED) };
                s.cold = true;
            }
        }
        self.warm_from = self.free.len();
    }

    /// Gives back the pages of every free stack beyond the high-water mark
    /// now.
    pub(crate) fn trim(&mut self) {
        let n = self.free.len().saturating_sub(POOL_HIGH_WATER);
        for s in &mut self.free[..n] {
            if !s.cold {
                // SAFETY: as in `maybe_trim`.
                unsafe { libc::madvise(s.bottom().cast(), s.size, libc::MADV_DONTNEED) };
                s.cold = true;
            }
        }
    }

    /// Stacks handed out and not yet given back.
    pub(crate) fn outstanding(&self) -> usize {
        self.outstanding
    }

    /// Free stacks kept for reuse.
    pub(crate) fn free_count(&self) -> usize {
        self.free.len()
    }

    /// Slab mappings made.
    pub(crate) fn slab_count(&self) -> usize {
        self.slabs.len()
    }

    fn carve(&mut self) -> std::io::Result<Stack> {
        let size = crate::config::stack_size();
        let page = page_size();
        let stride = size + page;
        let needs_new = match self.slabs.last() {
            Some(s) => s.used * s.stride + stride > s.len,
            None => true,
        };
        if needs_new {
            self.slabs.push(new_slab(stride)?);
        }
        let slab = self.slabs.last_mut().expect("a slab was just ensured");
        // SAFETY: used * stride + stride <= len (checked above), so the slot
        // lies inside the slab mapping.
        let base = unsafe { slab.base.add(slab.used * slab.stride) };
        slab.used += 1;
        let guard = install_guard(base, page);
        let mut stack = Stack {
            base,
            size: slab.stride - page,
            guard,
            cold: true,
            valgrind_id: 0,
        };
        stack.valgrind_id = crate::sanitize::register_stack(stack.bottom(), stack.top());
        Ok(stack)
    }
}

impl Drop for StackPool {
    fn drop(&mut self) {
        // A stack still handed out may be the one we run on (or a greenlet
        // that could not be unwound): then leak the slabs rather than unmap
        // memory in use.
        if self.outstanding == 0 {
            for s in self.free.drain(..) {
                crate::sanitize::deregister_stack(s.valgrind_id);
            }
            for slab in self.slabs.drain(..) {
                if let Some(i) = slab.table_index {
                    unregister_slab(i);
                }
                // SAFETY: no stack of this slab is in use (outstanding == 0).
                unsafe { libc::munmap(slab.base.cast(), slab.len) };
            }
        }
        if let Some((base, len)) = self.altstack.take() {
            let ss = libc::stack_t {
                ss_sp: ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            // SAFETY: disabling this thread's alternate stack, then freeing
            // the mapping we made for it.
            unsafe {
                libc::sigaltstack(&ss, ptr::null_mut());
                libc::munmap(base.cast(), len);
            }
        }
    }
}

fn new_slab(stride: usize) -> std::io::Result<Slab> {
    let len = stride * STACKS_PER_SLAB;
    // SAFETY: an anonymous private mapping with no address hint.
    let base = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    let table_index = register_slab(base as usize, len, stride);
    Ok(Slab {
        base: base.cast(),
        len,
        stride,
        used: 0,
        table_index,
    })
}

fn install_guard(base: *mut u8, page: usize) -> Guard {
    if MADVISE_GUARDS.load(Ordering::Relaxed) != 2 {
        // SAFETY: [base, base+page) is inside a mapping we own.
        let r = unsafe { libc::madvise(base.cast(), page, MADV_GUARD_INSTALL) };
        if r == 0 {
            MADVISE_GUARDS.store(1, Ordering::Relaxed);
            return Guard::Madvise;
        }
        MADVISE_GUARDS.store(2, Ordering::Relaxed);
    }
    if MPROTECT_GUARDS.fetch_add(1, Ordering::Relaxed) < MPROTECT_GUARD_LIMIT {
        // SAFETY: as above; PROT_NONE on a page we own.
        if unsafe { libc::mprotect(base.cast(), page, libc::PROT_NONE) } == 0 {
            return Guard::Mprotect;
        }
    }
    Guard::Canary
}

/// Installs an alternate signal stack on this thread if it has none, so the
/// overflow handler can run when a greenlet stack is exhausted.
fn ensure_altstack() -> Option<(*mut u8, usize)> {
    let mut old: libc::stack_t = libc::stack_t {
        ss_sp: ptr::null_mut(),
        ss_flags: 0,
        ss_size: 0,
    };
    // SAFETY: querying the current alternate stack.
    unsafe { libc::sigaltstack(ptr::null(), &mut old) };
    if old.ss_flags & libc::SS_DISABLE == 0 {
        return None;
    }
    let len = 64 * 1024;
    // SAFETY: an anonymous private mapping.
    let base = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return None;
    }
    let ss = libc::stack_t {
        ss_sp: base,
        ss_flags: 0,
        ss_size: len,
    };
    // SAFETY: `base` is a fresh mapping of `len` bytes owned by this thread.
    if unsafe { libc::sigaltstack(&ss, ptr::null_mut()) } != 0 {
        // SAFETY: unmapping what we just mapped.
        unsafe { libc::munmap(base, len) };
        return None;
    }
    Some((base.cast(), len))
}

struct OldAction(std::cell::UnsafeCell<Option<libc::sigaction>>);
// SAFETY: written once inside `Once::call_once`, read-only afterwards.
unsafe impl Sync for OldAction {}
static OLD_SEGV: OldAction = OldAction(std::cell::UnsafeCell::new(None));
static OLD_BUS: OldAction = OldAction(std::cell::UnsafeCell::new(None));

fn install_segv_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (sig, slot) in [(libc::SIGSEGV, &OLD_SEGV), (libc::SIGBUS, &OLD_BUS)] {
            // SAFETY: a zeroed sigaction is a valid starting point; the
            // handler is async-signal-safe (see `segv_handler`); the old
            // action is stored before any handler can read it, since the
            // handler only reads it after `sigaction` returned.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = segv_handler as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut sa.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &sa, &mut old) == 0 {
                    *slot.0.get() = Some(old);
                }
            }
        }
    });
}

extern "C" fn segv_handler(sig: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(size) = guard_hit(addr) {
        report_overflow(size, addr);
        // SAFETY: abort is async-signal-safe.
        unsafe { libc::abort() };
    }
    let slot = if sig == libc::SIGBUS {
        &OLD_BUS
    } else {
        &OLD_SEGV
    };
    // SAFETY: written once before the handler was installed.
    let old = unsafe { &*slot.0.get() };
    match old {
        Some(old) if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN => {
            if old.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous handler was installed with SA_SIGINFO,
                // so it has this signature.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(old.sa_sigaction) };
                f(sig, info, uctx);
            } else {
                // SAFETY: a plain handler takes only the signal number.
                let f: extern "C" fn(libc::c_int) =
                    unsafe { std::mem::transmute(old.sa_sigaction) };
                f(sig);
            }
        }
        _ => {
            // Not ours: restore the default action and return; the faulting
            // instruction runs again and the kernel kills the process.
            // SAFETY: resetting a signal's action is async-signal-safe.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &sa, ptr::null_mut());
            }
        }
    }
}

/// Writes the overflow report to stderr with `write(2)` only.
pub(crate) fn report_overflow(stack_size: usize, addr: usize) {
    let mut buf = [0u8; 512];
    let mut n = 0;
    let mut push = |s: &[u8]| {
        let k = s.len().min(buf.len() - n);
        buf[n..n + k].copy_from_slice(&s[..k]);
        n += k;
    };
    push(b"\nfatal runtime error: greenlet stack overflow: greenlet '");
    let mut name = [0u8; 128];
    let len = crate::greenlet::raw::current_name_for_crash(&mut name);
    push(&name[..len]);
    push(b"' overran its ");
    let mut num = [0u8; 20];
    push(fmt_usize(stack_size / 1024, &mut num));
    push(b" KiB stack (fault at 0x");
    let mut hex = [0u8; 16];
    push(fmt_hex(addr, &mut hex));
    push(b"); raise it with gevent::config::set_stack_size or GEVENT_STACK_SIZE\n");
    // SAFETY: write(2) is async-signal-safe; buf[..n] is initialised.
    unsafe { libc::write(2, buf.as_ptr().cast(), n) };
}

fn fmt_usize(mut v: usize, out: &mut [u8; 20]) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &out[i..]
}

fn fmt_hex(v: usize, out: &mut [u8; 16]) -> &[u8] {
    for (i, b) in out.iter_mut().enumerate() {
        let d = (v >> ((15 - i) * 4)) & 0xf;
        *b = b"0123456789abcdef"[d];
    }
    &out[..]
}
