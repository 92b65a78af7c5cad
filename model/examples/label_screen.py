"""The words of the ROME item labels as reranker columns, screened on the held-out rankings.

    python3 label_screen.py RANKINGS.csv

RANKINGS.csv is `passerelle eval --rankings FILE` (fold by fold: 317, 317, 317, 317 and 316
sources). Each occupation becomes one document, the labels of its items (`unix_item`
`libelle` of its `unix_coherence_item` links: all items, the savoir-faire only, the core items
only; words of 4+ letters without accents, sublinear tf-idf, words in 2+ occupations; and the
word bigrams of all items). Columns for each (source, target) of the source's top 50: the
cosine, its z-score over the source's row and the log of the target's rank in it. A logistic
reranker over the final score and the columns, cross-fitted over 5 groups of sources, against
the same reranker on the final score alone: paired deltas of recall@10 and MRR with standard
errors. The columns need no mobility row, so no fold matters. Needs numpy and scikit-learn;
reads ../shared/data.
"""
import csv, sys, collections, os, re, unicodedata
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rankings
from sklearn.feature_extraction.text import TfidfVectorizer
D = os.environ.get('ROME_DIR', os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../shared/data/rome-v460/'))
def rd(n): return list(csv.DictReader(open(D + f'unix_{n}_v460_utf8.csv', encoding='utf-8')))
occs = sorted({r['code_rome'] for r in rd('referentiel_code_rome')}); oi = {c: i for i, c in enumerate(occs)}; N = len(occs)
lab = {r['code_ogr']: (r['libelle'], r['code_rubrique']) for r in rd('item')}
core = collections.defaultdict(list); allw = collections.defaultdict(list); sf = collections.defaultdict(list)
for r in rd('coherence_item'):
    if r['code_rome'] not in oi or r['code_ogr'] not in lab: continue
    o = oi[r['code_rome']]; l, k = lab[r['code_ogr']]
    allw[o].append(l)
    if k == '1': sf[o].append(l)
    if r['coeur_metier'] == 'Principale': core[o].append(l)
def strip(t): return ''.join(c for c in unicodedata.normalize('NFD', t.lower()) if unicodedata.category(c) != 'Mn')
def tf(docs):
    v = TfidfVectorizer(preprocessor=strip, token_pattern=r'[a-z]{4,}', sublinear_tf=True, min_df=2)
    M = v.fit_transform([' '.join(docs[o]) for o in range(N)]); return (M @ M.T).toarray()
C_all, C_sf, C_core = tf(allw), tf(sf), tf(core)
def tf2(docs):
    v = TfidfVectorizer(preprocessor=strip, token_pattern=r'[a-z]{4,}', ngram_range=(2, 2), sublinear_tf=True, min_df=2)
    M = v.fit_transform([' '.join(docs[o]) for o in range(N)]); return (M @ M.T).toarray()
C_bi = tf2(allw)
rel = collections.defaultdict(list)
for r in rd('rubrique_mobilite'): rel[oi[r['code_rome']]].append(oi[r['code_rome_cible']])
srcs = [s for s in range(N) if rel[s]]
order, score = rankings.load(sys.argv[1], oi)
feats = {}
for s in order:
    head, sc = rankings.head(score, s, N)
    cols = []
    for Cm in (C_all, C_sf, C_core, C_bi):
        row = Cm[s].copy(); row[s] = np.nan; mu = np.nanmean(row); sd = np.nanstd(row)
        rk = np.empty(N); o = np.argsort(-np.nan_to_num(row, nan=-9), kind='stable'); rk[o] = np.arange(1, N + 1)
        cols += [Cm[s, head], (Cm[s, head] - mu) / sd, np.log(rk[head])]
    feats[s] = (head, sc, np.column_stack(cols))
rel_s = {s: set(rel[s]) for s in srcs}
rankings.report(feats, order, score, rel_s, [('all labels', [0, 1, 2]), ('savoir-faire labels', [3, 4, 5]), ('core labels', [6, 7, 8]), ('bigrams', [9, 10, 11]), ('all four', list(range(12)))])
