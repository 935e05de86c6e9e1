//! OCI distribution: registry client and server.
