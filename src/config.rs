//! Process-wide settings (a small part of gevent's `gevent.config`).
//!
//! The greenlet stack size is the one that matters most: every greenlet
//! gets a stack of this many bytes of *virtual* memory, carved from large
//! slabs with a guard region below it (see `crate::stack`). Pages are
//! committed only when touched, so a blocked greenlet that used little stack
//! costs about one page of RSS whatever the size.
//!
//! The default is 256 KiB. `GEVENT_STACK_SIZE` (bytes, or with a `K`/`M`
//! suffix) in the environment overrides it at first use;
//! [`set_stack_size`] overrides both for stacks allocated afterwards.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The default greenlet stack size, 256 KiB of virtual memory.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;
/// The smallest stack size accepted.
pub const MIN_STACK_SIZE: usize = 16 * 1024;

static STACK_SIZE: AtomicUsize = AtomicUsize::new(0);

/// The largest stack size accepted: 1 GiB of virtual memory per greenlet.
pub const MAX_STACK_SIZE: usize = 1 << 30;

/// The stack size, in bytes, given to greenlets created from now on.
pub fn stack_size() -> usize {
    let v = STACK_SIZE.load(Ordering::Relaxed);
    if v != 0 {
        return v;
    }
    let v = match std::env::var("GEVENT_STACK_SIZE") {
        Err(_) => DEFAULT_STACK_SIZE,
        Ok(s) => match parse_size(&s).map(checked_stack_size) {
            Some(Ok(v)) => v,
            _ => {
                warn_once(&format!(
                    "gevent: GEVENT_STACK_SIZE={s:?} is not a size from {MIN_STACK_SIZE} to \
                     {MAX_STACK_SIZE} bytes (a number, optionally with a K or M suffix); \
                     using the default {DEFAULT_STACK_SIZE}"
                ));
                DEFAULT_STACK_SIZE
            }
        },
    };
    STACK_SIZE.store(v, Ordering::Relaxed);
    v
}

/// Sets the stack size of greenlets whose stacks are allocated from now on,
/// rounded up to whole pages and to at least [`MIN_STACK_SIZE`]. Stacks
/// already in a thread's pool keep their size.
///
/// # Errors
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) above
/// [`MAX_STACK_SIZE`].
pub fn set_stack_size(bytes: usize) -> crate::Result<()> {
    let v = checked_stack_size(bytes).map_err(|_| {
        crate::Error::invalid(format!("stack size {bytes} is above {MAX_STACK_SIZE}"))
    })?;
    STACK_SIZE.store(v, Ordering::Relaxed);
    Ok(())
}

fn checked_stack_size(bytes: usize) -> Result<usize, ()> {
    if bytes > MAX_STACK_SIZE {
        return Err(());
    }
    let page = crate::stack::page_size();
    Ok(bytes.max(MIN_STACK_SIZE).div_ceil(page) * page)
}

/// Reports a configuration problem once per process: through `log` when a
/// logger is installed, on stderr otherwise.
fn warn_once(message: &str) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| crate::error::emit(log::Level::Warn, format_args!("{message}")));
}

fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (num, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1024),
        b'm' | b'M' => (&s[..s.len() - 1], 1024 * 1024),
        _ => (s, 1),
    };
    num.trim().parse::<usize>().ok()?.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_huge_stack_sizes() {
        assert!(set_stack_size(usize::MAX).is_err());
        assert!(set_stack_size(MAX_STACK_SIZE + 1).is_err());
        assert_eq!(checked_stack_size(1), Ok(MIN_STACK_SIZE));
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("128K"), Some(128 * 1024));
        assert_eq!(parse_size("1m"), Some(1024 * 1024));
        assert_eq!(parse_size("x"), None);
    }
}
