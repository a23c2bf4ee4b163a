//! Greenlet groups and pools (gevent's `gevent.pool`).
//!
//! Work in progress: `Group` and `Pool` are being built here.
