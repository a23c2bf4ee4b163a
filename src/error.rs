//! `gevent::Error`: gevent's exceptions as one Rust enum.
//!
//! gevent raises an exception into a blocked greenlet (a `Timeout` firing,
//! `Greenlet.kill`, `Waiter.throw`, a socket closed by another greenlet);
//! here the blocking call in that greenlet returns `Err(..)` instead.

use std::fmt;
use std::sync::Arc;

/// The result type of everything in this crate that can block or fail.
pub type Result<T> = std::result::Result<T, Error>;

/// A fired [`Timeout`](crate::timeout::Timeout), identified so that
/// `Timeout::caused` can tell which timer it was.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeoutError {
    /// Identity of the timer that fired (0 for a timeout that has no timer,
    /// such as a `_timeout` form giving up).
    pub id: u64,
    /// The timer's duration, when known.
    pub seconds: Option<f64>,
    /// A message given to the timeout (gevent's `Timeout(secs, 'text')`).
    pub message: Option<Arc<str>>,
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seconds {
            Some(s) if s == 1.0 => write!(f, "{s} second")?,
            Some(s) => write!(f, "{s} seconds")?,
            None => f.write_str("timed out")?,
        }
        match &self.message {
            Some(m) => write!(f, ": {m}"),
            None => Ok(()),
        }
    }
}

/// Every failure a gevent operation can report.
///
/// Variants name the gevent exception they stand for. Those marked *bug*
/// mean the calling code misused the API; the others are ordinary runtime
/// outcomes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// gevent's `Timeout`: a timeout started by this greenlet fired, or a
    /// `_timeout` form gave up where gevent raises.
    Timeout(TimeoutError),
    /// gevent's `GreenletExit`: this greenlet was killed. A greenlet that
    /// ends with it counts as successful.
    GreenletExit,
    /// gevent's `LoopExit`: the wait could never end, because nothing that
    /// could wake it is left in the loop ("This operation would block
    /// forever"). The text lists what was still waiting.
    LoopExit(Arc<str>),
    /// An operating-system error (gevent's `OSError` / `socket.error`).
    Io(Arc<std::io::Error>),
    /// `queue.Empty`.
    Empty,
    /// `queue.Full`.
    Full,
    /// `queue.ShutDown`: the queue was shut down.
    ShutDown,
    /// *bug*: two greenlets waited on one `Waiter` or one socket direction
    /// (`ConcurrentObjectUseError`).
    ConcurrentObjectUse(Arc<str>),
    /// *bug*: a blocking call was made from inside the hub, that is from a
    /// watcher callback, a loop callback or a `rawlink`
    /// (`BlockingSwitchOutError`).
    BlockingSwitchOut(Arc<str>),
    /// *bug*: a waiting greenlet was switched into with something it was not
    /// waiting for (`InvalidSwitchError`).
    InvalidSwitch(Arc<str>),
    /// The greenlet's function panicked; the panic message is kept.
    Panicked(Arc<str>),
    /// *bug*: a bad argument (gevent's `ValueError`/`TypeError`), such as a
    /// negative timer repeat or an invalid file descriptor. Checked before
    /// it reaches libev, which would abort the process.
    InvalidArgument(Arc<str>),
    /// gevent's `SystemExit`: a request to end the program. Like gevent,
    /// the hub re-raises it in the main greenlet instead of only logging.
    SystemExit(Arc<str>),
    /// gevent's `KeyboardInterrupt` (re-raised in the main greenlet).
    KeyboardInterrupt,
    /// gevent's `SystemError`: a fatal internal or libev error (re-raised in
    /// the main greenlet).
    SystemError(Arc<str>),
    /// The hub was destroyed while this operation waited (`HubDestroyed`).
    HubDestroyed,
    /// An error of the application's own, for `kill_with`, `throw` and
    /// greenlet results.
    Custom(Arc<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// An application error wrapped for `kill_with`, `throw` and returns.
    pub fn custom<E: std::error::Error + Send + Sync + 'static>(err: E) -> Error {
        Error::Custom(Arc::new(err))
    }

    /// The application error inside an [`Error::Custom`], if it is an `E`
    /// (gevent's `except TooLong:`).
    ///
    /// Raising, killing with and catching an error type of one's own:
    ///
    /// ```
    /// use gevent::{Error, sleep, spawn};
    ///
    /// #[derive(Debug)]
    /// struct TooLong(u32);
    /// impl std::fmt::Display for TooLong {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    ///         write!(f, "too long: {}", self.0)
    ///     }
    /// }
    /// impl std::error::Error for TooLong {}
    ///
    /// // raise TooLong(3)
    /// let g = spawn(|| -> gevent::Result<()> { Err(Error::custom(TooLong(3))) });
    /// // except TooLong as e:
    /// match g.get() {
    ///     Err(e) if e.is::<TooLong>() => assert_eq!(e.downcast_ref::<TooLong>().unwrap().0, 3),
    ///     other => panic!("{other:?}"),
    /// }
    ///
    /// // g.kill(TooLong(7)): the blocked call in the greenlet returns it.
    /// let g = spawn(|| match sleep(10.0) {
    ///     Err(e) if e.is::<TooLong>() => Ok(e.downcast_ref::<TooLong>().unwrap().0),
    ///     Err(e) => Err(e),
    ///     Ok(()) => Ok(0),
    /// });
    /// sleep(0.0)?;
    /// g.kill_with(Error::custom(TooLong(7)))?;
    /// assert_eq!(g.get()?, 7);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            Error::Custom(e) => {
                let e: &(dyn std::error::Error + 'static) = &**e;
                e.downcast_ref::<E>()
            }
            _ => None,
        }
    }

    /// True for an [`Error::Custom`] holding an `E`.
    pub fn is<E: std::error::Error + 'static>(&self) -> bool {
        self.downcast_ref::<E>().is_some()
    }

    /// A [`Error::Custom`] carrying only a message.
    pub fn msg(text: impl Into<String>) -> Error {
        Error::Custom(Arc::new(Message(text.into())))
    }

    pub(crate) fn invalid(text: impl Into<String>) -> Error {
        Error::InvalidArgument(text.into().into())
    }

    /// True for [`Error::GreenletExit`] and [`Error::HubDestroyed`]
    /// (gevent's `GreenletExit` and its subclass): a greenlet that ends with
    /// one of these counts as successful and is not reported.
    pub fn is_greenlet_exit(&self) -> bool {
        matches!(self, Error::GreenletExit | Error::HubDestroyed)
    }

    /// True for the errors gevent's hub treats as system errors
    /// (`Hub.SYSTEM_ERROR`): they are re-raised in the main greenlet.
    pub fn is_system_error(&self) -> bool {
        matches!(
            self,
            Error::SystemExit(_) | Error::KeyboardInterrupt | Error::SystemError(_)
        )
    }

    /// True for a [`Error::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_))
    }

    /// The OS error number, for [`Error::Io`].
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io(e) => e.raw_os_error(),
            _ => None,
        }
    }

    /// gevent's exception class name for this error, used in reports
    /// (`"<greenlet> failed with Timeout"`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Error::Timeout(_) => "Timeout",
            Error::GreenletExit => "GreenletExit",
            Error::LoopExit(_) => "LoopExit",
            Error::Io(_) => "OSError",
            Error::Empty => "Empty",
            Error::Full => "Full",
            Error::ShutDown => "ShutDown",
            Error::ConcurrentObjectUse(_) => "ConcurrentObjectUseError",
            Error::BlockingSwitchOut(_) => "BlockingSwitchOutError",
            Error::InvalidSwitch(_) => "InvalidSwitchError",
            Error::Panicked(_) => "Panic",
            Error::InvalidArgument(_) => "ValueError",
            Error::SystemExit(_) => "SystemExit",
            Error::KeyboardInterrupt => "KeyboardInterrupt",
            Error::SystemError(_) => "SystemError",
            Error::HubDestroyed => "HubDestroyed",
            Error::Custom(_) => "Error",
        }
    }
}

