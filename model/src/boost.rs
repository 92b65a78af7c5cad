//! Gradient-boosted trees that correct the reranker's logit inside a profile's head.
//!
//! The second stage of the cascade ([`crate::transition::Reranker`]) is a linear logistic
//! regression; it cannot see interactions between features ("close by skills *and* listed
//! by a sibling fiche"). This module adds, on top of its logit `F0`, a sum of shallow trees
//! learned by gradient boosting of the logistic loss:
//!
//! - each round fits a [`linfa_trees::DecisionTree`] (the tree *structure* is learned by
//!   linfa) on the training heads with labels `y` (is a curated mobility) and sample weights
//!   `|y − p|`, `p = sigmoid(F)`: its splits separate the pairs the current model
//!   under-scores from those it over-scores, weighted by how wrong it is;
//! - each leaf's value is then one Newton step of the logistic loss over the training rows
//!   that reach it, `Σ(y − p) / Σ p(1 − p)`, clipped and shrunk by the learning rate, and
//!   `F += value`;
//! - the number of rounds is chosen on an inner validation split of the *training* sources
//!   (never the held-out ones).
//!
//! Fitted trees are converted to a flat array ([`FlatTree`]) for serving and for the JSON
//! artifact. As in linfa's own prediction, a value strictly below a node's threshold goes
//! left, any other value right.

use linfa::prelude::*;
use linfa_trees::{DecisionTree, SplitQuality, TreeNode};
use ndarray::{Array1, Array2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, TrainError};
use crate::features::{Features, N_FEATURES};

/// Number of tree inputs: the [`N_FEATURES`] pair features (raw values), then the
/// first-stage logit and the reranker's linear logit (both prior-corrected).
pub const N_TREE_INPUTS: usize = N_FEATURES + 2;

/// One pair's tree inputs, see [`N_TREE_INPUTS`].
pub type TreeInputs = [f64; N_TREE_INPUTS];

/// Largest absolute leaf value an artifact may hold (logit units).
pub const MAX_LEAF_VALUE: f64 = 10.0;
/// Largest number of trees an artifact may hold.
pub const MAX_TREES: usize = 2000;
/// Accepted depth of a tree ([`BoostParams::check`]; the CLI's `--boost-depth`).
pub const DEPTH_RANGE: std::ops::RangeInclusive<usize> = 1..=10;
/// Largest number of nodes of one tree an artifact may hold (a full tree of depth 10).
pub const MAX_NODES: usize = 2047;

/// The tree inputs of a pair: its features `x`, its first-stage logit `z1` and its
/// reranker's linear logit `z2`.
pub fn tree_inputs(x: &Features, z1: f64, z2: f64) -> TreeInputs {
    let mut v = [0.0; N_TREE_INPUTS];
    v[..N_FEATURES].copy_from_slice(x);
    v[N_FEATURES] = z1;
    v[N_FEATURES + 1] = z2;
    v
}

/// One node of a [`FlatTree`]. A leaf has `left == right == 0` (node 0 is the root and
/// never a child); an inner node sends an input whose `feature` value is `< threshold` to
/// `left`, any other (including NaN) to `right`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlatNode {
    /// Index of the tested input, `0..N_TREE_INPUTS` (unused in a leaf).
    pub feature: u32,
    /// Split value (unused in a leaf).
    pub threshold: f64,
    /// Index of the left child in the tree's node array (0 in a leaf).
    pub left: u32,
    /// Index of the right child (0 in a leaf).
    pub right: u32,
    /// Contribution to the logit of an input that ends here (0 in an inner node).
    pub value: f64,
}

impl FlatNode {
    /// Whether this node is a leaf.
    pub fn is_leaf(&self) -> bool {
        self.left == 0 && self.right == 0
    }
}

/// A decision tree as a flat array of nodes, root first; children always come after their
/// parent, so a walk ends in at most `nodes.len()` steps.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlatTree {
    /// The nodes, root at index 0.
    pub nodes: Vec<FlatNode>,
}

