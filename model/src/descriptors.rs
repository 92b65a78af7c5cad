//! Descriptor features: how alike two occupations are described, beyond their items.
//!
//! Thirteen features compare the profile's anchor occupation A with a target T through what
//! the ROME export says of each besides its items (see [`Description`]):
//!
//! - three text similarities: the cosine of tf-idf vectors of the words of A's and T's
//!   definitions, access texts and appellations (job titles). A word is a run of 4 or more
//!   ASCII letters or digits after transliteration to ASCII (`deunicode`: accents removed,
//!   other symbols spelled out, an emoji becomes its name) and lower-casing; its weight in a text is
//!   `(1 + ln count) × ln((1 + N) / (1 + df))`, with `df` the number of occupations whose text
//!   of that kind contains it; vectors are L2-normalised. Cosines below
//!   [`TEXT_SIMILARITY_FLOOR`] count as 0 (this keeps the precomputed rows sparse; the
//!   held-out protocol measured no loss from it);
//! - overlaps of the sectors of activity, sub-sectors and themes (Jaccard of the code sets)
//!   and whether A and T share a main sector;
//! - the diploma level each access text states (see [`access_levels`]), compared;
//! - executive status (`emploi_cadre`): T's, and whether the move steps up to or down from it.
//!
//! Source: France Travail, ROME 4.0 v460 (`unix_texte`, `unix_referentiel_appellation`,
//! `unix_arborescence_secteur_activite`, `unix_arborescence_thematique`,
//! `unix_referentiel_code_rome`), Licence Ouverte / Etalab 2.0. The levels are read from
//! France Travail's own wording by the rules of [`access_levels`]; they are model inputs,
//! never shown as facts.

use crate::catalogue::{Catalogue, Description};
use crate::features::{sorted_common as common, Rows};

/// Number of descriptor features.
pub(crate) const N_DESCRIPTORS: usize = 13;

/// Text cosines (0..1) below this count as 0 in the three text-similarity features.
pub const TEXT_SIMILARITY_FLOOR: f64 = 0.05;

/// Level given to "sans diplôme" / "tous les niveaux de qualification": below the CAP
/// (level 3), an assumption of this model.
const NO_DIPLOMA_LEVEL: u8 = 2;

