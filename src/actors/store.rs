//! StoreActor: runs [`MailboxStore`] calls on a dedicated thread (actix
//! `SyncArbiter`), because sled's flush is a blocking fsync and must not run on a
//! worker arbiter that is pacing RTP.

use crate::store::{Greetings, MailboxStore, MessageMeta, NewMessage, StoreError};
use actix::prelude::*;
use std::sync::Arc;

pub struct StoreActor {
    pub store: Arc<dyn MailboxStore>,
}

impl Actor for StoreActor {
    type Context = SyncContext<Self>;
}

#[derive(Message)]
#[rtype(result = "Result<MessageMeta, StoreError>")]
pub struct Deposit {
    pub msg: NewMessage,
    pub audio: crate::store::audio::Captured,
}

impl Handler<Deposit> for StoreActor {
    type Result = Result<MessageMeta, StoreError>;
    fn handle(&mut self, m: Deposit, _: &mut SyncContext<Self>) -> Self::Result {
        // Decoding G.711 to PCM happens here, off the media workers.
        self.store.deposit(m.msg, &m.audio.into_sound())
    }
}

/// What a deposit to this mailbox plays (active greeting, recorded name).
#[derive(Message)]
#[rtype(result = "Result<Greetings, StoreError>")]
pub struct GetGreeting(pub String);

impl Handler<GetGreeting> for StoreActor {
    type Result = Result<Greetings, StoreError>;
    fn handle(&mut self, m: GetGreeting, _: &mut SyncContext<Self>) -> Self::Result {
        self.store.greetings(&m.0)
    }
}

/// Any store work (subscriber access: logon, listing, marking, greetings): the
/// closure runs on the store thread and its result comes back.
pub struct Run<R>(pub StoreJob<R>);

/// Work to run against the store.
pub type StoreJob<R> = Box<dyn FnOnce(&dyn MailboxStore) -> R + Send>;

impl<R: Send + 'static> Message for Run<R> {
    type Result = R;
}

impl<R: Send + 'static> Handler<Run<R>> for StoreActor {
    type Result = MessageResult<Run<R>>;
    fn handle(&mut self, m: Run<R>, _: &mut SyncContext<Self>) -> Self::Result {
        MessageResult((m.0)(self.store.as_ref()))
    }
}
