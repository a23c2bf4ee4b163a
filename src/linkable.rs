//! The link machinery shared by everything one can wait on (gevent's
//! `_abstract_linkable.AbstractLinkable`): an ordered list of one-shot
//! links fired when the object becomes ready, and the [`Waitable`] trait
//! that `gevent::wait`, `iwait` and `joinall` work over.
//!
//! A link is either a closure or the wake-up of a greenlet parked in a
//! `wait` (no allocation). Notification runs from the loop's callback queue,
//! in the order links were added; a pass ends with the last link present
//! when it started, so links added meanwhile wait for the next pass. Objects
//! that "notify all" (Event, AsyncResult) fire every link of the pass even
//! if they were cleared meanwhile (gevent: `set()` then `clear()` still
//! wakes every waiter); the others (Semaphore) stop as soon as they are no
//! longer ready.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::greenlet::raw::{self, WakeToken};
use crate::hub::{Hub, after_switch_data, get_hub};
use crate::timeout::TimeoutSpec;
use crate::waitlist::{Key, WaitList};

/// Identifies a link, for `unlink`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkId(pub(crate) LinkSlot);

/// Where a link lives: inline (with its own counter) or in the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum LinkSlot {
    First(u64),
    Rest(Key),
}

/// Something greenlets can wait on: a greenlet, an event, an async result.
pub trait Waitable {
    /// True once waiting on it would not block.
    fn ready(&self) -> bool;
    /// Calls `f` in the hub once ready (at once, through the loop, if ready
    /// already). `f` must not block.
    fn rawlink(&self, f: Box<dyn FnMut()>) -> LinkId;
    /// Removes a link; true if it was still there.
    fn unlink(&self, id: LinkId) -> bool;
    /// The failure to report for `joinall(raise_error)` forms, if any.
    fn exception(&self) -> Option<Error> {
        None
    }

    /// `rawlink` for `wait`/`iwait`/`joinall`: records position `i` in
    /// `set` once ready. The crate's own objects store it without an
    /// allocation; others get a boxed closure.
    #[doc(hidden)]
    fn link_ready(&self, set: &Rc<ReadySet>, i: usize) -> LinkId {
        let set = set.clone();
        self.rawlink(Box::new(move || set.arrive(i)))
    }

    /// The identity of the object behind this handle: handles that are
    /// clones of each other (and references to them, and an
    /// [`AnyGreenlet`](crate::AnyGreenlet) of a greenlet) share it. By
    /// default the object's own address.
    fn identity(&self) -> *const () {
        self as *const Self as *const ()
    }

    /// True when `self` and `other` are the same object (Python's `is`),
    /// whatever their types: a reference yielded by `iwait` over mixed
    /// objects compared with one of them.
    fn same_as(&self, other: &dyn Waitable) -> bool {
        self.identity() == other.identity()
    }
}

impl<W: Waitable + ?Sized> Waitable for &W {
    fn ready(&self) -> bool {
        (**self).ready()
    }

    fn rawlink(&self, f: Box<dyn FnMut()>) -> LinkId {
        (**self).rawlink(f)
    }

    fn unlink(&self, id: LinkId) -> bool {
        (**self).unlink(id)
    }

    fn exception(&self) -> Option<Error> {
        (**self).exception()
    }

    fn link_ready(&self, set: &Rc<ReadySet>, i: usize) -> LinkId {
        (**self).link_ready(set, i)
    }

    fn identity(&self) -> *const () {
        (**self).identity()
    }
}

