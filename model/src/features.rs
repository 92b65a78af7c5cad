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

/// Number of pair features.
pub const N_FEATURES: usize = 20;

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
///
/// Features 14–16 use the mobility table through [`MobilityEvidence`], built from the
/// sources whose rows may be seen (the training folds in evaluation, the whole table when
/// serving). The anchor's own rows are never used by them: at training time the anchor is
/// the source whose label is predicted, and at serving time its curated list is reported as
/// separate evidence, not mixed into the model.
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
];

/// How many nearest occupations vote in `neighbour_mobility`.
pub const MOBILITY_NEIGHBOURS: usize = 20;
/// How many nearest occupations vote in `near_neighbour_mobility`.
pub const NEAR_MOBILITY_NEIGHBOURS: usize = 5;
/// Number of mobility-evidence features (the last ones of [`FEATURE_NAMES`]).
const N_EVIDENCE: usize = 6;

/// The curated mobilities the features may use: the rows of the visible sources only.
#[derive(Debug, Clone)]
pub struct MobilityEvidence {
    /// For each occupation, the targets its (visible) row lists.
    out: Vec<Vec<OccupationId>>,
    /// For each occupation, the visible sources that list it, with their `numero_ordre`.
    incoming: Vec<Vec<(OccupationId, u16)>>,
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
                out[m.source.0 as usize].push(m.target);
                incoming[m.target.0 as usize].push((m.source, m.order));
            }
        }
        MobilityEvidence { out, incoming }
    }

    /// Evidence from the whole table (serving).
    pub fn all(catalogue: &Catalogue) -> Self {
        let all: Vec<OccupationId> = catalogue.occupation_ids().collect();
        Self::new(catalogue, &all)
    }
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
    /// Inverted index: for each item, the occupations that list it (in occupation order),
    /// so a scan visits only the links of the profile's items.
    postings: Vec<Vec<Posting>>,
    /// Kind index ([`ItemKind::index`]) of each item.
    kinds: Vec<u8>,
}

