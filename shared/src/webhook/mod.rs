//! Outbound webhooks: the network guard (and, with delivery, signing and the client).

pub mod guard;