/// The link API of a handle `struct X(Rc<Inner>)` whose `Inner` has a
/// `core: LinkCore` and implements [`Linkable`]: `rawlink`, `unlink`,
/// `linkcount` and the [`Waitable`] impl, written once.
macro_rules! linkable_api {
    (impl [$($gen:tt)*] $ty:ty, exception: $exc:expr) => {
        impl<$($gen)*> $ty {
            /// Calls `f` in the hub once ready (at once, through the loop,
            /// if it already is); `f` must not block (gevent's `rawlink`).
            pub fn rawlink(&self, f: impl FnMut() + 'static) -> $crate::linkable::LinkId {
                self.0.core.rawlink(&*self.0, Box::new(f))
            }

            /// Removes a link; true if it had not fired yet.
            pub fn unlink(&self, id: $crate::linkable::LinkId) -> bool {
                self.0.core.links.remove(id)
            }

            /// Links and waiters not yet notified (gevent's `linkcount`).
            pub fn linkcount(&self) -> usize {
                self.0.core.linkcount()
            }
        }

        impl<$($gen)*> PartialEq for $ty {
            /// Identity: both handles name the same object.
            fn eq(&self, other: &Self) -> bool {
                std::rc::Rc::ptr_eq(&self.0, &other.0)
            }
        }

        impl<$($gen)*> $crate::linkable::Waitable for $ty {
            fn ready(&self) -> bool {
                $crate::linkable::Linkable::is_ready(&*self.0)
            }

            fn rawlink(&self, f: Box<dyn FnMut()>) -> $crate::linkable::LinkId {
                self.0.core.rawlink(&*self.0, f)
            }

            fn unlink(&self, id: $crate::linkable::LinkId) -> bool {
                self.0.core.links.remove(id)
            }

            fn link_ready(
                &self,
                set: &std::rc::Rc<$crate::linkable::ReadySet>,
                i: usize,
            ) -> $crate::linkable::LinkId {
                self.0.core.add(&*self.0, $crate::linkable::Link::Ready(set.clone(), i))
            }

            fn exception(&self) -> Option<$crate::Error> {
                let f: fn(&Self) -> Option<$crate::Error> = $exc;
                f(self)
            }

            fn identity(&self) -> *const () {
                std::rc::Rc::as_ptr(&self.0) as *const ()
            }
        }
    };
}

pub(crate) use linkable_api;

/// Schedules `me`'s notification through the loop unless one is pending
/// (`flag` says so).
pub(crate) fn schedule_notify(hub: &Hub, flag: &Cell<bool>, me: Option<Rc<dyn Notify>>) {
    if !flag.replace(true)
        && let Some(me) = me
    {
        hub.loop_()
            .push_callback(crate::core::CallbackEntry::Notify(me));
    }
}

type LinkFn<A> = Box<dyn FnMut(&A)>;

/// One link.
pub(crate) enum Link<A> {
    Fn(LinkFn<A>),
    /// A closure that does not need the object (`Waitable::rawlink`): no
    /// second box around the caller's.
    Plain(Box<dyn FnMut()>),
    Wake(WakeToken),
    /// Position `.1` of a `wait`/`iwait` became ready (no allocation).
    Ready(Rc<ReadySet>, usize),
}

/// The state one `wait`/`iwait` shares with the links it made: the
/// positions that became ready, in order, and the wake-up of the greenlet
/// waiting for the next one.
#[doc(hidden)]
#[derive(Default)]
pub struct ReadySet {
    pub(crate) ready: RefCell<std::collections::VecDeque<usize>>,
    pub(crate) token: Cell<Option<WakeToken>>,
}

impl ReadySet {
    /// Position `i` is ready: record it and wake the waiter, if it waits.
    pub(crate) fn arrive(&self, i: usize) {
        self.ready.borrow_mut().push_back(i);
        self.wake();
    }

    /// Wakes the waiter, if it waits (an arrival or its timeout).
    pub(crate) fn wake(&self) {
        if let Some(t) = self.token.take()
            && let Some(d) = t.fire_data()
        {
            after_switch_data(d);
        }
    }
}

/// Something whose links a loop callback fires (`CallbackEntry::Notify`).
pub(crate) trait Notify {
    /// Fires the pending links.
    fn notify(self: Rc<Self>);
}

/// An ordered list of one-shot links. The first link is stored inline:
/// the common single waiter costs no list allocation. Every operation is
/// O(1), removal by id included (see [`WaitList`]). Each link carries the
/// number of its addition, so a notification pass knows exactly which
/// links were present when it started.
pub(crate) struct Links<A> {
    /// Links added so far (the last one's number).
    added: Cell<u64>,
    /// The oldest link, when it was added to an empty list.
    first: RefCell<Option<(u64, Link<A>)>>,
    rest: RefCell<WaitList<(u64, Link<A>)>>,
    /// A notification pass is scheduled or running.
    pub(crate) scheduled: Cell<bool>,
}

impl<A> Default for Links<A> {
    fn default() -> Self {
        Links {
            added: Cell::new(0),
            first: RefCell::new(None),
            rest: RefCell::new(WaitList::default()),
            scheduled: Cell::new(false),
        }
    }
}

impl<A> Links<A> {
    #[cfg(test)]
    pub(crate) fn add(&self, f: LinkFn<A>) -> LinkId {
        self.add_link(Link::Fn(f))
    }

    #[inline]
    pub(crate) fn add_link(&self, link: Link<A>) -> LinkId {
        let n = self.added.get() + 1;
        self.added.set(n);
        let mut first = self.first.borrow_mut();
        let mut rest = self.rest.borrow_mut();
        if first.is_none() && rest.is_empty() {
            *first = Some((n, link));
            LinkId(LinkSlot::First(n))
        } else {
            LinkId(LinkSlot::Rest(rest.push_back((n, link))))
        }
    }

