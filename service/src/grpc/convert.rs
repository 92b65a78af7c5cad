//! Conversions between generated proto types and domain types. Proto messages are
//! destructured without `..` so that a new field breaks the build instead of being dropped.

use passerelle_model::catalogue::{ItemKind, Relevance};
use passerelle_model::engine::{
    AnchorBasis, Engine, Factor, ModelInfo, OccupationRef, ProfileQuery, RecommendQuery, Recommendation,
    Recommendations, SkillRef,
};
use passerelle_model::error::{echo, QueryError};
use passerelle_model::target_set;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::grpc::demand;
use crate::grpc::status::invalid_field;
use crate::proto::v1 as pb;

/// What the probability means; sent with every answer (data truth: no unexplained figure).
/// `calibrated` is whether the model carries its isotonic calibration (a model trained
/// with `--no-eval` does not).
pub fn probability_basis(calibrated: bool) -> String {
    let head = "Probability from a two-stage cascade of logistic regressions (linfa) over skill-overlap, ROME-hierarchy, title, occupation-description (definitions, access texts, sectors, themes, stated diploma level, executive status) and mobility-evidence features (the curated mobilities of other occupations: similar ones, sibling fiches, reverse edges; never the profile's own): the first stage, trained to tell France Travail's curated mobilities (ROME 4.0 unix_rubrique_mobilite) from non-mobilities sampled uniformly (4 per mobility) and prior-corrected to the base rate of curated mobilities among all pairs of occupations (0.6 %), scores every occupation; the second re-scores the profile's 50 best";
    let tail = if calibrated {
        " and calibrated (isotonic regression, linfa-linear) on out-of-fold predictions of the held-out protocol: it estimates how often France Travail lists such a move; the model card has its reliability table."
    } else {
        ". UNCALIBRATED: this model was trained without the held-out protocol, so its probabilities are over-confident (an estimate only; they rank moves but overstate how often such moves are listed)."
    };
    format!("{head}{tail} It is not an observed frequency of moves in the population. Held-out ranking quality is in the model card.")
}

/// How results are ordered; sent with every answer.
pub const RANKING_BASIS: &str = "When the profile declares its occupation and model_only is false, the moves France Travail lists for that occupation (ROME 4.0 unix_rubrique_mobilite; curated_order > 0) come first in their listed order; the other results follow by decreasing model probability.";

/// Name of the `DIGITAL_INFRASTRUCTURE` set in `data/target_sets.toml`.
pub const DIGITAL_INFRASTRUCTURE: &str = "DIGITAL_INFRASTRUCTURE";

/// Converts a request into a domain query.
///
/// # Errors
/// `INVALID_ARGUMENT` for a missing profile or an unknown `target_set` enum value.
pub fn recommend_query(request: pb::RecommendPathwaysRequest) -> Result<RecommendQuery, Status> {
    let pb::RecommendPathwaysRequest {
        profile,
        top_k,
        target_set,
        target_set_name,
        include_current_occupation,
        model_only,
        // Training plans: read by `grpc::pathway` before this conversion.
        include_training_plan: _,
        plan_constraints: _,
        tension_weight,
        max_other_skills,
    } = request;
    let profile = profile.ok_or_else(|| invalid_field(Code::InvalidArgument, "profile", "profile: required"))?;
    let target_set = target_set_name_of(target_set, &target_set_name, "")?;
    Ok(RecommendQuery {
        profile: profile_query(profile),
        top_k,
        target_set,
        include_current_occupation,
        model_only,
        tension_weight,
        max_other_skills,
    })
}

/// Converts a proto profile.
pub fn profile_query(profile: pb::Profile) -> ProfileQuery {
    let pb::Profile { occupation_code, item_codes, removed_item_codes, job_title, region, department } = profile;
    let given = |s: String| (!s.trim().is_empty()).then_some(s);
    ProfileQuery {
        occupation_code: given(occupation_code),
        item_codes,
        removed_item_codes,
        job_title: given(job_title),
        region: given(region),
        department: given(department),
    }
}

