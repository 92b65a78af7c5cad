//! gRPC adapters: one module per service, conversions at the edge, one error → status map.

pub mod batch;
pub mod convert;
pub mod pathway;
pub mod status;
