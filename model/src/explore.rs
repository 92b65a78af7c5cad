//! Multi-step pathways: from a profile to a target set through at most two intermediate
//! occupations, each step with its gap and training plan, the k best paths first.
//!
//! **Search.** From the profile, the engine's model ranks every occupation
//! ([`Engine::recommend`], `model_only`); the `fan_out` most probable moves into the target
//! set end a path, and the `fan_out` most probable moves into any occupation are tried as
//! intermediate steps (pruning: the model's top-N per step). After a step to occupation X the
//! person is taken to hold their previous items plus X's ROME items (as the engine does for
//! a declared occupation), and X becomes the declared occupation of the next step. No
//! occupation appears twice in a path, the starting occupation included (no cycles).
//!
//! **Plans.** Each step carries the training plan ([`crate::training::plan`]) from the
//! profile held at that step to the step's occupation, without an hours limit; a path whose
//! total hours exceed `max_total_hours` is dropped (and its extensions are not explored).
//!
//! **Ranking** ([`SCORE_BASIS`]): `score = Π p_i × exp(−H / 1607)`, the product of the step
//! probabilities (each step judged realistic independently) discounted by the total training
//! hours H, on the scale of one legal working year in France (1,607 h: 35 h a week, the
//! solidarity day included): a plan as long as a working year weighs like an
//! extra step of probability e^−1 ≈ 0.37. The scale is an assumption, stated in answers.

use serde::Serialize;

use crate::catalogue::{ItemId, OccupationId};
use crate::engine::{Engine, OccupationRef, ProfileQuery, RecommendQuery, MAX_TOP_K};
use crate::error::{echo, QueryError};
use crate::training::catalogue::TrainingCatalogue;
use crate::training::plan::{PlanConstraints, Planner, TrainingPlan, ValidConstraints};
use crate::training::PlanError;

/// Paths returned when the query gives no `top_k`.
pub const DEFAULT_PATHS: u32 = 5;
/// Largest accepted `top_k`.
pub const MAX_PATHS: u32 = 20;
/// Moves tried per step when the query gives no `fan_out`.
pub const DEFAULT_FAN_OUT: u32 = 5;
/// Largest accepted `fan_out`.
pub const MAX_FAN_OUT: u32 = 10;
/// Largest number of intermediate occupations.
pub const MAX_INTERMEDIATES: u32 = 2;
/// Hours that discount a path's score by e^−1: one legal working year (1,607 h).
pub const HOURS_SCALE: f64 = 1607.0;
/// How paths are ranked; sent with every answer.
pub const SCORE_BASIS: &str = "score = product of the step probabilities (model, each step judged independently) × exp(−total training hours / 1607); 1,607 h is one legal working year in France, so a plan as long as a working year weighs like an extra step of probability 0.37 (an assumption of Passerelle, not a measured trade-off). Intermediate steps and final moves are the model's top fan_out per step.";

/// An exploration query.
#[derive(Debug, Clone, PartialEq)]
pub struct ExploreQuery {
    /// Who the person is.
    pub profile: ProfileQuery,
    /// Target set the last step must reach (`DIGITAL_INFRASTRUCTURE`, `ALL`, an operator's).
    pub target_set: String,
    /// Largest number of intermediate occupations, 0..=[`MAX_INTERMEDIATES`]; `None`: 2.
    pub max_intermediates: Option<u32>,
    /// Number of paths, 1..=[`MAX_PATHS`]; `None`: [`DEFAULT_PATHS`].
    pub top_k: Option<u32>,
    /// Moves tried per step, 1..=[`MAX_FAN_OUT`]; `None`: [`DEFAULT_FAN_OUT`].
    pub fan_out: Option<u32>,
    /// Constraints: `max_total_hours` bounds the whole path; `max_level` and held
    /// certifications apply to every step's plan.
    pub constraints: PlanConstraints,
}

impl Default for ExploreQuery {
    fn default() -> Self {
        ExploreQuery {
            profile: ProfileQuery::default(),
            target_set: crate::target_set::ALL.to_string(),
            max_intermediates: None,
            top_k: None,
            fan_out: None,
            constraints: PlanConstraints::default(),
        }
    }
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathStep {
    /// Where the step starts: the previous occupation, or the declared one for the first step
    /// (`None` when the profile declares none).
    pub from: Option<OccupationRef>,
    /// The occupation moved to.
    pub to: OccupationRef,
    /// Model probability in [0, 1] that this move is a realistic one.
    pub probability: f64,
    /// The training plan for this step; its `missing_core` is the step's gap.
    pub plan: TrainingPlan,
}

/// A path to an occupation of the target set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExploredPath {
    /// Steps, 1 to 3.
    pub steps: Vec<PathStep>,
    /// Product of the step probabilities.
    pub probability: f64,
    /// Sum of the steps' plan hours.
    pub total_hours: f64,
    /// Ranking score ([`SCORE_BASIS`]).
    pub score: f64,
}

/// The answer to an [`ExploreQuery`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exploration {
    /// Best paths first, at most `top_k`.
    pub paths: Vec<ExploredPath>,
    /// Target set used.
    pub target_set: String,
    /// Complete paths evaluated.
    pub paths_considered: usize,
    /// Paths (complete or partial) dropped because they exceed `max_total_hours`.
    pub paths_over_max_hours: usize,
}

struct State {
    items: Vec<ItemId>,
    occupation: Option<OccupationId>,
    visited: Vec<OccupationId>,
    steps: Vec<PathStep>,
    probability: f64,
    hours: f64,
}

