//! Labour-market tension: where employers are hiring, by occupation and area.
//!
//! Source: **Dares, Pôle emploi, indicateurs de tension, 2019** (Licence Ouverte), files
//! `data/dares-tensions/tensions.csv` and `fap225_rome.csv`. The indicators are given by
//! job family (FAP 2009, 225 families) at national, regional and departmental level: a
//! synthetic tension indicator (centred and reduced over 2014–2018), its category 1–5
//! (quintiles of 2014–2018: 1 = little tension, 5 = very strong tension) and six
//! complementary indicators, each a quintile 1–5 (5 = pushes tension up).
//!
//! # From FAP to ROME 4.0
//! `fap225_rome.csv` maps each FAP 225 family to ROME **v3** codes. A ROME 4.0 occupation
//! comes from one ROME v3 fiche, its `code_rome_parent` (`unix_referentiel_code_rome`),
//! so occupation → `code_rome_parent` → FAP families. When a v3 code belongs to several
//! families (201 of the 532 v3 codes are in two or three, e.g. F1602 électricité bâtiment
//! in B3Z20 and B4Z43), the family with the largest national employment (`Emploi moyen`,
//! 2019) is used, and the answer names it.
//!
//! # Messy rows, handled explicitly (and tested)
//! - `niveau_geo` is `nat`, `reg`, `reg ` (trailing space, 1,309 rows) or `dep`: trimmed.
//! - Region codes are written as floats (`11.0`, `1.0`): read as the INSEE code (`11`, `01`).
//! - Rows of the coarser `fap 87` nomenclature (9,086) are skipped: we use FAP 225.
//! - Empty `Catégorie Tension` and components (13,891 rows, small areas where DARES masks
//!   the figures): the row is kept without category, and lookups fall back to a wider area.
//! - `fap225_rome.csv`: `NA` ROME codes (FAP families with no ROME code) and blank lines
//!   are skipped and counted; any other malformed value is an error naming the line.
//!
//! # Area and fallback
//! A profile may give an INSEE region (`11` Île-de-France … `94` Corse, `01`–`04` overseas)
//! and/or an INSEE department (`01`…`95`, `2A`, `2B`, `971`–`974`), among those the data
//! covers. A lookup uses the department row if it has a category, else the region row,
//! else the national row, and says which level it used and whether it fell back.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::csv_rows::CsvRows;
use crate::error::{echo, DataError, QueryError};

/// File name of the tension indicators.
pub const FILE_TENSIONS: &str = "tensions.csv";
/// File name of the FAP 225 → ROME v3 correspondence.
pub const FILE_FAP_ROME: &str = "fap225_rome.csv";
/// Attribution required by the Licence Ouverte.
pub const TENSION_ATTRIBUTION: &str = "Source : Dares, Pôle emploi, indicateurs de tension";

/// Geographic level of a tension figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaLevel {
    /// France as a whole.
    National,
    /// An INSEE region.
    Region,
    /// An INSEE department.
    Department,
}

/// The six complementary indicators, each a quintile 1–5 (5 = pushes tension up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Components {
    /// Intensité d'embauches: hiring relative to employment.
    pub hiring_intensity: u8,
    /// Lien formation-emploi: how much the job needs its specific training.
    pub training_job_link: u8,
    /// Manque de main-d'œuvre disponible: few jobseekers for the job.
    pub labour_shortage: u8,
    /// Non-durabilité de l'emploi: short or part-time contracts.
    pub non_durability: u8,
    /// Conditions de travail contraignantes: hard working conditions.
    pub working_conditions: u8,
    /// Inadéquation géographique: jobseekers not where the jobs are.
    pub geographic_mismatch: u8,
}

/// One row of `tensions.csv` (FAP 225, one area).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TensionRow {
    /// `Emploi moyen`: average employment of the family in the area (persons).
    pub employment: Option<u32>,
    /// `Tension`: the synthetic indicator (centred, reduced; higher = more tension).
    pub indicator: Option<f64>,
    /// `Catégorie Tension`, 1–5; `None` where DARES gives none.
    pub category: Option<u8>,
    /// The six complementary indicators; `None` where DARES gives none.
    pub components: Option<Components>,
}

