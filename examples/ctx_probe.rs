use context::stack::ProtectedFixedSizeStack;
use context::{Context, Transfer};
use std::time::Instant;
extern "C" fn f(mut t: Transfer) -> ! {
    loop {
        t = unsafe { t.context.resume(t.data) };
    }
}
fn main() {
    let stack = ProtectedFixedSizeStack::default();
    let mut t = Transfer::new(unsafe { Context::new(&stack, f) }, 0);
    let n = 1_000_000;
    for _ in 0..3 {
        let t0 = Instant::now();
        for i in 0..n {
            t = unsafe { t.context.resume(i) };
        }
        println!(
            "{:.2} ns/switch",
            t0.elapsed().as_nanos() as f64 / (2 * n) as f64
        );
    }
}