/// The French national qualification levels (nomenclature of 2019: 3 = CAP/BEP, 4 = Bac,
/// 5 = Bac+2, 6 = Bac+3/4, 7 = Bac+5, 8 = doctorate) an access text states, as `(lowest,
/// highest)`, or `None` when it states none. Read from words: `CAP`, `CAPA`, `BEP` → 3;
/// `Bac`, `baccalauréat`, `BP` and "brevet professionnel" → 4; `Bac+n` (with or without
/// spaces) → 4 for n ≤ 1, 5 for 2, 6 for 3–4, 7 for 5–7, 8 beyond; `BTS`, `BTSA`, `DUT`,
/// `DEUST` → 5; `licence` → 6 (not "licence IV" nor "licence de …", which are permits:
/// "licence de pilote", "licence de vente"); `master`, `ingénieur(s)` → 7; `doctorat`,
/// `docteur` ("diplôme d'État de docteur en médecine") → 8; "niveau n" for a single digit
/// n from 3 to 8 → n (the 2019 nomenclature; "niveau 1" and "niveau 2" of the access texts
/// are first-aid or radiation-protection grades, not qualifications); "sans diplôme",
/// "aucun diplôme", "sans qualification" and "tous les niveaux" → 2 (below the CAP, an
/// assumption).
///
/// How words are cut: the text is transliterated to ASCII and lower-cased, the spaces around
/// every `+` are removed, and a word is a run of ASCII letters, digits and `+`. So:
///
/// - a `+` glues the words on both sides: "CAP + 2 ans" is the word `cap+2` and states
///   nothing, "Bac + BTS" is `bac+bts`, a Bac (4) without its BTS, and "2 ans + Bac" is
///   `ans+bac`, which hides the Bac;
/// - in `Bac+n` only the digits right after the `+` count: `Bac+2/3` is 5, and a `bac+` word
///   with no digit there, or a number too large for a `u32`, is a plain Bac (4);
/// - any other word states nothing, however a reader would read it: "BUT" (lower-cased it
///   is the French word for "aim"), "CQP", "diplôme d'État", "titre professionnel",
///   "brevet de maîtrise", "niveau IV" (old Roman levels), the second level of "niveau 3
///   ou 4" (ROME v460 access texts use all of these);
/// - `ingénieur` counts as 7 even where it names a job rather than a diploma.
///
/// The rules are model inputs: changing them changes the features and needs a retrained
/// artifact.
pub fn access_levels(text: &str) -> Option<(u8, u8)> {
    let plain = deunicode::deunicode(text).to_lowercase();
    // "Bac + 2", "Bac +2", "Bac+ 2" → "bac+2".
    let mut joined = String::with_capacity(plain.len());
    for (k, part) in plain.split('+').enumerate() {
        if k > 0 {
            let trimmed = joined.trim_end().len();
            joined.truncate(trimmed);
            joined.push('+');
            joined.push_str(part.trim_start());
        } else {
            joined.push_str(part);
        }
    }
    let words: Vec<&str> =
        joined.split(|c: char| !(c.is_ascii_alphanumeric() || c == '+')).filter(|w| !w.is_empty()).collect();
    let mut levels: Vec<u8> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let next = |k: usize| words.get(i + k).copied().unwrap_or("");
        match *w {
            "cap" | "capa" | "bep" => levels.push(3),
            "bac" | "baccalaureat" | "bp" => levels.push(4),
            "brevet" if next(1) == "professionnel" => levels.push(4),
            "bts" | "btsa" | "dut" | "deust" => levels.push(5),
            "licence" | "licences" if !matches!(next(1), "iv" | "de") => levels.push(6),
            "master" | "ingenieur" | "ingenieurs" => levels.push(7),
            "doctorat" | "docteur" => levels.push(8),
            "niveau" => {
                // One digit only: "niveau 3", not "niveau 30" nor "niveau +3".
                let n = next(1);
                if let (1, Ok(level @ 3..=8)) = (n.len(), n.parse::<u8>()) {
                    levels.push(level);
                }
            }
            "sans" | "aucun" if next(1) == "diplome" => levels.push(NO_DIPLOMA_LEVEL),
            "sans" if next(1) == "qualification" => levels.push(NO_DIPLOMA_LEVEL),
            "tous" if next(1) == "les" && next(2) == "niveaux" => levels.push(NO_DIPLOMA_LEVEL),
            w => {
                if let Some(rest) = w.strip_prefix("bac+") {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    levels.push(match digits.parse::<u32>() {
                        Ok(0 | 1) | Err(_) => 4,
                        Ok(2) => 5,
                        Ok(3 | 4) => 6,
                        Ok(5..=7) => 7,
                        Ok(_) => 8,
                    });
                }
            }
        }
    }
    Some((*levels.iter().min()?, *levels.iter().max()?))
}

/// Per-occupation descriptors, computed once from a [`Catalogue`] (part of
/// [`crate::features::FeatureIndex`]).
#[derive(Debug, Clone)]
pub(crate) struct DescriptorIndex {
    /// For each occupation and each text kind (definition, access, appellations), the
    /// occupations (itself excluded) whose text cosine with it is at least
    /// [`TEXT_SIMILARITY_FLOOR`], in occupation order.
    text: [Rows<(u32, f32)>; 3],
    /// Sorted dense ids of each occupation's sectors, main sectors, sub-sectors and themes.
    sets: [Rows<u32>; 4],
    /// For each set kind and dense id, the occupations that have it (in occupation order).
    members: [Rows<u32>; 4],
    /// Midpoint of the stated level range, if any.
    level: Vec<Option<f64>>,
    /// `emploi_cadre` as 1 (O), 0 (N) or 0.5 (unknown).
    cadre: Vec<f64>,
}

/// Words of a text for the text similarities: transliterated to ASCII (`deunicode`), lower
/// case, runs of 4 or more ASCII letters or digits.
fn text_words(text: &str) -> Vec<String> {
    deunicode::deunicode(text)
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() >= 4)
        .map(str::to_string)
        .collect()
}

