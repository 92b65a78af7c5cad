//! Screening of boosted-tree rerankers on cached heads of the held-out protocol.
//!
//! `cargo run --release -p passerelle-model --example boost_screen -- CACHE_DIR [CONFIG…]`
//!
//! The first run trains the linear cascade of each fold of `passerelle eval` (5 folds,
//! seed 7) and caches, per fold, the heads of the training sources (what the reranker is
//! fitted on) and of the held-out sources (features, first-stage logit, reranker logit,
//! label), plus each held-out source's number of relevant targets and the reciprocal rank
//! of its first relevant target below the head (unchanged by any reordering of the head).
//! On these, the linear reranker reproduces the protocol's recall@10, MRR and nDCG@10.
//!
//! Each CONFIG (`rounds=200,depth=3,lr=0.1,minw=2,clip=4,sub=1,ent=0,valid=0.2,pat=30`)
//! then fits boosted trees on each fold's training heads over the linear reranker's logit
//! and reports the held-out metrics with paired differences against the linear reranker.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use passerelle_model::boost::{fit_boosted, tree_inputs, BoostObjective, BoostParams, TreeInputs};
use passerelle_model::catalogue::{Catalogue, OccupationId};
use passerelle_model::eval::{bootstrap, folds};
use passerelle_model::features::{FeatureIndex, Features, MobilityEvidence, ProfileVector, N_FEATURES};
use passerelle_model::transition::{
    fit, fit_reranker, mobility_targets, source_head, training_evidence, training_pairs, TrainParams, TrainingSet,
    TransitionModel,
};

/// One head row: group, occupation id, label, z1, z2, features.
const W: usize = 5 + N_FEATURES;

struct Fold {
    train: Vec<[f64; W]>,
    test: Vec<[f64; W]>,
    /// (group, n_relevant, rr_tail).
    meta: Vec<[f64; 3]>,
}

fn write_rows<const N: usize>(path: &Path, rows: &[[f64; N]]) {
    let mut bytes = Vec::with_capacity(rows.len() * N * 8);
    for r in rows {
        for v in r {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::File::create(path).and_then(|mut f| f.write_all(&bytes)).unwrap_or_else(|e| panic!("{path:?}: {e}"));
}

fn read_rows<const N: usize>(path: &Path) -> Option<Vec<[f64; N]>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path).ok()?.read_to_end(&mut bytes).ok()?;
    Some(
        bytes
            .chunks_exact(N * 8)
            .map(|c| {
                let mut r = [0.0; N];
                for (k, v) in r.iter_mut().enumerate() {
                    *v = f64::from_le_bytes(c[k * 8..k * 8 + 8].try_into().unwrap_or([0; 8]));
                }
                r
            })
            .collect(),
    )
}

fn row(g: OccupationId, t: OccupationId, label: bool, z1: f64, z2: f64, x: &Features) -> [f64; W] {
    let mut r = [0.0; W];
    r[0] = f64::from(g.0);
    r[1] = f64::from(t.0);
    r[2] = f64::from(u8::from(label));
    r[3] = z1;
    r[4] = z2;
    r[5..].copy_from_slice(x);
    r
}

/// Fold `f`'s training sources (every group but `f`) and the linear cascade trained on them.
fn fold_cascade(
    cat: &Catalogue,
    index: &FeatureIndex,
    groups: &[Vec<OccupationId>],
    f: usize,
) -> (Vec<OccupationId>, TransitionModel, MobilityEvidence, MobilityEvidence) {
    let params = TrainParams::default().check().unwrap_or_else(|e| panic!("{e}"));
    let train_sources: Vec<OccupationId> =
        groups.iter().enumerate().filter(|(g, _)| *g != f).flat_map(|(_, s)| s.iter().copied()).collect();
    // As `train` does, keeping the training evidence (cross-fitted embeddings) for the heads.
    let (evidence, embedding) = training_evidence(cat, index, &train_sources, &params);
    let set = training_pairs(cat, index, &evidence, &train_sources, &params);
    let mut model = fit(&set, &params).unwrap_or_else(|e| panic!("{e}"));
    fit_reranker(cat, index, &evidence, &train_sources, &mut model, &params).unwrap_or_else(|e| panic!("{e}"));
    // Held-out sources see the embedding fitted on every training row, as in `evaluate`.
    let mut held_out = MobilityEvidence::new(cat, &train_sources);
    if let Some(e) = &embedding {
        held_out = held_out.with_embeddings(e.resolve(cat).unwrap_or_else(|e| panic!("{e}")));
    }
    model.embedding = embedding;
    (train_sources, model, evidence, held_out)
}

