//! Types and stubs generated from `proto/passerelle/v1/*.proto` (package `passerelle.v1`:
//! pathways, training, search, batch, admin), plus the encoded descriptor set served by reflection.

#![allow(missing_docs, unreachable_pub, clippy::all, clippy::unwrap_used, clippy::expect_used)]

/// `passerelle.v1`.
pub mod v1 {
    tonic::include_proto!("passerelle.v1");
}

/// Encoded `FileDescriptorSet` of the contract, for `tonic-reflection`.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/passerelle_descriptor.bin"));
