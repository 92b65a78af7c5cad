//! Pair features for an ordered pair (profile, target occupation): the one definition used by
//! training, evaluation and serving.
//!
//! A profile is a set of ROME items. Items are weighted by a smoothed inverse document
//! frequency over occupations, `idf(i) = ln((1 + N) / (1 + df(i))) + 1`, where `N` is the
//! number of occupations and `df(i)` how many list item `i` (the scikit-learn convention), so
//! an item shared by few occupations ("Raccorder une fibre optique") weighs more than one
//! shared by hundreds ("Travail en équipe").
//!
//! The features are asymmetric: moving A → B compares how much of B's items A covers, which
//! is not how much of A's items B covers. See [`FEATURE_NAMES`] for the list.

use crate::catalogue::{Catalogue, ItemId, ItemKind, OccupationId, Relevance};
use crate::descriptors::{DescriptorIndex, N_DESCRIPTORS};
use crate::embedding::EmbeddingSet;

/// Number of pair features.
pub const N_FEATURES: usize = 50;

/// Names of the pair features, in vector order. Each is a plain number:
///
/// | # | name | definition (P = profile items, T = target items) | range |
/// |---|---|---|---|
/// | 0 | `cosine_idf` | cosine of idf-weighted binary vectors | 0..1 |
/// | 1 | `target_coverage_idf` | idf mass of P∩T / idf mass of T | 0..1 |
/// | 2 | `target_core_coverage_idf` | same on T's core items (`Principale`) | 0..1 |
/// | 3 | `source_coverage_idf` | idf mass of P∩T / idf mass of P | 0..1 |
/// | 4 | `target_savoir_faire_coverage` | share of T's savoir-faire held | 0..1 |
/// | 5 | `target_savoir_coverage` | share of T's savoirs (non-certification) held | 0..1 |
/// | 6 | `target_certification_coverage` | share of T's certifications held (1 if T lists none) | 0..1 |
/// | 7 | `target_context_coverage` | share of T's work contexts shared | 0..1 |
/// | 8 | `log_neighbour_rank` | ln of T's rank among all occupations by cosine to P | 0..ln N |
/// | 9 | `log_reverse_rank` | ln of P's rank among T's own cosine neighbours | 0..ln N |
/// | 10 | `same_rome_v3_parent` | anchor occupation and T come from the same ROME v3 fiche | 0/1 |
/// | 11 | `same_domaine` | same domaine professionnel (e.g. I13) | 0/1 |
/// | 12 | `same_grand_domaine` | same grand domaine (e.g. I) | 0/1 |
/// | 13 | `log_size_ratio` | ln(\|T\| / \|P\|) | real |
/// | 14 | `neighbour_mobility` | cosine-weighted share of P's 20 nearest occupations (anchor excluded) whose curated mobilities list T | 0..1 |
/// | 15 | `reverse_mobility` | 1 / `numero_ordre` of the anchor in T's own curated mobilities (0 if absent) | 0..1 |
/// | 16 | `log_target_popularity` | ln(1 + how many occupations list T as a mobility), anchor's row excluded | 0..ln N |
/// | 17 | `co_listed` | share of the occupations listing the anchor as a mobility that also list T | 0..1 |
/// | 18 | `near_neighbour_mobility` | as `neighbour_mobility` over the 5 nearest occupations | 0..1 |
/// | 19 | `target_moves_near` | share of T's own curated targets among P's 20 nearest occupations | 0..1 |
/// | 20 | `sibling_mobility` | share of the anchor's siblings (other fiches of its ROME v3 parent) with a visible row whose row lists T | 0..1 |
/// | 21 | `sibling_mobility_order` | max of 1 / `numero_ordre` of T in those siblings' rows (0 if none lists T) | 0..1 |
/// | 22 | `reverse_listed` | 1 if T's own curated mobilities list the anchor | 0/1 |
/// | 23 | `nearest_lister_cosine` | highest cosine between P and a visible source (anchor excluded) whose row lists T | 0..1 |
/// | 24 | `similar_listers` | Σ cos(P, s)³ over visible sources s listing T / Σ cos(P, s)³ over all visible sources (anchor excluded) | 0..1 |
/// | 25 | `two_hop_reverse` | share of T's curated targets whose own row lists the anchor (T → X → anchor) | 0..1 |
/// | 26 | `sibling_family_mobility` | share of the anchor's siblings whose rows list some fiche of T's ROME v3 family | 0..1 |
/// | 27 | `neighbour_family_mobility` | as `neighbour_mobility`, counting a neighbour whose row lists some fiche of T's ROME v3 family | 0..1 |
/// | 28 | `domaine_flow` | share of the visible mobilities from the anchor's domaine professionnel that go to T's, divided by the number of occupations in T's domaine (anchor's row excluded) | 0..1 |
/// | 29 | `target_is_v3_fiche` | T's code is its own ROME v3 parent code (T continues a v3 fiche rather than being split from one) | 0/1 |
/// | 30 | `title_overlap` | Jaccard overlap of the words (4 letters or more, accents removed) of the anchor's and T's titles | 0..1 |
/// | 31 | `neighbour_mobility_order` | as `neighbour_mobility`, each vote weighted by 1 / `numero_ordre` of T in the neighbour's row | 0..1 |
/// | 32 | `wide_neighbour_mobility` | cos²-weighted share of P's 50 nearest occupations (anchor excluded) whose rows list T | 0..1 |
/// | 33 | `similar_targets_voted` | cosine-weighted mean of `neighbour_mobility` over T's 10 nearest occupations | 0..1 |
/// | 34 | `lists_anchor_family` | T's own row lists some fiche of the anchor's ROME v3 family | 0/1 |
/// | 35 | `definition_similarity` | tf-idf cosine of the anchor's and T's definitions (`unix_texte`), 0 below 0.05 | 0..1 |
/// | 36 | `access_similarity` | the same for their access texts (diplomas, experience, licences asked) | 0..1 |
/// | 37 | `title_similarity` | the same for the words of all their appellations (job titles) | 0..1 |
/// | 38 | `sector_overlap` | Jaccard overlap of their sectors of activity | 0..1 |
/// | 39 | `same_main_sector` | they share a main sector of activity (`principal`) | 0/1 |
/// | 40 | `sub_sector_overlap` | Jaccard overlap of their sub-sectors of activity | 0..1 |
/// | 41 | `theme_overlap` | Jaccard overlap of their themes (`unix_arborescence_thematique`) | 0..1 |
/// | 42 | `levels_stated` | both access texts state a diploma level | 0/1 |
/// | 43 | `level_difference` | T's stated level minus the anchor's (midpoints of the stated ranges, French levels 3–8, 2 for "no diploma", an assumption; see [`crate::descriptors::access_levels`]), 0 unless both are stated | −6..6 |
/// | 44 | `level_gap` | absolute value of `level_difference` | 0..6 |
/// | 45 | `target_is_cadre` | T is an executive (*cadre*) occupation: 1, not: 0, unknown: 0.5 | 0..1 |
/// | 46 | `cadre_step_up` | (1 − anchor's cadre value) × T's | 0..1 |
/// | 47 | `cadre_step_down` | anchor's cadre value × (1 − T's) | 0..1 |
/// | 48 | `embedding_log_share` | ln of T's softmax share among all occupations but the anchor under the learned transition embedding ([`crate::embedding`]) | ≤ 0 |
/// | 49 | `embedding_log_rank` | ln of T's rank by that embedding's logit among all occupations but the anchor | 0..ln N |
///
/// Features 14–28, 31–34 and 48–49 use the mobility table through [`MobilityEvidence`],
/// built from the sources whose rows may be seen (the training folds in evaluation, the
/// whole table when serving). The anchor's own rows are never used by them: at training
/// time the anchor is the source whose label is predicted, and at serving time its curated
/// list is reported as separate evidence, not mixed into the model. Features 48–49 come
/// from a learned embedding fitted without the anchor's row ([`EmbeddingSet`]).
///
/// Features 35–47 compare how the ROME describes the anchor and T beyond their items (see
/// [`crate::descriptors`]).
///
/// The anchor occupation is the profile's declared occupation or, when it has none, the
/// occupation nearest to it by cosine.
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "cosine_idf",
    "target_coverage_idf",
    "target_core_coverage_idf",
    "source_coverage_idf",
    "target_savoir_faire_coverage",
    "target_savoir_coverage",
    "target_certification_coverage",
    "target_context_coverage",
    "log_neighbour_rank",
    "log_reverse_rank",
    "same_rome_v3_parent",
    "same_domaine",
    "same_grand_domaine",
    "log_size_ratio",
    "neighbour_mobility",
    "reverse_mobility",
    "log_target_popularity",
    "co_listed",
    "near_neighbour_mobility",
    "target_moves_near",
    "sibling_mobility",
    "sibling_mobility_order",
    "reverse_listed",
    "nearest_lister_cosine",
    "similar_listers",
    "two_hop_reverse",
    "sibling_family_mobility",
    "neighbour_family_mobility",
    "domaine_flow",
    "target_is_v3_fiche",
    "title_overlap",
    "neighbour_mobility_order",
    "wide_neighbour_mobility",
    "similar_targets_voted",
    "lists_anchor_family",
    "definition_similarity",
    "access_similarity",
    "title_similarity",
    "sector_overlap",
    "same_main_sector",
    "sub_sector_overlap",
    "theme_overlap",
    "levels_stated",
    "level_difference",
    "level_gap",
    "target_is_cadre",
    "cadre_step_up",
    "cadre_step_down",
    "embedding_log_share",
    "embedding_log_rank",
];

