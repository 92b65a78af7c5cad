//! Cohort analysis: where a group of people (a register, 300 fibre splicers whose contracts
//! end, the members of a training fund) can go, and which core skills they most often lack.
//!
//! The input is each person's answer from [`Engine::recommend`](crate::engine::Engine::recommend)
//! (their top-k moves with gaps); nothing else is read, so the figures trace to the same
//! ROME 4.0 data and model as the individual answers. A [`CohortAccumulator`] holds one
//! counter per occupation and per skill met, never the profiles: its memory is bounded by the
//! catalogue (1,584 occupations, 33,850 items for ROME v460), not by the cohort size, and two
//! accumulators built on separate threads [`merge`](CohortAccumulator::merge) exactly.
//!
//! Definitions (per person, over their top-k moves; k = `moves_per_person`):
//! - an occupation **reaches** a person when it is one of their top-k moves;
//!   `people` counts those persons, `share` = `people` / cohort size, and
//!   `mean_probability` is the mean of the move's probability over those persons only
//!   (model probability in [0, 1], see the engine);
//! - a core skill (`coeur_metier = Principale`) is **missing** for a person when it is in
//!   the `missing_core` gap of at least one of their top-k moves; `people` counts those
//!   persons, `share` = `people` / cohort size, and `moves` counts the (person, move) pairs
//!   whose gap lists it.
//!
//! - a certification **unlocks** a move when the training planner
//!   ([`Planner`](crate::training::plan::Planner)) includes it in the plan from the person's
//!   profile to that move's target (default constraints: every certification of the training
//!   catalogue, no hour or level limit). `people` counts the persons with at least one such
//!   move, `moves` the (person, move) pairs, and `expected_moves` is the sum of those moves'
//!   model probabilities: the number of **realistic** moves it unlocks, each move weighted by
//!   how likely the model finds the transition (a certification unlocking one move at 0.9 and
//!   one at 0.1 counts 1.0). Hours and cost are the certification's figures in the training
//!   catalogue, each with its basis (sourced, derived, assumption, estimate, operator).
//!
//! The certification list is filled only when plans are given
//! ([`CohortAccumulator::add_plans`]); [`CohortReport::certifications`] is `None` otherwise
//! (no training catalogue), never estimated another way.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::catalogue::ItemKind;
use crate::engine::{OccupationRef, ProfileQuery, Recommendations};
use crate::training::catalogue::Figure;
use crate::training::plan::{PlanConstraints, Planner, TrainingPlan};
use crate::training::PlanError;

/// Default number of rows in each list of a [`CohortReport`].
pub const DEFAULT_COHORT_ROWS: usize = 20;
/// Largest number of rows in each list of a [`CohortReport`].
pub const MAX_COHORT_ROWS: usize = 1000;

/// Running counts over a cohort's answers (see module docs). Memory is bounded by the
/// number of distinct occupations and skills met, not by the number of people.
#[derive(Debug, Clone, Default)]
pub struct CohortAccumulator {
    people: usize,
    target_set: Option<String>,
    occupations: HashMap<String, OccupationCount>,
    skills: HashMap<u32, SkillCount>,
    /// `None` until plans are added.
    certifications: Option<HashMap<u32, CertificationCount>>,
}

/// Scale of the fixed-point probability sums: 2^64, so that sums are exact integers and
/// merging accumulators gives the same bits in any order.
const PROBABILITY_SCALE: f64 = 18_446_744_073_709_551_616.0;

/// A probability in [0, 1] as a fixed-point integer (non-finite or out-of-range values are
/// clamped; below 2^-64 is dropped).
fn fixed(probability: f64) -> u128 {
    let p = if probability.is_finite() { probability.clamp(0.0, 1.0) } else { 0.0 };
    (p * PROBABILITY_SCALE) as u128
}

#[derive(Debug, Clone)]
struct CertificationCount {
    label: String,
    people: usize,
    moves: usize,
    /// Sum of the moves' probabilities, fixed point (see [`PROBABILITY_SCALE`]).
    expected: u128,
    hours: Figure,
    cost_eur: Figure,
}

