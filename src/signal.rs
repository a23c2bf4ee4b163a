//! Signals (gevent's `gevent.signal`): [`signal_handler`] runs a function
//! in a new greenlet each time a signal arrives, and the signal numbers,
//! so that `gevent::signal::SIGTERM` reads as gevent's `signal.SIGTERM`.
//!
//! ```no_run
//! let _handler = gevent::signal::signal_handler(gevent::signal::SIGUSR1, || {
//!     println!("got SIGUSR1");
//!     Ok(())
//! })?;
//! gevent::sleep(60.0)?;
//! # Ok::<(), gevent::Error>(())
//! ```
//!
//! Handlers work on the main thread's hub (libev's default loop); the
//! returned [`SignalHandler`] must be kept: dropping it uninstalls the
//! handler.

pub use crate::hub::{SignalHandler, signal_handler};
pub use libc::{
    SIGABRT, SIGALRM, SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGPIPE, SIGQUIT, SIGTERM, SIGTSTP,
    SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2, SIGWINCH,
};
