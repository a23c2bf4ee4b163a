//! spawn / sleep / join: three greenlets sleeping concurrently finish in
//! about the time of the longest one, in the order their timers fire.
//!
//! `cargo run --example hello`

use std::time::Instant;

fn main() -> gevent::Result<()> {
    env_logger::init();
    let start = Instant::now();
    let greenlets: Vec<_> = [0.3, 0.1, 0.2]
        .into_iter()
        .map(|secs| {
            gevent::spawn(move || {
                gevent::sleep(secs)?;
                println!("slept {secs}s at {:.2}s", start.elapsed().as_secs_f64());
                Ok(secs)
            })
        })
        .collect();
    let finished = gevent::joinall(&greenlets)?;
    let order: Vec<f64> = finished
        .iter()
        .map(|g| g.get())
        .collect::<gevent::Result<_>>()?;
    println!(
        "finish order {order:?}; total {:.2}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
