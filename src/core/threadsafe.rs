//! Running callbacks on a loop from other threads (gevent's
//! `loop.run_callback_threadsafe`): a mutex-protected queue plus an
//! `ev_async` watcher that wakes the loop, which then runs the queued
//! closures in its own thread. Rust has no GIL, so the queue is a real
//! mutex (std's, which survives `fork`: see `crate::forksafe`).

use std::sync::Arc;

use crate::forksafe::Mutex;

use super::{AsyncSender, Loop};
use crate::error::{Error, Result};

type SendFn = Box<dyn FnOnce() + Send>;

pub(crate) struct Shared {
    /// `None` once the loop side is gone: closures are then refused.
    queue: Mutex<Option<Vec<SendFn>>>,
    wake: AsyncSender,
}

/// A handle on a loop that any thread may use to run code on it (gevent's
/// `run_callback_threadsafe`). `Send + Sync + Clone`.
#[derive(Clone)]
pub struct LoopHandle(pub(crate) Arc<Shared>);

impl std::fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<LoopHandle>")
    }
}

impl LoopHandle {
    /// Runs `f` holding the handle's locks, so that no worker thread
    /// holds them across a `fork` made inside `f` (see
    /// [`crate::os::fork`]).
    pub(crate) fn hold<R>(&self, f: impl FnOnce() -> R) -> R {
        let _queue = self.0.queue.lock();
        self.0.wake.hold(f)
    }

    /// Queues `f` to run on the loop's thread, in its hub, at the loop's
    /// next iteration, and wakes the loop.
    ///
    /// # Errors
    /// [`Error::HubDestroyed`] when the loop's side is gone (its hub was
    /// destroyed or its thread ended); `f` is dropped.
    pub fn run_callback_threadsafe(&self, f: impl FnOnce() + Send + 'static) -> Result<()> {
        {
            let mut q = self.0.queue.lock();
            match q.as_mut() {
                Some(v) => v.push(Box::new(f)),
                None => return Err(Error::HubDestroyed),
            }
        }
        self.0.wake.send();
        Ok(())
    }

    /// True while the loop's side still accepts callbacks.
    pub fn alive(&self) -> bool {
        self.0.queue.lock().is_some()
    }
}

/// The loop's side: the async watcher (unref'd: it does not keep the loop
/// alive by itself) that drains the queue. Dropping it closes the queue.
pub(crate) struct Receiver {
    handle: LoopHandle,
    watcher: super::Async,
}

impl Receiver {
    pub(crate) fn new(lp: &Loop) -> Result<Receiver> {
        let watcher = lp.async_()?;
        let handle = LoopHandle(Arc::new(Shared {
            queue: Mutex::new(Some(Vec::new())),
            wake: watcher.sender(),
        }));
        let shared = handle.0.clone();
        let lp2 = lp.clone();
        watcher.set_ref(false);
        watcher.start(move || {
            let batch = {
                let mut q = shared.queue.lock();
                q.as_mut().map(std::mem::take).unwrap_or_default()
            };
            for f in batch {
                super::callback::call_guarded(&lp2.0, f);
            }
        })?;
        Ok(Receiver { handle, watcher })
    }

    pub(crate) fn handle(&self) -> LoopHandle {
        self.handle.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let pending = self.handle.0.queue.lock().take();
        self.watcher.close();
        drop(pending);
    }
}
