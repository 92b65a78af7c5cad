//! The held-out protocol and its metrics.
//!
//! Protocol: the source occupations that have curated mobilities are shuffled with a fixed
//! seed and split into `folds` groups. For each fold, the model is trained on the mobilities
//! of the other folds' sources only; each held-out source is then used as a profile (its
//! ROME items, declared as its occupation) and ranks **all** other occupations of the
//! catalogue (1,583 for v460). Its own curated mobilities are the relevant targets and were
//! never seen in training. The IDF-weighted cosine of item sets ranks the same candidates as
//! the baseline.
//!
//! Metrics per source, averaged over sources, with a 95 % bootstrap interval (1,000
//! resamples of sources, percentile method):
//! - recall@k = |top-k ∩ relevant| / |relevant|;
//! - MRR = 1 / rank of the first relevant target;
//! - nDCG@k with binary relevance: Σ_{r ≤ k, relevant} 1/log2(r+1) over the ideal value.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, OccupationId};
use crate::error::TrainError;
use crate::features::{FeatureIndex, MobilityEvidence, ProfileVector};
use crate::transition::{mobility_targets, train, ValidTrainParams};

/// Settings of the held-out protocol.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalParams {
    /// Number of folds, 2..=20 (default 5).
    pub folds: usize,
    /// Seed of the fold assignment and of the bootstrap (default 7).
    pub seed: u64,
    /// Cut-off `k` of recall@k and nDCG@k (default 10).
    pub k: usize,
}

impl Default for EvalParams {
    fn default() -> Self {
        EvalParams { folds: 5, seed: 7, k: 10 }
    }
}

/// A metric's mean over sources with its 95 % bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Mean over held-out sources.
    pub mean: f64,
    /// 2.5th percentile of bootstrap means.
    pub low: f64,
    /// 97.5th percentile of bootstrap means.
    pub high: f64,
}

/// Ranking quality of one system on the held-out sources.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// recall@k, 0..1.
    pub recall_at_k: Estimate,
    /// Mean reciprocal rank, 0..1.
    pub mrr: Estimate,
    /// nDCG@k, 0..1.
    pub ndcg_at_k: Estimate,
}

/// The result of [`evaluate`]: the model and the baseline on the same protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// One-line description of the protocol.
    pub protocol: String,
    /// Protocol settings.
    pub params: EvalParams,
    /// Held-out sources evaluated.
    pub sources: usize,
    /// Candidates ranked per source (all occupations but the source).
    pub candidates_per_source: usize,
    /// The learned transition model.
    pub model: Metrics,
    /// IDF-weighted cosine of item sets.
    pub baseline_cosine: Metrics,
}

/// Metrics of one ranking: `ranked` is the candidate list best first, `relevant` the set of
/// relevant candidates. Returns (recall@k, reciprocal rank, nDCG@k); all 0 when nothing is
/// relevant.
pub fn ranking_metrics<T: PartialEq>(ranked: &[T], relevant: &[T], k: usize) -> (f64, f64, f64) {
    if relevant.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let mut hits = 0usize;
    let mut dcg = 0.0;
    let mut rr = 0.0;
    for (r, c) in ranked.iter().enumerate() {
        if relevant.contains(c) {
            if rr == 0.0 {
                rr = 1.0 / (r + 1) as f64;
            }
            if r < k {
                hits += 1;
                dcg += 1.0 / ((r + 2) as f64).log2();
            }
        }
    }
    let ideal: f64 = (0..relevant.len().min(k)).map(|r| 1.0 / ((r + 2) as f64).log2()).sum();
    (hits as f64 / relevant.len() as f64, rr, dcg / ideal)
}

/// Mean and 95 % percentile-bootstrap interval of `values` (1,000 resamples, seeded).
pub fn bootstrap(values: &[f64], seed: u64) -> Estimate {
    if values.is_empty() {
        return Estimate { mean: 0.0, low: 0.0, high: 0.0 };
    }
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut means: Vec<f64> =
        (0..1000).map(|_| (0..n).map(|_| values[rng.gen_range(0..n)]).sum::<f64>() / n as f64).collect();
    means.sort_by(f64::total_cmp);
    Estimate { mean, low: means[24], high: means[974] }
}

/// Per-source metric triples for one system.
#[derive(Default)]
struct Collected {
    recall: Vec<f64>,
    rr: Vec<f64>,
    ndcg: Vec<f64>,
}

impl Collected {
    fn push(&mut self, (recall, rr, ndcg): (f64, f64, f64)) {
        self.recall.push(recall);
        self.rr.push(rr);
        self.ndcg.push(ndcg);
    }
    fn summarise(&self, seed: u64) -> Metrics {
        Metrics {
            recall_at_k: bootstrap(&self.recall, seed),
            mrr: bootstrap(&self.rr, seed + 1),
            ndcg_at_k: bootstrap(&self.ndcg, seed + 2),
        }
    }
}

