//! # gevent for Rust
//!
//! gevent's model in Rust: code that *looks* blocking runs in greenlets; a
//! special greenlet, the hub, runs the libev event loop; a greenlet that
//! would block starts a watcher and switches to the hub, and the watcher's
//! callback switches back into it when it fires.
//!
//! ```
//! use gevent::{spawn, sleep, joinall};
//!
//! let a = spawn(|| { sleep(0.02)?; Ok("a") });
//! let b = spawn(|| { sleep(0.01)?; Ok("b") });
//! let done = joinall(&[a.clone(), b.clone()]).unwrap();
//! assert_eq!(done[0], b); // b finished first
//! assert_eq!(a.get().unwrap(), "a");
//! ```
//!
//! Translating gevent code follows three rules:
//! 1. exceptions become [`Result`]: where gevent raises into a blocked
//!    greenlet, the blocking call returns `Err(..)`;
//! 2. `timeout=` becomes a `_timeout` twin, `block=False` becomes `try_`;
//! 3. seconds are `f64` (or anything [`hub::Seconds`]).
//!
//! Greenlets, the hub and everything built on them are per-thread
//! (`!Send`).
//!
//! # Shared state: hold no `RefCell` borrow across a blocking call
//! Greenlets of one thread share data through `Rc<RefCell<..>>` or
//! `Rc<Cell<..>>`. A borrow is only safe *between* blocking calls: every
//! blocking call (`sleep`, `get`, `join`, `put`, `wait`, ...) may switch to
//! another greenlet, and if that one borrows the same `RefCell` it panics
//! with "already mutably borrowed". Take what you need, drop the borrow,
//! then block; or hold a [`lock::Semaphore`] (gevent's `Lock`) across the
//! blocking part.
//!
//! ```
//! use std::{cell::RefCell, rc::Rc};
//! use gevent::{joinall, sleep, spawn};
//!
//! let log = Rc::new(RefCell::new(Vec::new()));
//! let workers: Vec<_> = (0..3)
//!     .map(|i| {
//!         let log = log.clone();
//!         spawn(move || {
//!             // Wrong: `let mut l = log.borrow_mut(); sleep(0.01)?; l.push(i);`
//!             // keeps the borrow while another worker runs and borrows.
//!             sleep(0.01)?;
//!             log.borrow_mut().push(i); // borrowed and released, no switch inside
//!             Ok(())
//!         })
//!     })
//!     .collect();
//! joinall(&workers)?;
//! assert_eq!(log.borrow().len(), 3);
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! # Borrowing instead of cloning: scoped greenlets
//! [`spawn`] needs a `'static` closure (clone what it uses into it);
//! [`scope`] lets greenlets borrow from the caller, and returns only once
//! they are all dead, as `std::thread::scope`:
//!
//! ```
//! let names = vec![String::from("a"), String::from("bc")];
//! let total = std::cell::Cell::new(0);
//! gevent::scope(|s| {
//!     for n in &names {
//!         let total = &total;
//!         s.spawn(move || { total.set(total.get() + n.len()); Ok(()) });
//!     }
//!     Ok(())
//! })?;
//! assert_eq!(total.get(), 3);
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! # Greenlets of different result types together
//! `joinall`, `killall` and collections take [`AnyGreenlet`]s
//! (`g.any()`); `wait`/`iwait` over greenlets mixed with events take
//! `&dyn Waitable`, and [`Iwait::indexed`] tells which became ready:
//!
//! ```
//! use gevent::{Waitable, event::Event, iwait, joinall, spawn};
//!
//! let a = spawn(|| Ok(1));
//! let b = spawn(|| Ok("two"));
//! joinall(&[a.any(), b.any()])?;
//! let ev = Event::new();
//! ev.set();
//! let objs: [&dyn Waitable; 2] = [&a, &ev];
//! let positions: Vec<usize> = iwait(&objs).indexed().map(|r| r.map(|(i, _)| i)).collect::<Result<_, _>>()?;
//! assert_eq!(positions.len(), 2);
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! # Failures are never silent
//! A greenlet that fails (returns `Err`, panics) is reported by the hub's
//! [`Hub::handle_error`]: through the `log` crate when a logger is
//! installed, on stderr otherwise (gevent prints the traceback to stderr).
//! Its error stays in the greenlet ([`Greenlet::exception`],
//! [`Greenlet::get`]); an error type of your own is caught back with
//! [`Error::downcast_ref`].

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod capi;
pub mod config;
pub mod core;
mod error;
pub mod event;
mod forksafe;
pub mod greenlet;
pub mod hub;
mod idmap;
pub mod libev;
pub mod linkable;
pub mod local;
pub mod lock;
pub mod os;
pub mod pool;
pub mod queue;
mod remote;
mod sanitize;
pub mod scope;
pub mod select;
pub mod server;
pub mod signal;
pub mod socket;
pub(crate) mod stack;
pub mod threadpool;
pub mod timeout;
mod wait;
mod waiter;
mod waitlist;

