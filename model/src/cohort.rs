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
//! Certifications that would unlock the most moves need the training planner (issue #4);
//! [`CohortReport::certifications`] is the extension point it fills once merged and is
//! `None` until then.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::catalogue::ItemKind;
use crate::engine::{OccupationRef, Recommendations};

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

/// A certification that would unlock moves for the cohort (filled by the training planner
/// of issue #4 once merged; see [`CohortReport::certifications`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortCertification {
    /// `code_ogr` of the certification item.
    pub code: u32,
    /// Label (ROME 4.0).
    pub label: String,
    /// Persons with at least one top-k move whose plan includes it.
    pub people: usize,
    /// (person, move) pairs whose plan includes it.
    pub moves: usize,
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
    /// Certifications that would unlock the most moves. Extension point for the training
    /// planner (issue #4): `None` until it is merged; never invented.
    pub certifications: Option<Vec<CohortCertification>>,
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
                    label: s.label.clone(),
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
        CohortReport {
            people: self.people,
            target_set: self.target_set,
            occupations,
            missing_core_skills,
            certifications: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Relevance;
    use crate::engine::{AnchorBasis, Recommendation, SkillRef};

    fn skill(code: u32) -> SkillRef {
        SkillRef { code, label: format!("skill {code}"), kind: ItemKind::SavoirFaire, relevance: Relevance::Core }
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
    fn empty_cohort_has_no_rows() {
        let report = CohortAccumulator::new().finish(10);
        assert_eq!(report.people, 0);
        assert!(report.occupations.is_empty() && report.missing_core_skills.is_empty());
        assert_eq!(report.target_set, None);
    }
}
