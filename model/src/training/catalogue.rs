//! The training catalogue: every ROME certification (items of category "Certifications et
//! habilitations", [`ItemKind::Certification`]) with the occupations it leads to, the skills
//! it is estimated to develop, its qualification level, typical duration and cost — each
//! figure with its [`Basis`] and source.
//!
//! Sources, in order of precedence for each figure:
//! 1. an operator catalogue (an OPCO's or a job centre's CSV, [`OPERATOR_COLUMNS`]);
//! 2. `data/training/certification_facts.csv` (figures read on public pages, each with its
//!    source), reached through `data/training/rome_certifications.csv`, which maps a ROME
//!    `code_ogr` to a facts row by name (`exact`) or to its successor or family;
//! 3. the first rule of `data/training/kind_defaults.csv` whose pattern matches the label.
//!
//! Cost: a sourced or operator price when there is one, otherwise hours × 25.5 EUR/h, the
//! average hourly price of CPF-funded training in 2023 (Caisse des dépôts), as an
//! [`Basis::Estimate`].
//!
//! **Skills a certification develops** ([`SkillEstimate`]) are estimated from the ROME links,
//! as nobody publishes them in a machine-readable form: a savoir-faire or savoir is attributed
//! to a *qualification* (diploma, titre professionnel, CQP…) when at least half of the
//! occupations that list the certification also list the skill (`support` ≥ 0.5) and at
//! least [`MIN_CO_LISTING`] of them do (one fiche alone gives every one of its skills a
//! support of 1, which says nothing about the certification: a Mastère listed by one naval
//! fiche was proposed for "Procédures qualité et sécurité"); its `specificity` is the share
//! of the occupations listing the skill that list the certification. An *authorisation*
//! (habilitation, CACES, AIPR, SST: a short regulated course that attests safety knowledge
//! for a task, not a trade) covers only its own item. Every certification covers its own
//! item. An operator's `covered_items` replace the estimate. The planner adds one more
//! route ([`TrainingCatalogue::estimate`]): a qualification the *target's* own fiche lists.

use std::collections::HashMap;

use regex::Regex;
use serde::Serialize;

use crate::catalogue::{Catalogue, ItemId, ItemKind, OccupationId};
use crate::csv_rows::CsvRows;
use crate::error::DataError;

/// Average price per hour of CPF-funded training, 2023, in euros (Caisse des dépôts,
/// "Questions politiques sociales - Les brèves" n°32, January 2025; row of
/// `certification_facts.csv`).
pub const CPF_EUR_PER_HOUR: f64 = 25.5;
/// Source text of [`CPF_EUR_PER_HOUR`] as shown in answers.
pub const CPF_SOURCE: &str =
    "estimate: hours × 25.5 EUR/h, the average hourly price of CPF-funded training in 2023 (Caisse des dépôts)";
/// Smallest share of a certification's occupations that must list a skill for the skill to be
/// attributed to the certification (see module docs).
pub const MIN_SUPPORT: f64 = 0.5;
/// Smallest number of the certification's occupations that must list a skill for the skill to
/// be attributed to it by co-occurrence (see module docs).
pub const MIN_CO_LISTING: u32 = 2;
/// Largest accepted duration in an operator catalogue, in hours (five years of full-time
/// training).
pub const MAX_HOURS: f64 = 10_000.0;
/// Columns of an operator catalogue CSV; only `certification` must be non-empty.
pub const OPERATOR_COLUMNS: [&str; 7] =
    ["certification", "level", "hours", "cost", "region", "provider", "covered_items"];

/// Where a figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Read on a named public page (the source says which).
    Sourced,
    /// Computed from sourced figures, or a sourced figure of a related certification.
    Derived,
    /// Assumed where nothing was found (the source says so).
    Assumption,
    /// Estimated (CPF price × hours, skills from co-occurrence in the ROME).
    Estimate,
    /// Given by the operator's catalogue file.
    Operator,
}

/// A number with its basis and source (hours, euros).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// The value (hours or euros), ≥ 0.
    pub value: f64,
    /// Where it comes from.
    pub basis: Basis,
    /// Source text or identifier (facts row, rule, operator file and line).
    pub source: String,
}

/// A qualification level of the French framework (1–8), or none, with its basis and source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Level {
    /// Level 1–8; `None` when the certification has no level (habilitation, CQP not registered
    /// at the RNCP) or none is known.
    pub value: Option<u8>,
    /// Where it comes from.
    pub basis: Basis,
    /// Source text or identifier.
    pub source: String,
}