/// Checks a profile's `region` and `department` as `RecommendPathways` does, for the calls
/// that do not rank occupations (`PlanTraining`): each, when given, must be an INSEE code
/// covered by the DARES 2019 tension data (surrounding spaces and ASCII case ignored).
///
/// # Errors
/// [`QueryError::UnknownArea`] on `profile.region` / `profile.department`, or
/// [`QueryError::NotLoaded`] when one is given to an engine built without tension data.
pub fn check_area(engine: &Engine, profile: &ProfileQuery) -> Result<(), QueryError> {
    let (region, department) = (profile.region.as_deref(), profile.department.as_deref());
    match engine.tensions() {
        Some(t) => t.area(region, department).map(|_| ()),
        None => {
            let given = |v: Option<&str>| v.is_some_and(|v| !v.trim().is_empty());
            let field = if given(region) {
                "profile.region"
            } else if given(department) {
                "profile.department"
            } else {
                return Ok(());
            };
            Err(QueryError::NotLoaded { field: field.to_string(), what: "tension data" })
        }
    }
}

/// Converts a domain answer into the response.
pub fn recommend_response(answer: Recommendations, model: &ModelInfo) -> pb::RecommendPathwaysResponse {
    let Recommendations {
        anchor,
        anchor_basis,
        target_set,
        profile_items,
        candidates_scored,
        results,
        job_title,
        tension,
    } = answer;
    let blended = tension.as_ref().is_some_and(|t| t.weight > 0.0);
    let tension_source = tension.as_ref().map(|t| t.basis.clone()).unwrap_or_default();
    pb::RecommendPathwaysResponse {
        pathways: results.into_iter().map(pathway).collect(),
        anchor_occupation: Some(occupation(anchor)),
        anchor_inferred: match anchor_basis {
            AnchorBasis::Declared => false,
            AnchorBasis::NearestByCosine => true,
        },
        target_set,
        candidates_scored: u32::try_from(candidates_scored).unwrap_or(u32::MAX),
        profile_items: u32::try_from(profile_items).unwrap_or(u32::MAX),
        info: Some(pb::ResponseInfo {
            ranking_basis: if blended { String::new() } else { RANKING_BASIS.to_string() }
                + &tension.as_ref().filter(|_| blended).map(|t| t.basis.clone()).unwrap_or_default(),
            tension_source,
            ..response_info(model)
        }),
        job_title: job_title.map(demand::job_title),
        tension: tension.map(demand::tension_context),
    }
}

/// Provenance of every figure of an answer (data source, probability, model, ranking); the
/// tension and training fields are left empty for the callers that use them to fill.
pub fn response_info(model: &ModelInfo) -> pb::ResponseInfo {
    pb::ResponseInfo {
        data_source: passerelle_model::embedded::ROME_ATTRIBUTION.to_string()
            + if model.same_data_as_training { "" } else { " (model trained on other data: see model card)" },
        probability_basis: probability_basis(model.calibrated),
        model_checksum: model.checksum.clone(),
        model_kind: model.model_kind.clone(),
        ranking_basis: RANKING_BASIS.to_string(),
        tension_source: String::new(),
        training_basis: String::new(),
    }
}

fn occupation(o: OccupationRef) -> pb::Occupation {
    let OccupationRef { code, label } = o;
    pb::Occupation { code, label }
}

fn pathway(r: Recommendation) -> pb::Pathway {
    let Recommendation {
        occupation: occ,
        probability,
        cosine,
        core_coverage,
        matched_core,
        missing_core,
        missing_other,
        missing_other_total,
        top_factors,
        curated_order,
        tension,
        blended_score,
    } = r;
    pb::Pathway {
        occupation: Some(occupation(occ)),
        probability,
        cosine_similarity: cosine,
        core_coverage,
        matched_core_skills: matched_core.into_iter().map(skill).collect(),
        missing_core_skills: missing_core.into_iter().map(skill).collect(),
        missing_other_skills: missing_other.into_iter().map(skill).collect(),
        missing_other_total: u32::try_from(missing_other_total).unwrap_or(u32::MAX),
        top_factors: top_factors
            .into_iter()
            .map(|Factor { feature, explanation, logit }| pb::Factor {
                feature: feature.to_string(),
                logit,
                explanation: explanation.to_string(),
            })
            .collect(),
        curated_order: curated_order.map_or(0, u32::from),
        training_plan: None,
        tension: tension.map(demand::tension),
        blended_score,
    }
}