/// For each document, the documents (itself excluded) whose tf-idf cosine with it is at
/// least [`TEXT_SIMILARITY_FLOOR`], in document order.
fn text_similarities(docs: &[Vec<String>]) -> Rows<(u32, f32)> {
    let n = docs.len();
    let mut ids: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    let coded: Vec<Vec<u32>> = docs
        .iter()
        .map(|d| {
            d.iter()
                .map(|w| {
                    let next = ids.len() as u32;
                    *ids.entry(w.as_str()).or_insert(next)
                })
                .collect()
        })
        .collect();
    let mut df = vec![0u32; ids.len()];
    let counted: Vec<Vec<(u32, u32)>> = coded
        .into_iter()
        .map(|mut d| {
            d.sort_unstable();
            let mut counts: Vec<(u32, u32)> = Vec::new();
            for w in d {
                match counts.last_mut() {
                    Some((last, c)) if *last == w => *c += 1,
                    _ => counts.push((w, 1)),
                }
            }
            for (w, _) in &counts {
                df[*w as usize] += 1;
            }
            counts
        })
        .collect();
    let vectors: Vec<Vec<(u32, f64)>> = counted
        .into_iter()
        .map(|counts| {
            let mut v: Vec<(u32, f64)> = counts
                .into_iter()
                .map(|(w, c)| {
                    let idf = ((1.0 + n as f64) / (1.0 + f64::from(df[w as usize]))).ln();
                    (w, (1.0 + f64::from(c).ln()) * idf)
                })
                .collect();
            let norm = v.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                for (_, x) in &mut v {
                    *x /= norm;
                }
            }
            v
        })
        .collect();
    let mut postings: Vec<Vec<(u32, f64)>> = vec![Vec::new(); ids.len()];
    for (d, v) in vectors.iter().enumerate() {
        for &(w, x) in v {
            postings[w as usize].push((d as u32, x));
        }
    }
    let mut dot = vec![0.0f64; n];
    let mut touched: Vec<u32> = Vec::new();
    let rows: Vec<Vec<(u32, f32)>> = vectors
        .iter()
        .enumerate()
        .map(|(a, v)| {
            for &(w, x) in v {
                for &(t, y) in &postings[w as usize] {
                    if dot[t as usize] == 0.0 {
                        touched.push(t);
                    }
                    dot[t as usize] += x * y;
                }
            }
            touched.sort_unstable();
            let row = touched
                .iter()
                .filter(|&&t| t as usize != a && dot[t as usize] >= TEXT_SIMILARITY_FLOOR)
                .map(|&t| (t, dot[t as usize].min(1.0) as f32))
                .collect();
            for &t in &touched {
                dot[t as usize] = 0.0;
            }
            touched.clear();
            row
        })
        .collect();
    Rows::from(rows)
}

/// Dense ids of the codes of one set kind per occupation (sorted), and the occupations of
/// each dense id.
fn dense_sets(descriptions: &[&Description], get: impl Fn(&Description) -> &[u32]) -> (Rows<u32>, Rows<u32>) {
    let mut ids: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    let rows: Vec<Vec<u32>> = descriptions
        .iter()
        .map(|d| {
            let mut row: Vec<u32> = get(d)
                .iter()
                .map(|c| {
                    let next = ids.len() as u32;
                    *ids.entry(*c).or_insert(next)
                })
                .collect();
            row.sort_unstable();
            row
        })
        .collect();
    let mut members = vec![Vec::new(); ids.len()];
    for (t, row) in rows.iter().enumerate() {
        for &id in row {
            members[id as usize].push(t as u32);
        }
    }
    (Rows::from(rows), Rows::from(members))
}

/// The set feature of one kind from the intersection and the two sizes: 1 when a main sector
/// is shared (kind 1), else the Jaccard overlap (0 when nothing is shared).
fn set_value(kind: usize, common: usize, a: usize, b: usize) -> f64 {
    if common == 0 {
        0.0
    } else if kind == 1 {
        1.0
    } else {
        common as f64 / (a + b - common) as f64
    }
}