/// A regulated prerequisite a target occupation can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Regulated {
    /// Autorisation d'intervention à proximité des réseaux (arrêté du 15 février 2012).
    Aipr,
    /// Habilitation électrique (NF C18-510).
    ElectricalHabilitation,
    /// CACES R486, mobile elevating work platforms (nacelles, PEMP).
    CacesR486,
    /// Work at height training.
    WorkAtHeight,
}

/// Qualification (develops a trade's skills) or authorisation (attests a safety course).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificationClass {
    /// Diploma, titre professionnel, CQP, licence…: covers its estimated skills.
    Qualification,
    /// Habilitation, CACES, AIPR, SST…: covers only its own item.
    Authorisation,
}

/// A skill a certification is estimated (or declared by an operator) to develop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SkillEstimate {
    /// The item.
    #[serde(skip)]
    pub item: ItemId,
    /// Share in [0, 1] of the certification's occupations that list the item (1 for the
    /// certification's own item and for operator-declared items).
    pub support: f64,
    /// Share in [0, 1] of the occupations listing the item that list the certification.
    pub specificity: f64,
}

/// One certification of the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct Certification {
    /// The ROME item.
    #[serde(skip)]
    pub item: ItemId,
    /// `code_ogr`.
    pub code: u32,
    /// Label (ROME 4.0).
    pub label: String,
    /// Qualification or authorisation.
    pub class: CertificationClass,
    /// The regulated prerequisite this is, if any.
    pub regulated: Option<Regulated>,
    /// Qualification level.
    pub level: Level,
    /// Typical duration in hours.
    pub hours: Figure,
    /// Cost in euros.
    pub cost_eur: Figure,
    /// Occupations that list the certification (ROME links).
    #[serde(skip)]
    pub leads_to: Vec<OccupationId>,
    /// Skills it develops, sorted by item; always includes its own item.
    #[serde(skip)]
    pub skills: Vec<SkillEstimate>,
    /// `Estimate` (co-occurrence in the ROME) or `Operator`.
    pub skills_basis: Basis,
    /// Training provider (operator catalogue only).
    pub provider: Option<String>,
    /// Region where it is offered (operator catalogue only).
    pub region: Option<String>,
}

impl Certification {
    /// The estimate for `item`, if the certification develops it.
    pub fn skill(&self, item: ItemId) -> Option<&SkillEstimate> {
        self.skills.binary_search_by_key(&item, |s| s.item).ok().map(|i| &self.skills[i])
    }
}

/// A row of an operator catalogue that was refused; the other rows still load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowIssue {
    /// File name as given.
    pub file: String,
    /// 1-based line (the header is line 1).
    pub line: u64,
    /// What is wrong, with the offending value.
    pub reason: String,
}

impl std::fmt::Display for RowIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: line {}: {}", self.file, self.line, self.reason)
    }
}

/// The text of the three embedded training files.
#[derive(Debug, Clone, Copy)]
pub struct TrainingFiles<'a> {
    /// `certification_facts.csv`.
    pub facts: &'a str,
    /// `kind_defaults.csv`.
    pub kind_defaults: &'a str,
    /// `rome_certifications.csv`.
    pub rome_map: &'a str,
}

/// The training catalogue (see module docs). Immutable once built.
#[derive(Debug, Clone)]
pub struct TrainingCatalogue {
    certifications: Vec<Certification>,
    by_item: HashMap<ItemId, usize>,
    /// item → certifications developing it.
    by_skill: HashMap<ItemId, Vec<usize>>,
    /// How many occupations list each item (indexed by [`ItemId`]).
    item_count: Vec<u32>,
    /// Checksum of the ROME catalogue it was built from.
    pub catalogue_checksum: String,
    /// The operator catalogue used, if any (file name).
    pub operator_file: Option<String>,
}

#[derive(Debug, Clone)]
struct Fact {
    name: String,
    level: Option<u8>,
    level_text: String,
    hours: Option<(f64, f64)>,
    cost: Option<f64>,
    cost_text: String,
    source: String,
}

#[derive(Debug)]
struct KindRule {
    kind: String,
    pattern: Regex,
    /// The level and its own basis (a level can be sourced where the hours are assumed).
    level: Option<(u8, Basis)>,
    hours: f64,
    basis: Basis,
    note: String,
}

/// An operator row, validated.
#[derive(Debug, Clone)]
struct OperatorRow {
    line: u64,
    level: Option<u8>,
    hours: Option<f64>,
    cost: Option<f64>,
    region: Option<String>,
    provider: Option<String>,
    covered: Option<Vec<ItemId>>,
}

