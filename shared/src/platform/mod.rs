//! The platform: what the process is given to run with.
//!
//! [`config`] reads the environment once at start, [`secret`] keeps key material out of every log
//! line, [`keys`] merges keys from the environment and a Secrets Manager secret and keeps them
//! fresh, `aws` builds the one AWS SDK configuration, [`outbound`] every other HTTP client, and
//! `emf` writes metric lines. Nothing here knows VOD or the HTTP API.

pub(crate) mod aws;
pub mod config;
pub(crate) mod emf;
pub mod keys;
pub mod outbound;
pub mod secret;
