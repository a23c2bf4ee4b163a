//! A Rust service for C programs (issue: "Rust services on a C loop"): a
//! static library, as a downstream crate would build it, exporting
//! `echo_service_start`, which serves an echo service with the crate's
//! full Rust API on the C program's own libev loop (attached with
//! `gevent_attach`). `examples/embed_c/main.c` links it
//! (`target/<profile>/examples/libembed_echo_service.a`, which holds the
//! gevent crate, its C API and libev too).
//!
//! The service echoes lines; `shutdown` stops it, and `panic` makes a
//! greenlet panic (the panic is reported and the program goes on).

use std::cell::RefCell;
use std::ffi::c_int;
use std::io::BufRead;

use gevent::server::StreamServer;

thread_local! {
    static SERVER: RefCell<Option<StreamServer>> = const { RefCell::new(None) };
}

/// Starts the echo service on 127.0.0.1:`port` (0: any free port) on
/// this thread's attached hub; the bound port, or -1 (errno set) if no
/// hub is attached or binding fails. Not blocking.
#[unsafe(no_mangle)]
pub extern "C" fn echo_service_start(port: u16) -> c_int {
    let started = std::panic::catch_unwind(|| -> gevent::Result<u16> {
        if !gevent::hub::get_hub_if_exists().is_some_and(|h| h.attached()) {
            return Err(std::io::Error::from_raw_os_error(libc::ENXIO).into());
        }
        let server = StreamServer::new(("127.0.0.1", port), |sock, _peer| {
            let mut lines = sock.makefile();
            loop {
                let mut line = String::new();
                if lines.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                match line.trim() {
                    "shutdown" => {
                        SERVER.with(|s| s.borrow_mut().take().map(|s| s.close()));
                        return Ok(());
                    }
                    "panic" => {
                        gevent::spawn(|| -> gevent::Result<()> {
                            panic!("a Rust greenlet panicked")
                        });
                    }
                    _ => {}
                }
                sock.sendall(line.as_bytes())?;
            }
        });
        server.start()?;
        let port = server.server_port()?;
        SERVER.with(|s| *s.borrow_mut() = Some(server));
        Ok(port)
    });
    match started {
        Ok(Ok(port)) => c_int::from(port),
        Ok(Err(e)) => {
            let errno = match &e {
                gevent::Error::Io(io) => io.raw_os_error().unwrap_or(libc::EIO),
                _ => libc::EINVAL,
            };
            // SAFETY: this thread's errno.
            unsafe { *libc::__errno_location() = errno };
            -1
        }
        Err(_) => {
            // SAFETY: this thread's errno.
            unsafe { *libc::__errno_location() = libc::ENOTRECOVERABLE };
            -1
        }
    }
}
