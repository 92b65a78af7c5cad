//! Text search: from what people type ("raccordeur fibre", "tech 5G", "électricienne") to
//! ROME occupations (through the 13,120 job titles, *appellations*, and the 1,584 occupation
//! labels) and to ROME items (savoir-faire, savoirs, certifications).
//!
//! Source: France Travail, ROME 4.0 v460: `unix_referentiel_appellation_v460_utf8.csv`
//! (appellation → `code_rome`), `unix_referentiel_code_rome` and `unix_item` labels.
//!
//! # How a text is matched
//! 1. **Words.** The text is transliterated to ASCII ([`deunicode`]: "Électricienne" →
//!    "electricienne"), lower-cased and split on anything that is not a letter or a digit
//!    ("Monteur-Raccordeur / Monteuse-Raccordeuse" gives four words). French stop words
//!    (`de`, `la`, `des`, `d'`, `et`, …) and single letters are dropped; word order is
//!    ignored.
//! 2. **Feminine and plural forms** are folded by a light suffix stemmer applied to both the
//!    index and the query ([`stem`]): `-euse`/`-rice` → `-eur`, `-ienne` → `-ien`, `-ière` →
//!    `-ier`, `-ive` → `-if`, `-ffe`, `-onne`, `-elle`, a final `-s`/`-x` and a final `-e`
//!    are removed, so "monteuses raccordeuses" and "Monteur raccordeur" have the same words.
//! 3. **Abbreviations and field synonyms** come from the small table [`SYNONYMS`]
//!    ("tech" → technicien, "FTTH" → fibre optique, "5G" → réseaux mobiles 4G/5G, "IoT" →
//!    objets connectés, "datacentre" → datacenter, …). A synonym match scores 0.95.
//! 4. **Typos**: each query word is looked up in the index vocabulary with a Levenshtein
//!    automaton over an [`fst`] set: up to 1 edit for words of 4–5 letters, 2 edits from 6
//!    letters (none below 4); the second edit is tried only when the word has no exact,
//!    synonym or 1-edit match (it costs milliseconds to build). A match at Damerau–Levenshtein distance `d` ([`strsim`])
//!    scores `1 − 0.15·d`. A query word of 3 letters or more that begins a longer indexed
//!    word ("electr" → electricien) scores `0.5 + 0.4 · len(query word) / len(word)`.
//! 5. **Score** of a document (an appellation or a label), in [0, 1]:
//!    `0.85 · Σᵢ wᵢ·mᵢ / Σᵢ wᵢ + 0.15 · min(1, Σⱼ sⱼ / distinct words of the document)`,
//!    where `sⱼ` is the best similarity with which any query word (itself, a synonym, a
//!    typo, a prefix) matches the document's word `j` (so "5G" covers "4G", "5G" and
//!    "mobiles" of "réseaux mobiles 4G-5G", and a long exact title is not beaten by a short
//!    one that only shares a synonym), `mᵢ` is the best match of query word `i` in the document (above) and `wᵢ` the
//!    inverse document frequency of the indexed word it matches best (rare words such as
//!    "fibre" weigh more than "technicien"; a word matching nothing weighs as the rarest
//!    word, so it lowers every score). An exact title scores 1.
//!    An occupation's score is that of its best appellation or label.
//!
//! # Why `fst` + `strsim` rather than a search engine
//! The corpus is small (14,704 occupation documents: 13,120 appellations and 1,584 labels;
//! 33,655 item labels) and read-only. `fst` (BurntSushi; the finite-state sets under tantivy
//! and ripgrep's ecosystem, one small dependency) gives exact, prefix and Levenshtein
//! look-ups over the vocabulary in microseconds, and `strsim` (already in the build
//! through clap) the edit distance for scoring. tantivy with a French analyser would add
//! dozens of crates and minutes of build on 2 cores for features we do not need
//! (on-disk segments, query parser, BM25 over long texts), and its stemmer does not fold
//! the `-eur`/`-euse`/`-rice` pairs that matter for job titles. `nucleo-matcher` scores
//! subsequences (for file pickers), not word typos.
//!
//! Cost (criterion bench `search`, 2 cores shared with other builds): building both indexes
//! takes about 0.3 s at start-up; a query about 0.4–1.5 ms, up to 5 ms when a word needs
//! the 2-edit automaton. Figures in the README.

