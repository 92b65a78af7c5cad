//! The ROME 4.0 catalogue: occupations (fiches métiers), items (savoir-faire, savoir-être,
//! savoirs, certifications, work contexts), occupation → item links with their core flag,
//! the occupation hierarchy, France Travail's curated mobilities, and what describes each
//! occupation beyond its items (definition and access texts, appellations, sectors of
//! activity, themes, executive status), which the model compares between occupations.
//!
//! Source: France Travail, Répertoire opérationnel des métiers et des emplois (ROME) 4.0,
//! open-data export "Toutes les données du ROME" (Licence Ouverte / Etalab 2.0).
//!
//! Every row is validated on load; a malformed row is a [`DataError::BadRow`] naming the
//! file and the line. Nothing is dropped silently. Codes are interned to dense ids
//! ([`OccupationId`], [`ItemId`]) so the request path works on integers.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::csv_rows::CsvRows;
use crate::error::DataError;

/// File names of the ROME export this loader reads (same names in every published version,
/// with the version number in them).
pub const ROME_FILES: [&str; 10] = [
    FILE_OCCUPATIONS,
    FILE_HIERARCHY,
    FILE_ITEMS,
    FILE_SAVOIRS,
    FILE_LINKS,
    FILE_MOBILITIES,
    FILE_APPELLATIONS,
    FILE_TEXTS,
    FILE_SECTORS,
    FILE_THEMES,
];
/// `unix_referentiel_code_rome`: 1,584 occupations in v460.
pub const FILE_OCCUPATIONS: &str = "unix_referentiel_code_rome_v460_utf8.csv";
/// `unix_cr_gd_dp`: occupation → grand domaine and domaine professionnel.
pub const FILE_HIERARCHY: &str = "unix_cr_gd_dp_v460_utf8.csv";
/// `unix_item`: 33,850 items with their rubrique.
pub const FILE_ITEMS: &str = "unix_item_v460_utf8.csv";
/// `unix_referentiel_savoir`: knowledge items with their category (certifications).
pub const FILE_SAVOIRS: &str = "unix_referentiel_savoir_v460_utf8.csv";
/// `unix_coherence_item`: 104,219 occupation → item links with `coeur_metier`.
pub const FILE_LINKS: &str = "unix_coherence_item_v460_utf8.csv";
/// `unix_rubrique_mobilite`: 14,912 curated mobilities.
pub const FILE_MOBILITIES: &str = "unix_rubrique_mobilite_v460_utf8.csv";

/// `unix_referentiel_appellation`: 13,120 job titles (appellations) → `code_rome` in v460.
pub const FILE_APPELLATIONS: &str = "unix_referentiel_appellation_v460_utf8.csv";
/// `unix_texte`: the sentences of each occupation's definition (`code_compo_bloc` 3) and
/// access text (`acces_metier`, bloc 4): 11,980 in v460.
pub const FILE_TEXTS: &str = "unix_texte_v460_utf8.csv";
/// `unix_arborescence_secteur_activite`: occupation → sector and sub-sector of activity,
/// one marked `principal`: 3,303 rows in v460.
pub const FILE_SECTORS: &str = "unix_arborescence_secteur_activite_v460_utf8.csv";
/// `unix_arborescence_thematique`: occupation → theme (e.g. "Métiers de l'environnement et du
/// développement durable"): 1,348 rows in v460 (895 occupations have one or more).
pub const FILE_THEMES: &str = "unix_arborescence_thematique_v460_utf8.csv";

/// The `categorie_savoir` value that marks certifications and habilitations.
const CERTIFICATION_CATEGORY: &str = "Certifications et habilitations";

/// Dense index of an occupation in [`Catalogue::occupations`] (0..1584 for v460).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OccupationId(pub u32);

/// Dense index of an item in [`Catalogue::items`] (0..33850 for v460).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(pub u32);

/// What kind of item a `code_ogr` is, from `code_rubrique` (1, 2, 3, empty) and, for
/// savoirs, the category `Certifications et habilitations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// Savoir-faire (rubrique 1): a practical skill.
    SavoirFaire,
    /// Savoir-être professionnel (rubrique 2): a soft skill.
    SavoirEtre,
    /// Savoir (rubrique 3): knowledge, other than certifications.
    Savoir,
    /// A savoir whose category is "Certifications et habilitations" (diploma, titre
    /// professionnel, CQP, habilitation, CACES…).
    Certification,
    /// Work context (empty rubrique): conditions, places, schedules.
    WorkContext,
}

impl ItemKind {
    /// All kinds, in a fixed order used by the features.
    pub const ALL: [ItemKind; 5] =
        [ItemKind::SavoirFaire, ItemKind::SavoirEtre, ItemKind::Savoir, ItemKind::Certification, ItemKind::WorkContext];

    /// Position of the kind in [`ItemKind::ALL`].
    pub fn index(self) -> usize {
        match self {
            ItemKind::SavoirFaire => 0,
            ItemKind::SavoirEtre => 1,
            ItemKind::Savoir => 2,
            ItemKind::Certification => 3,
            ItemKind::WorkContext => 4,
        }
    }
}

/// How central an item is to an occupation (`coeur_metier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relevance {
    /// `Principale`: a core item of the occupation.
    Core,
    /// `Émergente`: an emerging item.
    Emerging,
    /// Empty: an ordinary item.
    Other,
}

/// One item of the ROME (a `code_ogr`).
#[derive(Debug, Clone)]
pub struct Item {
    /// `code_ogr`, France Travail's item identifier.
    pub code: u32,
    /// Label in French.
    pub label: String,
    /// Kind of item.
    pub kind: ItemKind,
}

/// One occupation → item link.
#[derive(Debug, Clone, Copy)]
pub struct OccupationItem {
    /// The item.
    pub item: ItemId,
    /// Its relevance for the occupation.
    pub relevance: Relevance,
}

