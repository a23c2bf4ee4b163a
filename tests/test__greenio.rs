//! Port of gevent's `src/gevent/tests/test__greenio.py`: a socket and its
//! `makefile()` are independent; the peer sees EOF once both are closed.
//!
//! `makefile(mode='wb')` is [`Socket::makefile_writer`], `makefile('rb')`
//! [`Socket::makefile`]: both hold a `SocketFile`, which keeps the fd open
//! after `close()` until it is dropped (Python's io refs). Closing a file
//! is `into_inner()` (the flush, whose error `close()` raises) and
//! dropping it. gevent's `_write_to_closed(fd, ...)`, a write to a closed
//! file raising `ValueError`, has no counterpart: a dropped file cannot be
//! written to.
//!
//! gevent's harness makes errors in spawned greenlets fatal; here each
//! greenlet's outcome is checked once it is done.

mod common;

use std::io::{BufRead, BufWriter, Read, Write};

use gevent::socket::{Socket, SocketFile, create_connection};
use gevent::timeout::Timeout;
use gevent::{Error, Result, spawn};

/// `gevent.testing.tcp_listener()`: bound to 127.0.0.1, port 0,
/// `SO_REUSEADDR`, listening (backlog 50).
fn tcp_listener() -> Socket {
    let s = Socket::new(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    s.setsockopt(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
        .unwrap();
    s.bind("127.0.0.1:0").unwrap();
    s.listen(50).unwrap();
    s
}

/// `fd.close()` of a `makefile('wb')`: flushes, then closes.
fn close_writer(fd: BufWriter<SocketFile>) -> Result<()> {
    let file = fd.into_inner().map_err(|e| e.into_error())?;
    drop(file);
    Ok(())
}

/// `self.assertRaises(socket.error, conn.send, b'b')`.
fn assert_send_raises(conn: &Socket) -> Result<()> {
    match conn.send(b"b") {
        Err(Error::Io(_)) => Ok(()),
        other => Err(Error::msg(format!(
            "socket.error not raised by send: {other:?}"
        ))),
    }
}

#[allow(non_snake_case)]
mod TestGreenIo {
    use super::*;

    /// `did_it_work(server)`.
    fn did_it_work(server: &Socket) {
        let port = server.getsockname().unwrap().unwrap().port();
        let client = create_connection(("127.0.0.1", port), None).unwrap();
        let mut fd = client.makefile();
        client.close();
        let mut line = Vec::new();
        fd.read_until(b'\n', &mut line).unwrap();
        assert_eq!(line, b"hello\n");
        let mut rest = Vec::new();
        fd.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "{rest:?}");
        drop(fd);
    }

    #[test]
    fn test_close_with_makefile() {
        let _d = common::deadline(
            "TestGreenIo::test_close_with_makefile",
            common::TEST_DEADLINE,
        );

        // verify that the makefile and the socket are truly independent by
        // closing the socket prior to using the made file
        let accept_close_early = |listener: Socket| -> Result<()> {
            let r = (|| {
                let (conn, _) = listener.accept()?;
                let mut fd = conn.makefile_writer();
                conn.close();
                fd.write_all(b"hello\n")?;
                close_writer(fd)?;
                assert_send_raises(&conn)
            })();
            listener.close();
            r
        };

        // verify that the makefile and the socket are truly independent by
        // closing the made file and then sending a character
        let accept_close_late = |listener: Socket| -> Result<()> {
            let r = (|| {
                let (conn, _) = listener.accept()?;
                let mut fd = conn.makefile_writer();
                fd.write_all(b"hello")?;
                close_writer(fd)?;
                conn.send(b"\n")?;
                conn.close();
                assert_send_raises(&conn)
            })();
            listener.close();
            r
        };

        let server = tcp_listener();
        let s = server.clone();
        let server_greenlet = spawn(move || accept_close_early(s));
        did_it_work(&server);
        server_greenlet.kill().unwrap();
        assert!(
            server_greenlet.successful(),
            "{:?}",
            server_greenlet.exception()
        );

        let server = tcp_listener();
        let s = server.clone();
        let server_greenlet = spawn(move || accept_close_late(s));
        did_it_work(&server);
        server_greenlet.kill().unwrap();
        assert!(
            server_greenlet.successful(),
            "{:?}",
            server_greenlet.exception()
        );
    }

    #[test]
    fn test_del_closes_socket() {
        let _d = common::deadline("TestGreenIo::test_del_closes_socket", common::TEST_DEADLINE);

        // Keep only the file object around, dropping the accepted socket:
        // closing the file object should close everything.
        let accept_once = |listener: Socket| -> Result<()> {
            let r = (|| {
                let mut conn = {
                    let (conn, _) = listener.accept()?;
                    // "we overwrite the original variable, losing our
                    // reference to the socket"
                    conn.makefile_writer()
                };
                conn.write_all(b"hello\n")?;
                close_writer(conn)
            })();
            listener.close();
            drop(listener);
            r
        };

        let server = tcp_listener();
        let port = server.getsockname().unwrap().unwrap().port();
        let acceptor = spawn(move || accept_once(server));
        let client = create_connection(("127.0.0.1", port), None).unwrap();
        {
            let _t = Timeout::start_new(0.5);
            let mut fd = client.makefile();
            client.close();
            let mut text = String::new();
            fd.read_to_string(&mut text).unwrap();
            assert_eq!(text, "hello\n");
            // If the socket isn't closed when 'accept_once' finished, then
            // this will hang and exceed the timeout
            let mut text = String::new();
            fd.read_to_string(&mut text).unwrap();
            assert_eq!(text, "");
            drop(fd);
        }
        drop(client);
        assert!(acceptor.join_timeout(10.0).unwrap());
        acceptor.get().unwrap();
    }
}

// Not ported:
// - `_write_to_closed(fd, ...)` in both methods (writing to a closed file
//   raises ValueError): a dropped `BufWriter` cannot be written to.