use std::collections::{BTreeMap, HashMap};

use fst::automaton::{Levenshtein, Str};
use fst::{Automaton, IntoStreamer, Map, MapBuilder, Streamer};
use serde::Serialize;

use crate::catalogue::{Catalogue, ItemId, ItemKind, OccupationId};
use crate::error::{echo, DataError, QueryError};

/// `unix_referentiel_appellation`: 13,120 job titles → `code_rome` in v460 (also one of the
/// files the model is trained on: its titles are compared between occupations).
pub use crate::catalogue::FILE_APPELLATIONS;

/// Longest accepted search text, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most words of a search text that are used (after stop words are removed).
pub const MAX_QUERY_WORDS: usize = 12;
/// Results when the caller gives no `top_k`.
pub const DEFAULT_SEARCH_TOP_K: u32 = 10;
/// Largest accepted search `top_k`.
pub const MAX_SEARCH_TOP_K: u32 = 50;
/// A job title resolves to an occupation only if the best score is at least this.
pub const MIN_JOB_TITLE_SCORE: f64 = 0.5;
/// Other occupations scoring within this margin of the best make a job title ambiguous;
/// they are reported as alternatives (at most [`MAX_ALTERNATIVES`]).
pub const AMBIGUITY_MARGIN: f64 = 0.05;
/// Most alternatives reported for an ambiguous job title.
pub const MAX_ALTERNATIVES: usize = 4;

/// Abbreviations and synonyms of the field: a query word (left, as typed, lower-case ASCII)
/// also matches the words on the right. Written for the digital-infrastructure trades
/// and the commonest abbreviations of job titles; the words on the right are ROME words.
pub const SYNONYMS: &[(&str, &[&str])] = &[
    ("tech", &["technicien"]),
    ("techn", &["technicien"]),
    ("techni", &["technicien"]),
    ("ftth", &["fibre", "optique"]),
    ("ftto", &["fibre", "optique"]),
    ("fttx", &["fibre", "optique"]),
    ("fttb", &["fibre", "optique"]),
    ("fo", &["fibre", "optique"]),
    ("5g", &["4g", "mobile"]),
    ("4g", &["5g", "mobile"]),
    ("datacentre", &["datacenter"]),
    ("datacentres", &["datacenter"]),
    ("iot", &["objet", "connecte"]),
    ("elec", &["electricien", "electrique"]),
    ("electro", &["electricien", "electrique"]),
    ("info", &["informatique"]),
    ("maint", &["maintenance"]),
    ("dev", &["developpeur"]),
    ("admin", &["administrateur"]),
    ("ing", &["ingenieur"]),
    ("resp", &["responsable"]),
    ("telecom", &["telecommunication"]),
    ("telecoms", &["telecommunication"]),
    ("telecommunication", &["telecom"]),
    ("telecommunications", &["telecom"]),
    ("reseau", &["reseaux"]),
    ("soudure", &["soudage"]),
    ("soudage", &["soudure"]),
];

/// French words ignored in titles and queries.
const STOP_WORDS: &[&str] = &[
    "de", "du", "des", "la", "le", "les", "en", "et", "au", "aux", "un", "une", "pour", "par", "sur", "dans", "avec",
    "ou", "son", "sa", "ses",
];