/// One occupation (fiche métier) of the ROME.
#[derive(Debug, Clone)]
pub struct Occupation {
    /// ROME code, e.g. `I1315`.
    pub code: String,
    /// Label, e.g. "Monteur raccordeur / Monteuse raccordeuse fibre optique".
    pub label: String,
    /// `transition_num`: `Some(true)` for "O", `Some(false)` for "N", `None` when empty.
    pub transition_num: Option<bool>,
    /// `code_rome_parent`: the ROME v3 code the fiche came from (e.g. `I1307`).
    pub rome_v3_parent: String,
    /// Grand domaine letter (e.g. `I`), from `unix_cr_gd_dp`.
    pub grand_domaine: String,
    /// Domaine professionnel (e.g. `I13`), from `unix_cr_gd_dp`.
    pub domaine: String,
    /// Linked items, sorted by [`ItemId`], no duplicates.
    pub items: Vec<OccupationItem>,
    /// `emploi_cadre`: `Some(true)` for "O" (an executive, *cadre*, occupation), `Some(false)`
    /// for "N", `None` when empty (198 occupations in v460).
    pub emploi_cadre: Option<bool>,
    /// What describes the occupation beyond its items (texts, titles, sectors, themes).
    pub description: Description,
}

/// What describes an occupation beyond its items, from four files of the export. Every code
/// list is sorted and without duplicates; a field is empty when the export gives nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Description {
    /// The definition's sentences (`unix_texte`, `definition`), in `position_phrase` order,
    /// joined by spaces.
    pub definition: String,
    /// The access text's sentences (`acces_metier`: diplomas, experience, licences asked),
    /// in order, joined by spaces.
    pub access: String,
    /// `code_sect_activite` of every sector of activity the occupation belongs to.
    pub sectors: Vec<u32>,
    /// The sectors marked `principal = oui` (one per occupation in v460).
    pub main_sectors: Vec<u32>,
    /// `code_ss_sect_activite` of its sub-sectors (many rows have none).
    pub sub_sectors: Vec<u32>,
    /// `code_theme` of its themes (`unix_arborescence_thematique`).
    pub themes: Vec<u32>,
}

/// One ROME appellation (job title) of an occupation, from `unix_referentiel_appellation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appellation {
    /// The appellation's `code_ogr`.
    pub code_ogr: u32,
    /// `libelle_appellation_long`, e.g. "Monteur raccordeur / Monteuse raccordeuse fibre optique".
    pub label: String,
    /// Its occupation.
    pub occupation: OccupationId,
}

/// A curated mobility `code_rome` → `code_rome_cible` of `unix_rubrique_mobilite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mobility {
    /// Source occupation.
    pub source: OccupationId,
    /// Target occupation.
    pub target: OccupationId,
    /// `numero_ordre`: 1 = closest.
    pub order: u16,
}

/// The loaded ROME catalogue, validated and interned. Immutable once built.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// Occupations in file order.
    pub occupations: Vec<Occupation>,
    /// Items in file order.
    pub items: Vec<Item>,
    /// Curated mobilities in file order.
    pub mobilities: Vec<Mobility>,
    /// Appellations (job titles) in file order: the model compares their words between
    /// occupations, and text search indexes them.
    pub appellations: Vec<Appellation>,
    /// SHA-256 (hex) over the ten source files, in [`ROME_FILES`] order: identifies the data
    /// a model was trained on.
    pub checksum: String,
    occupation_by_code: HashMap<String, OccupationId>,
    item_by_code: HashMap<u32, ItemId>,
}

/// The raw bytes of the ten ROME files, from a folder or embedded in the binary.
pub struct RomeFiles<'a> {
    /// `(file name, content)` pairs; must contain every name of [`ROME_FILES`].
    pub files: Vec<(&'static str, std::borrow::Cow<'a, [u8]>)>,
}

impl RomeFiles<'static> {
    /// Reads the ten files from `dir` (same layout as France Travail's export).
    ///
    /// # Errors
    /// [`DataError::Io`] naming the first file that cannot be read.
    pub fn read_dir(dir: &Path) -> Result<Self, DataError> {
        let mut files = Vec::with_capacity(ROME_FILES.len());
        for name in ROME_FILES {
            let path = dir.join(name);
            let bytes = std::fs::read(&path).map_err(|source| DataError::Io { file: path, source })?;
            files.push((name, std::borrow::Cow::Owned(bytes)));
        }
        Ok(RomeFiles { files })
    }
}

impl RomeFiles<'_> {
    fn get(&self, name: &'static str) -> Result<&[u8], DataError> {
        self.files.iter().find(|(n, _)| *n == name).map(|(_, b)| b.as_ref()).ok_or_else(|| DataError::Invalid {
            file: name.to_string(),
            reason: "file missing from the export".to_string(),
        })
    }
}

impl Catalogue {
    /// Loads and validates a ROME export from a folder laid out like France Travail's.
    ///
    /// # Errors
    /// [`DataError`] naming the file and line of the first malformed row.
    pub fn load_dir(dir: &Path) -> Result<Self, DataError> {
        Self::from_files(&RomeFiles::read_dir(dir)?)
    }

    /// Builds the catalogue from the raw bytes of the ten files.
    ///
    /// # Errors
    /// [`DataError`] naming the file and line of the first malformed row, or a whole-file
    /// problem (no occupation, a link to an unknown code…).
    pub fn from_files(files: &RomeFiles<'_>) -> Result<Self, DataError> {
        let mut hasher = Sha256::new();
        for name in ROME_FILES {
            hasher.update(files.get(name)?);
        }
        let checksum = hex(&hasher.finalize());

        let (mut occupations, occupation_by_code) = load_occupations(files.get(FILE_OCCUPATIONS)?)?;
        load_hierarchy(files.get(FILE_HIERARCHY)?, &mut occupations, &occupation_by_code)?;
        let certifications = load_certification_codes(files.get(FILE_SAVOIRS)?)?;
        let (items, item_by_code) = load_items(files.get(FILE_ITEMS)?, &certifications)?;
        load_links(files.get(FILE_LINKS)?, &mut occupations, &occupation_by_code, &item_by_code)?;
        let mobilities = load_mobilities(files.get(FILE_MOBILITIES)?, &occupation_by_code)?;
        let appellations = load_appellations(files.get(FILE_APPELLATIONS)?, &occupation_by_code)?;
        load_texts(files.get(FILE_TEXTS)?, &mut occupations, &occupation_by_code)?;
        load_sectors(files.get(FILE_SECTORS)?, &mut occupations, &occupation_by_code)?;
        load_themes(files.get(FILE_THEMES)?, &mut occupations, &occupation_by_code)?;

        Ok(Catalogue { occupations, items, mobilities, appellations, checksum, occupation_by_code, item_by_code })
    }

