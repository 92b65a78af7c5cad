//! # passerelle-service
//!
//! The thin adapter around [`passerelle_model`]: the tonic gRPC server (health, reflection,
//! `passerelle.v1.PathwayService`, `passerelle.v1.BatchService`) and the `passerelle`
//! command-line tool, with its batch commands ([`batch`]). Conversions
//! between generated proto types and domain types happen here, at the edge.

pub mod batch;
pub mod cli;
pub mod grpc;
pub mod proto;
pub mod server;
pub mod telemetry;
