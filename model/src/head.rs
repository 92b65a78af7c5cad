//! The first-stage scores one ranking needs, computed exactly only where they can matter.
//!
//! The cascade ([`crate::transition::Reranker`]) re-scores a profile's *head*: the `head`
//! occupations (50) with the highest first-stage logit, the anchor excluded. Finding the head
//! the direct way scores all 1,583 other occupations exactly, and most of that time goes to
//! one feature, `log_reverse_rank`, which bisects each candidate's 1,583 neighbour cosines
//! (10 MB that are rarely in cache). [`Stage1::new`] instead bounds that feature for every
//! occupation from a small sketch ([`ProfileScan::logit_bounds`]), which bounds each
//! first-stage logit when the first stage is linear; only the occupations whose upper bound
//! reaches the head's lowest lower bound are scored exactly (typically a few dozen beyond the
//! head). The result is the same head, threshold and scores as the exhaustive way — a test
//! compares both on real profiles — because an occupation outside that set has a logit below
//! at least `head` exact logits.

use crate::catalogue::{Catalogue, OccupationId};
use crate::features::{FeatureIndex, Features, ProfileScan, N_FEATURES};
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

    /// Bounds `(lo, hi)` on the first-stage logit of every occupation for `scan` (see
    /// [`ProfileScan::logit_bounds`]), widened by a relative 1e-9 to absorb the rounding
    /// differences with [`TransitionModel::corrected_logit`].
    fn bounds(&self, index: &FeatureIndex, scan: &ProfileScan) -> (Vec<f64>, Vec<f64>) {
        let (mut lo, mut hi) = scan.logit_bounds(index, self.bias, &self.w);
        for (l, h) in lo.iter_mut().zip(hi.iter_mut()) {
            let eps = 1e-9 * (1.0 + l.abs().max(h.abs()));
            *l -= eps;
            *h += eps;
        }
        (lo, hi)
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
        // Room for the head, the occupations near its threshold and a few answers.
        let room = model.rerank.as_ref().map_or(0, |r| 2 * r.head) + 32;
        let mut stage = Stage1 {
            slot: vec![NONE; n],
            z: Vec::with_capacity(room),
            xs: Vec::with_capacity(room),
            threshold: f64::INFINITY,
        };
        let head = match &model.rerank {
            Some(r) if r.head > 0 => r.head,
            _ => return stage,
        };
        let anchor = scan.anchor();
        let others = || catalogue.occupation_ids().filter(move |t| *t != anchor);
        match linear {
            Some(linear) if n.saturating_sub(1) > head => {
                let (lo, hi) = linear.bounds(index, scan);
                let a = anchor.0 as usize;
                // At least `head` occupations have a logit ≥ their lower bound ≥ `floor`, so
                // the head threshold is ≥ `floor`, and an occupation whose upper bound is below
                // `floor` is in neither the head nor the threshold's computation.
                let mut lows: Vec<f64> = Vec::with_capacity(n);
                lows.extend(lo.iter().enumerate().filter(|(t, _)| *t != a).map(|(_, l)| *l));
                let (_, floor, _) = lows.select_nth_unstable_by(head - 1, |x, y| y.total_cmp(x));
                let floor = *floor;
                for t in others() {
                    // NaN bounds (cannot happen with finite features) count as candidates.
                    if hi[t.0 as usize].partial_cmp(&floor) != Some(std::cmp::Ordering::Less) {
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
        let mut logits: Vec<f64> = Vec::with_capacity(stage.z.len());
        logits.extend(stage.z.iter().enumerate().filter(|(i, _)| *i as u32 != a).map(|(_, z)| *z));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::ItemId;
    use crate::features::{MobilityEvidence, ProfileVector, LOG_REVERSE_RANK};
    use crate::transition::ModelArtifact;

    /// On real profiles, every occupation's exact first-stage logit lies within its bounds,
    /// and the bounds are tight enough to prune: the exact set is a small share of 1,584.
    #[test]
    fn bounds_contain_the_exact_logits_and_prune_most_occupations() {
        let catalogue = crate::embedded::catalogue().expect("catalogue");
        let index = FeatureIndex::new(&catalogue);
        let model = ModelArtifact::from_json(crate::embedded::MODEL_JSON).expect("artifact").model;
        let embeddings = model.embedding.as_ref().expect("the embedded model has an embedding").resolve(&catalogue);
        let evidence = MobilityEvidence::all(&catalogue).with_embeddings(embeddings.expect("resolves"));
        let linear = LinearLogit::of(&model).expect("the embedded first stage is linear");
        assert!(linear.w[LOG_REVERSE_RANK] != 0.0, "the bounded feature has a weight");
        let (mut checked, mut exact) = (0, 0);
        for o in catalogue.occupation_ids().step_by(53) {
            let items: Vec<ItemId> = catalogue.occupation(o).items.iter().map(|l| l.item).skip(2).collect();
            let scan = index.scan(&catalogue, &evidence, &ProfileVector::new(&index, &items), Some(o));
            let (lo, hi) = linear.bounds(&index, &scan);
            for t in catalogue.occupation_ids() {
                let z = model.corrected_logit(&scan.features(&index, &catalogue, t));
                let i = t.0 as usize;
                assert!(lo[i] <= z && z <= hi[i], "{o:?} → {t:?}: {z} not in [{}, {}]", lo[i], hi[i]);
                checked += 1;
            }
            exact += Stage1::new(&model, Some(&linear), &index, &catalogue, &scan).z.len();
        }
        assert_eq!(checked, 30 * catalogue.occupations.len());
        // 30 profiles with a head of 50 each: at least 1,500 exact scores, far fewer than
        // the 47,490 of the exhaustive way.
        assert!((1500..10_000).contains(&exact), "{exact} exact first-stage scores for 30 profiles");
    }
}