/// The target set a request names: `target_set_name` when given (trimmed), else the enum
/// (`UNSPECIFIED` and `ALL` → `ALL`). Both may be given when they name the same set
/// (`TARGET_SET_ALL` and `ALL`, `TARGET_SET_DIGITAL_INFRASTRUCTURE` and
/// `DIGITAL_INFRASTRUCTURE`; set names in any case, as `TargetSets::get` reads them); the
/// enum `UNSPECIFIED` with a name is the name. `prefix` is where the fields sit in the
/// request (`""`, or `"options."` for a cohort).
///
/// # Errors
/// `INVALID_ARGUMENT` on `target_set` for an unknown enum value, and on both `target_set`
/// and `target_set_name` (two `BadRequest` field violations) when they name different sets.
pub fn target_set_name_of(target_set: i32, target_set_name: &str, prefix: &str) -> Result<String, Status> {
    let from_enum = match pb::TargetSet::try_from(target_set) {
        Ok(pb::TargetSet::Unspecified) => None,
        Ok(pb::TargetSet::All) => Some(target_set::ALL),
        Ok(pb::TargetSet::DigitalInfrastructure) => Some(DIGITAL_INFRASTRUCTURE),
        Err(_) => {
            let message = format!("{prefix}target_set: unknown enum value {target_set}");
            return Err(invalid_field(Code::InvalidArgument, &format!("{prefix}target_set"), &message));
        }
    };
    let name = target_set_name.trim();
    match from_enum {
        None if name.is_empty() => Ok(target_set::ALL.to_string()),
        None => Ok(name.to_string()),
        Some(set) if name.is_empty() || name.to_ascii_uppercase() == set => Ok(set.to_string()),
        Some(_) => {
            let enum_name = pb::TargetSet::try_from(target_set).map_or("", |t| t.as_str_name());
            let message = format!(
                "{prefix}target_set and {prefix}target_set_name name different sets: {enum_name} and `{}`; give one of them, or both naming the same set",
                echo(name)
            );
            let mut details = ErrorDetails::new();
            details
                .add_bad_request_violation(format!("{prefix}target_set"), &message)
                .add_bad_request_violation(format!("{prefix}target_set_name"), &message);
            Err(Status::with_error_details(Code::InvalidArgument, &message, details))
        }
    }
}

/// The target set a request names ([`target_set_name_of`]), checked against the engine's
/// sets. An unknown set is `INVALID_ARGUMENT` on the field the caller filled in:
/// `{prefix}target_set_name` when it is given, else `{prefix}target_set` (the engine's own
/// error always named `target_set`, also for a name sent in `target_set_name`).
///
/// # Errors
/// Those of [`target_set_name_of`], and an unknown set.
pub fn checked_target_set(
    engine: &Engine,
    target_set: i32,
    target_set_name: &str,
    prefix: &str,
) -> Result<String, Status> {
    let name = target_set_name_of(target_set, target_set_name, prefix)?;
    if engine.target_sets().get(&name).is_some() {
        return Ok(name);
    }
    let field = if target_set_name.trim().is_empty() {
        format!("{prefix}target_set")
    } else {
        format!("{prefix}target_set_name")
    };
    let message = format!("{field}: unknown target set `{}`", echo(&name));
    Err(invalid_field(Code::InvalidArgument, &field, &message))
}

/// The proto kind of a ROME item kind.
pub fn skill_kind(kind: ItemKind) -> pb::SkillKind {
    match kind {
        ItemKind::SavoirFaire => pb::SkillKind::SavoirFaire,
        ItemKind::SavoirEtre => pb::SkillKind::SavoirEtre,
        ItemKind::Savoir => pb::SkillKind::Savoir,
        ItemKind::Certification => pb::SkillKind::Certification,
        ItemKind::WorkContext => pb::SkillKind::WorkContext,
    }
}

/// Converts a skill (also used by the training conversions).
pub fn skill(s: SkillRef) -> pb::Skill {
    skill_of(s.code, s.label, s.kind, s.relevance)
}

