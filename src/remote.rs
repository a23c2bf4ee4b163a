//! Reaching a per-thread object from other threads.
//!
//! Events, results and semaphores are `!Send` (`Rc` inside): they live on
//! their hub's thread. A [`Remote`] is a `Send` name for such an object: it
//! keeps the object in a registry of its thread and runs closures on it
//! there, through the hub's thread-safe callback queue
//! ([`LoopHandle`](crate::core::LoopHandle)). While any clone of a
//! `Remote` exists, the hub's loop holds a reference, so a greenlet waiting
//! for a cross-thread `set` gets no `LoopExit` meanwhile.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::core::LoopHandle;
use crate::error::Result;
use crate::hub::{Hub, get_hub_if_exists};
use crate::idmap::IdMap;

thread_local! {
    static TARGETS: RefCell<IdMap<u64, Rc<dyn Any>>> = RefCell::new(IdMap::default());
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

struct Guard {
    id: u64,
    handle: LoopHandle,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let id = self.id;
        // Back on the owner thread: forget the object, give back the loop
        // reference. If the hub is gone, so is the reference.
        let _ = self.handle.run_callback_threadsafe(move || {
            let obj = TARGETS
                .try_with(|t| t.borrow_mut().remove(&id))
                .ok()
                .flatten();
            drop(obj);
            if let Some(h) = get_hub_if_exists() {
                h.loop_().unref();
            }
        });
    }
}

/// A `Send + Sync` name for an object of another thread's hub.
#[derive(Clone)]
pub(crate) struct Remote {
    id: u64,
    handle: LoopHandle,
    _guard: Arc<Guard>,
}

impl Remote {
    /// Registers `obj` (on the current thread, whose hub is `hub`).
    pub(crate) fn register(hub: &Hub, obj: Rc<dyn Any>) -> Result<Remote> {
        let handle = hub.threadsafe_handle()?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        TARGETS.with(|t| t.borrow_mut().insert(id, obj));
        hub.loop_().ref_();
        Ok(Remote {
            id,
            handle: handle.clone(),
            _guard: Arc::new(Guard { id, handle }),
        })
    }

    /// Runs `f` on the object, on its own thread, at its loop's next
    /// iteration.
    ///
    /// # Errors
    /// [`Error::HubDestroyed`](crate::Error::HubDestroyed) when the owning
    /// hub is gone.
    pub(crate) fn call<X: 'static>(&self, f: impl FnOnce(&X) + Send + 'static) -> Result<()> {
        let id = self.id;
        self.handle.run_callback_threadsafe(move || {
            let obj = TARGETS.with(|t| t.borrow().get(&id).cloned());
            if let Some(x) = obj.as_ref().and_then(|o| o.downcast_ref::<X>()) {
                f(x)
            }
        })
    }
}