/// What each feature means, in words an adviser understands (same order as
/// [`FEATURE_NAMES`]), used to explain why a result ranks high.
pub const FEATURE_EXPLANATIONS: [&str; N_FEATURES] = [
    "the two skill profiles are alike overall",
    "the person already has much of what this job asks",
    "the person already has the core skills of this job",
    "much of the person's experience is used in this job",
    "the person already has this job's practical skills (savoir-faire)",
    "the person already has this job's knowledge (savoirs)",
    "the person already holds this job's certifications",
    "the working conditions are alike",
    "this job is among the closest to the person's profile",
    "the person's profile is among the closest to this job",
    "both jobs come from the same ROME v3 family",
    "both jobs are in the same professional domain",
    "both jobs are in the same broad sector",
    "the job asks a similar number of skills",
    "people with similar profiles are oriented towards this job (France Travail mobilities)",
    "people in this job are oriented towards the person's job (France Travail mobilities)",
    "many jobs lead to this one (France Travail mobilities)",
    "jobs that lead to the person's job also lead to this one (France Travail mobilities)",
    "the closest jobs to the person's profile lead to this one (France Travail mobilities)",
    "this job's own moves lead to jobs close to the person's profile",
    "jobs of the same ROME family as the person's job lead to this one (France Travail mobilities)",
    "jobs of the same ROME family list this one among their closest moves (France Travail mobilities)",
    "people in this job are oriented towards the person's job (France Travail mobilities)",
    "a job very close to the person's profile leads to this one (France Travail mobilities)",
    "jobs close to the person's profile lead to this one (France Travail mobilities)",
    "this job leads to jobs that lead back to the person's job (France Travail mobilities)",
    "jobs of the same ROME family as the person's job lead to this job's family (France Travail mobilities)",
    "the closest jobs to the person's profile lead to this job's family (France Travail mobilities)",
    "moves from the person's professional domain often go to this job's domain (France Travail mobilities)",
    "this job is a main ROME fiche rather than a specialisation",
    "the job titles share words",
    "the closest jobs to the person's profile list this one among their first moves (France Travail mobilities)",
    "many jobs close to the person's profile lead to this one (France Travail mobilities)",
    "jobs like this one are where people with similar profiles are oriented (France Travail mobilities)",
    "people in this job are oriented towards the person's ROME family (France Travail mobilities)",
    "the two jobs are described in similar terms",
    "the two jobs are entered with similar diplomas or licences",
    "the two jobs have similar job titles",
    "the two jobs are found in the same sectors of activity",
    "the two jobs share their main sector of activity",
    "the two jobs are found in the same sub-sectors of activity",
    "the two jobs belong to the same themes",
    "both jobs state the diploma level they ask",
    "this job asks a higher diploma level: a step up, as France Travail's lists often propose",
    "the two jobs ask a similar diploma level",
    "this job is an executive (cadre) position",
    "this move is a step up to an executive (cadre) position",
    "this move leaves an executive (cadre) position",
    "people whose skills resemble the person's are oriented towards jobs whose skills resemble this one (France Travail mobilities, learned)",
    "this job is among the first where people with skills like the person's are oriented (France Travail mobilities, learned)",
];

/// The direction in which each feature supports its explanation in
/// [`FEATURE_EXPLANATIONS`]: +1 when a higher value does (overlaps, evidence), −1 when a
/// lower one does (ranks: 1 is the closest), 0 when neither (the size ratio), so an
/// explanation is only shown when the value is on the side of the training mean it states.
pub const FEATURE_DIRECTION: [i8; N_FEATURES] = [
    1, 1, 1, 1, 1, 1, 1, 1, -1, -1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 0, 1, -1, 1, 1, 1, 1, -1,
];

/// How many nearest occupations vote in `neighbour_mobility`.
pub const MOBILITY_NEIGHBOURS: usize = 20;
/// How many nearest occupations vote in `wide_neighbour_mobility`.
pub const WIDE_MOBILITY_NEIGHBOURS: usize = 50;
/// How many of T's nearest occupations `similar_targets_voted` averages over.
pub const TARGET_NEIGHBOURS: usize = 10;
/// How many nearest occupations vote in `near_neighbour_mobility`.
pub const NEAR_MOBILITY_NEIGHBOURS: usize = 5;
/// Number of mobility-evidence features (14–28, 31–34 and 48–49 of [`FEATURE_NAMES`]).
const N_EVIDENCE: usize = 21;
/// Number of those computed from the rows themselves (all but the embedding's two).
const N_ROW_EVIDENCE: usize = 19;

/// The curated mobilities the features may use: the rows of the visible sources only.
#[derive(Debug, Clone)]
pub struct MobilityEvidence {
    /// For each occupation, the targets its (visible) row lists, with their `numero_ordre`.
    out: Rows<(OccupationId, u16)>,
    /// For each occupation, the visible sources that list it, with their `numero_ordre`.
    incoming: Rows<(OccupationId, u16)>,
    /// For each occupation, the other fiches of its ROME v3 parent whose row is visible and
    /// not empty.
    siblings: Vec<Vec<OccupationId>>,
    /// The visible sources with at least one mobility row.
    listers: Vec<OccupationId>,
    /// Dense ROME v3 family (`code_rome_parent`) of each occupation.
    family: Vec<u32>,
    /// Dense domaine professionnel of each occupation.
    domaine: Vec<u32>,
    /// Occupations per domaine.
    domaine_size: Vec<u32>,
    /// `flow[d * n_domaines + e]`: visible mobilities from domaine `d` to domaine `e`.
    flow: Vec<u32>,
    /// The learned transition embeddings fitted on visible rows (features 48–49; zero
    /// without one).
    embeddings: EmbeddingSet,
}

impl MobilityEvidence {
    /// Evidence from the rows of `visible` sources only (others are treated as unknown).
    pub fn new(catalogue: &Catalogue, visible: &[OccupationId]) -> Self {
        let n = catalogue.occupations.len();
        let mut is_visible = vec![false; n];
        for v in visible {
            is_visible[v.0 as usize] = true;
        }
        let mut out = vec![Vec::new(); n];
        let mut incoming = vec![Vec::new(); n];
        for m in &catalogue.mobilities {
            if is_visible[m.source.0 as usize] {
                out[m.source.0 as usize].push((m.target, m.order));
                incoming[m.target.0 as usize].push((m.source, m.order));
            }
        }
        let mut by_parent: std::collections::HashMap<&str, Vec<OccupationId>> = std::collections::HashMap::new();
        for o in catalogue.occupation_ids() {
            if !out[o.0 as usize].is_empty() {
                by_parent.entry(catalogue.occupation(o).rome_v3_parent.as_str()).or_default().push(o);
            }
        }
        let siblings = catalogue
            .occupation_ids()
            .map(|o| {
                by_parent
                    .get(catalogue.occupation(o).rome_v3_parent.as_str())
                    .map(|g| g.iter().copied().filter(|s| *s != o).collect())
                    .unwrap_or_default()
            })
            .collect();
        let listers = catalogue.occupation_ids().filter(|o| !out[o.0 as usize].is_empty()).collect();
        let family = dense_ids(catalogue.occupations.iter().map(|o| o.rome_v3_parent.as_str()));
        let domaine = dense_ids(catalogue.occupations.iter().map(|o| o.domaine.as_str()));
        let n_dom = domaine.iter().max().map_or(0, |m| *m as usize + 1);
        let mut domaine_size = vec![0u32; n_dom];
        for d in &domaine {
            domaine_size[*d as usize] += 1;
        }
        let mut flow = vec![0u32; n_dom * n_dom];
        for (s, row) in out.iter().enumerate() {
            for (t, _) in row {
                flow[domaine[s] as usize * n_dom + domaine[t.0 as usize] as usize] += 1;
            }
        }
        MobilityEvidence {
            out: Rows::from(out),
            incoming: Rows::from(incoming),
            siblings,
            listers,
            family,
            domaine,
            domaine_size,
            flow,
            embeddings: EmbeddingSet::default(),
        }
    }

    /// The same evidence with learned transition embeddings: each must have been fitted on
    /// visible rows only, and a visible source must get one fitted without its own row
    /// (see [`EmbeddingSet::fit_cross`]).
    pub fn with_embeddings(mut self, embeddings: EmbeddingSet) -> Self {
        self.embeddings = embeddings;
        self
    }

    /// The learned transition embeddings (empty unless [`with_embeddings`](Self::with_embeddings)).
    pub fn embeddings(&self) -> &EmbeddingSet {
        &self.embeddings
    }

    /// Evidence from the whole table (serving).
    pub fn all(catalogue: &Catalogue) -> Self {
        let all: Vec<OccupationId> = catalogue.occupation_ids().collect();
        Self::new(catalogue, &all)
    }
}

/// One list per occupation stored back to back (compressed rows), so a pass over every
/// occupation's list reads memory in order; `rows[i]` is occupation `i`'s list.
#[derive(Debug, Clone)]
pub(crate) struct Rows<T> {
    /// `start[i]..start[i + 1]` is row `i` in `data`.
    start: Vec<usize>,
    data: Vec<T>,
}

impl<T> From<Vec<Vec<T>>> for Rows<T> {
    fn from(rows: Vec<Vec<T>>) -> Self {
        let mut start = Vec::with_capacity(rows.len() + 1);
        start.push(0);
        let mut data = Vec::with_capacity(rows.iter().map(Vec::len).sum());
        for row in rows {
            data.extend(row);
            start.push(data.len());
        }
        Rows { start, data }
    }
}

