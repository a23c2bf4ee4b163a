//! Waiting on many objects at once (gevent's `_hub_primitives`: `wait`,
//! `iwait`) and the greenlet-collection helpers `joinall` and `killall`.

use std::cell::Cell;
use std::rc::Rc;

use crate::core::Timer;
use crate::error::{Error, Result};
use crate::greenlet::raw::{self, Msg};
use crate::greenlet::{AnyGreenlet, Greenlet};
use crate::hub::{Seconds, checked_timeout, get_hub};
use crate::linkable::{LinkId, ReadySet, Waitable};

/// Yields objects as they become ready (gevent's `iwait`). Dropping it
/// unlinks whatever it still watches (gevent's context-manager exit).
#[must_use = "an Iwait does nothing unless iterated; dropping it unlinks everything it watches"]
pub struct Iwait<'a, W: Waitable> {
    objs: &'a [W],
    links: Vec<Option<LinkId>>,
    set: Rc<ReadySet>,
    remaining: usize,
    timer: Option<Timer>,
    timed_out: Rc<Cell<bool>>,
}

/// Iterates over `objs` in the order they become ready; each `next()`
/// blocks until one more is.
///
/// Objects of different types (greenlets of different result types,
/// events, async results) go together as `&dyn Waitable`;
/// [`indexed`](Iwait::indexed) tells which one became ready by position,
/// [`Waitable::same_as`] by identity:
///
/// ```
/// use gevent::event::{AsyncResult, Event};
/// use gevent::{Waitable, iwait, spawn};
///
/// let ev = Event::new();
/// let ar: AsyncResult<u8> = AsyncResult::new();
/// let g = spawn(|| Ok(String::from("first")));
/// let (e2, a2) = (ev.clone(), ar.clone());
/// let setter = spawn(move || { e2.set(); a2.set(1); Ok(()) });
/// let objs: [&dyn Waitable; 3] = [&ev, &ar, &g];
/// let mut order = Vec::new();
/// for r in iwait(&objs).indexed() {
///     let (i, obj) = r?;
///     if obj.same_as(&g) {
///         assert_eq!(i, 2);
///     }
///     order.push(i);
/// }
/// assert_eq!(order, [2, 0, 1]);
/// # setter.join()?;
/// # Ok::<(), gevent::Error>(())
/// ```
pub fn iwait<W: Waitable>(objs: &[W]) -> Iwait<'_, W> {
    Iwait::new(objs, None, None)
}

/// [`iwait`] that stops (yields `None`) after `secs`.
///
/// # Errors
/// [`Error::InvalidArgument`] for NaN seconds.
pub fn iwait_timeout<W: Waitable>(objs: &[W], secs: impl Seconds) -> Result<Iwait<'_, W>> {
    Ok(Iwait::new(objs, Some(checked_timeout(secs)?), None))
}

/// [`iwait`] that stops after `count` objects (and optionally `timeout`).
///
/// # Errors
/// [`Error::InvalidArgument`] for NaN seconds.
pub fn iwait_count<W: Waitable>(
    objs: &[W],
    count: usize,
    timeout: Option<f64>,
) -> Result<Iwait<'_, W>> {
    if let Some(t) = timeout {
        checked_timeout(t)?;
    }
    Ok(Iwait::new(objs, timeout, Some(count)))
}

impl<'a, W: Waitable> Iwait<'a, W> {
    fn new(objs: &'a [W], timeout: Option<f64>, count: Option<usize>) -> Self {
        let set: Rc<ReadySet> = Rc::default();
        let links = (0..objs.len())
            .map(|i| Some(objs[i].link_ready(&set, i)))
            .collect();
        let timed_out = Rc::new(Cell::new(false));
        let timer = timeout.and_then(|t| {
            let lp = get_hub().loop_().clone();
            lp.update_now();
            let timer = lp.timer(t.max(0.0), 0.0).ok()?;
            let set = set.clone();
            let flag = timed_out.clone();
            timer
                .start(move || {
                    flag.set(true);
                    set.wake();
                })
                .ok()?;
            Some(timer)
        });
        Iwait {
            objs,
            remaining: count.unwrap_or(objs.len()).min(objs.len()),
            links,
            set,
            timer,
            timed_out,
        }
    }

