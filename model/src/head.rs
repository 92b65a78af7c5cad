//! The first-stage scores one ranking needs, computed exactly only where they can matter.
//!
//! The cascade ([`crate::transition::Reranker`]) re-scores a profile's *head*: the `head`
//! occupations (50) with the highest first-stage logit, the anchor excluded. Finding the head
//! the direct way scores all 1,583 other occupations exactly, and most of that time goes to
//! one feature, `log_reverse_rank`, which bisects each candidate's 1,583 neighbour cosines
//! (10 MB that are rarely in cache). [`Stage1::new`] instead bounds that feature for every
//! occupation from a small sketch ([`ProfileScan::features_bounded`]), which bounds each
//! first-stage logit when the first stage is linear; only the occupations whose upper bound
//! reaches the head's lowest lower bound are scored exactly (typically a few dozen beyond the
//! head). The result is the same head, threshold and scores as the exhaustive way — a test
//! compares both on real profiles — because an occupation outside that set has a logit below
//! at least `head` exact logits.

use crate::catalogue::{Catalogue, OccupationId};
use crate::features::{FeatureIndex, Features, ProfileScan, LOG_REVERSE_RANK, N_FEATURES};
use crate::transition::TransitionModel;

/// The first stage folded into one affine form `bias + w · x` (weights divided by the
/// standardisation scales, means and prior correction in the bias), when the model is
/// linear in every feature (no hinge knots). Used only for bounds: exact logits come from
/// [`TransitionModel::corrected_logit`], so rankings are bit-identical to the evaluation's.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LinearLogit {
    bias: f64,
    w: [f64; N_FEATURES],
}

impl LinearLogit {
    /// The affine form of `model`'s first stage; `None` when a feature has knots or the
    /// model's shapes are not one column per feature.
    pub(crate) fn of(model: &TransitionModel) -> Option<Self> {
        let linear = model.knots.iter().all(Vec::is_empty)
            && model.weights.len() == N_FEATURES
            && model.mean.len() == N_FEATURES
            && model.scale.len() == N_FEATURES;
        if !linear {
            return None;
        }
        let mut w = [0.0; N_FEATURES];
        let mut bias = model.intercept + model.prior_offset;
        for (j, w) in w.iter_mut().enumerate() {
            *w = model.weights[j] / model.scale[j];
            bias -= *w * model.mean[j];
        }
        Some(LinearLogit { bias, w })
    }

    /// Bounds on the logit of a pair whose features are `x` except `log_reverse_rank`, which
    /// lies in `[x[LOG_REVERSE_RANK], reverse_hi]`. Widened by a relative 1e-9 to absorb the
    /// rounding differences with [`TransitionModel::corrected_logit`].
    #[inline]
    fn bounds(&self, x: &Features, reverse_hi: f64) -> (f64, f64) {
        // Four independent sums (vectorised); the order differs from `corrected_logit`'s,
        // which the margin below absorbs.
        let mut acc = [0.0; 4];
        for (xs, ws) in x.chunks(4).zip(self.w.chunks(4)) {
            for (k, (v, w)) in xs.iter().zip(ws).enumerate() {
                acc[k] += v * w;
            }
        }
        let at_lo = self.bias + (acc[0] + acc[1]) + (acc[2] + acc[3]);
        let at_hi = at_lo + self.w[LOG_REVERSE_RANK] * (reverse_hi - x[LOG_REVERSE_RANK]);
        let (lo, hi) = if at_lo <= at_hi { (at_lo, at_hi) } else { (at_hi, at_lo) };
        let eps = 1e-9 * (1.0 + lo.abs().max(hi.abs()));
        (lo - eps, hi + eps)
    }
}

/// No exact value yet, in [`Stage1`]'s slot table.
const NONE: u32 = u32::MAX;

/// One profile's first-stage logits and feature vectors, exact for the occupations that were
/// needed so far ([`Stage1::exact`] adds more on demand), and the head threshold.
#[derive(Debug)]
pub(crate) struct Stage1 {
    /// For each occupation, its index in `z`/`xs`, or [`NONE`].
    slot: Vec<u32>,
    /// Exact prior-corrected first-stage logits.
    z: Vec<f64>,
    /// Exact feature vectors, aligned with `z`.
    xs: Vec<Features>,
    /// The head threshold (see [`TransitionModel::head_threshold`]): occupations with a
    /// first-stage logit at or above it are re-scored; `+∞` without a reranker.
    pub(crate) threshold: f64,
}

impl Stage1 {
    /// The head of the profile `scan` and its threshold, as [`TransitionModel::head_threshold`]
    /// would find them over the exact logits of every occupation but the anchor.
    pub(crate) fn new(
        model: &TransitionModel,
        linear: Option<&LinearLogit>,
        index: &FeatureIndex,
        catalogue: &Catalogue,
        scan: &ProfileScan,
    ) -> Self {
        let n = catalogue.occupations.len();
        let mut stage = Stage1 { slot: vec![NONE; n], z: Vec::new(), xs: Vec::new(), threshold: f64::INFINITY };
        let head = match &model.rerank {
            Some(r) if r.head > 0 => r.head,
            _ => return stage,
        };
        let anchor = scan.anchor();
        let others = || catalogue.occupation_ids().filter(move |t| *t != anchor);
        match linear {
            Some(linear) if n.saturating_sub(1) > head => {
                let bounds: Vec<(OccupationId, f64, f64)> = others()
                    .map(|t| {
                        let (x, reverse_hi) = scan.features_bounded(index, t);
                        let (lo, hi) = linear.bounds(&x, reverse_hi);
                        (t, lo, hi)
                    })
                    .collect();
                // At least `head` occupations have a logit ≥ their lower bound ≥ `floor`, so
                // the head threshold is ≥ `floor`, and an occupation whose upper bound is below
                // `floor` is in neither the head nor the threshold's computation.
                let mut lows: Vec<f64> = bounds.iter().map(|b| b.1).collect();
                let (_, floor, _) = lows.select_nth_unstable_by(head - 1, |a, b| b.total_cmp(a));
                let floor = *floor;
                for &(t, _, hi) in &bounds {
                    // NaN bounds (cannot happen with finite features) count as candidates.
                    if hi.partial_cmp(&floor) != Some(std::cmp::Ordering::Less) {
                        stage.exact(index, catalogue, scan, model, t);
                    }
                }
            }
            _ => {
                for t in others() {
                    stage.exact(index, catalogue, scan, model, t);
                }
            }
        }
        let a = stage.slot[anchor.0 as usize];
        let mut logits: Vec<f64> =
            stage.z.iter().enumerate().filter(|(i, _)| *i as u32 != a).map(|(_, z)| *z).collect();
        stage.threshold = model.head_threshold(&mut logits);
        stage
    }

    /// The exact first-stage logit and feature vector of `t`, computed on first use.
    pub(crate) fn exact(
        &mut self,
        index: &FeatureIndex,
        catalogue: &Catalogue,
        scan: &ProfileScan,
        model: &TransitionModel,
        t: OccupationId,
    ) -> (f64, &Features) {
        let i = t.0 as usize;
        if self.slot[i] == NONE {
            let x = scan.features(index, catalogue, t);
            self.slot[i] = self.z.len() as u32;
            self.z.push(model.corrected_logit(&x));
            self.xs.push(x);
        }
        let s = self.slot[i] as usize;
        (self.z[s], &self.xs[s])
    }

    /// The exact logit of `t`, if it was computed.
    pub(crate) fn known(&self, t: OccupationId) -> Option<f64> {
        match self.slot[t.0 as usize] {
            NONE => None,
            s => Some(self.z[s as usize]),
        }
    }
}