impl<T> Rows<T> {
    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }
}

impl<T> std::ops::Index<usize> for Rows<T> {
    type Output = [T];

    fn index(&self, i: usize) -> &[T] {
        &self.data[self.start[i]..self.start[i + 1]]
    }
}

/// Dense ids of string keys, in order of first appearance.
fn dense_ids<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<u32> {
    let mut ids: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    keys.map(|k| {
        let next = ids.len() as u32;
        *ids.entry(k).or_insert(next)
    })
    .collect()
}

/// A feature vector, in [`FEATURE_NAMES`] order.
pub type Features = [f64; N_FEATURES];

/// Per-occupation sums that features divide by.
#[derive(Debug, Clone)]
struct OccupationStats {
    sum_idf: f64,
    norm: f64,
    core_sum_idf: f64,
    kind_counts: [u32; 5],
    n_items: u32,
}

/// Item weights, per-occupation sums and each occupation's sorted cosine neighbourhood,
/// computed once from a [`Catalogue`] (about 0.3 s for ROME v460 in release).
#[derive(Debug, Clone)]
pub struct FeatureIndex {
    idf: Vec<f64>,
    stats: Vec<OccupationStats>,
    /// For each occupation, its cosines to every other occupation, sorted descending.
    neighbour_cosines: Vec<SortedDescending>,
    /// For each occupation, its sorted neighbour cosines at the positions
    /// [`REVERSE_SKETCH_AT`] (`−∞` past the end), one row of [`REVERSE_SKETCH_AT`]`.len()`
    /// values per occupation: 140 KB for ROME v460, so it stays in cache while a request
    /// bounds the reverse rank of every occupation.
    reverse_sketch: Vec<f32>,
    /// `ln_int[k] = ln k` for `k` in `0..=occupations + 1` (ranks and counts), so the
    /// features take a table lookup instead of a logarithm; bit-identical to `(k as f64).ln()`.
    ln_int: Vec<f64>,
    /// The largest number of items of an occupation.
    max_items: u32,
    /// For each occupation, its [`TARGET_NEIGHBOURS`] nearest occupations with their cosines.
    nearest_occupations: Rows<(u32, f64)>,
    /// For each occupation, its place in the hierarchy as dense ids.
    hierarchy: Vec<Hierarchy>,
    /// Members of each ROME v3 family, domaine and grand domaine (rows by dense id), so the
    /// hierarchy flags of one anchor against every occupation are a few short lists.
    family_members: Rows<u32>,
    domaine_members: Rows<u32>,
    grand_domaine_members: Rows<u32>,
    /// For each occupation, every occupation whose title shares a word with its own and the
    /// `title_overlap` (Jaccard) of the two: the feature is 0 for every other pair.
    title_overlap: Rows<(u32, f64)>,
    /// `ln(max(items, 1))` of each occupation (the target's part of `log_size_ratio`).
    ln_items: Vec<f64>,
    /// For each item, the occupations that list it and whether it is core for them.
    postings: Vec<Vec<(u32, bool)>>,
    /// For each item, [`ItemKind::index`] of its kind.
    item_kind: Vec<u8>,
    /// What describes each occupation beyond its items (features 35–47).
    descriptors: DescriptorIndex,
}

/// An occupation's ROME v3 family, domaine and grand domaine as dense ids (compared per
/// pair on the request path, so integers rather than strings).
#[derive(Debug, Clone, Copy)]
struct Hierarchy {
    family: u32,
    domaine: u32,
    grand_domaine: u32,
    /// The occupation's code is its ROME v3 parent's code.
    is_v3_fiche: bool,
}

/// The words of an occupation title used by `title_overlap`: lower case, accents removed,
/// 4 letters or more (drops "de", "des", "en", "et"), sorted and without duplicates.
pub fn title_words(title: &str) -> Vec<String> {
    let plain = deunicode::deunicode(title).to_lowercase();
    let mut words: Vec<String> =
        plain.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| w.len() >= 4).map(str::to_string).collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// Size of the intersection of two sorted lists without duplicates.
pub(crate) fn sorted_common<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common
}

/// Jaccard overlap of two sorted lists without duplicates (0 when both are empty).
fn jaccard<T: Ord>(a: &[T], b: &[T]) -> f64 {
    let common = sorted_common(a, b);
    let union = a.len() + b.len() - common;
    if union == 0 {
        0.0
    } else {
        common as f64 / union as f64
    }
}

/// For each occupation, the occupations whose title words (sorted ids) share at least one
/// with its own, with the [`jaccard`] overlap of the two lists, in occupation order.
fn title_overlaps(words: &Rows<u32>) -> Rows<(u32, f64)> {
    let n = words.len();
    let n_words = (0..n).flat_map(|t| words[t].iter()).max().map_or(0, |w| *w as usize + 1);
    let mut holders = vec![Vec::new(); n_words];
    for t in 0..n {
        for &w in &words[t] {
            holders[w as usize].push(t as u32);
        }
    }
    let mut seen = vec![usize::MAX; n];
    let rows: Vec<Vec<(u32, f64)>> = (0..n)
        .map(|a| {
            let mut row: Vec<u32> = Vec::new();
            for &w in &words[a] {
                for &t in &holders[w as usize] {
                    if seen[t as usize] != a {
                        seen[t as usize] = a;
                        row.push(t);
                    }
                }
            }
            row.sort_unstable();
            row.into_iter().map(|t| (t, jaccard(&words[a], &words[t as usize]))).collect()
        })
        .collect();
    Rows::from(rows)
}

/// A profile ready for scoring: a set of items (as a bitset over [`ItemId`]) and its sums.
#[derive(Debug, Clone)]
pub struct ProfileVector {
    items: Vec<ItemId>,
    bits: Vec<u64>,
    sum_idf: f64,
    norm: f64,
}

impl ProfileVector {
    /// Builds the vector of a set of items (duplicates are ignored).
    pub fn new(index: &FeatureIndex, items: &[ItemId]) -> Self {
        let mut items = items.to_vec();
        items.sort_unstable();
        items.dedup();
        let mut bits = vec![0u64; index.idf.len().div_ceil(64)];
        let (mut sum_idf, mut sq) = (0.0, 0.0);
        for &i in &items {
            bits[i.0 as usize / 64] |= 1 << (i.0 % 64);
            let w = index.idf[i.0 as usize];
            sum_idf += w;
            sq += w * w;
        }
        ProfileVector { items, bits, sum_idf, norm: sq.sqrt() }
    }

    /// The profile's items, sorted, without duplicates.
    pub fn items(&self) -> &[ItemId] {
        &self.items
    }

    /// Whether the profile holds `item`.
    pub fn contains(&self, item: ItemId) -> bool {
        self.bits.get(item.0 as usize / 64).is_some_and(|w| w & (1 << (item.0 % 64)) != 0)
    }
}

/// Overlap sums of one (profile, target) pair.
#[derive(Debug, Clone, Copy, Default)]
struct Overlap {
    dot: f64,
    idf: f64,
    core_idf: f64,
    kind_counts: [u32; 5],
}

/// Everything the features of one profile need about every occupation: the overlaps and
/// cosines with all of them and the profile's anchor. Computed once per profile; then
/// [`ProfileScan::features`] is O(1) per target.
#[derive(Debug, Clone)]
pub struct ProfileScan {
    overlaps: Vec<Overlap>,
    /// The occupations with a nonzero overlap (every other one has zero coverages and cosine).
    touched: Vec<u32>,
    cosines: Vec<f64>,
    /// For each occupation, how many occupations but the anchor have a strictly higher
    /// cosine with the profile (its neighbour rank minus one).
    above: Vec<u32>,
    anchor: OccupationId,
    profile_sum_idf: f64,
    profile_len: usize,
    /// `size_ratios[k]` = `ln(max(k, 1) / profile_len)` for every item count `k` up to the
    /// largest occupation's (the `log_size_ratio` feature, one logarithm per distinct size).
    size_ratios: Vec<f64>,
    /// Mobility-evidence features (14–28, 31–34, 48–49), one column per feature, indexed by
    /// occupation: small vectors the allocator reuses, read in step by the features.
    evidence: [Vec<f64>; N_EVIDENCE],
}

