//! Conversions between the training protos (`training.proto`, the plan messages of
//! `pathways.proto`) and the domain types of `passerelle_model::training` and
//! `passerelle_model::explore`, and the one map from [`PlanError`] to a gRPC status.
//! Proto messages are destructured without `..`.

use passerelle_model::engine::{ModelInfo, OccupationRef};
use passerelle_model::explore::{Exploration, ExploreQuery, ExploredPath, PathStep, SCORE_BASIS};
use passerelle_model::training::catalogue::{Basis, CertificationClass, Figure, Level, Regulated};
use passerelle_model::training::cover::Solver;
use passerelle_model::training::plan::{
    CoveredSkill, PlanConstraints, PlanQuery, PlanRole, PlannedCertification, TrainingPlan, UncoveredReason,
    UncoveredSkill, UnmetPrerequisite,
};
use passerelle_model::training::PlanError;
use tonic::{Code, Status};

use crate::grpc::convert::{probability_basis, profile_query, skill, target_set_name_of};
use crate::grpc::status::{from_query_error, invalid_field};
use crate::proto::v1 as pb;

/// Where the figures of a plan come from; sent with every plan.
pub const TRAINING_BASIS: &str = "Certifications are the ROME 4.0 items of category 'Certifications et habilitations'. Level, hours and cost of each come, in this order, from the operator catalogue (basis operator), from data/training/certification_facts.csv through an explicit map of ROME codes (sourced, or derived for a successor or related certification; the source is quoted), or from the first matching rule of data/training/kind_defaults.csv (its own basis). A cost with no source is hours x 25.5 EUR/h, the average hourly price of CPF-funded training in 2023 (Caisse des depots): an estimate. The skills a qualification develops are ESTIMATED from the ROME: a skill is attributed to it when at least half of the occupations listing the certification list the skill (support); habilitations, CACES, AIPR and SST cover only themselves. A target requires a regulated prerequisite (AIPR, habilitation electrique, CACES R486, work at height) when its ROME links list it; missing ones come first. The rest is a weighted set cover of the missing core skills minimising total hours (exact branch and bound; greedy fallback within ln(d)+1 of the optimum beyond 64 skills or sets).";

/// Maps a plan or exploration error to a status: `INVALID_ARGUMENT` with a
/// `google.rpc.BadRequest` field violation, or `UNAVAILABLE` for a catalogue that does not
/// match the loaded data.
pub fn from_plan_error(err: &PlanError) -> Status {
    match err {
        PlanError::Query(q) => from_query_error(q),
        PlanError::MissingTarget { .. }
        | PlanError::UnknownTarget { .. }
        | PlanError::NotACertification { .. }
        | PlanError::OutOfRange { .. } => invalid_field(Code::InvalidArgument, err.field(), &err.to_string()),
        PlanError::CatalogueMismatch => Status::unavailable(err.to_string()),
    }
}

/// Converts proto constraints (absent = none).
pub fn constraints(c: Option<pb::PlanConstraints>) -> PlanConstraints {
    let pb::PlanConstraints { max_total_hours, max_level, held_certifications } = c.unwrap_or_default();
    PlanConstraints { max_total_hours, max_level, held_certifications }
}

/// Converts a `PlanTraining` request.
///
/// # Errors
/// `INVALID_ARGUMENT` for a missing profile.
pub fn plan_query(request: pb::PlanTrainingRequest) -> Result<PlanQuery, Status> {
    let pb::PlanTrainingRequest { profile, target_occupation_code, constraints: c } = request;
    let profile = profile.ok_or_else(|| invalid_field(Code::InvalidArgument, "profile", "profile: required"))?;
    Ok(PlanQuery { profile: profile_query(profile), target_occupation_code, constraints: constraints(c) })
}

/// Converts an `ExplorePathways` request.
///
/// # Errors
/// `INVALID_ARGUMENT` for a missing profile or an unknown `target_set` enum value.
pub fn explore_query(request: pb::ExplorePathwaysRequest) -> Result<ExploreQuery, Status> {
    let pb::ExplorePathwaysRequest {
        profile,
        target_set,
        target_set_name,
        max_intermediates,
        top_k,
        fan_out,
        constraints: c,
    } = request;
    let profile = profile.ok_or_else(|| invalid_field(Code::InvalidArgument, "profile", "profile: required"))?;
    let target_set = target_set_name_of(target_set, &target_set_name, "")?;
    Ok(ExploreQuery {
        profile: profile_query(profile),
        target_set,
        max_intermediates,
        top_k,
        fan_out,
        constraints: constraints(c),
    })
}

