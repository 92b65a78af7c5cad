"""Multi-hop walks over the visible mobility graph as reranker columns, screened on the
held-out rankings.

    python3 walk_screen.py RANKINGS.csv

RANKINGS.csv is `passerelle eval --rankings FILE` (fold by fold: 317, 317, 317, 317 and 316
sources). For the sources of each fold, only the other folds' mobility rows are visible. The
skill hop goes from an occupation to its 20 nearest visible sources by IDF-weighted cosine of
their ROME items (cos³ weights). Two columns per walk, each as its log and the log of the
target's rank: (1) two forward mobility hops from the source's skill neighbours (their targets'
targets; one hop is the model's `neighbour_mobility`); (2) a personalised PageRank from the
source over a walk that follows a visible row with probability 0.7 and takes a skill hop
otherwise (8 steps, weight 0.5 per step). A logistic reranker over the final score and the
columns, cross-fitted over 5 groups of sources, against the same reranker on the final score
alone: paired deltas of recall@10 and MRR with standard errors. Needs numpy and
scikit-learn; reads ../shared/data.
"""
import csv, sys, collections, os
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rankings
D = os.environ.get('ROME_DIR', os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../shared/data/rome-v460/'))
def rd(n): return list(csv.DictReader(open(D + f'unix_{n}_v460_utf8.csv', encoding='utf-8')))
occs = sorted({r['code_rome'] for r in rd('referentiel_code_rome')}); oi = {c: i for i, c in enumerate(occs)}; N = len(occs)
items = collections.defaultdict(set)
for r in rd('coherence_item'):
    if r['code_rome'] in oi: items[oi[r['code_rome']]].add(r['code_ogr'])
vocab = {u: k for k, u in enumerate(sorted({u for s in items.values() for u in s}))}
X = np.zeros((N, len(vocab)))
for o, s in items.items():
    for u in s: X[o, vocab[u]] = 1
df = X.sum(0); idf = np.log((N + 1) / (df + 1)) + 1
Xw = X * idf; Xw /= np.linalg.norm(Xw, axis=1, keepdims=True) + 1e-12
C = Xw @ Xw.T; np.fill_diagonal(C, 0)
rel = collections.defaultdict(list)
for r in rd('rubrique_mobilite'): rel[oi[r['code_rome']]].append(oi[r['code_rome_cible']])
order, score = rankings.load(sys.argv[1], oi)
fold_of = {}; i = 0
for f, n in enumerate(rankings.FOLD_SIZES):
    for s in order[i:i + n]: fold_of[s] = f
    i += n
def knn(row, k):
    o = np.argpartition(-row, k)[:k]; w = np.zeros_like(row); w[o] = np.maximum(row[o], 0) ** 3; return w / (w.sum() + 1e-12)
feats = {}
for f in range(5):
    vis = np.array([fold_of.get(s, -1) != f for s in range(N)])
    M = np.zeros((N, N))
    for s in range(N):
        if vis[s] and rel[s]:
            for t in rel[s]: M[s, t] = 1
    Mn = M / np.maximum(M.sum(1, keepdims=True), 1)
    # combined walk: from an occupation with a visible row follow it; otherwise hop to skill neighbours with rows
    Cv = C * vis[None, :] * (M.sum(1) > 0)[None, :]
    Sv = np.vstack([knn(Cv[o], 20) for o in range(N)])
    T = np.where((M.sum(1) > 0)[:, None], 0.7 * Mn + 0.3 * Sv, Sv)
    T2 = Mn @ Mn                      # two forward hops
    TT = T.T
    for s in [s for s in order if fold_of[s] == f]:
        x0 = Sv[s]                     # skill neighbours with visible rows
        v1 = x0 @ Mn                   # = neighbour vote (already a feature)
        v2 = x0 @ T2                   # neighbours' targets' targets
        # personalised pagerank from the source over T, restart 0.5
        r = np.zeros(N); x = np.zeros(N); x[s] = 1; p = x.copy()
        for k in range(8):
            p = p @ T; r += 0.5 ** (k + 1) * p
        r[s] = 0
        head, sc = rankings.head(score, s, N)
        cols = []
        for v in (v2, r):
            rk = np.empty(N); o = np.argsort(-v, kind='stable'); rk[o] = np.arange(1, N + 1)
            cols += [np.log(v[head] + 1e-6), np.log(rk[head])]
        feats[s] = (head, sc, np.column_stack(cols))
srcs = [s for s in order if rel[s]]
rel_s = {s: set(rel[s]) for s in srcs}
rankings.report(feats, srcs, score, rel_s, [('two-hop forward', [0, 1]), ('ppr', [2, 3]), ('both', [0, 1, 2, 3])])
