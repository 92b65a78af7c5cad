//! # passerelle-service
//!
//! The thin adapter around [`passerelle_model`]: the tonic gRPC server (health, reflection,
//! `passerelle.v1.PathwayService`, `passerelle.v1.BatchService`) and the `passerelle`
//! command-line tool, with its batch commands ([`batch`]). Conversions
//! between generated proto types and domain types happen here, at the edge.

pub mod auth;
pub mod batch;
pub mod cli;
pub mod compute;
pub mod connections;
pub mod grpc;
pub mod guard;
pub mod limits;
pub mod metrics;
pub mod proto;
pub mod reload;
pub mod request_id;
pub mod search_cmd;
pub mod serve_cmd;
pub mod server;
pub mod settings;
pub mod telemetry;
pub mod training_cmd;
