//! DARES / Pôle emploi tension indicators (2019) on the real embedded files: the FAP 225 →
//! ROME mapping on hand-picked codes, checked against `fap225_rome.csv`, `tensions.csv` and
//! `code_rome_parent` of the ROME referentiel.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use passerelle_model::embedded;
use passerelle_model::tension::{Area, AreaLevel, Skipped, TensionTable};

fn table() -> TensionTable {
    TensionTable::from_csv(embedded::TENSIONS_CSV, embedded::FAP_ROME_CSV).expect("embedded tension data")
}

#[test]
fn embedded_files_load_with_the_expected_skips() {
    let t = table();
    assert_eq!(t.year, 2019);
    // 9,086 FAP 87 rows; 16 FAP families without ROME code (NA); blank lines at the end.
    assert_eq!(t.skipped.fap87_rows, 9_086);
    assert_eq!(t.skipped.na_rome_rows, 16);
    assert_eq!(t.skipped, Skipped { fap87_rows: 9_086, na_rome_rows: 16, blank_rows: t.skipped.blank_rows });
    assert_eq!(t.regions().count(), 17); // 13 metropolitan regions + 4 overseas (no Mayotte)
    assert_eq!(t.departments().count(), 100);
    assert!(t.departments().any(|d| d == "2A") && t.departments().any(|d| d == "974"));
}

#[test]
fn rome_4_occupations_map_to_fap_families_through_their_v3_parent() {
    let catalogue = embedded::catalogue().unwrap();
    let t = table();
    // (ROME 4.0 code, code_rome_parent, FAP families largest national employment first).
    let cases: [(&str, &str, &[&str]); 7] = [
        ("I1315", "I1307", &["G1Z70"]),
        ("I1312", "I1307", &["G1Z70"]),
        ("I1403", "I1401", &["M1Z81", "M2Z91"]),
        ("F1602", "F1602", &["B3Z20", "B4Z43"]),
        ("F1623", "F1605", &["B3Z20", "B4Z43"]),
        ("M1816", "M1810", &["M2Z90", "M1Z81", "M0Z60"]),
        ("J1501", "J1501", &["V0Z60"]),
    ];
    for (code, parent, faps) in cases {
        let o = catalogue.occupation(catalogue.occupation_id(code).unwrap());
        assert_eq!(o.rome_v3_parent, parent, "{code}");
        assert_eq!(t.faps_of_rome_v3(parent), faps, "{code}");
    }
    // National figures of G1Z70 (installation et maintenance télécoms et courants faibles):
    // 276,900 jobs, category 5.
    let g = t.row("G1Z70", AreaLevel::National, "").unwrap();
    assert_eq!((g.employment, g.category), (Some(276_900), Some(5)));
}

#[test]
fn regional_figures_and_fallbacks_on_real_rows() {
    let t = table();
    // La Réunion (04): G1Z70 category 1, B3Z20 category 3 (tensions.csv, `reg` rows `4.0`).
    let reunion = t.area(Some("04"), None).unwrap();
    let telecom = t.lookup("I1307", &reunion).unwrap();
    assert_eq!(
        (telecom.fap.as_str(), telecom.level, telecom.category, telecom.fallback),
        ("G1Z70", AreaLevel::Region, 1, false)
    );
    let elec = t.lookup("F1602", &reunion).unwrap();
    assert_eq!((elec.fap.as_str(), elec.category), ("B3Z20", 3));
    // Guyane (03): M2Z90 has no category there → national (5), flagged as a fallback.
    let guyane = t.lookup("M1806", &t.area(Some("03"), None).unwrap()).unwrap();
    assert_eq!((guyane.level, guyane.category, guyane.fallback), (AreaLevel::National, 5, true));
    assert!(t.lookup("I1307", &Area::default()).is_some_and(|f| f.level == AreaLevel::National && !f.fallback));
}
