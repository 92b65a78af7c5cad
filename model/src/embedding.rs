//! A learned transition embedding: a low-rank bilinear model of France Travail's curated
//! mobilities (ROME 4.0 `unix_rubrique_mobilite`), learned from the items of the sources
//! and of their targets.
//!
//! Both sides of a move are described by the same input: the idf-weighted, L2-normalised
//! vector `x` of an item set (savoir-faire, savoirs, certifications, work contexts), over
//! the items that at least [`EmbeddingParams::min_df`] occupations list. The score of a
//! move from a profile `P` to an occupation `T` is
//!
//! `logit(P, T) = (x_P · U) · (x_T · V) + b_T`
//!
//! with `U` and `V` two `items × dim` matrices and `b` one bias per occupation. They are
//! fitted by Adam on the softmax cross-entropy of each visible source's curated row over
//! all other occupations (the "two-tower" models of recommender systems, here with both
//! towers linear in the items). Unlike the neighbour votes of [`crate::features`], which
//! only count *exact* targets of similar sources, it learns which items of a source lead to
//! which items of a target, so it can rank an occupation that no similar source lists.
//!
//! Measured on the held-out protocol (sources grouped in 5 folds; a source's own row is
//! never seen by the embedding that scores it): see README, "Model quality".
//!
//! What a profile sees is two features, `embedding_log_share` and
//! `embedding_log_rank` (see [`EmbeddingScan`]). The training of the transition model fits
//! one embedding per inner fold of its sources ([`crate::transition::EMBEDDING_INNER_FOLDS`],
//! [`EmbeddingSet::fit_cross`]), and every profile — training pair, held-out source or served
//! request — is scored by one that did not see its anchor's row: an embedding memorises the
//! rows it was fitted on (recall@10 0.99 on them, 0.43 on others).

use std::sync::Arc;

use base64::Engine as _;
use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, ItemId, OccupationId};
use crate::error::DataError;
use crate::features::FeatureIndex;

/// Hyperparameters of [`fit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingParams {
    /// Width of the embedding (columns of `U` and `V`).
    pub dim: usize,
    /// Full-batch Adam steps.
    pub epochs: usize,
    /// Adam's step size.
    pub learning_rate: f64,
    /// L2 penalty on `U` and `V` (added to the gradient of the mean cross-entropy).
    pub l2: f64,
    /// An item is an input when at least this many occupations list it.
    pub min_df: u32,
    /// Seed of the initial weights (uniform, standard deviation 0.1).
    pub seed: u64,
}

impl Default for EmbeddingParams {
    /// The screened setting: 64 columns, 200 steps of 0.02, L2 1e-5, items of 3+ occupations.
    fn default() -> Self {
        EmbeddingParams { dim: 64, epochs: 200, learning_rate: 0.02, l2: 1e-5, min_df: 3, seed: 7 }
    }
}

impl EmbeddingParams {
    /// Checks the ranges: `dim` 1..=256, `epochs` 1..=10,000, a learning rate in
    /// (0, 1], an L2 penalty in [0, 1], `min_df` ≥ 1.
    ///
    /// # Errors
    /// The name of the first parameter out of range and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(1..=256).contains(&self.dim) {
            return Err(("embedding.dim", format!("{} not in 1..=256", self.dim)));
        }
        if !(1..=10_000).contains(&self.epochs) {
            return Err(("embedding.epochs", format!("{} not in 1..=10000", self.epochs)));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return Err(("embedding.learning_rate", format!("{} not in (0, 1]", self.learning_rate)));
        }
        if !(0.0..=1.0).contains(&self.l2) {
            return Err(("embedding.l2", format!("{} not in [0, 1]", self.l2)));
        }
        if self.min_df == 0 {
            return Err(("embedding.min_df", "must be ≥ 1".to_string()));
        }
        Ok(())
    }
}

/// Most inner folds an artifact may hold (training writes
/// [`crate::transition::EMBEDDING_INNER_FOLDS`]).
pub const MAX_FOLDS: usize = 20;

/// The artifact field of a parameter named by [`EmbeddingParams::check`]
/// (`embedding.dim` → `embedding.params.dim`).
fn params_field(name: &str) -> String {
    format!("embedding.params.{}", name.trim_start_matches("embedding."))
}

/// No input row, in [`TransitionEmbedding::row_of`].
const NONE: u32 = u32::MAX;

/// A fitted embedding, resolved against one catalogue (dense item and occupation ids).
#[derive(Debug, Clone, PartialEq)]
pub struct TransitionEmbedding {
    dim: usize,
    /// For each [`ItemId`], its row of `source` and `input_weight`, or [`NONE`] (shared by
    /// the folds of an [`EmbeddingSet`]).
    row_of: Arc<Vec<u32>>,
    /// The idf weight of each input item (before a profile's normalisation).
    input_weight: Arc<Vec<f32>>,
    /// `U`: one row of `dim` per input item.
    source: Vec<f32>,
    /// `x_T · V`: one row of `dim` per occupation, by [`OccupationId`].
    target: Vec<f32>,
    /// `b`: one bias per occupation.
    bias: Vec<f32>,
    /// `ln_rank[r] = ln r` for ranks `0..=occupations` (`ln_rank[0]` unused), so a scan
    /// takes table lookups instead of logarithms.
    ln_rank: Arc<Vec<f64>>,
}

/// `ln k` for `k` in `0..=n` (entry 0 is 0, unused).
fn ln_table(n: usize) -> Vec<f64> {
    (0..=n).map(|k| if k == 0 { 0.0 } else { (k as f64).ln() }).collect()
}

/// The serialised form of an [`EmbeddingSet`], in the model artifact: items by their
/// `code_ogr` and occupations by their ROME code, so it is tied to codes, not to the order
/// of a catalogue's rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingArtifact {
    /// The parameters the embeddings were fitted with.
    pub params: EmbeddingParams,
    /// `code_ogr` of each input item, in row order of each fold's `source`.
    pub items: Vec<u32>,
    /// idf weight of each input item.
    pub input_weights: Vec<f32>,
    /// ROME code of each occupation, in row order of each fold's `target` and `bias`.
    pub occupations: Vec<String>,
    /// One embedding per inner fold of the training sources.
    pub folds: Vec<EmbeddingFold>,
}

