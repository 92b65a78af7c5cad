"""Shared by the screening scripts: the cached heads of `boost_screen` and the protocol's metrics.

`cargo run --release -p passerelle-model --example boost_screen -- /tmp/heads xfit` caches,
per fold, rows of 55 little-endian f64 (source id, target id, label, first-stage logit,
reranker logit, the 50 features) for the training heads (`train`), the cross-fitted
training heads (`xtrain`) and the held-out heads (`test`), and meta rows (source id,
relevant targets, reciprocal rank of the first relevant target below the head).
"""
import numpy as np

W = 55


def load(path, n=W):
    """The rows of one cached file, `n` f64 each."""
    return np.fromfile(path, dtype='<f8').reshape(-1, n)


def metrics(test, meta, score):
    """Per held-out source (recall@10, reciprocal rank, nDCG@10) of its head ordered by
    `score` (ties by target id), as `passerelle eval` computes them."""
    out = []; start = 0; g = test[:, 0]
    for m in meta:
        end = start
        while end < len(test) and g[end] == m[0]: end += 1
        idx = np.arange(start, end)
        order = sorted(idx, key=lambda i: (-score[i], test[i, 1]))
        n_rel = m[1]; hits = dcg = rr = 0.0
        for r, i in enumerate(order):
            if test[i, 2] > 0.5:
                if rr == 0: rr = 1 / (r + 1)
                if r < 10: hits += 1; dcg += 1 / np.log2(r + 2)
        if rr == 0: rr = m[2]
        ideal = sum(1 / np.log2(r + 2) for r in range(int(min(n_rel, 10))))
        out.append((hits / n_rel, rr, dcg / ideal)); start = end
    return np.array(out)
