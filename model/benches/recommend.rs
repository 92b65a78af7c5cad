//! Hot paths of the engine on the embedded ROME v460 data (criterion).
//!
//! `cargo bench -p passerelle-model --bench recommend`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use passerelle_model::embedded;
use passerelle_model::engine::{ProfileQuery, RecommendQuery};

fn bench(c: &mut Criterion) {
    let engine = embedded::engine().expect("embedded engine");
    let query = |set: &str, k: u32| RecommendQuery {
        profile: ProfileQuery { occupation_code: Some("I1315".into()), ..Default::default() },
        top_k: Some(k),
        target_set: set.into(),
        include_current_occupation: false,
        model_only: false,
        tension_weight: 0.0,
        max_other_skills: None,
    };
    let all = query("ALL", 10);
    c.bench_function("recommend I1315 vs all 1,584 occupations, top 10 with gaps", |b| {
        b.iter(|| engine.recommend(std::hint::black_box(&all)).expect("valid"))
    });
    let digital = query("DIGITAL_INFRASTRUCTURE", 10);
    c.bench_function("recommend I1315 vs DIGITAL_INFRASTRUCTURE, top 10 with gaps", |b| {
        b.iter(|| engine.recommend(std::hint::black_box(&digital)).expect("valid"))
    });
    let wide = query("ALL", 100);
    c.bench_function("recommend I1315 vs all, top 100 with gaps", |b| {
        b.iter(|| engine.recommend(std::hint::black_box(&wide)).expect("valid"))
    });
    c.bench_function("load embedded engine (parse, validate, index)", |b| b.iter(|| embedded::engine().expect("ok")));
    // The reranker's boosted trees alone: 50 head candidates' corrections (random inputs in
    // the features' ranges; the walk's cost depends on the path, not on the values).
    let artifact = passerelle_model::transition::ModelArtifact::from_json(embedded::MODEL_JSON).expect("artifact");
    if let Some(trees) = artifact.model.rerank.as_ref().and_then(|r| r.trees.as_ref()) {
        let rows: Vec<passerelle_model::boost::TreeInputs> = (0..50)
            .map(|i| {
                std::array::from_fn(|j| {
                    // Inputs from N_FEATURES on are the two logits, in −3..3.
                    let logit = j >= passerelle_model::features::N_FEATURES;
                    ((i * 37 + j * 11) % 97) as f64 / 97.0 * if logit { 6.0 } else { 1.0 }
                        - if logit { 3.0 } else { 0.0 }
                })
            })
            .collect();
        c.bench_function("boosted trees: corrections of a 50-candidate head", |b| {
            b.iter(|| rows.iter().map(|x| trees.correction(std::hint::black_box(x))).sum::<f64>())
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
