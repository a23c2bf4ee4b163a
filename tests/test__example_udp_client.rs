//! Port of gevent's `src/gevent/tests/test__example_udp_client.py`: the
//! `udp_client` example sends its arguments as one datagram to a
//! `DatagramServer` running in the test, which receives exactly that.
//!
//! gevent's server listens on the fixed port 9001; here it binds port 0
//! and the example is given the port (`--port=`).

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use gevent::server::DatagramServer;

/// `start_kwargs = {'timeout': 10}`.
const RUN_TIMEOUT: f64 = 10.0;

#[allow(non_snake_case)]
mod Test_udp_client {
    use super::*;

    #[test]
    fn test() {
        let _d = common::deadline("Test_udp_client::test", common::TEST_DEADLINE);
        let log: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();

        let l = log.clone();
        let server = DatagramServer::new("127.0.0.1:0", move |server, message, address| {
            l.borrow_mut().push(message);
            server.sendto(b"reply-from-server", address)?;
            Ok(())
        });
        server.start().unwrap();
        let port = server.address().unwrap().port();

        // run_example(): the example runs to its end (killed after the
        // timeout) while this hub serves its datagram.
        let mut client = std::process::Command::new(common::example::built("udp_client"))
            .args([format!("--port={port}"), "Test_udp_client".into()])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let end = std::time::Instant::now() + std::time::Duration::from_secs_f64(RUN_TIMEOUT);
        while client.try_wait().unwrap().is_none() && std::time::Instant::now() < end {
            gevent::sleep(0.01).unwrap();
        }
        let _ = client.kill();
        let _ = client.wait();
        server.stop().unwrap();

        assert_eq!(*log.borrow(), [b"Test_udp_client".to_vec()]);
    }
}
