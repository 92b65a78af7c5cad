//! The transition model: a linfa logistic regression over standardised pair features,
//! trained on France Travail's curated mobilities (positives) against sampled
//! non-mobilities (negatives), and its versioned, checksummed artifact.
//!
//! Inference is a dot product and a sigmoid over the learned weights (no linfa call, so no
//! dimension panic is possible on the request path: the feature vector is a fixed-size array).

use std::collections::HashSet;

use linfa::prelude::*;
use linfa_linear::{FittedIsotonicRegression, IsotonicRegression};
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, ShapeBuilder};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::boost::{fit_boosted, tree_inputs, BoostParams, BoostedTrees, TreeInputs};
use crate::catalogue::{Catalogue, OccupationId};
use crate::embedding::{EmbeddingArtifact, EmbeddingParams, EmbeddingSet};
use crate::error::{DataError, TrainError};
use crate::features::{
    FeatureIndex, Features, MobilityEvidence, ProfileVector, COSINE_IDF, FEATURE_DIRECTION, FEATURE_NAMES,
    LOG_NEIGHBOUR_RANK, LOG_REVERSE_RANK, N_FEATURES,
};

/// Newest artifact layout this build reads and writes: version 3 holds a learned transition
/// embedding ([`TransitionModel::embedding`]), version 2 the reranker's boosted trees
/// ([`Reranker::trees`]); an artifact with neither is written as version 1
/// ([`MIN_ARTIFACT_FORMAT_VERSION`], the layout before both), so a build without support
/// for a part refuses an artifact holding it by its version.
pub const ARTIFACT_FORMAT_VERSION: u32 = 3;
/// The layout of an artifact with boosted trees and no embedding.
pub const TREES_ARTIFACT_FORMAT_VERSION: u32 = 2;
/// Oldest artifact layout this build reads (no boosted trees). Other versions are refused.
pub const MIN_ARTIFACT_FORMAT_VERSION: u32 = 1;

/// Hyperparameters of [`train`], checked by [`TrainParams::check`] (linfa's ParamGuard
/// pattern).
///
/// | parameter | default | range | meaning |
/// |---|---|---|---|
/// | `negatives_per_positive` | 4.0 | 0.5..=50 | sampled non-mobilities per curated mobility of a source |
/// | `hard_negative_share` | 0.0 | 0..=1 | share of negatives drawn among the source's nearest occupations (uniform negatives ranked best in the held-out protocol: 0.0 → recall@10 0.419, 0.5 → 0.389) |
/// | `hard_pool` | 50 | 1..=1000 | how many nearest occupations (by cosine) hard negatives come from |
/// | `alpha` | 1.0 | 0..=1e6 | L2 penalty of the logistic regression (linfa `alpha`) |
/// | `max_iterations` | 200 | 1..=10000 | L-BFGS iterations |
/// | `seed` | 42 | any | seed of the negative sampler |
/// | `objective` | pointwise | pointwise, pairwise | see [`Objective`] |
/// | `knots` | 0 | 0..=10 | hinge knots per feature (quantiles of the feature over the mobilities); 0 = linear (3 knots measured: recall@10 0.423 vs 0.425 linear, so off) |
/// | `rerank_head` | 50 | 0..=500 | occupations re-scored by the second-stage [`Reranker`]; 0 = one stage |
/// | `boost` | none | see [`BoostParams`] | boosted trees correcting the reranker's logit ([`Reranker::trees`]); none = a linear reranker. `Some(BoostParams::default())` measured recall@10 0.449, MRR 0.787 (paired gains clear of zero) but costs about 140 µs more per profile, so it is off by default |
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// Sampled non-mobilities per curated mobility.
    pub negatives_per_positive: f64,
    /// Share of negatives drawn among the nearest occupations.
    pub hard_negative_share: f64,
    /// Size of the nearest-occupation pool for hard negatives.
    pub hard_pool: usize,
    /// L2 penalty.
    pub alpha: f64,
    /// Solver iterations.
    pub max_iterations: u64,
    /// Sampler seed.
    pub seed: u64,
    /// Learning objective.
    #[serde(default)]
    pub objective: Objective,
    /// Hinge knots per feature (0: a linear model).
    #[serde(default)]
    pub knots: usize,
    /// Head size of the second-stage reranker (0: no reranker); see [`Reranker`].
    #[serde(default)]
    pub rerank_head: usize,
    /// Boosted-tree correction of the reranker (none: a linear reranker). Omitted from the
    /// JSON when none, so artifacts without trees keep their layout and checksum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boost: Option<BoostParams>,
    /// The learned transition embedding behind features 48–49 ([`crate::embedding`]);
    /// none: those features are 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<EmbeddingParams>,
}

/// What the logistic regression is fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Each (source, target) pair is a sample labelled mobility / non-mobility.
    #[default]
    Pointwise,
    /// Learning to rank (RankNet-style): each (mobility, non-mobility) pair of the same
    /// source is a sample, the feature difference labelled by which one is the mobility;
    /// the resulting score is then calibrated into a probability by a one-feature logistic
    /// regression on the pointwise samples (Platt scaling). Measured on the held-out
    /// protocol: recall@10 0.424 vs 0.423 for pointwise, for about 20 times the training
    /// time (every mobility × non-mobility pair of a source), so it is not the default.
    Pairwise,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            negatives_per_positive: 4.0,
            hard_negative_share: 0.0,
            hard_pool: 50,
            alpha: 1.0,
            max_iterations: 200,
            seed: 42,
            objective: Objective::Pointwise,
            knots: 0,
            rerank_head: 50,
            boost: None,
            embedding: Some(EmbeddingParams::default()),
        }
    }
}

/// Accepted `hard_pool` ([`TrainParams::check`]; the CLI's `--hard-pool` takes the same).
pub const HARD_POOL_RANGE: std::ops::RangeInclusive<usize> = 1..=1000;
/// Accepted `rerank_head` ([`TrainParams::check`]; the CLI's `--rerank-head`).
pub const RERANK_HEAD_RANGE: std::ops::RangeInclusive<usize> = 0..=500;
/// Accepted `knots` ([`TrainParams::check`]; the CLI's `--knots`).
pub const KNOTS_RANGE: std::ops::RangeInclusive<usize> = 0..=10;

/// Hyperparameters that passed [`TrainParams::check`].
#[derive(Debug, Clone, Copy)]
pub struct ValidTrainParams(TrainParams);

impl TrainParams {
    /// Checks every parameter against its documented range.
    ///
    /// # Errors
    /// [`TrainError::InvalidParam`] naming the first parameter out of range.
    pub fn check(self) -> Result<ValidTrainParams, TrainError> {
        let bad = |name, reason: String| Err(TrainError::InvalidParam { name, reason });
        if !(0.5..=50.0).contains(&self.negatives_per_positive) {
            return bad("negatives_per_positive", format!("{} not in 0.5..=50", self.negatives_per_positive));
        }
        if !(0.0..=1.0).contains(&self.hard_negative_share) {
            return bad("hard_negative_share", format!("{} not in 0..=1", self.hard_negative_share));
        }
        if !HARD_POOL_RANGE.contains(&self.hard_pool) {
            return bad("hard_pool", format!("{} not in {HARD_POOL_RANGE:?}", self.hard_pool));
        }
        if !(0.0..=1e6).contains(&self.alpha) {
            return bad("alpha", format!("{} not in 0..=1e6", self.alpha));
        }
        if !(1..=10_000).contains(&self.max_iterations) {
            return bad("max_iterations", format!("{} not in 1..=10000", self.max_iterations));
        }
        if !RERANK_HEAD_RANGE.contains(&self.rerank_head) {
            return bad("rerank_head", format!("{} not in {RERANK_HEAD_RANGE:?}", self.rerank_head));
        }
        if !KNOTS_RANGE.contains(&self.knots) {
            return bad("knots", format!("{} not in {KNOTS_RANGE:?}", self.knots));
        }
        if let Some(b) = &self.boost {
            b.check()?;
        }
        if let Some(e) = &self.embedding {
            e.check().map_err(|(name, reason)| TrainError::InvalidParam { name, reason })?;
        }
        Ok(ValidTrainParams(self))
    }
}

impl ValidTrainParams {
    /// The checked parameters.
    pub fn get(&self) -> &TrainParams {
        &self.0
    }
}

