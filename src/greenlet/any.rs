//! [`AnyGreenlet`]: a [`Greenlet<T>`] of any result type, for collections
//! of greenlets of different types (a [`Group`](crate::pool::Group)'s
//! members, `joinall`/`killall` over mixed greenlets).

use std::any::Any;
use std::fmt;
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::greenlet::{Greenlet, RawGreenlet};
use crate::linkable::{LinkId, ReadySet, Waitable};
use crate::timeout::{TimeoutArg, TimeoutSpec};

/// What a group needs from a member, whatever its result type.
pub(crate) trait MemberOps {
    fn raw(&self) -> &RawGreenlet;
    fn ready(&self) -> bool;
    fn started(&self) -> bool;
    fn successful(&self) -> bool;
    fn killed(&self) -> bool;
    fn exception(&self) -> Option<Error>;
    fn kill_impl(&self, err: Error, block: bool, timeout: Option<f64>) -> Result<bool>;
    fn join_spec(&self, timeout: Option<TimeoutSpec>) -> Result<bool>;
    fn rawlink(&self, f: Box<dyn FnMut()>) -> LinkId;
    fn link_ready(&self, set: &Rc<ReadySet>, i: usize) -> LinkId;
    fn unlink(&self, id: LinkId) -> bool;
    fn as_any(&self) -> &dyn Any;
    fn debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    fn identity(&self) -> *const ();
}

impl<T: 'static> MemberOps for Greenlet<T> {
    fn raw(&self) -> &RawGreenlet {
        Greenlet::raw(self)
    }

    fn ready(&self) -> bool {
        Greenlet::ready(self)
    }

    fn started(&self) -> bool {
        Greenlet::started(self)
    }

    fn successful(&self) -> bool {
        Greenlet::successful(self)
    }

    fn killed(&self) -> bool {
        Greenlet::killed(self)
    }

    fn exception(&self) -> Option<Error> {
        Greenlet::exception(self)
    }

    fn kill_impl(&self, err: Error, block: bool, timeout: Option<f64>) -> Result<bool> {
        Greenlet::kill_impl(self, err, block, timeout)
    }

    fn join_spec(&self, timeout: Option<TimeoutSpec>) -> Result<bool> {
        match timeout {
            None => self.join().map(|()| true),
            Some(TimeoutSpec::Seconds(s)) => self.join_timeout(s),
            Some(TimeoutSpec::Timeout(t)) => self.join_timeout(t),
        }
    }

    fn rawlink(&self, f: Box<dyn FnMut()>) -> LinkId {
        Waitable::rawlink(self, f)
    }

    fn link_ready(&self, set: &Rc<ReadySet>, i: usize) -> LinkId {
        Waitable::link_ready(self, set, i)
    }

    fn unlink(&self, id: LinkId) -> bool {
        Greenlet::unlink(self, id)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }

    fn identity(&self) -> *const () {
        Waitable::identity(self)
    }
}

/// A [`Greenlet<T>`] of any `T`: how a [`Group`](crate::pool::Group)
/// hands out its members, and how greenlets of different result types go
/// together into `joinall`, `killall` or a `Vec`. Cloning gives another
/// handle to the same greenlet; equality is identity;
/// [`downcast`](Self::downcast) gets the typed greenlet back.
///
/// ```
/// use gevent::{AnyGreenlet, joinall, spawn};
///
/// let all: Vec<AnyGreenlet> = vec![spawn(|| Ok(1)).any(), spawn(|| Ok("x")).any()];
/// joinall(&all)?;
/// assert_eq!(all[0].downcast::<i32>().unwrap().get()?, 1);
/// # Ok::<(), gevent::Error>(())
/// ```
#[derive(Clone)]
pub struct AnyGreenlet(pub(crate) Rc<dyn MemberOps>);

impl AnyGreenlet {
    /// The underlying raw greenlet.
    pub fn raw(&self) -> &RawGreenlet {
        self.0.raw()
    }

    /// The greenlet's name.
    pub fn name(&self) -> String {
        self.0.raw().name()
    }

    /// True once the greenlet finished, failed or was killed.
    pub fn ready(&self) -> bool {
        self.0.ready()
    }

    /// The same as [`ready`](Self::ready).
    pub fn dead(&self) -> bool {
        self.0.ready()
    }

    /// True once started and until dead (gevent's `bool(greenlet)`).
    pub fn started(&self) -> bool {
        self.0.started()
    }

    /// True if it ended without a failure (a kill counts as success).
    pub fn successful(&self) -> bool {
        self.0.successful()
    }

    /// True if it was ended by `GreenletExit`.
    pub fn killed(&self) -> bool {
        self.0.killed()
    }

