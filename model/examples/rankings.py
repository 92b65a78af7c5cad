"""Shared by the screens of new reranker columns on the shipped model's held-out rankings
(`passerelle eval --rankings FILE`: `source_code,rank,target_code,score`, written fold by fold
in FOLD_SIZES sources): loading them, and the cross-fitted logistic reranker that measures a
column against the final score alone. Needs numpy and scikit-learn.
"""
import collections, csv
import numpy as np

FOLD_SIZES = [317, 317, 317, 317, 316]
HEAD = 50


def load(path, oi):
    """The sources in file order and, per source, {target id: ranking score}."""
    order = []; score = collections.defaultdict(dict)
    for x in csv.DictReader(open(path)):
        s = oi[x['source_code']]
        if not order or order[-1] != s: order.append(s)
        score[s][oi[x['target_code']]] = float(x['score'])
    return order, score


def head(score, s, n):
    """A source's HEAD best targets and their scores."""
    sc = np.array([score[s].get(t, -np.inf) for t in range(n)])
    h = np.argsort(-sc, kind='stable')[:HEAD]
    return h, sc[h]


def evaluate(feats, order, score, rel, cols):
    """Per source (recall@10, reciprocal rank) of a logistic reranker over its head, on the
    final score and the columns `cols` of feats[s] = (head, scores, columns), cross-fitted
    over 5 groups of sources; the first relevant target below the head keeps its rank."""
    from sklearn.linear_model import LogisticRegression
    grp = {s: i % 5 for i, s in enumerate(order)}; out = {}
    def M(s):
        h, sc, F = feats[s]; return np.column_stack([sc] + [F[:, c] for c in cols])
    for gk in range(5):
        fit_on = [s for s in order if grp[s] != gk]
        m = LogisticRegression(C=1.0, max_iter=3000).fit(
            np.vstack([M(s) for s in fit_on]), np.concatenate([[t in rel[s] for t in feats[s][0]] for s in fit_on]))
        for s in order:
            if grp[s] != gk: continue
            h = feats[s][0]; o = h[np.argsort(-m.decision_function(M(s)), kind='stable')]
            hits = sum(t in rel[s] for t in o[:10]) / len(rel[s])
            rr = next((1 / (i + 1) for i, t in enumerate(o) if t in rel[s]), None)
            if rr is None:
                rest = sorted(score[s], key=lambda t: -score[s][t]); rr = next(1 / (i + 1) for i, t in enumerate(rest) if t in rel[s])
            out[s] = (hits, rr)
    return np.array([out[s] for s in order])


def report(feats, order, score, rel, variants):
    """Prints the final score alone, then each (name, cols) variant with its paired deltas."""
    base = evaluate(feats, order, score, rel, []); print('final score alone', base.mean(0).round(4))
    for name, cols in variants:
        r = evaluate(feats, order, score, rel, cols); d = r - base
        print(name, r.mean(0).round(4), 'delta', d.mean(0).round(4), 'se', (d.std(0) / np.sqrt(len(d))).round(4), flush=True)