fn build(cat: &Catalogue, index: &FeatureIndex, dir: &Path) -> Vec<Fold> {
    let groups = folds(cat, 5, 7);
    let targets = mobility_targets(cat);
    let mut out = Vec::new();
    for (f, held_out) in groups.iter().enumerate() {
        let paths = ["train", "test", "meta"].map(|k| dir.join(format!("fold{f}-{k}.bin")));
        if let (Some(train), Some(test), Some(meta)) =
            (read_rows(&paths[0]), read_rows(&paths[1]), read_rows(&paths[2]))
        {
            out.push(Fold { train, test, meta });
            continue;
        }
        let started = Instant::now();
        let (train_sources, model, evidence, held_out_evidence) = fold_cascade(cat, index, &groups, f);
        let rerank = model.rerank.as_ref().unwrap_or_else(|| panic!("no reranker"));
        let mut fold = Fold { train: Vec::new(), test: Vec::new(), meta: Vec::new() };
        // Training heads, exactly as fit_reranker builds them.
        for &s in &train_sources {
            let positives = &targets[s.0 as usize];
            if positives.is_empty() {
                continue;
            }
            for (z1, t, x) in source_head(cat, index, &evidence, &model, s, rerank.head) {
                fold.train.push(row(s, t, positives.contains(&t), z1, rerank.model.corrected_logit(&x), &x));
            }
        }
        // Held-out heads, exactly as the protocol ranks them.
        for &s in held_out {
            let relevant = &targets[s.0 as usize];
            let items: Vec<_> = cat.occupation(s).items.iter().map(|l| l.item).collect();
            let scan = index.scan(cat, &held_out_evidence, &ProfileVector::new(index, &items), Some(s));
            let candidates: Vec<OccupationId> = cat.occupation_ids().filter(|t| *t != s).collect();
            let features: Vec<Features> = candidates.iter().map(|&t| scan.features(index, cat, t)).collect();
            let z1: Vec<f64> = features.iter().map(|x| model.corrected_logit(x)).collect();
            let threshold = model.head_threshold(&mut z1.clone());
            let mut tail: Vec<(f64, OccupationId)> = Vec::new();
            for ((&t, x), &z) in candidates.iter().zip(&features).zip(&z1) {
                if z >= threshold {
                    fold.test.push(row(s, t, relevant.contains(&t), z, rerank.model.corrected_logit(x), x));
                } else {
                    tail.push((model.score(x, threshold), t));
                }
            }
            let head_len = candidates.len() - tail.len();
            tail.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let rr_tail =
                tail.iter().position(|(_, t)| relevant.contains(t)).map_or(0.0, |p| 1.0 / (head_len + p + 1) as f64);
            fold.meta.push([f64::from(s.0), relevant.len() as f64, rr_tail]);
        }
        write_rows(&paths[0], &fold.train);
        write_rows(&paths[1], &fold.test);
        write_rows(&paths[2], &fold.meta);
        eprintln!(
            "fold {f}: {} training head rows, {} held-out head rows, {:.1?}",
            fold.train.len(),
            fold.test.len(),
            started.elapsed()
        );
        out.push(fold);
    }
    out
}