impl FeatureIndex {
    /// Computes idf weights, sums and neighbourhoods for `catalogue`.
    pub fn new(catalogue: &Catalogue) -> Self {
        let n_occ = catalogue.occupations.len();
        let mut df = vec![0u32; catalogue.items.len()];
        for occ in &catalogue.occupations {
            for link in &occ.items {
                df[link.item.0 as usize] += 1;
            }
        }
        let idf: Vec<f64> = df.iter().map(|&d| ((1.0 + n_occ as f64) / (1.0 + f64::from(d))).ln() + 1.0).collect();
        let stats = catalogue
            .occupations
            .iter()
            .map(|occ| {
                let mut s = OccupationStats {
                    sum_idf: 0.0,
                    norm: 0.0,
                    core_sum_idf: 0.0,
                    kind_counts: [0; 5],
                    n_items: occ.items.len() as u32,
                };
                for link in &occ.items {
                    let w = idf[link.item.0 as usize];
                    s.sum_idf += w;
                    s.norm += w * w;
                    if link.relevance == Relevance::Core {
                        s.core_sum_idf += w;
                    }
                    s.kind_counts[catalogue.item(link.item).kind.index()] += 1;
                }
                s.norm = s.norm.sqrt();
                s
            })
            .collect();
        let mut word_ids: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        let title_words: Rows<u32> = catalogue
            .occupations
            .iter()
            .map(|o| {
                let mut ids: Vec<u32> = title_words(&o.label)
                    .into_iter()
                    .map(|w| {
                        let next = word_ids.len() as u32;
                        *word_ids.entry(w).or_insert(next)
                    })
                    .collect();
                ids.sort_unstable();
                ids
            })
            .collect::<Vec<Vec<u32>>>()
            .into();
        let family = dense_ids(catalogue.occupations.iter().map(|o| o.rome_v3_parent.as_str()));
        let domaine = dense_ids(catalogue.occupations.iter().map(|o| o.domaine.as_str()));
        let grand_domaine = dense_ids(catalogue.occupations.iter().map(|o| o.grand_domaine.as_str()));
        let members = |ids: &[u32]| -> Rows<u32> {
            let mut rows = vec![Vec::new(); ids.iter().max().map_or(0, |m| *m as usize + 1)];
            for (t, &id) in ids.iter().enumerate() {
                rows[id as usize].push(t as u32);
            }
            Rows::from(rows)
        };
        let (family_members, domaine_members, grand_domaine_members) =
            (members(&family), members(&domaine), members(&grand_domaine));
        let title_overlap = title_overlaps(&title_words);
        let hierarchy = catalogue
            .occupations
            .iter()
            .enumerate()
            .map(|(i, o)| Hierarchy {
                family: family[i],
                domaine: domaine[i],
                grand_domaine: grand_domaine[i],
                is_v3_fiche: o.code == o.rome_v3_parent,
            })
            .collect();
        let mut postings = vec![Vec::new(); catalogue.items.len()];
        for (t, occ) in catalogue.occupations.iter().enumerate() {
            for link in &occ.items {
                postings[link.item.0 as usize].push((t as u32, link.relevance == Relevance::Core));
            }
        }
        let item_kind = catalogue.items.iter().map(|i| i.kind.index() as u8).collect();
        let mut index = FeatureIndex {
            descriptors: DescriptorIndex::new(catalogue),
            postings,
            item_kind,
            idf,
            stats,
            neighbour_cosines: Vec::new(),
            reverse_sketch: Vec::new(),
            ln_int: (0..=n_occ + 1).map(|k| (k as f64).ln()).collect(),
            max_items: catalogue.occupations.iter().map(|o| o.items.len() as u32).max().unwrap_or(0),
            nearest_occupations: Rows::from(Vec::new()),
            hierarchy,
            family_members,
            domaine_members,
            grand_domaine_members,
            title_overlap,
            ln_items: catalogue.occupations.iter().map(|o| f64::from(o.items.len().max(1) as u32).ln()).collect(),
        };
        let mut nearest_occupations = Vec::with_capacity(n_occ);
        let neighbour_cosines: Vec<SortedDescending> = catalogue
            .occupation_ids()
            .map(|o| {
                let items: Vec<ItemId> = catalogue.occupation(o).items.iter().map(|l| l.item).collect();
                let p = ProfileVector::new(&index, &items);
                let (overlaps, _) = index.overlaps(&p);
                let all: Vec<f64> = catalogue
                    .occupation_ids()
                    .map(|t| if t == o { 0.0 } else { index.cosine(&overlaps[t.0 as usize], &p, t) })
                    .collect();
                nearest_occupations
                    .push(nearest(&all, o, TARGET_NEIGHBOURS).into_iter().map(|t| (t as u32, all[t])).collect());
                let cos: Vec<f32> =
                    all.iter().enumerate().filter(|(t, _)| *t != o.0 as usize).map(|(_, c)| *c as f32).collect();
                SortedDescending::new(cos)
            })
            .collect();
        index.reverse_sketch = neighbour_cosines
            .iter()
            .flat_map(|n: &SortedDescending| {
                REVERSE_SKETCH_AT.iter().map(|&at| n.values.get(at).copied().unwrap_or(f32::NEG_INFINITY))
            })
            .collect();
        index.neighbour_cosines = neighbour_cosines;
        index.nearest_occupations = Rows::from(nearest_occupations);
        index
    }

    /// The idf weight of an item (≥ 1).
    pub fn idf(&self, item: ItemId) -> f64 {
        self.idf[item.0 as usize]
    }

    /// `ln k` from the table (`k` ≤ occupations + 1), else computed.
    fn ln_int(&self, k: usize) -> f64 {
        self.ln_int.get(k).copied().unwrap_or_else(|| (k as f64).ln())
    }

    /// Bounds `(lo, hi)` on how many of `t`'s neighbour cosines are strictly above `x`
    /// (what `log_reverse_rank` counts), from `t`'s row of the sketch: a handful of cached
    /// comparisons instead of a bisection of its 1,583 cosines.
    fn reverse_count_bounds(&self, t: usize, x: f32) -> (usize, usize) {
        let n = REVERSE_SKETCH_AT.len();
        let len = self.neighbour_cosines[t].values.len();
        let row = &self.reverse_sketch[t * n..(t + 1) * n];
        // The row is descending, so the entries above x are a prefix.
        let above = row.partition_point(|&v| v > x);
        let lo = if above == 0 { 0 } else { REVERSE_SKETCH_AT[above - 1] + 1 };
        let hi = REVERSE_SKETCH_AT.get(above).map_or(len, |&at| at.min(len));
        (lo.min(len), hi.max(lo.min(len)))
    }

    /// The overlap of `p` with every occupation, from the postings of the profile's items
    /// only (a few thousand updates instead of a pass over all 104,219 links), and the
    /// occupations it touches (a nonzero overlap), in order of first touch. Sums run in
    /// the profile's item order.
    fn overlaps(&self, p: &ProfileVector) -> (Vec<Overlap>, Vec<u32>) {
        let mut out = vec![Overlap::default(); self.stats.len()];
        let mut touched = Vec::new();
        for &i in &p.items {
            let Some(postings) = self.postings.get(i.0 as usize) else { continue };
            let w = self.idf[i.0 as usize];
            let kind = self.item_kind[i.0 as usize] as usize;
            for &(t, core) in postings {
                let o = &mut out[t as usize];
                // idf weights are ≥ 1, so a zero sum means a first touch.
                if o.idf == 0.0 {
                    touched.push(t);
                }
                o.dot += w * w;
                o.idf += w;
                if core {
                    o.core_idf += w;
                }
                o.kind_counts[kind] += 1;
            }
        }
        (out, touched)
    }

    fn cosine(&self, o: &Overlap, p: &ProfileVector, t: OccupationId) -> f64 {
        let denom = p.norm * self.stats[t.0 as usize].norm;
        if denom > 0.0 {
            (o.dot / denom).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// Scans a profile against every occupation. `declared` is the profile's own occupation
    /// if known; otherwise the anchor is the nearest occupation by cosine.
    pub fn scan(
        &self,
        _catalogue: &Catalogue,
        evidence: &MobilityEvidence,
        p: &ProfileVector,
        declared: Option<OccupationId>,
    ) -> ProfileScan {
        let (overlaps, touched) = self.overlaps(p);
        let mut cosines = vec![0.0; overlaps.len()];
        for &t in &touched {
            cosines[t as usize] = self.cosine(&overlaps[t as usize], p, OccupationId(t));
        }
        let anchor = declared.unwrap_or_else(|| {
            let best =
                cosines.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0))).map_or(0, |(i, _)| i);
            OccupationId(best as u32)
        });
        let above = counts_above(&cosines, anchor);
        let rows = mobility_evidence(evidence, &self.nearest_occupations, &cosines, &touched, anchor, &self.ln_int);
        let (log_share, log_rank) = match evidence.embeddings.for_anchor(anchor) {
            Some(e) => {
                let scan = e.scan(&p.items, anchor);
                (scan.log_share, scan.log_rank)
            }
            None => (vec![0.0; cosines.len()], vec![0.0; cosines.len()]),
        };
        let mut learned = [log_share, log_rank].into_iter();
        let mut rows = rows.into_iter();
        let evidence_features: [Vec<f64>; N_EVIDENCE] =
            std::array::from_fn(|_| rows.next().or_else(|| learned.next()).unwrap_or_default());
        ProfileScan {
            overlaps,
            touched,
            cosines,
            above,
            anchor,
            profile_sum_idf: p.sum_idf,
            profile_len: p.items.len(),
            size_ratios: (0..=self.max_items)
                .map(|k| (f64::from(k.max(1)) / p.items.len().max(1) as f64).ln())
                .collect(),
            evidence: evidence_features,
        }
    }
}