/// Folds feminine and plural forms to one word (see the module docs). Input: one lower-case
/// ASCII word.
///
/// ```
/// use passerelle_model::search::stem;
/// assert_eq!(stem("monteuses"), stem("monteur"));
/// assert_eq!(stem("conductrice"), stem("conducteur"));
/// assert_eq!(stem("technicienne"), "technicien");
/// assert_eq!(stem("reseaux"), "reseau");
/// ```
pub fn stem(word: &str) -> String {
    let mut s = word.to_string();
    if s.len() > 3 && (s.ends_with('s') || s.ends_with('x')) && !s.ends_with("ss") {
        s.pop();
    }
    for (from, to) in [
        ("euse", "eur"),
        ("rice", "eur"),
        ("ienne", "ien"),
        ("iere", "ier"),
        ("ive", "if"),
        ("ffe", "f"),
        ("onne", "on"),
        ("elle", "el"),
    ] {
        if s.len() > from.len() + 1 && s.ends_with(from) {
            s.truncate(s.len() - from.len());
            s.push_str(to);
            break;
        }
    }
    if s.len() > 4 && s.ends_with('e') {
        s.pop();
    }
    s
}

/// The search words of a text: transliterated, lower-cased, split, stop words and single
/// letters removed (a single digit is kept), not yet stemmed; in order, duplicates kept.
/// Only letters and digits are transliterated: any other character separates words, as
/// `deunicode` would otherwise spell a symbol out (`🔥` → `:fire:`, which matched "file"
/// and "fine" with one typo and resolved the job title "🔥" to an occupation).
pub fn raw_words(text: &str) -> Vec<String> {
    let letters: String = text.chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    deunicode::deunicode(&letters)
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .filter(|w| w.len() > 1 || w.bytes().all(|b| b.is_ascii_digit()))
        .filter(|w| !STOP_WORDS.contains(w))
        .map(str::to_string)
        .collect()
}

/// Distinct stemmed words of a document.
fn doc_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = raw_words(text).iter().map(|w| stem(w)).collect();
    words.sort_unstable();
    words.dedup();
    words
}

pub use crate::catalogue::Appellation;

/// What an occupation search matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedText {
    /// A ROME appellation (job title) of the occupation.
    Appellation,
    /// The occupation's own label (`libelle_rome`).
    OccupationLabel,
}

/// One occupation found by [`SearchIndex::occupations`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OccupationHit {
    /// ROME code, e.g. `I1315`.
    pub code: String,
    /// Occupation label (ROME 4.0).
    pub label: String,
    /// The appellation or label that matched best.
    pub matched: String,
    /// Whether `matched` is an appellation or the occupation label.
    pub matched_kind: MatchedText,
    /// `code_ogr` of the appellation; `None` for the occupation label.
    pub appellation_code: Option<u32>,
    /// Match score in [0, 1] (module docs); 1 for an exact title.
    pub score: f64,
}

/// One item found by [`SearchIndex::skills`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkillHit {
    /// `code_ogr`.
    pub code: u32,
    /// Label (ROME 4.0).
    pub label: String,
    /// Savoir-faire, savoir or certification.
    pub kind: ItemKind,
    /// Match score in [0, 1] (module docs).
    pub score: f64,
}

/// A job title resolved to an occupation (see [`SearchIndex::job_title`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobTitleMatch {
    /// The job title as given.
    pub text: String,
    /// The occupation used: the best match.
    pub used: OccupationHit,
    /// Other occupations scoring within [`AMBIGUITY_MARGIN`] of the best, best first.
    pub alternatives: Vec<OccupationHit>,
}

impl JobTitleMatch {
    /// True when other occupations score almost as well (see `alternatives`).
    pub fn ambiguous(&self) -> bool {
        !self.alternatives.is_empty()
    }
}

/// An inverted index of stemmed words with an `fst` vocabulary.
#[derive(Debug, Clone)]
struct TextIndex {
    /// Stemmed word → word id.
    vocabulary: Map<Vec<u8>>,
    /// Word id → the documents containing it, ascending.
    postings: Vec<Vec<u32>>,
    /// Word id → ln(1 + N / df).
    idf: Vec<f32>,
    /// Highest idf of the vocabulary (weight of a query word that matches nothing).
    max_idf: f32,
    /// Document → number of distinct words.
    doc_len: Vec<u16>,
}

/// A query word: its stemmed form and the stemmed synonyms it also matches.
struct QueryWord {
    stem: String,
    synonyms: Vec<String>,
}

