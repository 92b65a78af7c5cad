//! `passerelle.v1.BatchService`: `ScoreProfiles` (bidirectional stream, one answer per
//! request, in order) and `AnalyzeCohort` (client stream of profile batches, one report).
//!
//! Flow control: requests are scored on the blocking pool, at most [`SCORING_IN_FLIGHT`]
//! at once; finished answers wait in order in a queue of at most [`ANSWERS_QUEUED`], and
//! the server stops reading the client's stream while the queue is full, so HTTP/2 flow
//! control pushes back on a client that sends faster than it reads. Nothing is buffered
//! without bound.

use std::sync::Arc;

use passerelle_model::cohort::{
    plan_moves, CohortAccumulator, CohortReport, DistinctIds, DEFAULT_COHORT_ROWS, MAX_COHORT_ROWS,
};
use passerelle_model::engine::{Engine, ProfileQuery, RecommendQuery, DEFAULT_TOP_K, MAX_TOP_K};
use passerelle_model::error::{echo, QueryError};
use passerelle_model::training::catalogue::TrainingCatalogue;
use passerelle_model::training::plan::Planner;
use rayon::prelude::*;
use tokio::sync::{mpsc, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_types::StatusExt;

use crate::grpc::convert;
use crate::grpc::pathway::EngineSlot;
use crate::grpc::status::invalid_field;
use crate::grpc::training::TrainingSlot;
use crate::limits::RequestLimits;
use crate::proto::v1 as pb;

/// Requests of one `ScoreProfiles` stream scored at once (on the blocking pool).
pub const SCORING_IN_FLIGHT: usize = 8;
/// Answers of one `ScoreProfiles` stream waiting to be sent, in order.
pub const ANSWERS_QUEUED: usize = 64;
/// Largest number of profiles in one `AnalyzeCohortRequest`.
pub const MAX_COHORT_PROFILES_PER_MESSAGE: usize = 1000;
/// Longest accepted `id`, in bytes (also the rule for the ids of `passerelle score` and
/// `passerelle cohort` input records).
pub const MAX_ID_BYTES: usize = 256;
/// The message of an `id` longer than [`MAX_ID_BYTES`], on `field` (`id`, or
/// `messages[m].profiles[i].id` in `AnalyzeCohort`); `len` is its length in bytes.
pub(crate) fn id_too_long(field: &str, len: usize) -> String {
    format!("{field}: {len} bytes, at most {MAX_ID_BYTES} are accepted")
}
/// Refused profiles listed in an `AnalyzeCohortResponse` (all are counted).
pub const MAX_LISTED_REFUSED: usize = 100;

/// Implementation of `BatchService` over the shared engine slot (and, for the
/// certifications of `AnalyzeCohort`, the training catalogue slot).
#[derive(Debug, Clone)]
pub struct BatchApi {
    engine: EngineSlot,
    training: Option<TrainingSlot>,
    limits: RequestLimits,
    max_response_bytes: usize,
}

impl BatchApi {
    /// A service answering from `engine` (`UNAVAILABLE` while the slot is empty).
    pub fn new(engine: EngineSlot) -> Self {
        BatchApi {
            engine,
            training: None,
            limits: RequestLimits::default(),
            max_response_bytes: crate::server::MAX_RESPONSE_BYTES,
        }
    }

    /// Applies the operator quotas (`max_profile_items`, `max_top_k`) to each request of
    /// `ScoreProfiles`, as `RecommendPathways` does: a breach is that request's error record.
    pub fn with_limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The server's `max_response_bytes`: a `ScoreProfiles` answer over it is that request's
    /// error record (tonic would end the whole stream, losing the requests after it).
    pub fn with_max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// Also lists the certifications of `AnalyzeCohort` from this training catalogue slot;
    /// while it is empty (or without it), cohorts are answered without certifications and
    /// `certifications_note` says why.
    pub fn with_training(mut self, training: TrainingSlot) -> Self {
        self.training = Some(training);
        self
    }

    /// The training catalogue, when loaded and built on `engine`'s data.
    fn training(&self, engine: &Engine) -> Option<Arc<TrainingCatalogue>> {
        let training = self.training.as_ref()?.load_full()?;
        Planner::new(engine, &training).is_ok().then_some(training)
    }

    fn engine(&self) -> Result<Arc<Engine>, Status> {
        self.engine.load_full().ok_or_else(|| Status::unavailable("the model is still loading"))
    }
}

/// A refused record from a status of the request conversion or the engine, with its field
/// prefixed by where it sits in the batch message.
fn record_error(prefix: &str, status: &Status) -> pb::RecordError {
    let details = status.get_error_details();
    let field = details
        .bad_request()
        .and_then(|b| b.field_violations.first())
        .map_or_else(|| prefix.trim_end_matches('.').to_string(), |v| format!("{prefix}{}", v.field));
    pb::RecordError { field, message: format!("{prefix}{}", status.message()) }
}

/// A refused record from an engine error, its fields prefixed by where it sits in the batch
/// message: every code of a [`QueryError::Several`] gets the prefix, not only the first.
fn query_record_error(prefix: &str, err: &QueryError) -> pb::RecordError {
    pb::RecordError { field: format!("{prefix}{}", err.field()), message: err.describe(|e| format!("{prefix}{e}")) }
}

/// Scores one request of a `ScoreProfiles` stream (blocking: call on the blocking pool).
fn score_one(
    engine: &Engine,
    limits: &RequestLimits,
    max_response_bytes: usize,
    sequence: u64,
    message: pb::ScoreProfilesRequest,
) -> pb::ScoreProfilesResponse {
    let pb::ScoreProfilesRequest { id, request } = message;
    let error = |field: &str, message: String| {
        Some(pb::score_profiles_response::Outcome::Error(pb::RecordError { field: field.to_string(), message }))
    };
    let outcome = if id.len() > MAX_ID_BYTES {
        error("id", id_too_long("id", id.len()))
    } else {
        match request {
            None => error("request", "request: required".to_string()),
            // Plans are not attached here: refused rather than answered without them.
            Some(request) if request.include_training_plan => error(
                "request.include_training_plan",
                "request.include_training_plan: ScoreProfiles attaches no training plans; call RecommendPathways or \
                 PlanTraining for them"
                    .to_string(),
            ),
            Some(request) => {
                // The target set is checked with its fields' own prefix: its message names two
                // fields (`request.target_set and request.target_set_name …`), and prefixing
                // the whole message would leave the second one bare.
                match convert::checked_target_set(engine, request.target_set, &request.target_set_name, "request.")
                    .map_err(|status| record_error("", &status))
                    .and_then(|_| match &request.plan_constraints {
                        // Checked as RecommendPathways checks them without plans.
                        Some(c) => crate::grpc::training_convert::constraints(Some(c.clone()))
                            .validate(engine, "plan_constraints")
                            .map(drop)
                            .map_err(|e| record_error("request.", &crate::grpc::training_convert::from_plan_error(&e))),
                        None => Ok(()),
                    })
                    .and_then(|()| {
                        convert::recommend_query(request).map_err(|status| record_error("request.", &status))
                    }) {
                    Err(error) => Some(pb::score_profiles_response::Outcome::Error(error)),
                    Ok(mut query) => match limits.check(&query).and_then(|()| {
                        query.top_k = Some(query.top_k.unwrap_or(limits.default_top_k()));
                        engine.recommend(&query)
                    }) {
                        Ok(answer) => Some(pb::score_profiles_response::Outcome::Result(convert::recommend_response(
                            answer,
                            engine.model_info(),
                        ))),
                        Err(err) => {
                            Some(pb::score_profiles_response::Outcome::Error(query_record_error("request.", &err)))
                        }
                    },
                }
            }
        }
    };
    let id = if id.len() > MAX_ID_BYTES { echo(&id) } else { id };
    let mut response = pb::ScoreProfilesResponse { id, sequence, outcome };
    let len = prost::Message::encoded_len(&response);
    if len > max_response_bytes {
        let message = format!(
            "request: the answer is {len} bytes, over the server's limit of {max_response_bytes} \
             (max_response_bytes); ask a smaller top_k or max_other_skills"
        );
        response.outcome = error("request", message);
    }
    response
}

/// Where profile `i` of message `m` of an `AnalyzeCohort` stream sits, as one number (for
/// [`DistinctIds`]): exact, as a message holds at most
/// [`MAX_COHORT_PROFILES_PER_MESSAGE`] profiles.
fn profile_position(m: usize, i: usize) -> u64 {
    (m as u64).saturating_mul(MAX_COHORT_PROFILES_PER_MESSAGE as u64).saturating_add(i as u64)
}

/// The path of a profile from its [`profile_position`]: `messages[m].profiles[i]`.
fn profile_path(position: u64) -> String {
    let per_message = MAX_COHORT_PROFILES_PER_MESSAGE as u64;
    format!("messages[{}].profiles[{}]", position / per_message, position % per_message)
}

/// Validated cohort options.
struct CohortQuery {
    template: RecommendQuery,
    rows: usize,
}

/// The options of a cohort, their fields named under `prefix` (`messages[0].options.`, as
/// the profiles' fields are named under `messages[m].profiles[i].`).
fn cohort_query(
    engine: &Engine,
    limits: &RequestLimits,
    options: Option<pb::CohortOptions>,
    prefix: &str,
) -> Result<CohortQuery, Status> {
    let pb::CohortOptions { target_set, target_set_name, moves_per_person, rows, model_only } =
        options.unwrap_or_default();
    let target_set = convert::checked_target_set(engine, target_set, &target_set_name, prefix)?;
    // The operator's max_top_k bounds the moves per person as it bounds top_k.
    let max_top_k = limits.max_top_k.min(MAX_TOP_K);
    let top_k = moves_per_person.unwrap_or(DEFAULT_TOP_K.min(max_top_k));
    if !(1..=max_top_k).contains(&top_k) {
        let field = format!("{prefix}moves_per_person");
        let msg = format!("{field}: {top_k} is out of range 1..={max_top_k}");
        return Err(invalid_field(Code::InvalidArgument, &field, &msg));
    }
    let rows = rows.map_or(DEFAULT_COHORT_ROWS, |r| r as usize);
    if !(1..=MAX_COHORT_ROWS).contains(&rows) {
        let field = format!("{prefix}rows");
        let msg = format!("{field}: {rows} is out of range 1..={MAX_COHORT_ROWS}");
        return Err(invalid_field(Code::InvalidArgument, &field, &msg));
    }
    Ok(CohortQuery {
        template: RecommendQuery {
            profile: ProfileQuery::default(),
            top_k: Some(top_k),
            target_set,
            include_current_occupation: false,
            model_only,
            tension_weight: 0.0,
            max_other_skills: Some(0), // the cohort counts the core gap only
        },
        rows,
    })
}

fn cohort_response(
    report: CohortReport,
    query: &CohortQuery,
    refused: u64,
    refused_profiles: Vec<pb::RefusedProfile>,
    engine: &Engine,
) -> pb::AnalyzeCohortResponse {
    let CohortReport { people, target_set, occupations, missing_core_skills, certifications } = report;
    let info = Some(convert::response_info(engine.model_info()));
    let certifications_note =
        if certifications.is_none() { crate::batch::cohort::CERTIFICATIONS_NOTE.to_string() } else { String::new() };
    pb::AnalyzeCohortResponse {
        people: people as u64,
        target_set: target_set.unwrap_or_else(|| query.template.target_set.clone()),
        moves_per_person: query.template.top_k.unwrap_or(DEFAULT_TOP_K),
        occupations: occupations
            .into_iter()
            .map(|o| pb::CohortOccupation {
                occupation: Some(pb::Occupation { code: o.occupation.code, label: o.occupation.label }),
                people: o.people as u64,
                share: o.share,
                mean_probability: o.mean_probability,
            })
            .collect(),
        missing_core_skills: missing_core_skills
            .into_iter()
            .map(|s| pb::CohortSkill {
                skill: Some(convert::skill_of(s.code, &s.label, s.kind, passerelle_model::catalogue::Relevance::Core)),
                people: s.people as u64,
                share: s.share,
                moves: s.moves as u64,
            })
            .collect(),
        certifications: certifications
            .unwrap_or_default()
            .into_iter()
            .map(|c| pb::CohortCertification {
                certification: Some(convert::skill_of(
                    c.code,
                    &c.label,
                    passerelle_model::catalogue::ItemKind::Certification,
                    passerelle_model::catalogue::Relevance::Other,
                )),
                people: c.people as u64,
                moves: c.moves as u64,
                share: c.share,
                expected_moves: c.expected_moves,
                hours: Some(crate::grpc::training_convert::figure(c.hours)),
                cost_eur: Some(crate::grpc::training_convert::figure(c.cost_eur)),
            })
            .collect(),
        certifications_note,
        refused,
        refused_profiles,
        info,
    }
}

#[tonic::async_trait]
impl pb::batch_service_server::BatchService for BatchApi {
    type ScoreProfilesStream = ReceiverStream<Result<pb::ScoreProfilesResponse, Status>>;

    #[tracing::instrument(name = "ScoreProfiles", skip_all)]
    async fn score_profiles(
        &self,
        request: Request<Streaming<pb::ScoreProfilesRequest>>,
    ) -> Result<Response<Self::ScoreProfilesStream>, Status> {
        let engine = self.engine()?;
        let (limits, max_response_bytes) = (self.limits, self.max_response_bytes);
        let mut inbound = request.into_inner();
        type Pending = Result<tokio::task::JoinHandle<pb::ScoreProfilesResponse>, Status>;
        let (pending_tx, mut pending_rx) = mpsc::channel::<Pending>(ANSWERS_QUEUED);
        let (out_tx, out_rx) = mpsc::channel(ANSWERS_QUEUED);
        let permits = Arc::new(Semaphore::new(SCORING_IN_FLIGHT));
        // Reader: takes a scoring permit before reading the next request, so at most
        // SCORING_IN_FLIGHT are scored at once and at most ANSWERS_QUEUED wait in order.
        tokio::spawn(async move {
            let mut sequence = 0u64;
            loop {
                let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { break };
                let next = match inbound.message().await {
                    Ok(Some(message)) => {
                        let engine = Arc::clone(&engine);
                        let seq = sequence;
                        sequence += 1;
                        Ok(tokio::task::spawn_blocking(move || {
                            let _permit = permit;
                            score_one(&engine, &limits, max_response_bytes, seq, message)
                        }))
                    }
                    Ok(None) => break,
                    Err(status) => Err(status),
                };
                let stop = next.is_err();
                if pending_tx.send(next).await.is_err() || stop {
                    break;
                }
            }
            tracing::debug!(requests = sequence, "ScoreProfiles: client stream ended");
        });
        // Writer: sends the answers in request order.
        tokio::spawn(async move {
            while let Some(pending) = pending_rx.recv().await {
                let answer = match pending {
                    Ok(handle) => handle.await.map_err(|e| {
                        tracing::error!(error = %e, "a scoring task failed");
                        Status::internal("scoring task failed: internal error")
                    }),
                    Err(status) => Err(status),
                };
                let stop = answer.is_err();
                if out_tx.send(answer).await.is_err() || stop {
                    break; // the client went away, or the stream failed
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(out_rx)))
    }

    #[tracing::instrument(name = "AnalyzeCohort", skip_all)]
    async fn analyze_cohort(
        &self,
        request: Request<Streaming<pb::AnalyzeCohortRequest>>,
    ) -> Result<Response<pb::AnalyzeCohortResponse>, Status> {
        let engine = self.engine()?;
        // Taken once, so that a reload mid-stream cannot mix catalogues.
        let training = self.training(&engine);
        let mut inbound = request.into_inner();
        let mut query: Option<Arc<CohortQuery>> = None;
        let mut acc = CohortAccumulator::new();
        if training.is_some() {
            acc.add_plans(&[], &[]); // the list is on, even for an empty cohort
        }
        let (mut refused, mut refused_profiles, mut sequence) = (0u64, Vec::new(), 0u64);
        let mut ids = DistinctIds::new();
        let mut message_index = 0usize;
        while let Some(message) = inbound.message().await? {
            let pb::AnalyzeCohortRequest { options, profiles } = message;
            let q = match &query {
                Some(q) => {
                    if options.is_some() {
                        let field = format!("messages[{message_index}].options");
                        let msg = format!("{field}: options are accepted in the first message only");
                        return Err(invalid_field(Code::InvalidArgument, &field, &msg));
                    }
                    Arc::clone(q)
                }
                None => {
                    let prefix = format!("messages[{message_index}].options.");
                    Arc::clone(query.insert(Arc::new(cohort_query(&engine, &self.limits, options, &prefix)?)))
                }
            };
            if profiles.len() > MAX_COHORT_PROFILES_PER_MESSAGE {
                let field = format!("messages[{message_index}].profiles");
                let msg = format!(
                    "{field}: {} profiles, at most {MAX_COHORT_PROFILES_PER_MESSAGE} per message are accepted",
                    profiles.len()
                );
                return Err(invalid_field(Code::InvalidArgument, &field, &msg));
            }
            let scorer = Arc::clone(&engine);
            let training = training.clone();
            let limits = self.limits;
            let answers = tokio::task::spawn_blocking(move || {
                let planner = training.as_deref().and_then(|t| Planner::new(&scorer, t).ok());
                // A profile's fields are named by its message and its place in that
                // message, as the options are (`messages[1].profiles[0].profile`).
                let prefix = |i: usize| format!("messages[{message_index}].profiles[{i}].");
                // Profiles refused before scoring: an id over MAX_ID_BYTES, no profile.
                let checked: Vec<_> = profiles
                    .into_iter()
                    .enumerate()
                    .map(|(i, pb::CohortProfile { id, profile })| {
                        let profile = if id.len() > MAX_ID_BYTES {
                            let field = format!("{}id", prefix(i));
                            Err(pb::RecordError { message: id_too_long(&field, id.len()), field })
                        } else {
                            profile.map(convert::profile_query).ok_or_else(|| {
                                let field = format!("{}profile", prefix(i));
                                pb::RecordError { message: format!("{field}: required"), field }
                            })
                        };
                        // The operator's max_profile_items, as in RecommendPathways.
                        let profile = profile.and_then(|p| {
                            limits.check_profile(&p).map_err(|e| query_record_error(&prefix(i), &e))?;
                            Ok(p)
                        });
                        (i, id, profile)
                    })
                    .collect();
                // Valid profiles are scored together (Engine::recommend_many: all cores,
                // in groups); answers come back in order.
                let queries: Vec<RecommendQuery> = checked
                    .iter()
                    .filter_map(|(_, _, p)| p.as_ref().ok())
                    .map(|p| RecommendQuery { profile: p.clone(), ..q.template.clone() })
                    .collect();
                let mut scored = scorer.recommend_many(&queries).into_iter();
                let scored: Vec<_> = checked
                    .into_iter()
                    .map(|(i, id, profile)| {
                        let answer = match &profile {
                            Err(error) => Err(error.clone()),
                            Ok(_) => match scored.next() {
                                Some(answer) => answer.map_err(|e| query_record_error(&prefix(i), &e)),
                                None => Err(pb::RecordError {
                                    field: format!("{}profile", prefix(i)),
                                    message: "internal: no answer".to_string(),
                                }),
                            },
                        };
                        (i, id, profile.ok(), answer)
                    })
                    .collect();
                // The persons' plans, one per move (when the training catalogue is loaded), on
                // all cores; a person whose moves cannot be planned is refused.
                scored
                    .into_par_iter()
                    .map(|(i, id, profile, answer)| {
                        let answer = answer.and_then(|a| match (&planner, &profile) {
                            (Some(planner), Some(profile)) => match plan_moves(planner, profile, &a) {
                                Ok(plans) => Ok((a, Some(plans))),
                                Err(e) => {
                                    let field = format!("{}profile", prefix(i));
                                    Err(pb::RecordError {
                                        message: format!("{field}: cannot plan the moves: {e}"),
                                        field,
                                    })
                                }
                            },
                            _ => Ok((a, None)),
                        });
                        (i, id, answer)
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "a scoring task failed");
                Status::internal("scoring task failed: internal error")
            })?;
            for (i, id, answer) in answers {
                // A person is counted once: the first profile of an id that is analysed counts
                // (an empty id is anonymous).
                let answer = answer.and_then(|ok| match ids.first_seen(&id, profile_position(message_index, i)) {
                    None => Ok(ok),
                    Some(first) => {
                        let field = format!("messages[{message_index}].profiles[{i}].id");
                        let message = format!(
                            "{field}: this id was already counted ({}.id): a person is counted once; this profile is \
                             left out",
                            profile_path(first)
                        );
                        Err(pb::RecordError { field, message })
                    }
                });
                match answer {
                    Ok((a, plans)) => {
                        acc.add(&a);
                        if let Some((plans, probabilities)) = plans {
                            acc.add_plans(&plans, &probabilities);
                        }
                    }
                    Err(error) => {
                        refused += 1;
                        if refused_profiles.len() < MAX_LISTED_REFUSED {
                            refused_profiles.push(pb::RefusedProfile { id: echo(&id), sequence, error: Some(error) });
                        }
                    }
                }
                sequence += 1;
            }
            message_index += 1;
        }
        let query = match query {
            Some(q) => q,
            None => Arc::new(cohort_query(&engine, &self.limits, None, "messages[0].options.")?),
        };
        tracing::debug!(people = acc.people(), refused, "cohort analysed");
        let report = acc.finish(query.rows);
        Ok(Response::new(cohort_response(report, &query, refused, refused_profiles, &engine)))
    }
}