/// For each occupation `t`, how many occupations other than `anchor` have a cosine strictly
/// above `t`'s. The positive cosines go through a counting sort into [`RANK_BUCKETS`]
/// buckets of their square root (monotone: a higher bucket means a higher cosine), then a search inside `t`'s own
/// bucket, sorted: linear time instead of a comparison sort of 1,583 values. A zero cosine
/// (every occupation the profile does not touch) is below every positive one.
fn counts_above(cosines: &[f64], anchor: OccupationId) -> Vec<u32> {
    let a = anchor.0 as usize;
    // By the square root, monotone like the cosine itself: the many small cosines (shared
    // savoir-être items) spread over more buckets.
    let bucket = |c: f64| ((c.sqrt() * RANK_BUCKETS as f64) as usize).min(RANK_BUCKETS - 1);
    // start[b]..start[b + 1]: the others' positive cosines in bucket b.
    let mut start = vec![0u32; RANK_BUCKETS + 1];
    for (i, &c) in cosines.iter().enumerate() {
        if i != a && c > 0.0 {
            start[bucket(c) + 1] += 1;
        }
    }
    for b in 0..RANK_BUCKETS {
        start[b + 1] += start[b];
    }
    let positive = start[RANK_BUCKETS];
    let mut fill = start.clone();
    let mut values = vec![0.0f64; positive as usize];
    for (i, &c) in cosines.iter().enumerate() {
        if i != a && c > 0.0 {
            let b = bucket(c);
            values[fill[b] as usize] = c;
            fill[b] += 1;
        }
    }
    // A bucket of a few values is counted by a scan at query time; a larger one is sorted
    // once and bisected.
    for b in 0..RANK_BUCKETS {
        let (lo, hi) = (start[b] as usize, start[b + 1] as usize);
        if hi - lo > SCAN_BUCKET {
            values[lo..hi].sort_unstable_by(|x, y| y.total_cmp(x));
        }
    }
    cosines
        .iter()
        .map(|&c| {
            if c > 0.0 {
                let b = bucket(c);
                let within = &values[start[b] as usize..start[b + 1] as usize];
                let above_within = if within.len() > SCAN_BUCKET {
                    within.partition_point(|v| *v > c)
                } else {
                    within.iter().filter(|v| **v > c).count()
                };
                positive - start[b + 1] + above_within as u32
            } else {
                positive
            }
        })
        .collect()
}

/// Largest bucket of `counts_above` counted by a scan rather than sorted.
const SCAN_BUCKET: usize = 8;

/// Buckets of the cosine used by `counts_above`.
const RANK_BUCKETS: usize = 1024;

/// The `k` occupations nearest by cosine, anchor excluded, nearest first (ties by id).
fn nearest(cosines: &[f64], anchor: OccupationId, k: usize) -> Vec<usize> {
    nearest_among(cosines, anchor, k, None)
}

/// [`nearest`], given the occupations with a positive cosine (`touched`, any order; every
/// other has cosine 0): when at least `k` of them are not the anchor, the `k` nearest are
/// among them, and only they are searched.
fn nearest_among(cosines: &[f64], anchor: OccupationId, k: usize, touched: Option<&[u32]>) -> Vec<usize> {
    let a = anchor.0 as usize;
    let mut order: Vec<usize> = Vec::with_capacity(cosines.len());
    match touched {
        Some(touched) if touched.iter().filter(|&&t| t as usize != a).count() >= k => {
            order.extend(touched.iter().map(|&t| t as usize).filter(|&i| i != a));
        }
        _ => order.extend((0..cosines.len()).filter(|&i| i != a)),
    }
    let by_cosine = |x: &usize, y: &usize| cosines[*y].total_cmp(&cosines[*x]).then(x.cmp(y));
    if k < order.len() {
        if k > 0 {
            order.select_nth_unstable_by(k - 1, by_cosine);
        }
        order.truncate(k);
    }
    order.sort_unstable_by(by_cosine);
    order
}

/// Cosine-weighted share of `neighbours` whose visible row lists each occupation.
fn neighbour_votes(evidence: &MobilityEvidence, cosines: &[f64], neighbours: &[usize]) -> Vec<f64> {
    let mut votes = vec![0.0; cosines.len()];
    let weight: f64 = neighbours.iter().map(|&s| cosines[s]).sum();
    if weight > 0.0 {
        for &s in neighbours {
            for (t, _) in &evidence.out[s] {
                votes[t.0 as usize] += cosines[s] / weight;
            }
        }
    }
    votes
}

/// Features 14–28 and 31–34 for every occupation (see [`FEATURE_NAMES`]); the anchor's own row is
/// never read.
fn mobility_evidence(
    evidence: &MobilityEvidence,
    nearest_occupations: &Rows<(u32, f64)>,
    cosines: &[f64],
    touched: &[u32],
    anchor: OccupationId,
    ln_int: &[f64],
) -> [Vec<f64>; N_ROW_EVIDENCE] {
    let n = cosines.len();
    let a = anchor.0 as usize;
    // The 20 nearest are the first 20 of the 50 nearest (same order, same ties).
    let near50 = nearest_among(cosines, anchor, WIDE_MOBILITY_NEIGHBOURS.max(MOBILITY_NEIGHBOURS), Some(touched));
    let near20: Vec<usize> = near50.iter().copied().take(MOBILITY_NEIGHBOURS).collect();
    let near50 = &near50[..WIDE_MOBILITY_NEIGHBOURS.min(near50.len())];
    let votes20 = neighbour_votes(evidence, cosines, &near20);
    let votes5 = neighbour_votes(evidence, cosines, &near20[..NEAR_MOBILITY_NEIGHBOURS.min(near20.len())]);
    let mut reverse = vec![0.0; n];
    for &(s, order) in &evidence.incoming[a] {
        reverse[s.0 as usize] = 1.0 / f64::from(order.max(1));
    }
    let mut co_listed = vec![0.0; n];
    let listers = &evidence.incoming[a];
    for &(s, _) in listers {
        for (t, _) in &evidence.out[s.0 as usize] {
            co_listed[t.0 as usize] += 1.0 / listers.len() as f64;
        }
    }
    // Siblings of the anchor (same ROME v3 parent) and what their rows list.
    let mut sibling = vec![0.0; n];
    let mut sibling_order = vec![0.0f64; n];
    let sibs = &evidence.siblings[a];
    for s in sibs {
        for &(t, order) in &evidence.out[s.0 as usize] {
            sibling[t.0 as usize] += 1.0 / sibs.len() as f64;
            sibling_order[t.0 as usize] = sibling_order[t.0 as usize].max(1.0 / f64::from(order.max(1)));
        }
    }
    // Every visible source but the anchor, weighted by its similarity to the profile.
    let mut nearest_lister = vec![0.0f64; n];
    let mut kernel = vec![0.0; n];
    let mut kernel_total = 0.0;
    for s in &evidence.listers {
        let si = s.0 as usize;
        let c = cosines[si];
        // A lister with a zero cosine adds nothing (0 to the kernel, 0 to a maximum of
        // non-negative cosines): skipping it is exact.
        if si == a || c == 0.0 {
            continue;
        }
        let w = c * c * c;
        kernel_total += w;
        for (t, _) in &evidence.out[si] {
            let ti = t.0 as usize;
            nearest_lister[ti] = nearest_lister[ti].max(c);
            kernel[ti] += w;
        }
    }
    if kernel_total > 0.0 {
        for k in &mut kernel {
            *k /= kernel_total;
        }
    }
    // ROME v3 families listed by the anchor's siblings and by its nearest occupations.
    let n_fam = evidence.family.iter().max().map_or(0, |m| *m as usize + 1);
    let mut sibling_family = vec![0.0; n_fam];
    let mut neighbour_family = vec![0.0; n_fam];
    let mut seen = vec![usize::MAX; n_fam];
    for (k, s) in sibs.iter().enumerate() {
        for (t, _) in &evidence.out[s.0 as usize] {
            let f = evidence.family[t.0 as usize] as usize;
            if seen[f] != k {
                seen[f] = k;
                sibling_family[f] += 1.0 / sibs.len() as f64;
            }
        }
    }
    let near_weight: f64 = near20.iter().map(|&s| cosines[s]).sum();
    seen.fill(usize::MAX);
    if near_weight > 0.0 {
        for &s in &near20 {
            for (t, _) in &evidence.out[s] {
                let f = evidence.family[t.0 as usize] as usize;
                if seen[f] != s {
                    seen[f] = s;
                    neighbour_family[f] += cosines[s] / near_weight;
                }
            }
        }
    }
    // Mobilities from the anchor's domaine, its own row excluded.
    let n_dom = evidence.domaine_size.len();
    let da = evidence.domaine[a] as usize;
    let mut from_domaine: Vec<f64> =
        evidence.flow[da * n_dom..(da + 1) * n_dom].iter().map(|c| f64::from(*c)).collect();
    for (t, _) in &evidence.out[a] {
        from_domaine[evidence.domaine[t.0 as usize] as usize] -= 1.0;
    }
    let from_total: f64 = from_domaine.iter().sum();
    // Votes weighted by the target's position in the neighbour's row; a wider, cos²-weighted vote.
    let mut order_votes = vec![0.0; n];
    if near_weight > 0.0 {
        for &s in &near20 {
            for &(t, order) in &evidence.out[s] {
                order_votes[t.0 as usize] += cosines[s] / near_weight / f64::from(order.max(1));
            }
        }
    }
    let mut wide = vec![0.0; n];
    let wide_weight: f64 = near50.iter().map(|&s| cosines[s] * cosines[s]).sum();
    if wide_weight > 0.0 {
        for &s in near50 {
            for (t, _) in &evidence.out[s] {
                wide[t.0 as usize] += cosines[s] * cosines[s] / wide_weight;
            }
        }
    }
    let anchor_family = evidence.family[a];
    // Per-target counts over each target's own row, pushed from the (few) occupations they
    // look for rather than pulled from all 14,912 row entries: how many of t's targets are
    // among the profile's nearest, list the anchor, or belong to the anchor's family. The
    // anchor's own row is never read, even when the anchor is the candidate.
    let mut near_hits = vec![0u32; n];
    for &o in &near20 {
        for &(s, _) in &evidence.incoming[o] {
            near_hits[s.0 as usize] += 1;
        }
    }
    let mut anchor_hits = vec![0u32; n];
    for &(o, _) in listers {
        for &(s, _) in &evidence.incoming[o.0 as usize] {
            anchor_hits[s.0 as usize] += 1;
        }
    }
    let mut family_hits = vec![false; n];
    for (o, f) in evidence.family.iter().enumerate() {
        if *f == anchor_family {
            for &(s, _) in &evidence.incoming[o] {
                family_hits[s.0 as usize] = true;
            }
        }
    }
    // How many visible rows list t, the anchor's excluded.
    let mut listed_by: Vec<usize> = (0..n).map(|t| evidence.incoming[t].len()).collect();
    for &(t, _) in &evidence.out[a] {
        listed_by[t.0 as usize] = listed_by[t.0 as usize].saturating_sub(1);
    }
    let flow_of: Vec<f64> = (0..n_dom)
        .map(|d| {
            if from_total > 0.0 {
                from_domaine[d] / from_total / f64::from(evidence.domaine_size[d].max(1))
            } else {
                0.0
            }
        })
        .collect();
    let mut pulled: [Vec<f64>; 8] = std::array::from_fn(|_| vec![0.0; n]);
    let [moves_near, two_hop, listed, sibling_fam, neighbour_fam, flow, similar_voted, lists_family] = &mut pulled;
    for t in 0..n {
        let out_len = if t == a { 0 } else { evidence.out[t].len() };
        if out_len > 0 {
            moves_near[t] = near_hits[t] as f64 / out_len as f64;
            two_hop[t] = anchor_hits[t] as f64 / out_len as f64;
            if family_hits[t] {
                lists_family[t] = 1.0;
            }
        }
        listed[t] = ln_int.get(1 + listed_by[t]).copied().unwrap_or_else(|| (1.0 + listed_by[t] as f64).ln());
        sibling_fam[t] = sibling_family[evidence.family[t] as usize];
        neighbour_fam[t] = neighbour_family[evidence.family[t] as usize];
        flow[t] = flow_of[evidence.domaine[t] as usize];
        let near = &nearest_occupations[t];
        let w: f64 = near.iter().map(|(_, c)| c).sum();
        if w > 0.0 {
            similar_voted[t] = near.iter().map(|(o, c)| c * votes20[*o as usize]).sum::<f64>() / w;
        }
    }
    let reverse_flag: Vec<f64> = reverse.iter().map(|r| if *r > 0.0 { 1.0 } else { 0.0 }).collect();
    let [moves_near, two_hop, listed, sibling_fam, neighbour_fam, flow, similar_voted, lists_family] = pulled;
    [
        votes20,
        reverse,
        listed,
        co_listed,
        votes5,
        moves_near,
        sibling,
        sibling_order,
        reverse_flag,
        nearest_lister,
        kernel,
        two_hop,
        sibling_fam,
        neighbour_fam,
        flow,
        order_votes,
        wide,
        similar_voted,
        lists_family,
    ]
}

