//! The platform: what the process is given to run with.
//!
//! [`config`] reads the environment once at start, [`secret`] keeps key material out of every log
//! line, [`keys`] merges keys from the environment and a Secrets Manager secret and keeps them
//! fresh, and `aws` builds the one AWS SDK configuration. Nothing here knows VOD or HTTP.

pub(crate) mod aws;
pub mod config;
pub mod keys;
pub mod secret;
