//! vodgate: upload signatures and durable event ingestion for Tencent Cloud VOD.

pub mod secret;
