use gevent::RawGreenlet;
use std::time::Instant;
#[inline(never)]
fn pingpong(g: &RawGreenlet, n: usize) {
    for _ in 0..n {
        let _ = std::hint::black_box(g.switch(None));
    }
}
fn main() {
    let main = RawGreenlet::current();
    let g = RawGreenlet::new(
        move |_| loop {
            let _ = std::hint::black_box(main.switch(None));
        },
        None,
    );
    for _ in 0..3 {
        let t0 = Instant::now();
        pingpong(&g, 1_000_000);
        println!("{:.1} ns/switch", t0.elapsed().as_nanos() as f64 / 2e6);
    }
    std::process::exit(0);
}