/// The provenance block of training answers.
pub fn info(model: &ModelInfo, operator_file: Option<&str>) -> pb::TrainingInfo {
    pb::TrainingInfo {
        data_source: format!(
            "{}; training facts: data/training/ (public pages quoted per figure, see data/training/README.md)",
            passerelle_model::embedded::ROME_ATTRIBUTION
        ),
        training_basis: TRAINING_BASIS.to_string(),
        score_basis: SCORE_BASIS.to_string(),
        operator_catalogue: operator_file.unwrap_or_default().to_string(),
        probability_basis: probability_basis(model.calibrated),
        model_checksum: model.checksum.clone(),
    }
}

/// Converts an exploration.
pub fn explore_response(answer: Exploration, info: pb::TrainingInfo) -> pb::ExplorePathwaysResponse {
    let Exploration { paths, target_set, paths_considered, paths_over_max_hours } = answer;
    pb::ExplorePathwaysResponse {
        paths: paths.into_iter().map(path).collect(),
        target_set,
        paths_considered: u32::try_from(paths_considered).unwrap_or(u32::MAX),
        paths_over_max_hours: u32::try_from(paths_over_max_hours).unwrap_or(u32::MAX),
        info: Some(info),
    }
}

fn path(p: ExploredPath) -> pb::ExploredPath {
    let ExploredPath { steps, probability, total_hours, score } = p;
    pb::ExploredPath {
        steps: steps
            .into_iter()
            .map(|PathStep { from, to, probability, plan: step_plan }| pb::PathStep {
                from_occupation: from.map(occupation),
                to_occupation: Some(occupation(to)),
                probability,
                plan: Some(plan(step_plan)),
            })
            .collect(),
        probability,
        total_hours,
        score,
    }
}

fn occupation(o: OccupationRef) -> pb::Occupation {
    let OccupationRef { code, label } = o;
    pb::Occupation { code, label }
}

fn basis(b: Basis) -> i32 {
    match b {
        Basis::Sourced => pb::Basis::Sourced,
        Basis::Derived => pb::Basis::Derived,
        Basis::Assumption => pb::Basis::Assumption,
        Basis::Estimate => pb::Basis::Estimate,
        Basis::Operator => pb::Basis::Operator,
    }
    .into()
}

/// A figure with its basis and source.
pub fn figure(f: Figure) -> pb::Figure {
    let Figure { value, basis: b, source } = f;
    pb::Figure { value, basis: basis(b), source }
}

fn regulated(r: Option<Regulated>) -> i32 {
    match r {
        None => pb::RegulatedPrerequisite::Unspecified,
        Some(Regulated::Aipr) => pb::RegulatedPrerequisite::Aipr,
        Some(Regulated::ElectricalHabilitation) => pb::RegulatedPrerequisite::ElectricalHabilitation,
        Some(Regulated::CacesR486) => pb::RegulatedPrerequisite::CacesR486,
        Some(Regulated::WorkAtHeight) => pb::RegulatedPrerequisite::WorkAtHeight,
    }
    .into()
}

/// A plan in one sentence, uncovered skills stated plainly.
pub fn summary(p: &TrainingPlan) -> String {
    let missing = p.missing_core.len();
    let uncovered = p.uncovered.len();
    let mut s = if p.certifications.is_empty() && missing == 0 {
        format!("No core skill of {} is missing: no training needed.", p.target.code)
    } else {
        format!(
            "{} certification(s), {:.1} h in total (about {:.0} EUR{}), for {missing} missing core skill(s) of {}.",
            p.certifications.len(),
            p.total_hours,
            p.total_cost_eur,
            if p.cost_includes_estimates { ", partly estimated" } else { "" },
            p.target.code
        )
    };
    if uncovered > 0 {
        let labels: Vec<&str> = p.uncovered.iter().map(|u| u.skill.label).collect();
        s.push_str(&format!(
            " {uncovered} core skill(s) are NOT covered by any planned certification: {}.",
            labels.join("; ")
        ));
    }
    if !p.unmet_prerequisites.is_empty() {
        let labels: Vec<&str> = p.unmet_prerequisites.iter().map(|u| u.label.as_str()).collect();
        s.push_str(&format!(" Required but not planned: {}.", labels.join("; ")));
    }
    s
}