/// Values sorted in descending order with a sparse sketch (every 32nd value), so counting
/// the values above a threshold touches a few cache lines instead of one per bisection
/// step of a 1,583-value array.
#[derive(Debug, Clone)]
struct SortedDescending<T = f32> {
    values: Vec<T>,
    sketch: Vec<T>,
}

/// Distance between sketch entries.
const SKETCH_STRIDE: usize = 32;

/// Index of `log_reverse_rank` in [`FEATURE_NAMES`].
pub const LOG_REVERSE_RANK: usize = 9;
/// Index of `cosine_idf` in [`FEATURE_NAMES`].
pub const COSINE_IDF: usize = 0;
/// Index of `log_neighbour_rank` in [`FEATURE_NAMES`].
pub const LOG_NEIGHBOUR_RANK: usize = 8;

/// Positions of an occupation's descending neighbour cosines kept in the reverse-rank
/// sketch: about √2 apart, so a sketch bound on `ln(1 + count)` is within about 0.35 of
/// the exact value once the count passes a few units (exact below 4).
const REVERSE_SKETCH_AT: [usize; 22] =
    [0, 1, 2, 3, 5, 7, 11, 15, 22, 31, 45, 63, 90, 127, 180, 255, 361, 511, 723, 1023, 1447, 2047];

impl<T: Copy + PartialOrd> SortedDescending<T> {
    fn new(mut values: Vec<T>) -> Self {
        values.sort_unstable_by(|a, b| b.partial_cmp(a).unwrap_or(std::cmp::Ordering::Equal));
        let sketch = values.iter().step_by(SKETCH_STRIDE).copied().collect();
        SortedDescending { values, sketch }
    }

    /// How many values are strictly greater than `x`.
    fn count_above(&self, x: T) -> usize {
        let blocks = self.sketch.partition_point(|&c| c > x);
        if blocks == 0 {
            return 0;
        }
        let start = (blocks - 1) * SKETCH_STRIDE;
        let end = (blocks * SKETCH_STRIDE).min(self.values.len());
        start + self.values[start..end].partition_point(|&c| c > x)
    }
}

/// The `title_overlap` feature of the pair (`anchor`, `t`), from the anchor's row.
fn title_overlap(index: &FeatureIndex, anchor: usize, t: usize) -> f64 {
    let row = &index.title_overlap[anchor];
    row.binary_search_by_key(&(t as u32), |(o, _)| *o).map_or(0.0, |i| row[i].1)
}

/// Share `held / total`, or `empty` when the target lists nothing of that kind.
fn share(held: u32, total: u32, empty: f64) -> f64 {
    if total == 0 {
        empty
    } else {
        f64::from(held) / f64::from(total)
    }
}

impl ProfileScan {
    /// The profile's anchor occupation (declared, or nearest by cosine).
    pub fn anchor(&self) -> OccupationId {
        self.anchor
    }

    /// Cosine of the profile with occupation `t` (the IDF-cosine baseline score), in 0..1.
    pub fn cosine(&self, t: OccupationId) -> f64 {
        self.cosines[t.0 as usize]
    }

    /// The feature vector of the pair (profile, `t`), in [`FEATURE_NAMES`] order.
    pub fn features(&self, index: &FeatureIndex, _catalogue: &Catalogue, t: OccupationId) -> Features {
        let ti = t.0 as usize;
        let mut x = self.features_but_reverse(index, t);
        // 1 + how many occupations are closer to T than the profile is. A profile made of
        // exactly an occupation's items ties with that occupation's own entry: not counted.
        let reverse = 1 + index.neighbour_cosines[ti].count_above(self.cosines[ti] as f32);
        x[LOG_REVERSE_RANK] = index.ln_int(reverse);
        x
    }

    /// Bounds on the first-stage logit `bias + Σ w_j x_j` of every occupation (indexed by
    /// [`OccupationId`]; the anchor's entry is computed like the others): every feature is
    /// exact but `log_reverse_rank`, bounded from the sketch. `lo[t] ≤ logit ≤ hi[t]` up to
    /// the rounding of a different order of summation (the caller widens the bounds). A
    /// fraction of the cost of [`features`](Self::features) for every occupation: the
    /// evidence features are added column by column (vectorised), and no occupation's
    /// 1,583 neighbour cosines are bisected.
    pub fn logit_bounds(&self, index: &FeatureIndex, bias: f64, w: &Features) -> (Vec<f64>, Vec<f64>) {
        let n = self.cosines.len();
        // The pair features column by column: what every occupation has (its size, whether
        // it is a main fiche, an empty kind, its neighbour rank), then the sparse parts (the
        // occupations the profile touches, the anchor's hierarchy and title overlaps). An
        // untouched occupation has zero cosine and coverages.
        let [w_cos, w_target, w_core, w_source, w_sf, w_savoir, w_cert, w_context, w_rank, w_family, w_domaine, w_grand, w_size, w_v3, w_title] =
            PAIR_FEATURES.map(|j| w[j]);
        let w_kind = [
            (ItemKind::SavoirFaire, w_sf, 0.0),
            (ItemKind::Savoir, w_savoir, 0.0),
            (ItemKind::Certification, w_cert, 1.0),
            (ItemKind::WorkContext, w_context, 0.0),
        ];
        let size_base = bias - w_size * (self.profile_len.max(1) as f64).ln();
        let mut lo = Vec::with_capacity(n);
        lo.extend((0..n).map(|t| {
            let s = &index.stats[t];
            let mut z = size_base + w_size * index.ln_items[t] + w_rank * index.ln_int(1 + self.above[t] as usize);
            if index.hierarchy[t].is_v3_fiche {
                z += w_v3;
            }
            for &(kind, wk, empty) in &w_kind {
                if s.kind_counts[kind.index()] == 0 {
                    z += wk * empty;
                }
            }
            z
        }));
        for &t in &self.touched {
            let ti = t as usize;
            let (o, s) = (&self.overlaps[ti], &index.stats[ti]);
            let target_cov = if s.sum_idf > 0.0 { o.idf / s.sum_idf } else { 0.0 };
            let core_cov = if s.core_sum_idf > 0.0 { o.core_idf / s.core_sum_idf } else { target_cov };
            let source_cov = if self.profile_sum_idf > 0.0 { o.idf / self.profile_sum_idf } else { 0.0 };
            let mut z = w_cos * self.cosines[ti] + w_target * target_cov + w_core * core_cov + w_source * source_cov;
            for &(kind, wk, _) in &w_kind {
                let total = s.kind_counts[kind.index()];
                if total > 0 {
                    z += wk * (f64::from(o.kind_counts[kind.index()]) / f64::from(total));
                }
            }
            lo[ti] += z;
        }
        let h = &index.hierarchy[self.anchor.0 as usize];
        for (members, wj) in [
            (&index.family_members[h.family as usize], w_family),
            (&index.domaine_members[h.domaine as usize], w_domaine),
            (&index.grand_domaine_members[h.grand_domaine as usize], w_grand),
        ] {
            for &t in members {
                lo[t as usize] += wj;
            }
        }
        for &(t, overlap) in &index.title_overlap[self.anchor.0 as usize] {
            lo[t as usize] += w_title * overlap;
        }
        index.descriptors.add_weighted(self.anchor.0 as usize, &DESCRIPTOR_FEATURES.map(|j| w[j]), &mut lo);
        for (column, &j) in self.evidence.iter().zip(&EVIDENCE_FEATURES) {
            let wj = w[j];
            if wj != 0.0 {
                for (z, v) in lo.iter_mut().zip(column) {
                    *z += wj * v;
                }
            }
        }
        let w_rev = w[LOG_REVERSE_RANK];
        let mut hi = Vec::with_capacity(n);
        for (t, z) in lo.iter_mut().enumerate() {
            let (below, above) = index.reverse_count_bounds(t, self.cosines[t] as f32);
            let (a, b) = (*z + w_rev * index.ln_int(1 + below), *z + w_rev * index.ln_int(1 + above));
            *z = a.min(b);
            hi.push(a.max(b));
        }
        (lo, hi)
    }

