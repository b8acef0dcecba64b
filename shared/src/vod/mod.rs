//! Tencent Cloud VOD's protocol, and nothing else.
//!
//! [`signature`] builds and inspects client-upload signatures; [`callback`] parses event
//! notifications and [`callback_auth`] checks their `Sign`/`T`; [`tc3`] signs API requests and
//! [`api`] calls the VOD API (the reliable-callback queue and the event configuration). This layer
//! reads no environment, knows no web framework and no AWS, and takes keys as plain values, so it
//! can be tested against Tencent's published examples alone; the use cases above decide where the
//! keys and settings come from.

pub mod api;
pub mod callback;
pub mod callback_auth;
pub mod signature;
pub mod tc3;
