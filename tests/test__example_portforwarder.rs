//! Port of gevent's `src/gevent/tests/test__example_portforwarder.py`:
//! the `portforwarder` example forwards a connection to a server running
//! in the test; SIGTERM closes its listener but the open connection is
//! still forwarded, and once it ends the example exits with status 0.
//!
//! gevent's example uses the fixed ports 10011 (listen) and 10012
//! (forward to); here the destination server binds port 0 and the
//! example is given port 0 to listen on, and prints the port it got.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::example::Example;
use gevent::server::StreamServer;
use gevent::sleep;
use gevent::socket::create_connection;

#[allow(non_snake_case)]
mod Test {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("Test::test", common::TEST_DEADLINE);
        let log: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();

        let l = log.clone();
        let server = StreamServer::new("127.0.0.1:0", move |sock, _address| {
            loop {
                let data = sock.recv(1024)?;
                println!("got {:?}", String::from_utf8_lossy(&data));
                if data.is_empty() {
                    break;
                }
                l.borrow_mut().push(data);
            }
            Ok(())
        });
        server.start().unwrap();
        let dest_port = server.server_port().unwrap();

        // example_args: [listen on, forward to]
        let args = ["127.0.0.1:0".to_string(), format!("127.0.0.1:{dest_port}")];
        let mut popen = Example::start("portforwarder", &args);
        // "Starting port forwarder 127.0.0.1:PORT -> 127.0.0.1:DEST"
        let port: u16 = popen
            .first_line
            .split_whitespace()
            .nth(3)
            .and_then(|a| a.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {:?}", popen.first_line));
        // before()
        assert!(popen.poll().is_none(), "portforwarder died");

        let conn = create_connection(("127.0.0.1", port), None).unwrap();
        conn.sendall(b"msg1").unwrap();
        sleep(0.1).unwrap();
        // SAFETY: sending a signal to our own child process.
        assert_eq!(
            unsafe { libc::kill(popen.child.id() as i32, libc::SIGTERM) },
            0
        );
        sleep(0.1).unwrap();

        conn.sendall(b"msg2").unwrap();
        conn.close();

        // with gevent.Timeout(2.1): popen.wait()
        let status = popen.wait_cooperatively(2.1);
        server.close();

        // after(): the example exited with 0.
        let status = status.expect("portforwarder still running 2.1 s after SIGTERM");
        assert_eq!(status.code(), Some(0), "{status:?}");

        // The destination's handler may still be reading msg2 on a loaded
        // machine: give it up to 2 s (gevent's test runs it in the same
        // process too).
        let t0 = std::time::Instant::now();
        while log.borrow().len() < 2 && t0.elapsed().as_secs_f64() < 2.0 {
            sleep(0.01).unwrap();
        }
        assert_eq!(*log.borrow(), [b"msg1".to_vec(), b"msg2".to_vec()]);
    }
}