    /// The features of the pair (profile, `t`) that are neither evidence columns nor
    /// `log_reverse_rank`, in [`PAIR_FEATURES`] order.
    #[inline]
    fn pair_features(&self, index: &FeatureIndex, ti: usize) -> [f64; PAIR_FEATURES.len()] {
        let o = &self.overlaps[ti];
        let s = &index.stats[ti];
        let cos = self.cosines[ti];
        let target_cov = if s.sum_idf > 0.0 { o.idf / s.sum_idf } else { 0.0 };
        let core_cov = if s.core_sum_idf > 0.0 { o.core_idf / s.core_sum_idf } else { target_cov };
        let source_cov = if self.profile_sum_idf > 0.0 { o.idf / self.profile_sum_idf } else { 0.0 };
        let k = |kind: ItemKind, empty: f64| share(o.kind_counts[kind.index()], s.kind_counts[kind.index()], empty);
        // Rank 1 = the most similar occupation other than the anchor.
        let rank = 1 + self.above[ti] as usize;
        let (ha, hb) = (&index.hierarchy[self.anchor.0 as usize], &index.hierarchy[ti]);
        let flag = |x: bool| if x { 1.0 } else { 0.0 };
        let size_ratio = match self.size_ratios.get(s.n_items as usize) {
            Some(r) => *r,
            None => (f64::from(s.n_items.max(1)) / self.profile_len.max(1) as f64).ln(),
        };
        [
            cos,
            target_cov,
            core_cov,
            source_cov,
            k(ItemKind::SavoirFaire, 0.0),
            k(ItemKind::Savoir, 0.0),
            k(ItemKind::Certification, 1.0),
            k(ItemKind::WorkContext, 0.0),
            index.ln_int(rank),
            flag(ha.family == hb.family),
            flag(ha.domaine == hb.domaine),
            flag(ha.grand_domaine == hb.grand_domaine),
            size_ratio,
            flag(hb.is_v3_fiche),
            title_overlap(index, self.anchor.0 as usize, ti),
        ]
    }

    /// Every feature but `log_reverse_rank` (left at 0).
    fn features_but_reverse(&self, index: &FeatureIndex, t: OccupationId) -> Features {
        let ti = t.0 as usize;
        let mut x = [0.0; N_FEATURES];
        for (&j, v) in PAIR_FEATURES.iter().zip(self.pair_features(index, ti)) {
            x[j] = v;
        }
        for (&j, column) in EVIDENCE_FEATURES.iter().zip(&self.evidence) {
            x[j] = column[ti];
        }
        for (&j, v) in DESCRIPTOR_FEATURES.iter().zip(index.descriptors.pair(self.anchor.0 as usize, ti)) {
            x[j] = v;
        }
        x
    }
}

/// Indices in [`FEATURE_NAMES`] of the features computed per pair from the overlaps, ranks,
/// hierarchy and titles (see `ProfileScan::pair_features`).
const PAIR_FEATURES: [usize; 15] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 29, 30];

/// Indices in [`FEATURE_NAMES`] of the mobility-evidence columns, in column order.
const EVIDENCE_FEATURES: [usize; N_EVIDENCE] =
    [14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33, 34, 48, 49];

/// Indices in [`FEATURE_NAMES`] of the learned embedding's features.
pub const EMBEDDING_FEATURES: [usize; 2] = [48, 49];