/// The tension figures used for one occupation and area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensionFact {
    /// FAP 225 family used (e.g. `G1Z70`).
    pub fap: String,
    /// Level of the figures used.
    pub level: AreaLevel,
    /// INSEE code of the area used; empty for national.
    pub area_code: String,
    /// True when the requested area had no figures and a wider one was used.
    pub fallback: bool,
    /// Tension category 1–5 (5 = strongest).
    pub category: u8,
    /// The synthetic indicator, if given.
    pub indicator: Option<f64>,
    /// Average employment of the family in that area (persons), if given.
    pub employment: Option<u32>,
    /// The six components, if given.
    pub components: Option<Components>,
    /// Year of the data (2019).
    pub year: u16,
}

/// An area a profile asks about, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Area {
    /// INSEE region code, if given.
    pub region: Option<String>,
    /// INSEE department code, if given.
    pub department: Option<String>,
}

/// Counts of rows skipped on purpose while loading (reported, never silent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// `tensions.csv` rows of the FAP 87 nomenclature.
    pub fap87_rows: usize,
    /// `fap225_rome.csv` rows whose ROME code is `NA`.
    pub na_rome_rows: usize,
    /// `fap225_rome.csv` blank rows.
    pub blank_rows: usize,
}

type Key = (String, AreaLevel, String);

/// The loaded tension indicators and the FAP → ROME v3 map. Immutable.
#[derive(Debug, Clone)]
pub struct TensionTable {
    /// Family → rows by level (`AreaLevel as usize`) → area code (empty for national).
    rows: HashMap<String, [HashMap<String, TensionRow>; 3]>,
    /// ROME v3 code → FAP families, largest national employment first.
    fap_by_rome_v3: HashMap<String, Vec<String>>,
    regions: BTreeSet<String>,
    departments: BTreeSet<String>,
    /// Year of the data (every row has the same).
    pub year: u16,
    /// Rows skipped on purpose.
    pub skipped: Skipped,
}

fn bad(file: &str, line: u64, reason: String) -> DataError {
    DataError::BadRow { file: file.to_string(), line, reason }
}

/// `"3.0"` → 3, empty or `NA` → `None`, anything else must be 1..=5.
fn quintile(field: &str, what: &str) -> Result<Option<u8>, String> {
    let f = field.trim();
    if f.is_empty() || f == "NA" {
        return Ok(None);
    }
    let v: f64 = f.parse().map_err(|_| format!("{what} `{f}` is not a number"))?;
    if v.fract() != 0.0 || !(1.0..=5.0).contains(&v) {
        return Err(format!("{what} `{f}` is not a category 1-5"));
    }
    Ok(Some(v as u8))
}

/// A region code as written in the file (`11.0`, `1.0`) → INSEE (`11`, `01`).
fn region_code(field: &str) -> Result<String, String> {
    let v: f64 = field.trim().parse().map_err(|_| format!("region `{field}` is not a number"))?;
    if v.fract() != 0.0 || !(1.0..=99.0).contains(&v) {
        return Err(format!("region `{field}` is not an INSEE region code"));
    }
    Ok(format!("{:02}", v as u32))
}

/// INSEE department code shape: `01`–`95`, `2A`, `2B`, `971`–`976`.
pub fn is_department_code(code: &str) -> bool {
    match code.len() {
        2 => code == "2A" || code == "2B" || (code.bytes().all(|b| b.is_ascii_digit()) && code != "00" && code != "20"),
        3 => code.starts_with("97") && code.as_bytes()[2].is_ascii_digit(),
        _ => false,
    }
}

fn is_fap_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 5
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && b[2].is_ascii_uppercase()
        && b[3].is_ascii_digit()
        && b[4].is_ascii_digit()
}