/// A trained transition model: standardisation and logistic weights over [`FEATURE_NAMES`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionModel {
    /// Feature names, in the order the weights expect (must equal [`FEATURE_NAMES`]).
    pub feature_names: Vec<String>,
    /// Knots of each feature's piecewise-linear terms, ascending (empty: the feature enters
    /// linearly only). Feature `j` gives the model columns `x_j` then `max(0, x_j − knot)`
    /// for each of its knots, so the model is additive but not linear in each feature (a
    /// GAM with hinge basis functions).
    #[serde(default)]
    pub knots: Vec<Vec<f64>>,
    /// Mean of each model column over the training pairs.
    pub mean: Vec<f64>,
    /// Standard deviation of each model column over the training pairs (1 where constant).
    pub scale: Vec<f64>,
    /// Logistic weight of each standardised model column, for the class "is a curated
    /// mobility".
    pub weights: Vec<f64>,
    /// Logistic intercept.
    pub intercept: f64,
    /// Prior correction added to the logit: `logit(base rate) − logit(sampled rate)`, so
    /// probabilities refer to all (source, other occupation) pairs rather than to the
    /// 1:`negatives_per_positive` training sample (King & Zeng's prior correction). It
    /// shifts every score alike and leaves the ranking unchanged.
    pub prior_offset: f64,
    /// Isotonic calibration fitted on out-of-fold predictions of the held-out protocol, if
    /// it was run at training time. It maps the [ranking score](TransitionModel::score).
    #[serde(default)]
    pub calibration: Option<Calibration>,
    /// Second stage of the cascade, if trained.
    #[serde(default)]
    pub rerank: Option<Reranker>,
    /// The learned transition embeddings the features 48–49 are computed with, one per
    /// inner fold of the training sources, each fitted on the other folds' rows (the first
    /// stage only; none in a reranker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<EmbeddingArtifact>,
}

/// The second stage of a two-stage cascade: for one profile, the `head` occupations with
/// the highest first-stage logit (the anchor excluded) are re-scored by a second logistic
/// regression over the same features, fitted only on the heads of the training sources
/// (where the hard decisions are: 50 candidates, most of them with some mobility evidence).
/// Every head occupation then ranks above every other occupation, by the second-stage
/// logit; the rest keep their first-stage order.
///
/// Measured on the held-out protocol: recall@10 0.429 → 0.445 with a head of 50 (25: 0.445,
/// 100: 0.443).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reranker {
    /// How many occupations are re-scored per profile.
    pub head: usize,
    /// The second-stage model (no calibration, no reranker of its own).
    pub model: Box<TransitionModel>,
    /// Optional gradient-boosted trees (structure learned by linfa-trees, see
    /// [`crate::boost`]) whose sum is added to the second-stage logit; their inputs are the
    /// pair's features, its first-stage logit and the second-stage linear logit. Omitted
    /// from the JSON when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trees: Option<BoostedTrees>,
}

impl Reranker {
    /// The reranker's logit of a pair with first-stage logit `z1`: the linear logit plus
    /// the trees' correction, if any.
    pub fn logit(&self, z1: f64, x: &Features) -> f64 {
        let z2 = self.model.corrected_logit(x);
        match &self.trees {
            Some(t) => z2 + t.correction(&tree_inputs(x, z1, z2)),
            None => z2,
        }
    }

    /// The trees' correction alone (0 without trees), in logit units.
    pub fn tree_correction(&self, z1: f64, x: &Features) -> f64 {
        match &self.trees {
            Some(t) => t.correction(&tree_inputs(x, z1, self.model.corrected_logit(x))),
            None => 0.0,
        }
    }
}

/// Offset that puts every head occupation's [ranking score](TransitionModel::score) above
/// every other occupation's: stage logits are clamped to ±[`SCORE_CLAMP`] first.
pub const HEAD_OFFSET: f64 = 100.0;
/// Bound of a stage logit inside the ranking score (a probability within 1e-21 of 0 or 1).
pub const SCORE_CLAMP: f64 = 49.0;

/// A monotone map from the model's (prior-corrected) logit to a calibrated probability:
/// isotonic regression (linfa-linear) of "is a curated mobility" on the logit, fitted on
/// the out-of-fold predictions of the held-out protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Number of quantile bins the held-out pairs were pooled into before the fit.
    pub bins: usize,
    /// The fitted isotonic regression: logit → probability.
    pub isotonic: FittedIsotonicRegression<f64>,
}

impl Calibration {
    /// Fits the calibration on `(prior-corrected logit, is_mobility)` pairs. The pairs are
    /// sorted by logit and pooled into `bins` groups of equal size (mean logit, share of
    /// mobilities, weight = pairs), so the fit stays fast on millions of pairs.
    ///
    /// # Errors
    /// [`TrainError::NotEnoughData`] without pairs or with fewer pairs than 2 bins.
    pub fn fit(pairs: &[(f64, bool)], bins: usize) -> Result<Self, TrainError> {
        if pairs.len() < 2 * bins.max(1) {
            return Err(TrainError::NotEnoughData {
                reason: format!("{} pairs for {bins} calibration bins", pairs.len()),
            });
        }
        let mut sorted: Vec<(f64, bool)> = pairs.iter().copied().filter(|(z, _)| z.is_finite()).collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let size = sorted.len().div_ceil(bins);
        let (mut x, mut y, mut w) = (Vec::new(), Vec::new(), Vec::new());
        for chunk in sorted.chunks(size) {
            let n = chunk.len() as f64;
            x.push(chunk.iter().map(|p| p.0).sum::<f64>() / n);
            y.push(chunk.iter().filter(|p| p.1).count() as f64 / n);
            w.push(chunk.len() as f32);
        }
        let records = Array2::from_shape_vec((x.len(), 1), x)
            .map_err(|e| TrainError::NotEnoughData { reason: format!("calibration data: {e}") })?;
        let dataset = Dataset::new(records, Array1::from(y)).with_weights(Array1::from(w));
        let isotonic = IsotonicRegression::default()
            .fit(&dataset)
            .map_err(|e| TrainError::NotEnoughData { reason: format!("isotonic calibration failed: {e}") })?;
        Ok(Calibration { bins, isotonic })
    }

    /// The calibrated probability in [0, 1] of a prior-corrected logit.
    pub fn apply(&self, logit: f64) -> f64 {
        self.apply_unchecked(logit).clamp(0.0, 1.0)
    }

    /// The isotonic prediction, not clamped (what validation inspects).
    fn apply_unchecked(&self, logit: f64) -> f64 {
        let x = Array2::from_elem((1, 1), logit);
        let p: Array1<f64> = self.isotonic.predict(&x);
        p.get(0).copied().unwrap_or(f64::NAN)
    }
}

/// Index of [`Contribution::feature`] that stands for the reranker's boosted trees: their
/// correction is a combination of the features, not attributable to any one of them.
pub const TREE_FACTOR: usize = N_FEATURES;
/// Name of the [`TREE_FACTOR`] in answers.
pub const TREE_FACTOR_NAME: &str = "tree_combinations";
/// Explanation of the [`TREE_FACTOR`] in answers.
pub const TREE_FACTOR_EXPLANATION: &str = "combinations of the signals above (tree model)";

/// One feature's push on a score: `weight × standardised value`, in logit units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Contribution {
    /// Index in [`FEATURE_NAMES`], or [`TREE_FACTOR`] for the boosted trees' correction.
    pub feature: usize,
    /// Contribution to the logit (positive pushes the probability up).
    pub logit: f64,
}

impl TransitionModel {
    /// The first-stage threshold of a profile's head: the `head`-th highest of
    /// `stage1_logits` (the [`corrected_logit`](Self::corrected_logit) of every occupation
    /// but the anchor). `+∞` without a reranker (no occupation is in the head).
    pub fn head_threshold(&self, stage1_logits: &mut [f64]) -> f64 {
        match &self.rerank {
            Some(r) if r.head > 0 && !stage1_logits.is_empty() => {
                let k = r.head.min(stage1_logits.len()) - 1;
                let (_, kth, _) = stage1_logits.select_nth_unstable_by(k, |a, b| b.total_cmp(a));
                *kth
            }
            _ => f64::INFINITY,
        }
    }