pub use error::{Error, Result, TimeoutError};
pub use greenlet::{AnyGreenlet, Greenlet, RawGreenlet};
pub use hub::{Hub, Seconds, SignalHandler, get_hub, idle, signal_handler, sleep, sleep_ref};
pub use linkable::{LinkId, Waitable};
pub use os::{fork, reinit};
pub use scope::{Scope, scope};
pub use timeout::{Timeout, with_timeout};
pub use wait::{
    Indexed, Iwait, Kill, iwait, iwait_count, iwait_timeout, joinall, joinall_count,
    joinall_raise_error, joinall_timeout, kill, kill_with, killall, killall_raw, killall_with,
    wait, wait_count, wait_loop, wait_loop_timeout, wait_timeout,
};
pub use waiter::Waiter;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Creates and starts a greenlet running `f` (gevent's `spawn`). It runs at
/// the next loop iteration, after the greenlets spawned before it.
pub fn spawn<T: 'static, F>(f: F) -> Greenlet<T>
where
    F: FnOnce() -> Result<T> + 'static,
{
    Greenlet::spawn(f)
}

/// [`spawn`] that allocates the greenlet's stack now: `Err(Io(ENOMEM))`
/// here instead of a greenlet that ends with it (see
/// [`Greenlet::try_spawn`]).
///
/// # Errors
/// [`Error::Io`] when no stack can be allocated.
pub fn try_spawn<T: 'static, F>(f: F) -> Result<Greenlet<T>>
where
    F: FnOnce() -> Result<T> + 'static,
{
    Greenlet::try_spawn(f)
}

/// Creates a greenlet that starts after `secs` (gevent's `spawn_later`).
///
/// # Errors
/// [`Error::InvalidArgument`] for NaN seconds.
pub fn spawn_later<T: 'static, F>(secs: impl Seconds, f: F) -> Result<Greenlet<T>>
where
    F: FnOnce() -> Result<T> + 'static,
{
    Greenlet::spawn_later(secs, f)
}

/// Starts `f` in a bare greenlet whose parent is the hub (gevent's
/// `spawn_raw`): no result, no links, the fastest way to run something.
/// A panic is reported through the hub's `handle_error`.
pub fn spawn_raw<F: FnOnce() + 'static>(f: F) -> RawGreenlet {
    let hub = get_hub();
    let g = RawGreenlet::with_kind(
        Box::new(move |_| {
            f();
            Ok(None)
        }),
        Some(hub.greenlet().0.clone()),
        greenlet::raw::Kind::Normal,
    );
    hub.loop_()
        .push_callback(core::CallbackEntry::Start(g.clone()));
    g
}

/// The running greenlet (gevent's `getcurrent`).
pub fn getcurrent() -> RawGreenlet {
    RawGreenlet::current()
}