    fn unlink_all(&mut self) {
        for (i, l) in self.links.iter_mut().enumerate() {
            if let Some(id) = l.take() {
                self.objs[i].unlink(id);
            }
        }
        if let Some(t) = self.timer.take() {
            t.stop();
        }
    }
}

impl<'a, W: Waitable> Iterator for Iwait<'a, W> {
    type Item = Result<&'a W>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_indexed().map(|r| r.map(|(_, w)| w))
    }
}

impl<'a, W: Waitable> Iwait<'a, W> {
    /// Yields `(position in the slice, object)` instead of the object: the
    /// direct answer to "which one became ready?", also for a slice of
    /// mixed objects.
    ///
    /// ```
    /// use gevent::event::Event;
    /// use gevent::{Waitable, iwait, spawn};
    ///
    /// let ev = Event::new();
    /// let g = spawn(|| Ok("done"));
    /// let objs: [&dyn Waitable; 2] = [&ev, &g];
    /// let (i, first) = iwait(&objs).indexed().next().unwrap()?;
    /// assert_eq!(i, 1);
    /// assert!(first.same_as(&g));
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn indexed(self) -> Indexed<'a, W> {
        Indexed(self)
    }

    fn next_indexed(&mut self) -> Option<Result<(usize, &'a W)>> {
        loop {
            if self.remaining == 0 || self.timed_out.get() {
                self.unlink_all();
                return None;
            }
            let i = self.set.ready.borrow_mut().pop_front();
            if let Some(i) = i {
                self.links[i] = None;
                self.remaining -= 1;
                return Some(Ok((i, &self.objs[i])));
            }
            let hub = get_hub();
            if let Err(e) = hub.ensure_can_block() {
                return Some(Err(e));
            }
            let token = raw::park_token();
            self.set.token.set(Some(token));
            let r = hub.switch_wait();
            raw::unpark();
            self.set.token.set(None);
            if let Err(e) = r {
                self.unlink_all();
                return Some(Err(e));
            }
        }
    }
}

/// [`Iwait::indexed`]: yields `(position, object)` as objects become ready.
#[must_use = "an Iwait does nothing unless iterated; dropping it unlinks everything it watches"]
pub struct Indexed<'a, W: Waitable>(Iwait<'a, W>);

impl<'a, W: Waitable> Iterator for Indexed<'a, W> {
    type Item = Result<(usize, &'a W)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_indexed()
    }
}

impl<W: Waitable> Drop for Iwait<'_, W> {
    fn drop(&mut self) {
        self.unlink_all();
    }
}

fn collect<'a, W: Waitable>(it: Iwait<'a, W>) -> Result<Vec<&'a W>> {
    let mut out = Vec::new();
    for r in it {
        out.push(r?);
    }
    Ok(out)
}

/// Blocks until every object is ready; returns them in the order they
/// became ready (gevent's `wait(objects)`). Mixed objects go as
/// `&dyn Waitable`:
///
/// ```
/// use gevent::event::Event;
/// use gevent::{Waitable, spawn, wait};
///
/// let ev = Event::new();
/// let e = ev.clone();
/// let g = spawn(move || { e.set(); Ok(3.5) });
/// let objs: [&dyn Waitable; 2] = [&ev, &g];
/// let ready = wait(&objs)?;
/// assert_eq!(ready.len(), 2);
/// # Ok::<(), gevent::Error>(())
/// ```
///
/// # Errors
/// Whatever is thrown into the caller while it waits (`LoopExit` if they
/// can never all become ready).
pub fn wait<W: Waitable>(objs: &[W]) -> Result<Vec<&W>> {
    collect(iwait(objs))
}

