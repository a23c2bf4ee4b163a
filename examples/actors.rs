//! Actors: a greenlet with an inbox, translated from the gevent tutorial's
//! actor example (an `Actor(gevent.Greenlet)` subclass with an inbox
//! `Queue`, whose `_run` loops `self.receive(self.inbox.get())`; `Pinger`
//! and `Ponger` bounce messages). gevent's version ping-pongs forever; this
//! one stops after `ROUNDS` messages each (the first argument), so it ends.
//!
//! `cargo run --example actors [ROUNDS]`
//!
//! ```text
//! start
//! ping
//! pong
//! ping
//! ...
//! ```

use gevent::queue::Queue;
use gevent::{Greenlet, joinall, sleep};

/// gevent's `Actor`: what a subclass defines (`receive`), and the run loop
/// `_run` that feeds it from the inbox until `running` is false.
trait Actor: 'static {
    type Message: 'static;

    /// "Define in your subclass."
    fn receive(&mut self, message: Self::Message) -> gevent::Result<()>;

    /// `self.running`.
    fn running(&self) -> bool;
}

/// An actor's greenlet with its inbox (the subclass instance).
struct ActorGreenlet<M: 'static> {
    inbox: Queue<M>,
    greenlet: Greenlet<()>,
}

/// `Actor.__init__` + `start`: the inbox, and a greenlet running `_run`
/// on the actor's state.
fn start<A: Actor>(mut actor: A, inbox: Queue<A::Message>) -> ActorGreenlet<A::Message> {
    let q = inbox.clone();
    let greenlet = Greenlet::spawn(move || {
        // _run
        while actor.running() {
            let message = q.get()?;
            actor.receive(message)?;
        }
        Ok(())
    });
    ActorGreenlet { inbox, greenlet }
}

struct Pinger {
    pong_inbox: Queue<&'static str>,
    left: usize,
}

impl Actor for Pinger {
    type Message = &'static str;

    fn receive(&mut self, message: &'static str) -> gevent::Result<()> {
        println!("{message}");
        self.left -= 1;
        self.pong_inbox.put("ping")?;
        sleep(0.0)
    }

    fn running(&self) -> bool {
        self.left > 0
    }
}

struct Ponger {
    ping_inbox: Queue<&'static str>,
    left: usize,
}

impl Actor for Ponger {
    type Message = &'static str;

    fn receive(&mut self, message: &'static str) -> gevent::Result<()> {
        println!("{message}");
        self.left -= 1;
        if self.left > 0 {
            // The last pong is not sent: the pinger has stopped by then.
            self.ping_inbox.put("pong")?;
        }
        sleep(0.0)
    }

    fn running(&self) -> bool {
        self.left > 0
    }
}

fn main() -> gevent::Result<()> {
    env_logger::init();
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("ROUNDS must be a number"))
        .unwrap_or(5);
    // The two inboxes exist before the actors: each one talks to the other.
    let (ping_inbox, pong_inbox) = (Queue::new(None), Queue::new(None));
    let ping = start(
        Pinger {
            pong_inbox: pong_inbox.clone(),
            left: rounds,
        },
        ping_inbox.clone(),
    );
    let pong = start(
        Ponger {
            ping_inbox,
            left: rounds,
        },
        pong_inbox,
    );
    ping.inbox.put("start")?;
    joinall(&[ping.greenlet.clone(), pong.greenlet.clone()])?;
    ping.greenlet.get()?;
    pong.greenlet.get()?;
    Ok(())
}