impl FlatTree {
    /// Converts a fitted linfa-trees decision tree, with every leaf value 0 (set them with
    /// [`FlatTree::set_leaf_values`]).
    pub fn from_linfa(tree: &DecisionTree<f64, bool>) -> Self {
        let mut flat = FlatTree { nodes: Vec::new() };
        flat.push(tree.root_node());
        flat
    }

    /// Appends `node` and its subtree (pre-order), returning its index.
    fn push(&mut self, node: &TreeNode<f64, bool>) -> u32 {
        let at = self.nodes.len();
        self.nodes.push(FlatNode { feature: 0, threshold: 0.0, left: 0, right: 0, value: 0.0 });
        let children = node.children();
        let (left, right) = match (children.first(), children.get(1)) {
            (Some(Some(l)), Some(Some(r))) if !node.is_leaf() => (l, r),
            _ => return at as u32,
        };
        let (feature, threshold, _) = node.split();
        let l = self.push(left);
        let r = self.push(right);
        self.nodes[at] = FlatNode { feature: feature as u32, threshold, left: l, right: r, value: 0.0 };
        at as u32
    }

    /// Index of the leaf that `x` reaches (`x` must have every feature a node tests:
    /// [`validate`](Self::validate) checks it for `N_TREE_INPUTS` inputs).
    pub fn leaf_of(&self, x: &[f64]) -> usize {
        let mut i = 0usize;
        while let Some(n) = self.nodes.get(i) {
            if n.is_leaf() {
                return i;
            }
            let v = x.get(n.feature as usize).copied().unwrap_or(f64::NAN);
            i = if v < n.threshold { n.left } else { n.right } as usize;
        }
        0
    }

    /// The value of the leaf `x` reaches (0 for an empty tree).
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.nodes.get(self.leaf_of(x)).map_or(0.0, |n| n.value)
    }

    /// Sets each leaf's value to `learning_rate × clamp(Σ g / Σ h, ±clip)` over the rows
    /// that reach it (`g = y − p`, `h = p (1 − p)`, Newton's step for the logistic loss);
    /// a leaf no row reaches gets 0.
    pub fn set_leaf_values(&mut self, rows: &[&[f64]], g: &[f64], h: &[f64], learning_rate: f64, clip: f64) {
        let mut sums = vec![(0.0, 0.0); self.nodes.len()];
        for ((x, gi), hi) in rows.iter().zip(g).zip(h) {
            let leaf = self.leaf_of(x);
            sums[leaf].0 += gi;
            sums[leaf].1 += hi;
        }
        for (node, (sg, sh)) in self.nodes.iter_mut().zip(sums) {
            node.value =
                if node.is_leaf() && sh > 0.0 { learning_rate * (sg / (sh + 1e-6)).clamp(-clip, clip) } else { 0.0 };
        }
    }

    /// Checks the structure: at least one node; an inner node tests an input below
    /// `n_inputs` against a finite threshold and has two children after itself; leaf values
    /// are finite and within ±[`MAX_LEAF_VALUE`].
    ///
    /// # Errors
    /// A description of the first fault.
    pub fn validate(&self, n_inputs: usize) -> Result<(), String> {
        if self.nodes.is_empty() || self.nodes.len() > MAX_NODES {
            return Err(format!("a tree has {} nodes, expected 1..={MAX_NODES}", self.nodes.len()));
        }
        let n = self.nodes.len();
        for (i, node) in self.nodes.iter().enumerate() {
            if node.is_leaf() {
                if !node.value.is_finite() || node.value.abs() > MAX_LEAF_VALUE {
                    return Err(format!("leaf {i} has value {}, beyond ±{MAX_LEAF_VALUE}", node.value));
                }
                continue;
            }
            let (l, r) = (node.left as usize, node.right as usize);
            if l <= i || r <= i || l >= n || r >= n {
                return Err(format!("node {i} has children {l} and {r}, expected after {i} and below {n}"));
            }
            if node.feature as usize >= n_inputs || !node.threshold.is_finite() {
                return Err(format!(
                    "node {i} tests input {} against {}, expected an input below {n_inputs} and a finite threshold",
                    node.feature, node.threshold
                ));
            }
        }
        Ok(())
    }
}

