//! Fuzz target: request validation and the whole request path, without the network.
//! Bytes → `RecommendPathwaysRequest` (prost) → proto-to-domain conversion → engine on the
//! embedded ROME v460 data and model → response conversion, or the error → status map.
//! Checks: no panic; an answer has at most `top_k` results with scores in [0, 1]; a refusal
//! is INVALID_ARGUMENT.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use passerelle_model::engine::Engine;
use passerelle_service::grpc::{convert, status};
use passerelle_service::proto::v1::RecommendPathwaysRequest;
use prost::Message;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| passerelle_model::embedded::engine().expect("embedded engine"))
}

fuzz_target!(
    // Load the engine before the first input (about 20 s under the address sanitizer), so
    // that load is not reported as a slow unit.
    init: {
        let _ = engine();
    },
    |data: &[u8]| {
    let Ok(request) = RecommendPathwaysRequest::decode(data) else { return };
    let query = match convert::recommend_query(request) {
        Ok(query) => query,
        Err(status) => {
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
            return;
        }
    };
    let top_k = query.top_k.unwrap_or(10) as usize;
    let engine = engine();
    match engine.recommend(&query) {
        Ok(answer) => {
            let response = convert::recommend_response(answer, engine.model_info());
            assert!(response.pathways.len() <= top_k);
            for p in &response.pathways {
                for score in [p.probability, p.cosine_similarity, p.core_coverage] {
                    assert!((0.0..=1.0).contains(&score), "score {score}");
                }
            }
        }
        Err(err) => {
            let status = status::from_query_error(&err);
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
        }
    }
}
);
