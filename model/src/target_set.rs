//! Named target sets ("which occupations may be recommended"), defined by rules over the ROME
//! data rather than by a hand-written list, in a TOML file that operators can replace.
//!
//! An occupation belongs to a set when any rule matches and it is not excluded:
//! - `rome_v3_parents`: its `code_rome_parent` (the ROME v3 fiche it comes from) is listed;
//! - `label_rules`: its `transition_num` flag is `O` (when `transition_num_only`), its
//!   domaine professionnel starts with one of `domaines` (all when empty), and its label
//!   contains one of `keywords` (case- and accent-insensitive, whole-word prefix);
//! - `include`: its ROME code is listed.
//!
//! `exclude` removes codes. Every code named in the file must exist in the catalogue (any
//! case, as the API reads codes), every `domaines` prefix must be non-empty and start a
//! domaine of the catalogue, and every set needs a non-empty `description`.
//! The set `ALL` (every occupation) always exists and cannot be redefined.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::catalogue::{is_rome_code, Catalogue, OccupationId};
use crate::error::{echo, mask_hidden, DataError};

/// Name of the set that holds every occupation.
pub const ALL: &str = "ALL";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    sets: BTreeMap<String, SetRules>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetRules {
    description: String,
    #[serde(default)]
    rome_v3_parents: Vec<String>,
    #[serde(default)]
    label_rules: Vec<LabelRule>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelRule {
    #[serde(default)]
    transition_num_only: bool,
    #[serde(default)]
    domaines: Vec<String>,
    keywords: Vec<String>,
}

/// One resolved target set.
#[derive(Debug, Clone)]
pub struct TargetSet {
    /// Upper-case name, e.g. `DIGITAL_INFRASTRUCTURE`.
    pub name: String,
    /// What the set is for, from the file.
    pub description: String,
    /// Member occupations, sorted.
    pub members: Vec<OccupationId>,
}

/// All target sets, resolved against a catalogue.
#[derive(Debug, Clone)]
pub struct TargetSets {
    sets: BTreeMap<String, TargetSet>,
}

/// Lower-case, accent-free form used for keyword matching.
pub fn fold(text: &str) -> String {
    deunicode::deunicode(text).to_lowercase()
}

/// A ROME code or domaine as written in the file, in the form of the catalogue (upper case,
/// trimmed), as the API reads codes.
fn normalise(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

/// Whether `label` contains `keyword` as the start of a word (both folded).
fn has_word_prefix(label: &str, keyword: &str) -> bool {
    label.match_indices(keyword).any(|(i, _)| i == 0 || !label.as_bytes()[i - 1].is_ascii_alphanumeric())
}

impl TargetSets {
    /// Parses the TOML rules and resolves them against `catalogue`.
    ///
    /// # Errors
    /// [`DataError::Invalid`] naming `file` for malformed TOML, an unknown key, a set named
    /// `ALL`, an empty description, a code that is not in the catalogue, a `domaines` prefix
    /// that is empty or starts no domaine, an empty keyword or one with no letter or digit,
    /// or a set with no member.
    pub fn from_toml(file: &str, text: &str, catalogue: &Catalogue) -> Result<Self, DataError> {
        let invalid = |reason: String| DataError::Invalid { file: file.to_string(), reason };
        // serde reads a list as a struct's fields in order: `FIBRE_ONLY = ["I1315"]` under
        // `[sets]` would be a set described "I1315" with no rule. Refuse that shape first.
        // At the top level it would be an unknown key: the same way to write it is given.
        // A name is echoed where it is not checked yet: a bidirectional override in it
        // (U+202E) would turn the message around.
        let bare = |place: &str, name: &str| {
            let name = echo(name);
            invalid(format!(
                "{place}{name}: a bare list is not a set: write `include = [...]` under `[sets.{name}]` with a `description`"
            ))
        };
        let shape: Option<toml::Table> = toml::from_str(text).ok();
        if let Some(top) = shape.as_ref() {
            if let Some((name, _)) = top.iter().find(|(key, value)| *key != "sets" && value.is_array()) {
                return Err(bare("", name));
            }
        }
        if let Some(toml::Value::Table(sets)) = shape.as_ref().and_then(|t| t.get("sets")) {
            if let Some((name, _)) = sets.iter().find(|(_, rules)| rules.is_array()) {
                return Err(bare("sets.", name));
            }
        }
        // The parser's message quotes the line at fault, which may hold a set name.
        let parsed: File = toml::from_str(text).map_err(|e| invalid(mask_hidden(&e.to_string())))?;
        let mut sets = BTreeMap::new();
        let all = TargetSet {
            name: ALL.to_string(),
            description: "every occupation of the ROME".to_string(),
            members: catalogue.occupation_ids().collect(),
        };
        sets.insert(ALL.to_string(), all);
        let labels: Vec<String> = catalogue.occupations.iter().map(|o| fold(&o.label)).collect();
        for (raw_name, rules) in parsed.sets {
            // ASCII case only: `to_uppercase` maps the dotless `ı` and the long `ſ` to `I`
            // and `S`, so `dıgıtal` would have named `DIGITAL`.
            let name = raw_name.to_ascii_uppercase();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') {
                return Err(invalid(format!("sets.{}: a set name is letters A-Z, digits and _", echo(&raw_name))));
            }
            if name == ALL {
                return Err(invalid("the set ALL is built in and cannot be redefined".to_string()));
            }
            if sets.contains_key(&name) {
                return Err(invalid(format!("sets.{raw_name}: defined twice (names are case-insensitive)")));
            }
            if rules.description.trim().is_empty() {
                return Err(invalid(format!("sets.{raw_name}.description: required (what the set is for), but empty")));
            }
            // Codes in any case, as the API takes them (`i1315` is `I1315`).
            let code = |c: &String, key: &str| -> Result<OccupationId, DataError> {
                let normalised = normalise(c);
                if !is_rome_code(&normalised) {
                    return Err(invalid(format!("sets.{raw_name}.{key}: `{}` is not a ROME code", echo(c))));
                }
                catalogue
                    .occupation_id(&normalised)
                    .ok_or_else(|| invalid(format!("sets.{raw_name}.{key}: `{}` is not in the catalogue", echo(c))))
            };
            let parents: Vec<String> = rules.rome_v3_parents.iter().map(|c| normalise(c)).collect();
            for (c, given) in parents.iter().zip(&rules.rome_v3_parents) {
                if !catalogue.occupations.iter().any(|o| &o.rome_v3_parent == c) {
                    return Err(invalid(format!(
                        "sets.{raw_name}.rome_v3_parents: no occupation has code_rome_parent `{}`",
                        echo(given)
                    )));
                }
            }
            let include = rules.include.iter().map(|c| code(c, "include")).collect::<Result<Vec<_>, _>>()?;
            let exclude = rules.exclude.iter().map(|c| code(c, "exclude")).collect::<Result<Vec<_>, _>>()?;
            let mut keyword_rules: Vec<(bool, Vec<String>, Vec<String>)> = Vec::new();
            for (i, r) in rules.label_rules.iter().enumerate() {
                let domaines: Vec<String> = r.domaines.iter().map(|d| normalise(d)).collect();
                // Every domaine starts with the empty prefix: the rule would silently take them all.
                if domaines.iter().any(String::is_empty) {
                    return Err(invalid(format!(
                        "sets.{raw_name}.label_rules[{i}].domaines: an empty prefix would match every domaine \
                         (leave `domaines` out for all of them, or give a prefix such as `I` or `I13`)"
                    )));
                }
                // A prefix that starts no domaine would make the rule match nothing, silently.
                if let Some((_, given)) = domaines
                    .iter()
                    .zip(&r.domaines)
                    .find(|(d, _)| !catalogue.occupations.iter().any(|o| o.domaine.starts_with(d.as_str())))
                {
                    return Err(invalid(format!(
                        "sets.{raw_name}.label_rules[{i}].domaines: `{}` is no grand domaine or domaine \
                         professionnel of the catalogue (a prefix such as `I` or `I13`)",
                        echo(given)
                    )));
                }
                // Every title word starts with the empty keyword: the rule would silently take them all.
                if r.keywords.iter().any(|k| k.trim().is_empty()) {
                    return Err(invalid(format!(
                        "sets.{raw_name}.label_rules[{i}].keywords: an empty keyword would match every title \
                         (give a word or the start of one, such as `fibre`)"
                    )));
                }
                // A keyword of punctuation only (`-`, `/`) matches titles by their punctuation, not
                // by a word: the rule would silently take in unrelated titles.
                if let Some(k) = r.keywords.iter().find(|k| !fold(k).chars().any(|c| c.is_ascii_alphanumeric())) {
                    return Err(invalid(format!(
                        "sets.{raw_name}.label_rules[{i}].keywords: `{}` has no letter or digit and would match titles \
                         by their punctuation (give a word or the start of one, such as `fibre`)",
                        echo(k)
                    )));
                }
                keyword_rules.push((r.transition_num_only, domaines, r.keywords.iter().map(|k| fold(k)).collect()));
            }
            let mut members: Vec<OccupationId> = catalogue
                .occupation_ids()
                .filter(|&id| {
                    let occ = catalogue.occupation(id);
                    let label = &labels[id.0 as usize];
                    parents.contains(&occ.rome_v3_parent)
                        || include.contains(&id)
                        || keyword_rules.iter().any(|(num_only, domaines, keywords)| {
                            (!num_only || occ.transition_num == Some(true))
                                && (domaines.is_empty() || domaines.iter().any(|d| occ.domaine.starts_with(d.as_str())))
                                && keywords.iter().any(|k| has_word_prefix(label, k))
                        })
                })
                .filter(|id| !exclude.contains(id))
                .collect();
            members.sort_unstable();
            if members.is_empty() {
                return Err(invalid(format!("sets.{raw_name}: no occupation matches its rules")));
            }
            sets.insert(name.clone(), TargetSet { name, description: rules.description, members });
        }
        Ok(TargetSets { sets })
    }

    /// The set called `name` (ASCII case-insensitive: `digital_infrastructure` names
    /// `DIGITAL_INFRASTRUCTURE`, `dıgıtal_ınfrastructure` with dotless `ı` names nothing).
    pub fn get(&self, name: &str) -> Option<&TargetSet> {
        self.sets.get(&name.to_ascii_uppercase())
    }

    /// All sets, `ALL` included, by name.
    pub fn iter(&self) -> impl Iterator<Item = &TargetSet> {
        self.sets.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::tiny_files;

    #[test]
    fn rules_select_by_parent_keyword_and_exclusion() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let toml = r#"
            [sets.test]
            description = "t"
            rome_v3_parents = ["A1001"]
            exclude = ["A1002"]
            [[sets.test.label_rules]]
            keywords = ["metier b"]
        "#;
        let sets = TargetSets::from_toml("t.toml", toml, &cat).expect("valid");
        let codes: Vec<&str> =
            sets.get("TEST").expect("set").members.iter().map(|&id| cat.occupation(id).code.as_str()).collect();
        assert_eq!(codes, ["A1001", "B2001"]);
        assert_eq!(sets.get("all").expect("ALL").members.len(), 3);
    }

    #[test]
    fn transition_num_only_and_domaine_filters() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let toml = r#"
            [sets.num]
            description = "t"
            [[sets.num.label_rules]]
            transition_num_only = true
            domaines = ["A10"]
            keywords = ["Métier"]
        "#;
        let sets = TargetSets::from_toml("t.toml", toml, &cat).expect("valid");
        let members = &sets.get("NUM").expect("set").members;
        assert_eq!(members.len(), 1);
        assert_eq!(cat.occupation(members[0]).code, "A1001");
    }

    #[test]
    fn unknown_code_and_unknown_key_are_refused() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let err = TargetSets::from_toml("t.toml", "[sets.x]\ndescription='d'\ninclude=['C9999']\n", &cat)
            .expect_err("unknown code");
        assert_eq!(err.to_string(), "t.toml: sets.x.include: `C9999` is not in the catalogue");
        let err = TargetSets::from_toml("t.toml", "[sets.x]\ndescription='d'\nfoo=1\n", &cat).expect_err("unknown key");
        assert!(err.to_string().contains("unknown field `foo`"), "{err}");
        let twice = "[sets.Foo]\ndescription='d'\ninclude=['A1001']\n[sets.foo]\ndescription='d'\ninclude=['A1002']\n";
        let err = TargetSets::from_toml("t.toml", twice, &cat).expect_err("duplicate");
        assert!(err.to_string().contains("defined twice"), "{err}");
        // A bare list used to be read as the set's fields in order (a description, then
        // rome_v3_parents): refused by its shape, with the way to write it.
        for bare in ["[sets]\nFIBRE_ONLY = ['A1001']\n", "[sets]\nFIBRE_ONLY = ['fibre', ['A1001']]\n"] {
            let err = TargetSets::from_toml("t.toml", bare, &cat).expect_err("bare list");
            assert_eq!(
                err.to_string(),
                "t.toml: sets.FIBRE_ONLY: a bare list is not a set: write `include = [...]` under `[sets.FIBRE_ONLY]` with a `description`"
            );
        }
        // At the top level (as the README says) it was serde's "unknown field `FIBRE_ONLY`,
        // expected `sets`", without the way to write it.
        let top = "FIBRE_ONLY = ['A1001']
[sets.x]
description='d'
include=['A1001']
";
        let err = TargetSets::from_toml("t.toml", top, &cat).expect_err("bare list at the top level");
        assert_eq!(
            err.to_string(),
            "t.toml: FIBRE_ONLY: a bare list is not a set: write `include = [...]` under `[sets.FIBRE_ONLY]` with a `description`"
        );
        let spaced = "[sets.\" DIG \"]\ndescription='d'\ninclude=['A1001']\n";
        let err = TargetSets::from_toml("t.toml", spaced, &cat).expect_err("bad name");
        assert!(err.to_string().contains("a set name is letters A-Z, digits and _"), "{err}");
    }

    /// `description = ""` was accepted although the description is required.
    #[test]
    fn an_empty_description_is_refused_naming_the_set() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        for description in ["''", "'  '"] {
            let toml = format!("[sets.x]\ndescription={description}\ninclude=['A1001']\n");
            let err = TargetSets::from_toml("t.toml", &toml, &cat).expect_err("empty description");
            assert_eq!(err.to_string(), "t.toml: sets.x.description: required (what the set is for), but empty");
        }
    }

    /// `domaines = ["Z"]` was accepted and matched nothing.
    #[test]
    fn a_domaine_prefix_matching_no_domaine_is_refused_naming_it() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let toml = "[sets.x]\ndescription='d'\ninclude=['A1001']\n\
                    [[sets.x.label_rules]]\ndomaines=['A']\nkeywords=['metier']\n\
                    [[sets.x.label_rules]]\ndomaines=['A10', 'Z']\nkeywords=['metier']\n";
        let err = TargetSets::from_toml("t.toml", toml, &cat).expect_err("unknown domaine");
        assert_eq!(
            err.to_string(),
            "t.toml: sets.x.label_rules[1].domaines: `Z` is no grand domaine or domaine professionnel of the \
             catalogue (a prefix such as `I` or `I13`)"
        );
    }

    /// `dıgıtal_ınfrastructure` (dotless ı) named `DIGITAL_INFRASTRUCTURE` through Unicode
    /// upper-casing, in a request and in the file.
    #[test]
    fn set_names_ignore_ascii_case_only() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let sets =
            TargetSets::from_toml("t.toml", "[sets.fix]\ndescription='d'\ninclude=['A1001']\n", &cat).expect("ok");
        assert!(sets.get("Fix").is_some());
        assert!(sets.get("fıx").is_none());
        let err = TargetSets::from_toml("t.toml", "[sets.\"fıx\"]\ndescription='d'\ninclude=['A1001']\n", &cat)
            .expect_err("not A-Z");
        assert_eq!(err.to_string(), "t.toml: sets.fıx: a set name is letters A-Z, digits and _");
    }

    /// `domaines = [""]` was accepted and matched every domaine.
    #[test]
    fn an_empty_domaine_prefix_is_refused_naming_the_set_and_the_field() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        for empty in ["''", "' '"] {
            let toml = format!(
                "[sets.x]\ndescription='d'\n[[sets.x.label_rules]]\ndomaines=['A10']\nkeywords=['metier']\n\
                 [[sets.x.label_rules]]\ndomaines=['A10', {empty}]\nkeywords=['metier']\n"
            );
            let err = TargetSets::from_toml("t.toml", &toml, &cat).expect_err("empty domaine");
            assert_eq!(
                err.to_string(),
                "t.toml: sets.x.label_rules[1].domaines: an empty prefix would match every domaine (leave `domaines` \
                 out for all of them, or give a prefix such as `I` or `I13`)"
            );
        }
    }

    /// `keywords = [""]` was accepted and matched every occupation (`" "` most of them).
    #[test]
    fn an_empty_keyword_is_refused_naming_the_set_and_the_field() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        for empty in ["''", "' '"] {
            let toml = format!(
                "[sets.x]\ndescription='d'\n[[sets.x.label_rules]]\nkeywords=['metier']\n\
                 [[sets.x.label_rules]]\nkeywords=['metier', {empty}]\n"
            );
            let err = TargetSets::from_toml("t.toml", &toml, &cat).expect_err("empty keyword");
            assert_eq!(
                err.to_string(),
                "t.toml: sets.x.label_rules[1].keywords: an empty keyword would match every title (give a word or the \
                 start of one, such as `fibre`)"
            );
        }
    }

    /// `keywords = ["-"]` was accepted and matched titles by their punctuation.
    #[test]
    fn a_keyword_without_a_letter_or_digit_is_refused_naming_it() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        for (keyword, shown) in [("'-'", "-"), ("' / '", " / "), ("'–'", "–"), ("'\u{202E}.'", "?.")] {
            let toml = format!(
                "[sets.x]\ndescription='d'\n[[sets.x.label_rules]]\nkeywords=['metier']\n\
                 [[sets.x.label_rules]]\nkeywords=['metier', {keyword}]\n"
            );
            let err = TargetSets::from_toml("t.toml", &toml, &cat).expect_err("punctuation keyword");
            assert_eq!(
                err.to_string(),
                format!(
                    "t.toml: sets.x.label_rules[1].keywords: `{shown}` has no letter or digit and would match titles \
                     by their punctuation (give a word or the start of one, such as `fibre`)"
                )
            );
        }
        // A letter or a digit among punctuation is accepted.
        let toml = "[sets.x]\ndescription='d'\n[[sets.x.label_rules]]\nkeywords=['(b)', 'métier-', 'métier']\n";
        let sets = TargetSets::from_toml("t.toml", toml, &cat).expect("valid");
        assert_eq!(sets.get("x").map(|s| s.members.len()), Some(3));
    }

    /// A set name holding a bidirectional override (U+202E) was shown as is, turning the
    /// rest of the message around.
    #[test]
    fn a_set_name_is_echoed_with_invisible_characters_masked() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let toml = "[sets.\"fibre\u{202E}tes\"]\ndescription='d'\ninclude=['A1001']\n";
        let err = TargetSets::from_toml("t.toml", toml, &cat).expect_err("not A-Z");
        assert_eq!(err.to_string(), "t.toml: sets.fibre?tes: a set name is letters A-Z, digits and _");
        let err = TargetSets::from_toml("t.toml", "[sets]\n\"x\u{2067}y\" = ['A1001']\n", &cat).expect_err("bare");
        assert_eq!(
            err.to_string(),
            "t.toml: sets.x?y: a bare list is not a set: write `include = [...]` under `[sets.x?y]` with a `description`"
        );
        let err = TargetSets::from_toml("t.toml", "\"x\u{200F}y\" = ['A1001']\n", &cat).expect_err("bare, top");
        assert_eq!(
            err.to_string(),
            "t.toml: x?y: a bare list is not a set: write `include = [...]` under `[sets.x?y]` with a `description`"
        );
        // The TOML parser's message quotes the line at fault.
        let twice = "[sets.\"a\u{202E}b\"]\ndescription='d'\n[sets.\"a\u{202E}b\"]\ndescription='d'\n";
        let err = TargetSets::from_toml("t.toml", twice, &cat).expect_err("defined twice");
        assert_eq!(
            err.to_string(),
            "t.toml: TOML parse error at line 3, column 1\n  |\n3 | [sets.\"a?b\"]\n  | ^\ninvalid table header\n\
             duplicate key `\"a?b\"` in table `sets`\n"
        );
    }

    /// `include = ["i1315"]` was refused although the API takes codes in any case.
    #[test]
    fn codes_and_domaines_are_read_in_any_case() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let toml = "[sets.lower]\ndescription='d'\nrome_v3_parents=['b2001']\ninclude=['a1002']\n\
                    [sets.num]\ndescription='d'\nexclude=[' a1002 ']\n\
                    [[sets.num.label_rules]]\ndomaines=['a10']\nkeywords=['metier']\n";
        let sets = TargetSets::from_toml("t.toml", toml, &cat).expect("valid");
        let codes = |name: &str| -> Vec<String> {
            sets.get(name).expect("set").members.iter().map(|&id| cat.occupation(id).code.clone()).collect()
        };
        assert_eq!(codes("LOWER"), ["A1002", "B2001"]);
        assert_eq!(codes("NUM"), ["A1001"]);
        let err = TargetSets::from_toml("t.toml", "[sets.x]\ndescription='d'\ninclude=['c9999']\n", &cat)
            .expect_err("unknown code");
        assert_eq!(err.to_string(), "t.toml: sets.x.include: `c9999` is not in the catalogue");
    }

    #[test]
    fn word_prefix_matching_is_accent_insensitive() {
        assert!(has_word_prefix(&fold("Technicien réseaux mobiles"), &fold("reseau")));
        assert!(!has_word_prefix(&fold("Intégrateur"), &fold("grat")));
    }
}