/// Converts a plan.
pub fn plan(p: TrainingPlan) -> pb::TrainingPlan {
    let summary = summary(&p);
    let TrainingPlan {
        target,
        certifications,
        total_hours,
        total_cost_eur,
        cost_includes_estimates,
        missing_core,
        uncovered,
        unmet_prerequisites,
        solver,
    } = p;
    pb::TrainingPlan {
        target: Some(occupation(target)),
        certifications: certifications.into_iter().map(planned).collect(),
        total_hours,
        total_cost_eur,
        cost_includes_estimates,
        missing_core_skills: missing_core.into_iter().map(skill).collect(),
        uncovered_core_skills: uncovered
            .into_iter()
            .map(|UncoveredSkill { skill: s, reason }| pb::UncoveredSkill {
                skill: Some(skill(s)),
                reason: match reason {
                    UncoveredReason::NoCertification => pb::UncoveredReason::NoCertification,
                    UncoveredReason::Constraints => pb::UncoveredReason::Constraints,
                }
                .into(),
            })
            .collect(),
        unmet_prerequisites: unmet_prerequisites
            .into_iter()
            .map(|UnmetPrerequisite { code, label, regulated: r, hours, reason }| pb::UnmetPrerequisite {
                code: code.to_string(),
                label,
                regulated: regulated(r),
                hours: Some(figure(hours)),
                reason,
            })
            .collect(),
        solver: match solver {
            Solver::Exact => pb::PlanSolver::Exact,
            Solver::Greedy => pb::PlanSolver::Greedy,
        }
        .into(),
        summary,
    }
}

fn planned(c: PlannedCertification) -> pb::PlannedCertification {
    let PlannedCertification {
        code,
        label,
        role,
        class,
        regulated: r,
        level: Level { value, basis: level_basis, source: level_source },
        hours,
        cost_eur,
        covers,
        skills_basis,
        listed_by_target,
        provider,
        region,
    } = c;
    pb::PlannedCertification {
        code: code.to_string(),
        label,
        role: match role {
            PlanRole::RegulatedPrerequisite => pb::PlanRole::RegulatedPrerequisite,
            PlanRole::CoversSkills => pb::PlanRole::CoversSkills,
        }
        .into(),
        certification_class: match class {
            CertificationClass::Qualification => pb::CertificationClass::Qualification,
            CertificationClass::Authorisation => pb::CertificationClass::Authorisation,
        }
        .into(),
        regulated: regulated(r),
        level: Some(pb::QualificationLevel {
            level: value.map(u32::from),
            basis: basis(level_basis),
            source: level_source,
        }),
        hours: Some(figure(hours)),
        cost_eur: Some(figure(cost_eur)),
        covers: covers
            .into_iter()
            .map(|CoveredSkill { skill: s, support, specificity }| pb::CoveredSkill {
                skill: Some(skill(s)),
                support,
                specificity,
            })
            .collect(),
        skills_basis: basis(skills_basis),
        listed_by_target,
        provider: provider.unwrap_or_default(),
        region: region.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::StatusExt;

    #[test]
    fn plan_errors_map_to_precise_statuses() {
        let err = PlanError::OutOfRange {
            field: "constraints.max_level".into(),
            reason: "9 is not a qualification level 1-8".into(),
        };
        let status = from_plan_error(&err);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "constraints.max_level: 9 is not a qualification level 1-8");
        let details = status.get_error_details();
        assert_eq!(details.bad_request().expect("BadRequest").field_violations[0].field, "constraints.max_level");
        let status = from_plan_error(&PlanError::Query(passerelle_model::error::QueryError::EmptyProfile));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(from_plan_error(&PlanError::CatalogueMismatch).code(), Code::Unavailable);
    }

    #[test]
    fn constraints_convert_field_by_field() {
        let c = constraints(Some(pb::PlanConstraints {
            max_total_hours: Some(100.0),
            max_level: Some(4),
            held_certifications: vec!["403964".into()],
        }));
        assert_eq!(c.max_total_hours, Some(100.0));
        assert_eq!(c.max_level, Some(4));
        assert_eq!(c.held_certifications, vec!["403964".to_string()]);
        assert_eq!(constraints(None), PlanConstraints::default());
    }
}