/// One occupation listing an item, in the inverted index.
#[derive(Debug, Clone, Copy)]
struct Posting {
    occupation: u32,
    core: bool,
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

/// Overlap sums of one (profile, target) pair, from one pass over the target's items.
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
    cosines: Vec<f64>,
    /// Cosines sorted descending, anchor excluded (for neighbour ranks).
    sorted_cosines: Vec<f64>,
    anchor: OccupationId,
    profile_sum_idf: f64,
    profile_len: usize,
    /// Mobility-evidence features per occupation (features 14..20).
    evidence: Vec<[f64; N_EVIDENCE]>,
    /// For each occupation, how many others are closer to it than the profile is (for
    /// `log_reverse_rank`), counted in one tight pass so the memory reads overlap.
    closer_than_profile: Vec<u32>,
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
        let mut postings = vec![Vec::new(); catalogue.items.len()];
        for (o, occ) in catalogue.occupations.iter().enumerate() {
            for link in &occ.items {
                postings[link.item.0 as usize]
                    .push(Posting { occupation: o as u32, core: link.relevance == Relevance::Core });
            }
        }
        let kinds = catalogue.items.iter().map(|i| i.kind.index() as u8).collect();
        let mut index = FeatureIndex { idf, stats, neighbour_cosines: Vec::new(), postings, kinds };
        let neighbour_cosines = catalogue
            .occupation_ids()
            .map(|o| {
                let items: Vec<ItemId> = catalogue.occupation(o).items.iter().map(|l| l.item).collect();
                let p = ProfileVector::new(&index, &items);
                let cos: Vec<f32> = catalogue
                    .occupation_ids()
                    .filter(|&t| t != o)
                    .map(|t| index.cosine(&index.overlap(catalogue, &p, t), &p, t) as f32)
                    .collect();
                SortedDescending::new(cos)
            })
            .collect();
        index.neighbour_cosines = neighbour_cosines;
        index
    }

    /// The idf weight of an item (≥ 1).
    pub fn idf(&self, item: ItemId) -> f64 {
        self.idf[item.0 as usize]
    }

    fn overlap(&self, catalogue: &Catalogue, p: &ProfileVector, t: OccupationId) -> Overlap {
        let mut o = Overlap::default();
        for link in &catalogue.occupation(t).items {
            if p.contains(link.item) {
                let w = self.idf[link.item.0 as usize];
                o.dot += w * w;
                o.idf += w;
                if link.relevance == Relevance::Core {
                    o.core_idf += w;
                }
                o.kind_counts[catalogue.item(link.item).kind.index()] += 1;
            }
        }
        o
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
        catalogue: &Catalogue,
        evidence: &MobilityEvidence,
        p: &ProfileVector,
        declared: Option<OccupationId>,
    ) -> ProfileScan {
        let mut scan = self.scan_partial(catalogue, evidence, p, declared);
        scan.closer_than_profile =
            scan.cosines.iter().zip(&self.neighbour_cosines).map(|(&c, n)| n.count_above(c as f32) as u32).collect();
        scan
    }

    /// Scans several profiles (each with its declared occupation): the same scans as
    /// [`FeatureIndex::scan`] one by one, but the reverse ranks are counted target by
    /// target, so each occupation's neighbourhood is read from memory once for all the
    /// profiles instead of once per profile (the main cost of a scan otherwise).
    pub fn scan_many(
        &self,
        catalogue: &Catalogue,
        evidence: &MobilityEvidence,
        profiles: &[(&ProfileVector, Option<OccupationId>)],
    ) -> Vec<ProfileScan> {
        let mut scans: Vec<ProfileScan> =
            profiles.iter().map(|(p, declared)| self.scan_partial(catalogue, evidence, p, *declared)).collect();
        for scan in &mut scans {
            scan.closer_than_profile = vec![0; scan.cosines.len()];
        }
        for (t, n) in self.neighbour_cosines.iter().enumerate() {
            for scan in &mut scans {
                scan.closer_than_profile[t] = n.count_above(scan.cosines[t] as f32) as u32;
            }
        }
        scans
    }

    /// A scan without `closer_than_profile` (left empty).
    fn scan_partial(
        &self,
        catalogue: &Catalogue,
        evidence: &MobilityEvidence,
        p: &ProfileVector,
        declared: Option<OccupationId>,
    ) -> ProfileScan {
        // Through the inverted index: only the links of the profile's items are visited.
        // Items are visited in ascending id order, which is each occupation's own link
        // order, so every sum is added in the same order as by `overlap` (same bits).
        let mut overlaps = vec![Overlap::default(); catalogue.occupations.len()];
        for &i in &p.items {
            let w = self.idf[i.0 as usize];
            let kind = self.kinds[i.0 as usize] as usize;
            for post in &self.postings[i.0 as usize] {
                let o = &mut overlaps[post.occupation as usize];
                o.dot += w * w;
                o.idf += w;
                if post.core {
                    o.core_idf += w;
                }
                o.kind_counts[kind] += 1;
            }
        }
        let cosines: Vec<f64> =
            catalogue.occupation_ids().map(|t| self.cosine(&overlaps[t.0 as usize], p, t)).collect();
        let anchor = declared.unwrap_or_else(|| {
            let best =
                cosines.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0))).map_or(0, |(i, _)| i);
            OccupationId(best as u32)
        });
        let mut sorted_cosines: Vec<f64> =
            cosines.iter().enumerate().filter(|(i, _)| *i != anchor.0 as usize).map(|(_, c)| *c).collect();
        sorted_cosines.sort_unstable_by(|a, b| b.total_cmp(a));

        let evidence_features = mobility_evidence(evidence, &cosines, anchor);
        ProfileScan {
            overlaps,
            cosines,
            sorted_cosines,
            anchor,
            profile_sum_idf: p.sum_idf,
            profile_len: p.items.len(),
            evidence: evidence_features,
            closer_than_profile: Vec::new(),
        }
    }
}