    /// The id of a ROME code (exact, upper-case), if known.
    pub fn occupation_id(&self, code: &str) -> Option<OccupationId> {
        self.occupation_by_code.get(code).copied()
    }

    /// The id of an item `code_ogr`, if known.
    pub fn item_id(&self, code: u32) -> Option<ItemId> {
        self.item_by_code.get(&code).copied()
    }

    /// The occupation behind an id. Ids come from this catalogue, so this cannot fail for
    /// them.
    pub fn occupation(&self, id: OccupationId) -> &Occupation {
        &self.occupations[id.0 as usize]
    }

    /// The item behind an id.
    pub fn item(&self, id: ItemId) -> &Item {
        &self.items[id.0 as usize]
    }

    /// Iterator over all occupation ids.
    pub fn occupation_ids(&self) -> impl Iterator<Item = OccupationId> + '_ {
        (0..self.occupations.len() as u32).map(OccupationId)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A CSV reader over one file that reports errors with file name and physical line
/// ([`CsvRows`]: right with CRLF endings and blank lines).
pub(crate) struct CsvFile<'a> {
    name: &'static str,
    rows: CsvRows<'a>,
    columns: Vec<usize>,
}

impl<'a> CsvFile<'a> {
    /// Opens `bytes` and locates the `wanted` columns in the header.
    pub(crate) fn open(name: &'static str, bytes: &'a [u8], wanted: &[&'static str]) -> Result<Self, DataError> {
        let mut rows = CsvRows::new(csv::ReaderBuilder::new().has_headers(true), bytes);
        let header = rows.headers().map_err(|e| DataError::BadRow {
            file: name.to_string(),
            line: 1,
            reason: format!("unreadable header: {e}"),
        })?;
        let header: Vec<String> = header.iter().map(|h| h.trim_start_matches('\u{feff}').to_string()).collect();
        let mut columns = Vec::with_capacity(wanted.len());
        for column in wanted {
            let pos = header
                .iter()
                .position(|h| h == column)
                .ok_or(DataError::MissingColumn { file: name.to_string(), column })?;
            columns.push(pos);
        }
        Ok(CsvFile { name, rows, columns })
    }

    /// Visits every record with its line number and the wanted fields, in order. The first
    /// unreadable record (a field count other than the header's, invalid UTF-8) or refused
    /// one is the error.
    pub(crate) fn for_each(
        mut self,
        mut visit: impl FnMut(u64, &[&str]) -> Result<(), String>,
    ) -> Result<(), DataError> {
        let bad = |line, reason| DataError::BadRow { file: self.name.to_string(), line, reason };
        while let Some((line, record)) = self.rows.next_row() {
            let record = record.map_err(|reason| bad(line, reason))?;
            let mut fields: Vec<&str> = Vec::with_capacity(self.columns.len());
            for &c in &self.columns {
                match record.get(c) {
                    Some(f) => fields.push(f),
                    None => {
                        return Err(bad(line, format!("expected at least {} fields, found {}", c + 1, record.len())))
                    }
                }
            }
            visit(line, &fields).map_err(|reason| bad(line, reason))?;
        }
        Ok(())
    }
}

/// A ROME code is one letter A–N followed by four digits.
pub fn is_rome_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 5 && (b'A'..=b'N').contains(&b[0]) && b[1..].iter().all(u8::is_ascii_digit)
}

fn rome_code(field: &str, what: &str) -> Result<String, String> {
    if is_rome_code(field) {
        Ok(field.to_string())
    } else {
        Err(format!("{what} `{field}` is not a ROME code (letter A-N and four digits)"))
    }
}

/// A `code_ogr`: ASCII digits only (a sign or a space is refused).
fn ogr_code(field: &str, what: &str) -> Result<u32, String> {
    digits(field).ok_or_else(|| format!("{what} `{field}` is not a numeric code_ogr"))
}

fn load_occupations(bytes: &[u8]) -> Result<(Vec<Occupation>, HashMap<String, OccupationId>), DataError> {
    let file = CsvFile::open(
        FILE_OCCUPATIONS,
        bytes,
        &["code_rome", "libelle_rome", "transition_num", "code_rome_parent", "emploi_cadre"],
    )?;
    let mut occupations = Vec::new();
    let mut by_code = HashMap::new();
    file.for_each(|_, f| {
        let code = rome_code(f[0], "code_rome")?;
        let label = f[1].trim();
        if label.is_empty() {
            return Err(format!("empty libelle_rome for {code}"));
        }
        let transition_num = match f[2] {
            "O" => Some(true),
            "N" => Some(false),
            "" => None,
            other => return Err(format!("transition_num `{other}` is not O, N or empty")),
        };
        let parent = rome_code(f[3], "code_rome_parent")?;
        let emploi_cadre = match f[4] {
            "O" => Some(true),
            "N" => Some(false),
            "" => None,
            other => return Err(format!("emploi_cadre `{other}` is not O, N or empty")),
        };
        let id = OccupationId(occupations.len() as u32);
        if by_code.insert(code.clone(), id).is_some() {
            return Err(format!("duplicate code_rome {code}"));
        }
        occupations.push(Occupation {
            code,
            label: label.to_string(),
            transition_num,
            rome_v3_parent: parent,
            grand_domaine: String::new(),
            domaine: String::new(),
            items: Vec::new(),
            emploi_cadre,
            description: Description::default(),
        });
        Ok(())
    })?;
    if occupations.is_empty() {
        return Err(DataError::Invalid { file: FILE_OCCUPATIONS.to_string(), reason: "no occupation".to_string() });
    }
    Ok((occupations, by_code))
}

