//! Greenlet-local storage (gevent's `gevent.local`).
//!
//! Work in progress: the storage primitive exists (each greenlet keeps a
//! map of local values, dropped on its own stack when its function ends);
//! the public `Local<T>` type is being built on it.
#![allow(dead_code, unused_imports)]

pub(crate) use crate::greenlet::raw::{local_get, local_remove, local_set};