/// [`wait`] giving up after `secs`: returns those ready by then.
///
/// # Errors
/// As [`wait`].
pub fn wait_timeout<W: Waitable>(objs: &[W], secs: impl Seconds) -> Result<Vec<&W>> {
    collect(iwait_timeout(objs, secs)?)
}

/// [`wait`] returning once `count` objects are ready (or `timeout` passed).
///
/// # Errors
/// As [`wait`].
pub fn wait_count<W: Waitable>(objs: &[W], count: usize, timeout: Option<f64>) -> Result<Vec<&W>> {
    collect(iwait_count(objs, count, timeout)?)
}

/// gevent's `wait()` with no objects: runs the loop until nothing is left
/// to do (the hub's `join`). Main greenlet only.
///
/// # Errors
/// [`Error::InvalidArgument`] from another greenlet.
pub fn wait_loop() -> Result<bool> {
    get_hub().join()
}

/// gevent's `wait(timeout=secs)` with no objects: false if work remained
/// after `secs`.
///
/// # Errors
/// As [`wait_loop`].
pub fn wait_loop_timeout(secs: impl Seconds) -> Result<bool> {
    get_hub().join_timeout(secs)
}

/// Waits for every greenlet to finish; returns the greenlets that finished,
/// in the order they did (gevent's `joinall`). Failures are not raised.
/// Greenlets of different result types go as [`AnyGreenlet`]s (anything
/// [`Waitable`] and `Clone` works, `&dyn Waitable` included):
///
/// ```
/// use gevent::{joinall, spawn};
///
/// let a = spawn(|| Ok(1));
/// let b = spawn(|| Ok("two"));
/// let done = joinall(&[a.any(), b.any()])?;
/// assert_eq!(done.len(), 2);
/// assert_eq!(done[1].downcast::<&str>().unwrap().get()?, "two");
/// # Ok::<(), gevent::Error>(())
/// ```
///
/// # Errors
/// Whatever is thrown into the caller while it waits.
pub fn joinall<W: Waitable + Clone>(objs: &[W]) -> Result<Vec<W>> {
    Ok(wait(objs)?.into_iter().cloned().collect())
}

/// [`joinall`] giving up after `secs`: the ones finished by then. Never a
/// timeout error.
///
/// # Errors
/// As [`joinall`].
pub fn joinall_timeout<W: Waitable + Clone>(objs: &[W], secs: impl Seconds) -> Result<Vec<W>> {
    Ok(wait_timeout(objs, secs)?.into_iter().cloned().collect())
}

/// gevent's `joinall(raise_error=True)`: the first greenlet to fail (in
/// the order they finished) makes this return its error at once.
///
/// # Errors
/// That failure, or as [`joinall`].
pub fn joinall_raise_error<W: Waitable + Clone>(
    objs: &[W],
    timeout: Option<f64>,
) -> Result<Vec<W>> {
    let mut out = Vec::new();
    let it = match timeout {
        Some(t) => iwait_timeout(objs, t)?,
        None => iwait(objs),
    };
    for r in it {
        let w = r?;
        if let Some(e) = w.exception() {
            return Err(e);
        }
        out.push(w.clone());
    }
    Ok(out)
}

/// gevent's `joinall(count=n)`: returns once `count` have finished.
///
/// # Errors
/// As [`joinall`].
pub fn joinall_count<W: Waitable + Clone>(
    objs: &[W],
    count: usize,
    timeout: Option<f64>,
) -> Result<Vec<W>> {
    Ok(wait_count(objs, count, timeout)?
        .into_iter()
        .cloned()
        .collect())
}

/// Something [`killall`] can kill: a [`Greenlet<T>`] of any `T`, an
/// [`AnyGreenlet`], or a reference to either.
pub trait Kill: Waitable {
    /// Asks the greenlet to die with `err`, without waiting (gevent's
    /// `kill(block=False)`).
    fn kill_request(&self, err: Error);
}