static NOZ: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Training heads of each fold computed in the held-out regime: the training sources are
/// split into 5 inner folds, and an inner fold's heads are computed with the evidence of
/// the other inner folds only (z1, z2 from the fold's linear cascade).
fn build_xfit(cat: &Catalogue, index: &FeatureIndex, dir: &Path) -> Vec<Vec<[f64; W]>> {
    let groups = folds(cat, 5, 7);
    let targets = mobility_targets(cat);
    let mut out = Vec::new();
    for f in 0..groups.len() {
        let path = dir.join(format!("fold{f}-xtrain.bin"));
        if let Some(rows) = read_rows(&path) {
            out.push(rows);
            continue;
        }
        let started = Instant::now();
        let (train_sources, model, training, _) = fold_cascade(cat, index, &groups, f);
        let rerank = model.rerank.as_ref().unwrap_or_else(|| panic!("no reranker"));
        let mut rows = Vec::new();
        for k in 0..5 {
            let visible: Vec<OccupationId> =
                train_sources.iter().enumerate().filter(|(i, _)| i % 5 != k).map(|(_, s)| *s).collect();
            let evidence = MobilityEvidence::new(cat, &visible).with_embeddings(training.embeddings().clone());
            for (_, &s) in train_sources.iter().enumerate().filter(|(i, _)| i % 5 == k) {
                let positives = &targets[s.0 as usize];
                for (z1, t, x) in source_head(cat, index, &evidence, &model, s, rerank.head) {
                    rows.push(row(s, t, positives.contains(&t), z1, rerank.model.corrected_logit(&x), &x));
                }
            }
        }
        write_rows(&path, &rows);
        eprintln!("fold {f}: {} cross-fitted training head rows, {:.1?}", rows.len(), started.elapsed());
        out.push(rows);
    }
    out
}

fn inputs(r: &[f64; W]) -> TreeInputs {
    let mut x = [0.0; N_FEATURES];
    x.copy_from_slice(&r[5..]);
    if NOZ.load(std::sync::atomic::Ordering::Relaxed) {
        return tree_inputs(&x, 0.0, 0.0);
    }
    tree_inputs(&x, r[3], r[4])
}

/// Per-source (recall@10, rr, nDCG@10) of the held-out heads ordered by `score`.
fn metrics(fold: &Fold, score: &[f64]) -> Vec<[f64; 3]> {
    let mut out = Vec::new();
    let mut start = 0;
    for m in &fold.meta {
        let mut end = start;
        while end < fold.test.len() && fold.test[end][0] == m[0] {
            end += 1;
        }
        let mut head: Vec<(f64, f64, bool)> =
            (start..end).map(|i| (score[i], fold.test[i][1], fold.test[i][2] > 0.5)).collect();
        head.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.total_cmp(&b.1)));
        let n_rel = m[1];
        let (mut hits, mut dcg, mut rr) = (0.0, 0.0, 0.0);
        for (r, (_, _, y)) in head.iter().enumerate() {
            if *y {
                if rr == 0.0 {
                    rr = 1.0 / (r + 1) as f64;
                }
                if r < 10 {
                    hits += 1.0;
                    dcg += 1.0 / ((r + 2) as f64).log2();
                }
            }
        }
        if rr == 0.0 {
            rr = m[2];
        }
        let ideal: f64 = (0..(n_rel as usize).min(10)).map(|r| 1.0 / ((r + 2) as f64).log2()).sum();
        out.push([hits / n_rel, rr, dcg / ideal]);
        start = end;
    }
    out
}

