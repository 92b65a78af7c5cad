"""The DARES side as reranker columns, screened on the shipped model's held-out rankings.

    python3 fap_screen.py RANKINGS.csv

RANKINGS.csv is `passerelle eval --rankings FILE` (written fold by fold: 317, 317, 317, 317
and 316 sources). Columns per (source, target) of each source's top 50: same FAP 225 family
(through `code_rome_parent` and DARES' `fap225_rome.csv`), same FAP 87, the log share of the
training sources' listed moves from the source's FAP 225 / FAP 87 family to the target's
(each fold's flow from the other folds' sources), and the target's national 2019 tension.
A logistic reranker over the final score and the columns, cross-fitted over 5 groups of
sources, against the same reranker on the final score alone: paired deltas of recall@10 and
MRR with standard errors. Needs numpy and scikit-learn; reads ../shared/data.
"""
import csv, sys, collections, os
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rankings
S = os.environ.get('SHARED_DATA', os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../shared/data/'))
D = S + 'rome-v460/'
def rd(n): return list(csv.DictReader(open(D + f'unix_{n}_v460_utf8.csv', encoding='utf-8')))
ref = rd('referentiel_code_rome')
occs = sorted({r['code_rome'] for r in ref}); oi = {c: i for i, c in enumerate(occs)}; N = len(occs)
parent = {oi[r['code_rome']]: r['code_rome_parent'] for r in ref}
v3fap = collections.defaultdict(set)
for r in csv.DictReader(open(S + 'dares-tensions/fap225_rome.csv'), delimiter=';'):
    if r['Rome'] != 'NA': v3fap[r['Rome']].add(r['Fap'])
fap = {o: v3fap.get(p, set()) for o, p in parent.items()}
print('occupations with a FAP:', sum(bool(v) for v in fap.values()), 'multi:', sum(len(v) > 1 for v in fap.values()))
ten = {}
for r in csv.DictReader(open(S + 'dares-tensions/tensions.csv')):
    if r['niveau_geo'].strip() == 'nat' and r['niveau_fap'] == 'fap 225': ten[r['fap']] = float(r['Tension '])
rel = collections.defaultdict(list)
for r in rd('rubrique_mobilite'): rel[oi[r['code_rome']]].append(oi[r['code_rome_cible']])
srcs = [s for s in range(N) if rel[s]]
order, score = rankings.load(sys.argv[1], oi)
bounds = np.cumsum([0] + rankings.FOLD_SIZES)
def f1(o): return sorted(fap[o])[0] if fap[o] else None
feats = {}
for f in range(5):
    test = order[bounds[f]:bounds[f + 1]]; ts = set(test)
    train = [s for s in srcs if s not in ts]
    flows = {}
    for lv in (5, 3):
        c = collections.Counter(); tot = collections.Counter()
        for s in train:
            a = f1(s)
            if a is None: continue
            for t in rel[s]:
                b = f1(t)
                if b is None: continue
                c[(a[:lv], b[:lv])] += 1; tot[a[:lv]] += 1
        flows[lv] = (c, tot)
    for s in test:
        head, sc = rankings.head(score, s, N)
        a = f1(s); cols = []
        for t in head:
            b = f1(t)
            same = float(bool(fap[s] & fap[t])); same3 = float(a is not None and b is not None and a[:3] == b[:3])
            fl = []
            for lv in (5, 3):
                c, tot = flows[lv]
                fl.append(np.log((c[(a[:lv], b[:lv])] + 0.1) / (tot[a[:lv]] + 1)) if a and b else 0.0)
            tt = ten.get(b, 0.0) if b else 0.0
            cols.append([same, same3, fl[0], fl[1], tt, float(b is None)])
        feats[s] = (head, sc, np.array(cols))
rel_s = {s: set(rel[s]) for s in srcs}
rankings.report(feats, order, score, rel_s, [('same FAP', [0]), ('same FAP87', [1]), ('FAP225 flow', [2]), ('FAP87 flow', [3]), ('tension', [4, 5]), ('all', [0, 1, 2, 3, 4, 5])])
