"""Screening (not shipped): pair features from the ROME's macro-compétences, on cached heads.

The 50-feature model compares occupations item by item (`code_ogr`). ROME 4.0 also groups
its 17,810 skills under 504 macro-compétences (`code_ogr_macro_comp` in
`unix_referentiel_competence_v460_utf8.csv`), whose `code_macro_comp` (e.g. `4A101`) has
coarser prefixes. This screen adds, for each head pair (source, target), coverage and
cosine features at those coarser levels, plus a neighbour vote in which the neighbours are
found by macro-compétence cosine, and measures a scikit-learn logistic reranker with and
without them on the cached heads of `boost_screen` (see `forest_screen.py` for the cache),
with paired differences over the 1,584 held-out sources.

    pip install scikit-learn numpy
    python3 model/examples/macro_screen.py ROME_DIR [train|xtrain]
"""
import csv, sys, math, collections
import numpy as np
from heads import load, metrics
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

ROME = sys.argv[1] if len(sys.argv) > 1 else '/work/shared/data/rome-v460'
KIND = sys.argv[2] if len(sys.argv) > 2 else 'train'
def rd(name): return list(csv.DictReader(open(f'{ROME}/unix_{name}_v460_utf8.csv', encoding='utf-8')))

codes = [r['code_rome'] for r in rd('referentiel_code_rome')]
idx = {c: i for i, c in enumerate(codes)}
N = len(codes)
comp = {r['code_ogr']: r for r in rd('referentiel_competence')}
lists = collections.defaultdict(set)
for r in rd('rubrique_mobilite'):
    lists[idx[r['code_rome']]].add(idx[r['code_rome_cible']])

def macro_of(item):
    c = comp.get(item)
    if c is None: return None
    if c['nature'] == 'Compétence': return c['code_ogr_macro_comp'] or None
    return item
mcode = {k: r['code_macro_comp'] for k, r in comp.items() if r['nature'] != 'Compétence'}
levels = {'macro': lambda m: m, 'c3': lambda m: mcode.get(m, '')[:3] or None, 'c2': lambda m: mcode.get(m, '')[:2] or None}
units = {L: [collections.Counter() for _ in range(N)] for L in levels}
core = {L: [set() for _ in range(N)] for L in levels}
for r in rd('coherence_item'):
    m = macro_of(r['code_ogr'])
    if m is None: continue
    o = idx[r['code_rome']]
    for L, f in levels.items():
        u = f(m)
        if u is None: continue
        units[L][o][u] += 1
        if r['coeur_metier'] == 'Principale': core[L][o].add(u)
vecs = {}; idf = {}
for L in levels:
    df = collections.Counter(u for c in units[L] for u in c)
    idf[L] = {u: math.log(N / d) for u, d in df.items()}
    vocab = {u: i for i, u in enumerate(df)}
    M = np.zeros((N, len(vocab)))
    for o, c in enumerate(units[L]):
        for u, n in c.items(): M[o, vocab[u]] = (1 + math.log(n)) * idf[L][u]
    M /= np.maximum(np.linalg.norm(M, axis=1, keepdims=True), 1e-12)
    vecs[L] = M
cos = {L: vecs[L] @ vecs[L].T for L in levels}

def cover(L, s, t, use_core):
    tu = core[L][t] if use_core else set(units[L][t])
    if not tu: return 0.0
    su = units[L][s]
    return sum(idf[L][u] for u in tu if u in su) / max(sum(idf[L][u] for u in tu), 1e-12)

def pair_features(s, t, visible):
    out = []
    for L in levels:
        out += [cos[L][s, t], cover(L, s, t, False), cover(L, s, t, True), cover(L, t, s, False)]
    # neighbour vote: the 20 visible sources nearest to s by macro cosine, weighted by cos^3
    out.append(vote(s, visible)[t])
    return out

_votes = {}
def vote(s, visible):
    key = (s, visible[1])
    if key in _votes: return _votes[key]
    vis = visible[0]
    c = cos['macro'][s, vis].copy(); c[vis == s] = -1
    top = vis[np.argsort(-c)[:20]]
    v = np.zeros(N); tot = 0.0
    for n in top:
        w = max(cos['macro'][s, n], 0) ** 3; tot += w
        for t in lists[n]: v[t] += w
    v = v / max(tot, 1e-12)
    _votes[key] = v
    return v


def fitpred(Xtr, y, Xte):
    sc = StandardScaler().fit(Xtr)
    m = LogisticRegression(C=1.0, max_iter=2000).fit(sc.transform(Xtr), y)
    return m.decision_function(sc.transform(Xte))

variants = {'base': None, 'cos+cover': list(range(12)), 'vote': [12], 'all': list(range(13)), 'macro only': [0, 1, 2, 3, 12]}
res = {k: [] for k in variants}; prod = []
for f in range(5):
    tr = load(f'/tmp/heads/fold{f}-{KIND}.bin'); te = load(f'/tmp/heads/fold{f}-test.bin'); meta = load(f'/tmp/heads/fold{f}-meta.bin', 3)
    held = set(int(m[0]) for m in meta)
    train_src = np.array([o for o in range(N) if o not in held and lists[o]])
    # sanity: labels agree with the export's lists
    assert all((int(r[1]) in lists[int(r[0])]) == (r[2] > 0.5) for r in te[:2000])
    # training rows: neighbours among the other training sources; held-out rows: all training sources
    Ftr = np.array([pair_features(int(r[0]), int(r[1]), (train_src, 'tr')) for r in tr])
    Fte = np.array([pair_features(int(r[0]), int(r[1]), (train_src, 'tr')) for r in te])
    _votes.clear()
    prod.append(metrics(te, meta, te[:, 4]))
    for k, cols in variants.items():
        Xtr = tr[:, 3:] if cols is None else np.hstack([tr[:, 3:], Ftr[:, cols]])
        Xte = te[:, 3:] if cols is None else np.hstack([te[:, 3:], Fte[:, cols]])
        res[k].append(metrics(te, meta, fitpred(Xtr, tr[:, 2], Xte)))
    print(f'fold {f} done', flush=True)
P = np.vstack(prod); print('shipped linear reranker', P.mean(0).round(4), 'n', len(P))
B = np.vstack(res['base'])
for k in variants:
    R = np.vstack(res[k]); d = R - B
    print(f'{k:12s}', R.mean(0).round(4), 'delta vs base', d.mean(0).round(4), 'se', (d.std(0, ddof=1) / np.sqrt(len(d))).round(4), flush=True)
