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

/// The stack size, in bytes, given to greenlets created from now on.
pub fn stack_size() -> usize {
    let v = STACK_SIZE.load(Ordering::Relaxed);
    if v != 0 {
        return v;
    }
    let v = std::env::var("GEVENT_STACK_SIZE")
        .ok()
        .and_then(|s| parse_size(&s))
        .map(round_stack_size)
        .unwrap_or(DEFAULT_STACK_SIZE);
    STACK_SIZE.store(v, Ordering::Relaxed);
    v
}

/// Sets the stack size of greenlets whose stacks are allocated from now on,
/// rounded up to whole pages and to at least [`MIN_STACK_SIZE`]. Stacks
/// already in a thread's pool keep their size.
pub fn set_stack_size(bytes: usize) {
    STACK_SIZE.store(round_stack_size(bytes), Ordering::Relaxed);
}

fn round_stack_size(bytes: usize) -> usize {
    let page = crate::stack::page_size();
    bytes.max(MIN_STACK_SIZE).div_ceil(page) * page
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
    fn parses_sizes() {
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("128K"), Some(128 * 1024));
        assert_eq!(parse_size("1m"), Some(1024 * 1024));
        assert_eq!(parse_size("x"), None);
    }
}
