//! Dockerfile parser, stage graph and build solver.
