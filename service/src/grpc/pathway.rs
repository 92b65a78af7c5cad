//! `passerelle.v1.PathwayService`.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use passerelle_model::engine::Engine;
use tonic::{Request, Response, Status};

use crate::grpc::{convert, status};
use crate::limits::RequestLimits;
use crate::proto::v1 as pb;

/// The engine currently served: empty while loading, swapped whole on reload.
pub type EngineSlot = Arc<ArcSwapOption<Engine>>;

/// Implementation of `PathwayService` over the shared engine slot.
#[derive(Debug, Clone)]
pub struct PathwayApi {
    engine: EngineSlot,
    limits: RequestLimits,
}

impl PathwayApi {
    /// A service answering from `engine` (`UNAVAILABLE` while the slot is empty), with the
    /// engine's own caps as quotas.
    pub fn new(engine: EngineSlot) -> Self {
        PathwayApi { engine, limits: RequestLimits::default() }
    }

    /// The same with operator quotas (`max_profile_items`, `max_top_k`).
    pub fn with_limits(engine: EngineSlot, limits: RequestLimits) -> Self {
        PathwayApi { engine, limits }
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
        let mut query = convert::recommend_query(request.into_inner())?;
        if let Err(err) = self.limits.check(&query) {
            tracing::info!(field = err.field(), "invalid request: over a configured limit");
            return Err(status::from_query_error(&err));
        }
        query.top_k = Some(query.top_k.unwrap_or(self.limits.default_top_k()));
        let scorer = Arc::clone(&engine);
        let answer = tokio::task::spawn_blocking(move || scorer.recommend(&query))
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