fn load_hierarchy(
    bytes: &[u8],
    occupations: &mut [Occupation],
    by_code: &HashMap<String, OccupationId>,
) -> Result<(), DataError> {
    let file = CsvFile::open(FILE_HIERARCHY, bytes, &["code_rome", "code_grand_domaine", "code_domaine_professionel"])?;
    let mut first_line = HashMap::new();
    file.for_each(|line, f| {
        let id = occupation_of(by_code, f[0])?;
        // A second row silently replaced the first one's domaine.
        if let Some(first) = first_line.insert(id, line) {
            return Err(format!("duplicate code_rome {} (first on line {first})", f[0]));
        }
        let (gd, dp) = (f[1], f[2]);
        if gd.len() != 1 || !dp.starts_with(gd) || dp.len() != 3 {
            return Err(format!("inconsistent hierarchy: grand domaine `{gd}`, domaine `{dp}`"));
        }
        let occ = &mut occupations[id.0 as usize];
        occ.grand_domaine = gd.to_string();
        occ.domaine = dp.to_string();
        Ok(())
    })?;
    if let Some(missing) = occupations.iter().find(|o| o.domaine.is_empty()) {
        return Err(DataError::Invalid {
            file: FILE_HIERARCHY.to_string(),
            reason: format!("occupation {} has no hierarchy row", missing.code),
        });
    }
    Ok(())
}

fn load_certification_codes(bytes: &[u8]) -> Result<std::collections::HashSet<u32>, DataError> {
    let file = CsvFile::open(FILE_SAVOIRS, bytes, &["code_ogr_savoir", "categorie_savoir"])?;
    let mut set = std::collections::HashSet::new();
    let mut first_line = HashMap::new();
    file.for_each(|line, f| {
        let code = ogr_code(f[0], "code_ogr_savoir")?;
        // Two rows of one code may disagree on the category; either made it a certification.
        if let Some(first) = first_line.insert(code, line) {
            return Err(format!("duplicate code_ogr_savoir {code} (first on line {first})"));
        }
        if f[1] == CERTIFICATION_CATEGORY {
            set.insert(code);
        }
        Ok(())
    })?;
    // Without a row no item is a certification: no training plan could ever be made.
    require_rows(FILE_SAVOIRS, first_line.len())?;
    Ok(set)
}

fn load_items(
    bytes: &[u8],
    certifications: &std::collections::HashSet<u32>,
) -> Result<(Vec<Item>, HashMap<u32, ItemId>), DataError> {
    let file = CsvFile::open(FILE_ITEMS, bytes, &["code_ogr", "libelle", "code_rubrique"])?;
    let mut items = Vec::new();
    let mut by_code = HashMap::new();
    file.for_each(|_, f| {
        let code = ogr_code(f[0], "code_ogr")?;
        let kind = match f[2] {
            "1" => ItemKind::SavoirFaire,
            "2" => ItemKind::SavoirEtre,
            "3" if certifications.contains(&code) => ItemKind::Certification,
            "3" => ItemKind::Savoir,
            "" => ItemKind::WorkContext,
            other => return Err(format!("code_rubrique `{other}` is not 1, 2, 3 or empty")),
        };
        let label = f[1].trim();
        if label.is_empty() {
            return Err(format!("empty libelle for item {code}"));
        }
        let id = ItemId(items.len() as u32);
        if by_code.insert(code, id).is_some() {
            return Err(format!("duplicate code_ogr {code}"));
        }
        items.push(Item { code, label: label.to_string(), kind });
        Ok(())
    })?;
    Ok((items, by_code))
}

fn load_links(
    bytes: &[u8],
    occupations: &mut [Occupation],
    occ_by_code: &HashMap<String, OccupationId>,
    item_by_code: &HashMap<u32, ItemId>,
) -> Result<(), DataError> {
    let file = CsvFile::open(FILE_LINKS, bytes, &["code_rome", "code_ogr", "coeur_metier"])?;
    file.for_each(|_, f| {
        let occ = occupation_of(occ_by_code, f[0])?;
        let code = ogr_code(f[1], "code_ogr")?;
        let item = *item_by_code.get(&code).ok_or_else(|| format!("code_ogr {code} is not in {FILE_ITEMS}"))?;
        let relevance = match f[2] {
            "Principale" => Relevance::Core,
            "Émergente" | "Emergente" => Relevance::Emerging,
            "" => Relevance::Other,
            other => return Err(format!("coeur_metier `{other}` is not Principale, Émergente or empty")),
        };
        let items = &mut occupations[occ.0 as usize].items;
        if items.iter().any(|l| l.item == item) {
            return Err(format!("duplicate link {} → {code}", f[0]));
        }
        items.push(OccupationItem { item, relevance });
        Ok(())
    })?;
    for occ in occupations.iter_mut() {
        occ.items.sort_by_key(|l| l.item);
    }
    if let Some(empty) = occupations.iter().find(|o| o.items.is_empty()) {
        return Err(DataError::Invalid {
            file: FILE_LINKS.to_string(),
            reason: format!("occupation {} has no item", empty.code),
        });
    }
    Ok(())
}

/// Refuses a file that has its header but no row: an export without any mobility, text,
/// sector, theme or job title is truncated, and the model's features would silently be 0.
fn require_rows(file: &'static str, rows: usize) -> Result<(), DataError> {
    if rows == 0 {
        return Err(DataError::Invalid { file: file.to_string(), reason: "no row after the header".to_string() });
    }
    Ok(())
}

/// The occupation of a `code_rome` field, or the row's error.
fn occupation_of(by_code: &HashMap<String, OccupationId>, code: &str) -> Result<OccupationId, String> {
    by_code.get(code).copied().ok_or_else(|| format!("code_rome `{code}` is not in {FILE_OCCUPATIONS}"))
}