fn authorisation_pattern() -> Result<Regex, DataError> {
    compile(
        r"(?i)habilitation|(?-u:\b)(CACES|AIPR|R ?4[0-9]{2}|PEMP|SST)(?-u:\b)|proximité des réseaux|aptitude à la conduite en sécurité|sauveteur secouriste",
    )
}

fn regulated_patterns() -> Result<Vec<(Regulated, Regex)>, DataError> {
    Ok(vec![
        (Regulated::Aipr, compile(r"(?i)(?-u:\b)AIPR(?-u:\b)|proximité des réseaux")?),
        (Regulated::ElectricalHabilitation, compile(r"(?i)habilitations? électriques?|(?-u:\b)H0B0(?-u:\b)")?),
        (
            Regulated::CacesR486,
            compile(r"(?i)(?-u:\b)(R ?486|PEMP)(?-u:\b)|nacelle|plates?-formes? élévatrices? mobiles?")?,
        ),
        (Regulated::WorkAtHeight, compile(r"(?i)travail en hauteur|travaux en hauteur|harnais")?),
    ])
}

fn compile(pattern: &str) -> Result<Regex, DataError> {
    Regex::new(pattern).map_err(|e| DataError::Invalid { file: "training patterns".into(), reason: e.to_string() })
}

/// Which regulated prerequisite a certification label names, if it is an authorisation.
/// `None` for qualifications (a CQP "travaux en hauteur" is a trade, not the safety course).
pub fn classify(label: &str) -> (CertificationClass, Option<Regulated>) {
    // The patterns are constants checked by tests; a failure to compile cannot happen.
    let (Ok(auth), Ok(regulated)) = (authorisation_pattern(), regulated_patterns()) else {
        return (CertificationClass::Qualification, None);
    };
    classify_with(&auth, &regulated, label)
}

fn classify_with(
    auth: &Regex,
    regulated: &[(Regulated, Regex)],
    label: &str,
) -> (CertificationClass, Option<Regulated>) {
    if !auth.is_match(label) {
        return (CertificationClass::Qualification, None);
    }
    let kind = regulated.iter().find(|(_, p)| p.is_match(label)).map(|(k, _)| *k);
    (CertificationClass::Authorisation, kind)
}

fn parse_basis(text: &str) -> Option<Basis> {
    match text {
        "sourced" => Some(Basis::Sourced),
        "derived" => Some(Basis::Derived),
        "assumption" => Some(Basis::Assumption),
        "estimate" => Some(Basis::Estimate),
        _ => None,
    }
}

/// A plain number at the start of `text` ("132 (TTC, inter)" → 132; "600-2000" → 1300, the
/// middle of the range).
fn leading_number(text: &str) -> Option<f64> {
    let text = text.trim();
    let end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let first: f64 = text[..end].parse().ok()?;
    let rest = &text[end..];
    if let Some(second) = rest.strip_prefix('-') {
        let end2 = second.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(second.len());
        if let Ok(high) = second[..end2].parse::<f64>() {
            return Some((first + high) / 2.0);
        }
    }
    Some(first)
}

/// Positions of `wanted` columns in the header of `rows`, and the header's length.
fn columns(file: &str, rows: &mut CsvRows<'_>, wanted: &[&'static str]) -> Result<(Vec<usize>, usize), DataError> {
    let header = rows.headers().map_err(|e| DataError::BadRow {
        file: file.to_string(),
        line: 1,
        reason: format!("unreadable header: {e}"),
    })?;
    let header: Vec<String> = header.iter().map(|h| h.trim_start_matches('\u{feff}').trim().to_string()).collect();
    // A column given twice is ambiguous: refused, not resolved by taking the first (as
    // `score` does for its input). Other columns are ignored, so their repeats do not matter.
    if let Some(repeated) = crate::error::repeated_column(&header, wanted.iter().copied()) {
        return Err(DataError::BadRow {
            file: file.to_string(),
            line: 1,
            reason: format!("{repeated}: which one to read is ambiguous"),
        });
    }
    let positions = wanted
        .iter()
        .map(|w| {
            header.iter().position(|h| h == w).ok_or(DataError::MissingColumn { file: file.to_string(), column: w })
        })
        .collect::<Result<_, _>>()?;
    Ok((positions, header.len()))
}

