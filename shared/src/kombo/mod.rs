//! Kombo (SPEC §7): the API client and the payload types it reads, webhook
//! signature verification, the per-integration sync state, and the admin
//! route reporting it.

pub mod client;
pub mod signature;
pub mod state;
pub mod status;
pub mod types;

pub use client::{KomboClient, KomboError, Model, PageRequest};
pub use status::status_routes;