impl TensionTable {
    /// Loads `tensions.csv` (comma, UTF-8) and `fap225_rome.csv` (`;`, UTF-8).
    ///
    /// # Errors
    /// [`DataError::MissingColumn`] or [`DataError::BadRow`] naming the file and line for
    /// a malformed value (see the module docs for what is skipped on purpose), a duplicate
    /// (family, area) row, or mixed years.
    pub fn from_csv(tensions: &[u8], fap_rome: &[u8]) -> Result<Self, DataError> {
        let mut rows = CsvRows::new(&csv::ReaderBuilder::new(), tensions);
        let header = header_names(&mut rows, FILE_TENSIONS)?;
        let col = |name: &'static str| column(&header, FILE_TENSIONS, name);
        let c_fap = col("fap")?;
        let c_emp = col("Emploi moyen")?;
        let c_tension = col("Tension")?;
        let c_cat = col("Catégorie Tension")?;
        let c_comp = [
            col("Intensité d'embauches")?,
            col("Lien formation-emploi")?,
            col("Manque de main-d'œuvre disponible")?,
            col("Non-durabilité de l'emploi")?,
            col("Conditions de travail contraignantes")?,
            col("Inadéquation géographique")?,
        ];
        let c_year = col("Année")?;
        let c_geo = col("niveau_geo")?;
        let c_nfap = col("niveau_fap")?;
        let c_reg = col("reg")?;
        let c_dep = col("dep")?;
        let mut table = TensionTable {
            rows: HashMap::new(),
            fap_by_rome_v3: HashMap::new(),
            regions: BTreeSet::new(),
            departments: BTreeSet::new(),
            year: 0,
            skipped: Skipped::default(),
        };
        while let Some((line, record)) = rows.next_row() {
            let record = record.map_err(|reason| bad(FILE_TENSIONS, line, reason))?;
            let get = |c: usize| record.get(c).unwrap_or("");
            let row = || -> Result<Option<(Key, TensionRow, u16)>, String> {
                match get(c_nfap).trim() {
                    "fap 225" => {}
                    "fap 87" => return Ok(None),
                    other => return Err(format!("niveau_fap `{other}` is neither `fap 225` nor `fap 87`")),
                }
                let fap = get(c_fap).trim();
                if !is_fap_code(fap) {
                    return Err(format!("fap `{fap}` is not a FAP 225 code"));
                }
                let (level, area) = match get(c_geo).trim() {
                    "nat" => (AreaLevel::National, String::new()),
                    "reg" => (AreaLevel::Region, region_code(get(c_reg))?),
                    "dep" => {
                        let d = get(c_dep).trim();
                        if !is_department_code(d) {
                            return Err(format!("dep `{d}` is not an INSEE department code"));
                        }
                        (AreaLevel::Department, d.to_string())
                    }
                    other => return Err(format!("niveau_geo `{other}` is not nat, reg or dep")),
                };
                let year: u16 =
                    get(c_year).trim().parse().map_err(|_| format!("Année `{}` is not a year", get(c_year)))?;
                let emp = get(c_emp).trim();
                let employment = if emp.is_empty() || emp == "NA" {
                    None
                } else {
                    Some(emp.parse::<u32>().map_err(|_| format!("Emploi moyen `{emp}` is not a count"))?)
                };
                let t = get(c_tension).trim();
                let indicator = if t.is_empty() || t == "NA" {
                    None
                } else {
                    Some(
                        t.parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite())
                            .ok_or(format!("Tension `{t}` is not a number"))?,
                    )
                };
                let category = quintile(get(c_cat), "Catégorie Tension")?;
                let mut comps = [None; 6];
                for (k, &c) in c_comp.iter().enumerate() {
                    comps[k] = quintile(get(c), &header[c])?;
                }
                let components = match comps {
                    [Some(a), Some(b), Some(c), Some(d), Some(e), Some(f)] => Some(Components {
                        hiring_intensity: a,
                        training_job_link: b,
                        labour_shortage: c,
                        non_durability: d,
                        working_conditions: e,
                        geographic_mismatch: f,
                    }),
                    _ => None,
                };
                Ok(Some((
                    (fap.to_string(), level, area),
                    TensionRow { employment, indicator, category, components },
                    year,
                )))
            };
            match row().map_err(|reason| bad(FILE_TENSIONS, line, reason))? {
                None => table.skipped.fap87_rows += 1,
                Some((key, value, year)) => {
                    if table.year == 0 {
                        table.year = year;
                    } else if table.year != year {
                        return Err(bad(FILE_TENSIONS, line, format!("year {year}, earlier rows are {}", table.year)));
                    }
                    match key.1 {
                        AreaLevel::Region => {
                            table.regions.insert(key.2.clone());
                        }
                        AreaLevel::Department => {
                            table.departments.insert(key.2.clone());
                        }
                        AreaLevel::National => {}
                    }
                    let by_level = table.rows.entry(key.0.clone()).or_default();
                    if by_level[key.1 as usize].insert(key.2.clone(), value).is_some() {
                        return Err(bad(
                            FILE_TENSIONS,
                            line,
                            format!("duplicate row for {} {:?} `{}`", key.0, key.1, key.2),
                        ));
                    }
                }
            }
        }
        table.load_fap_rome(fap_rome)?;
        Ok(table)
    }

    fn load_fap_rome(&mut self, bytes: &[u8]) -> Result<(), DataError> {
        let mut rows =
            CsvRows::new(csv::ReaderBuilder::new().delimiter(b';').flexible(true), bytes).with_delimiter(b';');
        let header = header_names(&mut rows, FILE_FAP_ROME)?;
        let col = |name: &'static str| column(&header, FILE_FAP_ROME, name);
        let (c_fap, c_rome) = (col("Fap")?, col("Rome")?);
        while let Some((line, record)) = rows.next_row() {
            let record = record.map_err(|reason| bad(FILE_FAP_ROME, line, reason))?;
            let fap = record.get(c_fap).unwrap_or("").trim();
            let rome = record.get(c_rome).unwrap_or("").trim();
            if fap.is_empty() && rome.is_empty() {
                self.skipped.blank_rows += 1;
                continue;
            }
            if !is_fap_code(fap) {
                return Err(bad(FILE_FAP_ROME, line, format!("Fap `{fap}` is not a FAP 225 code")));
            }
            if rome == "NA" {
                self.skipped.na_rome_rows += 1;
                continue;
            }
            if !crate::catalogue::is_rome_code(rome) {
                return Err(bad(FILE_FAP_ROME, line, format!("Rome `{rome}` is neither a ROME v3 code nor NA")));
            }
            let faps = self.fap_by_rome_v3.entry(rome.to_string()).or_default();
            if !faps.iter().any(|f| f == fap) {
                faps.push(fap.to_string());
            }
        }
        let mut map = std::mem::take(&mut self.fap_by_rome_v3);
        let national = |fap: &str| self.row(fap, AreaLevel::National, "").and_then(|r| r.employment).unwrap_or(0);
        for faps in map.values_mut() {
            faps.sort_by(|a, b| national(b).cmp(&national(a)).then(a.cmp(b)));
        }
        self.fap_by_rome_v3 = map;
        Ok(())
    }

    /// FAP 225 families of a ROME v3 code, largest national employment first.
    pub fn faps_of_rome_v3(&self, rome_v3: &str) -> &[String] {
        self.fap_by_rome_v3.get(rome_v3).map(Vec::as_slice).unwrap_or_default()
    }

    /// The row of a family in an area (`area` empty for national).
    pub fn row(&self, fap: &str, level: AreaLevel, area: &str) -> Option<&TensionRow> {
        self.rows.get(fap)?[level as usize].get(area)
    }

    /// INSEE region codes covered by the data.
    pub fn regions(&self) -> impl Iterator<Item = &str> {
        self.regions.iter().map(String::as_str)
    }

    /// INSEE department codes covered by the data.
    pub fn departments(&self) -> impl Iterator<Item = &str> {
        self.departments.iter().map(String::as_str)
    }

    /// Validates a region and a department as given in a request (surrounding spaces and
    /// ASCII case ignored; empty = not given).
    ///
    /// # Errors
    /// [`QueryError::UnknownArea`] on `profile.region` / `profile.department` for a code
    /// that is not an INSEE code covered by the data; [`QueryError::Several`] holding both
    /// when both are unknown.
    pub fn area(&self, region: Option<&str>, department: Option<&str>) -> Result<Area, QueryError> {
        let check = |value: Option<&str>, set: &BTreeSet<String>, field: &str, what: &'static str| match value
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            None => Ok(None),
            Some(v) => {
                let v_up = v.to_ascii_uppercase();
                if set.contains(&v_up) {
                    Ok(Some(v_up))
                } else {
                    Err(QueryError::UnknownArea { field: field.to_string(), code: echo(v), what })
                }
            }
        };
        match (
            check(region, &self.regions, "profile.region", "region"),
            check(department, &self.departments, "profile.department", "department"),
        ) {
            (Ok(region), Ok(department)) => Ok(Area { region, department }),
            // Both unknown: both in one answer, as a profile's unknown codes are.
            (Err(r), Err(d)) => Err(QueryError::both(&r, &d).unwrap_or(r)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }

    /// Tension for an occupation (by its ROME v3 parent code) in an area: the department's
    /// figures if they have a category, else the region's, else the national ones (see
    /// module docs). `None` when the v3 code has no FAP family or no national category.
    pub fn lookup(&self, rome_v3: &str, area: &Area) -> Option<TensionFact> {
        let fap = self.faps_of_rome_v3(rome_v3).first()?;
        let mut tries: Vec<(AreaLevel, &str)> = Vec::with_capacity(3);
        if let Some(d) = &area.department {
            tries.push((AreaLevel::Department, d));
        }
        if let Some(r) = &area.region {
            tries.push((AreaLevel::Region, r));
        }
        tries.push((AreaLevel::National, ""));
        let requested = tries[0].0;
        tries.into_iter().find_map(|(level, code)| {
            let row = self.row(fap, level, code)?;
            Some(TensionFact {
                fap: fap.clone(),
                level,
                area_code: code.to_string(),
                fallback: level != requested,
                category: row.category?,
                indicator: row.indicator,
                employment: row.employment,
                components: row.components,
                year: self.year,
            })
        })
    }
}

