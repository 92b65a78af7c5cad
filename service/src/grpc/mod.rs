//! gRPC adapters: one module per service, conversions at the edge, one error → status map.

pub mod admin;
pub mod batch;
pub mod convert;
pub mod demand;
pub mod pathway;
pub mod search;
pub mod status;
pub mod training;
pub mod training_convert;
