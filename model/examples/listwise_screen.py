"""Screening (not shipped): a listwise linear reranker (softmax over each source's head).

The shipped reranker is a logistic regression on the head's pairs, each pair on its own.
MRR rewards the first relevant target at rank 1, which a softmax over the head (ListNet
with the curated targets sharing the mass) optimises directly. This fits such a linear
reranker with L-BFGS on the cached heads of `boost_screen` (see `forest_screen.py`) and
reports recall@10, MRR and nDCG@10 with paired differences against the shipped reranker
over the 1,584 held-out sources.

    pip install scikit-learn numpy scipy
    python3 model/examples/listwise_screen.py [train|xtrain] [L2 …]
"""
import sys
import numpy as np
from heads import load, metrics
from scipy.optimize import minimize

KIND = sys.argv[1] if len(sys.argv) > 1 else 'train'
L2S = [float(a) for a in sys.argv[2:]] or [1e-3]


def groups(rows):
    """Start offsets of each source's consecutive rows."""
    g = rows[:, 0]
    cut = np.flatnonzero(np.diff(g)) + 1
    return np.concatenate([[0], cut, [len(g)]])

def fit_listwise(X, y, bounds, l2):
    n, p = X.shape
    seg = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    npos = np.bincount(seg, weights=y)
    keep = npos[seg] > 0  # sources with no positive in the head give no gradient
    X, y, seg = X[keep], y[keep], seg[keep]
    _, seg = np.unique(seg, return_inverse=True)
    npos = np.bincount(seg, weights=y)
    G = len(npos)
    t = y / npos[seg]  # target distribution: the positives share the mass
    def f(w):
        s = X @ w
        mx = np.full(G, -np.inf); np.maximum.at(mx, seg, s)
        e = np.exp(s - mx[seg]); z = np.bincount(seg, weights=e, minlength=G)
        logz = np.log(z) + mx
        loss = -(t * (s - logz[seg])).sum() / G + l2 * w @ w
        p_ = e / z[seg]
        grad = X.T @ (p_ - t) / G + 2 * l2 * w
        return loss, grad
    r = minimize(f, np.zeros(p), jac=True, method='L-BFGS-B', options={'maxiter': 500})
    return r.x

prod = []; res = {(c, l2): [] for c in ('all', 'features') for l2 in L2S}
for fold in range(5):
    tr = load(f'/tmp/heads/fold{fold}-{KIND}.bin'); te = load(f'/tmp/heads/fold{fold}-test.bin')
    meta = load(f'/tmp/heads/fold{fold}-meta.bin', 3)
    prod.append(metrics(te, meta, te[:, 4]))
    b = groups(tr)
    for cols, start in (('all', 3), ('features', 5)):
        mu = tr[:, start:].mean(0); sd = tr[:, start:].std(0) + 1e-9
        Xtr = (tr[:, start:] - mu) / sd; Xte = (te[:, start:] - mu) / sd
        for l2 in L2S:
            w = fit_listwise(Xtr, tr[:, 2], b, l2)
            res[(cols, l2)].append(metrics(te, meta, Xte @ w))
    print(f'fold {fold} done', flush=True)
P = np.vstack(prod); print('shipped linear reranker (pointwise logistic)', P.mean(0).round(4), 'n', len(P))
for k, r in res.items():
    R = np.vstack(r); d = R - P
    print(f'listwise {k}', R.mean(0).round(4), 'delta', d.mean(0).round(4), 'se', (d.std(0, ddof=1) / np.sqrt(len(d))).round(4), flush=True)
