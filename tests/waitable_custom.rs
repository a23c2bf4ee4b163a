//! A user's own `Waitable` (only `ready`, `rawlink`, `unlink`) works with
//! `wait`, `iwait` and timeouts: the trait's default `link_ready` goes
//! through its `rawlink`.

use std::cell::Cell;
use std::rc::Rc;

use gevent::event::Event;
use gevent::linkable::LinkId;
use gevent::{Waitable, iwait, sleep, spawn, wait, wait_timeout};

/// Ready once its event is set; counts the links made through `rawlink`.
struct Flag {
    ev: Event,
    rawlinks: Rc<Cell<usize>>,
}

impl Waitable for Flag {
    fn ready(&self) -> bool {
        self.ev.is_set()
    }

    fn rawlink(&self, f: Box<dyn FnMut()>) -> LinkId {
        self.rawlinks.set(self.rawlinks.get() + 1);
        self.ev.rawlink(f)
    }

    fn unlink(&self, id: LinkId) -> bool {
        self.ev.unlink(id)
    }
}

fn flag(counter: &Rc<Cell<usize>>) -> Flag {
    Flag {
        ev: Event::new(),
        rawlinks: counter.clone(),
    }
}

#[test]
fn wait_and_iwait_go_through_a_custom_waitables_rawlink() {
    let n = Rc::new(Cell::new(0));
    let flags = [flag(&n), flag(&n), flag(&n)];
    let evs: Vec<Event> = flags.iter().map(|f| f.ev.clone()).collect();
    let setter = spawn(move || {
        for i in [2, 0, 1] {
            sleep(0.01)?;
            evs[i].set();
        }
        Ok(())
    });
    let order: Vec<usize> = iwait(&flags).indexed().map(|r| r.unwrap().0).collect();
    assert_eq!(order, [2, 0, 1]);
    assert_eq!(n.get(), 3, "one rawlink per object");
    setter.join().unwrap();
    // All ready now: wait returns them all at once.
    assert_eq!(wait(&flags).unwrap().len(), 3);
}

#[test]
fn a_timed_out_wait_unlinks_a_custom_waitable() {
    let n = Rc::new(Cell::new(0));
    let flags = [flag(&n)];
    let got = wait_timeout(&flags, 0.02).unwrap();
    assert!(got.is_empty());
    assert_eq!(flags[0].ev.linkcount(), 0, "the link was removed");
}
