"""Screening (not shipped): random forest / extra trees / AdaBoost rerankers on cached heads.

Reads the cross-fitted training heads and held-out heads cached by
`cargo run --release -p passerelle-model --example boost_screen -- /tmp/heads xfit`
(rows of 55 little-endian f64: source id, target id, label, first-stage logit, reranker
logit, the 50 features; meta rows: source id, relevant targets, reciprocal rank of the first
relevant target below the head) and prints recall@10, MRR and nDCG@10 of each learner,
alone and added to the linear reranker's logit, with paired differences and their standard
errors over the 1,584 held-out sources.

    pip install scikit-learn numpy
    python3 model/examples/forest_screen.py rf et ada
"""
import sys, numpy as np
from heads import load, metrics
from sklearn.ensemble import RandomForestClassifier, ExtraTreesClassifier, AdaBoostClassifier
from sklearn.tree import DecisionTreeClassifier
def model(kind, seed):
    if kind == 'rf': return RandomForestClassifier(n_estimators=300, min_samples_leaf=20, max_features='sqrt', n_jobs=1, random_state=seed)
    if kind == 'et': return ExtraTreesClassifier(n_estimators=300, min_samples_leaf=20, max_features='sqrt', n_jobs=1, random_state=seed)
    if kind == 'ada': return AdaBoostClassifier(DecisionTreeClassifier(max_depth=3, min_samples_leaf=20), n_estimators=200, learning_rate=0.5, random_state=seed)
kinds = sys.argv[1:] or ['rf']
base_all = []; res = {k: [] for k in kinds}; blend = {k: [] for k in kinds}
for f in range(5):
    tr = load(f'/tmp/heads/fold{f}-xtrain.bin'); te = load(f'/tmp/heads/fold{f}-test.bin'); meta = load(f'/tmp/heads/fold{f}-meta.bin', 3)
    base = metrics(te, meta, te[:, 4]); base_all.append(base)
    X, y, Xt = tr[:, 3:], tr[:, 2], te[:, 3:]
    for k in kinds:
        m = model(k, 7 + f).fit(X, y)
        p = np.clip(m.predict_proba(Xt)[:, 1], 1e-4, 1 - 1e-4)
        res[k].append(metrics(te, meta, p))
        # blend: the tree model's logit added to the linear reranker's logit (equal weights)
        blend[k].append(metrics(te, meta, te[:, 4] + np.log(p / (1 - p))))
    print(f'fold {f} done', flush=True)
B = np.vstack(base_all); print('linear reranker', B.mean(0).round(4), 'n', len(B))
for k in kinds:
    for name, r in ((k, res[k]), (k + '+linear', blend[k])):
        R = np.vstack(r); d = R - B
        print(name, R.mean(0).round(4), 'delta', d.mean(0).round(4), 'se', (d.std(0, ddof=1) / np.sqrt(len(d))).round(4), flush=True)