    /// Removes a link by id (O(1)); true if it had not fired yet.
    #[inline]
    pub(crate) fn remove(&self, id: LinkId) -> bool {
        let taken = match id.0 {
            LinkSlot::First(i) => {
                let mut first = self.first.borrow_mut();
                if first.as_ref().is_some_and(|(n, _)| *n == i) {
                    first.take().map(|(_, l)| l)
                } else {
                    None
                }
            }
            LinkSlot::Rest(k) => self.rest.borrow_mut().remove(k).map(|(_, l)| l),
        };
        // Dropped outside the borrows: a link's captures may touch us.
        taken.is_some()
    }

    pub(crate) fn clear(&self) {
        let first = self.first.borrow_mut().take();
        let rest = self.rest.borrow_mut().take_all();
        drop(first);
        drop(rest);
    }

    pub(crate) fn len(&self) -> usize {
        self.first.borrow().is_some() as usize + self.rest.borrow().len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.borrow().is_none() && self.rest.borrow().is_empty()
    }

    /// Takes the oldest link, if it was added no later than addition
    /// number `upto`.
    #[inline]
    fn pop_front(&self, upto: u64) -> Option<Link<A>> {
        {
            let mut first = self.first.borrow_mut();
            if first.as_ref().is_some_and(|(n, _)| *n <= upto) {
                return first.take().map(|(_, l)| l);
            }
        }
        let mut rest = self.rest.borrow_mut();
        if rest.front().is_some_and(|(n, _)| *n <= upto) {
            return rest.pop_front().map(|(_, (_, l))| l);
        }
        None
    }

    /// Fires links in order, one at a time, while `go_on()` holds, up to the
    /// last link present when the pass started (links added meanwhile wait
    /// for the next pass); each link is removed before it runs, so an
    /// `unlink` made by an earlier link takes effect and a link never fires
    /// twice. A panicking link is reported to the hub and the others still
    /// run.
    #[inline(always)]
    pub(crate) fn notify(&self, a: &A, go_on: impl Fn() -> bool) {
        let upto = self.added.get();
        while go_on() {
            let Some(link) = self.pop_front(upto) else {
                break;
            };
            fire(link, a);
        }
    }
}

impl<A> Links<A> {
    /// Fires every link, including links added while firing, until none is
    /// left (gevent's `Greenlet._notify_links`).
    pub(crate) fn drain(&self, a: &A) {
        while let Some(link) = self.pop_front(u64::MAX) {
            fire(link, a);
        }
    }
}

#[inline(always)]
fn fire<A>(link: Link<A>, a: &A) {
    match link {
        Link::Wake(token) => {
            if let Some(d) = token.fire_data() {
                after_switch_data(d);
            }
        }
        Link::Fn(mut f) => {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(a)));
            if let Err(payload) = r {
                let err = raw::panic_to_error(payload);
                get_hub().handle_error("link", err);
            }
        }
        Link::Plain(mut f) => {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut f));
            if let Err(payload) = r {
                let err = raw::panic_to_error(payload);
                get_hub().handle_error("link", err);
            }
        }
        Link::Ready(set, i) => set.arrive(i),
    }
}

/// The state every linkable object shares (Event, AsyncResult, Semaphore):
/// its hub, its links, greenlets that began waiting while a notification
/// was pending, and whether notification stops once not ready.
pub(crate) struct LinkCore {
    pub(crate) hub: Hub,
    pub(crate) links: Links<()>,
    /// gevent's `arrived_while_waiting`: waiters on a ready object while a
    /// notification pass is pending queue behind the existing links.
    arrived: RefCell<Vec<WakeToken>>,
    notify_all: bool,
}

/// What [`LinkCore`] needs from its object.
pub(crate) trait Linkable: Notify + 'static {
    fn is_ready(&self) -> bool;
    /// The object as a notifier (the `Rc` it lives in).
    fn notifier(&self) -> Option<Rc<dyn Notify>>;
}

impl LinkCore {
    #[inline]
    pub(crate) fn new(notify_all: bool) -> LinkCore {
        LinkCore {
            hub: get_hub(),
            links: Links::default(),
            arrived: RefCell::new(Vec::new()),
            notify_all,
        }
    }

    /// gevent's `_check_and_notify`: schedule a notification pass if ready,
    /// linked and none is pending.
    #[inline]
    pub(crate) fn check_and_notify<L: Linkable + ?Sized>(&self, obj: &L) {
        if obj.is_ready()
            && (!self.links.is_empty() || !self.arrived.borrow().is_empty())
            && !self.links.scheduled.get()
        {
            schedule_notify(&self.hub, &self.links.scheduled, obj.notifier());
        }
    }