/// Visits each record with its physical line ([`CsvRows`]) and wanted fields. A record
/// that cannot be read (invalid UTF-8), or whose field count is not the header's (a cut
/// line, or a value with an unquoted comma that shifts the columns after it; empty fields
/// past the header, a trailing comma, are ignored), goes to `on_error` like a refused one.
fn for_each_row(
    file: &str,
    bytes: &[u8],
    wanted: &[&'static str],
    mut visit: impl FnMut(u64, Vec<&str>) -> Result<(), String>,
    mut on_error: impl FnMut(RowIssue) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let mut rows = CsvRows::new(csv::ReaderBuilder::new().has_headers(true).flexible(true), bytes);
    let (cols, header_len) = columns(file, &mut rows, wanted)?;
    while let Some((line, record)) = rows.next_row() {
        let record = match record {
            Ok(record) => record,
            Err(reason) => {
                on_error(RowIssue { file: file.to_string(), line, reason })?;
                continue;
            }
        };
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if record.len() < header_len || crate::error::spills_past_header(&record, header_len) {
            let count = crate::error::field_count(record.len(), header_len);
            // The comma hint only where a comma can be the cause: a short row is cut.
            let reason =
                if record.len() > header_len { format!("{count} ({})", crate::error::QUOTE_THE_COMMA) } else { count };
            on_error(RowIssue { file: file.to_string(), line, reason })?;
            continue;
        }
        let fields = cols.iter().map(|&c| record.get(c).unwrap_or("")).collect();
        if let Err(reason) = visit(line, fields) {
            on_error(RowIssue { file: file.to_string(), line, reason })?;
        }
    }
    Ok(())
}

/// Embedded files are ours: any bad row is an error.
fn strict(issue: RowIssue) -> Result<(), DataError> {
    Err(DataError::BadRow { file: issue.file, line: issue.line, reason: issue.reason })
}

fn load_facts(text: &str) -> Result<HashMap<String, Fact>, DataError> {
    const FILE: &str = "data/training/certification_facts.csv";
    let mut facts = HashMap::new();
    for_each_row(
        FILE,
        text.as_bytes(),
        &["name", "level", "duration_hours_min", "duration_hours_max", "cost_eur", "source"],
        |_, f| {
            let number = |s: &str, what: &str| -> Result<Option<f64>, String> {
                let s = s.trim();
                if s.is_empty() {
                    return Ok(None);
                }
                s.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .map(Some)
                    .ok_or_else(|| format!("{what} `{s}` is not a non-negative number"))
            };
            let min = number(f[2], "duration_hours_min")?;
            let max = number(f[3], "duration_hours_max")?;
            let hours = match (min, max) {
                (Some(a), Some(b)) if a <= b => Some((a, b)),
                (Some(a), Some(b)) => return Err(format!("duration_hours_min {a} > duration_hours_max {b}")),
                (Some(a), None) => Some((a, a)),
                (None, Some(b)) => Some((b, b)),
                (None, None) => None,
            };
            let level = f[1].trim().parse::<u8>().ok().filter(|l| (1..=8).contains(l));
            let fact = Fact {
                name: f[0].trim().to_string(),
                level,
                level_text: f[1].trim().to_string(),
                hours,
                cost: leading_number(f[4]),
                cost_text: f[4].trim().to_string(),
                source: f[5].trim().to_string(),
            };
            if facts.insert(fact.name.clone(), fact).is_some() {
                return Err(format!("duplicate name `{}`", f[0]));
            }
            Ok(())
        },
        strict,
    )?;
    Ok(facts)
}

fn load_rules(text: &str) -> Result<Vec<KindRule>, DataError> {
    const FILE: &str = "data/training/kind_defaults.csv";
    let mut rules = Vec::new();
    for_each_row(
        FILE,
        text.as_bytes(),
        &["kind", "label_pattern", "level", "level_basis", "hours", "basis", "note"],
        |_, f| {
            let pattern = Regex::new(f[1]).map_err(|e| format!("label_pattern `{}`: {e}", f[1]))?;
            let level = match (f[2].trim(), f[3].trim()) {
                ("", "") => None,
                ("", b) => return Err(format!("level_basis `{b}` without a level")),
                (l, b) => Some((
                    l.parse::<u8>().ok().filter(|l| (1..=8).contains(l)).ok_or(format!("level `{l}`"))?,
                    parse_basis(b).ok_or_else(|| format!("level_basis `{b}`"))?,
                )),
            };
            let hours = f[4]
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|h| h.is_finite() && *h > 0.0)
                .ok_or_else(|| format!("hours `{}` is not a positive number", f[4]))?;
            let basis = parse_basis(f[5].trim()).ok_or_else(|| format!("basis `{}`", f[5]))?;
            rules.push(KindRule {
                kind: f[0].trim().to_string(),
                pattern,
                level,
                hours,
                basis,
                note: f[6].trim().to_string(),
            });
            Ok(())
        },
        strict,
    )?;
    if rules.last().is_none_or(|r| !r.pattern.is_match("")) {
        return Err(DataError::Invalid { file: FILE.into(), reason: "the last rule must match every label".into() });
    }
    Ok(rules)
}