/// The appellation file: a numeric `code_ogr` not seen before, a non-empty
/// `libelle_appellation_long`, a known `code_rome`; at least one row.
fn load_appellations(bytes: &[u8], by_code: &HashMap<String, OccupationId>) -> Result<Vec<Appellation>, DataError> {
    let file = CsvFile::open(FILE_APPELLATIONS, bytes, &["code_ogr", "libelle_appellation_long", "code_rome"])?;
    let mut out = Vec::with_capacity(13_200);
    let mut seen = std::collections::HashSet::new();
    file.for_each(|_, f| {
        let code_ogr = ogr_code(f[0], "code_ogr")?;
        if !seen.insert(code_ogr) {
            return Err(format!("duplicate code_ogr {code_ogr}"));
        }
        let label = f[1].trim();
        if label.is_empty() {
            return Err("empty libelle_appellation_long".to_string());
        }
        let occupation = occupation_of(by_code, f[2])?;
        out.push(Appellation { code_ogr, label: label.to_string(), occupation });
        Ok(())
    })?;
    require_rows(FILE_APPELLATIONS, out.len())?;
    Ok(out)
}

/// Definition and access sentences: `code_compo_bloc` 3 with `definition`, 4 with
/// `acces_metier`, a positive `position_phrase` unique per occupation and text.
fn load_texts(
    bytes: &[u8],
    occupations: &mut [Occupation],
    by_code: &HashMap<String, OccupationId>,
) -> Result<(), DataError> {
    let file = CsvFile::open(
        FILE_TEXTS,
        bytes,
        &["code_rome", "code_compo_bloc", "libelle_type_texte", "position_phrase", "libelle_texte"],
    )?;
    // (occupation, access?, position) → sentence.
    let mut sentences: std::collections::BTreeMap<(usize, bool, u32), String> = std::collections::BTreeMap::new();
    file.for_each(|_, f| {
        let o = occupation_of(by_code, f[0])?.0 as usize;
        let access = match (f[1], f[2]) {
            ("3", "definition") => false,
            ("4", "acces_metier") => true,
            (bloc, kind) => {
                return Err(format!(
                    "code_compo_bloc `{bloc}` with libelle_type_texte `{kind}`: expected 3 with definition or 4 with acces_metier"
                ))
            }
        };
        let position = digits(f[3])
            .filter(|p| *p >= 1)
            .ok_or_else(|| format!("position_phrase `{}` is not a positive integer", f[3]))?;
        if sentences.insert((o, access, position), f[4].trim().to_string()).is_some() {
            return Err(format!("duplicate sentence {position} of the {} of {}", f[2], f[0]));
        }
        Ok(())
    })?;
    require_rows(FILE_TEXTS, sentences.len())?;
    for ((o, access, _), sentence) in sentences {
        let text =
            if access { &mut occupations[o].description.access } else { &mut occupations[o].description.definition };
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&sentence);
    }
    Ok(())
}

/// A field of ASCII digits only (no sign, no space: `u32::from_str` alone would read `+145`
/// as 145), if it fits a `u32`.
fn digits(field: &str) -> Option<u32> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    field.parse::<u32>().ok()
}

/// A numeric code field of the descriptive files: ASCII digits only (`001` reads as 1).
fn numeric_code(field: &str, what: &str) -> Result<u32, String> {
    digits(field).ok_or_else(|| format!("{what} `{field}` is not a numeric code"))
}

/// Sorts and removes duplicates.
fn sorted_set(v: &mut Vec<u32>) {
    v.sort_unstable();
    v.dedup();
}

/// Sectors and sub-sectors of activity: numeric codes (an empty sub-sector is allowed),
/// `principal` is `oui` or `non`, and no (occupation, sector, sub-sector) row twice.
fn load_sectors(
    bytes: &[u8],
    occupations: &mut [Occupation],
    by_code: &HashMap<String, OccupationId>,
) -> Result<(), DataError> {
    let file =
        CsvFile::open(FILE_SECTORS, bytes, &["code_rome", "code_sect_activite", "code_ss_sect_activite", "principal"])?;
    let mut seen: std::collections::HashSet<(usize, u32, Option<u32>)> = std::collections::HashSet::new();
    file.for_each(|_, f| {
        let o = occupation_of(by_code, f[0])?.0 as usize;
        let sector = numeric_code(f[1], "code_sect_activite")?;
        let sub = if f[2].is_empty() { None } else { Some(numeric_code(f[2], "code_ss_sect_activite")?) };
        let main = match f[3] {
            "oui" => true,
            "non" => false,
            other => return Err(format!("principal `{other}` is not oui or non")),
        };
        if !seen.insert((o, sector, sub)) {
            return Err(format!("duplicate row: {} already has sector {} with sub-sector `{}`", f[0], f[1], f[2]));
        }
        let d = &mut occupations[o].description;
        d.sectors.push(sector);
        if main {
            d.main_sectors.push(sector);
        }
        d.sub_sectors.extend(sub);
        Ok(())
    })?;
    require_rows(FILE_SECTORS, seen.len())?;
    for occ in occupations.iter_mut() {
        let d = &mut occ.description;
        sorted_set(&mut d.sectors);
        sorted_set(&mut d.main_sectors);
        sorted_set(&mut d.sub_sectors);
    }
    Ok(())
}

/// Themes: a numeric `code_theme` (`001`) per row, no (occupation, theme) row twice.
fn load_themes(
    bytes: &[u8],
    occupations: &mut [Occupation],
    by_code: &HashMap<String, OccupationId>,
) -> Result<(), DataError> {
    let file = CsvFile::open(FILE_THEMES, bytes, &["code_rome", "code_theme"])?;
    let mut seen: std::collections::HashSet<(usize, u32)> = std::collections::HashSet::new();
    file.for_each(|_, f| {
        let o = occupation_of(by_code, f[0])?.0 as usize;
        let theme = numeric_code(f[1], "code_theme")?;
        if !seen.insert((o, theme)) {
            return Err(format!("duplicate row: {} already has theme {}", f[0], f[1]));
        }
        occupations[o].description.themes.push(theme);
        Ok(())
    })?;
    require_rows(FILE_THEMES, seen.len())?;
    for occ in occupations.iter_mut() {
        sorted_set(&mut occ.description.themes);
    }
    Ok(())
}