    /// The notification pass (run from the loop).
    #[inline(always)]
    pub(crate) fn run_notify<L: Linkable + ?Sized>(&self, obj: &L) {
        let go_on = || self.notify_all || obj.is_ready();
        self.links.notify(&(), go_on);
        if self.arrived.borrow().is_empty() {
            self.links.scheduled.set(false);
            self.check_and_notify(obj);
            return;
        }
        let arrived = std::mem::take(&mut *self.arrived.borrow_mut());
        for t in arrived {
            if !go_on() {
                // Not woken in this pass: wait for the next one.
                self.links.add_link(Link::Wake(t));
                continue;
            }
            if let Some(d) = t.fire_data() {
                after_switch_data(d);
            }
        }
        self.links.scheduled.set(false);
        self.check_and_notify(obj);
    }

    pub(crate) fn rawlink<L: Linkable + ?Sized>(&self, obj: &L, f: Box<dyn FnMut()>) -> LinkId {
        self.add(obj, Link::Plain(f))
    }

    /// Adds `link`, notifying at once (through the loop) if `obj` is ready.
    pub(crate) fn add<L: Linkable + ?Sized>(&self, obj: &L, link: Link<()>) -> LinkId {
        let id = self.links.add_link(link);
        self.check_and_notify(obj);
        id
    }

    /// Blocks the current greenlet until `obj` notifies it (gevent's
    /// `_wait_core`): `Ok(true)` when notified, `Ok(false)` when `timeout`
    /// passed (only this wait's own timeout is swallowed).
    #[inline(always)]
    pub(crate) fn wait_core<L: Linkable + ?Sized>(
        &self,
        obj: &L,
        timeout: Option<TimeoutSpec>,
    ) -> Result<bool> {
        self.hub.ensure_can_block()?;
        match timeout {
            None => self.park(obj, None),
            Some(TimeoutSpec::Seconds(s)) => self.park(obj, Some(s)),
            Some(TimeoutSpec::Timeout(t)) => match t.run(|| self.park(obj, None)) {
                Err(e) if t.is_own_timeout(&e) => Ok(false),
                r => r,
            },
        }
    }

    #[inline(always)]
    fn park<L: Linkable + ?Sized>(&self, obj: &L, secs: Option<f64>) -> Result<bool> {
        let token = raw::park_token();
        let id = self.links.add_link(Link::Wake(token.clone()));
        self.check_and_notify(obj);
        let r = self.hub.park_for(token, secs);
        // Notified: the link fired and was removed (a timer that expired in
        // the same iteration does not count against it).
        let still_linked = self.links.remove(id);
        r.map(|_| !still_linked)
    }

    /// Waits behind the links of a pending notification pass (an object
    /// that is ready, but whose earlier waiters have not run yet).
    pub(crate) fn wait_behind_pending(&self) -> Result<()> {
        if !self.links.scheduled.get() {
            return Ok(());
        }
        self.hub.ensure_can_block()?;
        let token = raw::park_token();
        self.arrived.borrow_mut().push(token);
        let r = self.hub.switch_wait();
        raw::unpark();
        r
    }

    /// Links not yet fired (gevent's `linkcount`).
    pub(crate) fn linkcount(&self) -> usize {
        self.links.len() + self.arrived.borrow().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pass fires exactly the links present when it started, even when
    /// one of them unlinks the last of those and adds a new one.
    #[test]
    fn pass_ends_with_the_links_present_at_its_start() {
        let links: Rc<Links<()>> = Rc::new(Links::default());
        let log: Rc<RefCell<Vec<u32>>> = Rc::default();
        let last: Rc<Cell<Option<LinkId>>> = Rc::default();
        let (l, lg, la) = (links.clone(), log.clone(), last.clone());
        links.add(Box::new(move |_| {
            lg.borrow_mut().push(1);
            assert!(l.remove(la.get().unwrap()));
            let lg = lg.clone();
            l.add(Box::new(move |_| lg.borrow_mut().push(4)));
        }));
        let lg = log.clone();
        links.add(Box::new(move |_| lg.borrow_mut().push(2)));
        let lg = log.clone();
        last.set(Some(links.add(Box::new(move |_| lg.borrow_mut().push(3)))));
        links.notify(&(), || true);
        assert_eq!(*log.borrow(), vec![1, 2]);
        assert_eq!(links.len(), 1);
        links.notify(&(), || true);
        assert_eq!(*log.borrow(), vec![1, 2, 4]);
        assert!(links.is_empty());
    }
}