/// Indices in [`FEATURE_NAMES`] of the descriptor columns, in
/// [`DescriptorIndex::pair`] order.
const DESCRIPTOR_FEATURES: [usize; N_DESCRIPTORS] = [35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::tiny_files;

    /// idf for N = 3 occupations: df 2 → ln(4/3) + 1, df 1 → ln 2 + 1.
    const IDF2: f64 = 1.287_682_072_451_780_9;
    const IDF1: f64 = 1.693_147_180_559_945_3;

    fn scan_of(code: &str) -> (Catalogue, FeatureIndex, ProfileScan) {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let index = FeatureIndex::new(&cat);
        let id = cat.occupation_id(code).expect("code");
        let items: Vec<ItemId> = cat.occupation(id).items.iter().map(|l| l.item).collect();
        let evidence = MobilityEvidence::all(&cat);
        let scan = index.scan(&cat, &evidence, &ProfileVector::new(&index, &items), Some(id));
        (cat, index, scan)
    }

    fn assert_close(got: &Features, want: &Features) {
        for (j, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() < 1e-9, "feature {j} ({}): got {g}, want {w}", FEATURE_NAMES[j]);
        }
    }

    #[test]
    fn pair_evidence_and_reverse_features_partition_the_feature_vector() {
        let mut all: Vec<usize> =
            PAIR_FEATURES.iter().chain(&EVIDENCE_FEATURES).chain(&DESCRIPTOR_FEATURES).copied().collect();
        all.push(LOG_REVERSE_RANK);
        all.sort_unstable();
        assert_eq!(all, (0..N_FEATURES).collect::<Vec<_>>());
        assert_eq!(FEATURE_NAMES[LOG_REVERSE_RANK], "log_reverse_rank");
    }

    #[test]
    fn reverse_count_bounds_contain_the_exact_count() {
        let (cat, index, _) = scan_of("A1001");
        for t in 0..cat.occupations.len() {
            for x in [-1.0f32, 0.0, 0.1, 0.3, 0.5, 0.9, 1.0, 2.0] {
                let exact = index.neighbour_cosines[t].count_above(x);
                let (lo, hi) = index.reverse_count_bounds(t, x);
                assert!(lo <= exact && exact <= hi, "t {t}, x {x}: {exact} not in [{lo}, {hi}]");
                // Two neighbour cosines per occupation in the fixture: the sketch holds both.
                assert_eq!(lo, hi);
            }
        }
    }

    #[test]
    fn counts_above_match_a_plain_count_with_ties() {
        let cosines = [0.5, 0.2, 0.5, 0.9, 0.0, 0.2, 0.5, 0.0];
        for anchor in [0, 3, 4, 7] {
            let above = counts_above(&cosines, OccupationId(anchor));
            for (t, c) in cosines.iter().enumerate() {
                let plain = cosines.iter().enumerate().filter(|(o, v)| *o != anchor as usize && *v > c).count();
                assert_eq!(above[t] as usize, plain, "anchor {anchor}, t {t}");
            }
        }
        // 2,000 values crowded near 0 (many per bucket, many ties) and spread above.
        let many: Vec<f64> = (0..2000u64)
            .map(|i| {
                let r = (i * 2_654_435_761 % 1_000_003) as f64 / 1_000_003.0;
                if i % 3 == 0 {
                    (r * 1e-3 * 64.0).round() / 64.0 * 1e-3
                } else {
                    r * r
                }
            })
            .collect();
        let above = counts_above(&many, OccupationId(17));
        for (t, c) in many.iter().enumerate() {
            let plain = many.iter().enumerate().filter(|(o, v)| *o != 17 && *v > c).count();
            assert_eq!(above[t] as usize, plain, "t {t}");
        }
    }

    #[test]
    fn sketched_count_matches_a_plain_count() {
        let values: Vec<f32> = (0..1583).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
        let sorted = SortedDescending::new(values.clone());
        for x in [-1.0, 0.0, 0.0005, 0.25, 0.5, 0.999, 1.0, 2.0] {
            assert_eq!(sorted.count_above(x), values.iter().filter(|&&v| v > x).count(), "x = {x}");
        }
        assert_eq!(SortedDescending::new(Vec::new()).count_above(0.5), 0);
    }

    #[test]
    fn idf_weights_by_hand() {
        let (cat, index, _) = scan_of("A1001");
        assert!((index.idf(cat.item_id(10).expect("10")) - IDF2).abs() < 1e-12);
        assert!((index.idf(cat.item_id(13).expect("13")) - IDF1).abs() < 1e-12);
    }

    /// Definition cosine A1001 → A1002 in the tiny export: "pose cables fibre optique" vs
    /// "pose raccorde cables" (see `descriptors::tests`).
    fn definition_a1001_a1002() -> f64 {
        let (i2, i1) = ((4.0f64 / 3.0).ln(), 2.0f64.ln());
        2.0 * i2 * i2 / ((2.0 * i2 * i2 + 2.0 * i1 * i1).sqrt() * (2.0 * i2 * i2 + i1 * i1).sqrt())
    }

    /// Title cosine A1001 → A1002: "monteur fibre optique" vs "monteur cableur raccordeur".
    fn title_a1001_a1002() -> f64 {
        let (m, o) = ((4.0f64 / 3.0).ln(), 2.0f64.ln());
        m * m / (m * m + 2.0 * o * o)
    }

    #[test]
    fn features_a1001_to_a1002_by_hand() {
        // P = {10, 11, 13}, T = {10, 12*, 14}; they share item 10 only.
        let (cat, index, scan) = scan_of("A1001");
        let t = cat.occupation_id("A1002").expect("A1002");
        let norm_sq = 2.0 * IDF2 * IDF2 + IDF1 * IDF1; // same for P and T
        let cos = IDF2 * IDF2 / norm_sq;
        let cov = IDF2 / (2.0 * IDF2 + IDF1);
        let want = [
            cos,
            cov,
            0.0, // core item 12 not held
            cov,
            1.0, // T's only savoir-faire (10) is held
            0.0,
            1.0, // T lists no certification
            0.0,
            0.0, // rank 1: A1002 and B2001 tie
            0.0,
            1.0,
            1.0,
            1.0,
            0.0, // same parent, domaine, grand domaine; 3 items each
            0.0, // the only neighbour listing mobilities (A1002) lists B2001, not A1002
            0.0, // A1002 does not list A1001
            0.0, // A1002 is listed only by the anchor, whose row is excluded: ln(1 + 0)
            0.0, // nobody lists the anchor A1001, so nothing is co-listed
            0.0, // 5 nearest = the same two neighbours
            1.0, // A1002's only target (B2001) is among the profile's nearest occupations
            0.0, // the anchor's only sibling (A1002) lists B2001, not A1002
            0.0,
            0.0, // A1002 does not list A1001
            0.0, // only the anchor lists A1002
            0.0, // all the similarity-weighted votes go to B2001
            0.0, // nobody lists the anchor
            0.0, // the sibling lists family B2001 only
            0.0, // the neighbours list family B2001 only
            0.0, // domaine A10 → A10 only through the anchor's own row, which is excluded
            0.0, // A1002 was split from A1001
            0.5, // {metier} vs {deux, metier}
            0.0,
            0.0,
            0.25, // A1002's neighbours A1001 (votes 0) and B2001 (votes 0.5) weigh the same
            0.0,  // A1002 lists B2001, of another family
            definition_a1001_a1002(),
            1.0, // both access texts are "accessible avec" once the short words are dropped
            title_a1001_a1002(),
            1.0 / 3.0, // sectors {10, 20} vs {10, 30}
            1.0,       // main sector 10 for both
            0.0,       // sub-sector 101 vs none
            0.5,       // themes {1} vs {1, 2}
            1.0,
            -1.5,
            1.5, // Bac+2 (level 5) → CAP..Bac (3.5)
            0.0,
            0.0,
            1.0, // cadre → not cadre
            0.0, // no learned embedding in this evidence
            0.0,
        ];
        assert_close(&scan.features(&index, &cat, t), &want);
    }

    #[test]
    fn features_a1001_to_b2001_by_hand() {
        // P = {10, 11, 13}, T = {11*, 12, 15}; they share core item 11.
        let (cat, index, scan) = scan_of("A1001");
        let t = cat.occupation_id("B2001").expect("B2001");
        let norm_sq = 2.0 * IDF2 * IDF2 + IDF1 * IDF1;
        let cov = IDF2 / (2.0 * IDF2 + IDF1);
        let cos = IDF2 * IDF2 / norm_sq;
        let want = [
            cos,
            cov,
            1.0, // its only core item is held
            cov,
            1.0,
            0.0,
            1.0,
            0.0, // no work context in T: 0
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.5,           // neighbours A1002 and B2001 weigh the same; A1002 lists B2001
            0.0,           // B2001 does not list the anchor
            (2.0f64).ln(), // listed by A1002
            0.0,           // nobody lists the anchor
            0.5,           // the 5 nearest are the same two neighbours
            0.0,           // B2001 lists no target
            1.0,           // the anchor's only sibling (A1002) lists B2001
            1.0,           // at numero_ordre 1
            0.0,           // B2001 lists nothing
            cos,           // A1002 lists B2001
            1.0,           // A1002 is the only other source with a row
            0.0,           // B2001 lists nothing
            1.0,           // the sibling lists family B2001
            0.5,           // one of two equally weighted neighbours lists family B2001
            1.0,           // all of A10's other moves go to B20, a domaine of one occupation
            1.0,           // B2001 is its own ROME v3 parent
            1.0,           // {metier} vs {metier}
            0.5,           // order 1
            0.5,           // one of two equally weighted neighbours
            0.0,           // B2001's neighbours A1001 and A1002 get no votes
            0.0,           // B2001 lists nothing
            0.0,           // no definition word in common
            0.0,           // B2001 has no access text
            0.0,           // no title word in common
            0.0,           // sectors {10, 20} vs {30}
            0.0,
            0.0,
            0.0, // B2001 has no theme
            0.0, // B2001 states no level
            0.0,
            0.0,
            0.5, // emploi_cadre unknown
            0.0, // the anchor is cadre: no step up
            0.5, // cadre × (1 − 0.5)
            0.0, // no learned embedding in this evidence
            0.0,
        ];
        assert_close(&scan.features(&index, &cat, t), &want);
        assert_eq!(scan.anchor(), cat.occupation_id("A1001").expect("A1001"));
    }

    #[test]
    fn hidden_rows_do_not_change_features() {
        // Leakage: features of a source whose row is not visible do not depend on that row.
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let index = FeatureIndex::new(&cat);
        let a = cat.occupation_id("A1001").expect("A1001");
        let visible = [cat.occupation_id("A1002").expect("A1002"), cat.occupation_id("B2001").expect("B2001")];
        let mut shuffled = cat.clone();
        for m in &mut shuffled.mobilities {
            if m.source == a {
                m.target = cat.occupation_id("B2001").expect("B2001");
            }
        }
        let items: Vec<ItemId> = cat.occupation(a).items.iter().map(|l| l.item).collect();
        let p = ProfileVector::new(&index, &items);
        let before = index.scan(&cat, &MobilityEvidence::new(&cat, &visible), &p, Some(a));
        let after = index.scan(&shuffled, &MobilityEvidence::new(&shuffled, &visible), &p, Some(a));
        for t in cat.occupation_ids() {
            assert_eq!(before.features(&index, &cat, t), after.features(&index, &shuffled, t));
        }
    }

    #[test]
    fn the_anchor_row_is_never_read_even_when_visible() {
        // Serving: the whole table is visible, the anchor's own row included; replacing that
        // row (A1001 → A1002 becomes A1001 → B2001) leaves every feature of A1001 unchanged.
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let index = FeatureIndex::new(&cat);
        let a = cat.occupation_id("A1001").expect("A1001");
        let mut edited = cat.clone();
        for m in &mut edited.mobilities {
            if m.source == a {
                m.target = cat.occupation_id("B2001").expect("B2001");
                m.order = 3;
            }
        }
        let items: Vec<ItemId> = cat.occupation(a).items.iter().map(|l| l.item).collect();
        let p = ProfileVector::new(&index, &items);
        // With learned embeddings fitted on each table: A1001's is the one fitted without its row.
        let all: Vec<OccupationId> = cat.occupation_ids().collect();
        let ep = crate::embedding::EmbeddingParams { dim: 3, epochs: 30, min_df: 1, ..Default::default() };
        let with = |c: &Catalogue| {
            let (set, _) = EmbeddingSet::fit_cross(c, &index, &all, 2, &ep).expect("rows");
            MobilityEvidence::all(c).with_embeddings(set)
        };
        let before = index.scan(&cat, &with(&cat), &p, Some(a));
        let after = index.scan(&edited, &with(&edited), &p, Some(a));
        // The embedding is used: a share below 1 among the two other occupations.
        assert!(before.features(&index, &cat, cat.occupation_id("B2001").expect("B2001"))[EMBEDDING_FEATURES[0]] < 0.0);
        for t in cat.occupation_ids() {
            assert_eq!(before.features(&index, &cat, t), after.features(&index, &edited, t));
        }
    }

    #[test]
    fn title_words_drop_accents_case_and_short_words() {
        assert_eq!(
            title_words("Monteur raccordeur / Monteuse raccordeuse fibre optique"),
            ["fibre", "monteur", "monteuse", "optique", "raccordeur", "raccordeuse"]
        );
        assert_eq!(title_words("Métier A un"), ["metier"]);
        let w = |t: &str| title_words(t);
        assert!((jaccard(&w("Métier A un"), &w("Métier A deux")) - 0.5).abs() < 1e-12);
        assert_eq!(jaccard::<u32>(&[], &[]), 0.0);
    }

    #[test]
    fn undeclared_profile_is_anchored_on_nearest_occupation() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let index = FeatureIndex::new(&cat);
        let items = [cat.item_id(11).expect("11"), cat.item_id(15).expect("15")];
        let scan = index.scan(&cat, &MobilityEvidence::all(&cat), &ProfileVector::new(&index, &items), None);
        assert_eq!(cat.occupation(scan.anchor()).code, "B2001");
    }
}
