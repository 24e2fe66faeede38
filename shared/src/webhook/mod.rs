//! Outbound webhooks: payloads, signing, the network guard, the delivery
//! client, and recording deliveries.

pub mod client;
pub mod delivery;
pub mod guard;
pub mod payload;
pub mod sign;