/// Gradient-boosted trees over [`TreeInputs`]: the logit correction is the sum of every
/// tree's leaf value (learning rate included).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BoostedTrees {
    /// The trees, in the order they were fitted.
    pub trees: Vec<FlatTree>,
}

impl BoostedTrees {
    /// The logit correction of one pair (0 without trees).
    pub fn correction(&self, x: &TreeInputs) -> f64 {
        self.trees.iter().map(|t| t.predict(x)).sum()
    }

    /// Checks every tree (see [`FlatTree::validate`]) and their number.
    ///
    /// # Errors
    /// [`DataError::Artifact`] naming the tree and its fault.
    pub fn validate(&self) -> Result<(), DataError> {
        if self.trees.len() > MAX_TREES {
            return Err(DataError::Artifact {
                reason: format!("the reranker has {} trees, at most {MAX_TREES} are read", self.trees.len()),
            });
        }
        for (k, tree) in self.trees.iter().enumerate() {
            tree.validate(N_TREE_INPUTS)
                .map_err(|reason| DataError::Artifact { reason: format!("reranker tree {k}: {reason}") })?;
        }
        Ok(())
    }
}

/// Hyperparameters of [`fit_boosted`], checked by [`BoostParams::check`].
///
/// | parameter | default | range | meaning |
/// |---|---|---|---|
/// | `rounds` | 200 | 0..=2000 | most trees fitted (0: no trees) |
/// | `depth` | 4 | 1..=10 | linfa `max_depth` of each tree (3: recall@10 +0.004, MRR +0.007 not clear of zero; 4 kept) |
/// | `learning_rate` | 0.1 | (0, 1] | shrinkage of each leaf's Newton step |
/// | `min_leaf_weight` | 20 | 1..=1e6 | linfa `min_weight_leaf`, in rows' worth of gradient (weights `|g|` are scaled to a mean of 1 per tree) |
/// | `clip` | 4.0 | (0, 10] | bound of a leaf's Newton step before shrinkage (logit units) |
/// | `subsample` | 0.5 | (0, 1] | share of training rows each tree is fitted on (halves the fitting time; 1.0 with depth 3 measured no better) |
/// | `entropy` | false | bool | split quality: entropy instead of Gini |
/// | `valid_share` | 0.2 | 0..0.9 | share of training groups held out to choose the number of rounds (0: all rounds) |
/// | `patience` | 30 | 1..=2000 | rounds without improvement of the validation loss before stopping |
/// | `seed` | 17 | any | seed of the validation split and the subsampling |
/// | `objective` | pairwise | see [`BoostObjective`] | the loss whose gradients the trees follow |
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoostParams {
    /// Most rounds.
    pub rounds: usize,
    /// Tree depth.
    pub depth: usize,
    /// Shrinkage.
    pub learning_rate: f64,
    /// Minimum weight of a leaf.
    pub min_leaf_weight: f32,
    /// Bound of a raw Newton step.
    pub clip: f64,
    /// Row share per tree.
    pub subsample: f64,
    /// Entropy instead of Gini.
    pub entropy: bool,
    /// Inner validation share of groups.
    pub valid_share: f64,
    /// Early-stopping patience.
    pub patience: usize,
    /// Seed.
    pub seed: u64,
    /// Loss.
    pub objective: BoostObjective,
}

