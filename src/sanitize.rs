//! Telling memory analysers about greenlet stacks.
//!
//! A stack switch moves the stack pointer into another mapping; tools that
//! track the stack must be told, or they take the switch for a huge stack
//! frame and report every later access as uninitialised (valgrind) or as a
//! stack buffer overflow (AddressSanitizer).
//!
//! * **valgrind**: each stack is registered once, when it is carved from
//!   its slab (`VALGRIND_STACK_REGISTER`), and deregistered when the slab
//!   is unmapped. A client request is a handful of no-op instructions when
//!   the program does not run under valgrind, and it runs once per stack,
//!   not per switch.
//! * **AddressSanitizer**: with the `sanitize-address` feature (and a
//!   nightly compiler run with `-Zsanitizer=address`), every switch is
//!   announced with `__sanitizer_start_switch_fiber` /
//!   `__sanitizer_finish_switch_fiber`, and a reused stack is unpoisoned.
//!   Without the feature those calls do not exist.

/// valgrind's client request codes (`valgrind.h`).
const VG_USERREQ_STACK_REGISTER: usize = 0x1501;
const VG_USERREQ_STACK_DEREGISTER: usize = 0x1502;

/// Performs a valgrind client request; returns `default` when not running
/// under valgrind (the magic sequence is then a few rotations that cancel
/// out and an `xchg` of a register with itself).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn client_request(default: usize, request: usize, a1: usize, a2: usize) -> usize {
    let args: [usize; 6] = [request, a1, a2, 0, 0, 0];
    let result: usize;
    // SAFETY: valgrind's documented amd64 client-request sequence: the four
    // `rol`s of rdi add up to 128 bits (rdi is unchanged), `xchg rbx, rbx`
    // leaves rbx unchanged; valgrind recognises the sequence and reads the
    // six words at rax, writing its answer to rdx. Natively nothing but
    // the flags changes.
    unsafe {
        std::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            inout("rdx") default => result,
            in("rax") args.as_ptr(),
            out("rdi") _,
            options(nostack),
        );
    }
    result
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn client_request(default: usize, _request: usize, _a1: usize, _a2: usize) -> usize {
    default
}

/// Registers `[low, high)` as a stack with valgrind; returns its id (0
/// when not under valgrind).
pub(crate) fn register_stack(low: *mut u8, high: *mut u8) -> usize {
    client_request(0, VG_USERREQ_STACK_REGISTER, low as usize, high as usize)
}

/// Forgets a stack registered with [`register_stack`].
pub(crate) fn deregister_stack(id: usize) {
    if id != 0 {
        client_request(0, VG_USERREQ_STACK_DEREGISTER, id, 0);
    }
}

#[cfg(feature = "sanitize-address")]
mod asan {
    use std::ffi::c_void;

    unsafe extern "C" {
        fn __sanitizer_start_switch_fiber(
            fake_stack_save: *mut *mut c_void,
            bottom: *const c_void,
            size: usize,
        );
        fn __sanitizer_finish_switch_fiber(
            fake_stack_save: *mut c_void,
            bottom_old: *mut *const c_void,
            size_old: *mut usize,
        );
        fn __asan_unpoison_memory_region(addr: *const c_void, size: usize);
    }

    /// What the running side keeps across one switch.
    pub(crate) struct Switch {
        fake_stack: *mut c_void,
    }

    /// Before switching to the stack `[bottom, bottom + size)`; a greenlet
    /// that is leaving for good (`dying`) passes no save slot, so ASan
    /// frees its fake stack (nothing addressable may live on this frame
    /// after that, hence the separate function).
    #[inline(always)]
    pub(crate) fn start(bottom: *const u8, size: usize, dying: bool) -> Switch {
        if dying {
            start_dying(bottom, size);
            return Switch {
                fake_stack: std::ptr::null_mut(),
            };
        }
        let mut fake_stack: *mut c_void = std::ptr::null_mut();
        // SAFETY: ASan's documented fiber-switch protocol; the pointers are
        // valid for the call.
        unsafe { __sanitizer_start_switch_fiber(&mut fake_stack, bottom.cast(), size) };
        Switch { fake_stack }
    }

    #[inline(never)]
    fn start_dying(bottom: *const u8, size: usize) {
        // SAFETY: as in `start`; a null slot frees this fiber's fake stack.
        unsafe { __sanitizer_start_switch_fiber(std::ptr::null_mut(), bottom.cast(), size) };
    }

    /// After being switched to; returns the bounds of the stack that was
    /// left (how the main greenlet's stack becomes known).
    #[inline(always)]
    pub(crate) fn finish(s: Option<Switch>) -> (*const u8, usize) {
        let mut bottom: *const c_void = std::ptr::null();
        let mut size = 0usize;
        let fake = s.map_or(std::ptr::null_mut(), |s| s.fake_stack);
        // SAFETY: as in `start`; `fake` is what `start` saved on this
        // stack (or null on a fresh stack).
        unsafe { __sanitizer_finish_switch_fiber(fake, &mut bottom, &mut size) };
        (bottom.cast(), size)
    }

    /// Clears the poison a previous greenlet's frames left on a stack.
    pub(crate) fn unpoison(bottom: *const u8, size: usize) {
        // SAFETY: the range is a whole stack owned by the caller.
        unsafe { __asan_unpoison_memory_region(bottom.cast(), size) };
    }
}

#[cfg(feature = "sanitize-address")]
pub(crate) use asan::{Switch as AsanSwitch, finish as asan_finish, start as asan_start, unpoison};

/// Without ASan: nothing to unpoison.
#[cfg(not(feature = "sanitize-address"))]
#[inline(always)]
pub(crate) fn unpoison(_bottom: *const u8, _size: usize) {}

#[cfg(test)]
mod tests {
    #[test]
    fn client_requests_are_harmless_natively() {
        let mut buf = [0u8; 64];
        let low = buf.as_mut_ptr();
        // SAFETY: one past the end of the buffer.
        let high = unsafe { low.add(buf.len()) };
        let id = super::register_stack(low, high);
        super::deregister_stack(id);
        buf[0] = 1;
        assert_eq!(buf[0], 1);
    }
}