/// A proto skill from its parts (`code_ogr`, ROME label, kind, relevance for the occupation).
pub fn skill_of(code: u32, label: &str, kind: ItemKind, relevance: Relevance) -> pb::Skill {
    pb::Skill {
        code: code.to_string(),
        label: label.to_string(),
        kind: skill_kind(kind).into(),
        core: relevance == Relevance::Core,
        emerging: relevance == Relevance::Emerging,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Code, message and violated fields of a refused pair, or the set a good one names.
    fn name_of(set: pb::TargetSet, name: &str, prefix: &str) -> Result<String, (Code, String, Vec<String>)> {
        target_set_name_of(set as i32, name, prefix).map_err(|status| {
            let details = status.get_error_details();
            let fields = details
                .bad_request()
                .map_or_else(Vec::new, |b| b.field_violations.iter().map(|v| v.field.clone()).collect());
            (status.code(), status.message().to_string(), fields)
        })
    }

    #[test]
    fn target_set_and_target_set_name_must_agree_when_both_are_given() {
        use pb::TargetSet::{All, DigitalInfrastructure, Unspecified};
        // One of them, or both naming the same set (names in any case, trimmed).
        assert_eq!(name_of(Unspecified, "", ""), Ok("ALL".to_string()));
        assert_eq!(name_of(DigitalInfrastructure, "", ""), Ok("DIGITAL_INFRASTRUCTURE".to_string()));
        assert_eq!(name_of(Unspecified, " FIBRE ", ""), Ok("FIBRE".to_string()));
        assert_eq!(
            name_of(DigitalInfrastructure, " digital_infrastructure", ""),
            Ok("DIGITAL_INFRASTRUCTURE".to_string())
        );
        assert_eq!(name_of(All, "ALL", ""), Ok("ALL".to_string()));
        // Different sets: both fields named.
        assert_eq!(
            name_of(DigitalInfrastructure, "ALL", ""),
            Err((
                Code::InvalidArgument,
                "target_set and target_set_name name different sets: TARGET_SET_DIGITAL_INFRASTRUCTURE and `ALL`; give \
                 one of them, or both naming the same set"
                    .to_string(),
                vec!["target_set".to_string(), "target_set_name".to_string()]
            ))
        );
        let Err((_, message, fields)) = name_of(All, "DIGITAL_INFRASTRUCTURE", "options.") else { panic!("refused") };
        assert_eq!(
            message,
            "options.target_set and options.target_set_name name different sets: TARGET_SET_ALL and \
             `DIGITAL_INFRASTRUCTURE`; give one of them, or both naming the same set"
        );
        // The longest message (a name echoed cut at 40 characters) stays under 200 characters.
        let long = "x".repeat(300);
        let Err((_, message, _)) = name_of(DigitalInfrastructure, &long, "") else { panic!("refused") };
        assert_eq!(message.chars().count(), 180, "{message}");
        assert_eq!(fields, ["options.target_set", "options.target_set_name"]);
        // An unknown enum value is refused even with a name.
        let unknown = target_set_name_of(42, "ALL", "").expect_err("unknown enum value");
        assert_eq!(unknown.message(), "target_set: unknown enum value 42");
    }

    #[test]
    fn an_unknown_target_set_is_reported_on_the_field_that_named_it() {
        let engine = passerelle_model::embedded::engine().expect("embedded engine");
        let refused = |set: pb::TargetSet, name: &str, prefix: &str| {
            let status = checked_target_set(&engine, set as i32, name, prefix).expect_err("unknown set");
            let details = status.get_error_details();
            let fields: Vec<String> = details
                .bad_request()
                .map_or_else(Vec::new, |b| b.field_violations.iter().map(|v| v.field.clone()).collect());
            (status.code(), status.message().to_string(), fields)
        };
        // Sent in `target_set_name`: the engine's error named `target_set`, a field the
        // caller left empty.
        assert_eq!(
            refused(pb::TargetSet::Unspecified, "nope", ""),
            (
                Code::InvalidArgument,
                "target_set_name: unknown target set `nope`".to_string(),
                vec!["target_set_name".to_string()]
            )
        );
        assert_eq!(
            refused(pb::TargetSet::Unspecified, " nope ", "options.").2,
            vec!["options.target_set_name".to_string()]
        );
        assert_eq!(
            checked_target_set(&engine, pb::TargetSet::DigitalInfrastructure as i32, "", "").expect("known set"),
            DIGITAL_INFRASTRUCTURE
        );
        assert_eq!(
            checked_target_set(&engine, pb::TargetSet::Unspecified as i32, "all", "").expect("known set"),
            "all"
        );
    }
}