/// The loss boosting descends. Rows of one group (one source's head) compete with each
/// other in the ranking losses; the pointwise loss also rewards telling apart sources
/// with many mobilities from sources with few, which does not reorder any head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoostObjective {
    /// Logistic loss of each row's label.
    Pointwise,
    /// RankNet: logistic loss of every (mobility, other) pair of a group on `F_i − F_j`.
    Pairwise,
    /// LambdaRank: the pairwise gradients weighted by how much swapping the pair changes
    /// the group's nDCG under the current ordering.
    Lambda,
    /// Listwise softmax: `−Σ ln softmax(F)_i` over the mobilities of each group.
    Softmax,
}

impl Default for BoostParams {
    fn default() -> Self {
        BoostParams {
            rounds: 200,
            depth: 4,
            learning_rate: 0.1,
            min_leaf_weight: 20.0,
            clip: 4.0,
            subsample: 0.5,
            entropy: false,
            valid_share: 0.2,
            patience: 30,
            seed: 17,
            objective: BoostObjective::Pairwise,
        }
    }
}

impl BoostParams {
    /// Checks every parameter against its documented range.
    ///
    /// # Errors
    /// [`TrainError::InvalidParam`] naming the first parameter out of range.
    pub fn check(&self) -> Result<(), TrainError> {
        let bad = |name, reason: String| Err(TrainError::InvalidParam { name, reason });
        if self.rounds > MAX_TREES {
            return bad("boost_rounds", format!("{} not in 0..={MAX_TREES}", self.rounds));
        }
        if !DEPTH_RANGE.contains(&self.depth) {
            return bad("boost_depth", format!("{} not in {DEPTH_RANGE:?}", self.depth));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad("boost_learning_rate", format!("{} not in (0, 1]", self.learning_rate));
        }
        if !(1.0..=1e6).contains(&self.min_leaf_weight) {
            return bad("boost_min_leaf_weight", format!("{} not in 1..=1e6", self.min_leaf_weight));
        }
        if !(self.clip > 0.0 && self.clip <= MAX_LEAF_VALUE) {
            return bad("boost_clip", format!("{} not in (0, {MAX_LEAF_VALUE}]", self.clip));
        }
        if !(self.subsample > 0.0 && self.subsample <= 1.0) {
            return bad("boost_subsample", format!("{} not in (0, 1]", self.subsample));
        }
        if !(0.0..0.9).contains(&self.valid_share) {
            return bad("boost_valid_share", format!("{} not in 0..0.9", self.valid_share));
        }
        if !(1..=MAX_TREES).contains(&self.patience) {
            return bad("boost_patience", format!("{} not in 1..={MAX_TREES}", self.patience));
        }
        Ok(())
    }
}