impl DescriptorIndex {
    /// Builds the descriptors of every occupation of `catalogue` (text rows: about 0.1 s for
    /// ROME v460 in release).
    pub(crate) fn new(catalogue: &Catalogue) -> Self {
        let descriptions: Vec<&Description> = catalogue.occupations.iter().map(|o| &o.description).collect();
        let definitions: Vec<Vec<String>> = descriptions.iter().map(|d| text_words(&d.definition)).collect();
        let access: Vec<Vec<String>> = descriptions.iter().map(|d| text_words(&d.access)).collect();
        let mut titles: Vec<Vec<String>> = vec![Vec::new(); descriptions.len()];
        for a in &catalogue.appellations {
            titles[a.occupation.0 as usize].extend(text_words(&a.label));
        }
        let (sectors, sector_members) = dense_sets(&descriptions, |d| &d.sectors);
        let (main, main_members) = dense_sets(&descriptions, |d| &d.main_sectors);
        let (sub, sub_members) = dense_sets(&descriptions, |d| &d.sub_sectors);
        let (themes, theme_members) = dense_sets(&descriptions, |d| &d.themes);
        DescriptorIndex {
            text: [text_similarities(&definitions), text_similarities(&access), text_similarities(&titles)],
            sets: [sectors, main, sub, themes],
            members: [sector_members, main_members, sub_members, theme_members],
            level: descriptions
                .iter()
                .map(|d| access_levels(&d.access).map(|(lo, hi)| (f64::from(lo) + f64::from(hi)) / 2.0))
                .collect(),
            cadre: catalogue
                .occupations
                .iter()
                .map(|o| match o.emploi_cadre {
                    Some(true) => 1.0,
                    Some(false) => 0.0,
                    None => 0.5,
                })
                .collect(),
        }
    }

    /// The descriptor features of the pair (`anchor`, `t`), in
    /// [`crate::features::DESCRIPTOR_FEATURES`] order.
    pub(crate) fn pair(&self, anchor: usize, t: usize) -> [f64; N_DESCRIPTORS] {
        let mut x = [0.0; N_DESCRIPTORS];
        for (k, rows) in self.text.iter().enumerate() {
            let row = &rows[anchor];
            if let Ok(i) = row.binary_search_by_key(&(t as u32), |(o, _)| *o) {
                x[k] = f64::from(row[i].1);
            }
        }
        for (kind, rows) in self.sets.iter().enumerate() {
            let (a, b) = (&rows[anchor], &rows[t]);
            x[3 + kind] = set_value(kind, common(a, b), a.len(), b.len());
        }
        if let (Some(la), Some(lt)) = (self.level[anchor], self.level[t]) {
            x[7] = 1.0;
            x[8] = lt - la;
            x[9] = (lt - la).abs();
        }
        let (ca, ct) = (self.cadre[anchor], self.cadre[t]);
        x[10] = ct;
        x[11] = (1.0 - ca) * ct;
        x[12] = ca * (1.0 - ct);
        x
    }