/// The `k` occupations nearest by cosine, anchor excluded, nearest first (ties by id).
fn nearest(cosines: &[f64], anchor: OccupationId, k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cosines.len()).filter(|&i| i != anchor.0 as usize).collect();
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
            for t in &evidence.out[s] {
                votes[t.0 as usize] += cosines[s] / weight;
            }
        }
    }
    votes
}

/// Features 14..20 for every occupation (see [`FEATURE_NAMES`]); the anchor's own row is
/// never read.
fn mobility_evidence(evidence: &MobilityEvidence, cosines: &[f64], anchor: OccupationId) -> Vec<[f64; N_EVIDENCE]> {
    let n = cosines.len();
    let a = anchor.0 as usize;
    let near20 = nearest(cosines, anchor, MOBILITY_NEIGHBOURS);
    let votes20 = neighbour_votes(evidence, cosines, &near20);
    let votes5 = neighbour_votes(evidence, cosines, &near20[..NEAR_MOBILITY_NEIGHBOURS.min(near20.len())]);
    let mut is_near = vec![false; n];
    for &s in &near20 {
        is_near[s] = true;
    }
    let mut reverse = vec![0.0; n];
    for &(s, order) in &evidence.incoming[a] {
        reverse[s.0 as usize] = 1.0 / f64::from(order.max(1));
    }
    let mut co_listed = vec![0.0; n];
    let listers = &evidence.incoming[a];
    for &(s, _) in listers {
        for t in &evidence.out[s.0 as usize] {
            co_listed[t.0 as usize] += 1.0 / listers.len() as f64;
        }
    }
    (0..n)
        .map(|t| {
            let out = &evidence.out[t];
            let moves_near = if out.is_empty() {
                0.0
            } else {
                out.iter().filter(|o| is_near[o.0 as usize]).count() as f64 / out.len() as f64
            };
            // How many visible rows list t, the anchor's excluded.
            let listed_by = evidence.incoming[t].iter().filter(|(s, _)| s.0 as usize != a).count();
            [votes20[t], reverse[t], (1.0 + listed_by as f64).ln(), co_listed[t], votes5[t], moves_near]
        })
        .collect()
}

/// Values sorted in descending order with a bucket table, so counting the values above a
/// threshold reads one entry of a small table and binary-searches the few values between
/// two bucket edges (about two cache lines) instead of bisecting a 1,583-value array.
/// Edges are `(b / BUCKETS)²` for `b = 0..=BUCKETS`: squared, because cosines crowd near 0.
#[derive(Debug, Clone)]
struct SortedDescending {
    values: Vec<f32>,
    /// `above[b]`: how many values are strictly greater than `edge(b)`.
    above: Vec<u32>,
}

/// Number of buckets of [`SortedDescending`].
const BUCKETS: usize = 256;

/// Lower edge of bucket `b` (the same f32 computation when building and when counting).
fn bucket_edge(b: usize) -> f32 {
    let e = b as f32 / BUCKETS as f32;
    e * e
}

impl SortedDescending {
    fn new(mut values: Vec<f32>) -> Self {
        values.sort_unstable_by(|a, b| b.total_cmp(a));
        let above = (0..=BUCKETS).map(|b| values.partition_point(|&c| c > bucket_edge(b)) as u32).collect();
        SortedDescending { values, above }
    }

