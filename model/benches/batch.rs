//! Batch scoring on all cores (rayon) of synthetic real-shaped profiles against all 1,584
//! occupations, top 10 with gaps — the work of `passerelle score`, without file I/O.
//!
//! `cargo bench -p passerelle-model --bench batch` (criterion reports profiles/s as
//! elements/s).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use passerelle_model::embedded;
use passerelle_model::engine::RecommendQuery;
use passerelle_model::synth::ProfileGenerator;

const PROFILES: usize = 1000;

fn bench(c: &mut Criterion) {
    let engine = embedded::engine().expect("embedded engine");
    let queries: Vec<RecommendQuery> = ProfileGenerator::new(engine.catalogue(), 1)
        .take(PROFILES)
        .map(|p| RecommendQuery { profile: p.profile, top_k: Some(10), ..Default::default() })
        .collect();
    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(PROFILES as u64));
    group.sample_size(10);
    group.bench_function("1,000 synthetic profiles vs all 1,584 occupations, top 10 with gaps, all cores", |b| {
        b.iter(|| engine.recommend_many(std::hint::black_box(&queries)))
    });
    group.bench_function("1,000 synthetic profiles, one at a time on one core (Engine::recommend)", |b| {
        b.iter(|| queries.iter().map(|q| engine.recommend(std::hint::black_box(q))).collect::<Vec<_>>())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
