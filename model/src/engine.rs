//! The recommendation engine: the façade the gRPC service and the CLI call.
//!
//! An [`Engine`] is immutable once built (catalogue, feature index, model, target sets) and
//! does no I/O on the request path, so it can be shared behind an `Arc` and swapped whole.

use std::borrow::Cow;

use serde::Serialize;

use crate::catalogue::{Catalogue, ItemId, ItemKind, OccupationId, OccupationItem, Relevance};
use crate::error::{echo, echo_number, DataError, QueryError};
use std::sync::Arc;

use crate::features::{
    FeatureIndex, MobilityEvidence, ProfileScan, ProfileVector, Rows, FEATURE_EXPLANATIONS, FEATURE_NAMES,
};
use crate::head::{LinearLogit, Stage1};
use crate::search::{JobTitleMatch, OccupationHit, SearchIndex, SkillHit};
use crate::target_set::TargetSets;
use crate::tension::{Area, TensionFact, TensionTable, TENSION_ATTRIBUTION};
use crate::transition::{ModelArtifact, TransitionModel, TREE_FACTOR_EXPLANATION, TREE_FACTOR_NAME};

/// `top_k` when the query gives none.
pub const DEFAULT_TOP_K: u32 = 10;
/// Largest accepted `top_k`.
pub const MAX_TOP_K: u32 = 100;
/// Entries of each result's `missing_other` list when the query gives no
/// `max_other_skills`: the most specific optional skills of the gap (a target lists about 42
/// that a typical profile lacks; `missing_other_total` counts them all).
pub const DEFAULT_OTHER_SKILLS: u32 = 10;
/// Largest accepted `max_other_skills` (more than any ROME occupation lists: every one).
pub const MAX_OTHER_SKILLS: u32 = 1000;
/// Largest accepted number of entries in `item_codes` or `removed_item_codes`.
pub const MAX_PROFILE_ITEMS: usize = 1000;

/// A skills profile as a caller gives it: any combination of a current or past occupation
/// (its ROME items form the starting profile), items held, and items to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileQuery {
    /// ROME code such as `I1315`; ASCII case and surrounding spaces are ignored.
    pub occupation_code: Option<String>,
    /// `code_ogr`s of savoir-faire, savoirs or certifications the person holds.
    pub item_codes: Vec<String>,
    /// `code_ogr`s the person never did (removed from the occupation's items).
    pub removed_item_codes: Vec<String>,
    /// A job title in words ("monteuse FTTH"), instead of `occupation_code`: resolved to
    /// the best-matching occupation by text search (see [`crate::search`]).
    pub job_title: Option<String>,
    /// INSEE region code (`11`, `04`…) for the tension figures; empty or `None`: not given.
    pub region: Option<String>,
    /// INSEE department code (`75`, `2A`, `974`…) for the tension figures.
    pub department: Option<String>,
}

/// A recommendation query.
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendQuery {
    /// Who the person is.
    pub profile: ProfileQuery,
    /// How many results, 1..=[`MAX_TOP_K`]; `None` means [`DEFAULT_TOP_K`].
    pub top_k: Option<u32>,
    /// Name of the target set (`ALL`, `DIGITAL_INFRASTRUCTURE`, or an operator's set).
    pub target_set: String,
    /// Whether the profile's own occupation may be returned (default: no).
    pub include_current_occupation: bool,
    /// Rank by the model alone, ignoring France Travail's curated list for the declared
    /// occupation (default: no, see [`Engine::recommend`]).
    pub model_only: bool,
    /// Weight `w` in [0, 1] of labour-market tension in the ranking (default 0: off). With
    /// `w > 0` results are ordered by `(1 − w) · probability + w · (category − 1) / 4`
    /// (see [`Engine::recommend`]).
    pub tension_weight: f64,
    /// Most entries in each result's `missing_other` list, 0..=[`MAX_OTHER_SKILLS`];
    /// `None` means [`DEFAULT_OTHER_SKILLS`]. The core gap is always complete.
    pub max_other_skills: Option<u32>,
}

impl Default for RecommendQuery {
    fn default() -> Self {
        RecommendQuery {
            profile: ProfileQuery::default(),
            top_k: None,
            target_set: crate::target_set::ALL.to_string(),
            include_current_occupation: false,
            model_only: false,
            tension_weight: 0.0,
            max_other_skills: None,
        }
    }
}

/// A curated order as written in JSON: the position, or 0 when the move is not listed.
fn order_or_zero<S: serde::Serializer>(order: &Option<u16>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u16(order.unwrap_or(0))
}

/// A ROME occupation as shown to users.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OccupationRef {
    /// ROME code.
    pub code: String,
    /// Label (ROME 4.0).
    pub label: String,
}

/// An item (skill, knowledge, certification) as shown to users.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SkillRef {
    /// `code_ogr`.
    pub code: u32,
    /// Label (ROME 4.0), [interned](crate::labels) (no copy per answer).
    pub label: &'static str,
    /// Kind of item.
    pub kind: ItemKind,
    /// Relevance for the target occupation.
    pub relevance: Relevance,
}