impl TextIndex {
    fn build<'a>(docs: impl Iterator<Item = &'a str>) -> Result<Self, DataError> {
        let mut words: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        let mut doc_len = Vec::new();
        for (d, text) in docs.enumerate() {
            let w = doc_words(text);
            doc_len.push(w.len().min(u16::MAX as usize) as u16);
            for word in w {
                words.entry(word).or_default().push(d as u32);
            }
        }
        let mut builder = MapBuilder::memory();
        let mut postings = Vec::with_capacity(words.len());
        let n = doc_len.len().max(1) as f32;
        let mut idf = Vec::with_capacity(words.len());
        for (id, (word, docs)) in words.into_iter().enumerate() {
            builder.insert(word.as_bytes(), id as u64).map_err(|e| DataError::Invalid {
                file: FILE_APPELLATIONS.to_string(),
                reason: format!("search vocabulary: {e}"),
            })?;
            idf.push((1.0 + n / docs.len() as f32).ln());
            postings.push(docs);
        }
        let vocabulary = builder.into_map();
        let max_idf = idf.iter().copied().fold(1.0, f32::max);
        Ok(TextIndex { vocabulary, postings, idf, max_idf, doc_len })
    }

    /// Candidate words of the vocabulary for one query word, with their similarity.
    fn candidates(&self, word: &QueryWord) -> HashMap<u32, f32> {
        let mut out: HashMap<u32, f32> = HashMap::new();
        fn put(out: &mut HashMap<u32, f32>, id: u64, sim: f32) {
            let e = out.entry(id as u32).or_insert(0.0);
            *e = e.max(sim);
        }
        let q = word.stem.as_str();
        if let Some(id) = self.vocabulary.get(q) {
            put(&mut out, id, 1.0);
        }
        for s in &word.synonyms {
            if let Some(id) = self.vocabulary.get(s) {
                put(&mut out, id, 0.95);
            }
        }
        let len = q.chars().count();
        let max_distance = match len {
            0..=3 => 0,
            4..=5 => 1,
            _ => 2,
        };
        // One edit first; a second only for a word that matched nothing so far (building
        // the 2-edit automaton costs milliseconds, the 1-edit one tens of microseconds).
        for distance in 1..=max_distance {
            if distance == 2 && !out.is_empty() {
                break;
            }
            if let Ok(lev) = Levenshtein::new(q, distance) {
                let mut stream = self.vocabulary.search(lev).into_stream();
                while let Some((key, id)) = stream.next() {
                    let term = String::from_utf8_lossy(key);
                    let d = strsim::damerau_levenshtein(q, &term);
                    put(&mut out, id, (1.0 - 0.15 * d as f32).max(0.0));
                }
            }
        }
        if len >= 3 {
            let prefix = Str::new(q).starts_with();
            let mut stream = self.vocabulary.search(prefix).into_stream();
            let mut taken = 0;
            while let Some((key, id)) = stream.next() {
                if key.len() > q.len() {
                    put(&mut out, id, 0.5 + 0.4 * q.len() as f32 / key.len() as f32);
                    taken += 1;
                    if taken >= 200 {
                        break;
                    }
                }
            }
        }
        out
    }

    /// Scores every document matching at least one query word (module docs).
    fn score(&self, words: &[QueryWord]) -> Vec<(u32, f32)> {
        let mut weighted = vec![0.0f32; self.doc_len.len()];
        let mut seen = vec![false; self.doc_len.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut total_weight = 0.0f32;
        // Best similarity of the current word per document (dense), and which are set.
        let mut best = vec![0.0f32; self.doc_len.len()];
        let mut best_set: Vec<u32> = Vec::new();
        // Every indexed word some query word matches (itself, a synonym, a typo, a prefix),
        // with its best similarity: the document side of the score.
        let mut matched_words: HashMap<u32, f32> = HashMap::new();
        for word in words {
            let candidates = self.candidates(word);
            for (&id, &sim) in &candidates {
                let e = matched_words.entry(id).or_insert(0.0);
                *e = e.max(sim);
            }
            // Weight: idf of the best-matching word (highest similarity, then rarest).
            let weight = candidates
                .iter()
                .max_by(|a, b| a.1.total_cmp(b.1).then(self.idf[*a.0 as usize].total_cmp(&self.idf[*b.0 as usize])))
                .map(|(id, _)| self.idf[*id as usize])
                .unwrap_or(self.max_idf);
            total_weight += weight;
            for (&id, &sim) in &candidates {
                for &d in &self.postings[id as usize] {
                    let e = &mut best[d as usize];
                    if *e == 0.0 {
                        best_set.push(d);
                    }
                    *e = e.max(sim);
                }
            }
            for d in best_set.drain(..) {
                let i = d as usize;
                if !seen[i] {
                    seen[i] = true;
                    touched.push(d);
                }
                weighted[i] += weight * best[i];
                best[i] = 0.0;
            }
        }
        // Σ similarity of the document's words that the query matched (each word once).
        let mut covered = vec![0.0f32; self.doc_len.len()];
        for (&id, &sim) in &matched_words {
            for &d in &self.postings[id as usize] {
                covered[d as usize] += sim;
            }
        }
        touched
            .into_iter()
            .map(|d| {
                let i = d as usize;
                let query_part = if total_weight > 0.0 { weighted[i] / total_weight } else { 0.0 };
                let doc_part = (covered[i] / f32::from(self.doc_len[i].max(1))).min(1.0);
                (d, (0.85 * query_part + 0.15 * doc_part).clamp(0.0, 1.0))
            })
            .collect()
    }
}

