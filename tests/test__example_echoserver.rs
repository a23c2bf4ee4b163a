//! Port of gevent's `src/gevent/tests/test__example_echoserver.py`: the
//! `echoserver` example welcomes each client and echoes what it sends,
//! two clients at once, and sends nothing more.
//!
//! gevent's example listens on the fixed port 16000; the crate's is given
//! port 0 and prints the port it got. As in gevent's `TestServer`, the
//! server must still be running before and after the clients.

mod common;

use std::io::{BufRead, Read};

use common::example::Example;
use gevent::socket::create_connection;
use gevent::{Error, joinall_raise_error, sleep, spawn};

/// `DEFAULT_XPC_SOCKET_TIMEOUT`.
const XPC_SOCKET_TIMEOUT: f64 = 2.0;

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("Test::test", common::TEST_DEADLINE);
        let mut server = Example::start("echoserver", &["0".into()]);
        let port = server.port();
        // before()
        assert!(server.poll().is_none(), "echoserver died");

        let test_client = move |message: &'static [u8]| {
            move || -> gevent::Result<()> {
                let conn = create_connection(("127.0.0.1", port), None)?;
                conn.settimeout(Some(XPC_SOCKET_TIMEOUT))?;
                let mut rfile = conn.makefile();

                let mut welcome = Vec::new();
                rfile.read_until(b'\n', &mut welcome)?;
                assert!(
                    welcome.windows(7).any(|w| w == b"Welcome"),
                    "{:?}",
                    String::from_utf8_lossy(&welcome)
                );

                conn.sendall(message)?;
                let mut received = vec![0u8; message.len()];
                rfile.read_exact(&mut received)?;
                assert_eq!(received, message);

                let r = conn.recv(1);
                assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");

                drop(rfile);
                conn.close();
                Ok(())
            }
        };

        let client1 = spawn(test_client(b"hello\r\n"));
        let client2 = spawn(test_client(b"world\r\n"));
        joinall_raise_error(&[client1.clone(), client2.clone()], None).unwrap();
        assert!(client1.successful() && client2.successful());

        // after()
        sleep(0.5).unwrap();
        assert!(server.poll().is_none(), "echoserver died");
    }
}