#[derive(Debug, Clone)]
struct OccupationCount {
    label: String,
    people: usize,
    probability_sum: f64,
}

#[derive(Debug, Clone)]
struct SkillCount {
    label: String,
    kind: ItemKind,
    people: usize,
    moves: usize,
}

/// One occupation of a [`CohortReport`]: a frequent destination of the cohort.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortOccupation {
    /// The target occupation (ROME code and label).
    pub occupation: OccupationRef,
    /// Persons for whom it is one of their top-k moves.
    pub people: usize,
    /// `people` / cohort size, in [0, 1].
    pub share: f64,
    /// Mean model probability in [0, 1] of the move over those `people`.
    pub mean_probability: f64,
}

/// One core skill of a [`CohortReport`]: a frequent gap of the cohort.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortSkill {
    /// `code_ogr` of the ROME item.
    pub code: u32,
    /// Label (ROME 4.0).
    pub label: String,
    /// Kind of item (savoir-faire, savoir, certification…).
    pub kind: ItemKind,
    /// Persons for whom at least one of their top-k moves lacks it.
    pub people: usize,
    /// `people` / cohort size, in [0, 1].
    pub share: f64,
    /// (person, move) pairs whose gap lists it.
    pub moves: usize,
}

/// A certification that would unlock moves for the cohort, from the training planner's
/// plans (see module docs and [`CohortReport::certifications`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortCertification {
    /// `code_ogr` of the certification item.
    pub code: u32,
    /// Label (ROME 4.0).
    pub label: String,
    /// Persons with at least one top-k move whose plan includes it.
    pub people: usize,
    /// `people` / cohort size, in [0, 1].
    pub share: f64,
    /// (person, move) pairs whose plan includes it.
    pub moves: usize,
    /// Realistic moves it unlocks: the sum of the model probabilities of those moves (each
    /// move weighted by how likely the transition is), in [0, `moves`].
    pub expected_moves: f64,
    /// Typical duration in hours, with its basis and source (training catalogue).
    pub hours: Figure,
    /// Typical cost in euros, with its basis and source (training catalogue).
    pub cost_eur: Figure,
}

/// The "map of skill needs" of a cohort (see module docs for the definitions).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortReport {
    /// Persons analysed (valid profiles).
    pub people: usize,
    /// Target set the moves were drawn from (`None` for an empty cohort).
    pub target_set: Option<String>,
    /// Most frequent destinations, by `people` then mean probability then code; at most
    /// the requested number of rows.
    pub occupations: Vec<CohortOccupation>,
    /// Most frequent missing core skills, by `people` then `moves` then code; at most the
    /// requested number of rows.
    pub missing_core_skills: Vec<CohortSkill>,
    /// Certifications that would unlock the most realistic moves for the most people, by
    /// `people` then `expected_moves` then code; at most the requested number of rows.
    /// `None` when no plans were added (no training catalogue); never invented.
    pub certifications: Option<Vec<CohortCertification>>,
}

/// The training plans of one person's moves, for [`CohortAccumulator::add_plans`]: one plan
/// per move of `answer` (the answer of [`Engine::recommend`](crate::engine::Engine::recommend)
/// for `profile`), with default constraints, and the moves' probabilities in the same order.
///
/// # Errors
/// [`PlanError`] when the profile does not resolve (it did for `answer`, so only when the
/// planner's engine is not the one that answered).
pub fn plan_moves(
    planner: &Planner<'_>,
    profile: &ProfileQuery,
    answer: &Recommendations,
) -> Result<(Vec<TrainingPlan>, Vec<f64>), PlanError> {
    let targets: Vec<String> = answer.results.iter().map(|r| r.occupation.code.clone()).collect();
    let plans = planner.plan_each(profile, &targets, &PlanConstraints::default(), "constraints")?;
    Ok((plans, answer.results.iter().map(|r| r.probability).collect()))
}

