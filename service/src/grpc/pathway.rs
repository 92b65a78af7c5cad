//! `passerelle.v1.PathwayService`.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use passerelle_model::engine::Engine;
use tonic::{Request, Response, Status};

use crate::grpc::{convert, status};
use crate::proto::v1 as pb;

/// The engine currently served: empty while loading, swapped whole on reload.
pub type EngineSlot = Arc<ArcSwapOption<Engine>>;

/// Implementation of `PathwayService` over the shared engine slot.
#[derive(Debug, Clone)]
pub struct PathwayApi {
    engine: EngineSlot,
}

impl PathwayApi {
    /// A service answering from `engine` (`UNAVAILABLE` while the slot is empty).
    pub fn new(engine: EngineSlot) -> Self {
        PathwayApi { engine }
    }
}

#[tonic::async_trait]
impl pb::pathway_service_server::PathwayService for PathwayApi {
    #[tracing::instrument(name = "RecommendPathways", skip_all)]
    async fn recommend_pathways(
        &self,
        request: Request<pb::RecommendPathwaysRequest>,
    ) -> Result<Response<pb::RecommendPathwaysResponse>, Status> {
        let engine = self.engine.load_full().ok_or_else(|| Status::unavailable("the model is still loading"))?;
        let query = convert::recommend_query(request.into_inner())?;
        let scorer = Arc::clone(&engine);
        // The blocking thread does not inherit the request's span: carry it over (request id).
        let span = tracing::info_span!("engine.recommend");
        let answer = tokio::task::spawn_blocking(move || span.in_scope(|| scorer.recommend(&query)))
            .await
            .map_err(|e| Status::internal(format!("scoring task failed: {e}")))?;
        match answer {
            Ok(answer) => {
                tracing::debug!(results = answer.results.len(), candidates = answer.candidates_scored, "recommended");
                Ok(Response::new(convert::recommend_response(answer, engine.model_info())))
            }
            Err(err) => {
                tracing::info!(field = err.field(), "invalid request");
                Err(status::from_query_error(&err))
            }
        }
    }
}