fn load_mobilities(bytes: &[u8], by_code: &HashMap<String, OccupationId>) -> Result<Vec<Mobility>, DataError> {
    let file = CsvFile::open(FILE_MOBILITIES, bytes, &["code_rome", "code_rome_cible", "numero_ordre"])?;
    let mut mobilities = Vec::new();
    let mut seen = std::collections::HashSet::new();
    file.for_each(|_, f| {
        let source = occupation_of(by_code, f[0])?;
        let target =
            *by_code.get(f[1]).ok_or_else(|| format!("code_rome_cible `{}` is not in {FILE_OCCUPATIONS}", f[1]))?;
        if source == target {
            return Err(format!("mobility from {} to itself", f[0]));
        }
        let order = digits(f[2])
            .and_then(|o| u16::try_from(o).ok())
            .filter(|o| *o >= 1)
            .ok_or_else(|| format!("numero_ordre `{}` is not a positive integer", f[2]))?;
        if !seen.insert((source, target)) {
            return Err(format!("duplicate mobility {} → {}", f[0], f[1]));
        }
        mobilities.push(Mobility { source, target, order });
        Ok(())
    })?;
    // Without any curated mobility there is nothing to learn and no mobility evidence.
    require_rows(FILE_MOBILITIES, mobilities.len())?;
    Ok(mobilities)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::tiny_files;

    #[test]
    fn tiny_fixture_loads_with_kinds_core_flags_and_hierarchy() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture loads");
        assert_eq!(cat.occupations.len(), 3);
        let a = cat.occupation(cat.occupation_id("A1001").expect("A1001"));
        assert_eq!(a.domaine, "A10");
        assert_eq!(a.transition_num, Some(true));
        assert_eq!(a.items.len(), 3);
        let cert = cat.item(cat.item_id(13).expect("item 13"));
        assert_eq!(cert.kind, ItemKind::Certification);
        assert_eq!(cat.item(cat.item_id(12).expect("item 12")).kind, ItemKind::Savoir);
        assert_eq!(cat.item(cat.item_id(14).expect("item 14")).kind, ItemKind::WorkContext);
        let core = a.items.iter().filter(|l| l.relevance == Relevance::Core).count();
        assert_eq!(core, 1);
        assert_eq!(cat.mobilities.len(), 2);
    }

    #[test]
    fn bad_row_names_file_and_line() {
        let mut files = tiny_files();
        let links =
            "\"code_rome\",\"code_ogr\",\"coeur_metier\"\n\"A1001\",\"10\",\"Principale\"\n\"A1001\",\"abc\",\"\"\n";
        replace(&mut files, FILE_LINKS, links);
        let err = Catalogue::from_files(&files).expect_err("bad code_ogr refused");
        assert_eq!(
            err.to_string(),
            "unix_coherence_item_v460_utf8.csv: line 3: code_ogr `abc` is not a numeric code_ogr"
        );
    }

    /// The csv crate's own line counts CRLF endings and skipped blank lines wrongly
    /// (rust-csv #395): the line named is the physical line of the file.
    #[test]
    fn crlf_endings_and_blank_lines_do_not_shift_the_line_named() {
        // Line 1 header, 2 a link, 3 blank, 4 a link, 5 the bad row.
        let bad_code = "code_rome,code_ogr,coeur_metier\r\nA1001,10,Principale\r\n\r\nA1001,11,\r\nA1001,abc,\r\n";
        // Line 4 has two fields where the header has three.
        let ragged = "code_rome,code_ogr,coeur_metier\r\nA1001,10,Principale\r\n\r\nA1001,11\r\n";
        for (links, want) in [
            (bad_code, "unix_coherence_item_v460_utf8.csv: line 5: code_ogr `abc` is not a numeric code_ogr"),
            (ragged, "unix_coherence_item_v460_utf8.csv: line 4: 2 fields where the header has 3"),
        ] {
            let mut files = tiny_files();
            replace(&mut files, FILE_LINKS, links);
            let err = Catalogue::from_files(&files).expect_err("bad row refused");
            assert_eq!(err.to_string(), want);
        }
    }

    /// An invalid UTF-8 byte is the error of its row, naming the line and the field.
    #[test]
    fn invalid_utf8_names_its_line_and_field() {
        let mut files = tiny_files();
        let items = b"code_rome,code_ogr,coeur_metier\r\nA1001,10,Principale\r\n\r\nA1001,11,Principal\xFF\r\n";
        for (n, bytes) in files.files.iter_mut() {
            if *n == FILE_LINKS {
                *bytes = std::borrow::Cow::Owned(items.to_vec());
            }
        }
        let err = Catalogue::from_files(&files).expect_err("invalid UTF-8 refused");
        assert_eq!(
            err.to_string(),
            "unix_coherence_item_v460_utf8.csv: line 4: invalid UTF-8 in field \"coeur_metier\" (column 3)"
        );
    }

    #[test]
    fn unknown_reference_and_bad_flag_are_refused_with_line() {
        let mut files = tiny_files();
        let mob = "code_rome,code_rome_cible,numero_ordre\nA1001,A1002,1\nA1001,Z9999,2\n";
        replace(&mut files, FILE_MOBILITIES, mob);
        let err = Catalogue::from_files(&files).expect_err("unknown target refused");
        assert!(err.to_string().starts_with("unix_rubrique_mobilite_v460_utf8.csv: line 3:"), "{err}");

        let mut files = tiny_files();
        let links = "code_rome,code_ogr,coeur_metier\nA1001,10,Peut-être\n";
        replace(&mut files, FILE_LINKS, links);
        let err = Catalogue::from_files(&files).expect_err("bad coeur_metier refused");
        assert_eq!(
            err.to_string(),
            "unix_coherence_item_v460_utf8.csv: line 2: coeur_metier `Peut-être` is not Principale, Émergente or empty"
        );
    }

    #[test]
    fn ragged_row_and_missing_column_are_refused() {
        let mut files = tiny_files();
        replace(&mut files, FILE_MOBILITIES, "code_rome,code_rome_cible,numero_ordre\nA1001,A1002\n");
        let err = Catalogue::from_files(&files).expect_err("short row refused");
        assert!(err.to_string().contains("line 2"), "{err}");

        let mut files = tiny_files();
        replace(&mut files, FILE_MOBILITIES, "code_rome,cible,numero_ordre\n");
        let err = Catalogue::from_files(&files).expect_err("missing column refused");
        assert_eq!(err.to_string(), "unix_rubrique_mobilite_v460_utf8.csv: line 1: missing column `code_rome_cible`");
    }

    #[test]
    fn numero_ordre_must_be_plain_digits_from_1() {
        for bad in ["+6", "0", " 2", "-1", "70000", ""] {
            let mut files = tiny_files();
            let csv = format!("code_rome,code_rome_cible,numero_ordre\nA1001,A1002,{bad}\n");
            replace(&mut files, FILE_MOBILITIES, &csv);
            let err = Catalogue::from_files(&files).expect_err("bad numero_ordre refused");
            assert_eq!(
                err.to_string(),
                format!("unix_rubrique_mobilite_v460_utf8.csv: line 2: numero_ordre `{bad}` is not a positive integer"),
            );
        }
    }

    #[test]
    fn descriptions_load_in_sentence_order_with_sets_sorted() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture loads");
        let a = cat.occupation(cat.occupation_id("A1001").expect("A1001"));
        let b = cat.occupation(cat.occupation_id("A1002").expect("A1002"));
        let c = cat.occupation(cat.occupation_id("B2001").expect("B2001"));
        assert_eq!((a.emploi_cadre, b.emploi_cadre, c.emploi_cadre), (Some(true), Some(false), None));
        // A1002's sentences are given as 2 then 1.
        assert_eq!(b.description.definition, "Pose et raccorde des câbles.");
        assert_eq!(b.description.access, "Accessible avec un CAP ou un Bac.");
        assert_eq!(c.description.access, "");
        let titles: Vec<&str> =
            cat.appellations.iter().filter(|a| a.occupation.0 == 1).map(|a| a.label.as_str()).collect();
        assert_eq!(titles, ["Monteur câbleur", "Raccordeur"]);
        assert_eq!(a.description.sectors, [10, 20]);
        assert_eq!(a.description.main_sectors, [10]);
        assert_eq!(a.description.sub_sectors, [101]);
        assert!(b.description.sub_sectors.is_empty());
        assert_eq!(b.description.themes, [1, 2]);
        assert!(c.description.themes.is_empty());
    }

    #[test]
    fn bad_description_rows_are_refused_with_file_and_line() {
        let cases: [(&'static str, &'static str, &str); 7] = [
            (
                FILE_TEXTS,
                "code_rome,code_compo_bloc,libelle_type_texte,position_phrase,libelle_texte\nA1001,3,definition,1,x\nA1001,4,definition,2,y\n",
                "unix_texte_v460_utf8.csv: line 3: code_compo_bloc `4` with libelle_type_texte `definition`: expected 3 with definition or 4 with acces_metier",
            ),
            (
                FILE_TEXTS,
                "code_rome,code_compo_bloc,libelle_type_texte,position_phrase,libelle_texte\nA1001,3,definition,1,x\nA1001,3,definition,1,y\n",
                "unix_texte_v460_utf8.csv: line 3: duplicate sentence 1 of the definition of A1001",
            ),
            (
                FILE_TEXTS,
                "code_rome,code_compo_bloc,libelle_type_texte,position_phrase,libelle_texte\nA1001,3,definition,0,x\n",
                "unix_texte_v460_utf8.csv: line 2: position_phrase `0` is not a positive integer",
            ),
            (
                FILE_SECTORS,
                "code_sect_activite,code_ss_sect_activite,code_rome,principal\n10,,A1001,peut-être\n",
                "unix_arborescence_secteur_activite_v460_utf8.csv: line 2: principal `peut-être` is not oui or non",
            ),
            (
                FILE_SECTORS,
                "code_sect_activite,code_ss_sect_activite,code_rome,principal\n10,,Z9999,oui\n",
                "unix_arborescence_secteur_activite_v460_utf8.csv: line 2: code_rome `Z9999` is not in unix_referentiel_code_rome_v460_utf8.csv",
            ),
            (
                FILE_THEMES,
                "code_theme,code_rome\nabc,A1001\n",
                "unix_arborescence_thematique_v460_utf8.csv: line 2: code_theme `abc` is not a numeric code",
            ),
            (
                FILE_OCCUPATIONS,
                "code_rome,libelle_rome,transition_num,code_rome_parent,emploi_cadre\nA1001,Métier,O,A1001,Oui\n",
                "unix_referentiel_code_rome_v460_utf8.csv: line 2: emploi_cadre `Oui` is not O, N or empty",
            ),
        ];
        for (file, content, want) in cases {
            let mut files = tiny_files();
            replace(&mut files, file, content);
            let err = Catalogue::from_files(&files).expect_err("bad row refused");
            assert_eq!(err.to_string(), want);
        }
        let mut files = tiny_files();
        files.files.retain(|(n, _)| *n != FILE_THEMES);
        let err = Catalogue::from_files(&files).expect_err("missing file refused");
        assert_eq!(err.to_string(), "unix_arborescence_thematique_v460_utf8.csv: file missing from the export");
    }

    #[test]
    fn signed_codes_duplicate_rows_and_header_only_description_files_are_refused() {
        const TEXT_HEADER: &str = "code_rome,code_compo_bloc,libelle_type_texte,position_phrase,libelle_texte\n";
        const SECTOR_HEADER: &str = "code_sect_activite,code_ss_sect_activite,code_rome,principal\n";
        let cases: [(&'static str, &'static str, &str); 16] = [
            // A second hierarchy row replaced the first one's domaine; a second savoir row
            // could make an item a certification; a header alone made none.
            (
                FILE_HIERARCHY,
                "code_rome,code_grand_domaine,code_domaine_professionel\nA1001,A,A10\nA1002,A,A10\nB2001,B,B20\nA1001,B,B20\n",
                "unix_cr_gd_dp_v460_utf8.csv: line 5: duplicate code_rome A1001 (first on line 2)",
            ),
            (
                FILE_SAVOIRS,
                "code_ogr_savoir,categorie_savoir\n12,Domaines d'expertise\n12,Certifications et habilitations\n",
                "unix_referentiel_savoir_v460_utf8.csv: line 3: duplicate code_ogr_savoir 12 (first on line 2)",
            ),
            (
                FILE_SAVOIRS,
                "code_ogr_savoir,categorie_savoir\n",
                "unix_referentiel_savoir_v460_utf8.csv: no row after the header",
            ),
            // A file cut inside a quoted field (a truncated download) read as complete: the
            // cut record has the header's field count.
            (
                FILE_TEXTS,
                "\"code_rome\",\"code_compo_bloc\",\"libelle_type_texte\",\"position_phrase\",\"libelle_texte\"\n\
                 \"A1001\",\"3\",\"definition\",\"1\",\"Pose des câbles\"\n\"A1002\",\"3\",\"definition\",\"1\",\"Pose et rac",
                "unix_texte_v460_utf8.csv: line 3: a quoted field opened on line 3, the last line, is never closed: the file ends inside it (cut short?)",
            ),
            // `u32::from_str` alone reads `+145` as 145 and `+2` as 2.
            (
                FILE_SECTORS,
                "code_sect_activite,code_ss_sect_activite,code_rome,principal\n10,+145,A1001,oui\n",
                "unix_arborescence_secteur_activite_v460_utf8.csv: line 2: code_ss_sect_activite `+145` is not a numeric code",
            ),
            (
                FILE_TEXTS,
                "code_rome,code_compo_bloc,libelle_type_texte,position_phrase,libelle_texte\nA1001,3,definition,+2,x\n",
                "unix_texte_v460_utf8.csv: line 2: position_phrase `+2` is not a positive integer",
            ),
            (
                FILE_THEMES,
                "code_theme,code_rome\n 001,A1001\n",
                "unix_arborescence_thematique_v460_utf8.csv: line 2: code_theme ` 001` is not a numeric code",
            ),
            // The same row twice, and the same code written another way.
            (
                FILE_SECTORS,
                "code_sect_activite,code_ss_sect_activite,code_rome,principal\n10,101,A1001,oui\n20,,A1001,non\n10,101,A1001,oui\n",
                "unix_arborescence_secteur_activite_v460_utf8.csv: line 4: duplicate row: A1001 already has sector 10 with sub-sector `101`",
            ),
            (
                FILE_SECTORS,
                "code_sect_activite,code_ss_sect_activite,code_rome,principal\n20,,A1001,non\n020,,A1001,oui\n",
                "unix_arborescence_secteur_activite_v460_utf8.csv: line 3: duplicate row: A1001 already has sector 020 with sub-sector ``",
            ),
            (
                FILE_THEMES,
                "code_theme,code_rome\n001,A1001\n002,A1002\n1,A1001\n",
                "unix_arborescence_thematique_v460_utf8.csv: line 4: duplicate row: A1001 already has theme 1",
            ),
            (FILE_TEXTS, TEXT_HEADER, "unix_texte_v460_utf8.csv: no row after the header"),
            (FILE_SECTORS, SECTOR_HEADER, "unix_arborescence_secteur_activite_v460_utf8.csv: no row after the header"),
            (FILE_THEMES, "code_theme,code_rome\n", "unix_arborescence_thematique_v460_utf8.csv: no row after the header"),
            (
                FILE_MOBILITIES,
                "code_rome,code_rome_cible,numero_ordre\n",
                "unix_rubrique_mobilite_v460_utf8.csv: no row after the header",
            ),
            // The older files' code_ogr fields are plain digits too.
            (
                FILE_LINKS,
                "code_rome,code_ogr,coeur_metier\nA1001,+10,Principale\n",
                "unix_coherence_item_v460_utf8.csv: line 2: code_ogr `+10` is not a numeric code_ogr",
            ),
            (
                FILE_APPELLATIONS,
                "code_ogr,libelle_appellation_long,code_rome\n",
                "unix_referentiel_appellation_v460_utf8.csv: no row after the header",
            ),
        ];
        for (file, content, want) in cases {
            let mut files = tiny_files();
            replace(&mut files, file, content);
            let err = Catalogue::from_files(&files).expect_err("bad file refused");
            assert_eq!(err.to_string(), want);
        }
        // A zero-byte file has no header at all: its first wanted column is missing.
        let mut files = tiny_files();
        replace(&mut files, FILE_TEXTS, "");
        let err = Catalogue::from_files(&files).expect_err("empty file refused");
        assert_eq!(err.to_string(), "unix_texte_v460_utf8.csv: line 1: missing column `code_rome`");
    }

    fn replace(files: &mut RomeFiles<'static>, name: &'static str, content: &str) {
        for (n, bytes) in files.files.iter_mut() {
            if *n == name {
                *bytes = std::borrow::Cow::Owned(content.as_bytes().to_vec());
            }
        }
    }

    #[test]
    fn rome_code_shape() {
        assert!(is_rome_code("I1315"));
        assert!(!is_rome_code("i1315"));
        assert!(!is_rome_code("Z1315"));
        assert!(!is_rome_code("I131"));
        assert!(!is_rome_code("I13155"));
    }
}
