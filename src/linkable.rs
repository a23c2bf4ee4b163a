//! The link machinery shared by everything one can wait on (gevent's
//! `_abstract_linkable.AbstractLinkable`): an ordered list of callbacks
//! fired once each when the object becomes ready, and the [`Waitable`]
//! trait that `gevent::wait`, `iwait` and `joinall` work over.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

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

/// An ordered list of one-shot links.
pub(crate) struct Links<A> {
    next: Cell<u64>,
    list: RefCell<VecDeque<(u64, LinkFn<A>)>>,
    /// A notification pass is scheduled or running.
    pub(crate) scheduled: Cell<bool>,
}

impl<A> Default for Links<A> {
    fn default() -> Self {
        Links {
            next: Cell::new(1),
            list: RefCell::new(VecDeque::new()),
            scheduled: Cell::new(false),
        }
    }
}

impl<A> Links<A> {
    pub(crate) fn add(&self, f: LinkFn<A>) -> LinkId {
        let id = self.next.get();
        self.next.set(id + 1);
        self.list.borrow_mut().push_back((id, f));
        LinkId(id)
    }

    pub(crate) fn remove(&self, id: LinkId) -> bool {
        let mut l = self.list.borrow_mut();
        match l.iter().position(|(i, _)| *i == id.0) {
            Some(p) => {
                drop(l.remove(p));
                true
            }
            None => false,
        }
    }

    pub(crate) fn clear(&self) {
        let old = std::mem::take(&mut *self.list.borrow_mut());
        drop(old);
    }

    pub(crate) fn len(&self) -> usize {
        self.list.borrow().len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.borrow().is_empty()
    }

    /// Fires links in order, one at a time, while `go_on()` holds; each
    /// link is removed before it runs, so an `unlink` made by an earlier
    /// link takes effect and a link never fires twice.
    pub(crate) fn notify(&self, a: &A, go_on: impl Fn() -> bool) {
        while go_on() {
            let next = self.list.borrow_mut().pop_front();
            let Some((_, mut f)) = next else { break };
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(a)));
            if let Err(payload) = r {
                let err = crate::greenlet::raw::panic_to_error(payload);
                crate::hub::get_hub().handle_error("link", err);
            }
        }
    }
}
