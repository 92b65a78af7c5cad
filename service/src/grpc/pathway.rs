//! `passerelle.v1.PathwayService`.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use passerelle_model::engine::{Engine, RecommendQuery};
use tonic::{Request, Response, Status};

use crate::grpc::training::TrainingSlot;
use crate::grpc::{convert, status, training_convert};
use crate::limits::RequestLimits;
use crate::proto::v1 as pb;

/// The engine currently served: empty while loading, swapped whole on reload.
pub type EngineSlot = Arc<ArcSwapOption<Engine>>;

/// Implementation of `PathwayService` over the shared engine slot.
#[derive(Debug, Clone)]
pub struct PathwayApi {
    engine: EngineSlot,
    limits: RequestLimits,
    training: Option<TrainingSlot>,
}

impl PathwayApi {
    /// A service answering from `engine` (`UNAVAILABLE` while the slot is empty), with the
    /// engine's own caps as quotas.
    pub fn new(engine: EngineSlot) -> Self {
        PathwayApi { engine, limits: RequestLimits::default(), training: None }
    }

    /// The same with operator quotas (`max_profile_items`, `max_top_k`).
    pub fn with_limits(engine: EngineSlot, limits: RequestLimits) -> Self {
        PathwayApi { engine, limits, training: None }
    }

    /// Also answers `include_training_plan` from this training catalogue slot (without it,
    /// such requests are `UNAVAILABLE`).
    pub fn with_training(mut self, training: TrainingSlot) -> Self {
        self.training = Some(training);
        self
    }

    /// Converts a request and applies the operator quotas: `INVALID_ARGUMENT` naming the field
    /// when over a limit; an absent `top_k` becomes the configured default.
    fn checked_query(&self, request: pb::RecommendPathwaysRequest) -> Result<RecommendQuery, Status> {
        let mut query = convert::recommend_query(request)?;
        if let Err(err) = self.limits.check(&query) {
            tracing::info!(
                field = err.field(),
                "invalid request: outside the configured quotas (max_top_k, max_profile_items)"
            );
            return Err(status::from_query_error(&err));
        }
        query.top_k = Some(query.top_k.unwrap_or(self.limits.default_top_k()));
        Ok(query)
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
        let request = request.into_inner();
        convert::checked_target_set(&engine, request.target_set, &request.target_set_name, "")?;
        if request.include_training_plan {
            return self.recommend_with_plans(engine, request).await;
        }
        if let Some(constraints) = &request.plan_constraints {
            check_constraints_without_plans(&engine, constraints)?;
        }
        let query = self.checked_query(request)?;
        let scorer = Arc::clone(&engine);
        // The engine.recommend span nests in the request span, which compute::run carries over.
        let span = tracing::info_span!("engine.recommend");
        let answer = crate::compute::run(move || span.in_scope(|| scorer.recommend(&query)))
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

/// `plan_constraints` given without `include_training_plan`: checked as for a plan, so that
/// a wrong value is `INVALID_ARGUMENT` naming its field (`plan_constraints.max_level`…)
/// whether or not plans are asked for; valid constraints are then unused (no plan is made).
///
/// # Errors
/// `INVALID_ARGUMENT` with a `BadRequest` field violation.
fn check_constraints_without_plans(engine: &Engine, constraints: &pb::PlanConstraints) -> Result<(), Status> {
    match training_convert::constraints(Some(constraints.clone())).validate(engine, "plan_constraints") {
        Ok(_) => Ok(()),
        Err(err) => {
            tracing::info!(field = err.field(), "invalid request");
            Err(training_convert::from_plan_error(&err))
        }
    }
}

impl PathwayApi {
    /// `RecommendPathways` with a training plan attached to each result.
    async fn recommend_with_plans(
        &self,
        engine: Arc<Engine>,
        request: pb::RecommendPathwaysRequest,
    ) -> Result<Response<pb::RecommendPathwaysResponse>, Status> {
        let slot = self.training.as_ref().ok_or_else(|| Status::unavailable("training plans are not served here"))?;
        let (engine, training) = crate::grpc::training::loaded(&self.engine, slot).map(|(_, t)| (engine, t))?;
        let constraints = training_convert::constraints(request.plan_constraints.clone());
        let query = self.checked_query(request)?;
        let (e, t) = (Arc::clone(&engine), Arc::clone(&training));
        let answer = crate::compute::run_heavy(move || {
            let answer = e.recommend(&query).map_err(passerelle_model::training::PlanError::from)?;
            let targets: Vec<String> = answer.results.iter().map(|r| r.occupation.code.clone()).collect();
            let plans = passerelle_model::training::plan::Planner::new(&e, &t)?.plan_each(
                &query.profile,
                &targets,
                &constraints,
                "plan_constraints",
            )?;
            Ok::<_, passerelle_model::training::PlanError>((answer, plans))
        })
        .await
        .map_err(|e| Status::internal(format!("scoring task failed: {e}")))?;
        match answer {
            Ok((answer, plans)) => {
                let mut response = convert::recommend_response(answer, engine.model_info());
                for (pathway, plan) in response.pathways.iter_mut().zip(plans) {
                    pathway.training_plan = Some(training_convert::plan(plan));
                }
                if let Some(info) = response.info.as_mut() {
                    info.training_basis = training_convert::TRAINING_BASIS.to_string();
                }
                Ok(Response::new(response))
            }
            Err(err) => {
                tracing::info!(field = err.field(), "invalid request");
                Err(training_convert::from_plan_error(&err))
            }
        }
    }
}
