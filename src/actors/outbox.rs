//! The outbox sender's actix face: it hears model changes like the other
//! actors do and passes them, and kicks, to the sender's own thread
//! ([`crate::notify::sender`]), which does the slow work (SMTP, HTTP) away
//! from the media workers and the store actor. Stopping it stops the thread.

use super::messages::DirectoryChanged;
use crate::directory::Directory;
use crate::notify::sender::{self, Signal};
use crate::store::MailboxStore;
use actix::prelude::*;
use std::sync::Arc;
use std::sync::mpsc::Sender;

pub struct OutboxActor {
    tx: Sender<Signal>,
}

impl OutboxActor {
    /// Start the sender thread and its actor.
    pub fn spawn(
        store: Arc<dyn MailboxStore>,
        dir: Arc<Directory>,
        fqdn: String,
    ) -> Result<(Addr<OutboxActor>, Kicker), String> {
        let (tx, _thread) = sender::spawn(store, dir, fqdn)
            .map_err(|e| format!("cannot start the outbox sender: {e}"))?;
        let kicker = Kicker(tx.clone());
        Ok((OutboxActor { tx }.start(), kicker))
    }
}

/// Tells the sender to look at the outbox now (after a message change).
#[derive(Clone)]
pub struct Kicker(Sender<Signal>);

impl Kicker {
    pub fn kick(&self) {
        let _ = self.0.send(Signal::Kick);
    }
}

impl Actor for OutboxActor {
    type Context = Context<Self>;
    fn stopped(&mut self, _: &mut Context<Self>) {
        let _ = self.tx.send(Signal::Stop);
    }
}

impl Handler<DirectoryChanged> for OutboxActor {
    type Result = ();
    fn handle(&mut self, m: DirectoryChanged, _: &mut Context<Self>) {
        let _ = self.tx.send(Signal::Model(m.0));
    }
}