/// code_ogr → (fact name, match, note).
fn load_map(text: &str, facts: &HashMap<String, Fact>) -> Result<HashMap<u32, (String, String, String)>, DataError> {
    const FILE: &str = "data/training/rome_certifications.csv";
    let mut map = HashMap::new();
    for_each_row(
        FILE,
        text.as_bytes(),
        &["code_ogr", "fact_name", "match", "note"],
        |_, f| {
            let code = f[0].trim().parse::<u32>().map_err(|_| format!("code_ogr `{}`", f[0]))?;
            if !facts.contains_key(f[1].trim()) {
                return Err(format!("fact_name `{}` is not in certification_facts.csv", f[1]));
            }
            if !matches!(f[2].trim(), "exact" | "successor" | "family") {
                return Err(format!("match `{}` is not exact, successor or family", f[2]));
            }
            if map.insert(code, (f[1].trim().to_string(), f[2].trim().to_string(), f[3].trim().to_string())).is_some() {
                return Err(format!("duplicate code_ogr {code}"));
            }
            Ok(())
        },
        strict,
    )?;
    Ok(map)
}

fn operator_rows(
    file: &str,
    bytes: &[u8],
    catalogue: &Catalogue,
) -> Result<(HashMap<ItemId, OperatorRow>, Vec<RowIssue>), DataError> {
    let mut rows: HashMap<ItemId, OperatorRow> = HashMap::new();
    let mut issues = Vec::new();
    for_each_row(
        file,
        bytes,
        &OPERATOR_COLUMNS,
        |line, f| {
            let code = f[0].trim();
            let item = code
                .parse::<u32>()
                .ok()
                .and_then(|c| catalogue.item_id(c))
                .filter(|i| catalogue.item(*i).kind == ItemKind::Certification)
                .ok_or_else(|| {
                    format!("certification `{}` is not the code_ogr of a ROME certification", crate::error::echo(code))
                })?;
            let level = match f[1].trim() {
                "" => None,
                l => Some(
                    l.parse::<u8>()
                        .ok()
                        .filter(|l| (1..=8).contains(l))
                        .ok_or_else(|| format!("level `{}` is not a level 1-8", crate::error::echo(l)))?,
                ),
            };
            // Each wrong value gets the message of what is wrong with it: `1e308` hours
            // were reported as "not a positive number".
            let positive = |s: &str, what: &str, zero_ok: bool, max: f64| -> Result<Option<f64>, String> {
                let s = s.trim();
                if s.is_empty() {
                    return Ok(None);
                }
                let shown = crate::error::echo(s);
                match s.parse::<f64>().ok().filter(|v| v.is_finite()) {
                    None => Err(format!("{what} `{shown}` is not a number")),
                    Some(v) if v < 0.0 || (v == 0.0 && !zero_ok) => Err(format!(
                        "{what} `{shown}` is not a {} number",
                        if zero_ok { "non-negative" } else { "positive" }
                    )),
                    Some(v) if v > max => Err(format!("{what} `{shown}` is over {max}")),
                    Some(v) => Ok(Some(v)),
                }
            };
            let hours = positive(f[2], "hours", false, MAX_HOURS)?;
            let cost = positive(f[3], "cost", true, MAX_HOURS * 1000.0)?;
            let text = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
            let covered = match f[6].trim() {
                "" => None,
                list => Some(
                    list.split(';')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(|c| {
                            c.parse::<u32>()
                                .ok()
                                .and_then(|c| catalogue.item_id(c))
                                .filter(|i| catalogue.item(*i).kind != ItemKind::WorkContext)
                                .ok_or_else(|| {
                                    format!("covered_items: `{}` is not a ROME skill code_ogr", crate::error::echo(c))
                                })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            if let Some(previous) = rows.get(&item) {
                return Err(format!("certification {code} already given on line {}", previous.line));
            }
            rows.insert(
                item,
                OperatorRow { line, level, hours, cost, region: text(f[4]), provider: text(f[5]), covered },
            );
            Ok(())
        },
        |issue| {
            issues.push(issue);
            Ok(())
        },
    )?;
    Ok((rows, issues))
}

impl TrainingCatalogue {
    /// Builds the catalogue from the ROME catalogue, the embedded training files and an
    /// optional operator catalogue `(file name, CSV bytes)`.
    ///
    /// Returns the catalogue and the operator rows that were refused (file, line, reason);
    /// the good rows are used. A row with invalid UTF-8 is one of them (`line 7: invalid
    /// UTF-8 in field "provider" (column 6)`), as any other bad row.
    ///
    /// # Errors
    /// [`DataError`] when an embedded file is malformed, or the operator file's header lacks
    /// a column of [`OPERATOR_COLUMNS`], gives one twice, or cannot be read (invalid UTF-8
    /// in it: line 1).
    pub fn build(
        catalogue: &Catalogue,
        files: TrainingFiles<'_>,
        operator: Option<(&str, &[u8])>,
    ) -> Result<(Self, Vec<RowIssue>), DataError> {
        let facts = load_facts(files.facts)?;
        let rules = load_rules(files.kind_defaults)?;
        let map = load_map(files.rome_map, &facts)?;
        let (operator_rows, issues) = match operator {
            Some((name, text)) => operator_rows(name, text, catalogue)?,
            None => (HashMap::new(), Vec::new()),
        };
        let auth = authorisation_pattern()?;
        let regulated = regulated_patterns()?;

        // How many occupations list each item, and which occupations list each certification.
        let mut item_count = vec![0u32; catalogue.items.len()];
        let mut cert_occupations: HashMap<ItemId, Vec<OccupationId>> = HashMap::new();
        for o in catalogue.occupation_ids() {
            for link in &catalogue.occupation(o).items {
                item_count[link.item.0 as usize] += 1;
                if catalogue.item(link.item).kind == ItemKind::Certification {
                    cert_occupations.entry(link.item).or_default().push(o);
                }
            }
        }

        let mut certifications = Vec::new();
        let mut together = vec![0u32; catalogue.items.len()];
        let mut touched: Vec<ItemId> = Vec::new();
        for (index, item) in catalogue.items.iter().enumerate() {
            if item.kind != ItemKind::Certification {
                continue;
            }
            let id = ItemId(index as u32);
            let (class, regulated_kind) = classify_with(&auth, &regulated, &item.label);
            let leads_to = cert_occupations.remove(&id).unwrap_or_default();
            let op = operator_rows.get(&id);
            let op_source = |row: &OperatorRow| {
                format!("operator catalogue {}: line {}", operator.map_or("", |(n, _)| n), row.line)
            };
            let fact = map.get(&item.code).and_then(|(name, m, note)| facts.get(name).map(|f| (f, m.as_str(), note)));
            let rule = rules.iter().find(|r| r.pattern.is_match(&item.label));
            let fact_basis = |m: &str| if m == "exact" { Basis::Sourced } else { Basis::Derived };
            let fact_source = |f: &Fact, m: &str, note: &str, what: &str| {
                format!("certification_facts.csv row \"{}\" ({m} match: {note}); {what}; source: {}", f.name, f.source)
            };
            let rule_source = |r: &KindRule| format!("kind_defaults.csv rule \"{}\": {}", r.kind, r.note);

            let level = if let Some(l) = op.and_then(|r| r.level.map(|l| (r, l))) {
                Level { value: Some(l.1), basis: Basis::Operator, source: op_source(l.0) }
            } else if let Some((f, m, note)) = fact.filter(|(f, _, _)| f.level.is_some()) {
                Level { value: f.level, basis: fact_basis(m), source: fact_source(f, m, note, "level") }
            } else if let Some((f, m, note)) = fact.filter(|(f, _, _)| f.level_text.starts_with("sans équivalence")) {
                // The facts row states there is none (habilitations: "sans équivalence de niveau").
                let what = format!("no level: `{}`", f.level_text);
                Level { value: None, basis: fact_basis(m), source: fact_source(f, m, note, &what) }
            } else if let Some((r, (l, basis))) = rule.and_then(|r| r.level.map(|l| (r, l))) {
                Level { value: Some(l), basis, source: rule_source(r) }
            } else {
                let why = match fact {
                    Some((f, _, _)) if f.level_text.is_empty() => {
                        format!("certification_facts.csv row \"{}\" and the rules give none", f.name)
                    }
                    Some((f, _, _)) => format!(
                        "certification_facts.csv row \"{}\" says `{}` and the rules give none",
                        f.name, f.level_text
                    ),
                    None => "neither the facts nor the rules give one".to_string(),
                };
                Level { value: None, basis: Basis::Assumption, source: format!("no level known: {why}") }
            };
            let hours = if let Some((row, h)) = op.and_then(|r| r.hours.map(|h| (r, h))) {
                Figure { value: h, basis: Basis::Operator, source: op_source(row) }
            } else if let Some((f, m, note, (lo, hi))) = fact.and_then(|(f, m, n)| f.hours.map(|h| (f, m, n, h))) {
                let what = if lo == hi { format!("{lo} h") } else { format!("range {lo}-{hi} h, middle used") };
                Figure { value: (lo + hi) / 2.0, basis: fact_basis(m), source: fact_source(f, m, note, &what) }
            } else if let Some(r) = rule {
                Figure { value: r.hours, basis: r.basis, source: rule_source(r) }
            } else {
                // Unreachable: load_rules checks that the last rule matches every label.
                Figure { value: 400.0, basis: Basis::Assumption, source: "no rule matched: assumed".into() }
            };
            let cost_eur = if let Some((row, c)) = op.and_then(|r| r.cost.map(|c| (r, c))) {
                Figure { value: c, basis: Basis::Operator, source: op_source(row) }
            } else if let Some((f, m, note, c)) = fact.and_then(|(f, m, n)| f.cost.map(|c| (f, m, n, c))) {
                let what = format!("cost `{}`", f.cost_text);
                Figure { value: c, basis: fact_basis(m), source: fact_source(f, m, note, &what) }
            } else {
                Figure { value: hours.value * CPF_EUR_PER_HOUR, basis: Basis::Estimate, source: CPF_SOURCE.to_string() }
            };

            let own = SkillEstimate { item: id, support: 1.0, specificity: 1.0 };
            let (mut skills, skills_basis) = match op.and_then(|r| r.covered.as_ref()) {
                Some(covered) => {
                    let mut s: Vec<SkillEstimate> =
                        covered.iter().map(|&i| SkillEstimate { item: i, support: 1.0, specificity: 1.0 }).collect();
                    s.push(own);
                    (s, Basis::Operator)
                }
                None => {
                    let mut s = vec![own];
                    if class == CertificationClass::Qualification && !leads_to.is_empty() {
                        // Dense counters reused across certifications; `touched` resets them.
                        for &o in &leads_to {
                            for link in &catalogue.occupation(o).items {
                                if matches!(catalogue.item(link.item).kind, ItemKind::SavoirFaire | ItemKind::Savoir) {
                                    let c = &mut together[link.item.0 as usize];
                                    if *c == 0 {
                                        touched.push(link.item);
                                    }
                                    *c += 1;
                                }
                            }
                        }
                        let n = leads_to.len() as f64;
                        for i in touched.drain(..) {
                            let k = std::mem::take(&mut together[i.0 as usize]);
                            let support = f64::from(k) / n;
                            if support >= MIN_SUPPORT && k >= MIN_CO_LISTING {
                                s.push(SkillEstimate {
                                    item: i,
                                    support,
                                    specificity: f64::from(k) / f64::from(item_count[i.0 as usize].max(1)),
                                });
                            }
                        }
                    }
                    (s, Basis::Estimate)
                }
            };
            skills.sort_by_key(|s| s.item);
            skills.dedup_by_key(|s| s.item);
            certifications.push(Certification {
                item: id,
                code: item.code,
                label: item.label.clone(),
                class,
                regulated: regulated_kind,
                level,
                hours,
                cost_eur,
                leads_to,
                skills,
                skills_basis,
                provider: op.and_then(|r| r.provider.clone()),
                region: op.and_then(|r| r.region.clone()),
            });
        }
        let by_item = certifications.iter().enumerate().map(|(i, c)| (c.item, i)).collect();
        let mut by_skill: HashMap<ItemId, Vec<usize>> = HashMap::new();
        for (i, c) in certifications.iter().enumerate() {
            for s in &c.skills {
                by_skill.entry(s.item).or_default().push(i);
            }
        }
        let training = TrainingCatalogue {
            certifications,
            by_item,
            by_skill,
            item_count,
            catalogue_checksum: catalogue.checksum.clone(),
            operator_file: operator.map(|(n, _)| n.to_string()),
        };
        Ok((training, issues))
    }

    /// All certifications, in the ROME item order.
    pub fn certifications(&self) -> &[Certification] {
        &self.certifications
    }

    /// Index (into [`TrainingCatalogue::certifications`]) of the certification behind a ROME
    /// item, if the item is one.
    pub fn index_of(&self, item: ItemId) -> Option<usize> {
        self.by_item.get(&item).copied()
    }

    /// The certification behind a ROME item, if the item is one.
    pub fn certification(&self, item: ItemId) -> Option<&Certification> {
        self.by_item.get(&item).map(|&i| &self.certifications[i])
    }

    /// The co-occurrence figures of `skill` for `cert` whether or not they reach the
    /// attribution thresholds: `support` is the share in [0, 1] of the certification's
    /// occupations that list the skill, `specificity` the share in [0, 1] of the occupations
    /// listing the skill that list the certification (0 and 0 for a certification no
    /// occupation lists). Used for a qualification the target's fiche lists, which the
    /// planner takes to develop the target's skills whatever these figures are.
    pub fn estimate(&self, catalogue: &Catalogue, cert: &Certification, skill: ItemId) -> SkillEstimate {
        let k = cert
            .leads_to
            .iter()
            .filter(|&&o| catalogue.occupation(o).items.binary_search_by_key(&skill, |l| l.item).is_ok())
            .count() as f64;
        let listing = f64::from(self.item_count.get(skill.0 as usize).copied().unwrap_or(0));
        SkillEstimate {
            item: skill,
            support: if cert.leads_to.is_empty() { 0.0 } else { k / cert.leads_to.len() as f64 },
            specificity: if listing > 0.0 { k / listing } else { 0.0 },
        }
    }

    /// Indices (into [`TrainingCatalogue::certifications`]) of the certifications that
    /// develop `skill`.
    pub fn developing(&self, skill: ItemId) -> &[usize] {
        self.by_skill.get(&skill).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_at_the_start_of_a_cost() {
        assert_eq!(leading_number("132 (TTC, inter); 720 TTC intra-group"), Some(132.0));
        assert_eq!(leading_number("600-2000"), Some(1300.0));
        assert_eq!(leading_number("25.5 EUR/h"), Some(25.5));
        assert_eq!(leading_number(""), None);
        assert_eq!(leading_number("not found"), None);
    }

    /// A rule's level needs its basis, and a basis needs a level; the last rule must match
    /// every label.
    #[test]
    fn rules_give_each_level_its_basis() {
        const HEADER: &str = "kind,label_pattern,level,level_basis,hours,basis,note\n";
        let rules =
            load_rules(&format!("{HEADER}BTS,^BTS\\b,5,sourced,1350,assumption,n\n(unknown),.*,,,400,assumption,n\n"))
                .expect("valid");
        assert_eq!(
            (rules[0].level, rules[0].basis, rules[1].level),
            (Some((5, Basis::Sourced)), Basis::Assumption, None)
        );
        let err = |text: &str| load_rules(&format!("{HEADER}{text}")).expect_err("refused").to_string();
        for (rows, expected) in [
            ("BTS,^BTS,5,,1350,assumption,n\n", "line 2: level_basis ``"),
            ("CQP,^CQP,,sourced,300,assumption,n\n", "line 2: level_basis `sourced` without a level"),
            ("BTS,^BTS,5,sourced,1350,assumption,n\n", "the last rule must match every label"),
        ] {
            let e = err(rows);
            assert!(e.contains(expected), "{e}");
        }
    }

    #[test]
    fn labels_are_classified() {
        use CertificationClass::*;
        assert_eq!(
            classify("Autorisation d'intervention à proximité des réseaux (AIPR)"),
            (Authorisation, Some(Regulated::Aipr))
        );
        assert_eq!(classify("H0B0 Habilitation électrique"), (Authorisation, Some(Regulated::ElectricalHabilitation)));
        assert_eq!(classify("CACES Nacelle 3B R486"), (Authorisation, Some(Regulated::CacesR486)));
        assert_eq!(
            classify("Plates-formes élévatrices mobiles de personnel (CACES R 486) - Depuis le 01/01/2020"),
            (Authorisation, Some(Regulated::CacesR486))
        );
        assert_eq!(classify("Chariots élévateurs en porte-à-faux (CACES R 389-3)"), (Authorisation, None));
        assert_eq!(classify("CQP laveur de vitres spécialisé travaux en hauteur"), (Qualification, None));
        assert_eq!(classify("CQP monteur raccordeur fibre optique"), (Qualification, None));
    }
}