/// The ids of the persons already counted in a cohort, so that a person is counted once:
/// a later record with an id already counted is refused (see [`DistinctIds::first_seen`]).
///
/// Ids are remembered as 128-bit hashes (two SipHash-1-3 keyed at random: a false
/// duplicate among 10^9 ids has a probability under 10^-20) with the position where each was
/// first counted: 24 bytes per person plus the hash table's overhead, whatever the length of
/// the ids. An empty id is anonymous and never a duplicate.
#[derive(Debug, Clone, Default)]
pub struct DistinctIds {
    keys: (std::hash::RandomState, std::hash::RandomState),
    first: HashMap<u128, u64>,
}

impl DistinctIds {
    /// No id counted yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `id` as counted at `position` (the caller's: a 1-based input line, a 0-based
    /// stream sequence) and returns `None`, or, when `id` was already counted, leaves it
    /// and returns the position where it was first counted. An empty (or blank) id is never
    /// recorded: `None`.
    pub fn first_seen(&mut self, id: &str, position: u64) -> Option<u64> {
        use std::hash::BuildHasher;
        if id.trim().is_empty() {
            return None;
        }
        let key = (u128::from(self.keys.0.hash_one(id)) << 64) | u128::from(self.keys.1.hash_one(id));
        match self.first.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(position);
                None
            }
        }
    }

    /// Distinct ids counted.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// Whether no id was counted.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }
}