    /// The ranking score of a pair, given its profile's [`head_threshold`](Self::head_threshold):
    /// `HEAD_OFFSET + second-stage logit` in the head, the first-stage logit elsewhere
    /// (both clamped to ±[`SCORE_CLAMP`]). Higher ranks first; it is what calibration maps.
    pub fn score(&self, x: &Features, threshold: f64) -> f64 {
        self.score_from(self.corrected_logit(x), x, threshold)
    }

    /// [`score`](Self::score) when the first-stage logit `z1` of `x` is already known.
    pub fn score_from(&self, z1: f64, x: &Features, threshold: f64) -> f64 {
        match &self.rerank {
            Some(r) if z1 >= threshold => HEAD_OFFSET + r.logit(z1, x).clamp(-SCORE_CLAMP, SCORE_CLAMP),
            _ => z1.clamp(-SCORE_CLAMP, SCORE_CLAMP),
        }
    }

    /// The stage logit inside a ranking score (the score without the head offset).
    pub fn stage_logit(score: f64) -> f64 {
        if score > HEAD_OFFSET / 2.0 {
            score - HEAD_OFFSET
        } else {
            score
        }
    }

    /// Probability in [0, 1] that the pair is one of France Travail's curated mobilities
    /// for a one-stage model (see [`probability_of`](Self::probability_of)).
    pub fn probability(&self, x: &Features) -> f64 {
        self.probability_of(self.corrected_logit(x))
    }

    /// The probability of a [ranking score](Self::score): calibrated when the model has a
    /// calibration, else the logistic of the stage logit (prior-corrected to the base rate
    /// of curated mobilities among all pairs of the training data, about 0.6 % for ROME
    /// v460, for the first stage; the share of mobilities among training heads for the
    /// second).
    pub fn probability_of(&self, score: f64) -> f64 {
        match &self.calibration {
            Some(c) => c.apply(score),
            None => sigmoid(Self::stage_logit(score)),
        }
    }

    /// The contributions that explain a result: those of
    /// [`contributions_at`](Self::contributions_at) that push the score up *and* whose
    /// feature value lies on the side of the training mean that its explanation states
    /// ([`FEATURE_DIRECTION`]); a negative weight times a below-mean value also pushes up,
    /// but "jobs close to the profile lead here" would then be false. The two neighbour
    /// ranks ("among the closest") are not explanations of a pair whose skills do not overlap
    /// at all (cosine 0): a short profile leaves most occupations at cosine 0, tied at a rank
    /// below the training mean, and "this job is among the closest to the person's profile"
    /// was shown for jobs sharing nothing with it. Largest push first.
    /// In the head of a reranker with boosted trees, a positive tree correction is one more
    /// contribution, [`TREE_FACTOR`] (the trees combine features; no single one is named).
    pub fn supporting_contributions(&self, x: &Features, score: f64) -> Vec<Contribution> {
        let (model, trees) = match &self.rerank {
            // The first-stage logit is an input of the trees only: computed only with trees.
            Some(r) if score > HEAD_OFFSET / 2.0 => {
                let trees = if r.trees.is_some() { r.tree_correction(self.corrected_logit(x), x) } else { 0.0 };
                (&*r.model, trees)
            }
            _ => (self, 0.0),
        };
        // Column of each feature's own (linear) term.
        let mut first_column = [0usize; N_FEATURES];
        let mut col = 0;
        for (j, first) in first_column.iter_mut().enumerate() {
            *first = col;
            col += 1 + model.knots.get(j).map_or(0, Vec::len);
        }
        let mut out: Vec<Contribution> = model
            .contributions(x)
            .into_iter()
            .filter(|c| {
                let side = x[c.feature] - model.mean[first_column[c.feature]];
                let rank_without_overlap =
                    matches!(c.feature, LOG_NEIGHBOUR_RANK | LOG_REVERSE_RANK) && x[COSINE_IDF] <= 0.0;
                c.logit > 0.0 && f64::from(FEATURE_DIRECTION[c.feature]) * side > 0.0 && !rank_without_overlap
            })
            .collect();
        if trees > 0.0 {
            out.push(Contribution { feature: TREE_FACTOR, logit: trees });
            out.sort_by(|a, b| b.logit.total_cmp(&a.logit));
        }
        out
    }

    /// Per-feature contributions of the model that produced `score` (the reranker in the
    /// head), largest push first.
    pub fn contributions_at(&self, x: &Features, score: f64) -> Vec<Contribution> {
        match &self.rerank {
            Some(r) if score > HEAD_OFFSET / 2.0 => r.model.contributions(x),
            _ => self.contributions(x),
        }
    }

    /// The prior-corrected logit, before calibration: what calibration is fitted on, and
    /// what ranks candidates (calibration is monotone but has flat steps, so ranking by it
    /// would create ties).
    pub fn corrected_logit(&self, x: &Features) -> f64 {
        self.logit(x) + self.prior_offset
    }

    fn logit(&self, x: &Features) -> f64 {
        if self.knots.iter().all(Vec::is_empty) {
            // Linear model: one column per feature (validated lengths), same arithmetic as
            // `feature_term` without its per-column lookups.
            return self.intercept
                + x.iter()
                    .zip(&self.weights)
                    .zip(self.mean.iter().zip(&self.scale))
                    .map(|((v, w), (m, s))| w * (v - m) / s)
                    .sum::<f64>();
        }
        let mut col = 0;
        self.intercept + x.iter().enumerate().map(|(j, v)| self.feature_term(*v, j, &mut col)).sum::<f64>()
    }

    /// The summed contribution of feature `j` (value `v`) over its model columns, starting
    /// at column `*col` and advancing it (the model validated its lengths).
    fn feature_term(&self, v: f64, j: usize, col: &mut usize) -> f64 {
        let knots: &[f64] = self.knots.get(j).map_or(&[], Vec::as_slice);
        let mut term = self.weights[*col] * (v - self.mean[*col]) / self.scale[*col];
        *col += 1;
        for k in knots {
            term += self.weights[*col] * ((v - k).max(0.0) - self.mean[*col]) / self.scale[*col];
            *col += 1;
        }
        term
    }

    /// Number of model columns: one per feature plus one per knot.
    fn n_columns(&self) -> usize {
        N_FEATURES + self.knots.iter().map(Vec::len).sum::<usize>()
    }

    /// Per-feature contributions to the logit (each feature's columns summed), largest push
    /// first.
    pub fn contributions(&self, x: &Features) -> Vec<Contribution> {
        let mut col = 0;
        let mut c: Vec<Contribution> =
            (0..N_FEATURES).map(|j| Contribution { feature: j, logit: self.feature_term(x[j], j, &mut col) }).collect();
        c.sort_by(|a, b| b.logit.total_cmp(&a.logit));
        c
    }

    /// The artifact layout this model needs: 3 with an embedding, else 2 with boosted trees,
    /// 1 with neither.
    pub fn format_version(&self) -> u32 {
        if self.embedding.is_some() {
            return ARTIFACT_FORMAT_VERSION;
        }
        match &self.rerank {
            Some(r) if r.trees.is_some() => TREES_ARTIFACT_FORMAT_VERSION,
            _ => MIN_ARTIFACT_FORMAT_VERSION,
        }
    }

