//! `passerelle.v1.TrainingService`: training plans and multi-step pathways.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use passerelle_model::engine::Engine;
use passerelle_model::error::QueryError;
use passerelle_model::explore::explore;
use passerelle_model::training::catalogue::TrainingCatalogue;
use passerelle_model::training::plan::Planner;
use tonic::{Request, Response, Status};

use crate::grpc::pathway::EngineSlot;
use crate::grpc::training_convert as convert;
use crate::limits::RequestLimits;
use crate::proto::v1 as pb;

/// The training catalogue currently served: empty while loading, swapped with the engine.
pub type TrainingSlot = Arc<ArcSwapOption<TrainingCatalogue>>;

/// Implementation of `TrainingService` over the shared engine and training catalogue.
#[derive(Debug, Clone)]
pub struct TrainingApi {
    engine: EngineSlot,
    training: TrainingSlot,
    limits: RequestLimits,
}

impl TrainingApi {
    /// A service answering from the two slots (`UNAVAILABLE` while either is empty).
    pub fn new(engine: EngineSlot, training: TrainingSlot) -> Self {
        TrainingApi { engine, training, limits: RequestLimits::default() }
    }

    /// Applies the operator's `max_profile_items` to the profiles, as `RecommendPathways` does.
    pub fn with_limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The profile's area checked as `RecommendPathways` checks it: an unknown region or
    /// department is reported with the profile's unknown codes, if any, in one answer.
    fn check_area(engine: &Engine, profile: &passerelle_model::engine::ProfileQuery) -> Result<(), Status> {
        let Err(area) = crate::grpc::convert::check_area(engine, profile) else { return Ok(()) };
        let err = engine.resolve(profile).err().and_then(|codes| QueryError::both(&codes, &area)).unwrap_or(area);
        tracing::info!(field = err.field(), "invalid request");
        Err(crate::grpc::status::from_query_error(&err))
    }

    /// `INVALID_ARGUMENT` naming the item list over the operator's quota.
    fn check_profile(&self, profile: &passerelle_model::engine::ProfileQuery) -> Result<(), Status> {
        self.limits.check_profile(profile).map_err(|err| {
            tracing::info!(field = err.field(), "invalid request: over a configured limit");
            crate::grpc::status::from_query_error(&err)
        })
    }
}

/// The engine and training catalogue, or `UNAVAILABLE` while they load.
///
/// # Errors
/// `UNAVAILABLE` while either slot is empty.
pub fn loaded(engine: &EngineSlot, training: &TrainingSlot) -> Result<(Arc<Engine>, Arc<TrainingCatalogue>), Status> {
    match (engine.load_full(), training.load_full()) {
        (Some(e), Some(t)) => Ok((e, t)),
        _ => Err(Status::unavailable("the model and training catalogue are still loading")),
    }
}

#[tonic::async_trait]
impl pb::training_service_server::TrainingService for TrainingApi {
    #[tracing::instrument(name = "PlanTraining", skip_all)]
    async fn plan_training(
        &self,
        request: Request<pb::PlanTrainingRequest>,
    ) -> Result<Response<pb::PlanTrainingResponse>, Status> {
        let (engine, training) = loaded(&self.engine, &self.training)?;
        let query = convert::plan_query(request.into_inner())?;
        self.check_profile(&query.profile)?;
        // The plan does not use the area, but a wrong one is refused as RecommendPathways does.
        Self::check_area(&engine, &query.profile)?;
        let (e, t) = (Arc::clone(&engine), Arc::clone(&training));
        let answer = crate::compute::run_heavy(move || Planner::new(&e, &t)?.plan(&query))
            .await
            .map_err(|e| Status::internal(format!("planning task failed: {e}")))?;
        match answer {
            Ok(plan) => {
                tracing::debug!(certifications = plan.certifications.len(), hours = plan.total_hours, "planned");
                Ok(Response::new(pb::PlanTrainingResponse {
                    plan: Some(convert::plan(plan)),
                    info: Some(convert::info(engine.model_info(), training.operator_file.as_deref())),
                }))
            }
            Err(err) => {
                tracing::info!(field = err.field(), "invalid request");
                Err(convert::from_plan_error(&err))
            }
        }
    }

    #[tracing::instrument(name = "ExplorePathways", skip_all)]
    async fn explore_pathways(
        &self,
        request: Request<pb::ExplorePathwaysRequest>,
    ) -> Result<Response<pb::ExplorePathwaysResponse>, Status> {
        let (engine, training) = loaded(&self.engine, &self.training)?;
        let request = request.into_inner();
        crate::grpc::convert::checked_target_set(&engine, request.target_set, &request.target_set_name, "")?;
        let query = convert::explore_query(request)?;
        self.check_profile(&query.profile)?;
        Self::check_area(&engine, &query.profile)?;
        let (e, t) = (Arc::clone(&engine), Arc::clone(&training));
        let answer = crate::compute::run_heavy(move || explore(&e, &t, &query))
            .await
            .map_err(|e| Status::internal(format!("exploration task failed: {e}")))?;
        match answer {
            Ok(exploration) => {
                tracing::debug!(paths = exploration.paths.len(), considered = exploration.paths_considered, "explored");
                let info = convert::info(engine.model_info(), training.operator_file.as_deref());
                Ok(Response::new(convert::explore_response(exploration, info)))
            }
            Err(err) => {
                tracing::info!(field = err.field(), "invalid request");
                Err(convert::from_plan_error(&err))
            }
        }
    }
}