/// The header of a CSV file, names trimmed (and a byte-order mark dropped).
fn header_names(rows: &mut CsvRows<'_>, file: &str) -> Result<Vec<String>, DataError> {
    Ok(rows
        .headers()
        .map_err(|e| bad(file, 1, format!("unreadable header: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect())
}

/// The index of column `name` in `header`, or [`DataError::MissingColumn`] naming `file`.
fn column(header: &[String], file: &str, name: &'static str) -> Result<usize, DataError> {
    header.iter().position(|h| h == name).ok_or(DataError::MissingColumn { file: file.to_string(), column: name })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "fap,Emploi moyen,Tension ,Catégorie Tension,Intensité d'embauches,Lien formation-emploi,Manque de main-d'œuvre disponible,Non-durabilité de l'emploi,Conditions de travail contraignantes,Inadéquation géographique,Année,niveau_geo,niveau_fap,reg,dep\n";

    fn table(rows: &str, map: &str) -> Result<TensionTable, DataError> {
        TensionTable::from_csv(
            format!("{HEADER}{rows}").as_bytes(),
            format!("Fap;Rome;intitule_rome\n{map}").as_bytes(),
        )
    }

    const ROWS: &str = "\
G1Z70,40000,0.5,5.0,4.0,5.0,3.0,2.0,3.0,4.0,2019,nat,fap 225,,
G1Z70,5000,0.1,3.0,3.0,4.0,2.0,2.0,3.0,4.0,2019,reg ,fap 225,11.0,
G1Z70,100,0.2,,,,,,,,2019,reg,fap 225,1.0,
G1Z70,900,-0.4,2.0,1.0,2.0,1.0,2.0,3.0,4.0,2019,dep,fap 225,,2A
G1Z70,40,0.9,,,,,,,,2019,dep,fap 225,,75
B3Z20,200000,0.3,4.0,3.0,3.0,3.0,3.0,3.0,3.0,2019,nat,fap 225,,
B4Z43,50000,0.3,2.0,3.0,3.0,3.0,3.0,3.0,3.0,2019,nat,fap 225,,
G1Z,4,0.1,1.0,1.0,1.0,1.0,1.0,1.0,1.0,2019,nat,fap 87,,
";
    const MAP: &str = "G1Z70;I1307;Installation\nB4Z43;F1602;Elec\nB3Z20;F1602;Elec\nA0Z00;NA;NA\n;;\n";

    #[test]
    fn messy_rows_are_read_explicitly() {
        let t = table(ROWS, MAP).unwrap();
        assert_eq!(t.year, 2019);
        assert_eq!(t.skipped, Skipped { fap87_rows: 1, na_rome_rows: 1, blank_rows: 1 });
        // `reg ` with a trailing space and the float region codes.
        assert_eq!(t.regions().collect::<Vec<_>>(), ["01", "11"]);
        assert_eq!(t.row("G1Z70", AreaLevel::Region, "11").unwrap().category, Some(3));
        assert_eq!(t.row("G1Z70", AreaLevel::Region, "01").unwrap().category, None);
        assert_eq!(t.departments().collect::<Vec<_>>(), ["2A", "75"]);
        // Two families for F1602: the larger national employment first.
        assert_eq!(t.faps_of_rome_v3("F1602"), ["B3Z20", "B4Z43"]);
        assert!(t.faps_of_rome_v3("NA").is_empty());
    }

    #[test]
    fn lookup_falls_back_from_department_to_region_to_national() {
        let t = table(ROWS, MAP).unwrap();
        let area = |r: Option<&str>, d: Option<&str>| t.area(r, d).unwrap();
        let dep = t.lookup("I1307", &area(None, Some("2a"))).unwrap();
        assert_eq!(
            (dep.level, dep.area_code.as_str(), dep.category, dep.fallback),
            (AreaLevel::Department, "2A", 2, false)
        );
        assert_eq!(dep.components.unwrap().hiring_intensity, 1);
        // Paris has no category: its region (11) is used, and the answer says so.
        let paris = t.lookup("I1307", &area(Some("11"), Some("75"))).unwrap();
        assert_eq!(
            (paris.level, paris.area_code.as_str(), paris.category, paris.fallback),
            (AreaLevel::Region, "11", 3, true)
        );
        // Guadeloupe (01) has no category: national.
        let gp = t.lookup("I1307", &area(Some("01"), None)).unwrap();
        assert_eq!((gp.level, gp.category, gp.fallback), (AreaLevel::National, 5, true));
        let nat = t.lookup("I1307", &Area::default()).unwrap();
        assert_eq!((nat.level, nat.fallback, nat.year), (AreaLevel::National, false, 2019));
        assert!(t.lookup("Z9999", &Area::default()).is_none());
    }

    #[test]
    fn unknown_area_names_the_field() {
        let t = table(ROWS, MAP).unwrap();
        assert_eq!(
            t.area(Some("99"), None),
            Err(QueryError::UnknownArea { field: "profile.region".into(), code: "99".into(), what: "region" })
        );
        assert!(
            matches!(t.area(None, Some("2C")), Err(QueryError::UnknownArea { ref field, .. }) if field == "profile.department")
        );
        assert_eq!(t.area(Some(" "), Some("")).unwrap(), Area::default());
        // Both unknown: both reported.
        assert_eq!(
            t.area(Some("99"), Some("2C")).map_err(|e| e.to_string()),
            Err("profile.region: `99` is not an INSEE region code covered by the DARES tension data; \
                 profile.department: `2C` is not an INSEE department code covered by the DARES tension data"
                .to_string())
        );
    }

    #[test]
    fn malformed_values_name_file_and_line() {
        let cases = [
            ("G1Z70,1,0.1,6.0,1.0,1.0,1.0,1.0,1.0,1.0,2019,nat,fap 225,,\n", "category 1-5"),
            ("G1Z70,1,0.1,1.0,1.0,1.0,1.0,1.0,1.0,1.0,2019,region,fap 225,,\n", "niveau_geo"),
            ("G1Z70,1,0.1,1.0,1.0,1.0,1.0,1.0,1.0,1.0,2019,reg,fap 225,x,\n", "region"),
            ("G1Z70,1,0.1,1.0,1.0,1.0,1.0,1.0,1.0,1.0,2019,dep,fap 225,,123\n", "department"),
            ("G1Z70,1,0.1,1.0,1.0,1.0,1.0,1.0,1.0,1.0,2019,nat,fap 225,,\nG1Z70,1,0.1,1.0,1.0,1.0,1.0,1.0,1.0,1.0,2019,nat,fap 225,,\n", "duplicate"),
            ("G1Z70,1,0.1,1.0,1.0,1.0,1.0,1.0,1.0,1.0,2019,nat,fap 225,,\nB3Z20,1,0.1,1.0,1.0,1.0,1.0,1.0,1.0,1.0,2020,nat,fap 225,,\n", "year"),
        ];
        for (rows, needle) in cases {
            let err = table(rows, "").unwrap_err().to_string();
            assert!(err.starts_with("tensions.csv: line "), "{err}");
            assert!(err.contains(needle), "{needle}: {err}");
        }
        let err = table(ROWS, "G1Z70;I13;x\n").unwrap_err().to_string();
        assert_eq!(err, "fap225_rome.csv: line 2: Rome `I13` is neither a ROME v3 code nor NA");
        // CRLF endings and a blank line (3) before the bad row (4): its physical line.
        let err = table(ROWS, "G1Z70;I1315;x\r\n\r\nG1Z70;I13;x\r\n").unwrap_err().to_string();
        assert_eq!(err, "fap225_rome.csv: line 4: Rome `I13` is neither a ROME v3 code nor NA");
    }
}
