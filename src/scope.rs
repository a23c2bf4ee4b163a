//! Scoped greenlets: [`scope`], in the shape of `std::thread::scope`.
//! Greenlets spawned in a scope may borrow from the enclosing greenlet's
//! stack, because `scope` does not return, and does not let its frame be
//! unwound, before every one of them is dead.
//!
//! ```
//! let mut total = 0;
//! let words = vec!["gevent", "for", "rust"];
//! gevent::scope(|s| {
//!     let lens: Vec<_> = words
//!         .iter()
//!         .map(|w| s.spawn(move || { gevent::sleep(0.001)?; Ok(w.len()) }))
//!         .collect();
//!     for g in &lens {
//!         total += g.get()?;
//!     }
//!     Ok(())
//! })?;
//! assert_eq!(total, 13);
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! # How the scope ends
//! * The body returns `Ok`: the scope waits for every greenlet spawned in it
//!   (including those spawned by them) and returns the body's value.
//! * The body returns `Err`, panics, or the wait is interrupted (a
//!   `Timeout` fires in the enclosing greenlet, it is killed): the
//!   greenlets still alive are killed with `GreenletExit` and waited for,
//!   then the error (or panic) goes on. If waiting keeps failing (the loop
//!   can no longer wake them), they are unwound on the spot.
//! * The enclosing greenlet is itself being unwound (its hub destroyed, its
//!   thread exiting), so it cannot wait: the greenlets still alive are
//!   unwound on the spot, before its frame goes away.
//!
//! A child's failure does not fail the scope: it is reported by the hub
//! (as every greenlet's) and kept in the child's handle.
//!
//! # Differences from gevent
//! gevent has no scopes (Python closures need none); this is what lets a
//! translation borrow instead of `Rc`-cloning everything a greenlet uses.

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::greenlet::raw;
use crate::greenlet::{AnyGreenlet, Greenlet};
use crate::hub::get_hub;

/// Greenlets spawned in a [`scope`]; see the module docs.
pub struct Scope<'scope, 'env: 'scope> {
    children: RefCell<Vec<AnyGreenlet>>,
    /// Invariant over 'scope, as `std::thread::Scope`.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

/// Runs `f` with a [`Scope`] whose greenlets may borrow from the caller;
/// returns once all of them are dead (see the module docs for how it ends
/// on errors, panics, kills and timeouts).
///
/// # Blocking
/// Waits for the scope's greenlets.
///
/// # Errors
/// [`Error::BlockingSwitchOut`] from inside the hub (without running `f`);
/// `f`'s error; whatever is thrown into the caller while it waits.
pub fn scope<'env, R, F>(f: F) -> Result<R>
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> Result<R>,
{
    get_hub().ensure_can_block()?;
    let scope = Scope {
        children: RefCell::new(Vec::new()),
        scope: PhantomData,
        env: PhantomData,
    };
    // Ends the children whatever happens from here on, unwinding included.
    let guard = EndGuard(&scope);
    let r = f(&scope).and_then(|v| scope.join_all().map(|()| v));
    drop(guard);
    r
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Spawns a greenlet running `f`, which may borrow anything that
    /// outlives the scope (gevent's `spawn`, scoped).
    pub fn spawn<T: 'static, F>(&'scope self, f: F) -> Greenlet<T>
    where
        F: FnOnce() -> Result<T> + 'scope,
    {
        let f: Box<dyn FnOnce() -> Result<T> + 'scope> = Box::new(f);
        // SAFETY: only the lifetime is changed. The closure runs, or is
        // dropped unrun, by the time its greenlet is dead (a greenlet
        // consumes its function when it runs it and drops it when it is
        // killed or abandoned before starting); `scope` does not return,
        // and its frame is not unwound, before every greenlet it spawned is
        // dead (`EndGuard`). So nothing the closure borrows is used after
        // 'scope ends. The result `T` is 'static.
        let f: Box<dyn FnOnce() -> Result<T> + 'static> = unsafe { std::mem::transmute(f) };
        let g = Greenlet::spawn(f);
        self.children.borrow_mut().push(g.any());
        g
    }

    /// Greenlets spawned in this scope so far that are not dead yet.
    pub fn alive(&self) -> usize {
        self.children.borrow().iter().filter(|g| !g.ready()).count()
    }

    fn alive_children(&self) -> Vec<AnyGreenlet> {
        self.children
            .borrow()
            .iter()
            .filter(|g| !g.ready())
            .cloned()
            .collect()
    }

    /// Waits for every child, including those spawned meanwhile.
    fn join_all(&self) -> Result<()> {
        loop {
            let alive = self.alive_children();
            if alive.is_empty() {
                return Ok(());
            }
            crate::wait::wait(&alive)?;
        }
    }

    /// Kills and waits for the children still alive; unwinds them on the
    /// spot when waiting is impossible or keeps failing.
    fn end_all(&self) {
        let mut failed_waits = 0;
        loop {
            let alive = self.alive_children();
            if alive.is_empty() {
                return;
            }
            let can_wait = failed_waits < 3
                && !raw::current_unwinding()
                && get_hub().ensure_can_block().is_ok();
            if can_wait {
                for g in &alive {
                    g.kill_nowait();
                }
                match crate::wait::wait(&alive) {
                    Ok(_) => {}
                    Err(Error::LoopExit(_) | Error::HubDestroyed) => failed_waits = 3,
                    // Interrupted (another kill, a timeout): wait again.
                    Err(_) => failed_waits += 1,
                }
            } else {
                for g in &alive {
                    raw::unwind_now(g.raw());
                }
            }
        }
    }
}

/// Ends a scope's children when the scope is left, whichever way.
struct EndGuard<'a, 'scope, 'env>(&'a Scope<'scope, 'env>);

impl Drop for EndGuard<'_, '_, '_> {
    fn drop(&mut self) {
        self.0.end_all();
    }
}
