//! Who is calling: bearer JWTs, checked against HS256 secrets and a JWKS.
//!
//! [`jwt`] decides whether a token proves a caller who may upload; `jwks` keeps the identity
//! provider's public keys cached and bounded, so a stream of unknown `kid`s cannot turn every
//! request into a fetch.

mod jwks;
pub mod jwt;
