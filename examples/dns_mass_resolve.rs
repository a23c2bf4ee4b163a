//! Resolve host names concurrently, giving up after 2 seconds (gevent's
//! `examples/dns_mass_resolve.py`).
//!
//! gevent's example looks up `10.com` … `1009.com` on the network; so that
//! it runs offline (and in the tests), this one resolves names the machine
//! answers itself — `localhost` and numeric hosts — plus names under the
//! reserved `.invalid` domain, which must fail, through the same
//! cooperative resolver (the hub's thread pool). At most 10 lookups are
//! outstanding at once.
//!
//! `cargo run --example dns_mass_resolve [N]`

use std::cell::Cell;
use std::rc::Rc;

use gevent::pool::Pool;
use gevent::socket::gethostbyname;
use gevent::{Error, Timeout};

fn main() -> gevent::Result<()> {
    env_logger::init();
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("N must be a number"))
        .unwrap_or(1000);
    // limit ourselves to max 10 simultaneous outstanding requests
    let pool = Pool::new(10)?;
    let finished = Rc::new(Cell::new(0usize));

    let job = |name: String, finished: Rc<Cell<usize>>| {
        move || -> gevent::Result<()> {
            match gethostbyname(&name) {
                Ok(ip) => println!("{name} = {ip}"),
                Err(e) => println!("{name} failed with {e}"),
            }
            finished.set(finished.get() + 1);
            Ok(())
        }
    };

    let r = Timeout::start_new(2.0).run(|| {
        for x in 0..n {
            let name = match x % 3 {
                0 => "localhost".to_string(),
                1 => format!("127.0.0.{}", x % 250 + 1),
                _ => format!("host{x}.invalid"),
            };
            pool.spawn(job(name, finished.clone()))?;
        }
        pool.join()
    });
    match r {
        Ok(_) | Err(Error::Timeout(_)) => {}
        Err(e) => return Err(e),
    }
    println!("finished within 2 seconds: {}/{n}", finished.get());
    Ok(())
}