/// A document of the occupation index.
#[derive(Debug, Clone)]
struct OccupationDoc {
    occupation: OccupationId,
    label: String,
    appellation: Option<u32>,
}

/// The search indexes over occupations (appellations and labels) and items. Immutable.
#[derive(Debug, Clone)]
pub struct SearchIndex {
    occupation_index: TextIndex,
    occupation_docs: Vec<OccupationDoc>,
    skill_index: TextIndex,
    skill_docs: Vec<ItemId>,
}

/// Item kinds searched by [`SearchIndex::skills`].
pub const SEARCHED_ITEM_KINDS: [ItemKind; 3] = [ItemKind::SavoirFaire, ItemKind::Savoir, ItemKind::Certification];

impl SearchIndex {
    /// Builds the indexes from the catalogue's occupation labels and items and the given
    /// appellations (may be empty: labels only).
    ///
    /// # Errors
    /// [`DataError::Invalid`] if the vocabulary cannot be built (not expected).
    pub fn new(catalogue: &Catalogue, appellations: &[Appellation]) -> Result<Self, DataError> {
        let mut occupation_docs: Vec<OccupationDoc> = appellations
            .iter()
            .map(|a| OccupationDoc { occupation: a.occupation, label: a.label.clone(), appellation: Some(a.code_ogr) })
            .collect();
        occupation_docs.extend(catalogue.occupation_ids().map(|o| OccupationDoc {
            occupation: o,
            label: catalogue.occupation(o).label.clone(),
            appellation: None,
        }));
        let occupation_index = TextIndex::build(occupation_docs.iter().map(|d| d.label.as_str()))?;
        let skill_docs: Vec<ItemId> = (0..catalogue.items.len() as u32)
            .map(ItemId)
            .filter(|&i| SEARCHED_ITEM_KINDS.contains(&catalogue.item(i).kind))
            .collect();
        let skill_index = TextIndex::build(skill_docs.iter().map(|&i| catalogue.item(i).label.as_str()))?;
        Ok(SearchIndex { occupation_index, occupation_docs, skill_index, skill_docs })
    }

    /// Number of appellations indexed.
    pub fn appellation_count(&self) -> usize {
        self.occupation_docs.iter().filter(|d| d.appellation.is_some()).count()
    }