fn parse(config: &str) -> BoostParams {
    let mut p = BoostParams::default();
    for kv in config.split(',').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("{kv}"));
        let f: f64 = v.parse().unwrap_or_else(|_| panic!("{kv}"));
        match k {
            "rounds" => p.rounds = f as usize,
            "depth" => p.depth = f as usize,
            "lr" => p.learning_rate = f,
            "minw" => p.min_leaf_weight = f as f32,
            "clip" => p.clip = f,
            "sub" => p.subsample = f,
            "ent" => p.entropy = f > 0.5,
            "valid" => p.valid_share = f,
            "pat" => p.patience = f as usize,
            "seed" => p.seed = f as u64,
            "noz" => NOZ.store(f > 0.5, std::sync::atomic::Ordering::Relaxed),
            "obj" => {
                p.objective = [
                    BoostObjective::Pointwise,
                    BoostObjective::Pairwise,
                    BoostObjective::Lambda,
                    BoostObjective::Softmax,
                ][f as usize]
            }
            _ => panic!("unknown key {k}"),
        }
    }
    p
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().cloned().unwrap_or_else(|| "/tmp/heads".into()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let cat = passerelle_model::embedded::catalogue().unwrap_or_else(|e| panic!("{e}"));
    let index = FeatureIndex::new(&cat);
    let mut data = build(&cat, &index, &dir);
    let mut args = args;
    if args.get(1).map(String::as_str) == Some("xfit") {
        args.remove(1);
        for (fold, rows) in data.iter_mut().zip(build_xfit(&cat, &index, &dir)) {
            fold.train = rows;
        }
    }
    if args.get(1).map(String::as_str) == Some("relin") {
        args.remove(1);
        // Refit the linear reranker on these training heads; z2 becomes its logit.
        let base: Vec<[f64; 3]> =
            data.iter().flat_map(|f| metrics(f, &f.test.iter().map(|r| r[4]).collect::<Vec<_>>())).collect();
        let params = TrainParams::default().check().unwrap_or_else(|e| panic!("{e}"));
        let mut all = Vec::new();
        for fold in data.iter_mut() {
            let feats = |r: &[f64; W]| {
                let mut x = [0.0; N_FEATURES];
                x.copy_from_slice(&r[5..]);
                x
            };
            let set = TrainingSet {
                features: fold.train.iter().map(feats).collect(),
                labels: fold.train.iter().map(|r| r[2] > 0.5).collect(),
                groups: fold.train.iter().map(|r| r[0] as u32).collect(),
                base_rate: 0.0,
            };
            let model = fit(&set, &params).unwrap_or_else(|e| panic!("{e}"));
            for r in fold.train.iter_mut().chain(fold.test.iter_mut()) {
                r[4] = model.corrected_logit(&feats(r));
            }
            all.extend(metrics(fold, &fold.test.iter().map(|r| r[4]).collect::<Vec<_>>()));
        }
        let diff = |k: usize| all.iter().zip(&base).map(|(a, b)| a[k] - b[k]).collect::<Vec<_>>();
        let mean = |k: usize| all.iter().map(|v| v[k]).sum::<f64>() / all.len() as f64;
        let (dr, drr, dnd) = (bootstrap(&diff(0), 7), bootstrap(&diff(1), 8), bootstrap(&diff(2), 9));
        println!(
            "linear reranker refitted on these heads: recall@10 {:.3} MRR {:.3} nDCG {:.3} | Δ {:+.4} [{:+.4},{:+.4}] {:+.4} [{:+.4},{:+.4}] {:+.4} [{:+.4},{:+.4}]",
            mean(0), mean(1), mean(2), dr.mean, dr.low, dr.high, drr.mean, drr.low, drr.high, dnd.mean, dnd.low, dnd.high
        );
    }
    let base: Vec<[f64; 3]> =
        data.iter().flat_map(|f| metrics(f, &f.test.iter().map(|r| r[4]).collect::<Vec<_>>())).collect();
    let report = |name: &str, m: &[[f64; 3]]| {
        let col = |k: usize| m.iter().map(|v| v[k]).collect::<Vec<_>>();
        let diff = |k: usize| m.iter().zip(&base).map(|(a, b)| a[k] - b[k]).collect::<Vec<_>>();
        let (r, rr, nd) = (bootstrap(&col(0), 7), bootstrap(&col(1), 8), bootstrap(&col(2), 9));
        let (dr, drr, dnd) = (bootstrap(&diff(0), 7), bootstrap(&diff(1), 8), bootstrap(&diff(2), 9));
        println!(
            "{name}: recall@10 {:.3} [{:.3},{:.3}] MRR {:.3} [{:.3},{:.3}] nDCG {:.3} | paired Δrecall {:+.4} [{:+.4},{:+.4}] ΔMRR {:+.4} [{:+.4},{:+.4}] ΔnDCG {:+.4} [{:+.4},{:+.4}]",
            r.mean, r.low, r.high, rr.mean, rr.low, rr.high, nd.mean, dr.mean, dr.low, dr.high, drr.mean, drr.low, drr.high, dnd.mean, dnd.low, dnd.high
        );
    };
    report("linear reranker", &base);
    if args.get(1).map(String::as_str) == Some("shift") {
        let fold = &data[0];
        let stats = |rows: &[[f64; W]], pos: bool, k: usize| {
            let v: Vec<f64> = rows.iter().filter(|r| (r[2] > 0.5) == pos).map(|r| r[k]).collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        let rate = |rows: &[[f64; W]]| rows.iter().filter(|r| r[2] > 0.5).count() as f64 / rows.len() as f64;
        println!("positive rate in head: train {:.4} test {:.4}", rate(&fold.train), rate(&fold.test));
        let names = passerelle_model::features::FEATURE_NAMES;
        for k in 3..W {
            let name = if k == 3 {
                "z1"
            } else if k == 4 {
                "z2"
            } else {
                names[k - 5]
            };
            println!(
                "{name:>28}: pos train {:9.4} test {:9.4} | neg train {:9.4} test {:9.4}",
                stats(&fold.train, true, k),
                stats(&fold.test, true, k),
                stats(&fold.train, false, k),
                stats(&fold.test, false, k)
            );
        }
        return;
    }
    if args.get(1).map(String::as_str) == Some("inner") {
        // Ranking on training heads: fit on 80 % of fold 0's training groups, measure on the
        // rest (recall within the head), linear reranker vs boosted.
        for config in &args[2..] {
            let p = parse(config);
            let fold = &data[0];
            let held = |g: f64| (g as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).is_multiple_of(5);
            let a: Vec<&[f64; W]> = fold.train.iter().filter(|r| !held(r[0])).collect();
            let b: Vec<[f64; W]> = fold.train.iter().filter(|r| held(r[0])).copied().collect();
            let rows: Vec<TreeInputs> = a.iter().map(|r| inputs(r)).collect();
            let labels: Vec<bool> = a.iter().map(|r| r[2] > 0.5).collect();
            let f0: Vec<f64> = a.iter().map(|r| r[4]).collect();
            let groups: Vec<u32> = a.iter().map(|r| r[0] as u32).collect();
            let (model, trace) = fit_boosted(&rows, &labels, &f0, &groups, &p).unwrap_or_else(|e| panic!("{e}"));
            let mut meta = Vec::new();
            for r in &b {
                if meta.last().map(|m: &[f64; 3]| m[0]) != Some(r[0]) {
                    meta.push([r[0], 0.0, 0.0]);
                }
                if r[2] > 0.5 {
                    if let Some(m) = meta.last_mut() {
                        m[1] += 1.0;
                    }
                }
            }
            meta.retain(|m| m[1] > 0.0);
            let keep: std::collections::HashSet<u64> = meta.iter().map(|m| m[0] as u64).collect();
            let test: Vec<[f64; W]> = b.into_iter().filter(|r| keep.contains(&(r[0] as u64))).collect();
            let f = Fold { train: Vec::new(), test, meta };
            let lin = metrics(&f, &f.test.iter().map(|r| r[4]).collect::<Vec<_>>());
            let boo = metrics(&f, &f.test.iter().map(|r| r[4] + model.correction(&inputs(r))).collect::<Vec<_>>());
            let mean = |m: &[[f64; 3]], k: usize| m.iter().map(|v| v[k]).sum::<f64>() / m.len() as f64;
            println!(
                "inner {config} (kept {}): linear recall {:.4} rr {:.4} ndcg {:.4} | boosted recall {:.4} rr {:.4} ndcg {:.4} ({} groups)",
                trace.kept, mean(&lin, 0), mean(&lin, 1), mean(&lin, 2), mean(&boo, 0), mean(&boo, 1), mean(&boo, 2), lin.len()
            );
        }
        return;
    }
    for config in &args[1.min(args.len())..] {
        let p = parse(config);
        let started = Instant::now();
        let mut all = Vec::new();
        let mut kept = Vec::new();
        for fold in &data {
            let rows: Vec<TreeInputs> = fold.train.iter().map(inputs).collect();
            let labels: Vec<bool> = fold.train.iter().map(|r| r[2] > 0.5).collect();
            let f0: Vec<f64> = fold.train.iter().map(|r| r[4]).collect();
            let groups: Vec<u32> = fold.train.iter().map(|r| r[0] as u32).collect();
            let (model, trace) = fit_boosted(&rows, &labels, &f0, &groups, &p).unwrap_or_else(|e| panic!("{e}"));
            kept.push(trace.kept);
            let score: Vec<f64> = fold.test.iter().map(|r| r[4] + model.correction(&inputs(r))).collect();
            all.extend(metrics(fold, &score));
        }
        report(&format!("{config} (kept {kept:?}, {:.1?})", started.elapsed()), &all);
    }
}