/// Assigns each source that has mobilities to one of `folds` folds (seeded shuffle).
pub fn folds(catalogue: &Catalogue, folds: usize, seed: u64) -> Vec<Vec<OccupationId>> {
    let targets = mobility_targets(catalogue);
    let mut sources: Vec<OccupationId> =
        catalogue.occupation_ids().filter(|o| !targets[o.0 as usize].is_empty()).collect();
    sources.shuffle(&mut StdRng::seed_from_u64(seed));
    let mut out = vec![Vec::new(); folds];
    for (i, s) in sources.into_iter().enumerate() {
        out[i % folds].push(s);
    }
    out
}

/// Runs the source-grouped protocol (module docs) and returns the model's and the
/// baseline's metrics.
///
/// # Errors
/// [`TrainError::InvalidParam`] for folds outside 2..=20 or k = 0; training errors of a fold.
pub fn evaluate(
    catalogue: &Catalogue,
    index: &FeatureIndex,
    train_params: &ValidTrainParams,
    params: &EvalParams,
) -> Result<EvalReport, TrainError> {
    if !(2..=20).contains(&params.folds) {
        return Err(TrainError::InvalidParam { name: "folds", reason: format!("{} not in 2..=20", params.folds) });
    }
    if params.k == 0 {
        return Err(TrainError::InvalidParam { name: "k", reason: "must be ≥ 1".to_string() });
    }
    let targets = mobility_targets(catalogue);
    let groups = folds(catalogue, params.folds, params.seed);
    let (mut model_m, mut base_m) = (Collected::default(), Collected::default());
    for (f, held_out) in groups.iter().enumerate() {
        let train_sources: Vec<OccupationId> =
            groups.iter().enumerate().filter(|(g, _)| *g != f).flat_map(|(_, s)| s.iter().copied()).collect();
        let model = train(catalogue, index, &train_sources, train_params)?;
        // Held-out sources' own rows are invisible to the features.
        let evidence = MobilityEvidence::new(catalogue, &train_sources);
        for &s in held_out {
            let items: Vec<_> = catalogue.occupation(s).items.iter().map(|l| l.item).collect();
            let scan = index.scan(catalogue, &evidence, &ProfileVector::new(index, &items), Some(s));
            let candidates: Vec<OccupationId> = catalogue.occupation_ids().filter(|t| *t != s).collect();
            let mut by_model: Vec<(OccupationId, f64)> =
                candidates.iter().map(|&t| (t, model.probability(&scan.features(index, catalogue, t)))).collect();
            let mut by_cos: Vec<(OccupationId, f64)> = candidates.iter().map(|&t| (t, scan.cosine(t))).collect();
            let relevant = &targets[s.0 as usize];
            model_m.push(ranking_metrics(&rank(&mut by_model), relevant, params.k));
            base_m.push(ranking_metrics(&rank(&mut by_cos), relevant, params.k));
        }
    }
    let sources = model_m.recall.len();
    Ok(EvalReport {
        protocol: format!(
            "{}-fold cross-validation grouped by source occupation (seed {}); each held-out source ranks all other occupations; relevant = its curated mobilities (unix_rubrique_mobilite)",
            params.folds, params.seed
        ),
        params: *params,
        sources,
        candidates_per_source: catalogue.occupations.len().saturating_sub(1),
        model: model_m.summarise(params.seed),
        baseline_cosine: base_m.summarise(params.seed),
    })
}

/// Sorts scored candidates best first (ties by id, for determinism) and returns the ids.
fn rank(scored: &mut [(OccupationId, f64)]) -> Vec<OccupationId> {
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.iter().map(|(t, _)| *t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_on_a_hand_made_ranking() {
        // Relevant: b (rank 2) and e (rank 5). k = 3.
        let ranked = ["a", "b", "c", "d", "e"];
        let (recall, rr, ndcg) = ranking_metrics(&ranked, &["b", "e"], 3);
        assert!((recall - 0.5).abs() < 1e-12);
        assert!((rr - 0.5).abs() < 1e-12);
        // DCG = 1/log2(3); IDCG = 1/log2(2) + 1/log2(3).
        let expected = (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!((ndcg - expected).abs() < 1e-12, "{ndcg} vs {expected}");
    }

    #[test]
    fn perfect_and_empty_rankings() {
        let (recall, rr, ndcg) = ranking_metrics(&[1, 2, 3], &[1], 10);
        assert_eq!((recall, rr, ndcg), (1.0, 1.0, 1.0));
        assert_eq!(ranking_metrics(&[1, 2, 3], &[], 10), (0.0, 0.0, 0.0));
        // Relevant item beyond k still counts for MRR, not for recall.
        let (recall, rr, _) = ranking_metrics(&[1, 2, 3, 4], &[4], 2);
        assert_eq!((recall, rr), (0.0, 0.25));
    }

    #[test]
    fn bootstrap_of_a_constant_is_the_constant() {
        let e = bootstrap(&[0.3; 50], 1);
        assert!((e.mean - 0.3).abs() < 1e-12 && (e.low - 0.3).abs() < 1e-12 && (e.high - 0.3).abs() < 1e-12);
        let e = bootstrap(&[0.0, 1.0], 1);
        assert!(e.low <= e.mean && e.mean <= e.high && e.mean == 0.5);
    }
}
