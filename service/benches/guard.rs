//! Cost of the request guard (API key check, concurrency permit, deadline timer) per call,
//! against the same call without it (criterion).
//!
//! `cargo bench -p passerelle-service --bench guard`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use passerelle_service::auth::ApiKeys;
use passerelle_service::guard::GuardLayer;
use tower::{Layer, Service, ServiceExt};

fn request(key: &str) -> http::Request<()> {
    http::Request::builder()
        .uri("/passerelle.v1.PathwayService/RecommendPathways")
        .header("authorization", format!("Bearer {key}"))
        .header("grpc-timeout", "500m")
        .body(())
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let ten_keys: String = (0..10).map(|i| format!("bench-key-{i:02}-0123456789abcdef")).collect::<Vec<_>>().join(",");
    let keys = ApiKeys::load(None, Some(&ten_keys)).unwrap().unwrap();
    let header = request("bench-key-09-0123456789abcdef");
    c.bench_function("API key check, 10 keys (SHA-256 + constant-time compare)", |b| {
        b.iter(|| assert!(keys.authorizes(std::hint::black_box(header.headers()))))
    });

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let answer = || {
        tower::service_fn(|_req: http::Request<()>| async {
            Ok::<_, Infallible>(http::Response::new(tonic::body::Body::default()))
        })
    };
    let mut bare = answer();
    c.bench_function("one call without the guard", |b| {
        b.iter(|| runtime.block_on(async { bare.ready().await.unwrap().call(request("x")).await.unwrap() }))
    });
    let mut guarded = GuardLayer::new(Some(keys.clone()), 256, Duration::from_secs(10)).layer(answer());
    c.bench_function("one call through the guard (key, permit, deadline)", |b| {
        b.iter(|| {
            runtime.block_on(async {
                guarded.ready().await.unwrap().call(request("bench-key-09-0123456789abcdef")).await.unwrap()
            })
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