    /// Checks that the model matches this build's feature definition, that its numbers are
    /// in range and that its embedding's parameters and lists are consistent
    /// ([`EmbeddingArtifact::validate`]; the matrices are checked when the embedding is
    /// resolved against a catalogue).
    ///
    /// # Errors
    /// [`DataError::Artifact`] naming the part at fault: names or vector lengths that differ,
    /// values out of range, a malformed reranker, trees, calibration or embedding.
    pub fn validate(&self) -> Result<(), DataError> {
        let names: Vec<&str> = self.feature_names.iter().map(String::as_str).collect();
        if names != FEATURE_NAMES {
            return Err(DataError::Artifact {
                reason: format!("feature mismatch: artifact has {names:?}, this build computes {FEATURE_NAMES:?}"),
            });
        }
        if !self.knots.is_empty() && self.knots.len() != N_FEATURES {
            return Err(DataError::Artifact {
                reason: format!("knots has {} lists, expected {N_FEATURES}", self.knots.len()),
            });
        }
        if self.knots.iter().flatten().any(|k| !k.is_finite()) {
            return Err(DataError::Artifact { reason: "knots has a non-finite value".to_string() });
        }
        let n_columns = self.n_columns();
        for (what, v) in [("mean", &self.mean), ("scale", &self.scale), ("weights", &self.weights)] {
            if v.len() != n_columns {
                return Err(DataError::Artifact {
                    reason: format!("{what} has {} values, expected {n_columns}", v.len()),
                });
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(DataError::Artifact { reason: format!("{what} has a non-finite value") });
            }
        }
        if self.weights.iter().chain([&self.intercept, &self.prior_offset]).any(|w| w.abs() > 1e6) {
            return Err(DataError::Artifact { reason: "a weight, intercept or offset is beyond ±1e6".to_string() });
        }
        if let Some(r) = &self.rerank {
            if r.model.rerank.is_some() || r.model.calibration.is_some() || r.head == 0 {
                return Err(DataError::Artifact {
                    reason: "the reranker must have a head ≥ 1 and no calibration or reranker of its own".to_string(),
                });
            }
            if r.model.embedding.is_some() {
                // Features are computed once per profile, with the first stage's embedding: a
                // second one would be ignored, and its format version never checked.
                return Err(DataError::Artifact {
                    reason:
                        "rerank.model.embedding: the reranker has no embedding of its own (the first stage's is used)"
                            .to_string(),
                });
            }
            r.model.validate()?;
            if let Some(t) = &r.trees {
                t.validate()?;
            }
        }
        if let Some(e) = &self.embedding {
            e.validate()?;
        }
        if let Some(c) = &self.calibration {
            // linfa's isotonic prediction indexes its arrays: check their shape first.
            let value = serde_json::to_value(&c.isotonic).unwrap_or_default();
            let len = |key: &str| value[key]["data"].as_array().map_or(0, Vec::len);
            let (n_x, n_y) = (len("regressor"), len("response"));
            if n_x == 0 || n_x != n_y {
                return Err(DataError::Artifact {
                    reason: format!("calibration has {n_x} thresholds and {n_y} values"),
                });
            }
            // The calibration must map logits to probabilities, never decreasing.
            let grid: Vec<f64> = (-400..=400).map(|k| c.apply_unchecked(f64::from(k) / 10.0)).collect();
            if c.bins == 0 || grid.iter().any(|p| !(0.0..=1.0).contains(p)) || grid.windows(2).any(|w| w[1] < w[0]) {
                return Err(DataError::Artifact {
                    reason: "calibration is not a non-decreasing map into [0, 1]".to_string(),
                });
            }
        }
        if self.scale.iter().any(|s| *s <= 0.0) || !self.intercept.is_finite() || !self.prior_offset.is_finite() {
            return Err(DataError::Artifact {
                reason: "scale must be > 0, intercept and prior_offset finite".to_string(),
            });
        }
        Ok(())
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The training pairs of some sources: features and labels (true = curated mobility).
#[derive(Debug, Clone)]
pub struct TrainingSet {
    /// One feature vector per pair.
    pub features: Vec<Features>,
    /// `true` for a curated mobility.
    pub labels: Vec<bool>,
    /// Source of each pair (pairs of one source form a ranking group).
    pub groups: Vec<u32>,
    /// Share of curated mobilities among all (source, other occupation) pairs of the
    /// sources used, in 0..1 (the rate the prior correction restores).
    pub base_rate: f64,
}

/// Builds training pairs: for each source, its curated mobilities and sampled
/// non-mobilities (a `hard_negative_share` among its `hard_pool` nearest occupations, the
/// rest uniform; all uniform by default).
/// A source with no mobility row contributes nothing (it can still be ranked at serving).
/// `evidence` must be [`training_evidence`] of `sources`: the mobility features see only the
/// rows of `sources`, never the row of the source being labelled.
pub fn training_pairs(
    catalogue: &Catalogue,
    index: &FeatureIndex,
    evidence: &MobilityEvidence,
    sources: &[OccupationId],
    params: &ValidTrainParams,
) -> TrainingSet {
    let p = params.get();
    let targets = mobility_targets(catalogue);
    let mut set = TrainingSet { features: Vec::new(), labels: Vec::new(), groups: Vec::new(), base_rate: 0.0 };
    let (mut all_pairs, mut all_positives) = (0usize, 0usize);
    for &s in sources {
        let positives = &targets[s.0 as usize];
        if positives.is_empty() {
            continue;
        }
        all_pairs += catalogue.occupations.len() - 1;
        all_positives += positives.len();
        let pos_set: HashSet<OccupationId> = positives.iter().copied().collect();
        let items: Vec<_> = catalogue.occupation(s).items.iter().map(|l| l.item).collect();
        let profile = ProfileVector::new(index, &items);
        let scan = index.scan(catalogue, evidence, &profile, Some(s));
        let mut rng = StdRng::seed_from_u64(p.seed ^ (u64::from(s.0) << 20));
        let mut others: Vec<OccupationId> =
            catalogue.occupation_ids().filter(|o| *o != s && !pos_set.contains(o)).collect();
        let n_neg = ((positives.len() as f64) * p.negatives_per_positive).round() as usize;
        let n_hard = ((n_neg as f64) * p.hard_negative_share).round() as usize;
        let mut by_cos = others.clone();
        by_cos.sort_by(|a, b| scan.cosine(*b).total_cmp(&scan.cosine(*a)).then(a.cmp(b)));
        by_cos.truncate(p.hard_pool);
        by_cos.shuffle(&mut rng);
        let hard: Vec<OccupationId> = by_cos.into_iter().take(n_hard).collect();
        others.retain(|o| !hard.contains(o));
        others.shuffle(&mut rng);
        let uniform = others.into_iter().take(n_neg.saturating_sub(hard.len()));
        for &t in positives {
            set.features.push(scan.features(index, catalogue, t));
            set.labels.push(true);
            set.groups.push(s.0);
        }
        for t in hard.into_iter().chain(uniform) {
            set.features.push(scan.features(index, catalogue, t));
            set.labels.push(false);
            set.groups.push(s.0);
        }
    }
    set.base_rate = if all_pairs == 0 { 0.0 } else { all_positives as f64 / all_pairs as f64 };
    set
}

/// The curated mobility targets of every occupation, indexed by [`OccupationId`].
pub fn mobility_targets(catalogue: &Catalogue) -> Vec<Vec<OccupationId>> {
    let mut targets = vec![Vec::new(); catalogue.occupations.len()];
    for m in &catalogue.mobilities {
        targets[m.source.0 as usize].push(m.target);
    }
    targets
}

/// Trains the transition model on the mobilities of `sources` with linfa-logistic: the
/// first stage on sampled pairs ([`training_pairs`], [`fit`]), then the [`Reranker`]
/// ([`fit_reranker`]).
///
/// # Errors
/// [`TrainError::NotEnoughData`] when the sources have no mobility (or only one class),
/// [`TrainError::Fit`] when linfa fails.
pub fn train(
    catalogue: &Catalogue,
    index: &FeatureIndex,
    sources: &[OccupationId],
    params: &ValidTrainParams,
) -> Result<TransitionModel, TrainError> {
    let (evidence, embedding) = training_evidence(catalogue, index, sources, params);
    let set = training_pairs(catalogue, index, &evidence, sources, params);
    let mut model = fit(&set, params)?;
    fit_reranker(catalogue, index, &evidence, sources, &mut model, params)?;
    model.embedding = embedding;
    Ok(model)
}

/// Inner folds of the embeddings' cross-fitting in [`training_evidence`]: the same split
/// of the sources as [`cross_fitted_heads`] (every `k`-th source with a row).
pub const EMBEDDING_INNER_FOLDS: usize = BOOST_INNER_FOLDS;

/// The mobility evidence the training pairs of `sources` are computed with: their rows and,
/// when `params.embedding` is set, learned transition embeddings, one per inner fold
/// ([`EmbeddingSet::fit_cross`], 5 fits on rayon's pool), with their serialised form for
/// the artifact. A training pair never sees an embedding fitted on its own source's row,
/// as a held-out or served profile never does.
pub fn training_evidence(
    catalogue: &Catalogue,
    index: &FeatureIndex,
    sources: &[OccupationId],
    params: &ValidTrainParams,
) -> (MobilityEvidence, Option<EmbeddingArtifact>) {
    let evidence = MobilityEvidence::new(catalogue, sources);
    let fitted = params
        .get()
        .embedding
        .and_then(|ep| EmbeddingSet::fit_cross(catalogue, index, sources, EMBEDDING_INNER_FOLDS, &ep));
    match fitted {
        Some((set, artifact)) => (evidence.with_embeddings(set), Some(artifact)),
        None => (evidence, None),
    }
}

/// Fits standardisation and logistic weights on a training set.
///
/// # Errors
/// As [`train`].
pub fn fit(set: &TrainingSet, params: &ValidTrainParams) -> Result<TransitionModel, TrainError> {
    let n = set.features.len();
    let n_pos = set.labels.iter().filter(|l| **l).count();
    if n_pos == 0 || n_pos == n {
        return Err(TrainError::NotEnoughData {
            reason: format!("{n} training pairs with {n_pos} mobilities: both classes are needed"),
        });
    }
    let knots = choose_knots(set, params.get().knots);
    let columns = |x: &Features| -> Vec<f64> {
        let mut row = Vec::with_capacity(N_FEATURES);
        for (j, v) in x.iter().enumerate() {
            row.push(*v);
            row.extend(knots[j].iter().map(|k| (v - k).max(0.0)));
        }
        row
    };
    let n_columns = N_FEATURES + knots.iter().map(Vec::len).sum::<usize>();
    let mut records = Array2::<f64>::zeros((n, n_columns));
    for (mut row, x) in records.rows_mut().into_iter().zip(&set.features) {
        row.assign(&Array1::from(columns(x)));
    }
    let mut mean = vec![0.0; n_columns];
    let mut scale = vec![0.0; n_columns];
    for row in records.rows() {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v / n as f64;
        }
    }
    for row in records.rows() {
        for ((s, m), v) in scale.iter_mut().zip(&mean).zip(row) {
            *s += (v - m).powi(2) / n as f64;
        }
    }
    for s in &mut scale {
        *s = if *s > 1e-12 { s.sqrt() } else { 1.0 };
    }
    for mut row in records.rows_mut() {
        for ((r, m), s) in row.iter_mut().zip(&mean).zip(&scale) {
            *r = (*r - m) / s;
        }
    }
    let p = params.get();
    let (weights, intercept) = match p.objective {
        Objective::Pointwise => logistic(records, set.labels.clone(), p, true)?,
        Objective::Pairwise => {
            let diffs = pair_differences(&records, set);
            let labels = alternate(diffs.nrows());
            let (w, _) = logistic(diffs, labels, p, false)?;
            // Platt scaling: one-feature logistic regression of the label on the score.
            let scores = records.dot(&Array1::from(w.clone())).insert_axis(ndarray::Axis(1));
            let (a, b) = logistic(scores, set.labels.clone(), p, true)?;
            (w.iter().map(|wj| wj * a[0]).collect(), b)
        }
    };
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let sampled_rate = n_pos as f64 / n as f64;
    let prior_offset =
        if set.base_rate > 0.0 && set.base_rate < 1.0 { logit(set.base_rate) - logit(sampled_rate) } else { 0.0 };
    Ok(TransitionModel {
        feature_names: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        knots,
        mean,
        scale,
        weights,
        intercept,
        prior_offset,
        calibration: None,
        rerank: None,
        embedding: None,
    })
}

/// Fits the second-stage [`Reranker`] of `stage1` on the heads of `sources` (the
/// `rerank_head` occupations each ranks highest by `stage1`, its own excluded), with the
/// mobility evidence of `sources` only, and attaches it. Does nothing when `rerank_head`
/// is 0.
///
/// # Errors
/// [`TrainError::NotEnoughData`] when the heads hold no mobility (or nothing else),
/// [`TrainError::Fit`] when linfa fails.
pub fn fit_reranker(
    catalogue: &Catalogue,
    index: &FeatureIndex,
    evidence: &MobilityEvidence,
    sources: &[OccupationId],
    stage1: &mut TransitionModel,
    params: &ValidTrainParams,
) -> Result<(), TrainError> {
    let head = params.get().rerank_head;
    stage1.rerank = None;
    if head == 0 {
        return Ok(());
    }
    let targets = mobility_targets(catalogue);
    let mut set = TrainingSet { features: Vec::new(), labels: Vec::new(), groups: Vec::new(), base_rate: 0.0 };
    // One source's head; sources in parallel (rayon), collected in order.
    let head_of = |s: OccupationId| -> Vec<(Features, bool)> {
        let positives = &targets[s.0 as usize];
        if positives.is_empty() {
            return Vec::new();
        }
        source_head(catalogue, index, evidence, stage1, s, head)
            .into_iter()
            .map(|(_, t, x)| (x, positives.contains(&t)))
            .collect()
    };
    let heads: Vec<Vec<(Features, bool)>> = sources.par_iter().map(|&s| head_of(s)).collect();
    for (&s, rows) in sources.iter().zip(heads) {
        for (x, label) in rows {
            set.features.push(x);
            set.labels.push(label);
            set.groups.push(s.0);
        }
    }
    let n_pos = set.labels.iter().filter(|l| **l).count();
    // The second stage's probabilities refer to head pairs: no prior correction.
    set.base_rate = n_pos as f64 / set.labels.len().max(1) as f64;
    let model = fit(&set, params)?;
    let mut reranker = Reranker { head, model: Box::new(model), trees: None };
    if let Some(boost) = &params.get().boost {
        if boost.rounds > 0 {
            let heads = cross_fitted_heads(
                catalogue,
                index,
                evidence.embeddings(),
                sources,
                stage1,
                &reranker,
                BOOST_INNER_FOLDS,
            );
            match fit_boosted(&heads.rows, &heads.labels, &heads.f0, &heads.groups, boost) {
                Ok((trees, trace)) => {
                    tracing::info!(trees = trace.kept, rows = heads.rows.len(), "boosted reranker trees fitted");
                    reranker.trees = Some(trees);
                }
                // A small export (a few sources) may leave a boosting split with one class:
                // the reranker stays linear, and the artifact's model kind says so.
                Err(TrainError::NotEnoughData { reason }) => {
                    tracing::warn!(%reason, "no boosted trees: the reranker stays linear");
                }
                Err(e) => return Err(e),
            }
        }
    }
    stage1.rerank = Some(reranker);
    Ok(())
}

/// Inner folds of [`cross_fitted_heads`].
pub const BOOST_INNER_FOLDS: usize = 5;

/// Head rows for the boosted trees: inputs, labels, the linear reranker's logit, source.
#[derive(Debug, Clone, Default)]
pub struct BoostRows {
    /// Tree inputs of each row.
    pub rows: Vec<TreeInputs>,
    /// `true` for a curated mobility.
    pub labels: Vec<bool>,
    /// The linear reranker's logit (what the trees correct).
    pub f0: Vec<f64>,
    /// Source of each row (rows of a source are contiguous).
    pub groups: Vec<u32>,
}

/// The heads of `sources` computed as the held-out protocol and serving compute them for a
/// source whose own row is not among the training rows: the sources are split into
/// `inner` folds (every `inner`-th source), and a fold's heads use the mobility evidence
/// of the other folds only. Trees fitted on heads whose evidence holds every other
/// training row learn patterns that do not carry over to held-out sources (measured:
/// recall@10 −0.010 on the protocol, against a gain with these heads). `embeddings` are
/// those of [`training_evidence`], whose split is the same when `inner` is
/// [`EMBEDDING_INNER_FOLDS`]: a source then sees the embedding fitted without its row.
pub fn cross_fitted_heads(
    catalogue: &Catalogue,
    index: &FeatureIndex,
    embeddings: &EmbeddingSet,
    sources: &[OccupationId],
    stage1: &TransitionModel,
    reranker: &Reranker,
    inner: usize,
) -> BoostRows {
    let targets = mobility_targets(catalogue);
    let with_rows: Vec<OccupationId> = sources.iter().copied().filter(|s| !targets[s.0 as usize].is_empty()).collect();
    let inner = inner.max(2);
    let mut out = BoostRows::default();
    for k in 0..inner {
        let visible: Vec<OccupationId> =
            with_rows.iter().enumerate().filter(|(i, _)| i % inner != k).map(|(_, s)| *s).collect();
        let evidence = MobilityEvidence::new(catalogue, &visible).with_embeddings(embeddings.clone());
        let fold: Vec<OccupationId> =
            with_rows.iter().enumerate().filter(|(i, _)| i % inner == k).map(|(_, s)| *s).collect();
        // One source's head rows; sources in parallel (rayon), collected in order.
        let head_rows = |s: OccupationId| {
            let positives = &targets[s.0 as usize];
            source_head(catalogue, index, &evidence, stage1, s, reranker.head)
                .into_iter()
                .map(|(z1, t, x)| {
                    let z2 = reranker.model.corrected_logit(&x);
                    (tree_inputs(&x, z1, z2), positives.contains(&t), z2, s.0)
                })
                .collect::<Vec<_>>()
        };
        let rows: Vec<Vec<_>> = fold.par_iter().map(|&s| head_rows(s)).collect();
        for (inputs, label, z2, group) in rows.into_iter().flatten() {
            out.rows.push(inputs);
            out.labels.push(label);
            out.f0.push(z2);
            out.groups.push(group);
        }
    }
    out
}

/// The `head` occupations source `s` (profiled by its own items) ranks highest by `stage1`'s
/// prior-corrected logit, itself excluded, with that logit and their feature vectors, seeing
/// only the mobility rows of `evidence`; in no particular order (ties by id at the cut).
/// These are the rows the reranker is fitted on (and, cross-fitted, the boosted trees).
pub fn source_head(
    catalogue: &Catalogue,
    index: &FeatureIndex,
    evidence: &MobilityEvidence,
    stage1: &TransitionModel,
    s: OccupationId,
    head: usize,
) -> Vec<(f64, OccupationId, Features)> {
    let items: Vec<_> = catalogue.occupation(s).items.iter().map(|l| l.item).collect();
    let scan = index.scan(catalogue, evidence, &ProfileVector::new(index, &items), Some(s));
    let mut scored: Vec<(f64, OccupationId, Features)> = catalogue
        .occupation_ids()
        .filter(|t| *t != s)
        .map(|t| {
            let x = scan.features(index, catalogue, t);
            (stage1.corrected_logit(&x), t, x)
        })
        .collect();
    let k = head.min(scored.len());
    if k > 0 && k < scored.len() {
        scored.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    }
    scored.truncate(k);
    scored
}

/// Knots of each feature: `per_feature` quantiles (evenly spaced ranks) of the feature over
/// the training mobilities (where the ranking has to discriminate), without duplicates and strictly inside its range, so binary features
/// get none.
fn choose_knots(set: &TrainingSet, per_feature: usize) -> Vec<Vec<f64>> {
    (0..N_FEATURES)
        .map(|j| {
            if per_feature == 0 {
                return Vec::new();
            }
            let mut v: Vec<f64> = set
                .features
                .iter()
                .zip(&set.labels)
                .filter(|(_, y)| **y)
                .map(|(x, _)| x[j])
                .filter(|v| v.is_finite())
                .collect();
            v.sort_by(f64::total_cmp);
            let (Some(&lo), Some(&hi)) = (v.first(), v.last()) else { return Vec::new() };
            let mut knots: Vec<f64> = (1..=per_feature)
                .map(|q| v[(q * (v.len() - 1)) / (per_feature + 1)])
                .filter(|k| *k > lo && *k < hi)
                .collect();
            knots.dedup();
            knots
        })
        .collect()
}

/// Fits a linfa logistic regression and returns (weights, intercept) for the class `true`.
fn logistic(
    records: Array2<f64>,
    labels: Vec<bool>,
    p: &TrainParams,
    intercept: bool,
) -> Result<(Vec<f64>, f64), TrainError> {
    // Column-major records: linfa-logistic's gradient multiplies by the records' transpose
    // (`x.t().dot(r)`), which walks the columns; contiguous columns make that product a run
    // of contiguous dot products instead of strided ones (the logistic fits take about half
    // the time; the model is the same up to rounding).
    let mut columns = Array2::<f64>::zeros(records.raw_dim().f());
    columns.assign(&records);
    let dataset = Dataset::new(columns, Array1::from(labels));
    let fitted = LogisticRegression::default()
        .alpha(p.alpha)
        .max_iterations(p.max_iterations)
        .with_intercept(intercept)
        .fit(&dataset)?;
    // linfa-logistic calls "positive" the more frequent training label (here usually
    // `false`): turn its weights into weights for `true`.
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    Ok((fitted.params().iter().map(|w| sign * w).collect(), sign * fitted.intercept()))
}

/// Pairs (mobility, non-mobility) of the same source, in group order.
fn ranking_pairs(set: &TrainingSet) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let mut start = 0;
    while start < set.groups.len() {
        let mut end = start;
        while end < set.groups.len() && set.groups[end] == set.groups[start] {
            end += 1;
        }
        for i in start..end {
            if set.labels[i] {
                pairs.extend((start..end).filter(|&j| !set.labels[j]).map(|j| (i, j)));
            }
        }
        start = end;
    }
    pairs
}