/// How the anchor occupation used by hierarchy features was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorBasis {
    /// The profile declared it.
    Declared,
    /// The profile declared none: the occupation nearest by IDF cosine is used.
    NearestByCosine,
}

/// A feature that pushed a result's score, in logit units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Factor {
    /// Feature name (see `FEATURE_NAMES`).
    pub feature: &'static str,
    /// What the feature means, in words (see `FEATURE_EXPLANATIONS`); when the profile
    /// declared no occupation, "the person's job" reads "the job closest to the person's
    /// skills" (see [`explanation`]).
    pub explanation: Cow<'static, str>,
    /// Contribution to the logit; positive raises the probability.
    pub logit: f64,
}

/// What the feature `feature` (index into `FEATURE_EXPLANATIONS`, or the trees' factor
/// beyond it) means, in words an adviser understands. Without a declared occupation the
/// anchor is the occupation nearest to the profile's skills, not a job the person gave, and
/// the words say so: "the person's job" becomes "the job closest to the person's skills",
/// "both jobs" / "the two jobs" become "this job and the one closest to the person's skills".
pub fn explanation(feature: usize, declared: bool) -> Cow<'static, str> {
    let text = FEATURE_EXPLANATIONS.get(feature).copied().unwrap_or(TREE_FACTOR_EXPLANATION);
    if declared {
        return Cow::Borrowed(text);
    }
    const NEAREST: &str = "the job closest to the person's skills";
    const PAIR: &str = "this job and the one closest to the person's skills";
    let inferred = text
        .replace("the person's job", NEAREST)
        .replace("the person's ROME family", "the ROME family of the job closest to the person's skills")
        .replace("both jobs", PAIR)
        .replace("the two jobs", PAIR);
    if inferred == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(inferred)
    }
}

/// One recommended occupation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// The target occupation.
    pub occupation: OccupationRef,
    /// Model probability in [0, 1] that the move is a realistic one (learned from France
    /// Travail's curated mobilities; see the model card for its calibration).
    pub probability: f64,
    /// IDF-weighted cosine similarity of the profile and the target, in [0, 1].
    pub cosine: f64,
    /// Share in [0, 1] of the target's core skills (`coeur_metier = Principale`, work
    /// contexts excluded) the profile holds; 1 when the target lists none.
    pub core_coverage: f64,
    /// Core skills of the target the profile holds, most specific first.
    pub matched_core: Vec<SkillRef>,
    /// The skills gap: core skills of the target the profile lacks, most specific first.
    pub missing_core: Vec<SkillRef>,
    /// Other skills (non-core, emerging) of the target the profile lacks, most specific
    /// first, at most the query's `max_other_skills` of them. Work contexts are not skills
    /// and are left out of both gap lists.
    pub missing_other: Vec<SkillRef>,
    /// How many other skills the profile lacks in all (`missing_other` lists the first ones).
    pub missing_other_total: usize,
    /// The three features that pushed the score up most.
    pub top_factors: Vec<Factor>,
    /// `numero_ordre` (1 = closest) of this move in France Travail's curated list for the
    /// declared occupation, if it is listed there (real, sourced evidence). Serialised (CLI
    /// JSON) as `0` when it is not listed, the same value and meaning as gRPC's
    /// `Pathway.curated_order`, never `null`.
    #[serde(serialize_with = "order_or_zero")]
    pub curated_order: Option<u16>,
    /// Labour-market tension of the target's job family in the profile's area (DARES 2019),
    /// `None` when the engine has no tension data or the occupation no FAP family.
    pub tension: Option<TensionFact>,
    /// The blended ranking score `(1 − w) · probability + w · tension score`, when the
    /// query asked for a tension weight `w > 0`.
    pub blended_score: Option<f64>,
}

/// How labour-market tension was used in an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensionContext {
    /// The area asked for (validated INSEE codes); empty: national.
    pub area: Area,
    /// The tension weight of the query.
    pub weight: f64,
    /// Year of the data.
    pub year: u16,
    /// Source, licence attribution and year, and the ranking rule when `weight > 0`.
    pub basis: String,
}

/// The answer to a [`RecommendQuery`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendations {
    /// Occupation used for hierarchy features.
    pub anchor: OccupationRef,
    /// How the anchor was chosen.
    pub anchor_basis: AnchorBasis,
    /// Target set used.
    pub target_set: String,
    /// Number of items in the resolved profile.
    pub profile_items: usize,
    /// Candidates scored (target set minus excluded occupation).
    pub candidates_scored: usize,
    /// Results, best first, at most `top_k`.
    pub results: Vec<Recommendation>,
    /// The job title of the profile and the occupation it was resolved to (with the
    /// alternatives when ambiguous); `None` when the profile gave none.
    pub job_title: Option<JobTitleMatch>,
    /// How tension figures were used; `None` when the engine has no tension data.
    pub tension: Option<TensionContext>,
}

