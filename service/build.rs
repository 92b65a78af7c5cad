//! Compiles `proto/` with protox (pure Rust, no system `protoc`) and writes the encoded
//! descriptor set for gRPC reflection.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("..").join("proto");
    let files = [
        root.join("passerelle/v1/pathways.proto"),
        root.join("passerelle/v1/admin.proto"),
        root.join("passerelle/v1/training.proto"),
        root.join("passerelle/v1/search.proto"),
        root.join("passerelle/v1/batch.proto"),
    ];
    println!("cargo:rerun-if-changed={}", root.display());
    let fds = protox::compile(&files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("passerelle_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(fds)?;
    Ok(())
}
