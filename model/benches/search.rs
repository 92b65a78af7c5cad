//! Text search and tension-weighted ranking latency (issue #7), on the embedded data.
//! Run: `cargo bench -p passerelle-model --bench search`.

#![allow(missing_docs, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use passerelle_model::embedded;
use passerelle_model::engine::{ProfileQuery, RecommendQuery};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let engine = embedded::engine().expect("embedded engine");
    for (name, text) in [
        ("search occupations: exact title", "Monteur raccordeur / Monteuse raccordeuse fibre optique"),
        ("search occupations: feminine + abbreviation", "monteuse raccordeuse FTTH"),
        ("search occupations: typos", "tehcnicien fibre optque"),
        ("search occupations: one common word", "technicien"),
    ] {
        c.bench_function(name, |b| b.iter(|| engine.search_occupations(black_box(text), Some(10)).expect("valid")));
    }
    c.bench_function("search skills: habilitation electrique", |b| {
        b.iter(|| engine.search_skills(black_box("habilitation electrique"), Some(10)).expect("valid"))
    });
    let query = |profile: ProfileQuery, set: &str, w: f64| RecommendQuery {
        profile,
        top_k: Some(10),
        target_set: set.into(),
        include_current_occupation: false,
        model_only: false,
        tension_weight: w,
        max_other_skills: None,
    };
    let plain = query(ProfileQuery { occupation_code: Some("I1315".into()), ..Default::default() }, "ALL", 0.0);
    c.bench_function("recommend I1315 vs all, national figures (same conditions)", |b| {
        b.iter(|| engine.recommend(black_box(&plain)).expect("valid"))
    });
    let reunion =
        ProfileQuery { occupation_code: Some("I1315".into()), region: Some("04".into()), ..Default::default() };
    let blended = query(reunion.clone(), "ALL", 0.3);
    c.bench_function("recommend I1315 vs all, region 04, tension weight 0.3", |b| {
        b.iter(|| engine.recommend(black_box(&blended)).expect("valid"))
    });
    let annotated = query(reunion, "ALL", 0.0);
    c.bench_function("recommend I1315 vs all, region 04, no weight", |b| {
        b.iter(|| engine.recommend(black_box(&annotated)).expect("valid"))
    });
    let titled = query(ProfileQuery { job_title: Some("monteuse FTTH".into()), ..Default::default() }, "ALL", 0.0);
    c.bench_function("recommend by job title vs all", |b| {
        b.iter(|| engine.recommend(black_box(&titled)).expect("valid"))
    });
    let catalogue = engine.catalogue().clone();
    c.bench_function("build search index (appellations + labels)", |b| {
        b.iter(|| embedded::search_index(black_box(&catalogue)).expect("ok"))
    });
    c.bench_function("load tension table", |b| b.iter(|| embedded::tension_table().expect("ok")));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