/// One inner fold's embedding: fitted on the rows of every training source but `held_out`.
/// Matrices are little-endian IEEE half-precision (`f16`) values in standard base64; the
/// fitted values are rounded to `f16` before any feature is computed, so training,
/// evaluation and serving use the same numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingFold {
    /// ROME codes of the sources whose rows this embedding did not see: the profiles
    /// anchored at them use it.
    pub held_out: Vec<String>,
    /// `U`, `items × dim` values.
    pub source: String,
    /// `x_T · V`, `occupations × dim` values.
    pub target: String,
    /// `b`, one value per occupation.
    pub bias: String,
}

/// Rounds to the nearest `f16` (what the artifact stores).
fn round_f16(values: &mut [f32]) {
    for v in values {
        *v = half::f16::from_f32(*v).to_f32();
    }
}

fn encode(values: &[f32]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes `rows × cols` f16 values of the field `field` (its name in errors). The expected
/// size is checked before decoding, so a short file cannot make this allocate more than
/// its own text.
fn decode(field: &str, text: &str, rows: usize, cols: usize) -> Result<Vec<f32>, DataError> {
    let bad = |reason: String| DataError::Artifact { reason: format!("{field}: {reason}") };
    let len = rows.checked_mul(cols).ok_or_else(|| bad(format!("{rows} × {cols} values overflow")))?;
    // Standard base64 with padding: 4 characters per 3 bytes.
    let expected_text = (2 * len).div_ceil(3) * 4;
    if text.len() != expected_text {
        return Err(bad(format!(
            "{} base64 characters, expected {expected_text} ({rows} × {cols} f16 values)",
            text.len()
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| bad(format!("not base64 ({e})")))?;
    if bytes.len() != 2 * len {
        return Err(bad(format!("{} bytes, expected {} ({len} f16 values)", bytes.len(), 2 * len)));
    }
    let values: Vec<f32> = bytes.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect();
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(bad(format!("value {i} is {} (a finite number expected)", values[i]))),
        None => Ok(values),
    }
}

impl EmbeddingArtifact {
    /// Checks what can be checked without a catalogue: the parameters against the ranges of
    /// [`EmbeddingParams::check`] (as for training), the number of folds, the lists (no code
    /// repeated, one input weight in (0, 100] per item, at least one occupation, no empty
    /// held-out list, every held-out code one of `occupations` and held out of one fold
    /// only). The matrices are
    /// checked by [`resolve`](Self::resolve), which calls this first.
    ///
    /// # Errors
    /// [`DataError::Artifact`] naming the field (`embedding.params.dim`,
    /// `embedding.input_weights[5]`, `embedding.folds[2].held_out`…) and the reason.
    pub fn validate(&self) -> Result<(), DataError> {
        let bad = |field: String, reason: String| DataError::Artifact { reason: format!("{field}: {reason}") };
        // The same ranges as for training: with the lengths of the lists (which the file's
        // size bounds), `dim` bounds every allocation of `resolve`.
        self.params.check().map_err(|(name, reason)| bad(params_field(name), reason))?;
        if self.folds.is_empty() || self.folds.len() > MAX_FOLDS {
            return Err(bad(
                "embedding.folds".into(),
                format!("{} folds, 1 to {MAX_FOLDS} expected", self.folds.len()),
            ));
        }
        if self.occupations.is_empty() {
            return Err(bad("embedding.occupations".into(), "empty".into()));
        }
        if self.input_weights.len() != self.items.len() {
            return Err(bad(
                "embedding.input_weights".into(),
                format!("{} input weights for {} items", self.input_weights.len(), self.items.len()),
            ));
        }
        if let Some((i, w)) =
            self.input_weights.iter().enumerate().find(|(_, w)| !w.is_finite() || **w <= 0.0 || **w > 100.0)
        {
            return Err(bad(format!("embedding.input_weights[{i}]"), format!("{w} not in (0, 100]")));
        }
        let mut seen_items = std::collections::HashSet::with_capacity(self.items.len());
        if let Some((i, code)) = self.items.iter().enumerate().find(|(_, code)| !seen_items.insert(**code)) {
            return Err(bad(format!("embedding.items[{i}]"), format!("item {code} appears twice")));
        }
        let mut seen_occupations = std::collections::HashSet::with_capacity(self.occupations.len());
        if let Some((i, code)) =
            self.occupations.iter().enumerate().find(|(_, code)| !seen_occupations.insert(code.as_str()))
        {
            return Err(bad(format!("embedding.occupations[{i}]"), format!("occupation {code} appears twice")));
        }
        let mut held_out_by = std::collections::HashMap::new();
        for (k, fold) in self.folds.iter().enumerate() {
            if fold.held_out.is_empty() {
                // Every fold is fitted without some sources' rows; one without any would be
                // used (by id modulo the folds) for anchors whose rows it saw.
                return Err(bad(format!("embedding.folds[{k}].held_out"), "empty".into()));
            }
            for code in &fold.held_out {
                let field = format!("embedding.folds[{k}].held_out");
                if !seen_occupations.contains(code.as_str()) {
                    return Err(bad(field, format!("{code} is not one of embedding.occupations")));
                }
                match held_out_by.insert(code.as_str(), k) {
                    Some(other) if other == k => return Err(bad(field, format!("{code} appears twice"))),
                    Some(other) => {
                        return Err(bad(field, format!("occupation {code} is held out of two folds ({other} and {k})")))
                    }
                    None => {}
                }
            }
        }
        Ok(())
    }

    /// The embeddings resolved against `catalogue`. A catalogue other than the one they were
    /// fitted on (another ROME export served with this model) is accepted, with a warning:
    /// an item the catalogue does not have is ignored, an item the embedding does not have
    /// is not an input, and an occupation it does not have gets a neutral target (the zero
    /// vector and the mean bias).
    ///
    /// # Errors
    /// [`DataError::Artifact`] naming the field: what [`validate`](Self::validate) refuses,
    /// or a matrix (`embedding.folds[k].source`, `.target`, `.bias`) that is not base64, has
    /// the wrong size or a non-finite value.
    pub fn resolve(&self, catalogue: &Catalogue) -> Result<EmbeddingSet, DataError> {
        self.validate()?;
        let dim = self.params.dim;
        let mut row_of = vec![NONE; catalogue.items.len()];
        let mut unknown_items = 0usize;
        for (r, code) in self.items.iter().enumerate() {
            match catalogue.item_id(*code) {
                Some(id) => row_of[id.0 as usize] = r as u32,
                None => unknown_items += 1,
            }
        }
        let n = catalogue.occupations.len();
        let stored_n = self.occupations.len();
        let mut order = vec![usize::MAX; n];
        for (r, code) in self.occupations.iter().enumerate() {
            if let Some(id) = catalogue.occupation_id(code) {
                order[id.0 as usize] = r;
            }
        }
        let unknown_occupations = order.iter().filter(|r| **r == usize::MAX).count();
        if unknown_items > 0 || unknown_occupations > 0 {
            tracing::warn!(
                unknown_items,
                unknown_occupations,
                "the learned embedding was fitted on another export: unknown items are ignored and unknown occupations get a neutral score"
            );
        }
        // Shared by the folds.
        let row_of = Arc::new(row_of);
        let input_weight = Arc::new(self.input_weights.clone());
        let ln_rank = Arc::new(ln_table(n));
        let mut folds = Vec::with_capacity(self.folds.len());
        let mut fold_of = vec![u32::MAX; n];
        for (k, fold) in self.folds.iter().enumerate() {
            let field = |name: &str| format!("embedding.folds[{k}].{name}");
            let source = decode(&field("source"), &fold.source, self.items.len(), dim)?;
            let stored_target = decode(&field("target"), &fold.target, stored_n, dim)?;
            let stored_bias = decode(&field("bias"), &fold.bias, stored_n, 1)?;
            let mean_bias = stored_bias.iter().sum::<f32>() / stored_n as f32;
            let mut target = Vec::with_capacity(n * dim);
            let mut bias = Vec::with_capacity(n);
            for &r in &order {
                if r == usize::MAX {
                    target.extend(std::iter::repeat_n(0.0, dim));
                    bias.push(mean_bias);
                } else {
                    target.extend_from_slice(&stored_target[r * dim..(r + 1) * dim]);
                    bias.push(stored_bias[r]);
                }
            }
            for code in &fold.held_out {
                if let Some(id) = catalogue.occupation_id(code) {
                    fold_of[id.0 as usize] = k as u32;
                }
            }
            folds.push(Arc::new(TransitionEmbedding {
                dim,
                row_of: Arc::clone(&row_of),
                input_weight: Arc::clone(&input_weight),
                source,
                target,
                bias,
                ln_rank: Arc::clone(&ln_rank),
            }));
        }
        Ok(EmbeddingSet { folds, fold_of })
    }
}

/// The embedding's two features for one profile against every occupation.
#[derive(Debug, Clone)]
pub struct EmbeddingScan {
    /// `embedding_log_share`: `ln` of the softmax share of each occupation among all
    /// occupations but the anchor, by [`OccupationId`] (≤ 0; the anchor's own entry is
    /// computed the same way and never used).
    pub log_share: Vec<f64>,
    /// `embedding_log_rank`: `ln` of each occupation's rank (1 = highest logit) among all
    /// occupations but the anchor.
    pub log_rank: Vec<f64>,
}

impl TransitionEmbedding {
    /// Width of the embedding.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// `x_P · U` of a profile's items (items that are not inputs are ignored; a profile with
    /// none gives the zero vector, so its logits are the biases).
    pub fn profile_vector(&self, items: &[ItemId]) -> Vec<f32> {
        let mut u = vec![0.0f32; self.dim];
        let mut sq = 0.0f32;
        for item in items {
            if let Some(&r) = self.row_of.get(item.0 as usize) {
                if r != NONE {
                    let w = self.input_weight[r as usize];
                    sq += w * w;
                    for (a, b) in u.iter_mut().zip(&self.source[r as usize * self.dim..(r as usize + 1) * self.dim]) {
                        *a += w * b;
                    }
                }
            }
        }
        if sq > 0.0 {
            let inv = 1.0 / sq.sqrt();
            u.iter_mut().for_each(|a| *a *= inv);
        }
        u
    }

    /// The logit of a move from a profile with items `items` to every occupation, by
    /// [`OccupationId`].
    pub fn logits(&self, items: &[ItemId]) -> Vec<f32> {
        let u = self.profile_vector(items);
        self.target.chunks_exact(self.dim).zip(&self.bias).map(|(row, b)| dot(row, &u) + b).collect()
    }

    /// The two features of a profile with items `items` and anchor `anchor` against every
    /// occupation (see [`EmbeddingScan`]).
    pub fn scan(&self, items: &[ItemId], anchor: OccupationId) -> EmbeddingScan {
        let logits = self.logits(items);
        let n = logits.len();
        let a = anchor.0 as usize;
        let max = logits.iter().enumerate().filter(|(i, _)| *i != a).map(|(_, v)| *v).fold(f32::MIN, f32::max);
        // Shares in f32 (every term ≤ 1), summed in f64.
        let sum: f64 =
            logits.iter().enumerate().filter(|(i, _)| *i != a).map(|(_, v)| f64::from((v - max).exp())).sum();
        let log_sum = f64::from(max) + sum.max(f64::MIN_POSITIVE).ln();
        let log_share = logits.iter().map(|v| f64::from(*v) - log_sum).collect();
        // Ranks by one integer sort of (order key, id): the key sorts logits descending
        // (total order of f32), ties share the rank of their first.
        let key = |v: f32| {
            let bits = v.to_bits();
            let ascending = if bits >> 31 == 1 { !bits } else { bits | 0x8000_0000 };
            u64::from(!ascending) << 32
        };
        let mut order: Vec<u64> =
            logits.iter().enumerate().filter(|(i, _)| *i != a).map(|(i, v)| key(*v) | i as u64).collect();
        order.sort_unstable();
        let mut log_rank = vec![0.0; n];
        let mut rank_ln = 0.0;
        for (p, k) in order.iter().enumerate() {
            if p == 0 || k >> 32 != order[p - 1] >> 32 {
                rank_ln = self.ln_rank.get(p + 1).copied().unwrap_or_else(|| ((p + 1) as f64).ln());
            }
            log_rank[(k & 0xFFFF_FFFF) as usize] = rank_ln;
        }
        if a < n {
            let ka = key(logits[a]);
            let above = order.partition_point(|k| (k >> 32) < (ka >> 32));
            log_rank[a] = ((above + 1) as f64).ln();
        }
        EmbeddingScan { log_share, log_rank }
    }
}

/// `Σ a_i b_i` in eight interleaved partial sums (which the compiler vectorises; one
/// running sum would wait on each addition), then summed in a fixed order: deterministic.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// The embeddings a feature scan may use, one per inner fold of the training sources, chosen
/// by the profile's anchor: the one fitted without the anchor's own row when the anchor is a
/// training source, else the fold of its id modulo the number of folds (then no fold saw the
/// anchor's row). So no profile, in training, evaluation or serving, is scored with an
/// embedding that memorised its anchor's curated row.
#[derive(Debug, Clone, Default)]
pub struct EmbeddingSet {
    folds: Vec<Arc<TransitionEmbedding>>,
    /// For each occupation, the fold it was held out of, or `u32::MAX`.
    fold_of: Vec<u32>,
}

impl EmbeddingSet {
    /// The embedding for a profile anchored at `anchor`, if any.
    pub fn for_anchor(&self, anchor: OccupationId) -> Option<&TransitionEmbedding> {
        let k = match self.fold_of.get(anchor.0 as usize) {
            Some(&k) if k != u32::MAX => k as usize,
            _ => anchor.0 as usize % self.folds.len().max(1),
        };
        self.folds.get(k).map(|e| &**e)
    }

    /// Number of folds (0: no embedding).
    pub fn len(&self) -> usize {
        self.folds.len()
    }

    /// Whether there is no embedding.
    pub fn is_empty(&self) -> bool {
        self.folds.is_empty()
    }

    /// Fits one embedding per inner fold of `sources` (those with a row, every `inner`-th
    /// one in a fold), each on the rows of the other folds, on rayon's pool, and returns
    /// them with their serialised form. `None` when fewer than 2 sources have a row (a fold
    /// would have nothing to learn from).
    pub fn fit_cross(
        catalogue: &Catalogue,
        index: &FeatureIndex,
        sources: &[OccupationId],
        inner: usize,
        params: &EmbeddingParams,
    ) -> Option<(EmbeddingSet, EmbeddingArtifact)> {
        use rayon::prelude::*;
        let targets = crate::transition::mobility_targets(catalogue);
        let with_rows: Vec<OccupationId> =
            sources.iter().copied().filter(|s| !targets[s.0 as usize].is_empty()).collect();
        if with_rows.len() < 2 {
            return None;
        }
        let inner = inner.clamp(2, with_rows.len());
        let split = |k: usize, held: bool| -> Vec<OccupationId> {
            with_rows.iter().enumerate().filter(|(i, _)| (i % inner == k) == held).map(|(_, s)| *s).collect()
        };
        let fitted: Vec<Option<TransitionEmbedding>> =
            (0..inner).into_par_iter().map(|k| fit(catalogue, index, &split(k, false), params)).collect();
        let mut folds = Vec::with_capacity(inner);
        let mut stored = Vec::with_capacity(inner);
        let mut fold_of = vec![u32::MAX; catalogue.occupations.len()];
        for (k, e) in fitted.into_iter().enumerate() {
            let mut e = e?;
            // The inputs depend on the catalogue and `min_df` only: every fold shares the
            // first's, as folds resolved from an artifact do.
            if let Some(first) = folds.first() {
                let first: &Arc<TransitionEmbedding> = first;
                e.row_of = Arc::clone(&first.row_of);
                e.input_weight = Arc::clone(&first.input_weight);
                e.ln_rank = Arc::clone(&first.ln_rank);
            }
            let held_out = split(k, true);
            for s in &held_out {
                fold_of[s.0 as usize] = k as u32;
            }
            stored.push(EmbeddingFold {
                held_out: held_out.iter().map(|s| catalogue.occupation(*s).code.clone()).collect(),
                source: encode(&e.source),
                target: encode(&e.target),
                bias: encode(&e.bias),
            });
            folds.push(Arc::new(e));
        }
        let first = folds.first()?;
        let mut items = vec![0u32; first.input_weight.len()];
        for (id, &r) in first.row_of.iter().enumerate() {
            if r != NONE {
                items[r as usize] = catalogue.items[id].code;
            }
        }
        let artifact = EmbeddingArtifact {
            params: *params,
            items,
            input_weights: first.input_weight.to_vec(),
            occupations: catalogue.occupations.iter().map(|o| o.code.clone()).collect(),
            folds: stored,
        };
        Some((EmbeddingSet { folds, fold_of }, artifact))
    }
}

/// Sparse input rows: for each occupation, its input items as (row, normalised weight).
struct Inputs {
    rows: Vec<Vec<(u32, f32)>>,
    row_of: Vec<u32>,
    input_weight: Vec<f32>,
}

fn inputs(catalogue: &Catalogue, index: &FeatureIndex, min_df: u32) -> Inputs {
    let mut df = vec![0u32; catalogue.items.len()];
    for occ in &catalogue.occupations {
        for link in &occ.items {
            df[link.item.0 as usize] += 1;
        }
    }
    let mut row_of = vec![NONE; catalogue.items.len()];
    let mut input_weight = Vec::new();
    for (i, d) in df.iter().enumerate() {
        if *d >= min_df {
            row_of[i] = input_weight.len() as u32;
            input_weight.push(index.idf(ItemId(i as u32)) as f32);
        }
    }
    let rows = catalogue
        .occupations
        .iter()
        .map(|occ| {
            let mut row: Vec<(u32, f32)> = occ
                .items
                .iter()
                .filter(|l| row_of[l.item.0 as usize] != NONE)
                .map(|l| {
                    let r = row_of[l.item.0 as usize];
                    (r, input_weight[r as usize])
                })
                .collect();
            row.sort_unstable_by_key(|(r, _)| *r);
            row.dedup_by_key(|(r, _)| *r);
            let norm = row.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            if norm > 0.0 {
                row.iter_mut().for_each(|(_, w)| *w /= norm);
            }
            row
        })
        .collect();
    Inputs { rows, row_of, input_weight }
}

/// `out[r] = Σ_(c, w) in rows[r] w · m[c]` (sparse rows times a dense matrix).
fn sparse_times(rows: &[&[(u32, f32)]], m: &Array2<f32>) -> Array2<f32> {
    let mut out = Array2::<f32>::zeros((rows.len(), m.ncols()));
    for (mut o, row) in out.rows_mut().into_iter().zip(rows) {
        for &(c, w) in *row {
            o.scaled_add(w, &m.row(c as usize));
        }
    }
    out
}

/// `out[c] += Σ_r [c in rows[r]] w · g[r]` (the transpose of [`sparse_times`]).
fn sparse_transpose_times(rows: &[&[(u32, f32)]], g: &Array2<f32>, out: &mut Array2<f32>) {
    for (row, gr) in rows.iter().zip(g.rows()) {
        for &(c, w) in *row {
            out.row_mut(c as usize).scaled_add(w, &gr);
        }
    }
}

/// Adam's moment estimates of one parameter array.
struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Adam {
    fn new(n: usize) -> Self {
        Adam { m: vec![0.0; n], v: vec![0.0; n] }
    }

    /// One step at iteration `t` (from 1) with step size `lr`.
    fn step(&mut self, params: &mut [f32], grad: &[f32], t: i32, lr: f32) {
        let (b1, b2) = (0.9f32, 0.999f32);
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        for ((p, g), (m, v)) in params.iter_mut().zip(grad).zip(self.m.iter_mut().zip(self.v.iter_mut())) {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= lr * (*m / c1) / ((*v / c2).sqrt() + 1e-8);
        }
    }
}

/// The mean softmax cross-entropy of the rows of `sources` (each source's curated targets
/// as a uniform distribution over all other occupations) and its gradients with respect to
/// `U`, `V` (without the L2 term) and `b`.
#[allow(clippy::type_complexity)]
fn loss_and_gradients(
    inputs: &Inputs,
    sources: &[(OccupationId, Vec<OccupationId>)],
    u: &Array2<f32>,
    v: &Array2<f32>,
    b: &[f32],
) -> (f64, Array2<f32>, Array2<f32>, Vec<f32>) {
    let all_rows: Vec<&[(u32, f32)]> = inputs.rows.iter().map(Vec::as_slice).collect();
    let source_rows: Vec<&[(u32, f32)]> = sources.iter().map(|(s, _)| inputs.rows[s.0 as usize].as_slice()).collect();
    let a = sparse_times(&source_rows, u);
    let bm = sparse_times(&all_rows, v);
    let mut g = a.dot(&bm.t());
    let n_src = sources.len() as f32;
    let mut loss = 0.0f64;
    for (mut row, (s, targets)) in g.rows_mut().into_iter().zip(sources) {
        let own = s.0 as usize;
        for (x, bias) in row.iter_mut().zip(b) {
            *x += bias;
        }
        row[own] = f32::NEG_INFINITY;
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for x in row.iter_mut() {
            *x = (*x - max).exp();
            sum += *x;
        }
        let log_sum = f64::from(max) + f64::from(sum).ln();
        let share = 1.0 / targets.len() as f32;
        for t in targets {
            // ln p_t = logit_t − log-sum-exp; the logit is recovered from the exponential.
            loss -= f64::from(share) * (f64::from(row[t.0 as usize].ln() + max) - log_sum);
        }
        for x in row.iter_mut() {
            *x /= sum * n_src;
        }
        for t in targets {
            row[t.0 as usize] -= share / n_src;
        }
        row[own] = 0.0;
    }
    loss /= f64::from(n_src);
    let ga = g.dot(&bm);
    let gbm = g.t().dot(&a);
    // Column sums, accumulated row by row (the same additions in the same order as
    // summing each strided column, but walking `g` in memory order).
    let mut gb = vec![0.0f32; g.ncols()];
    for row in g.rows() {
        for (s, x) in gb.iter_mut().zip(row) {
            *s += x;
        }
    }
    let mut gu = Array2::<f32>::zeros(u.raw_dim());
    sparse_transpose_times(&source_rows, &ga, &mut gu);
    let mut gv = Array2::<f32>::zeros(v.raw_dim());
    sparse_transpose_times(&all_rows, &gbm, &mut gv);
    (loss, gu, gv, gb)
}

/// Fits an embedding on the curated rows of `sources` (sources without a row are skipped).
/// Deterministic for given inputs and parameters. About 8 s for 1,267 sources of ROME v460
/// with the default parameters, in release, on one core.
///
/// Returns `None` when no source has a row.
pub fn fit(
    catalogue: &Catalogue,
    index: &FeatureIndex,
    sources: &[OccupationId],
    params: &EmbeddingParams,
) -> Option<TransitionEmbedding> {
    let targets = crate::transition::mobility_targets(catalogue);
    let rows: Vec<(OccupationId, Vec<OccupationId>)> = sources
        .iter()
        .filter(|s| !targets[s.0 as usize].is_empty())
        .map(|s| (*s, targets[s.0 as usize].clone()))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let inputs = inputs(catalogue, index, params.min_df);
    let (n_in, dim, n) = (inputs.input_weight.len(), params.dim, catalogue.occupations.len());
    let mut rng = StdRng::seed_from_u64(params.seed);
    // Uniform on ±√3 · 0.1: standard deviation 0.1.
    let half = 0.1 * 3f32.sqrt();
    let mut u = Array2::from_shape_simple_fn((n_in, dim), || rng.gen_range(-half..half));
    let mut v = Array2::from_shape_simple_fn((n_in, dim), || rng.gen_range(-half..half));
    let mut b = vec![0.0f32; n];
    let (mut adam_u, mut adam_v, mut adam_b) = (Adam::new(n_in * dim), Adam::new(n_in * dim), Adam::new(n));
    let (lr, l2) = (params.learning_rate as f32, params.l2 as f32);
    for t in 1..=params.epochs {
        let (_, mut gu, mut gv, gb) = loss_and_gradients(&inputs, &rows, &u, &v, &b);
        gu.scaled_add(l2, &u);
        gv.scaled_add(l2, &v);
        let t = t as i32;
        if let (Some(p), Some(g)) = (u.as_slice_mut(), gu.as_slice()) {
            adam_u.step(p, g, t, lr);
        }
        if let (Some(p), Some(g)) = (v.as_slice_mut(), gv.as_slice()) {
            adam_v.step(p, g, t, lr);
        }
        adam_b.step(&mut b, &gb, t, lr);
    }
    let all_rows: Vec<&[(u32, f32)]> = inputs.rows.iter().map(Vec::as_slice).collect();
    let mut source: Vec<f32> = u.into_iter().collect();
    let mut target: Vec<f32> = sparse_times(&all_rows, &v).into_iter().collect();
    // What the artifact stores: every feature is computed from these values.
    round_f16(&mut source);
    round_f16(&mut target);
    round_f16(&mut b);
    Some(TransitionEmbedding {
        dim,
        row_of: Arc::new(inputs.row_of),
        input_weight: Arc::new(inputs.input_weight),
        source,
        target,
        bias: b,
        ln_rank: Arc::new(ln_table(n)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::tiny_files;

    fn tiny() -> (Catalogue, FeatureIndex) {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let index = FeatureIndex::new(&cat);
        (cat, index)
    }

    /// The analytic gradients match central finite differences of the loss.
    #[test]
    fn gradients_match_finite_differences() {
        let (cat, index) = tiny();
        let inputs = inputs(&cat, &index, 1);
        let targets = crate::transition::mobility_targets(&cat);
        let rows: Vec<(OccupationId, Vec<OccupationId>)> = cat
            .occupation_ids()
            .filter(|s| !targets[s.0 as usize].is_empty())
            .map(|s| (s, targets[s.0 as usize].clone()))
            .collect();
        assert!(!rows.is_empty());
        let n_in = inputs.input_weight.len();
        let mut rng = StdRng::seed_from_u64(3);
        let u = Array2::from_shape_simple_fn((n_in, 3), || rng.gen_range(-0.5f32..0.5));
        let v = Array2::from_shape_simple_fn((n_in, 3), || rng.gen_range(-0.5f32..0.5));
        let b: Vec<f32> = (0..cat.occupations.len()).map(|i| 0.1 * i as f32).collect();
        let (_, gu, gv, gb) = loss_and_gradients(&inputs, &rows, &u, &v, &b);
        let h = 1e-2f32;
        let loss = |u: &Array2<f32>, v: &Array2<f32>, b: &[f32]| loss_and_gradients(&inputs, &rows, u, v, b).0;
        for (i, j) in [(0, 0), (1, 2), (n_in - 1, 1)] {
            let (mut up, mut um) = (u.clone(), u.clone());
            up[[i, j]] += h;
            um[[i, j]] -= h;
            let numeric = (loss(&up, &v, &b) - loss(&um, &v, &b)) / (2.0 * f64::from(h));
            assert!((numeric - f64::from(gu[[i, j]])).abs() < 2e-3, "dU[{i},{j}] {numeric} vs {}", gu[[i, j]]);
            let (mut vp, mut vm) = (v.clone(), v.clone());
            vp[[i, j]] += h;
            vm[[i, j]] -= h;
            let numeric = (loss(&u, &vp, &b) - loss(&u, &vm, &b)) / (2.0 * f64::from(h));
            assert!((numeric - f64::from(gv[[i, j]])).abs() < 2e-3, "dV[{i},{j}] {numeric} vs {}", gv[[i, j]]);
        }
        for k in 0..b.len() {
            let (mut bp, mut bm) = (b.clone(), b.clone());
            bp[k] += h;
            bm[k] -= h;
            let numeric = (loss(&u, &v, &bp) - loss(&u, &v, &bm)) / (2.0 * f64::from(h));
            assert!((numeric - f64::from(gb[k])).abs() < 2e-3, "db[{k}] {numeric} vs {}", gb[k]);
        }
    }

    /// The fitted embedding ranks each tiny source's first curated target first among the
    /// other occupations (in sample: it memorises the rows it sees), with shares summing to 1.
    #[test]
    fn fit_learns_the_tiny_rows() {
        let (cat, index) = tiny();
        let all: Vec<OccupationId> = cat.occupation_ids().collect();
        let params = EmbeddingParams { dim: 4, epochs: 300, learning_rate: 0.05, l2: 0.0, min_df: 1, seed: 1 };
        let e = fit(&cat, &index, &all, &params).expect("rows");
        let targets = crate::transition::mobility_targets(&cat);
        for s in cat.occupation_ids() {
            let Some(first) = targets[s.0 as usize].first() else { continue };
            let items: Vec<ItemId> = cat.occupation(s).items.iter().map(|l| l.item).collect();
            let scan = e.scan(&items, s);
            assert_eq!(scan.log_rank[first.0 as usize], 0.0, "{s:?} → {first:?} ranks first (ln 1)");
            // Shares of the others sum to 1.
            let total: f64 =
                scan.log_share.iter().enumerate().filter(|(i, _)| *i != s.0 as usize).map(|(_, l)| l.exp()).sum();
            assert!((total - 1.0).abs() < 1e-6, "{total}");
        }
    }

    /// Cross-fitting: each fold's embedding is the one fitted without its held-out sources'
    /// rows, profiles anchored at them get it, and the artifact resolves to the same values
    /// (already rounded to f16 when fitted).
    #[test]
    fn cross_fitted_folds_round_trip_through_the_artifact() {
        let (cat, index) = tiny();
        let all: Vec<OccupationId> = cat.occupation_ids().collect();
        let params = EmbeddingParams { dim: 3, epochs: 20, learning_rate: 0.05, l2: 0.0, min_df: 1, seed: 1 };
        let (set, artifact) = EmbeddingSet::fit_cross(&cat, &index, &all, 2, &params).expect("rows");
        assert_eq!(set.len(), 2);
        let targets = crate::transition::mobility_targets(&cat);
        let with_rows: Vec<OccupationId> = all.iter().copied().filter(|s| !targets[s.0 as usize].is_empty()).collect();
        for (k, s) in with_rows.iter().enumerate() {
            let others: Vec<OccupationId> =
                with_rows.iter().enumerate().filter(|(i, _)| i % 2 != k % 2).map(|(_, o)| *o).collect();
            let alone = fit(&cat, &index, &others, &params).expect("rows");
            assert_eq!(set.for_anchor(*s), Some(&alone), "{s:?} gets the embedding fitted without its fold");
            assert_eq!(artifact.folds[k % 2].held_out.iter().filter(|c| **c == cat.occupation(*s).code).count(), 1);
        }
        let back = artifact.resolve(&cat).expect("resolves");
        for o in cat.occupation_ids() {
            assert_eq!(back.for_anchor(o), set.for_anchor(o));
        }
        // JSON round trip too.
        let json = serde_json::to_string(&artifact).expect("serialises");
        let again: EmbeddingArtifact = serde_json::from_str(&json).expect("parses");
        assert_eq!(again, artifact);
    }

    /// By hand: a 1-wide embedding, a profile of one input item of weight w and row u = 2:
    /// its vector is 2 (normalised weight 1), logits 2·target + bias.
    #[test]
    fn logits_and_ranks_by_hand() {
        let e = TransitionEmbedding {
            dim: 1,
            row_of: Arc::new(vec![0, NONE]),
            input_weight: Arc::new(vec![1.7]),
            source: vec![2.0],
            target: vec![0.5, 1.0, -1.0],
            bias: vec![0.0, 0.5, 3.0],
            ln_rank: Arc::new(ln_table(3)),
        };
        let close = |got: Vec<f32>, want: [f32; 3]| {
            assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6), "{got:?} vs {want:?}");
        };
        close(e.logits(&[ItemId(0), ItemId(1)]), [1.0, 2.5, 1.0]);
        let scan = e.scan(&[ItemId(0)], OccupationId(0));
        // Among occupations 1 and 2 (anchor 0 excluded): logits 2.5 and 1.0.
        let lse = (2.5f64.exp() + 1.0f64.exp()).ln();
        assert!((scan.log_share[1] - (2.5 - lse)).abs() < 1e-6);
        assert!((scan.log_share[2] - (1.0 - lse)).abs() < 1e-6);
        assert_eq!(scan.log_rank[1], 0.0);
        assert!((scan.log_rank[2] - 2f64.ln()).abs() < 1e-12);
        // No input item: the biases alone.
        close(e.logits(&[ItemId(1)]), [0.0, 0.5, 3.0]);
    }

    /// The ranks equal a direct count of the others with a strictly higher logit,
    /// with many ties, a constant row, and the anchor above, below and inside the range.
    #[test]
    fn ranks_equal_a_direct_count() {
        let mut rng = StdRng::seed_from_u64(5);
        for case in 0..40 {
            let n = 3000;
            let bias: Vec<f32> = (0..n)
                .map(|i| match case % 4 {
                    0 => rng.gen_range(-3.0f32..3.0),
                    1 => (rng.gen_range(0..7) as f32) * 0.5, // many ties
                    2 => 1.25,                               // all equal
                    _ => {
                        if i == 0 {
                            1e3
                        } else {
                            rng.gen_range(-1.0f32..1.0)
                        }
                    }
                })
                .collect();
            let e = TransitionEmbedding {
                dim: 1,
                row_of: Arc::new(vec![]),
                input_weight: Arc::new(vec![]),
                source: vec![],
                target: vec![0.0; n],
                bias: bias.clone(),
                ln_rank: Arc::new(ln_table(n)),
            };
            let anchor = OccupationId(if case % 3 == 0 { 0 } else { 17 });
            let scan = e.scan(&[], anchor);
            for (t, v) in bias.iter().enumerate() {
                let above = bias.iter().enumerate().filter(|(i, x)| *i != anchor.0 as usize && *x > v).count();
                assert_eq!(scan.log_rank[t], ((above + 1) as f64).ln(), "case {case}, occupation {t}");
            }
        }
    }

    /// Another export: an occupation the embedding does not know gets the zero vector and
    /// the mean bias (a neutral score), an item it does not know is ignored.
    #[test]
    fn another_export_gets_neutral_scores_for_unknown_codes() {
        let (cat, index) = tiny();
        let all: Vec<OccupationId> = cat.occupation_ids().collect();
        let params = EmbeddingParams { dim: 2, epochs: 5, learning_rate: 0.05, l2: 0.0, min_df: 1, seed: 1 };
        let (set, mut art) = EmbeddingSet::fit_cross(&cat, &index, &all, 2, &params).expect("rows");
        let a1002 = cat.occupation_id("A1002").expect("A1002");
        let position = art.occupations.iter().position(|c| c == "A1002").expect("stored");
        art.occupations[position] = "Z9999".to_string();
        for fold in &mut art.folds {
            fold.held_out.iter_mut().filter(|c| *c == "A1002").for_each(|c| *c = "Z9999".to_string());
        }
        art.items[0] = 999_999;
        let other = art.resolve(&cat).expect("accepted with a warning");
        let anchor = cat.occupation_id("A1001").expect("A1001");
        let (before, after) = (set.for_anchor(anchor).expect("fold"), other.for_anchor(anchor).expect("fold"));
        let mean = before.bias.iter().sum::<f32>() / before.bias.len() as f32;
        let items: Vec<ItemId> = cat.occupation(anchor).items.iter().map(|l| l.item).collect();
        assert_eq!(after.logits(&items)[a1002.0 as usize], mean);
        assert_eq!(after.target[a1002.0 as usize * 2..a1002.0 as usize * 2 + 2], [0.0, 0.0]);
        assert_eq!(
            after.row_of.iter().filter(|r| **r != NONE).count(),
            before.row_of.iter().filter(|r| **r != NONE).count() - 1
        );
    }

    /// A corrupted matrix, a repeated code or a wrong size is refused with the field.
    #[test]
    fn bad_artifacts_are_refused() {
        let (cat, index) = tiny();
        let all: Vec<OccupationId> = cat.occupation_ids().collect();
        let params = EmbeddingParams { dim: 2, epochs: 2, learning_rate: 0.05, l2: 0.0, min_df: 1, seed: 1 };
        let (_, good) = EmbeddingSet::fit_cross(&cat, &index, &all, 2, &params).expect("rows");
        let err = |a: EmbeddingArtifact| a.resolve(&cat).expect_err("refused").to_string();
        let mut a = good.clone();
        a.folds[0].bias = encode(&[0.0]);
        let e = err(a);
        assert!(e.contains("embedding.folds[0].bias: 4 base64 characters, expected 8 (3 × 1 f16 values)"), "{e}");
        let mut a = good.clone();
        // Right length (6 items × 2 columns × 2 bytes = 24 bytes, 32 characters), wrong alphabet.
        a.folds[1].source = "not base64!".repeat(3)[..32].to_string();
        let e = err(a);
        assert!(e.contains("embedding.folds[1].source: not base64"), "{e}");
        let mut a = good.clone();
        a.items[1] = a.items[0];
        let e = err(a);
        assert!(e.contains("embedding.items[1]: item 10 appears twice"), "{e}");
        let mut a = good.clone();
        a.occupations.pop();
        let e = err(a);
        assert!(e.contains("embedding.folds[0].target: "), "one occupation fewer: the matrices no longer fit: {e}");
        let mut a = good.clone();
        let mut t = decode("target", &a.folds[0].target, cat.occupations.len(), 2).expect("decodes");
        t[0] = f32::NAN;
        a.folds[0].target = encode(&t);
        let e = err(a);
        assert!(e.contains("embedding.folds[0].target: value 0 is NaN"), "{e}");
        let mut a = good.clone();
        let moved = a.folds[0].held_out[0].clone();
        a.folds[1].held_out.push(moved);
        let e = err(a);
        assert!(e.contains("embedding.folds[1].held_out: occupation A1001 is held out of two folds (0 and 1)"), "{e}");
        let mut a = good.clone();
        a.folds.clear();
        let e = err(a);
        assert!(e.contains("embedding.folds: 0 folds"), "{e}");
    }

    /// What an attacker can write in a re-checksummed artifact is refused on load with the
    /// field, before any matrix is decoded: parameters out of the training ranges, held-out
    /// lists naming codes the embedding does not have or naming one twice, no occupation,
    /// a bad input weight, too many folds, matrices whose size does not match.
    #[test]
    fn hand_edited_artifacts_are_refused_with_the_field() {
        let (cat, index) = tiny();
        let all: Vec<OccupationId> = cat.occupation_ids().collect();
        let params = EmbeddingParams { dim: 2, epochs: 2, learning_rate: 0.05, l2: 0.0, min_df: 1, seed: 1 };
        let (_, good) = EmbeddingSet::fit_cross(&cat, &index, &all, 2, &params).expect("rows");
        assert_eq!(good.folds[0].held_out, ["A1001"]);
        let err = |a: &EmbeddingArtifact| {
            let e = a.resolve(&cat).expect_err("refused").to_string();
            assert_eq!(a.validate().expect_err("refused without a catalogue").to_string(), e);
            e
        };
        for (edit, want) in [
            (EmbeddingParams { dim: 0, ..params }, "embedding.params.dim: 0 not in 1..=256"),
            (EmbeddingParams { dim: 100_000, ..params }, "embedding.params.dim: 100000 not in 1..=256"),
            (EmbeddingParams { epochs: 0, ..params }, "embedding.params.epochs: 0 not in 1..=10000"),
            (EmbeddingParams { learning_rate: -1.0, ..params }, "embedding.params.learning_rate: -1 not in (0, 1]"),
            (EmbeddingParams { l2: f64::NAN, ..params }, "embedding.params.l2: NaN not in [0, 1]"),
            (EmbeddingParams { min_df: 0, ..params }, "embedding.params.min_df: must be ≥ 1"),
        ] {
            let a = EmbeddingArtifact { params: edit, ..good.clone() };
            let e = err(&a);
            assert!(e.ends_with(want), "{e}");
        }
        let mut a = good.clone();
        a.folds[0].held_out.push("Z9999".to_string());
        assert!(err(&a).ends_with("embedding.folds[0].held_out: Z9999 is not one of embedding.occupations"));
        let mut a = good.clone();
        a.folds[0].held_out.push("A1001".to_string());
        assert!(err(&a).ends_with("embedding.folds[0].held_out: A1001 appears twice"));
        let mut a = good.clone();
        a.occupations.clear();
        assert!(err(&a).ends_with("embedding.occupations: empty"));
        let mut a = good.clone();
        a.folds[1].held_out.clear();
        assert!(err(&a).ends_with("embedding.folds[1].held_out: empty"));
        let mut a = good.clone();
        a.input_weights[2] = 0.0;
        assert!(err(&a).ends_with("embedding.input_weights[2]: 0 not in (0, 100]"));
        let mut a = good.clone();
        let fold =
            EmbeddingFold { held_out: Vec::new(), source: String::new(), target: String::new(), bias: String::new() };
        a.folds = vec![fold; 10_000];
        assert!(err(&a).ends_with("embedding.folds: 10000 folds, 1 to 20 expected"));
        // A matrix claimed 2 GB long by its shape (256 columns, 4,194,304 items) in a short
        // text: refused by its length before any decoding.
        let e = decode("embedding.folds[0].source", "AAAA", 4_194_304, 256).expect_err("short");
        assert!(
            e.to_string().ends_with(
                "embedding.folds[0].source: 4 base64 characters, expected 2863311532 (4194304 × 256 f16 values)"
            ),
            "{e}"
        );
        let e = decode("x", "", usize::MAX, 2).expect_err("overflow");
        assert!(e.to_string().contains("x: 18446744073709551615 × 2 values overflow"), "{e}");
        // A held-out code the catalogue lacks but the embedding has (another export) stays
        // accepted: only the artifact's own consistency is required.
        let mut a = good.clone();
        a.occupations[2] = "Z9999".to_string();
        a.folds[1].held_out.push("Z9999".to_string());
        assert!(a.resolve(&cat).is_ok());
    }
}