/// Tension score of a category 1–5 in [0, 1]: `(category − 1) / 4`; an occupation without
/// figures (no FAP family) gets the neutral 0.5, an assumption stated in the answer.
pub fn tension_score(fact: Option<&TensionFact>) -> f64 {
    fact.map(|f| f64::from(f.category.clamp(1, 5) - 1) / 4.0).unwrap_or(0.5)
}

/// Facts about the loaded model that answers and the model card report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    /// Artifact checksum (SHA-256 hex).
    pub checksum: String,
    /// Model family.
    pub model_kind: String,
    /// Name of the training data.
    pub trained_on: String,
    /// Whether the served catalogue is the data the model was trained on.
    pub same_data_as_training: bool,
    /// Whether the model's probabilities are calibrated on held-out predictions.
    pub calibrated: bool,
}

/// A validated query with its resolved profile, ready to be scanned.
#[derive(Debug)]
struct Prepared {
    top_k: u32,
    /// `max_other_skills`, checked.
    max_other: usize,
    set_name: String,
    profile: ProfileVector,
    declared: Option<OccupationId>,
    /// `tension_weight`, checked in 0..=1.
    weight: f64,
    /// The validated area when tension figures are loaded.
    area: Option<Area>,
    /// How a job title was resolved, if the profile gave one.
    job_title: Option<JobTitleMatch>,
}

/// The recommendation engine (see module docs).
#[derive(Debug, Clone)]
pub struct Engine {
    catalogue: Catalogue,
    index: FeatureIndex,
    evidence: MobilityEvidence,
    model: TransitionModel,
    /// Each item's label, [interned](crate::labels) at load.
    item_labels: Vec<&'static str>,
    /// For each occupation, its items but work contexts as shown in answers, most specific
    /// (highest idf) first, ties by id: the order of the gap lists.
    gap_order: Rows<(ItemId, SkillRef)>,
    /// The first stage as one affine form, for the bounds of [`Stage1`] (`None`: not linear).
    stage1_linear: Option<LinearLogit>,
    target_sets: TargetSets,
    info: ModelInfo,
    artifact: ModelArtifact,
    /// For each occupation, its curated mobilities with their `numero_ordre`.
    curated: Vec<Vec<(OccupationId, u16)>>,
    /// Text search over appellations and labels (see [`Engine::with_search`]).
    search: Option<Arc<SearchIndex>>,
    /// DARES tension indicators (see [`Engine::with_tensions`]).
    tensions: Option<Arc<TensionTable>>,
}

