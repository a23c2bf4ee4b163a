use gevent::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        eprintln!("drop");
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
fn main() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    std::thread::spawn(move || {
        for _ in 0..2 {
            let d = d.clone();
            spawn(move || {
                let _g = DropCount(d);
                sleep(1000.0)?;
                Ok(())
            });
        }
        sleep(0.01).unwrap();
        eprintln!("stats {:?}", gevent::greenlet::raw::stack_stats());
    })
    .join()
    .unwrap();
    eprintln!("drops {}", drops.load(Ordering::SeqCst));
}
