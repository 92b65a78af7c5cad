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
//! - nDCG@k with binary relevance: Σ_{r ≤ k, relevant} 1/log2(r+1) over the ideal value;
//! - ROC-AUC: the share of (relevant, other) candidate pairs of the source that the system
//!   orders correctly.
//!
//! The report also has a reliability table of the model's probabilities over all held-out
//! pairs: 10 equal-width bins, each with its pair count, mean predicted probability and
//! observed share of curated mobilities.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, OccupationId};
use crate::error::TrainError;
use crate::features::{FeatureIndex, MobilityEvidence, ProfileVector};
use crate::transition::{mobility_targets, train, Calibration, TransitionModel, ValidTrainParams};

/// Accepted number of folds ([`evaluate_with`]; the CLI's `--folds` takes the same).
pub const FOLDS_RANGE: std::ops::RangeInclusive<usize> = 2..=20;

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
    /// ROC-AUC per source, 0..1 (0.5 = random).
    pub roc_auc: Estimate,
}

/// One bin of the reliability table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower bound of the predicted probability (inclusive), 0..1.
    pub from: f64,
    /// Upper bound (exclusive, except 1.0 in the last bin).
    pub to: f64,
    /// Held-out pairs whose probability falls in the bin.
    pub pairs: u64,
    /// Mean predicted probability of those pairs (0 when empty).
    pub mean_predicted: f64,
    /// Share of those pairs that are curated mobilities (0 when empty).
    pub observed: f64,
}

/// Ranking metrics of one source's ranking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankingMetrics {
    /// recall@k.
    pub recall: f64,
    /// 1 / rank of the first relevant candidate.
    pub reciprocal_rank: f64,
    /// nDCG@k, binary relevance.
    pub ndcg: f64,
    /// ROC-AUC.
    pub auc: f64,
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
    /// Reliability of the model's probabilities (uncalibrated) on all held-out pairs.
    pub reliability: Vec<ReliabilityBin>,
    /// Isotonic calibration fitted on those out-of-fold predictions (what `train` installs).
    pub calibration: Option<Calibration>,
    /// Reliability after that calibration, on the same pairs (an in-sample check: a
    /// monotone fit over 1,000 pooled bins of about 2,500 pairs each).
    pub reliability_calibrated: Vec<ReliabilityBin>,
}