fn in_range(value: Option<u32>, default: u32, min: u32, max: u32, field: &str) -> Result<u32, PlanError> {
    let v = value.unwrap_or(default);
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(PlanError::OutOfRange { field: field.to_string(), reason: format!("{v} is out of range {min}..={max}") })
    }
}

/// Explores pathways (see module docs).
///
/// # Errors
/// [`PlanError`] naming the field at fault: profile, `target_set`, `max_intermediates`,
/// `top_k`, `fan_out`, `constraints.*`; [`PlanError::CatalogueMismatch`].
pub fn explore(engine: &Engine, training: &TrainingCatalogue, query: &ExploreQuery) -> Result<Exploration, PlanError> {
    let planner = Planner::new(engine, training)?;
    let depth = in_range(query.max_intermediates, MAX_INTERMEDIATES, 0, MAX_INTERMEDIATES, "max_intermediates")?;
    let top_k = in_range(query.top_k, DEFAULT_PATHS, 1, MAX_PATHS, "top_k")?;
    let fan_out = in_range(query.fan_out, DEFAULT_FAN_OUT, 1, MAX_FAN_OUT, "fan_out")?;
    let set = engine
        .target_sets()
        .get(query.target_set.trim())
        .ok_or_else(|| QueryError::UnknownTargetSet { name: echo(&query.target_set) })?;
    let set_name = set.name.clone();
    let constraints = query.constraints.validate(engine, "constraints")?;
    let budget = constraints.max_total_hours.unwrap_or(f64::INFINITY);
    let step_constraints = ValidConstraints { max_total_hours: None, ..constraints };
    let (items, declared) = engine.resolve_with_title(&query.profile)?;
    let catalogue = engine.catalogue();
    let occupation_ref = |o: OccupationId| {
        let occ = catalogue.occupation(o);
        OccupationRef { code: occ.code.clone(), label: occ.label.clone() }
    };

    // The model's most probable moves from a state into a set, skipping visited occupations.
    let moves = |state: &State, set: &str| -> Result<Vec<(OccupationId, f64)>, PlanError> {
        let wanted = (fan_out as usize + state.visited.len()).min(MAX_TOP_K as usize) as u32;
        let recommend = RecommendQuery {
            profile: ProfileQuery::default(),
            top_k: Some(wanted),
            target_set: set.to_string(),
            include_current_occupation: false,
            model_only: true,
            tension_weight: 0.0,
            // Only the probabilities are used.
            max_other_skills: Some(0),
        };
        let answer = if state.steps.is_empty() {
            engine.recommend(&RecommendQuery { profile: query.profile.clone(), ..recommend })?
        } else {
            // The items held after a step (the person's plus each intermediate occupation's)
            // with the last occupation declared. They are not a request: the list may be
            // longer than a request's limit of item codes.
            engine.recommend_resolved(&recommend, &state.items, state.occupation)?
        };
        Ok(answer
            .results
            .iter()
            .filter_map(|r| catalogue.occupation_id(&r.occupation.code).map(|o| (o, r.probability)))
            .filter(|(o, _)| !state.visited.contains(o))
            .take(fan_out as usize)
            .collect())
    };
    let step = |state: &State, to: OccupationId, probability: f64| {
        let plan = planner.plan_for_items(&state.items, to, &step_constraints);
        PathStep { from: state.occupation.map(occupation_ref), to: occupation_ref(to), probability, plan }
    };

    let mut frontier = vec![State {
        items,
        occupation: declared,
        visited: declared.into_iter().collect(),
        steps: Vec::new(),
        probability: 1.0,
        hours: 0.0,
    }];
    let mut paths = Vec::new();
    let (mut considered, mut over) = (0usize, 0usize);
    for level in 0..=depth {
        let mut next = Vec::new();
        for state in &frontier {
            for (to, p) in moves(state, &set_name)? {
                let s = step(state, to, p);
                considered += 1;
                let hours = state.hours + s.plan.total_hours;
                if hours > budget + 1e-9 {
                    over += 1;
                    continue;
                }
                let probability = state.probability * p;
                let mut steps = state.steps.clone();
                steps.push(s);
                paths.push(ExploredPath {
                    steps,
                    probability,
                    total_hours: hours,
                    score: probability * (-hours / HOURS_SCALE).exp(),
                });
            }
            if level == depth {
                continue;
            }
            for (via, p) in moves(state, crate::target_set::ALL)? {
                let s = step(state, via, p);
                let hours = state.hours + s.plan.total_hours;
                if hours > budget + 1e-9 {
                    over += 1;
                    continue;
                }
                let mut items = state.items.clone();
                items.extend(catalogue.occupation(via).items.iter().map(|l| l.item));
                items.sort_unstable();
                items.dedup();
                let mut visited = state.visited.clone();
                visited.push(via);
                let mut steps = state.steps.clone();
                steps.push(s);
                next.push(State {
                    items,
                    occupation: Some(via),
                    visited,
                    steps,
                    probability: state.probability * p,
                    hours,
                });
            }
        }
        frontier = next;
    }
    paths.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then(a.steps.len().cmp(&b.steps.len())).then_with(|| {
            let codes = |p: &ExploredPath| p.steps.iter().map(|s| s.to.code.clone()).collect::<Vec<_>>();
            codes(a).cmp(&codes(b))
        })
    });
    paths.truncate(top_k as usize);
    Ok(Exploration { paths, target_set: set_name, paths_considered: considered, paths_over_max_hours: over })
}
