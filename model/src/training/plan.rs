//! The training planner: from a profile and a target occupation to the certifications that
//! close the gap.
//!
//! 1. The gap: the target's core items (`coeur_metier = Principale`, work contexts excluded)
//!    the profile lacks — the same `missing_core` as `RecommendPathways`.
//! 2. Regulated prerequisites come first: a target *requires* an AIPR, a habilitation
//!    électrique, a CACES R486 or a work-at-height course when its ROME links list that
//!    certification item (any `coeur_metier`); when the profile does not hold it, the plan
//!    includes it (shortest first, as long as `max_total_hours` allows; otherwise it is listed
//!    in `unmet_prerequisites`).
//! 3. The remaining missing core skills are a weighted set cover: each certification not
//!    held, within `max_level`, covers the missing skills it develops (see
//!    [`super::catalogue`] for the estimate), at the cost of its hours. A qualification the
//!    target's own ROME fiche lists (`unix_coherence_item`: France Travail names it as a way
//!    into the job) is taken to develop every missing savoir-faire and savoir of the target
//!    (`listed_by_target`), whatever its co-occurrence figures: without this, the BUT, licence
//!    pro and titre professionnel that the data-centre technician's fiche (I1403) lists were
//!    never proposed. The planner keeps the most skills covered within `max_total_hours`,
//!    then the fewest hours ([`super::cover::solve`]: exact branch and bound, greedy beyond
//!    its size limits).
//! 4. Skills no certification covers are listed plainly in `uncovered`, with the reason.

use serde::Serialize;

use super::catalogue::{
    Basis, Certification, CertificationClass, Figure, Level, Regulated, SkillEstimate, TrainingCatalogue,
};
use super::cover::{self, CoverProblem, CoverSet, Solver};
use super::PlanError;
use crate::catalogue::{ItemId, ItemKind, OccupationId, Relevance};
use crate::engine::{Engine, OccupationRef, ProfileQuery, SkillRef, MAX_PROFILE_ITEMS};
use crate::error::{echo, echo_number};

/// Largest accepted `max_total_hours` (five years of full-time training).
pub const MAX_TOTAL_HOURS: f64 = 10_000.0;

/// Constraints on a plan, as a caller gives them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanConstraints {
    /// Largest total duration in hours, in (0, [`MAX_TOTAL_HOURS`]]; `None`: no limit.
    pub max_total_hours: Option<f64>,
    /// Highest qualification level (French framework 1–8) a proposed certification may have;
    /// certifications without a level (habilitations, CQP) always pass. `None`: no limit.
    pub max_level: Option<u32>,
    /// `code_ogr`s of certifications already held (besides those in the profile).
    pub held_certifications: Vec<String>,
}

/// Validated constraints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidConstraints {
    /// Largest total duration in hours.
    pub max_total_hours: Option<f64>,
    /// Highest level.
    pub max_level: Option<u8>,
    /// Held certifications (ROME items).
    pub held: Vec<ItemId>,
}

impl PlanConstraints {
    /// Checks the constraints; `prefix` is the request field holding them (e.g.
    /// `constraints`).
    ///
    /// # Errors
    /// [`PlanError::OutOfRange`] for hours or level out of range or too many held
    /// certifications, [`PlanError::NotACertification`] for a code that is not a ROME
    /// certification.
    pub fn validate(&self, engine: &Engine, prefix: &str) -> Result<ValidConstraints, PlanError> {
        let max_total_hours = match self.max_total_hours {
            None => None,
            Some(h) if h.is_finite() && h > 0.0 && h <= MAX_TOTAL_HOURS => Some(h),
            Some(h) => {
                return Err(PlanError::OutOfRange {
                    field: format!("{prefix}.max_total_hours"),
                    reason: format!("{} is out of range (0, {MAX_TOTAL_HOURS}] hours", echo_number(h)),
                })
            }
        };
        let max_level = match self.max_level {
            None => None,
            Some(l @ 1..=8) => Some(l as u8),
            Some(l) => {
                return Err(PlanError::OutOfRange {
                    field: format!("{prefix}.max_level"),
                    reason: format!("{l} is not a qualification level 1-8"),
                })
            }
        };
        if self.held_certifications.len() > MAX_PROFILE_ITEMS {
            return Err(PlanError::OutOfRange {
                field: format!("{prefix}.held_certifications"),
                reason: format!("{} entries, at most {MAX_PROFILE_ITEMS} are accepted", self.held_certifications.len()),
            });
        }
        let catalogue = engine.catalogue();
        let held = self
            .held_certifications
            .iter()
            .enumerate()
            .map(|(i, code)| {
                let digits = code.trim();
                let plain =
                    !digits.starts_with('0') && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
                plain
                    .then(|| digits.parse::<u32>().ok())
                    .flatten()
                    .and_then(|c| catalogue.item_id(c))
                    .filter(|item| catalogue.item(*item).kind == ItemKind::Certification)
                    .ok_or_else(|| PlanError::NotACertification {
                        field: format!("{prefix}.held_certifications[{i}]"),
                        code: echo(code),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ValidConstraints { max_total_hours, max_level, held })
    }
}

/// A plan query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanQuery {
    /// Who the person is.
    pub profile: ProfileQuery,
    /// The target occupation, ROME code (ASCII case and surrounding spaces ignored).
    pub target_occupation_code: String,
    /// Constraints.
    pub constraints: PlanConstraints,
}

/// Why a certification is in a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanRole {
    /// A regulated prerequisite the target lists and the profile lacks.
    RegulatedPrerequisite,
    /// Chosen by the set cover for the missing core skills it develops.
    CoversSkills,
}

/// A missing core skill a planned certification covers, with the estimate behind the claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoveredSkill {
    /// The skill.
    pub skill: SkillRef,
    /// Share in [0, 1] of the certification's occupations that list the skill.
    pub support: f64,
    /// Share in [0, 1] of the occupations listing the skill that list the certification.
    pub specificity: f64,
}