/// Metrics of one ranking: `ranked` is the candidate list best first, `relevant` the set of
/// relevant candidates. All 0 when nothing is relevant; AUC is 0.5 when every candidate is
/// relevant.
pub fn ranking_metrics<T: PartialEq>(ranked: &[T], relevant: &[T], k: usize) -> RankingMetrics {
    if relevant.is_empty() {
        return RankingMetrics { recall: 0.0, reciprocal_rank: 0.0, ndcg: 0.0, auc: 0.0 };
    }
    let mut hits = 0usize;
    let mut dcg = 0.0;
    let mut rr = 0.0;
    let (mut seen_relevant, mut ordered_pairs) = (0usize, 0usize);
    for (r, c) in ranked.iter().enumerate() {
        if relevant.contains(c) {
            seen_relevant += 1;
            // Every other candidate ranked below this one is a correctly ordered pair.
            ordered_pairs += ranked.len() - 1 - r;
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
    let n_pos = seen_relevant;
    let n_neg = ranked.len() - n_pos;
    // Remove relevant-relevant pairs counted above: n_pos (n_pos − 1) / 2 of them.
    let auc = if n_pos == 0 || n_neg == 0 {
        0.5
    } else {
        (ordered_pairs - n_pos * (n_pos - 1) / 2) as f64 / (n_pos * n_neg) as f64
    };
    RankingMetrics { recall: hits as f64 / relevant.len() as f64, reciprocal_rank: rr, ndcg: dcg / ideal, auc }
}

/// The reliability table of `(probability, is_mobility)` pairs: 10 equal-width bins.
pub fn reliability(pairs: &[(f64, bool)]) -> Vec<ReliabilityBin> {
    let mut bins: Vec<(u64, f64, u64)> = vec![(0, 0.0, 0); 10];
    for &(p, label) in pairs {
        let b = ((p.clamp(0.0, 1.0) * 10.0) as usize).min(9);
        bins[b].0 += 1;
        bins[b].1 += p;
        bins[b].2 += u64::from(label);
    }
    bins.into_iter()
        .enumerate()
        .map(|(i, (n, sum, pos))| ReliabilityBin {
            from: i as f64 / 10.0,
            to: (i + 1) as f64 / 10.0,
            pairs: n,
            mean_predicted: if n == 0 { 0.0 } else { sum / n as f64 },
            observed: if n == 0 { 0.0 } else { pos as f64 / n as f64 },
        })
        .collect()
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
    auc: Vec<f64>,
}

impl Collected {
    fn push(&mut self, m: RankingMetrics) {
        self.recall.push(m.recall);
        self.rr.push(m.reciprocal_rank);
        self.ndcg.push(m.ndcg);
        self.auc.push(m.auc);
    }
    fn summarise(&self, seed: u64) -> Metrics {
        Metrics {
            recall_at_k: bootstrap(&self.recall, seed),
            mrr: bootstrap(&self.rr, seed + 1),
            ndcg_at_k: bootstrap(&self.ndcg, seed + 2),
            roc_auc: bootstrap(&self.auc, seed + 3),
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
    evaluate_with(catalogue, index, train_params, params, |_, _| {})
}

/// As [`evaluate`], also handing each held-out source's full model ranking to `on_ranking`
/// (best first, with the fold model's [ranking score](TransitionModel::score): higher
/// ranks first, ties by code), e.g. to write it out for an independent scorer.
///
/// # Errors
/// As [`evaluate`].
pub fn evaluate_with(
    catalogue: &Catalogue,
    index: &FeatureIndex,
    train_params: &ValidTrainParams,
    params: &EvalParams,
    mut on_ranking: impl FnMut(OccupationId, &[(OccupationId, f64)]),
) -> Result<EvalReport, TrainError> {
    if !FOLDS_RANGE.contains(&params.folds) {
        return Err(TrainError::InvalidParam {
            name: "folds",
            reason: format!("{} not in {FOLDS_RANGE:?}", params.folds),
        });
    }
    if params.k == 0 {
        return Err(TrainError::InvalidParam { name: "k", reason: "must be ≥ 1".to_string() });
    }
    let targets = mobility_targets(catalogue);
    let groups = folds(catalogue, params.folds, params.seed);
    let (mut model_m, mut base_m) = (Collected::default(), Collected::default());
    // (prior-corrected logit, is a curated mobility) of every held-out pair.
    let mut out_of_fold: Vec<(f64, bool)> = Vec::new();
    for (f, held_out) in groups.iter().enumerate() {
        let train_sources: Vec<OccupationId> =
            groups.iter().enumerate().filter(|(g, _)| *g != f).flat_map(|(_, s)| s.iter().copied()).collect();
        let model = train(catalogue, index, &train_sources, train_params)?;
        // Held-out sources' own rows are invisible to the features.
        let mut evidence = MobilityEvidence::new(catalogue, &train_sources);
        if let Some(e) = &model.embedding {
            // Held-out sources are in no inner fold: each gets a fold's embedding, none of
            // which saw its row, as a served profile does.
            evidence = evidence.with_embeddings(e.resolve(catalogue)?);
        }
        for &s in held_out {
            let items: Vec<_> = catalogue.occupation(s).items.iter().map(|l| l.item).collect();
            let scan = index.scan(catalogue, &evidence, &ProfileVector::new(index, &items), Some(s));
            let candidates: Vec<OccupationId> = catalogue.occupation_ids().filter(|t| *t != s).collect();
            let relevant = &targets[s.0 as usize];
            let features: Vec<_> = candidates.iter().map(|&t| scan.features(index, catalogue, t)).collect();
            let mut stage1: Vec<f64> = features.iter().map(|x| model.corrected_logit(x)).collect();
            let threshold = model.head_threshold(&mut stage1);
            let mut by_model: Vec<(OccupationId, f64)> = Vec::with_capacity(candidates.len());
            for (&t, x) in candidates.iter().zip(&features) {
                let score = model.score(x, threshold);
                out_of_fold.push((score, relevant.contains(&t)));
                by_model.push((t, score));
            }
            let mut by_cos: Vec<(OccupationId, f64)> = candidates.iter().map(|&t| (t, scan.cosine(t))).collect();
            let ranked = rank(&mut by_model);
            model_m.push(ranking_metrics(&ranked, relevant, params.k));
            base_m.push(ranking_metrics(&rank(&mut by_cos), relevant, params.k));
            on_ranking(s, &by_model);
        }
    }
    let sources = model_m.recall.len();
    let calibration = Calibration::fit(&out_of_fold, CALIBRATION_BINS).ok();
    let reliability_calibrated = match &calibration {
        Some(c) => reliability(&out_of_fold.iter().map(|(z, y)| (c.apply(*z), *y)).collect::<Vec<_>>()),
        None => Vec::new(),
    };
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
        reliability: reliability(
            &out_of_fold.iter().map(|(z, y)| (sigmoid(TransitionModel::stage_logit(*z)), *y)).collect::<Vec<_>>(),
        ),
        calibration,
        reliability_calibrated,
    })
}

/// Quantile bins the out-of-fold pairs are pooled into for the isotonic calibration.
pub const CALIBRATION_BINS: usize = 1000;

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
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
        let m = ranking_metrics(&ranked, &["b", "e"], 3);
        let (recall, rr, ndcg) = (m.recall, m.reciprocal_rank, m.ndcg);
        assert!((recall - 0.5).abs() < 1e-12);
        assert!((rr - 0.5).abs() < 1e-12);
        // Pairs (relevant, other): b beats c, d; b loses to a; e loses to a, c, d → 2 of 6.
        assert!((m.auc - 2.0 / 6.0).abs() < 1e-12, "{}", m.auc);
        // DCG = 1/log2(3); IDCG = 1/log2(2) + 1/log2(3).
        let expected = (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!((ndcg - expected).abs() < 1e-12, "{ndcg} vs {expected}");
    }

    #[test]
    fn perfect_and_empty_rankings() {
        let m = ranking_metrics(&[1, 2, 3], &[1], 10);
        assert_eq!((m.recall, m.reciprocal_rank, m.ndcg, m.auc), (1.0, 1.0, 1.0, 1.0));
        let m = ranking_metrics(&[1, 2, 3], &[], 10);
        assert_eq!((m.recall, m.reciprocal_rank, m.ndcg), (0.0, 0.0, 0.0));
        // Relevant item beyond k still counts for MRR, not for recall; last place: AUC 0.
        let m = ranking_metrics(&[1, 2, 3, 4], &[4], 2);
        assert_eq!((m.recall, m.reciprocal_rank, m.auc), (0.0, 0.25, 0.0));
    }

    #[test]
    fn reliability_table_on_a_known_case() {
        let pairs = [(0.05, false), (0.08, true), (0.95, true), (1.0, true), (0.55, false)];
        let table = reliability(&pairs);
        assert_eq!(table.len(), 10);
        assert_eq!((table[0].pairs, table[0].observed), (2, 0.5));
        assert!((table[0].mean_predicted - 0.065).abs() < 1e-12);
        assert_eq!((table[5].pairs, table[5].observed), (1, 0.0));
        // 1.0 falls in the last bin.
        assert_eq!((table[9].pairs, table[9].observed), (2, 1.0));
        assert_eq!(table.iter().map(|b| b.pairs).sum::<u64>(), 5);
    }

    #[test]
    fn bootstrap_of_a_constant_is_the_constant() {
        let e = bootstrap(&[0.3; 50], 1);
        assert!((e.mean - 0.3).abs() < 1e-12 && (e.low - 0.3).abs() < 1e-12 && (e.high - 0.3).abs() < 1e-12);
        let e = bootstrap(&[0.0, 1.0], 1);
        assert!(e.low <= e.mean && e.mean <= e.high && e.mean == 0.5);
    }
}
