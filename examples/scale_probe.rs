use gevent::*;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;
fn main() {
    const N: usize = 100_000;
    let gate = Rc::new(Cell::new(false));
    let t0 = Instant::now();
    let mut gs = Vec::with_capacity(N);
    for _ in 0..N {
        let gate = gate.clone();
        gs.push(spawn(move || {
            while !gate.get() {
                sleep(0.05)?;
            }
            Ok(())
        }));
    }
    eprintln!("spawned {:?}", t0.elapsed());
    sleep(0.0).unwrap();
    eprintln!("started {:?}", t0.elapsed());
    gate.set(true);
    joinall(&gs).unwrap();
    eprintln!("joined {:?}", t0.elapsed());
}
