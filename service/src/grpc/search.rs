//! `passerelle.v1.SearchService`: occupations and items from the words people type.

use passerelle_model::engine::Engine;
use passerelle_model::error::QueryError;
use passerelle_model::search::SkillHit;
use tonic::{Request, Response, Status};

use crate::grpc::convert::skill_kind;
use crate::grpc::pathway::EngineSlot;
use crate::grpc::{demand, status};
use crate::proto::v1 as pb;

/// Implementation of `SearchService` over the shared engine slot.
#[derive(Debug, Clone)]
pub struct SearchApi {
    engine: EngineSlot,
}

impl SearchApi {
    /// A service answering from `engine` (`UNAVAILABLE` while the slot is empty).
    pub fn new(engine: EngineSlot) -> Self {
        SearchApi { engine }
    }

    /// Runs one search off the async workers: `UNAVAILABLE` while loading, the query's
    /// errors as `INVALID_ARGUMENT` naming the field.
    async fn run<T, F>(&self, search: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&Engine) -> Result<T, QueryError> + Send + 'static,
    {
        let engine = self.engine.load_full().ok_or_else(|| Status::unavailable("the model is still loading"))?;
        crate::compute::run(move || search(&engine))
            .await
            .map_err(|e| Status::internal(format!("search task failed: {e}")))?
            .map_err(|err| {
                tracing::info!(field = err.field(), "invalid request");
                status::from_query_error(&err)
            })
    }
}

fn skill_match(hit: SkillHit) -> pb::SkillMatch {
    let SkillHit { code, label, kind, score } = hit;
    let kind = skill_kind(kind);
    pb::SkillMatch { code: code.to_string(), label, kind: kind.into(), score }
}

#[tonic::async_trait]
impl pb::search_service_server::SearchService for SearchApi {
    #[tracing::instrument(name = "SearchOccupations", skip_all)]
    async fn search_occupations(
        &self,
        request: Request<pb::SearchOccupationsRequest>,
    ) -> Result<Response<pb::SearchOccupationsResponse>, Status> {
        let pb::SearchOccupationsRequest { query, top_k } = request.into_inner();
        let hits = self.run(move |engine| engine.search_occupations(&query, top_k)).await?;
        Ok(Response::new(pb::SearchOccupationsResponse {
            occupations: hits.into_iter().map(demand::occupation_match).collect(),
            data_source: passerelle_model::embedded::ROME_ATTRIBUTION.to_string(),
        }))
    }

    #[tracing::instrument(name = "SearchSkills", skip_all)]
    async fn search_skills(
        &self,
        request: Request<pb::SearchSkillsRequest>,
    ) -> Result<Response<pb::SearchSkillsResponse>, Status> {
        let pb::SearchSkillsRequest { query, top_k } = request.into_inner();
        let hits = self.run(move |engine| engine.search_skills(&query, top_k)).await?;
        Ok(Response::new(pb::SearchSkillsResponse {
            skills: hits.into_iter().map(skill_match).collect(),
            data_source: passerelle_model::embedded::ROME_ATTRIBUTION.to_string(),
        }))
    }
}
