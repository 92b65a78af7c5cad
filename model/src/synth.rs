//! Synthetic, real-shaped profiles for load tests and benchmarks (never for training or
//! evaluation, and never presented as real people).
//!
//! Each profile starts from a ROME occupation drawn uniformly from the catalogue, then:
//! - each of the occupation's items is removed with probability [`REMOVE_PROBABILITY`]
//!   ("never did this"), and
//! - 0 to [`MAX_ADDED`] items (uniform) are added, each drawn from the items of another
//!   occupation of the same domaine professionnel when there is one (experience from a
//!   neighbouring job), otherwise from any occupation.
//!
//! The stream is fully determined by the catalogue and the seed (`rand` 0.8 `StdRng`,
//! ChaCha12).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::catalogue::{Catalogue, OccupationId};
use crate::engine::ProfileQuery;

/// Probability that each item of the drawn occupation is removed from the profile.
pub const REMOVE_PROBABILITY: f64 = 0.1;
/// Largest number of items added from a neighbouring occupation.
pub const MAX_ADDED: usize = 5;

/// A generated profile with its identifier (`p0000001`, `p0000002`, … in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticProfile {
    /// Identifier, `p` and the 1-based position on 7 digits.
    pub id: String,
    /// The profile: an occupation code, added item codes and removed item codes.
    pub profile: ProfileQuery,
}

/// An endless, seeded iterator of [`SyntheticProfile`]s (see module docs); take as many as
/// needed.
#[derive(Debug)]
pub struct ProfileGenerator<'a> {
    catalogue: &'a Catalogue,
    rng: StdRng,
    by_domaine: std::collections::HashMap<&'a str, Vec<OccupationId>>,
    produced: u64,
}

impl<'a> ProfileGenerator<'a> {
    /// A generator over `catalogue` seeded with `seed`.
    pub fn new(catalogue: &'a Catalogue, seed: u64) -> Self {
        let mut by_domaine: std::collections::HashMap<&'a str, Vec<OccupationId>> = Default::default();
        for id in catalogue.occupation_ids() {
            by_domaine.entry(catalogue.occupation(id).domaine.as_str()).or_default().push(id);
        }
        ProfileGenerator { catalogue, rng: StdRng::seed_from_u64(seed), by_domaine, produced: 0 }
    }
}

impl Iterator for ProfileGenerator<'_> {
    type Item = SyntheticProfile;

    fn next(&mut self) -> Option<SyntheticProfile> {
        let cat = self.catalogue;
        let n = cat.occupations.len();
        if n == 0 {
            return None;
        }
        self.produced += 1;
        let own = OccupationId(self.rng.gen_range(0..n) as u32);
        let occupation = cat.occupation(own);
        let removed_item_codes: Vec<String> = occupation
            .items
            .iter()
            .filter(|_| self.rng.gen_bool(REMOVE_PROBABILITY))
            .map(|l| cat.item(l.item).code.to_string())
            .collect();
        let added = self.rng.gen_range(0..=MAX_ADDED);
        let mut item_codes = Vec::with_capacity(added);
        let neighbours: Vec<OccupationId> = self
            .by_domaine
            .get(occupation.domaine.as_str())
            .map(|v| v.iter().copied().filter(|&o| o != own).collect())
            .unwrap_or_default();
        for _ in 0..added {
            let from = if neighbours.is_empty() {
                OccupationId(self.rng.gen_range(0..n) as u32)
            } else {
                neighbours[self.rng.gen_range(0..neighbours.len())]
            };
            let items = &cat.occupation(from).items;
            if items.is_empty() {
                continue;
            }
            let code = cat.item(items[self.rng.gen_range(0..items.len())].item).code.to_string();
            if !item_codes.contains(&code) {
                item_codes.push(code);
            }
        }
        Some(SyntheticProfile {
            id: format!("p{:07}", self.produced),
            profile: ProfileQuery {
                occupation_code: Some(occupation.code.clone()),
                item_codes,
                removed_item_codes,
                ..ProfileQuery::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::tiny_files;

    #[test]
    fn same_seed_same_profiles_and_every_code_is_real() {
        let cat = Catalogue::from_files(&tiny_files()).expect("fixture");
        let a: Vec<_> = ProfileGenerator::new(&cat, 7).take(50).collect();
        let b: Vec<_> = ProfileGenerator::new(&cat, 7).take(50).collect();
        assert_eq!(a, b);
        assert_eq!(a[0].id, "p0000001");
        assert_eq!(a[49].id, "p0000050");
        for p in &a {
            let occ = p.profile.occupation_code.as_deref().expect("an occupation");
            let id = cat.occupation_id(occ).expect("a real ROME code");
            let own: Vec<u32> = cat.occupation(id).items.iter().map(|l| cat.item(l.item).code).collect();
            for code in &p.profile.removed_item_codes {
                assert!(own.contains(&code.parse().expect("number")), "removed items come from the occupation");
            }
            for code in &p.profile.item_codes {
                assert!(cat.item_id(code.parse().expect("number")).is_some());
            }
            assert!(p.profile.item_codes.len() <= MAX_ADDED);
        }
        let c: Vec<_> = ProfileGenerator::new(&cat, 8).take(50).collect();
        assert_ne!(a, c);
    }
}