    /// How many values are strictly greater than `x`.
    fn count_above(&self, x: f32) -> usize {
        if x.is_nan() {
            return 0;
        }
        if x < 0.0 {
            return self.values.partition_point(|&c| c > x);
        }
        // The bucket b with edge(b) <= x < edge(b + 1) (edge(BUCKETS + 1) = +inf).
        let mut b = ((x.sqrt() * BUCKETS as f32) as usize).min(BUCKETS);
        while b > 0 && bucket_edge(b) > x {
            b -= 1;
        }
        while b < BUCKETS && bucket_edge(b + 1) <= x {
            b += 1;
        }
        // Values above edge(b + 1) are above x; values above x are above edge(b).
        let lo = if b == BUCKETS { 0 } else { self.above[b + 1] as usize };
        let hi = self.above[b] as usize;
        lo + self.values[lo..hi].partition_point(|&c| c > x)
    }
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
    pub fn features(&self, index: &FeatureIndex, catalogue: &Catalogue, t: OccupationId) -> Features {
        let ti = t.0 as usize;
        let o = &self.overlaps[ti];
        let s = &index.stats[ti];
        let cos = self.cosines[ti];
        let target_cov = if s.sum_idf > 0.0 { o.idf / s.sum_idf } else { 0.0 };
        let core_cov = if s.core_sum_idf > 0.0 { o.core_idf / s.core_sum_idf } else { target_cov };
        let source_cov = if self.profile_sum_idf > 0.0 { o.idf / self.profile_sum_idf } else { 0.0 };
        let k = |kind: ItemKind, empty: f64| share(o.kind_counts[kind.index()], s.kind_counts[kind.index()], empty);
        // Rank 1 = the most similar occupation other than the anchor.
        let rank = 1 + self.sorted_cosines.partition_point(|&c| c > cos);
        // 1 + how many occupations are closer to T than the profile is. A profile made of
        // exactly an occupation's items ties with that occupation's own entry: not counted.
        let reverse = 1 + self.closer_than_profile[ti] as usize;
        let a = catalogue.occupation(self.anchor);
        let b = catalogue.occupation(t);
        let flag = |x: bool| if x { 1.0 } else { 0.0 };
        let size_ratio = (f64::from(s.n_items.max(1)) / self.profile_len.max(1) as f64).ln();
        [
            cos,
            target_cov,
            core_cov,
            source_cov,
            k(ItemKind::SavoirFaire, 0.0),
            k(ItemKind::Savoir, 0.0),
            k(ItemKind::Certification, 1.0),
            k(ItemKind::WorkContext, 0.0),
            (rank as f64).ln(),
            (reverse as f64).ln(),
            flag(a.rome_v3_parent == b.rome_v3_parent),
            flag(a.domaine == b.domaine),
            flag(a.grand_domaine == b.grand_domaine),
            size_ratio,
            self.evidence[ti][0],
            self.evidence[ti][1],
            self.evidence[ti][2],
            self.evidence[ti][3],
            self.evidence[ti][4],
            self.evidence[ti][5],
        ]
    }
}

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
    fn sketched_count_matches_a_plain_count() {
        let values: Vec<f32> = (0..1583).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
        let sorted = SortedDescending::new(values.clone());
        for x in [-1.0, 0.0, 0.0005, 0.25, 0.5, 0.999, 1.0, 2.0] {
            assert_eq!(sorted.count_above(x), values.iter().filter(|&&v| v > x).count(), "x = {x}");
        }
        assert_eq!(SortedDescending::new(Vec::new()).count_above(0.5), 0);
        // Cosine-like values crowded near 0, ties, exact edges and values above 1.
        let mut values: Vec<f32> = (0..1583).map(|i| ((i * 7919) % 1583) as f32 / 40_000.0).collect();
        values.extend([0.0, 0.0, 1.0, 1.0, 1.5, bucket_edge(3), bucket_edge(64)]);
        let sorted = SortedDescending::new(values.clone());
        let mut probes = vec![0.0, 1.0, 1.2, 1.5, 2.0, f32::INFINITY, -0.5, f32::MIN_POSITIVE];
        probes.extend(values.iter().copied());
        probes.extend((0..=BUCKETS + 1).flat_map(|b| {
            let e = bucket_edge(b);
            [e, f32::from_bits(e.to_bits().saturating_sub(1)), f32::from_bits(e.to_bits() + 1)]
        }));
        for x in probes {
            assert_eq!(sorted.count_above(x), values.iter().filter(|&&v| v > x).count(), "x = {x}");
        }
        assert_eq!(sorted.count_above(f32::NAN), 0);
    }

    #[test]
    fn inverted_scan_equals_a_pass_over_every_link() {
        let cat = crate::embedded::catalogue().expect("embedded");
        let index = FeatureIndex::new(&cat);
        let evidence = MobilityEvidence::all(&cat);
        for code in ["I1315", "F1602", "I1307"] {
            let id = cat.occupation_id(code).expect("code");
            let mut items: Vec<ItemId> = cat.occupation(id).items.iter().map(|l| l.item).step_by(2).collect();
            items.push(ItemId(7));
            let p = ProfileVector::new(&index, &items);
            let scan = index.scan(&cat, &evidence, &p, None);
            for t in cat.occupation_ids() {
                let o = index.overlap(&cat, &p, t);
                let s = scan.overlaps[t.0 as usize];
                assert_eq!((s.dot, s.idf, s.core_idf, s.kind_counts), (o.dot, o.idf, o.core_idf, o.kind_counts));
                assert_eq!(scan.cosine(t), index.cosine(&o, &p, t));
            }
        }
    }

    #[test]
    fn scans_of_many_profiles_equal_single_scans() {
        let cat = crate::embedded::catalogue().expect("embedded");
        let index = FeatureIndex::new(&cat);
        let evidence = MobilityEvidence::all(&cat);
        let profiles: Vec<(ProfileVector, Option<OccupationId>)> = ["I1315", "F1602", "I1307"]
            .iter()
            .enumerate()
            .map(|(k, code)| {
                let id = cat.occupation_id(code).expect("code");
                let items: Vec<ItemId> = cat.occupation(id).items.iter().map(|l| l.item).skip(k).collect();
                (ProfileVector::new(&index, &items), (k != 1).then_some(id))
            })
            .collect();
        let refs: Vec<(&ProfileVector, Option<OccupationId>)> = profiles.iter().map(|(p, d)| (p, *d)).collect();
        let many = index.scan_many(&cat, &evidence, &refs);
        for ((p, declared), scan) in profiles.iter().zip(&many) {
            let one = index.scan(&cat, &evidence, p, *declared);
            assert_eq!(scan.anchor(), one.anchor());
            for t in cat.occupation_ids() {
                assert_eq!(scan.features(&index, &cat, t), one.features(&index, &cat, t));
            }
        }
    }

    #[test]
    fn idf_weights_by_hand() {
        let (cat, index, _) = scan_of("A1001");
        assert!((index.idf(cat.item_id(10).expect("10")) - IDF2).abs() < 1e-12);
        assert!((index.idf(cat.item_id(13).expect("13")) - IDF1).abs() < 1e-12);
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
            cos, cov, 0.0, // core item 12 not held
            cov, 1.0, // T's only savoir-faire (10) is held
            0.0, 1.0, // T lists no certification
            0.0, 0.0, // rank 1: A1002 and B2001 tie
            0.0, 1.0, 1.0, 1.0, 0.0, // same parent, domaine, grand domaine; 3 items each
            0.0, // the only neighbour listing mobilities (A1002) lists B2001, not A1002
            0.0, // A1002 does not list A1001
            0.0, // A1002 is listed only by the anchor, whose row is excluded: ln(1 + 0)
            0.0, // nobody lists the anchor A1001, so nothing is co-listed
            0.0, // 5 nearest = the same two neighbours
            1.0, // A1002's only target (B2001) is among the profile's nearest occupations
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
        let want = [
            IDF2 * IDF2 / norm_sq,
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
    fn undeclared_profile_is_anchored_on_nearest_occupation() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let index = FeatureIndex::new(&cat);
        let items = [cat.item_id(11).expect("11"), cat.item_id(15).expect("15")];
        let scan = index.scan(&cat, &MobilityEvidence::all(&cat), &ProfileVector::new(&index, &items), None);
        assert_eq!(cat.occupation(scan.anchor()).code, "B2001");
    }
}
