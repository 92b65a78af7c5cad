"""Screens of the learned transition embedding (`model/src/embedding.rs`, re-implemented in numpy).

    python3 embedding_screen.py alone VARIANT
        the embedding alone on 5 random source-grouped folds: recall@10 and MRR of each
        held-out source ranking all occupations by the embedding's logit. VARIANT is
        `base` (the shipped setting), `ens` (the mean log-softmax of 5 seeds), `neigh` (the
        source tower also reads the cos^3 vote of the 20 nearest training sources' lists),
        `rev` (it also reads which training sources list the source), `revscore` (the
        forward z-score plus lambda times the reverse score, T's people moving to the source).
    python3 embedding_screen.py cascade rev|ens RANKINGS.csv
        a new column on the shipped model's held-out rankings (`passerelle eval --rankings`,
        written fold by fold: 317, 317, 317, 317 and 316 sources), each fold's embedding
        fitted on the other folds' sources: a logistic reranker over each source's top 50
        (the final score and the new column), cross-fitted over 5 groups of sources, against
        the same reranker on the final score alone; paired deltas with standard errors.

Needs numpy, scipy and scikit-learn; reads the ROME export in ../shared/data/rome-v460.
"""
import csv, sys, collections
import numpy as np
import scipy.sparse as sp

import os
D = os.environ.get('ROME_DIR', os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../shared/data/rome-v460/'))
def rd(n): return list(csv.DictReader(open(D + f'unix_{n}_v460_utf8.csv', encoding='utf-8')))

occs = sorted({r['code_rome'] for r in rd('referentiel_code_rome')})
oi = {c: i for i, c in enumerate(occs)}; N = len(occs)
links = collections.defaultdict(set)
for r in rd('coherence_item'):
    if r['code_rome'] in oi: links[oi[r['code_rome']]].add(r['code_ogr'])
df = collections.Counter(i for s in links.values() for i in s)
items = sorted(i for i, d in df.items() if d >= 3); ii = {x: k for k, x in enumerate(items)}
idf = np.array([np.log((1 + N) / (1 + df[x])) + 1 for x in items], dtype=np.float32)
rows, cols, vals = [], [], []
for o, s in links.items():
    for x in s:
        if x in ii: rows.append(o); cols.append(ii[x]); vals.append(idf[ii[x]])
X = sp.csr_matrix((vals, (rows, cols)), shape=(N, len(items)), dtype=np.float32)
X = sp.diags(1 / np.maximum(np.sqrt(X.multiply(X).sum(1)).A1, 1e-9)) @ X
X = X.tocsr().astype(np.float32)
rel = collections.defaultdict(list)
for r in rd('rubrique_mobilite'):
    rel[oi[r['code_rome']]].append(oi[r['code_rome_cible']])
cos = (X @ X.T).toarray(); np.fill_diagonal(cos, -1)

def fit(Xs, Xt, train, dim=64, epochs=200, lr=0.02, l2=1e-5, seed=7):
    rng = np.random.default_rng(seed); h = 0.1 * np.sqrt(3)
    U = rng.uniform(-h, h, (Xs.shape[1], dim)).astype(np.float32)
    V = rng.uniform(-h, h, (Xt.shape[1], dim)).astype(np.float32)
    b = np.zeros(N, np.float32)
    P = [U, V, b]; m = [np.zeros_like(p) for p in P]; v = [np.zeros_like(p) for p in P]
    S = Xs[train]; Y = np.zeros((len(train), N), np.float32)
    for k, s in enumerate(train):
        for t in rel[s]: Y[k, t] += 1 / len(rel[s])
    own = np.array(train)
    for t in range(1, epochs + 1):
        A = S @ U; B = Xt @ V
        G = A @ B.T + b; G[np.arange(len(train)), own] = -np.inf
        G -= G.max(1, keepdims=True); E = np.exp(G); E /= E.sum(1, keepdims=True)
        G = (E - Y) / len(train)
        gU = S.T @ (G @ B) + l2 * U; gV = Xt.T @ (G.T @ A) + l2 * V; gb = G.sum(0)
        for k, (p, g) in enumerate(zip(P, [gU, gV, gb])):
            m[k] = 0.9 * m[k] + 0.1 * g; v[k] = 0.999 * v[k] + 0.001 * g * g
            p -= lr * (m[k] / (1 - 0.9 ** t)) / (np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
    f = lambda src: (Xs[src] @ U) @ (Xt @ V).T + b
    f.UVb = (U, V, b)
    return f

def metrics(scores, test):
    out = []
    for k, s in enumerate(test):
        sc = scores[k].copy(); sc[s] = -np.inf
        order = np.argsort(-sc, kind='stable'); rk = np.empty(N, int); rk[order] = np.arange(1, N + 1)
        r = sorted(rk[t] for t in set(rel[s]))
        out.append((sum(x <= 10 for x in r) / len(set(rel[s])), 1 / r[0]))
    return np.array(out)

rng = np.random.default_rng(7); fold = rng.permutation(N) % 5
srcs = [s for s in range(N) if rel[s]]

def neigh(train, k=20):
    """Occupation × occupation: cos³-weighted vote of the k nearest training sources' lists."""
    tr = np.zeros(N, bool); tr[train] = True
    Yn = np.zeros((N, N), np.float32)
    c = np.where(tr[None, :], cos, -1)
    for o in range(N):
        nb = np.argpartition(-c[o], k)[:k]
        for j in nb:
            w = max(c[o, j], 0) ** 3
            for t in rel[j]: Yn[o, t] += w
    Yn /= np.maximum(np.linalg.norm(Yn, axis=1, keepdims=True), 1e-9)
    return Yn

def rev(train):
    """Occupation × occupation: which training sources list it (one-hot, L2-normalised)."""
    R = np.zeros((N, N), np.float32)
    for s in train:
        for t in rel[s]: R[t, s] = 1
    R /= np.maximum(np.linalg.norm(R, axis=1, keepdims=True), 1e-9)
    return R

def alone(variant, a=1.0):
    res = []
    for f in range(5):
        train = [s for s in srcs if fold[s] != f]; test = [s for s in srcs if fold[s] == f]
        Xs = X
        if variant == 'neigh': Xs = sp.hstack([X, sp.csr_matrix(a * neigh(train))]).tocsr()
        if variant == 'rev': Xs = sp.hstack([X, sp.csr_matrix(a * rev(train))]).tocsr()
        if variant == 'both': Xs = sp.hstack([X, sp.csr_matrix(a * neigh(train)), sp.csr_matrix(a * rev(train))]).tocsr()
        if variant == 'ens':
            sc = 0
            for seed in range(5):
                g = fit(Xs, X, train, seed=seed)(test)
                sc = sc + (g - np.log(np.exp(g - g.max(1, keepdims=True)).sum(1, keepdims=True)) - g.max(1, keepdims=True))
        elif variant == 'revscore':
            f_ = fit(Xs, X, train); U, V, b = f_.UVb
            fwd = f_(test); rv = ((X @ U) @ (X[test] @ V).T).T
            z = lambda m: (m - m.mean(1, keepdims=True)) / m.std(1, keepdims=True)
            for lam in [0, 0.1, 0.2, 0.3, 0.5]:
                r_ = metrics(z(fwd) + lam * z(rv), test); print('  lam', lam, r_.mean(0))
            sc = fwd
        else:
            sc = fit(Xs, X, train)(test)
        res.append(metrics(sc, test)); print(f, res[-1].mean(0), flush=True)
    r = np.vstack(res); print(variant, a, 'recall@10 %.4f MRR %.4f' % tuple(r.mean(0)))
    np.save(f'/tmp/emb_{variant}_{a}.npy', r)
    if variant != 'base' and os.path.exists('/tmp/emb_base_1.0.npy'):
        d = r - np.load('/tmp/emb_base_1.0.npy')
        print('paired against base: delta', d.mean(0), 'se', d.std(0) / np.sqrt(len(d)))

def cascade():
    from sklearn.linear_model import LogisticRegression

    order = []; score = collections.defaultdict(dict)
    for x in csv.DictReader(open(sys.argv[3])):
        s = oi[x['source_code']]
        if not order or order[-1] != s: order.append(s)
        score[s][oi[x['target_code']]] = float(x['score'])
    sizes = [317, 317, 317, 317, 316]; bounds = np.cumsum([0] + sizes)
    H = 50
    feats = {}
    for f in range(5):
        test = order[bounds[f]:bounds[f + 1]]; ts = set(test)
        train = [s for s in srcs if s not in ts]
        g = fit(X, X, train); U, V, b = g.UVb
        if sys.argv[2] == 'ens':
            fwd = 0
            for seed in range(5):
                gg = fit(X, X, train, seed=seed)(test)
                fwd = fwd + gg - gg.max(1, keepdims=True) - np.log(np.exp(gg - gg.max(1, keepdims=True)).sum(1, keepdims=True))
        else:
            fwd = g(test)
        rv = ((X @ U) @ (X[test] @ V).T).T
        for k, s in enumerate(test):
            sc = np.array([score[s].get(t, -np.inf) for t in range(N)])
            head = np.argsort(-sc, kind='stable')[:H]
            r = rv[k].copy(); r[s] = -np.inf
            rrank = np.empty(N); o = np.argsort(-r, kind='stable'); rrank[o] = np.arange(1, N + 1)
            rz = (rv[k] - rv[k][np.arange(N) != s].mean()) / rv[k][np.arange(N) != s].std()
            fw = fwd[k].copy(); fw[s] = -np.inf; fz = (fwd[k] - fwd[k][np.arange(N) != s].mean()) / fwd[k][np.arange(N) != s].std()
            feats[s] = (head, sc[head], rz[head], np.log(rrank[head]), fz[head])
        print('fold', f, flush=True)
    rel_s = {s: set(rel[s]) for s in srcs}
    def evaluate(cols):
        grp = {s: i % 5 for i, s in enumerate(order)}
        out = {}
        for gk in range(5):
            Xtr, ytr = [], []
            for s in order:
                if grp[s] == gk: continue
                h, *fs = feats[s]
                Xtr.append(np.column_stack([fs[c] for c in cols])); ytr.append([t in rel_s[s] for t in h])
            m = LogisticRegression(C=1.0, max_iter=2000).fit(np.vstack(Xtr), np.concatenate(ytr))
            for s in order:
                if grp[s] != gk: continue
                h, *fs = feats[s]
                z = m.decision_function(np.column_stack([fs[c] for c in cols]))
                o = h[np.argsort(-z, kind='stable')]
                hits = sum(t in rel_s[s] for t in o[:10]) / len(rel_s[s])
                rr = next((1 / (i + 1) for i, t in enumerate(o) if t in rel_s[s]), None)
                if rr is None:
                    rest = sorted(score[s], key=lambda t: -score[s][t])
                    rr = next(1 / (i + 1) for i, t in enumerate(rest) if t in rel_s[s])
                out[s] = (hits, rr)
        return np.array([out[s] for s in order])
    base = evaluate([0])
    print('refit on final score only', base.mean(0))
    for name, cols in [('+rev z', [0, 1]), ('+rev z, ln rank', [0, 1, 2]), ('+fwd z', [0, 3]), ('+rev +fwd', [0, 1, 2, 3])] if sys.argv[2] == 'rev' else [('+5-seed ensemble z', [0, 3])]:
        r = evaluate(cols); d = r - base
        print(name, r.mean(0), 'delta', d.mean(0), 'se', d.std(0) / np.sqrt(len(d)), flush=True)

if __name__ == '__main__':
    if sys.argv[1] == 'alone':
        alone(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 1.0)
    else:
        cascade()