/// Differences `x_pos − x_neg`, every other one negated so both labels occur equally.
fn pair_differences(records: &Array2<f64>, set: &TrainingSet) -> Array2<f64> {
    let pairs = ranking_pairs(set);
    let mut diffs = Array2::<f64>::zeros((pairs.len(), records.ncols()));
    for (k, (i, j)) in pairs.into_iter().enumerate() {
        let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
        let d = (&records.row(i) - &records.row(j)) * sign;
        diffs.row_mut(k).assign(&d);
    }
    diffs
}

/// Labels matching [`pair_differences`]: `true` where the difference is mobility − other.
fn alternate(n: usize) -> Vec<bool> {
    (0..n).map(|k| k % 2 == 0).collect()
}
/// Identifies the data a model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataVersion {
    /// Human name, e.g. "ROME 4.0 v460 (France Travail)".
    pub name: String,
    /// [`Catalogue::checksum`] of the training data.
    pub checksum: String,
    /// Occupations in the data.
    pub occupations: usize,
    /// Curated mobilities in the data.
    pub mobilities: usize,
}

/// A versioned model artifact: the model, what it was trained on, how, and how well it
/// does on held-out sources. Serialised as JSON; `checksum` is the SHA-256 of the JSON of
/// every other field, so a corrupt or hand-edited artifact is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelArtifact {
    /// Must equal [`ARTIFACT_FORMAT_VERSION`].
    pub format_version: u32,
    /// Model family: `"linfa-logistic"`, or `"linfa-logistic cascade (2 stages)"` with a
    /// [`Reranker`].
    pub model_kind: String,
    /// Training data.
    pub data: DataVersion,
    /// Hyperparameters.
    pub params: TrainParams,
    /// Training pairs used (positives, negatives).
    pub training_pairs: (usize, usize),
    /// The model.
    pub model: TransitionModel,
    /// Held-out metrics, when the protocol was run at training time.
    pub evaluation: Option<crate::eval::EvalReport>,
    /// SHA-256 (hex) of the JSON of the fields above.
    #[serde(default)]
    pub checksum: String,
}