    /// The failure it ended with (not `GreenletExit`).
    pub fn exception(&self) -> Option<Error> {
        self.0.exception()
    }

    /// The typed greenlet, if its result type is `T`.
    pub fn downcast<T: 'static>(&self) -> Option<Greenlet<T>> {
        self.0.as_any().downcast_ref::<Greenlet<T>>().cloned()
    }

    /// True if its result type is `T`.
    pub fn is<T: 'static>(&self) -> bool {
        self.0.as_any().is::<Greenlet<T>>()
    }

    /// Blocks until the greenlet is dead ([`Greenlet::join`]).
    ///
    /// # Errors
    /// As [`Greenlet::join`].
    pub fn join(&self) -> Result<()> {
        self.0.join_spec(None).map(|_| ())
    }

    /// [`join`](Self::join) giving up after `timeout`; true when dead.
    ///
    /// # Errors
    /// As [`Greenlet::join_timeout`].
    pub fn join_timeout(&self, timeout: impl TimeoutArg) -> Result<bool> {
        self.0.join_spec(Some(timeout.timeout_spec()?))
    }

    /// Kills with `GreenletExit` and waits until dead ([`Greenlet::kill`]).
    ///
    /// # Errors
    /// As [`Greenlet::kill`].
    pub fn kill(&self) -> Result<()> {
        self.0
            .kill_impl(Error::GreenletExit, true, None)
            .map(|_| ())
    }

    /// Kills with `GreenletExit` without waiting.
    pub fn kill_nowait(&self) {
        let _ = self.0.kill_impl(Error::GreenletExit, false, None);
    }

    /// Kills with `err` and waits until dead.
    ///
    /// # Errors
    /// As [`Greenlet::kill`].
    pub fn kill_with(&self, err: Error) -> Result<()> {
        self.0.kill_impl(err, true, None).map(|_| ())
    }

    /// Kills with `err` without waiting.
    pub fn kill_with_nowait(&self, err: Error) {
        let _ = self.0.kill_impl(err, false, None);
    }
}

impl<T: 'static> From<Greenlet<T>> for AnyGreenlet {
    fn from(g: Greenlet<T>) -> AnyGreenlet {
        AnyGreenlet(Rc::new(g))
    }
}

impl<T: 'static> From<&Greenlet<T>> for AnyGreenlet {
    fn from(g: &Greenlet<T>) -> AnyGreenlet {
        AnyGreenlet(Rc::new(g.clone()))
    }
}

impl From<&AnyGreenlet> for AnyGreenlet {
    fn from(g: &AnyGreenlet) -> AnyGreenlet {
        g.clone()
    }
}

impl PartialEq for AnyGreenlet {
    fn eq(&self, other: &AnyGreenlet) -> bool {
        self.raw() == other.raw()
    }
}

impl<T: 'static> PartialEq<Greenlet<T>> for AnyGreenlet {
    fn eq(&self, other: &Greenlet<T>) -> bool {
        self.raw() == other.raw()
    }
}

impl fmt::Debug for AnyGreenlet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug(f)
    }
}

impl Waitable for AnyGreenlet {
    fn ready(&self) -> bool {
        self.0.ready()
    }

    fn rawlink(&self, f: Box<dyn FnMut()>) -> LinkId {
        self.0.rawlink(f)
    }

    fn link_ready(&self, set: &Rc<ReadySet>, i: usize) -> LinkId {
        self.0.link_ready(set, i)
    }

    fn unlink(&self, id: LinkId) -> bool {
        self.0.unlink(id)
    }

    fn exception(&self) -> Option<Error> {
        self.0.exception()
    }

    fn identity(&self) -> *const () {
        self.0.identity()
    }
}

/// Anything naming a greenlet, for the membership queries
/// ([`Group::contains`], [`Group::discard`], [`Group::killone`]):
/// [`Greenlet<T>`], [`AnyGreenlet`] and [`RawGreenlet`] (so
/// `group.contains(&gevent::getcurrent())` asks whether the running
/// greenlet is a member).
pub trait AsRawGreenlet {
    /// The raw greenlet it names.
    fn as_raw_greenlet(&self) -> &RawGreenlet;
}

impl<T: 'static> AsRawGreenlet for Greenlet<T> {
    fn as_raw_greenlet(&self) -> &RawGreenlet {
        self.raw()
    }
}

impl AsRawGreenlet for AnyGreenlet {
    fn as_raw_greenlet(&self) -> &RawGreenlet {
        self.raw()
    }
}

impl AsRawGreenlet for RawGreenlet {
    fn as_raw_greenlet(&self) -> &RawGreenlet {
        self
    }
}