/// A certification in a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedCertification {
    /// `code_ogr` of the ROME certification item.
    pub code: u32,
    /// Label (ROME 4.0).
    pub label: String,
    /// Why it is in the plan.
    pub role: PlanRole,
    /// Qualification or authorisation.
    pub class: CertificationClass,
    /// The regulated prerequisite it is, if any.
    pub regulated: Option<Regulated>,
    /// Level with basis and source.
    pub level: Level,
    /// Duration in hours with basis and source.
    pub hours: Figure,
    /// Cost in euros with basis and source.
    pub cost_eur: Figure,
    /// The missing core skills it covers (all of them, even those another planned
    /// certification covers too).
    pub covers: Vec<CoveredSkill>,
    /// Basis of the skills it covers: `estimate` (co-occurrence in the ROME, or the target's
    /// fiche listing it) or `operator`.
    pub skills_basis: Basis,
    /// Whether the target occupation's ROME fiche lists this certification; a qualification
    /// it lists is taken to develop all the target's missing savoir-faire and savoirs (its
    /// `covers` then show the co-occurrence figures, which may be low).
    pub listed_by_target: bool,
    /// Provider, from an operator catalogue.
    pub provider: Option<String>,
    /// Region, from an operator catalogue.
    pub region: Option<String>,
}

/// Why a missing core skill stays uncovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UncoveredReason {
    /// No certification of the catalogue is estimated to develop it.
    NoCertification,
    /// Some certification develops it, but none within the constraints (held already, above
    /// `max_level`, or over `max_total_hours`).
    Constraints,
}

/// A missing core skill the plan does not cover.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UncoveredSkill {
    /// The skill.
    pub skill: SkillRef,
    /// Why.
    pub reason: UncoveredReason,
}

/// A regulated prerequisite the plan could not include.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnmetPrerequisite {
    /// `code_ogr`.
    pub code: u32,
    /// Label.
    pub label: String,
    /// Which regulated prerequisite.
    pub regulated: Option<Regulated>,
    /// Its duration.
    pub hours: Figure,
    /// Why it is not in the plan.
    pub reason: String,
}

/// A training plan for one target occupation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingPlan {
    /// The target occupation.
    pub target: OccupationRef,
    /// Certifications, regulated prerequisites first, then authorisations, then by level and
    /// hours.
    pub certifications: Vec<PlannedCertification>,
    /// Sum of the certifications' hours.
    pub total_hours: f64,
    /// Sum of the certifications' costs, euros.
    pub total_cost_eur: f64,
    /// Whether some cost in the total is an estimate (hours × CPF average price).
    pub cost_includes_estimates: bool,
    /// The gap planned for: the target's core skills the profile lacks.
    pub missing_core: Vec<SkillRef>,
    /// Missing core skills no planned certification covers, stated plainly.
    pub uncovered: Vec<UncoveredSkill>,
    /// Regulated prerequisites the target requires that could not be included.
    pub unmet_prerequisites: Vec<UnmetPrerequisite>,
    /// The set-cover algorithm used.
    pub solver: Solver,
}

/// The planner over an engine and its training catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Planner<'a> {
    engine: &'a Engine,
    training: &'a TrainingCatalogue,
}

impl<'a> Planner<'a> {
    /// A planner.
    ///
    /// # Errors
    /// [`PlanError::CatalogueMismatch`] when the training catalogue was built on other data.
    pub fn new(engine: &'a Engine, training: &'a TrainingCatalogue) -> Result<Self, PlanError> {
        if engine.catalogue().checksum != training.catalogue_checksum {
            return Err(PlanError::CatalogueMismatch);
        }
        Ok(Planner { engine, training })
    }