#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // gevent: str(Timeout(1)) is "1 second", str(socket.timeout) is
            // "timed out".
            Error::Timeout(t) => write!(f, "{t}"),
            Error::GreenletExit => f.write_str("GreenletExit"),
            Error::LoopExit(m) => write!(f, "LoopExit: {m}"),
            Error::Io(e) => write!(f, "{e}"),
            Error::Empty => f.write_str("queue is empty"),
            Error::Full => f.write_str("queue is full"),
            Error::ShutDown => f.write_str("queue is shut down"),
            Error::ConcurrentObjectUse(m) => write!(f, "ConcurrentObjectUseError: {m}"),
            Error::BlockingSwitchOut(m) => write!(f, "BlockingSwitchOutError: {m}"),
            Error::InvalidSwitch(m) => write!(f, "InvalidSwitchError: {m}"),
            Error::Panicked(m) => write!(f, "panicked: {m}"),
            Error::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            Error::SystemExit(m) => write!(f, "SystemExit: {m}"),
            Error::KeyboardInterrupt => f.write_str("KeyboardInterrupt"),
            Error::SystemError(m) => write!(f, "SystemError: {m}"),
            Error::HubDestroyed => f.write_str("HubDestroyed"),
            Error::Custom(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(&**e),
            Error::Custom(e) => Some(&**e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io(Arc::new(e))
    }
}

impl PartialEq for Error {
    /// Errors compare by kind and payload; `Io` by OS error number and
    /// `Custom` by identity (the same `Arc`), like Python's `is`.
    fn eq(&self, other: &Error) -> bool {
        match (self, other) {
            (Error::Timeout(a), Error::Timeout(b)) => a == b,
            (Error::LoopExit(a), Error::LoopExit(b)) => a == b,
            (Error::Io(a), Error::Io(b)) => {
                Arc::ptr_eq(a, b)
                    || (a.raw_os_error().is_some() && a.raw_os_error() == b.raw_os_error())
            }
            (Error::ConcurrentObjectUse(a), Error::ConcurrentObjectUse(b)) => a == b,
            (Error::BlockingSwitchOut(a), Error::BlockingSwitchOut(b)) => a == b,
            (Error::InvalidSwitch(a), Error::InvalidSwitch(b)) => a == b,
            (Error::Panicked(a), Error::Panicked(b)) => a == b,
            (Error::InvalidArgument(a), Error::InvalidArgument(b)) => a == b,
            (Error::SystemExit(a), Error::SystemExit(b)) => a == b,
            (Error::SystemError(a), Error::SystemError(b)) => a == b,
            (Error::Custom(a), Error::Custom(b)) => Arc::ptr_eq(a, b),
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

/// Writes a report for the user: through `log` at `level` when a logger is
/// installed (the maximum level is not `Off`), otherwise on stderr, as
/// gevent prints a dead greenlet's traceback to stderr.
pub(crate) fn emit(level: log::Level, message: std::fmt::Arguments<'_>) {
    if log::max_level() == log::LevelFilter::Off {
        eprintln!("{message}");
    } else {
        log::log!(level, "{message}");
    }
}

/// gevent's `print_exception` line: `"<context> failed with <Kind>: <err>"`
/// (nothing for `GreenletExit`, which is not a failure).
pub(crate) fn report_failure(context: &str, err: &Error) {
    if !err.is_greenlet_exit() {
        emit(
            log::Level::Error,
            format_args!("{context} failed with {}: {err}", err.kind_name()),
        );
    }
}