impl<T: 'static> Kill for Greenlet<T> {
    fn kill_request(&self, err: Error) {
        let _ = self.kill_impl(err, false, None);
    }
}

impl Kill for AnyGreenlet {
    fn kill_request(&self, err: Error) {
        self.kill_with_nowait(err)
    }
}

impl<K: Kill + ?Sized> Kill for &K {
    fn kill_request(&self, err: Error) {
        (**self).kill_request(err)
    }
}

/// Kills every greenlet with `GreenletExit` and waits until all are dead
/// (gevent's `killall`). Greenlets of different result types go together
/// as [`AnyGreenlet`]s (`AnyGreenlet::from(&g)` or `g.any()`).
///
/// ```
/// use gevent::{AnyGreenlet, killall, sleep, spawn};
///
/// let numbers = spawn(|| { sleep(10.0)?; Ok(1) });
/// let text = spawn(|| { sleep(10.0)?; Ok("text") });
/// killall(&[AnyGreenlet::from(&numbers), text.any()])?;
/// assert!(numbers.killed() && text.killed());
/// # Ok::<(), gevent::Error>(())
/// ```
///
/// # Errors
/// Whatever is thrown into the caller while it waits.
pub fn killall<K: Kill>(greenlets: &[K]) -> Result<()> {
    killall_with(greenlets, Error::GreenletExit, true, None)
}

/// gevent's `killall(greenlets, exception, block, timeout)`.
///
/// # Errors
/// [`Error::Timeout`] when `timeout` passes with greenlets still alive;
/// otherwise as [`killall`].
pub fn killall_with<K: Kill>(
    greenlets: &[K],
    err: Error,
    block: bool,
    timeout: Option<f64>,
) -> Result<()> {
    for g in greenlets {
        g.kill_request(err.clone());
    }
    if !block {
        return Ok(());
    }
    let alive: Vec<&K> = greenlets.iter().filter(|g| !g.ready()).collect();
    if alive.is_empty() {
        return Ok(());
    }
    match timeout {
        None => {
            wait(&alive)?;
            Ok(())
        }
        Some(t) => {
            let done = wait_timeout(&alive, t)?;
            if done.len() < alive.len() {
                Err(Error::Timeout(crate::error::TimeoutError {
                    id: 0,
                    seconds: Some(t),
                    message: None,
                }))
            } else {
                Ok(())
            }
        }
    }
}

/// Kills `g` without waiting (gevent's `gevent.kill`).
pub fn kill<T: 'static>(g: &Greenlet<T>) {
    g.kill_nowait()
}

/// Kills `g` with `err` without waiting (gevent's `gevent.kill(g, exc)`).
pub fn kill_with<T: 'static>(g: &Greenlet<T>, err: Error) {
    g.kill_with_nowait(err)
}

/// gevent's `killall` over raw greenlets (`spawn_raw`): throws `err` into
/// each live one through the loop; with `block`, waits (yielding) until all
/// are dead.
///
/// # Errors
/// Whatever is thrown into the caller while it waits.
pub fn killall_raw(greenlets: &[crate::RawGreenlet], err: Error, block: bool) -> Result<()> {
    let hub = get_hub();
    for g in greenlets {
        if g.dead() {
            continue;
        }
        let g = g.clone();
        let err = err.clone();
        hub.loop_().run_callback_fn(Box::new(move || {
            if !g.started() {
                // Never ran: it never will.
                crate::greenlet::raw::discard_unstarted(&g);
            } else if g.active() && !g.is_current() {
                crate::hub::hub_switch(&g, Msg::Throw(err));
            }
        }));
    }
    if block {
        while greenlets.iter().any(|g| !g.dead()) {
            crate::sleep(0.0)?;
        }
    }
    Ok(())
}
