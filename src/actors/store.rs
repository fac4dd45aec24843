//! StoreActor: runs [`MailboxStore`] calls on a dedicated thread (actix
//! `SyncArbiter`), because sled's flush is a blocking fsync and must not run on a
//! worker arbiter that is pacing RTP.

use crate::media::g711::Law;
use crate::store::{MailboxStore, MessageMeta, NewMessage, StoreError};
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
    pub audio: Vec<u8>,
}

impl Handler<Deposit> for StoreActor {
    type Result = Result<MessageMeta, StoreError>;
    fn handle(&mut self, m: Deposit, _: &mut SyncContext<Self>) -> Self::Result {
        self.store.deposit(m.msg, &m.audio)
    }
}

#[derive(Message)]
#[rtype(result = "Result<Option<(Law, Vec<u8>)>, StoreError>")]
pub struct GetGreeting(pub String);

impl Handler<GetGreeting> for StoreActor {
    type Result = Result<Option<(Law, Vec<u8>)>, StoreError>;
    fn handle(&mut self, m: GetGreeting, _: &mut SyncContext<Self>) -> Self::Result {
        self.store.greeting(&m.0)
    }
}