    /// Adds `Σ_j w[j] × feature_j(anchor, t)` to `z[t]` for every occupation t: the same
    /// values as [`pair`](Self::pair), summed in another order (a few ulps apart), without
    /// building a column per feature: the dense terms (levels, executive status) in one
    /// pass, the text and set terms only where they are not 0 (the anchor's text rows and
    /// the members of its sectors and themes).
    pub(crate) fn add_weighted(&self, anchor: usize, w: &[f64; N_DESCRIPTORS], z: &mut [f64]) {
        for (k, rows) in self.text.iter().enumerate() {
            if w[k] != 0.0 {
                for &(t, c) in &rows[anchor] {
                    z[t as usize] += w[k] * f64::from(c);
                }
            }
        }
        let mut seen = vec![false; z.len()];
        for (kind, rows) in self.sets.iter().enumerate() {
            let own = &rows[anchor];
            let wk = w[3 + kind];
            if wk == 0.0 {
                continue;
            }
            for &id in own {
                for &t in &self.members[kind][id as usize] {
                    let t = t as usize;
                    if !seen[t] {
                        seen[t] = true;
                        let theirs = &rows[t];
                        z[t] += wk * set_value(kind, common(own, theirs), own.len(), theirs.len());
                    }
                }
            }
            for &id in own {
                for &t in &self.members[kind][id as usize] {
                    seen[t as usize] = false;
                }
            }
        }
        if let Some(la) = self.level[anchor] {
            for (zt, lt) in z.iter_mut().zip(&self.level) {
                if let Some(lt) = lt {
                    *zt += w[7] + w[8] * (lt - la) + w[9] * (lt - la).abs();
                }
            }
        }
        let ca = self.cadre[anchor];
        for (zt, &ct) in z.iter_mut().zip(&self.cadre) {
            *zt += w[10] * ct + w[11] * ((1.0 - ca) * ct) + w[12] * (ca * (1.0 - ct));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::tiny_files;

    #[test]
    fn access_levels_follow_the_stated_rules() {
        assert_eq!(
            access_levels("Cet emploi est accessible avec un diplôme de niveau Bac+5 en management."),
            Some((7, 7))
        );
        assert_eq!(access_levels("accessible avec un diplôme de niveau CAP à Bac +2 en couture"), Some((3, 5)));
        assert_eq!(access_levels("Bac + 3 ou Bac+ 4, voire un Master"), Some((6, 7)));
        assert_eq!(access_levels("accessible sans diplôme ni expérience"), Some((2, 2)));
        assert_eq!(access_levels("accessible à tous les niveaux de qualification"), Some((2, 2)));
        assert_eq!(access_levels("un BTS ou un DUT, parfois un doctorat"), Some((5, 8)));
        // Words that merely contain a level's letters are not levels.
        assert_eq!(access_levels("Une capacité d'écoute et un handicap reconnu"), None);
        assert_eq!(access_levels(""), None);
    }

    #[test]
    fn access_levels_edge_cases_of_the_rules() {
        // A `+` glues the words on both sides: "CAP + 2 ans" is one word `cap+2`, not a CAP,
        // and "Bac + BTS" is `bac+bts`, a Bac (4) without its BTS.
        assert_eq!(access_levels("un CAP + 2 ans d'expérience"), None);
        assert_eq!(access_levels("un Bac +  BTS en esthétique"), Some((4, 4)));
        // "Bac+2/3" reads its first number only.
        assert_eq!(access_levels("niveau Bac+2/3"), Some((5, 5)));
        // Beyond 7 years, 8; a number too large for u32, or none, reads as a plain Bac.
        assert_eq!(access_levels("Bac +12"), Some((8, 8)));
        assert_eq!(access_levels("Bac+99999999999"), Some((4, 4)));
        assert_eq!(access_levels("Bac+ ou plus"), Some((4, 4)));
        assert_eq!(access_levels("+ + ++ +"), None);
        // The wordings added after the first rules, each alone.
        assert_eq!(access_levels("une licence professionnelle ou un baccalauréat"), Some((4, 6)));
        assert_eq!(access_levels("un CAPA, un BP ou un brevet professionnel"), Some((3, 4)));
        assert_eq!(access_levels("un BTSA ou un DEUST"), Some((5, 5)));
        assert_eq!(access_levels("le diplôme d'État de docteur en médecine"), Some((8, 8)));
        assert_eq!(access_levels("les écoles d'ingénieurs"), Some((7, 7)));
        assert_eq!(access_levels("une qualification de niveau 5 de l'hôtellerie"), Some((5, 5)));
        assert_eq!(access_levels("accessible sans qualification particulière"), Some((2, 2)));
        // Permits and grades that are not qualifications.
        assert_eq!(access_levels("la licence IV pour vendre des boissons"), None);
        assert_eq!(access_levels("une licence de pilote professionnel"), None);
        assert_eq!(access_levels("secourisme de niveau 1 (PSC1) et niveau 2"), None);
        assert_eq!(access_levels("niveau 30 ou niveau +3 ou niveau 9"), None);
        // Words the rules still do not read.
        assert_eq!(access_levels("un CQP, un titre professionnel ou un diplôme d'État"), None);
        assert_eq!(access_levels("formation professionnelle de niveau IV"), None);
    }

    #[test]
    fn access_levels_of_the_real_export() {
        // ROME v460: every occupation has an access text; the README's count of those that
        // state no level by these rules, and of those read as "sans diplôme" only.
        let cat = crate::embedded::catalogue().expect("embedded export");
        let levels: Vec<Option<(u8, u8)>> =
            cat.occupations.iter().map(|o| access_levels(&o.description.access)).collect();
        assert!(cat.occupations.iter().all(|o| !o.description.access.is_empty()));
        assert_eq!(levels.iter().filter(|l| l.is_none()).count(), 164);
        assert_eq!(levels.iter().filter(|l| **l == Some((2, 2))).count(), 63);
        let of = |code: &str| {
            let id = cat.occupation_id(code).expect("code");
            access_levels(&cat.occupation(id).description.access)
        };
        // A misreading a reader would not make (see the rules' limits): "Bac + BTS" (D1232,
        // reader: 5).
        assert_eq!(of("D1232"), Some((4, 4)));
        // Read since the rules know these words: "licence professionnelle" (D1303),
        // "Baccalauréat Professionnel" (M1609), "qualification de niveau 5" (G1601).
        assert_eq!([of("D1303"), of("M1609"), of("G1601")], [Some((6, 6)), Some((4, 4)), Some((5, 5))]);
    }

    #[test]
    fn odd_but_valid_texts_load_and_give_finite_features() {
        use std::borrow::Cow;
        let long = format!("{} fibre", "x".repeat(200_000));
        let texts = format!(
            "code_rome,code_compo_bloc,libelle_type_texte,position_phrase,libelle_texte\n\
A1001,3,definition,1,\"Pose 🚀 de fibre ☎️ — “optique” \u{200b}\"\n\
A1001,3,definition,2,{long}\n\
A1001,4,acces_metier,1,+ + ++ Bac +++ 2 + CAP+ +\n\
A1001,4,acces_metier,2,Accessible avec un Bac +12\n\
A1002,3,definition,1,\"Ligne\navec retour, \"\"guillemets\"\" et ;\"\n\
A1002,4,acces_metier,1,Accessible avec une expérience.\n\
B2001,3,definition,1,   \n"
        );
        let mut files = tiny_files();
        for (n, bytes) in files.files.iter_mut() {
            if *n == crate::catalogue::FILE_TEXTS {
                *bytes = Cow::Owned(texts.clone().into_bytes());
            }
        }
        let cat = Catalogue::from_files(&files).expect("odd texts load");
        // deunicode spells symbols out: an emoji is a word.
        assert_eq!(text_words("Pose 🦄 de fibre"), ["pose", "unicorn", "fibre"]);
        assert_eq!(access_levels("2 ans + Bac"), None);
        let a = &cat.occupations[0].description;
        assert!(a.definition.starts_with("Pose 🚀 de fibre") && a.definition.ends_with(" fibre"));
        assert_eq!(a.access, "+ + ++ Bac +++ 2 + CAP+ + Accessible avec un Bac +12");
        assert_eq!(cat.occupations[1].description.definition, "Ligne\navec retour, \"guillemets\" et ;");
        assert_eq!(cat.occupations[2].description.definition, "");
        // The `+` signs glue "+ + ++ Bac +++ 2 + CAP+ + Accessible" into one word that starts
        // with `+`: neither the Bac nor the CAP counts, only "Bac +12" (8).
        assert_eq!(access_levels(&a.access), Some((8, 8)));
        assert_eq!(access_levels(&cat.occupations[1].description.access), None);
        let index = DescriptorIndex::new(&cat);
        for anchor in 0..3 {
            for t in 0..3 {
                let x = index.pair(anchor, t);
                assert!(x.iter().all(|v| v.is_finite()), "anchor {anchor}, t {t}: {x:?}");
                assert!(x[..3].iter().all(|v| (0.0..=1.0).contains(v)));
            }
        }
        // A1001 and A1002 now share no definition word; A1001 and B2001 nothing at all.
        assert_eq!(index.pair(0, 1)[0], 0.0);
        assert_eq!(index.pair(0, 2)[0], 0.0);
        // Only A1001 states a level: the level columns are 0 against the other two.
        assert_eq!(index.pair(0, 0)[7..10], [1.0, 0.0, 0.0]);
        assert!((1..3).all(|t| index.pair(0, t)[7..10].iter().all(|v| *v == 0.0)));
    }

    #[test]
    fn descriptor_columns_of_the_tiny_export_match_hand_computed_values() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let index = DescriptorIndex::new(&cat);
        let columns = |anchor: usize| -> Vec<Vec<f64>> {
            let rows: Vec<[f64; N_DESCRIPTORS]> = (0..3).map(|t| index.pair(anchor, t)).collect();
            (0..N_DESCRIPTORS).map(|j| rows.iter().map(|r| r[j]).collect()).collect()
        };
        // Anchor A1001 (id 0) against A1001, A1002, B2001.
        let c = columns(0);
        // Sectors {10, 20} vs {10, 30}: 1 / 3; vs {30}: 0. Main 10 shared with A1002.
        assert_eq!(c[3], vec![1.0, 1.0 / 3.0, 0.0]);
        assert_eq!(c[4], vec![1.0, 1.0, 0.0]);
        // Sub-sectors {101} vs none.
        assert_eq!(c[5], vec![1.0, 0.0, 0.0]);
        // Themes {1} vs {1, 2}: 1 / 2.
        assert_eq!(c[6], vec![1.0, 0.5, 0.0]);
        // Levels: A1001 Bac+2 = 5; A1002 CAP..Bac = 3.5; B2001 states none.
        assert_eq!(c[7], vec![1.0, 1.0, 0.0]);
        assert_eq!(c[8], vec![0.0, -1.5, 0.0]);
        assert_eq!(c[9], vec![0.0, 1.5, 0.0]);
        // cadre: A1001 O, A1002 N, B2001 unknown (0.5); the anchor is cadre.
        assert_eq!(c[10], vec![1.0, 0.0, 0.5]);
        assert_eq!(c[11], vec![0.0, 0.0, 0.0]);
        assert_eq!(c[12], vec![0.0, 1.0, 0.5]);
        // Definitions: A1001 "pose cables fibre optique", A1002 "pose raccorde cables", B2001
        // "soude pieces" (words of 4+ letters). N = 3: idf(pose) = idf(cables) = ln(4/3),
        // idf(fibre) = idf(optique) = idf(raccorde) = ln 2; all counts 1.
        let (i2, i1) = ((4.0f64 / 3.0).ln(), 2.0f64.ln());
        let na = (2.0 * i2 * i2 + 2.0 * i1 * i1).sqrt();
        let nb = (2.0 * i2 * i2 + i1 * i1).sqrt();
        let want = 2.0 * i2 * i2 / (na * nb);
        assert!((c[0][1] - want).abs() < 1e-6, "{} vs {want}", c[0][1]);
        assert_eq!(c[0][2], 0.0);
        // The anchor's own entry is left at 0.
        assert_eq!(c[0][0], 0.0);
        // Titles: "monteur fibre optique" vs "monteur cableur raccordeur": shared "monteur",
        // idf ln(4/3); A1002's words each count once.
        let want = {
            let (m, o) = ((4.0f64 / 3.0).ln(), 2.0f64.ln());
            (m * m) / ((m * m + 2.0 * o * o).sqrt() * (m * m + 2.0 * o * o).sqrt())
        };
        assert!((c[2][1] - want).abs() < 1e-6, "{} vs {want}", c[2][1]);
        // Anchor B2001 (id 2): one main sector 30 shared with nobody's main sector.
        let b = columns(2);
        assert_eq!(b[4], vec![0.0, 0.0, 1.0]);
        assert_eq!(b[3], vec![0.0, 1.0 / 2.0, 1.0]);
        // No level stated for the anchor: every level column is 0.
        assert!(b[7].iter().chain(&b[8]).chain(&b[9]).all(|v| *v == 0.0));
        // The weighted sums equal the weighted pair features, for every anchor.
        let w: [f64; N_DESCRIPTORS] =
            std::array::from_fn(|j| 0.5 + j as f64 * 0.25 - if j % 3 == 0 { 2.0 } else { 0.0 });
        for anchor in 0..3 {
            let mut z = vec![1.0; 3];
            index.add_weighted(anchor, &w, &mut z);
            for (t, zt) in z.iter().enumerate() {
                let want = 1.0 + index.pair(anchor, t).iter().zip(&w).map(|(x, w)| x * w).sum::<f64>();
                assert!((zt - want).abs() < 1e-12, "anchor {anchor}, t {t}: {zt} vs {want}");
            }
        }
    }
}