    /// Ranked occupations for a free text, best first, one hit per occupation (its best
    /// appellation or label), at most `top_k` (1..=[`MAX_SEARCH_TOP_K`], `None`:
    /// [`DEFAULT_SEARCH_TOP_K`]). Ties: shorter matched title, then ROME code.
    ///
    /// # Errors
    /// [`QueryError::InvalidValue`] on `field` for an empty, too long or stop-words-only
    /// text; [`QueryError::TopKOutOfRange`].
    pub fn occupations(
        &self,
        catalogue: &Catalogue,
        text: &str,
        top_k: Option<u32>,
        field: &str,
    ) -> Result<Vec<OccupationHit>, QueryError> {
        let top_k = check_top_k(top_k)?;
        let words = query_words(text, field)?;
        let mut best: HashMap<OccupationId, (u32, f32)> = HashMap::new();
        for (d, score) in self.occupation_index.score(&words) {
            let doc = &self.occupation_docs[d as usize];
            let e = best.entry(doc.occupation).or_insert((d, score));
            // Ties: the shorter title, then the first document (appellations before labels).
            let key = |d: u32| (self.occupation_docs[d as usize].label.len(), d);
            let better = score > e.1 || (score == e.1 && key(d) < key(e.0));
            if better {
                *e = (d, score);
            }
        }
        let mut hits: Vec<(OccupationId, u32, f32)> = best.into_iter().map(|(o, (d, s))| (o, d, s)).collect();
        hits.sort_by(|a, b| {
            b.2.total_cmp(&a.2)
                .then(
                    self.occupation_docs[a.1 as usize].label.len().cmp(&self.occupation_docs[b.1 as usize].label.len()),
                )
                .then(catalogue.occupation(a.0).code.cmp(&catalogue.occupation(b.0).code))
        });
        hits.truncate(top_k);
        Ok(hits
            .into_iter()
            .map(|(o, d, s)| {
                let occupation = catalogue.occupation(o);
                let doc = &self.occupation_docs[d as usize];
                OccupationHit {
                    code: occupation.code.clone(),
                    label: occupation.label.clone(),
                    matched: doc.label.clone(),
                    matched_kind: if doc.appellation.is_some() {
                        MatchedText::Appellation
                    } else {
                        MatchedText::OccupationLabel
                    },
                    appellation_code: doc.appellation,
                    score: round4(s),
                }
            })
            .collect())
    }

    /// Ranked items (savoir-faire, savoirs, certifications) for a free text, best first,
    /// at most `top_k`. Ties: shorter label, then `code_ogr`.
    ///
    /// # Errors
    /// As [`SearchIndex::occupations`].
    pub fn skills(
        &self,
        catalogue: &Catalogue,
        text: &str,
        top_k: Option<u32>,
        field: &str,
    ) -> Result<Vec<SkillHit>, QueryError> {
        let top_k = check_top_k(top_k)?;
        let words = query_words(text, field)?;
        let mut hits: Vec<(ItemId, f32)> =
            self.skill_index.score(&words).into_iter().map(|(d, s)| (self.skill_docs[d as usize], s)).collect();
        hits.sort_by(|a, b| {
            let (ia, ib) = (catalogue.item(a.0), catalogue.item(b.0));
            b.1.total_cmp(&a.1).then(ia.label.len().cmp(&ib.label.len())).then(ia.code.cmp(&ib.code))
        });
        hits.truncate(top_k);
        Ok(hits
            .into_iter()
            .map(|(i, s)| {
                let item = catalogue.item(i);
                SkillHit { code: item.code, label: item.label.clone(), kind: item.kind, score: round4(s) }
            })
            .collect())
    }

