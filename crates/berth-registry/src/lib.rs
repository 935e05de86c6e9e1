//! OCI distribution: registry client and server.
//!
//! [`server`] is an OCI distribution-spec v1.1 registry (`berth registry serve`) over a
//! content-addressed filesystem store, with htpasswd or token auth and optional TLS.

pub mod server;
