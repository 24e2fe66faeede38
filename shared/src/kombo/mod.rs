//! Kombo (SPEC §7): the API client and the payload types it reads, webhook
//! signature verification, the per-integration sync state, the admin route
//! reporting it, and the write-back of interview results to the ATS.

pub mod client;
pub mod signature;
pub mod state;
pub mod status;
pub mod types;
pub mod writeback;

pub use client::{KomboClient, KomboError, Model, PageRequest};
pub use status::status_routes;