    /// Resolves a job title to the best occupation, with the alternatives when ambiguous.
    ///
    /// # Errors
    /// As [`SearchIndex::occupations`], and [`QueryError::NoMatchingOccupation`] on `field`
    /// when no occupation scores at least [`MIN_JOB_TITLE_SCORE`].
    pub fn job_title(&self, catalogue: &Catalogue, text: &str, field: &str) -> Result<JobTitleMatch, QueryError> {
        let mut hits = self.occupations(catalogue, text, Some(MAX_ALTERNATIVES as u32 + 1), field)?.into_iter();
        let used = hits
            .next()
            .filter(|h| h.score >= MIN_JOB_TITLE_SCORE)
            .ok_or_else(|| QueryError::NoMatchingOccupation { field: field.to_string(), text: echo(text) })?;
        let alternatives = hits.filter(|h| h.score >= used.score - AMBIGUITY_MARGIN).collect();
        Ok(JobTitleMatch { text: text.to_string(), used, alternatives })
    }
}

fn round4(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}

fn check_top_k(top_k: Option<u32>) -> Result<usize, QueryError> {
    let k = top_k.unwrap_or(DEFAULT_SEARCH_TOP_K);
    if !(1..=MAX_SEARCH_TOP_K).contains(&k) {
        return Err(QueryError::TopKOutOfRange { got: k, max: MAX_SEARCH_TOP_K });
    }
    Ok(k as usize)
}

/// Splits a query into stemmed words with their synonyms.
fn query_words(text: &str, field: &str) -> Result<Vec<QueryWord>, QueryError> {
    let invalid = |reason: String| QueryError::InvalidValue { field: field.to_string(), reason };
    if text.trim().is_empty() {
        return Err(invalid("empty text".to_string()));
    }
    let chars = text.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(invalid(format!("{chars} characters, at most {MAX_QUERY_CHARS} are accepted")));
    }
    let mut words: Vec<QueryWord> = Vec::new();
    for raw in raw_words(text) {
        let stemmed = stem(&raw);
        if words.iter().any(|w| w.stem == stemmed) {
            continue;
        }
        let synonyms = SYNONYMS
            .iter()
            .filter(|(k, _)| *k == raw || *k == stemmed)
            .flat_map(|(_, v)| v.iter().map(|s| stem(s)))
            .collect();
        words.push(QueryWord { stem: stemmed, synonyms });
        if words.len() == MAX_QUERY_WORDS {
            break;
        }
    }
    if words.is_empty() {
        return Err(invalid(format!("no searchable word in `{}`", echo(text))));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fold_case_accents_gender_and_plural() {
        assert_eq!(
            doc_words("Monteur raccordeur / Monteuse raccordeuse fibre optique"),
            ["fibr", "monteur", "optiqu", "raccordeur"]
        );
        assert_eq!(doc_words("MONTEUSES RACCORDEUSES"), ["monteur", "raccordeur"]);
        assert_eq!(doc_words("Électricienne d'équipement"), ["electricien", "equipement"]);
        assert_eq!(doc_words("Cheffe d'équipe maçonne"), ["chef", "equip", "macon"]);
        assert_eq!(
            doc_words("Technicien / Technicienne des réseaux mobiles 4G-5G"),
            ["4g", "5g", "mobil", "reseau", "technicien"]
        );
        assert_eq!(stem("conductrice"), "conducteur");
        assert_eq!(stem("infirmiere"), "infirmier");
        assert_eq!(stem("sportive"), "sportif");
    }

    #[test]
    fn symbols_are_separators_not_spelt_out() {
        // deunicode alone gives ":fire:" and "(c)": words no one typed.
        assert_eq!(raw_words("🔥🔥 monteur © fibre™"), ["monteur", "fibre"]);
        assert_eq!(raw_words("Électricienne «BT» n°2"), ["electricienne", "bt", "2"]);
        assert!(raw_words("🔥🔥🔥").is_empty());
        assert!(matches!(query_words("🔥🔥🔥", "query"), Err(QueryError::InvalidValue { .. })));
    }

    #[test]
    fn bad_texts_are_refused_naming_the_field() {
        for text in ["", "   ", "de la", &"a".repeat(201)] {
            match query_words(text, "query") {
                Err(QueryError::InvalidValue { field, .. }) => assert_eq!(field, "query"),
                other => panic!("{text:?}: {:?}", other.map(|w| w.len())),
            }
        }
    }
}