    /// The engine.
    pub fn engine(&self) -> &'a Engine {
        self.engine
    }

    /// Resolves a target code (field `field`).
    ///
    /// # Errors
    /// [`PlanError::MissingTarget`] for an empty or blank code, [`PlanError::UnknownTarget`]
    /// for a code the catalogue does not hold.
    pub fn target(&self, code: &str, field: &str) -> Result<OccupationId, PlanError> {
        let normalised = code.trim().to_ascii_uppercase();
        if normalised.is_empty() {
            return Err(PlanError::MissingTarget { field: field.to_string() });
        }
        self.engine
            .catalogue()
            .occupation_id(&normalised)
            .ok_or_else(|| PlanError::UnknownTarget { field: field.to_string(), code: echo(code) })
    }

    /// Plans the training from a profile to a target occupation (see module docs).
    ///
    /// # Errors
    /// [`PlanError`] naming the field at fault: profile ([`Engine::resolve`]),
    /// `target_occupation_code`, `constraints.*`.
    pub fn plan(&self, query: &PlanQuery) -> Result<TrainingPlan, PlanError> {
        let target = self.target(&query.target_occupation_code, "target_occupation_code")?;
        let constraints = query.constraints.validate(self.engine, "constraints")?;
        let (items, _) = self.engine.resolve_with_title(&query.profile)?;
        Ok(self.plan_for_items(&items, target, &constraints))
    }

    /// Plans from resolved profile items (sorted, deduplicated) to `target`.
    pub fn plan_for_items(&self, items: &[ItemId], target: OccupationId, c: &ValidConstraints) -> TrainingPlan {
        let catalogue = self.engine.catalogue();
        let occupation = catalogue.occupation(target);
        let holds = |i: ItemId| items.binary_search(&i).is_ok() || c.held.contains(&i);
        let skill_ref = |i: ItemId, relevance: Relevance| self.engine.skill_ref(i, relevance);
        let missing: Vec<ItemId> = occupation
            .items
            .iter()
            .filter(|l| l.relevance == Relevance::Core && catalogue.item(l.item).kind != ItemKind::WorkContext)
            .map(|l| l.item)
            .filter(|&i| items.binary_search(&i).is_err())
            .collect();
        let relevance_of = |i: ItemId| {
            occupation
                .items
                .binary_search_by_key(&i, |l| l.item)
                .map_or(Relevance::Other, |p| occupation.items[p].relevance)
        };
        let level_ok = |cert: &Certification| match (c.max_level, cert.level.value) {
            (Some(max), Some(level)) => level <= max,
            _ => true,
        };
        let budget = c.max_total_hours.unwrap_or(f64::INFINITY);

        // Regulated prerequisites the target lists and the person lacks, shortest first.
        let mut required: Vec<&Certification> = occupation
            .items
            .iter()
            .filter_map(|l| self.training.certification(l.item))
            .filter(|cert| cert.regulated.is_some() && !holds(cert.item))
            .collect();
        required.sort_by(|a, b| a.hours.value.total_cmp(&b.hours.value).then(a.code.cmp(&b.code)));
        let mut prerequisites = Vec::new();
        let mut unmet = Vec::new();
        let mut spent = 0.0;
        for cert in required {
            let reason = if !level_ok(cert) {
                Some("its level is above max_level".to_string())
            } else if spent + cert.hours.value > budget + 1e-9 {
                Some(format!("it does not fit in max_total_hours ({:.1} h left)", (budget - spent).max(0.0)))
            } else {
                None
            };
            match reason {
                Some(reason) => unmet.push(UnmetPrerequisite {
                    code: cert.code,
                    label: cert.label.clone(),
                    regulated: cert.regulated,
                    hours: cert.hours.clone(),
                    reason,
                }),
                None => {
                    spent += cert.hours.value;
                    prerequisites.push(cert);
                }
            }
        }

        // Qualifications the target's fiche lists (operator-declared skills stay as declared).
        let listed_by_target =
            |cert: &Certification| occupation.items.binary_search_by_key(&cert.item, |l| l.item).is_ok();
        let target_route = |cert: &Certification| {
            cert.class == CertificationClass::Qualification
                && cert.skills_basis != Basis::Operator
                && listed_by_target(cert)
        };
        let target_routes: Vec<usize> = occupation
            .items
            .iter()
            .filter_map(|l| self.training.index_of(l.item))
            .filter(|&k| target_route(&self.training.certifications()[k]))
            .collect();
        // What `cert` develops of `item`: its own estimate, or the target's route.
        let develops = |cert: &Certification, item: ItemId| -> Option<SkillEstimate> {
            cert.skill(item).copied().or_else(|| {
                (target_route(cert) && matches!(catalogue.item(item).kind, ItemKind::SavoirFaire | ItemKind::Savoir))
                    .then(|| self.training.estimate(catalogue, cert, item))
            })
        };
        let developable = |item: ItemId| {
            !self.training.developing(item).is_empty()
                || target_routes.iter().any(|&k| develops(&self.training.certifications()[k], item).is_some())
        };

        // The set cover over what the prerequisites leave.
        let universe: Vec<ItemId> =
            missing.iter().copied().filter(|&i| !prerequisites.iter().any(|p| p.skill(i).is_some())).collect();
        let mut candidates: Vec<usize> =
            universe.iter().flat_map(|&e| self.training.developing(e).iter().copied()).collect();
        candidates.extend(target_routes.iter().copied());
        candidates.sort_unstable();
        candidates.dedup();
        let all = self.training.certifications();
        candidates.retain(|&k| {
            let cert = &all[k];
            !holds(cert.item) && !prerequisites.iter().any(|p| p.item == cert.item) && level_ok(cert)
        });
        let problem = CoverProblem {
            n_elements: universe.len(),
            sets: candidates
                .iter()
                .map(|&k| CoverSet {
                    elements: (0..universe.len()).filter(|&e| develops(&all[k], universe[e]).is_some()).collect(),
                    cost: all[k].hours.value,
                })
                .collect(),
            budget: Some(budget - spent).filter(|b| b.is_finite()),
        };
        let solution = cover::solve(&problem);

        let planned = |cert: &Certification, role: PlanRole| {
            let covers = missing
                .iter()
                .filter_map(|&i| develops(cert, i).map(|s| (i, s)))
                .map(|(i, s)| CoveredSkill {
                    skill: skill_ref(i, relevance_of(i)),
                    support: s.support,
                    specificity: s.specificity,
                })
                .collect();
            PlannedCertification {
                code: cert.code,
                label: cert.label.clone(),
                role,
                class: cert.class,
                regulated: cert.regulated,
                level: cert.level.clone(),
                hours: cert.hours.clone(),
                cost_eur: cert.cost_eur.clone(),
                covers,
                skills_basis: cert.skills_basis,
                listed_by_target: listed_by_target(cert),
                provider: cert.provider.clone(),
                region: cert.region.clone(),
            }
        };
        let mut certifications: Vec<PlannedCertification> =
            prerequisites.iter().map(|cert| planned(cert, PlanRole::RegulatedPrerequisite)).collect();
        let mut chosen: Vec<PlannedCertification> =
            solution.chosen.iter().map(|&j| planned(&all[candidates[j]], PlanRole::CoversSkills)).collect();
        chosen.sort_by(|a, b| {
            (a.class != CertificationClass::Authorisation)
                .cmp(&(b.class != CertificationClass::Authorisation))
                .then(a.level.value.cmp(&b.level.value))
                .then(a.hours.value.total_cmp(&b.hours.value))
                .then(a.code.cmp(&b.code))
        });
        certifications.extend(chosen);

        let uncovered = universe
            .iter()
            .enumerate()
            .filter(|(e, _)| !solution.covered[*e])
            .map(|(_, &i)| UncoveredSkill {
                skill: skill_ref(i, relevance_of(i)),
                reason: if !developable(i) { UncoveredReason::NoCertification } else { UncoveredReason::Constraints },
            })
            .collect();
        // `+ 0.0` turns the empty sum's -0.0 into 0.0 (shown as "-0.0 h" otherwise).
        let total_hours = certifications.iter().map(|p| p.hours.value).sum::<f64>() + 0.0;
        let total_cost_eur = certifications.iter().map(|p| p.cost_eur.value).sum::<f64>() + 0.0;
        let cost_includes_estimates = certifications.iter().any(|p| p.cost_eur.basis == Basis::Estimate);
        TrainingPlan {
            target: OccupationRef { code: occupation.code.clone(), label: occupation.label.clone() },
            certifications,
            total_hours,
            total_cost_eur,
            cost_includes_estimates,
            missing_core: missing.iter().map(|&i| skill_ref(i, Relevance::Core)).collect(),
            uncovered,
            unmet_prerequisites: unmet,
            solver: solution.solver,
        }
    }

    /// One plan per target, for the same profile (e.g. the results of `recommend`).
    ///
    /// # Errors
    /// As [`Planner::plan`] for the profile and the constraints (`prefix` names the
    /// constraints field), [`PlanError::UnknownTarget`] for a target code.
    pub fn plan_each(
        &self,
        profile: &ProfileQuery,
        targets: &[String],
        constraints: &PlanConstraints,
        prefix: &str,
    ) -> Result<Vec<TrainingPlan>, PlanError> {
        let constraints = constraints.validate(self.engine, prefix)?;
        let (items, _) = self.engine.resolve_with_title(profile)?;
        targets.iter().map(|code| Ok(self.plan_for_items(&items, self.target(code, "target")?, &constraints))).collect()
    }
}
