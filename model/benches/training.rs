//! Training plans and multi-step pathways on the embedded ROME v460 data (criterion).
//!
//! `cargo bench -p passerelle-model --bench training`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use passerelle_model::embedded;
use passerelle_model::engine::ProfileQuery;
use passerelle_model::explore::{explore, ExploreQuery};
use passerelle_model::training::plan::{PlanQuery, Planner};

fn bench(c: &mut Criterion) {
    let engine = embedded::engine().expect("embedded engine");
    let (training, _) = embedded::training_catalogue(engine.catalogue(), None).expect("training catalogue");
    let planner = Planner::new(&engine, &training).expect("same data");
    let profile = ProfileQuery {
        occupation_code: Some("I1315".into()),
        removed_item_codes: vec!["403964".into()],
        ..Default::default()
    };
    let plan = PlanQuery { profile: profile.clone(), target_occupation_code: "F1623".into(), ..Default::default() };
    c.bench_function("PlanTraining I1315 (no AIPR) -> F1623", |b| {
        b.iter(|| planner.plan(std::hint::black_box(&plan)).expect("valid"))
    });
    let far = PlanQuery { profile: profile.clone(), target_occupation_code: "M1810".into(), ..Default::default() };
    c.bench_function("PlanTraining I1315 -> M1810 (large gap)", |b| {
        b.iter(|| planner.plan(std::hint::black_box(&far)).expect("valid"))
    });
    let query = |depth: u32| ExploreQuery {
        profile: ProfileQuery { occupation_code: Some("I1315".into()), ..Default::default() },
        target_set: "DIGITAL_INFRASTRUCTURE".into(),
        max_intermediates: Some(depth),
        ..Default::default()
    };
    for depth in [0, 1, 2] {
        let q = query(depth);
        c.bench_function(
            &format!("ExplorePathways I1315 -> DIGITAL_INFRASTRUCTURE, {depth} intermediate(s), fan-out 5"),
            |b| b.iter(|| explore(&engine, &training, std::hint::black_box(&q)).expect("valid")),
        );
    }
    c.bench_function("build the training catalogue (3,223 certifications)", |b| {
        b.iter(|| embedded::training_catalogue(engine.catalogue(), None).expect("ok"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