/// What [`fit_boosted`] measured on its inner validation split.
#[derive(Debug, Clone, PartialEq)]
pub struct BoostTrace {
    /// Mean loss of the objective on the validation rows after each round (index 0: before
    /// any tree).
    pub valid_loss: Vec<f64>,
    /// Rounds kept (the best validation loss; all rounds without validation).
    pub kept: usize,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// ln(1 + e^m), computed stably.
fn softplus(m: f64) -> f64 {
    m.max(0.0) + (-m.abs()).exp().ln_1p()
}

/// Contiguous runs of equal group ids: `(start, end)` index ranges.
fn group_ranges(groups: &[u32]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < groups.len() {
        let mut end = start + 1;
        while end < groups.len() && groups[end] == groups[start] {
            end += 1;
        }
        out.push((start, end));
        start = end;
    }
    out
}

/// Mean loss of the objective over rows `f` (labels `y`, groups `ranges`).
fn loss(objective: BoostObjective, f: &[f64], y: &[bool], ranges: &[(usize, usize)]) -> f64 {
    let (mut total, mut count) = (0.0, 0usize);
    match objective {
        BoostObjective::Pointwise => {
            for (z, y) in f.iter().zip(y) {
                total += softplus(if *y { -z } else { *z });
                count += 1;
            }
        }
        BoostObjective::Pairwise | BoostObjective::Lambda => {
            for &(a, b) in ranges {
                for i in (a..b).filter(|&i| y[i]) {
                    for j in (a..b).filter(|&j| !y[j]) {
                        total += softplus(f[j] - f[i]);
                        count += 1;
                    }
                }
            }
        }
        BoostObjective::Softmax => {
            for &(a, b) in ranges {
                let m = f[a..b].iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let log_z = m + f[a..b].iter().map(|z| (z - m).exp()).sum::<f64>().ln();
                for i in (a..b).filter(|&i| y[i]) {
                    total += log_z - f[i];
                    count += 1;
                }
            }
        }
    }
    total / count.max(1) as f64
}

/// Gradients `g` (the direction that lowers the loss, per row) and Hessians `h` of the
/// objective at `f`.
fn gradients(objective: BoostObjective, f: &[f64], y: &[bool], ranges: &[(usize, usize)]) -> (Vec<f64>, Vec<f64>) {
    let n = f.len();
    let (mut g, mut h) = (vec![0.0; n], vec![0.0; n]);
    match objective {
        BoostObjective::Pointwise => {
            for i in 0..n {
                let p = sigmoid(f[i]);
                g[i] = f64::from(u8::from(y[i])) - p;
                h[i] = p * (1.0 - p);
            }
        }
        BoostObjective::Pairwise | BoostObjective::Lambda => {
            for &(a, b) in ranges {
                // Discount of each row's current position in its group (for Lambda).
                let mut discount = vec![1.0; b - a];
                let mut ideal = 1.0;
                if objective == BoostObjective::Lambda {
                    let mut order: Vec<usize> = (a..b).collect();
                    order.sort_by(|&i, &j| f[j].total_cmp(&f[i]).then(i.cmp(&j)));
                    for (r, &i) in order.iter().enumerate() {
                        discount[i - a] = 1.0 / ((r + 2) as f64).log2();
                    }
                    let n_pos = (a..b).filter(|&i| y[i]).count();
                    ideal = (0..n_pos).map(|r| 1.0 / ((r + 2) as f64).log2()).sum::<f64>().max(1e-12);
                }
                for i in (a..b).filter(|&i| y[i]) {
                    for j in (a..b).filter(|&j| !y[j]) {
                        let rho = sigmoid(f[j] - f[i]);
                        let weight = if objective == BoostObjective::Lambda {
                            (discount[i - a] - discount[j - a]).abs() / ideal
                        } else {
                            1.0
                        };
                        g[i] += weight * rho;
                        g[j] -= weight * rho;
                        let w = weight * rho * (1.0 - rho);
                        h[i] += w;
                        h[j] += w;
                    }
                }
            }
        }
        BoostObjective::Softmax => {
            for &(a, b) in ranges {
                let n_pos = (a..b).filter(|&i| y[i]).count() as f64;
                let m = f[a..b].iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = f[a..b].iter().map(|v| (v - m).exp()).sum();
                for i in a..b {
                    let s = (f[i] - m).exp() / z;
                    g[i] = f64::from(u8::from(y[i])) - n_pos * s;
                    h[i] = n_pos * s * (1.0 - s);
                }
            }
        }
    }
    (g, h)
}

/// Fits boosted trees that correct the logit `f0` of each row: `rows[i]` are its inputs,
/// `labels[i]` whether it is a curated mobility, `groups[i]` its source (rows of a group
/// are contiguous; the ranking objectives compare rows within a group, and the inner
/// validation split holds out whole groups). The rounds kept are those with the lowest
/// validation loss; the trees are fitted on the other groups only.
///
/// # Errors
/// [`TrainError::InvalidParam`] for parameters out of range or inputs of different
/// lengths, [`TrainError::NotEnoughData`] when the training rows have one class only,
/// [`TrainError::TreeFit`] when linfa-trees fails.
pub fn fit_boosted(
    rows: &[TreeInputs],
    labels: &[bool],
    f0: &[f64],
    groups: &[u32],
    params: &BoostParams,
) -> Result<(BoostedTrees, BoostTrace), TrainError> {
    params.check()?;
    let n = rows.len();
    if labels.len() != n || f0.len() != n || groups.len() != n {
        return Err(TrainError::InvalidParam {
            name: "boost rows",
            reason: format!("{n} rows, {} labels, {} logits, {} groups", labels.len(), f0.len(), groups.len()),
        });
    }
    // Inner validation: whole groups, by a seeded hash of the group id.
    let valid_group = |g: u32| {
        let mut rng = StdRng::seed_from_u64(params.seed ^ (u64::from(g) << 17));
        rng.gen::<f64>() < params.valid_share
    };
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for (i, g) in groups.iter().enumerate() {
        if valid_group(*g) {
            valid.push(i);
        } else {
            train.push(i);
        }
    }
    let n_pos = train.iter().filter(|&&i| labels[i]).count();
    if n_pos == 0 || n_pos == train.len() {
        return Err(TrainError::NotEnoughData {
            reason: format!("{} boosting rows with {n_pos} mobilities: both classes are needed", train.len()),
        });
    }
    let records = Array2::from_shape_fn((train.len(), N_TREE_INPUTS), |(r, c)| rows[train[r]][c]);
    let y_train: Vec<bool> = train.iter().map(|&i| labels[i]).collect();
    let y_valid: Vec<bool> = valid.iter().map(|&i| labels[i]).collect();
    let mut f_train: Vec<f64> = train.iter().map(|&i| f0[i]).collect();
    let mut f_valid: Vec<f64> = valid.iter().map(|&i| f0[i]).collect();
    let train_rows: Vec<&[f64]> = train.iter().map(|&i| rows[i].as_slice()).collect();
    let valid_rows: Vec<&[f64]> = valid.iter().map(|&i| rows[i].as_slice()).collect();
    let quality = if params.entropy { SplitQuality::Entropy } else { SplitQuality::Gini };
    let tree_params = DecisionTree::<f64, bool>::params()
        .split_quality(quality)
        .max_depth(Some(params.depth))
        .min_weight_leaf(params.min_leaf_weight);
    let mut rng = StdRng::seed_from_u64(params.seed);
    let mut trees = Vec::new();
    let g_train: Vec<u32> = train.iter().map(|&i| groups[i]).collect();
    let g_valid: Vec<u32> = valid.iter().map(|&i| groups[i]).collect();
    let (r_train, r_valid) = (group_ranges(&g_train), group_ranges(&g_valid));
    let objective = params.objective;
    let mut trace = BoostTrace { valid_loss: vec![loss(objective, &f_valid, &y_valid, &r_valid)], kept: 0 };
    let mut best = (trace.valid_loss[0], 0usize);
    for round in 0..params.rounds {
        let (g, h) = gradients(objective, &f_train, &y_train, &r_train);
        // Rows without a gradient (a group with no mobility, in the ranking losses) teach
        // the tree nothing.
        let sample: Vec<usize> = (0..train.len())
            .filter(|&i| g[i] != 0.0 && (params.subsample >= 1.0 || rng.gen::<f64>() < params.subsample))
            .collect();
        if sample.is_empty() {
            break;
        }
        let x = records.select(ndarray::Axis(0), &sample);
        // The tree separates the rows to push up from those to push down, weighted by |g|.
        let targets = Array1::from_iter(sample.iter().map(|&i| g[i] > 0.0));
        // Weights |g| scaled to a mean of 1, so `min_leaf_weight` counts rows' worth of
        // gradient and linfa's f32 running sums stay far from 0.
        let mean = sample.iter().map(|&i| g[i].abs()).sum::<f64>() / sample.len() as f64;
        let weights = Array1::from_iter(sample.iter().map(|&i| (g[i].abs() / mean).max(1e-3) as f32));
        let dataset = Dataset::new(x, targets).with_weights(weights);
        // linfa-trees asserts on degenerate weight sums: a panic there is a failed fit.
        let fitted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tree_params.fit(&dataset)))
            .map_err(|_| {
                TrainError::TreeFit(linfa::Error::Parameters("linfa-trees panicked on degenerate weights".into()))
            })?
            .map_err(TrainError::TreeFit)?;
        let mut tree = FlatTree::from_linfa(&fitted);
        let s_rows: Vec<&[f64]> = sample.iter().map(|&i| train_rows[i]).collect();
        let s_g: Vec<f64> = sample.iter().map(|&i| g[i]).collect();
        let s_h: Vec<f64> = sample.iter().map(|&i| h[i]).collect();
        tree.set_leaf_values(&s_rows, &s_g, &s_h, params.learning_rate, params.clip);
        for (f, x) in f_train.iter_mut().zip(&train_rows) {
            *f += tree.predict(x);
        }
        for (f, x) in f_valid.iter_mut().zip(&valid_rows) {
            *f += tree.predict(x);
        }
        trees.push(tree);
        if !valid.is_empty() {
            let l = loss(objective, &f_valid, &y_valid, &r_valid);
            trace.valid_loss.push(l);
            if l < best.0 {
                best = (l, round + 1);
            } else if round + 1 - best.1 >= params.patience {
                break;
            }
        }
    }
    trace.kept = if valid.is_empty() { trees.len() } else { best.1 };
    trees.truncate(trace.kept);
    Ok((BoostedTrees { trees }, trace))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows on a grid of (a, b) in [0, 1)², label = XOR(a > 0.5, b > 0.5), four more inputs
    /// noise, the others 0 (so the test does not depend on the number of features).
    fn xor_rows(n: usize, seed: u64) -> (Vec<TreeInputs>, Vec<bool>, Vec<u32>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut rows, mut labels, mut groups) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let mut x = [0.0; N_TREE_INPUTS];
            for v in x.iter_mut().take(6) {
                *v = rng.gen::<f64>();
            }
            labels.push((x[0] > 0.5) != (x[1] > 0.5));
            rows.push(x);
            groups.push((i / 10) as u32);
        }
        (rows, labels, groups)
    }

    #[test]
    fn boosting_learns_an_interaction_a_linear_model_cannot() {
        let (rows, labels, groups) = xor_rows(2000, 1);
        // F0 = 0: a linear logit in a and b cannot beat chance on XOR (its best is flat).
        let f0 = vec![0.0; rows.len()];
        let params = BoostParams {
            rounds: 60,
            depth: 3,
            learning_rate: 0.3,
            objective: BoostObjective::Pointwise,
            subsample: 1.0,
            ..BoostParams::default()
        };
        let (model, trace) = fit_boosted(&rows, &labels, &f0, &groups, &params).expect("fits");
        model.validate().expect("valid");
        assert!(trace.kept > 5, "kept {} rounds", trace.kept);
        let (test, test_labels, _) = xor_rows(1000, 2);
        let correct = test.iter().zip(&test_labels).filter(|(x, y)| (model.correction(x) > 0.0) == **y).count();
        assert!(correct > 850, "{correct} of 1000 XOR rows right");
        // A logistic regression on the same inputs is near chance.
        let records = Array2::from_shape_fn((rows.len(), 2), |(r, c)| rows[r][c]);
        let dataset = Dataset::new(records, Array1::from(labels.clone()));
        let lr = linfa_logistic::LogisticRegression::default().fit(&dataset).expect("fits");
        let test_records = Array2::from_shape_fn((test.len(), 2), |(r, c)| test[r][c]);
        let pred = lr.predict(&test_records);
        let lr_correct = pred.iter().zip(&test_labels).filter(|(p, y)| p == y).count();
        assert!(lr_correct < 600, "logistic regression: {lr_correct} of 1000");
    }

    #[test]
    fn flat_tree_routes_rows_like_linfa() {
        let (rows, labels, _) = xor_rows(500, 3);
        let records = Array2::from_shape_fn((rows.len(), N_TREE_INPUTS), |(r, c)| rows[r][c]);
        let dataset = Dataset::new(records, Array1::from(labels));
        let tree = DecisionTree::params().max_depth(Some(5)).fit(&dataset).expect("fits");
        let mut flat = FlatTree::from_linfa(&tree);
        // Label each leaf with linfa's class, then compare on fresh random rows, including
        // rows that sit exactly on a threshold.
        let mut leaf_class = vec![None; flat.nodes.len()];
        for x in &rows {
            let leaf = flat.leaf_of(x);
            let class = tree.predict(&Array2::from_shape_vec((1, N_TREE_INPUTS), x.to_vec()).expect("shape"))[0];
            assert!(leaf_class[leaf].is_none_or(|c| c == class), "one leaf, one class");
            leaf_class[leaf] = Some(class);
        }
        for (node, class) in flat.nodes.iter_mut().zip(&leaf_class) {
            node.value = if *class == Some(true) { 1.0 } else { -1.0 };
        }
        flat.validate(N_TREE_INPUTS).expect("valid");
        let (mut fresh, _, _) = xor_rows(2000, 4);
        for (k, n) in flat.nodes.iter().filter(|n| !n.is_leaf()).enumerate() {
            fresh[k][n.feature as usize] = n.threshold;
        }
        let records = Array2::from_shape_fn((fresh.len(), N_TREE_INPUTS), |(r, c)| fresh[r][c]);
        let linfa = tree.predict(&records);
        for (x, class) in fresh.iter().zip(linfa.iter()) {
            assert_eq!(flat.predict(x) > 0.0, *class, "{x:?}");
        }
    }

    #[test]
    fn bad_trees_are_refused_by_name() {
        let leaf = FlatNode { feature: 0, threshold: 0.0, left: 0, right: 0, value: 0.5 };
        let inner = FlatNode { feature: 3, threshold: 0.5, left: 1, right: 2, value: 0.0 };
        let good = FlatTree { nodes: vec![inner, leaf, leaf] };
        good.validate(N_TREE_INPUTS).expect("valid");
        let cycle = FlatTree { nodes: vec![FlatNode { left: 0, right: 1, ..inner }, leaf] };
        assert!(cycle.validate(N_TREE_INPUTS).is_err());
        let far = FlatTree { nodes: vec![FlatNode { right: 7, ..inner }, leaf, leaf] };
        assert!(far.validate(N_TREE_INPUTS).is_err());
        let input = FlatTree { nodes: vec![FlatNode { feature: 99, ..inner }, leaf, leaf] };
        assert!(input.validate(N_TREE_INPUTS).unwrap_err().contains("tests input 99"));
        let big = FlatTree { nodes: vec![inner, FlatNode { value: 11.0, ..leaf }, leaf] };
        assert!(big.validate(N_TREE_INPUTS).unwrap_err().contains("beyond"));
        let nan = FlatTree { nodes: vec![FlatNode { threshold: f64::NAN, ..inner }, leaf, leaf] };
        assert!(nan.validate(N_TREE_INPUTS).is_err());
        assert!(FlatTree::default().validate(N_TREE_INPUTS).is_err());
        let boosted = BoostedTrees { trees: vec![good, input] };
        let err = boosted.validate().expect_err("refused");
        assert!(err.to_string().contains("reranker tree 1"), "{err}");
        // A NaN input goes right, as in linfa (`x < threshold` is false).
        let mut x = [0.0; N_TREE_INPUTS];
        x[3] = f64::NAN;
        assert_eq!(boosted.trees[0].leaf_of(&x), 2);
    }

    #[test]
    fn params_out_of_range_are_named() {
        let err = BoostParams { depth: 0, ..BoostParams::default() }.check().expect_err("refused");
        assert!(err.to_string().contains("boost_depth"));
        let err = BoostParams { learning_rate: 0.0, ..BoostParams::default() }.check().expect_err("refused");
        assert!(err.to_string().contains("boost_learning_rate"));
    }
}