impl ModelArtifact {
    /// Computes the checksum of the artifact's content (every field but `checksum`).
    pub fn compute_checksum(&self) -> String {
        let mut copy = self.clone();
        copy.checksum = String::new();
        let json = serde_json::to_vec(&copy).unwrap_or_default();
        Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Sets the checksum and returns the pretty JSON to write.
    ///
    /// # Errors
    /// Only if serialisation fails (it does not for finite numbers).
    pub fn to_json(&mut self) -> Result<String, serde_json::Error> {
        self.checksum = self.compute_checksum();
        serde_json::to_string_pretty(self)
    }

    /// Parses and validates an artifact: format version, checksum, feature schema.
    ///
    /// # Errors
    /// [`DataError::Artifact`] with the reason (not JSON, wrong version, checksum mismatch,
    /// features this build does not compute).
    pub fn from_json(text: &str) -> Result<Self, DataError> {
        #[derive(Deserialize)]
        struct Head {
            format_version: u32,
        }
        let head: Head = serde_json::from_str(text).map_err(|e| DataError::Artifact {
            reason: format!("not a Passerelle model artifact: {}", plain_reason(&e)),
        })?;
        if !(MIN_ARTIFACT_FORMAT_VERSION..=ARTIFACT_FORMAT_VERSION).contains(&head.format_version) {
            return Err(DataError::Artifact {
                reason: format!(
                    "format_version {} is not supported (this build reads {MIN_ARTIFACT_FORMAT_VERSION} to {ARTIFACT_FORMAT_VERSION}); retrain with `passerelle train`",
                    head.format_version
                ),
            });
        }
        let artifact: ModelArtifact = serde_json::from_str(text).map_err(|e| {
            // The model card written beside the artifact has a `format_version` too, and its
            // `model` is a name, where the artifact's is the fitted model.
            #[derive(Deserialize)]
            struct CardHead {
                model: String,
            }
            let reason = if serde_json::from_str::<CardHead>(text).is_ok_and(|card| !card.model.is_empty()) {
                "this is a model card (the `.card.json` that `passerelle train` writes beside the artifact), not the artifact: give the artifact file".to_string()
            } else {
                format!("malformed artifact: {}", plain_reason(&e))
            };
            DataError::Artifact { reason }
        })?;
        let expected = artifact.compute_checksum();
        if artifact.checksum.is_empty() {
            // serde's default: the key is missing (or empty). "file says , content is …"
            // read as a formatting slip rather than as the missing field it is.
            return Err(DataError::Artifact {
                reason: format!(
                    "no `checksum` (the key is missing or empty; the content's is {expected}): `passerelle train` always writes one, so the file is corrupt or was edited"
                ),
            });
        }
        if artifact.checksum != expected {
            return Err(DataError::Artifact {
                reason: format!(
                    "checksum mismatch (file says {}, content is {expected}): the file is corrupt or was edited",
                    artifact.checksum
                ),
            });
        }
        artifact.model.validate()?;
        if let Some(e) = &artifact.model.embedding {
            // The card shows `params`: it must describe the embedding stored.
            if artifact.params.embedding != Some(e.params) {
                return Err(DataError::Artifact {
                    reason: format!(
                        "params.embedding {:?} differs from model.embedding.params {:?}",
                        artifact.params.embedding, e.params
                    ),
                });
            }
        }
        if artifact.format_version != artifact.model.format_version() {
            return Err(DataError::Artifact {
                reason: format!(
                    "format_version {} does not match the model, which needs version {}",
                    artifact.format_version,
                    artifact.model.format_version()
                ),
            });
        }
        Ok(artifact)
    }
}

/// serde's reason without the Rust types it names (`expected struct Reranker`, `expected
/// u32`): what the JSON should hold there, for the operator who edits the file.
fn plain_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let Some(at) = text.find("expected ").map(|i| i + "expected ".len()) else { return text };
    let end = text[at..].find(" at line ").map_or(text.len(), |i| at + i);
    let what = &text[at..end];
    let plain = match what {
        _ if what.starts_with("struct ") || what.starts_with("tuple struct ") => "a JSON object",
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        _ => what,
    };
    format!("{}{plain}{}", &text[..at], &text[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy_set() -> TrainingSet {
        // Positives have a high first feature; negatives (more frequent) a low one.
        let mut set = TrainingSet { features: Vec::new(), labels: Vec::new(), groups: Vec::new(), base_rate: 0.25 };
        for i in 0..40 {
            let mut x = [0.0; N_FEATURES];
            let label = i % 4 == 0;
            x[0] = if label { 0.8 } else { 0.2 } + (i as f64) * 0.001;
            x[1] = (i % 3) as f64;
            set.features.push(x);
            set.labels.push(label);
            set.groups.push(i / 4);
        }
        set
    }

    #[test]
    fn probability_is_for_true_even_when_false_is_more_frequent() {
        let params = TrainParams::default().check().expect("defaults are valid");
        let model = fit(&toy_set(), &params).expect("fits");
        let mut hi = [0.0; N_FEATURES];
        hi[0] = 0.8;
        let mut lo = [0.0; N_FEATURES];
        lo[0] = 0.2;
        assert!(model.weights[0] > 0.0, "weight of the separating feature is positive for `true`");
        assert!(model.probability(&hi) > 0.5);
        assert!(model.probability(&lo) < 0.5);
        // The toy sample has the base rate itself (10 of 40): no prior correction.
        assert!(model.prior_offset.abs() < 1e-12);
    }

    #[test]
    fn prior_correction_shifts_the_logit_by_the_rate_ratio() {
        let params = TrainParams::default().check().expect("valid");
        let mut set = toy_set();
        set.base_rate = 0.01;
        let model = fit(&set, &params).expect("fits");
        let expected = (0.01f64 / 0.99).ln() - (0.25f64 / 0.75).ln();
        assert!((model.prior_offset - expected).abs() < 1e-12);
    }

    #[test]
    fn isotonic_calibration_recovers_a_known_rate() {
        // Pairs whose label is true with probability sigmoid(z), z on a grid: the calibrated
        // probability at z = 0 is close to 0.5, and it never decreases with z.
        let mut pairs = Vec::new();
        for i in 0..20_000 {
            let z = -4.0 + 8.0 * f64::from(i) / 20_000.0;
            let p = sigmoid(z);
            // A deterministic Bernoulli draw: the fractional part of i × golden ratio.
            let u = (f64::from(i) * 0.618_033_988_75).fract();
            pairs.push((z, u < p));
        }
        let c = Calibration::fit(&pairs, 100).expect("fits");
        assert!((c.apply(0.0) - 0.5).abs() < 0.06, "{}", c.apply(0.0));
        assert!((c.apply(2.0) - sigmoid(2.0)).abs() < 0.06, "{}", c.apply(2.0));
        let grid: Vec<f64> = (-40..=40).map(|k| c.apply(f64::from(k) / 10.0)).collect();
        assert!(grid.windows(2).all(|w| w[0] <= w[1] + 1e-12));
        assert!(Calibration::fit(&pairs[..10], 100).is_err());
    }

    fn linear(weights: &[(usize, f64)]) -> TransitionModel {
        let mut w = vec![0.0; N_FEATURES];
        for &(j, v) in weights {
            w[j] = v;
        }
        TransitionModel {
            feature_names: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            knots: Vec::new(),
            mean: vec![0.0; N_FEATURES],
            scale: vec![1.0; N_FEATURES],
            weights: w,
            intercept: 0.0,
            prior_offset: 0.0,
            calibration: None,
            rerank: None,
            embedding: None,
        }
    }

    #[test]
    fn the_reranker_reorders_the_head_only() {
        // Stage 1 scores x0, the reranker (head 2) scores x1.
        let mut model = linear(&[(0, 1.0)]);
        model.rerank = Some(Reranker { head: 2, model: Box::new(linear(&[(1, 1.0)])), trees: None });
        model.validate().expect("valid cascade");
        let xs: Vec<Features> = [(3.0, 0.0), (2.0, 1.0), (1.0, 5.0), (0.0, 9.0)]
            .iter()
            .map(|&(a, b)| {
                let mut x = [0.0; N_FEATURES];
                x[0] = a;
                x[1] = b;
                x
            })
            .collect();
        let mut stage1: Vec<f64> = xs.iter().map(|x| model.corrected_logit(x)).collect();
        let threshold = model.head_threshold(&mut stage1);
        assert_eq!(threshold, 2.0);
        let scores: Vec<f64> = xs.iter().map(|x| model.score(x, threshold)).collect();
        // Head (x0 = 3, 2) re-scored by x1 and above the rest; the rest keep x0's order.
        assert_eq!(scores, [HEAD_OFFSET, HEAD_OFFSET + 1.0, 1.0, 0.0]);
        assert_eq!(TransitionModel::stage_logit(scores[1]), 1.0);
        assert!((model.probability_of(scores[1]) - sigmoid(1.0)).abs() < 1e-12);
        assert_eq!(model.contributions_at(&xs[1], scores[1])[0], Contribution { feature: 1, logit: 1.0 });
        assert_eq!(model.contributions_at(&xs[2], scores[2])[0], Contribution { feature: 0, logit: 1.0 });
        // A negative weight on a below-mean value pushes up but does not explain the result.
        let mut negative = linear(&[(0, -1.0)]);
        negative.mean[0] = 2.0;
        assert_eq!(negative.contributions(&xs[3])[0], Contribution { feature: 0, logit: 2.0 });
        assert!(negative.supporting_contributions(&xs[3], 0.0).is_empty());
        assert_eq!(model.supporting_contributions(&xs[1], scores[1]), [Contribution { feature: 1, logit: 1.0 }]);
        // Without a reranker nothing is in the head.
        assert_eq!(linear(&[(0, 1.0)]).head_threshold(&mut [1.0, 2.0]), f64::INFINITY);
        // A reranker with its own reranker is refused.
        let mut nested = model.clone();
        if let Some(r) = &mut nested.rerank {
            r.model.rerank = model.rerank.clone();
        }
        assert!(nested.validate().is_err());
    }

    /// A one-split tree on input `feature`: `below` under `threshold`, `above` otherwise.
    fn stump(feature: u32, threshold: f64, below: f64, above: f64) -> crate::boost::FlatTree {
        use crate::boost::{FlatNode, FlatTree};
        let leaf = |value| FlatNode { feature: 0, threshold: 0.0, left: 0, right: 0, value };
        FlatTree {
            nodes: vec![FlatNode { feature, threshold, left: 1, right: 2, value: 0.0 }, leaf(below), leaf(above)],
        }
    }

    #[test]
    fn boosted_trees_correct_the_head_and_are_named_as_a_combination() {
        // Stage 1 scores x0, the linear reranker x1, and a tree adds 2 when x2 ≥ 0.5.
        let mut model = linear(&[(0, 1.0)]);
        let trees = BoostedTrees { trees: vec![stump(2, 0.5, 0.0, 2.0)] };
        model.rerank = Some(Reranker { head: 2, model: Box::new(linear(&[(1, 1.0)])), trees: Some(trees) });
        model.validate().expect("valid cascade");
        let mut x = [0.0; N_FEATURES];
        x[0] = 3.0;
        x[1] = 1.0;
        x[2] = 0.7;
        assert_eq!(model.score(&x, 2.0), HEAD_OFFSET + 3.0, "linear 1 + tree 2");
        assert_eq!(model.score(&x, 5.0), 3.0, "outside the head, the first stage alone");
        let factors = model.supporting_contributions(&x, model.score(&x, 2.0));
        assert_eq!(
            factors,
            [Contribution { feature: TREE_FACTOR, logit: 2.0 }, Contribution { feature: 1, logit: 1.0 }]
        );
        // No positive correction, no tree factor.
        x[2] = 0.1;
        let factors = model.supporting_contributions(&x, model.score(&x, 2.0));
        assert_eq!(factors, [Contribution { feature: 1, logit: 1.0 }]);
    }

    #[test]
    fn artifact_with_trees_round_trips_and_bad_trees_are_refused() {
        let mut model = linear(&[(0, 1.0)]);
        let trees = BoostedTrees { trees: vec![stump(2, 0.5, -0.25, 0.75), stump(N_FEATURES as u32, 1.0, 0.0, 0.5)] };
        model.rerank = Some(Reranker { head: 2, model: Box::new(linear(&[(1, 1.0)])), trees: Some(trees) });
        let data = DataVersion { name: "toy".into(), checksum: "c".into(), occupations: 4, mobilities: 1 };
        let mut artifact = ModelArtifact {
            format_version: TREES_ARTIFACT_FORMAT_VERSION,
            model_kind: "test".into(),
            data,
            params: TrainParams::default(),
            training_pairs: (1, 4),
            model,
            evaluation: None,
            checksum: String::new(),
        };
        let json = artifact.to_json().expect("serialises");
        let back = ModelArtifact::from_json(&json).expect("reads back");
        assert_eq!(back, artifact);
        // A leaf value beyond the bound, with a valid checksum, is refused by name.
        if let Some(r) = &mut artifact.model.rerank {
            if let Some(t) = &mut r.trees {
                t.trees[1].nodes[2].value = 1e3;
            }
        }
        let json = artifact.to_json().expect("serialises");
        let err = ModelArtifact::from_json(&json).expect_err("refused");
        assert!(err.to_string().contains("reranker tree 1: leaf 2 has value 1000"), "{err}");
        // A version-1 artifact (the layout before trees) holding trees is refused.
        if let Some(r) = &mut artifact.model.rerank {
            if let Some(t) = &mut r.trees {
                t.trees[1].nodes[2].value = 0.5;
            }
        }
        artifact.format_version = MIN_ARTIFACT_FORMAT_VERSION;
        let json = artifact.to_json().expect("serialises");
        let err = ModelArtifact::from_json(&json).expect_err("refused");
        assert!(err.to_string().contains("format_version 1 does not match the model, which needs version 2"), "{err}");
        // Without trees, the JSON has no `trees` key (older artifacts keep their checksum).
        if let Some(r) = &mut artifact.model.rerank {
            r.trees = None;
        }
        assert!(!artifact.to_json().expect("serialises").contains("\"trees\""));
    }

    /// serde named the artifact's Rust types (`expected struct Head with 1 element`,
    /// `expected struct DataVersion`, `expected u32`).
    #[test]
    fn a_malformed_artifact_is_described_without_rust_type_names() {
        for (text, reason) in [
            ("[]", "not a Passerelle model artifact: invalid length 0, expected a JSON object at line 1 column 2"),
            ("\"x\"", "not a Passerelle model artifact: invalid type: string \"x\", expected a JSON object at line 1 column 3"),
            (
                "{\"format_version\": \"3\"}",
                "not a Passerelle model artifact: invalid type: string \"3\", expected a whole number, 0 or more at line 1 \
                 column 22",
            ),
            (
                "{\"format_version\": 3, \"model_kind\": \"x\", \"data\": 5}",
                "malformed artifact: invalid type: integer `5`, expected a JSON object at line 1 column 50",
            ),
            ("{", "not a Passerelle model artifact: EOF while parsing an object at line 1 column 1"),
        ] {
            let err = ModelArtifact::from_json(text).expect_err(text);
            assert_eq!(err.to_string(), format!("model artifact refused: {reason}"), "{text}");
        }
    }

    #[test]
    fn cascade_trains_on_the_tiny_export() {
        let cat = Catalogue::from_files(&crate::fixtures::tiny_files()).expect("fixture");
        let index = FeatureIndex::new(&cat);
        let sources: Vec<OccupationId> = cat.occupation_ids().collect();
        let params = TrainParams { rerank_head: 2, negatives_per_positive: 1.0, ..TrainParams::default() }
            .check()
            .expect("valid");
        let model = train(&cat, &index, &sources, &params).expect("trains");
        assert_eq!(model.rerank.as_ref().map(|r| r.head), Some(2));
        model.validate().expect("valid");
    }

    #[test]
    fn hinge_knots_make_a_piecewise_linear_model() {
        let mut set = toy_set();
        // Positives' x2 spread over 0..9, so 3 knots are quantiles strictly inside.
        for (i, x) in set.features.iter_mut().enumerate() {
            x[2] = (i % 10) as f64;
        }
        let knots = choose_knots(&set, 3);
        assert_eq!(knots[2].len(), 3);
        assert!(knots[2].windows(2).all(|w| w[0] < w[1]));
        assert!(knots[5].is_empty(), "a constant feature gets no knot");
        let params = TrainParams { knots: 3, ..TrainParams::default() }.check().expect("valid");
        let model = fit(&set, &params).expect("fits");
        model.validate().expect("valid");
        // The contributions still add up to the logit.
        let x = set.features[3];
        let total: f64 = model.contributions(&x).iter().map(|c| c.logit).sum();
        assert!((model.intercept + total - model.logit(&x)).abs() < 1e-9);
    }

    #[test]
    fn params_out_of_range_are_named() {
        let err = TrainParams { hard_negative_share: 1.5, ..TrainParams::default() }.check().expect_err("refused");
        assert_eq!(err.to_string(), "invalid hyperparameter `hard_negative_share`: 1.5 not in 0..=1");
    }

    #[test]
    fn one_class_is_not_enough() {
        let params = TrainParams::default().check().expect("valid");
        let set = TrainingSet {
            features: vec![[0.0; N_FEATURES]; 3],
            labels: vec![false; 3],
            groups: vec![0; 3],
            base_rate: 0.0,
        };
        assert!(matches!(fit(&set, &params), Err(TrainError::NotEnoughData { .. })));
    }
}