impl CohortAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one person's answer (their top-k moves with gaps).
    pub fn add(&mut self, answer: &Recommendations) {
        self.people += 1;
        if self.target_set.is_none() {
            self.target_set = Some(answer.target_set.clone());
        }
        let mut missing: BTreeSet<u32> = BTreeSet::new();
        for r in &answer.results {
            let count = self.occupations.entry(r.occupation.code.clone()).or_insert_with(|| OccupationCount {
                label: r.occupation.label.clone(),
                people: 0,
                probability_sum: 0.0,
            });
            count.people += 1;
            count.probability_sum += r.probability;
            for s in &r.missing_core {
                let count = self.skills.entry(s.code).or_insert_with(|| SkillCount {
                    label: s.label.to_string(),
                    kind: s.kind,
                    people: 0,
                    moves: 0,
                });
                count.moves += 1;
                if missing.insert(s.code) {
                    count.people += 1;
                }
            }
        }
    }

    /// Adds the training plans of one person's top-k moves: `plans[i]` is the plan to the
    /// target of the move of model probability `probabilities[i]` (pairs beyond the shorter
    /// slice are ignored). Call it once per person, after [`add`](Self::add) with the same
    /// answer; calling it (even with no plans) turns the certification list on.
    pub fn add_plans(&mut self, plans: &[TrainingPlan], probabilities: &[f64]) {
        let certifications = self.certifications.get_or_insert_with(HashMap::new);
        let mut seen: BTreeSet<u32> = BTreeSet::new();
        for (plan, &probability) in plans.iter().zip(probabilities) {
            let mut in_move: BTreeSet<u32> = BTreeSet::new();
            for c in &plan.certifications {
                if !in_move.insert(c.code) {
                    continue; // listed twice in one plan: one move
                }
                let count = certifications.entry(c.code).or_insert_with(|| CertificationCount {
                    label: c.label.clone(),
                    people: 0,
                    moves: 0,
                    expected: 0,
                    hours: c.hours.clone(),
                    cost_eur: c.cost_eur.clone(),
                });
                count.moves += 1;
                count.expected += fixed(probability);
                if seen.insert(c.code) {
                    count.people += 1;
                }
            }
        }
    }

    /// Persons added so far.
    pub fn people(&self) -> usize {
        self.people
    }

    /// Adds the counts of `other` (an accumulator over other persons).
    pub fn merge(mut self, other: CohortAccumulator) -> Self {
        self.people += other.people;
        if self.target_set.is_none() {
            self.target_set = other.target_set;
        }
        for (code, c) in other.occupations {
            match self.occupations.get_mut(&code) {
                Some(mine) => {
                    mine.people += c.people;
                    mine.probability_sum += c.probability_sum;
                }
                None => {
                    self.occupations.insert(code, c);
                }
            }
        }
        for (code, c) in other.skills {
            match self.skills.get_mut(&code) {
                Some(mine) => {
                    mine.people += c.people;
                    mine.moves += c.moves;
                }
                None => {
                    self.skills.insert(code, c);
                }
            }
        }
        if let Some(theirs) = other.certifications {
            let mine = self.certifications.get_or_insert_with(HashMap::new);
            for (code, c) in theirs {
                match mine.get_mut(&code) {
                    Some(m) => {
                        m.people += c.people;
                        m.moves += c.moves;
                        m.expected += c.expected;
                    }
                    None => {
                        mine.insert(code, c);
                    }
                }
            }
        }
        self
    }

    /// The report, with at most `rows` entries per list (clamped to 1..=[`MAX_COHORT_ROWS`]).
    pub fn finish(self, rows: usize) -> CohortReport {
        let rows = rows.clamp(1, MAX_COHORT_ROWS);
        let n = self.people.max(1) as f64;
        let mut occupations: Vec<CohortOccupation> = self
            .occupations
            .into_iter()
            .map(|(code, c)| CohortOccupation {
                occupation: OccupationRef { code, label: c.label },
                people: c.people,
                share: c.people as f64 / n,
                mean_probability: c.probability_sum / c.people.max(1) as f64,
            })
            .collect();
        occupations.sort_by(|a, b| {
            b.people
                .cmp(&a.people)
                .then(b.mean_probability.total_cmp(&a.mean_probability))
                .then(a.occupation.code.cmp(&b.occupation.code))
        });
        occupations.truncate(rows);
        let mut missing_core_skills: Vec<CohortSkill> = self
            .skills
            .into_iter()
            .map(|(code, c)| CohortSkill {
                code,
                label: c.label,
                kind: c.kind,
                people: c.people,
                share: c.people as f64 / n,
                moves: c.moves,
            })
            .collect();
        missing_core_skills
            .sort_by(|a, b| b.people.cmp(&a.people).then(b.moves.cmp(&a.moves)).then(a.code.cmp(&b.code)));
        missing_core_skills.truncate(rows);
        let certifications = self.certifications.map(|certifications| {
            let mut list: Vec<CohortCertification> = certifications
                .into_iter()
                .map(|(code, c)| CohortCertification {
                    code,
                    label: c.label,
                    people: c.people,
                    share: c.people as f64 / n,
                    moves: c.moves,
                    expected_moves: c.expected as f64 / PROBABILITY_SCALE,
                    hours: c.hours,
                    cost_eur: c.cost_eur,
                })
                .collect();
            list.sort_by(|a, b| {
                b.people.cmp(&a.people).then(b.expected_moves.total_cmp(&a.expected_moves)).then(a.code.cmp(&b.code))
            });
            list.truncate(rows);
            list
        });
        CohortReport {
            people: self.people,
            target_set: self.target_set,
            occupations,
            missing_core_skills,
            certifications,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Relevance;
    use crate::engine::{AnchorBasis, Recommendation, SkillRef};
    use crate::training::catalogue::{Basis, CertificationClass, Level};
    use crate::training::cover::Solver;
    use crate::training::plan::{PlanRole, PlannedCertification};

    fn figure(value: f64, basis: Basis) -> Figure {
        Figure { value, basis, source: format!("test {value}") }
    }

    /// A plan to `target` with the certifications `certs` (code; hours 10 × code, sourced).
    fn plan(target: &str, certs: &[u32]) -> TrainingPlan {
        TrainingPlan {
            target: OccupationRef { code: target.into(), label: format!("label {target}") },
            certifications: certs
                .iter()
                .map(|&code| PlannedCertification {
                    code,
                    label: format!("cert {code}"),
                    role: PlanRole::CoversSkills,
                    class: CertificationClass::Qualification,
                    regulated: None,
                    level: Level { value: None, basis: Basis::Assumption, source: String::new() },
                    hours: figure(10.0 * f64::from(code), Basis::Sourced),
                    cost_eur: figure(25.5 * f64::from(code), Basis::Estimate),
                    covers: Vec::new(),
                    skills_basis: Basis::Estimate,
                    listed_by_target: false,
                    provider: None,
                    region: None,
                })
                .collect(),
            total_hours: 0.0,
            total_cost_eur: 0.0,
            cost_includes_estimates: true,
            missing_core: Vec::new(),
            uncovered: Vec::new(),
            unmet_prerequisites: Vec::new(),
            solver: Solver::Exact,
        }
    }

    /// Plans for [`three_people`]'s moves, in the same order:
    /// - Anne:  I1311 ← {7, 8}, F1623 ← {8}
    /// - Bruno: I1311 ← {7},    I1307 ← {}
    /// - Chloé: F1623 ← {8, 9}, I1311 ← {7}
    ///
    /// By hand: cert 7: Anne (0.6), Bruno (0.5), Chloé (0.1): 3 people, 3 moves, expected
    /// 1.2; cert 8: Anne twice (0.6 + 0.4) and Chloé (0.2): 2 people, 3 moves, 1.2; cert 9:
    /// Chloé (0.2): 1 person, 1 move, 0.2. Order: 7 (3 people), 8, 9.
    fn three_plans() -> [(Vec<TrainingPlan>, Vec<f64>); 3] {
        [
            (vec![plan("I1311", &[7, 8]), plan("F1623", &[8])], vec![0.6, 0.4]),
            (vec![plan("I1311", &[7]), plan("I1307", &[])], vec![0.5, 0.3]),
            (vec![plan("F1623", &[8, 9]), plan("I1311", &[7])], vec![0.2, 0.1]),
        ]
    }

    fn cert_key(r: &CohortReport) -> Vec<(u32, usize, usize, f64)> {
        r.certifications
            .as_ref()
            .map(|c| c.iter().map(|c| (c.code, c.people, c.moves, c.expected_moves)).collect())
            .unwrap_or_default()
    }

    fn skill(code: u32) -> SkillRef {
        SkillRef {
            code,
            label: crate::labels::intern(&format!("skill {code}")),
            kind: ItemKind::SavoirFaire,
            relevance: Relevance::Core,
        }
    }

    fn answer(moves: &[(&str, f64, &[u32])]) -> Recommendations {
        Recommendations {
            anchor: OccupationRef { code: "I1315".into(), label: "anchor".into() },
            anchor_basis: AnchorBasis::Declared,
            target_set: "DIGITAL_INFRASTRUCTURE".into(),
            profile_items: 10,
            candidates_scored: 40,
            results: moves
                .iter()
                .map(|(code, probability, missing)| Recommendation {
                    occupation: OccupationRef { code: (*code).into(), label: format!("label {code}") },
                    probability: *probability,
                    cosine: 0.5,
                    core_coverage: 0.5,
                    matched_core: Vec::new(),
                    missing_core: missing.iter().map(|&c| skill(c)).collect(),
                    missing_other: Vec::new(),
                    missing_other_total: 0,
                    top_factors: Vec::new(),
                    curated_order: None,
                    tension: None,
                    blended_score: None,
                })
                .collect(),
            job_title: None,
            tension: None,
        }
    }

    /// Three persons, two moves each:
    /// - Anne:  I1311 (0.6, lacks 1, 2), F1623 (0.4, lacks 2)
    /// - Bruno: I1311 (0.5, lacks 1),    I1307 (0.3, lacks 3)
    /// - Chloé: F1623 (0.2, lacks 2, 3), I1311 (0.1, lacks 2)
    ///
    /// By hand: I1311 reaches 3 people, mean (0.6 + 0.5 + 0.1) / 3 = 0.4; F1623 reaches 2,
    /// mean (0.4 + 0.2) / 2 = 0.3; I1307 reaches 1, mean 0.3. Skill 2 is missing for Anne
    /// (twice) and Chloé (twice): 2 people, 4 moves; skill 1 for Anne and Bruno: 2 people,
    /// 2 moves; skill 3 for Bruno and Chloé: 2 people, 2 moves (ties broken by code).
    fn three_people() -> [Recommendations; 3] {
        [
            answer(&[("I1311", 0.6, &[1, 2]), ("F1623", 0.4, &[2])]),
            answer(&[("I1311", 0.5, &[1]), ("I1307", 0.3, &[3])]),
            answer(&[("F1623", 0.2, &[2, 3]), ("I1311", 0.1, &[2])]),
        ]
    }

    #[test]
    fn three_person_cohort_by_hand() {
        let mut acc = CohortAccumulator::new();
        for a in &three_people() {
            acc.add(a);
        }
        let report = acc.finish(DEFAULT_COHORT_ROWS);
        assert_eq!(report.people, 3);
        assert_eq!(report.target_set.as_deref(), Some("DIGITAL_INFRASTRUCTURE"));
        let occ: Vec<(&str, usize)> =
            report.occupations.iter().map(|o| (o.occupation.code.as_str(), o.people)).collect();
        assert_eq!(occ, [("I1311", 3), ("F1623", 2), ("I1307", 1)]);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(report.occupations[0].mean_probability, 0.4));
        assert!(close(report.occupations[0].share, 1.0));
        assert!(close(report.occupations[1].mean_probability, 0.3));
        assert!(close(report.occupations[1].share, 2.0 / 3.0));
        assert!(close(report.occupations[2].mean_probability, 0.3));
        assert_eq!(report.occupations[0].occupation.label, "label I1311");
        let skills: Vec<(u32, usize, usize)> =
            report.missing_core_skills.iter().map(|s| (s.code, s.people, s.moves)).collect();
        assert_eq!(skills, [(2, 2, 4), (1, 2, 2), (3, 2, 2)]);
        assert!(close(report.missing_core_skills[0].share, 2.0 / 3.0));
        assert_eq!(report.certifications, None);
    }

    #[test]
    fn three_person_certifications_by_hand() {
        let mut acc = CohortAccumulator::new();
        for (a, (plans, probabilities)) in three_people().iter().zip(three_plans()) {
            acc.add(a);
            acc.add_plans(&plans, &probabilities);
        }
        let report = acc.finish(DEFAULT_COHORT_ROWS);
        let certs = report.certifications.as_ref().expect("plans were added");
        let key: Vec<(u32, usize, usize)> = certs.iter().map(|c| (c.code, c.people, c.moves)).collect();
        assert_eq!(key, [(7, 3, 3), (8, 2, 3), (9, 1, 1)]);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(certs[0].expected_moves, 1.2), "{}", certs[0].expected_moves);
        assert!(close(certs[1].expected_moves, 1.2), "{}", certs[1].expected_moves);
        assert!(close(certs[2].expected_moves, 0.2), "{}", certs[2].expected_moves);
        assert!(close(certs[0].share, 1.0) && close(certs[1].share, 2.0 / 3.0));
        assert_eq!(certs[0].label, "cert 7");
        assert_eq!((certs[0].hours.value, certs[0].hours.basis), (70.0, Basis::Sourced));
        assert_eq!((certs[0].cost_eur.value, certs[0].cost_eur.basis), (25.5 * 7.0, Basis::Estimate));
        // Same people, expected moves break the tie: 8 (1.2) before a cert at 0.9.
        let mut acc = CohortAccumulator::new();
        acc.add_plans(&[plan("A", &[8, 5])], &[0.9]);
        acc.add_plans(&[plan("B", &[8]), plan("C", &[5])], &[0.3, 0.1]);
        let tie = acc.finish(10);
        assert_eq!(cert_key(&tie).iter().map(|c| c.0).collect::<Vec<_>>(), [8, 5]);
        // Plans added with no certification: an empty list, not None.
        let mut acc = CohortAccumulator::new();
        acc.add_plans(&[plan("I1307", &[])], &[0.3]);
        assert_eq!(acc.finish(10).certifications, Some(Vec::new()));
    }

    #[test]
    fn merged_certifications_add_exactly() {
        let answers = three_people();
        let plans = three_plans();
        let mut one = CohortAccumulator::new();
        for (a, (p, w)) in answers.iter().zip(&plans) {
            one.add(a);
            one.add_plans(p, w);
        }
        // Split three ways, merged in another order: the same bits.
        let parts: Vec<CohortAccumulator> = answers
            .iter()
            .zip(&plans)
            .map(|(a, (p, w))| {
                let mut acc = CohortAccumulator::new();
                acc.add(a);
                acc.add_plans(p, w);
                acc
            })
            .collect();
        let mut parts = parts.into_iter();
        let (x, y, z) = (parts.next().expect("x"), parts.next().expect("y"), parts.next().expect("z"));
        let merged = z.merge(x).merge(y).finish(20);
        assert_eq!(cert_key(&merged), cert_key(&one.clone().finish(20)));
        // One side without plans keeps the other's list.
        let mut no_plans = CohortAccumulator::new();
        no_plans.add(&answers[0]);
        let kept = no_plans.merge(one.clone()).finish(20);
        assert_eq!(cert_key(&kept), cert_key(&one.finish(20)));
        // Rows cut the list too.
        let mut acc = CohortAccumulator::new();
        for (p, w) in &plans {
            acc.add_plans(p, w);
        }
        assert_eq!(cert_key(&acc.finish(1)).len(), 1);
    }

    #[test]
    fn merged_halves_equal_one_pass_and_rows_are_cut() {
        let answers = three_people();
        let mut one = CohortAccumulator::new();
        answers.iter().for_each(|a| one.add(a));
        let mut left = CohortAccumulator::new();
        left.add(&answers[0]);
        let mut right = CohortAccumulator::new();
        right.add(&answers[1]);
        right.add(&answers[2]);
        let (merged, whole) = (left.merge(right).finish(20), one.clone().finish(20));
        // Same rows; probability sums may differ in the last bit with the order of addition.
        let key = |r: &CohortReport| {
            let occ: Vec<_> = r.occupations.iter().map(|o| (o.occupation.code.clone(), o.people)).collect();
            let skills: Vec<_> = r.missing_core_skills.iter().map(|s| (s.code, s.people, s.moves)).collect();
            (r.people, occ, skills)
        };
        assert_eq!(key(&merged), key(&whole));
        for (a, b) in merged.occupations.iter().zip(&whole.occupations) {
            assert!((a.mean_probability - b.mean_probability).abs() < 1e-12);
        }
        let cut = one.finish(1);
        assert_eq!(cut.occupations.len(), 1);
        assert_eq!(cut.missing_core_skills.len(), 1);
    }

    #[test]
    fn distinct_ids_name_the_first_position_of_a_repeated_id() {
        let mut ids = DistinctIds::new();
        assert_eq!(ids.first_seen("A-17", 2), None);
        assert_eq!(ids.first_seen("B", 3), None);
        assert_eq!(ids.first_seen("A-17", 4), Some(2));
        assert_eq!(ids.first_seen("A-17", 9), Some(2), "the first position is kept");
        assert_eq!(ids.first_seen("a-17", 5), None, "ids are exact");
        assert_eq!((ids.first_seen("", 6), ids.first_seen(" ", 7), ids.first_seen("", 8)), (None, None, None));
        assert_eq!(ids.len(), 3);
    }

    #[test]
    fn empty_cohort_has_no_rows() {
        let report = CohortAccumulator::new().finish(10);
        assert_eq!(report.people, 0);
        assert!(report.occupations.is_empty() && report.missing_core_skills.is_empty());
        assert_eq!(report.target_set, None);
    }
}
