//! The link machinery shared by everything one can wait on (gevent's
//! `_abstract_linkable.AbstractLinkable`): an ordered list of callbacks
//! fired once each when the object becomes ready, and the [`Waitable`]
//! trait that `gevent::wait`, `iwait` and `joinall` work over.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use crate::error::Error;

/// Identifies a link, for `unlink`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkId(pub(crate) u64);

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
}

type LinkFn<A> = Box<dyn FnMut(&A)>;

/// Something whose links a loop callback fires (`CallbackEntry::Notify`).
pub(crate) trait Notify {
    /// Fires the pending links.
    fn notify(self: Rc<Self>);
}

/// An ordered list of one-shot links. The first link is stored inline:
/// the common single waiter costs no list allocation.
pub(crate) struct Links<A> {
    next: Cell<u64>,
    first: RefCell<Option<(u64, LinkFn<A>)>>,
    rest: RefCell<VecDeque<(u64, LinkFn<A>)>>,
    /// A notification pass is scheduled or running.
    pub(crate) scheduled: Cell<bool>,
}

impl<A> Default for Links<A> {
    fn default() -> Self {
        Links {
            next: Cell::new(1),
            first: RefCell::new(None),
            rest: RefCell::new(VecDeque::new()),
            scheduled: Cell::new(false),
        }
    }
}

impl<A> Links<A> {
    pub(crate) fn add(&self, f: LinkFn<A>) -> LinkId {
        let id = self.next.get();
        self.next.set(id + 1);
        let mut first = self.first.borrow_mut();
        let mut rest = self.rest.borrow_mut();
        if first.is_none() && rest.is_empty() {
            *first = Some((id, f));
        } else {
            rest.push_back((id, f));
        }
        LinkId(id)
    }

    pub(crate) fn remove(&self, id: LinkId) -> bool {
        let taken = {
            let mut first = self.first.borrow_mut();
            if first.as_ref().is_some_and(|(i, _)| *i == id.0) {
                first.take()
            } else {
                None
            }
        };
        if taken.is_some() {
            drop(taken);
            return true;
        }
        let removed = {
            let mut l = self.rest.borrow_mut();
            l.iter()
                .position(|(i, _)| *i == id.0)
                .and_then(|p| l.remove(p))
        };
        removed.is_some()
    }

    pub(crate) fn clear(&self) {
        let first = self.first.borrow_mut().take();
        let rest = std::mem::take(&mut *self.rest.borrow_mut());
        drop(first);
        drop(rest);
    }

    pub(crate) fn len(&self) -> usize {
        self.first.borrow().is_some() as usize + self.rest.borrow().len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.borrow().is_none() && self.rest.borrow().is_empty()
    }

    fn pop_front(&self) -> Option<(u64, LinkFn<A>)> {
        let f = self.first.borrow_mut().take();
        if f.is_some() {
            return f;
        }
        self.rest.borrow_mut().pop_front()
    }

    /// Fires links in order, one at a time, while `go_on()` holds; each
    /// link is removed before it runs, so an `unlink` made by an earlier
    /// link takes effect and a link never fires twice. A panicking link is
    /// reported to the hub and the others still run.
    pub(crate) fn notify(&self, a: &A, go_on: impl Fn() -> bool) {
        while go_on() {
            let Some((_, mut f)) = self.pop_front() else {
                break;
            };
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(a)));
            if let Err(payload) = r {
                let err = crate::greenlet::raw::panic_to_error(payload);
                crate::hub::get_hub().handle_error("link", err);
            }
        }
    }
}