impl Engine {
    /// Builds an engine from a catalogue, its target sets and a model artifact.
    ///
    /// # Errors
    /// [`DataError::Artifact`] when the model's features are not this build's.
    pub fn new(catalogue: Catalogue, target_sets: TargetSets, artifact: ModelArtifact) -> Result<Self, DataError> {
        artifact.model.validate()?;
        let same = artifact.data.checksum == catalogue.checksum;
        if !same {
            tracing::warn!(
                trained_on = %artifact.data.name,
                "the model was trained on other data than the catalogue served; scores remain valid but the model card metrics are for the training data"
            );
        }
        let index = FeatureIndex::new(&catalogue);
        let mut evidence = MobilityEvidence::all(&catalogue);
        if let Some(e) = &artifact.model.embedding {
            evidence = evidence.with_embeddings(e.resolve(&catalogue)?);
        }
        let item_labels: Vec<&'static str> = catalogue.items.iter().map(|i| crate::labels::intern(&i.label)).collect();
        let gap_order = catalogue
            .occupations
            .iter()
            .map(|o| {
                let mut links: Vec<OccupationItem> =
                    o.items.iter().filter(|l| catalogue.item(l.item).kind != ItemKind::WorkContext).cloned().collect();
                links.sort_by(|a, b| index.idf(b.item).total_cmp(&index.idf(a.item)).then(a.item.cmp(&b.item)));
                links
                    .into_iter()
                    .map(|l| {
                        let item = catalogue.item(l.item);
                        let skill = SkillRef {
                            code: item.code,
                            label: item_labels[l.item.0 as usize],
                            kind: item.kind,
                            relevance: l.relevance,
                        };
                        (l.item, skill)
                    })
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
            .into();
        let info = ModelInfo {
            checksum: artifact.checksum.clone(),
            model_kind: artifact.model_kind.clone(),
            trained_on: artifact.data.name.clone(),
            same_data_as_training: same,
            calibrated: artifact.model.calibration.is_some(),
        };
        let mut curated = vec![Vec::new(); catalogue.occupations.len()];
        for m in &catalogue.mobilities {
            curated[m.source.0 as usize].push((m.target, m.order));
        }
        Ok(Engine {
            item_labels,
            catalogue,
            index,
            evidence,
            model: artifact.model.clone(),
            stage1_linear: LinearLogit::of(&artifact.model),
            gap_order,
            target_sets,
            info,
            artifact,
            curated,
            search: None,
            tensions: None,
        })
    }

    /// Adds text search (job titles in profiles, [`Engine::search_occupations`],
    /// [`Engine::search_skills`]).
    pub fn with_search(mut self, search: SearchIndex) -> Self {
        self.search = Some(Arc::new(search));
        self
    }

    /// Adds the DARES tension indicators (tension per result, regions, tension weight).
    pub fn with_tensions(mut self, tensions: TensionTable) -> Self {
        self.tensions = Some(Arc::new(tensions));
        self
    }

    /// The search index, if loaded.
    pub fn search(&self) -> Option<&SearchIndex> {
        self.search.as_deref()
    }

    /// The tension table, if loaded.
    pub fn tensions(&self) -> Option<&TensionTable> {
        self.tensions.as_deref()
    }

    fn search_or_err(&self, field: &str) -> Result<&SearchIndex, QueryError> {
        self.search().ok_or_else(|| QueryError::NotLoaded { field: field.to_string(), what: "text search" })
    }

    /// Occupations for a free text (field `query`); see [`SearchIndex::occupations`].
    ///
    /// # Errors
    /// As [`SearchIndex::occupations`]; [`QueryError::NotLoaded`] without a search index.
    pub fn search_occupations(&self, text: &str, top_k: Option<u32>) -> Result<Vec<OccupationHit>, QueryError> {
        self.search_or_err("query")?.occupations(&self.catalogue, text, top_k, "query")
    }

    /// Items (savoir-faire, savoirs, certifications) for a free text (field `query`).
    ///
    /// # Errors
    /// As [`SearchIndex::skills`]; [`QueryError::NotLoaded`] without a search index.
    pub fn search_skills(&self, text: &str, top_k: Option<u32>) -> Result<Vec<SkillHit>, QueryError> {
        self.search_or_err("query")?.skills(&self.catalogue, text, top_k, "query")
    }

    /// Resolves `profile.job_title` (if any) to an occupation code.
    fn resolve_job_title(&self, profile: &ProfileQuery) -> Result<Option<JobTitleMatch>, QueryError> {
        let Some(title) = profile.job_title.as_deref().filter(|t| !t.trim().is_empty()) else {
            return Ok(None);
        };
        if profile.occupation_code.as_deref().is_some_and(|c| !c.trim().is_empty()) {
            return Err(QueryError::InvalidValue {
                field: "profile.job_title".to_string(),
                reason: "give either occupation_code or job_title, not both".to_string(),
            });
        }
        let search = self.search_or_err("profile.job_title")?;
        search.job_title(&self.catalogue, title, "profile.job_title").map(Some)
    }

    /// [`Engine::resolve`] after resolving a `job_title` (if any) to its best occupation by
    /// text search, used as the declared occupation (as [`Engine::recommend`] does).
    ///
    /// # Errors
    /// As [`Engine::resolve`], plus the job-title errors of [`Engine::recommend`]
    /// (`profile.job_title` with an occupation code too, no matching occupation, no search
    /// index loaded).
    pub fn resolve_with_title(
        &self,
        profile: &ProfileQuery,
    ) -> Result<(Vec<ItemId>, Option<OccupationId>), QueryError> {
        match self.resolve_job_title(profile)? {
            Some(m) => self.resolve(&ProfileQuery { occupation_code: Some(m.used.code.clone()), ..profile.clone() }),
            None => self.resolve(profile),
        }
    }

    /// Item `item` as shown to users, with its `relevance` for the occupation at hand.
    /// `item` must come from this engine's catalogue (panics otherwise, like indexing it).
    pub fn skill_ref(&self, item: ItemId, relevance: Relevance) -> SkillRef {
        let i = self.catalogue.item(item);
        SkillRef { code: i.code, label: self.item_labels[item.0 as usize], kind: i.kind, relevance }
    }

    /// The loaded catalogue.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The loaded target sets.
    pub fn target_sets(&self) -> &TargetSets {
        &self.target_sets
    }

    /// Facts about the model.
    pub fn model_info(&self) -> &ModelInfo {
        &self.info
    }

    /// The full artifact (model card fields included).
    pub fn artifact(&self) -> &ModelArtifact {
        &self.artifact
    }

    /// Resolves a profile to its items and declared occupation.
    ///
    /// # Errors
    /// [`QueryError::TooManyItems`]; [`QueryError::UnknownOccupation`] or
    /// [`QueryError::UnknownItem`] naming the field and value, or [`QueryError::Several`]
    /// listing every unknown code when there are more than one; [`QueryError::EmptyProfile`].
    pub fn resolve(&self, profile: &ProfileQuery) -> Result<(Vec<ItemId>, Option<OccupationId>), QueryError> {
        for (codes, field) in
            [(&profile.item_codes, "profile.item_codes"), (&profile.removed_item_codes, "profile.removed_item_codes")]
        {
            if codes.len() > MAX_PROFILE_ITEMS {
                return Err(QueryError::TooManyItems {
                    field: field.to_string(),
                    got: codes.len(),
                    max: MAX_PROFILE_ITEMS,
                });
            }
        }
        let mut unknown = Vec::new();
        let occupation = match &profile.occupation_code {
            Some(code) if !code.trim().is_empty() => {
                let normalised = code.trim().to_ascii_uppercase();
                let id = self.catalogue.occupation_id(&normalised);
                if id.is_none() {
                    unknown.push(QueryError::UnknownOccupation {
                        field: "profile.occupation_code".to_string(),
                        code: echo(code),
                    });
                }
                id
            }
            _ => None,
        };
        let added = self.item_ids(&profile.item_codes, "profile.item_codes", &mut unknown);
        let removed = self.item_ids(&profile.removed_item_codes, "profile.removed_item_codes", &mut unknown);
        if let Some(err) = QueryError::combine(unknown) {
            return Err(err);
        }
        let mut items: Vec<ItemId> =
            occupation.map(|o| self.catalogue.occupation(o).items.iter().map(|l| l.item).collect()).unwrap_or_default();
        items.extend(added);
        items.sort_unstable();
        items.dedup();
        items.retain(|i| !removed.contains(i));
        if items.is_empty() {
            return Err(QueryError::EmptyProfile);
        }
        Ok((items, occupation))
    }

    /// The known items of `codes`; each unknown one is pushed to `unknown`, naming
    /// `field[i]`.
    fn item_ids(&self, codes: &[String], field: &str, unknown: &mut Vec<QueryError>) -> Vec<ItemId> {
        let mut items = Vec::with_capacity(codes.len());
        for (i, code) in codes.iter().enumerate() {
            let digits = code.trim();
            // A code_ogr is a plain decimal number: no sign, no leading zero.
            let plain = !digits.starts_with('0') && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
            match plain.then(|| digits.parse::<u32>().ok()).flatten().and_then(|c| self.catalogue.item_id(c)) {
                Some(item) => items.push(item),
                None => unknown.push(QueryError::UnknownItem { field: format!("{field}[{i}]"), code: echo(code) }),
            }
        }
        items
    }

    /// Ranks the occupations of the query's target set for the profile.
    ///
    /// Ranking: when the profile declares its occupation, the moves France Travail lists
    /// for that occupation (`unix_rubrique_mobilite`) come first, by `numero_ordre`, and the
    /// model ranks the rest by probability; each result says whether it is curated. With
    /// `model_only`, or without a declared occupation, the model ranks everything. The
    /// model itself never sees the declared occupation's own curated row.
    ///
    /// Job title and tension: a profile's `job_title` is resolved by text search to its best
    /// occupation, used as the declared occupation (the answer carries the resolution and
    /// the alternatives). With tension data loaded, each result carries the DARES 2019
    /// figures of its job family for the profile's department, region or France (see
    /// [`TensionTable::lookup`]); with `tension_weight = w > 0`, results are ordered by
    /// `(1 − w) · probability + w · (category − 1) / 4` ([`tension_score`]), and the curated
    /// order no longer decides.
    ///
    /// Cost: the postings of the profile's items (a few thousand updates), a few vectors of
    /// one entry per occupation (mobility evidence and the learned embedding's logits, one
    /// 64-wide product per occupation), the 50 features and first-stage logit of every
    /// occupation (the reranker's head is taken over all of them), the reranker on
    /// 50, a top-k selection among the candidates, and the gap description of the kept
    /// results only (see the criterion benchmark `model/benches/recommend.rs`).
    ///
    /// # Errors
    /// [`QueryError`] naming the field at fault (see [`Engine::resolve`]), plus
    /// [`QueryError::TopKOutOfRange`], [`QueryError::UnknownTargetSet`],
    /// [`QueryError::InvalidValue`] (`tension_weight`, `profile.job_title`),
    /// [`QueryError::NoMatchingOccupation`], [`QueryError::UnknownArea`] and
    /// [`QueryError::NotLoaded`] (job title, area or weight without search or tension data).
    pub fn recommend(&self, query: &RecommendQuery) -> Result<Recommendations, QueryError> {
        let prepared = self.prepare(query, None)?;
        let scan = self.index.scan(&self.catalogue, &self.evidence, &prepared.profile, prepared.declared);
        Ok(self.rank(query, &prepared, &scan, false))
    }

    /// [`Engine::recommend`] for a profile the engine built itself, already resolved to its
    /// items and declared occupation (the explorer's states after a step: the person's items
    /// plus every intermediate occupation's). Such a list is not a request and may hold more
    /// than [`MAX_PROFILE_ITEMS`]; the query's `profile` is read only for its area.
    ///
    /// # Errors
    /// As [`Engine::recommend`] for the query's options; [`QueryError::EmptyProfile`] for
    /// no item.
    pub(crate) fn recommend_resolved(
        &self,
        query: &RecommendQuery,
        items: &[ItemId],
        declared: Option<OccupationId>,
    ) -> Result<Recommendations, QueryError> {
        let prepared = self.prepare(query, Some((items, declared)))?;
        let scan = self.index.scan(&self.catalogue, &self.evidence, &prepared.profile, prepared.declared);
        Ok(self.rank(query, &prepared, &scan, false))
    }

    /// Answers several queries; answer `i` equals `self.recommend(&queries[i])`. (Each
    /// profile's scan now only walks the postings of its own items, so a shared pass over
    /// the feature index no longer pays.)
    pub(crate) fn recommend_chunk(&self, queries: &[RecommendQuery]) -> Vec<Result<Recommendations, QueryError>> {
        queries.iter().map(|q| self.recommend(q)).collect()
    }

    /// Validates a query and resolves its profile, unless `resolved` gives its items (sorted,
    /// distinct) and declared occupation.
    fn prepare(
        &self,
        query: &RecommendQuery,
        resolved: Option<(&[ItemId], Option<OccupationId>)>,
    ) -> Result<Prepared, QueryError> {
        let top_k = query.top_k.unwrap_or(DEFAULT_TOP_K);
        if !(1..=MAX_TOP_K).contains(&top_k) {
            return Err(QueryError::TopKOutOfRange { got: top_k, max: MAX_TOP_K });
        }
        let max_other = query.max_other_skills.unwrap_or(DEFAULT_OTHER_SKILLS);
        if max_other > MAX_OTHER_SKILLS {
            return Err(QueryError::InvalidValue {
                field: "max_other_skills".to_string(),
                reason: format!("{max_other} is out of range 0..={MAX_OTHER_SKILLS}"),
            });
        }
        let set = self
            .target_sets
            .get(query.target_set.trim())
            .ok_or_else(|| QueryError::UnknownTargetSet { name: echo(&query.target_set) })?;
        let weight = query.tension_weight;
        if !(0.0..=1.0).contains(&weight) {
            return Err(QueryError::InvalidValue {
                field: "tension_weight".to_string(),
                reason: format!("{} is out of range 0..=1", echo_number(weight)),
            });
        }
        // An unknown area is reported with the profile's unknown codes, if any (below).
        let area = match &self.tensions {
            Some(t) => t.area(query.profile.region.as_deref(), query.profile.department.as_deref()).map(Some),
            None => {
                let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
                let field = if given(&query.profile.region) {
                    Some("profile.region")
                } else if given(&query.profile.department) {
                    Some("profile.department")
                } else if weight > 0.0 {
                    Some("tension_weight")
                } else {
                    None
                };
                if let Some(field) = field {
                    return Err(QueryError::NotLoaded { field: field.to_string(), what: "tension data" });
                }
                Ok(None)
            }
        };
        let (job_title, items, declared) = match resolved {
            Some(([], _)) => return Err(QueryError::EmptyProfile),
            Some((items, declared)) => (None, items.to_vec(), declared),
            None => {
                let job_title = self.resolve_job_title(&query.profile)?;
                let resolved_profile;
                let profile_query = match &job_title {
                    Some(m) => {
                        resolved_profile =
                            ProfileQuery { occupation_code: Some(m.used.code.clone()), ..query.profile.clone() };
                        &resolved_profile
                    }
                    None => &query.profile,
                };
                let (items, declared) = match (self.resolve(profile_query), &area) {
                    (Ok(resolved), _) => resolved,
                    // Unknown codes and an unknown area: all in one answer, in field order.
                    (Err(codes), Err(area)) => return Err(QueryError::both(&codes, area).unwrap_or(codes)),
                    (Err(other), Ok(_)) => return Err(other),
                };
                (job_title, items, declared)
            }
        };
        let area = area?;
        let profile = ProfileVector::new(&self.index, &items);
        Ok(Prepared {
            top_k,
            max_other: max_other as usize,
            set_name: set.name.clone(),
            profile,
            declared,
            weight,
            area,
            job_title,
        })
    }

    /// Ranks and describes the target set of a prepared query from its scan.
    fn rank(
        &self,
        query: &RecommendQuery,
        prepared: &Prepared,
        scan: &ProfileScan,
        exhaustive: bool,
    ) -> Recommendations {
        let Prepared { top_k, max_other, set_name, profile, declared, weight, area, job_title } = prepared;
        let (top_k, declared, weight) = (*top_k, *declared, *weight);
        let tension_of = |t: OccupationId| -> Option<TensionFact> {
            let (table, area) = (self.tensions.as_deref()?, area.as_ref()?);
            table.lookup(&self.catalogue.occupation(t).rome_v3_parent, area)
        };
        let set = match self.target_sets.get(set_name) {
            Some(set) => set,
            None => return self.empty_answer(set_name, profile, scan, declared),
        };
        // Each occupation's place in the declared occupation's curated list, looked up for
        // every eligible occupation: a table (`order + 1`, 0 when not listed) rather than a
        // search of the list each time. The first entry for a target wins.
        let listed = declared.map(|o| self.curated[o.0 as usize].as_slice()).unwrap_or_default();
        let mut curated_at = vec![0u32; if listed.is_empty() { 0 } else { self.catalogue.occupations.len() }];
        for &(target, order) in listed.iter().rev() {
            curated_at[target.0 as usize] = u32::from(order) + 1;
        }
        let curated_order = |t: OccupationId| -> Option<u16> {
            curated_at.get(t.0 as usize).and_then(|&at| u16::try_from(at.checked_sub(1)?).ok())
        };
        // The reranker's head is taken over all occupations but the anchor, whatever the
        // target set, so a pair gets the same score in every set. Only the first-stage
        // logits that can matter are computed exactly (see `crate::head`); `exhaustive`
        // computes all of them, the reference the pruned way is tested against.
        let linear = if exhaustive { None } else { self.stage1_linear.as_ref() };
        let mut stage1 = Stage1::new(&self.model, linear, &self.index, &self.catalogue, scan);
        let threshold = stage1.threshold;
        let blending = weight > 0.0;
        let anchor = scan.anchor();
        let mut eligible: Vec<OccupationId> = Vec::with_capacity(set.members.len());
        eligible
            .extend(set.members.iter().copied().filter(|&t| query.include_current_occupation || Some(t) != declared));
        // Without blending, a curated move ranks by its curated position and a head
        // occupation above every other; when they fill `top_k`, the other members cannot
        // appear and need no exact score.
        let sort_key = |t: OccupationId| if query.model_only || blending { None } else { curated_order(t) };
        let covered = eligible
            .iter()
            .filter(|&&t| sort_key(t).is_some() || (t != anchor && stage1.known(t).is_some_and(|z| z >= threshold)))
            .count();
        let score_all = exhaustive || blending || covered < top_k as usize;
        // Sort key: curated position (u16::MAX when not curated, model_only or ranked with
        // tension), then the blended score (0 without tension weight), then the model's
        // ranking score (same order as the probability, without the calibration's flat
        // steps), cosine, code. Only the kept results are calibrated and described.
        let mut scored: Vec<(OccupationId, u16, f64, f64, f64)> = Vec::with_capacity(eligible.len());
        for &t in &eligible {
            let key = sort_key(t);
            if !(score_all || key.is_some() || t == anchor || stage1.known(t).is_some()) {
                continue;
            }
            let (z1, x) = stage1.exact(&self.index, &self.catalogue, scan, &self.model, t);
            let logit = self.model.score_from(z1, x, threshold);
            let blend = if blending {
                (1.0 - weight) * self.model.probability_of(logit) + weight * tension_score(tension_of(t).as_ref())
            } else {
                0.0
            };
            scored.push((t, key.unwrap_or(u16::MAX), blend, logit, scan.cosine(t)));
        }
        let candidates_scored = eligible.len();
        type Scored = (OccupationId, u16, f64, f64, f64);
        let order = |a: &Scored, b: &Scored| {
            a.1.cmp(&b.1)
                .then(b.2.total_cmp(&a.2))
                .then(b.3.total_cmp(&a.3))
                .then(b.4.total_cmp(&a.4))
                .then(a.0.cmp(&b.0))
        };
        let keep = (top_k as usize).min(scored.len());
        if keep > 0 && keep < scored.len() {
            scored.select_nth_unstable_by(keep - 1, order);
        }
        scored.truncate(keep);
        scored.sort_by(order);
        let results = scored
            .into_iter()
            .map(|(t, _, blend, logit, cosine)| {
                let probability = self.model.probability_of(logit);
                let (_, x) = stage1.exact(&self.index, &self.catalogue, scan, &self.model, t);
                let top_factors = self
                    .model
                    .supporting_contributions(x, logit)
                    .into_iter()
                    .take(3)
                    .map(|c| Factor {
                        feature: FEATURE_NAMES.get(c.feature).copied().unwrap_or(TREE_FACTOR_NAME),
                        explanation: explanation(c.feature, declared.is_some()),
                        logit: c.logit,
                    })
                    .collect();
                let mut result = self.describe(t, probability, cosine, profile, *max_other, top_factors);
                result.curated_order = curated_order(t);
                result.tension = tension_of(t);
                result.blended_score = blending.then_some(blend);
                result
            })
            .collect();
        let tension = match (&self.tensions, area) {
            (Some(table), Some(area)) => Some(TensionContext {
                basis: tension_basis(table.year, weight),
                area: area.clone(),
                weight,
                year: table.year,
            }),
            _ => None,
        };
        let anchor = self.occupation_ref(scan.anchor());
        Recommendations {
            anchor,
            anchor_basis: if declared.is_some() { AnchorBasis::Declared } else { AnchorBasis::NearestByCosine },
            target_set: set.name.clone(),
            profile_items: profile.items().len(),
            candidates_scored,
            results,
            job_title: job_title.clone(),
            tension,
        }
    }

    /// The answer when the set vanished between `prepare` and `rank` (cannot happen: the
    /// engine is immutable); kept so that no path panics.
    fn empty_answer(
        &self,
        set_name: &str,
        profile: &ProfileVector,
        scan: &ProfileScan,
        declared: Option<OccupationId>,
    ) -> Recommendations {
        Recommendations {
            anchor: self.occupation_ref(scan.anchor()),
            anchor_basis: if declared.is_some() { AnchorBasis::Declared } else { AnchorBasis::NearestByCosine },
            target_set: set_name.to_string(),
            profile_items: profile.items().len(),
            candidates_scored: 0,
            results: Vec::new(),
            job_title: None,
            tension: None,
        }
    }

    fn occupation_ref(&self, id: OccupationId) -> OccupationRef {
        let o = self.catalogue.occupation(id);
        OccupationRef { code: o.code.clone(), label: o.label.clone() }
    }

    /// Builds a result: matched core skills and the gap, most specific (highest idf) first.
    fn describe(
        &self,
        t: OccupationId,
        probability: f64,
        cosine: f64,
        profile: &ProfileVector,
        max_other: usize,
        top_factors: Vec<Factor>,
    ) -> Recommendation {
        let (mut matched_core, mut missing_core, mut missing_other) = (Vec::new(), Vec::new(), Vec::new());
        let mut missing_other_total = 0;
        for &(item, skill) in &self.gap_order[t.0 as usize] {
            match (skill.relevance, profile.contains(item)) {
                (Relevance::Core, true) => matched_core.push(skill),
                (Relevance::Core, false) => missing_core.push(skill),
                (Relevance::Emerging | Relevance::Other, false) => {
                    if missing_other.len() < max_other {
                        missing_other.push(skill);
                    }
                    missing_other_total += 1;
                }
                (Relevance::Emerging | Relevance::Other, true) => {}
            }
        }
        let n_core = matched_core.len() + missing_core.len();
        let core_coverage = if n_core == 0 { 1.0 } else { matched_core.len() as f64 / n_core as f64 };
        Recommendation {
            occupation: self.occupation_ref(t),
            probability,
            cosine,
            core_coverage,
            matched_core,
            missing_core,
            missing_other,
            missing_other_total,
            top_factors,
            curated_order: None,
            tension: None,
            blended_score: None,
        }
    }
}

/// The provenance and ranking sentence of an answer that uses tension figures.
fn tension_basis(year: u16, weight: f64) -> String {
    let mut basis = format!(
        "{TENSION_ATTRIBUTION}, {year} (Licence Ouverte): tension category 1-5 of the target's FAP 225 job family \
         (via its ROME v3 code), for the department if given and published, else the region, else France; \
         figures are {year}'s."
    );
    if weight > 0.0 {
        basis.push_str(&format!(
            " Ranked by (1 - {weight}) x probability + {weight} x (category - 1) / 4; an occupation without \
             tension figures is assumed neutral (0.5); France Travail's curated order does not decide the order."
        ));
    }
    basis
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pruned ranking (bounds, exact scores only where they can matter) gives exactly the
    /// exhaustive ranking's answer, on real profiles: declared occupations, edited profiles,
    /// item-only profiles; both target sets; small and large `top_k`; with the current
    /// occupation, model only, and tension blending.
    #[test]
    fn pruned_ranking_equals_exhaustive_ranking_on_real_profiles() {
        let engine = crate::embedded::engine().expect("embedded engine");
        let cat = engine.catalogue();
        let codes: Vec<String> = cat.occupation_ids().step_by(23).map(|o| cat.occupation(o).code.clone()).collect();
        let mut compared = 0;
        for (n, code) in codes.iter().enumerate() {
            let o = cat.occupation_id(code).expect("code");
            let items: Vec<String> =
                cat.occupation(o).items.iter().map(|l| cat.item(l.item).code.to_string()).collect();
            let other = cat.occupation(OccupationId(((o.0 as usize * 7 + 11) % cat.occupations.len()) as u32));
            let profile = match n % 3 {
                0 => ProfileQuery { occupation_code: Some(code.clone()), ..Default::default() },
                1 => ProfileQuery {
                    occupation_code: Some(code.clone()),
                    item_codes: other.items.iter().take(6).map(|l| cat.item(l.item).code.to_string()).collect(),
                    removed_item_codes: items.iter().step_by(3).cloned().collect(),
                    ..Default::default()
                },
                _ => ProfileQuery { item_codes: items.iter().skip(1).cloned().collect(), ..Default::default() },
            };
            let (set, top_k) = match n % 4 {
                0 => ("ALL", 10),
                1 => ("DIGITAL_INFRASTRUCTURE", 10),
                2 => ("ALL", 1),
                _ => ("ALL", if n % 8 == 3 { 100 } else { 60 }),
            };
            let query = RecommendQuery {
                profile,
                top_k: Some(top_k),
                target_set: set.to_string(),
                include_current_occupation: n % 5 == 0,
                model_only: n % 7 == 0,
                tension_weight: if n % 6 == 0 { 0.3 } else { 0.0 },
                max_other_skills: None,
            };
            let prepared = engine.prepare(&query, None).expect("valid query");
            let scan = engine.index.scan(&engine.catalogue, &engine.evidence, &prepared.profile, prepared.declared);
            let pruned = engine.rank(&query, &prepared, &scan, false);
            let exhaustive = engine.rank(&query, &prepared, &scan, true);
            assert_eq!(pruned, exhaustive, "query {n} ({code}, {set}, top {top_k})");
            assert_eq!(pruned.results.len(), top_k as usize);
            compared += 1;
        }
        assert_eq!(compared, codes.len());
        assert!(compared >= 60, "{compared} profiles");
    }
}
