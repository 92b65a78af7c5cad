//! # passerelle-model
//!
//! The domain of Passerelle: which occupations a person could move to, how well their skills
//! fit, and what they lack. No network, no async: usable from the gRPC service, the CLI,
//! batch jobs and tests alike.
//!
//! - [`catalogue`]: the ROME 4.0 export (France Travail), validated and interned.
//! - [`features`]: pair features (profile, target), one definition for training and serving.
//! - [`descriptors`]: features comparing how the ROME describes two occupations (texts,
//!   titles, sectors, themes, diploma level, executive status).
//! - [`transition`]: the linfa logistic model, its training and its artifact.
//! - [`eval`]: the source-grouped held-out protocol and ranking metrics.
//! - [`target_set`]: named sets of target occupations defined by rules over the data.
//! - [`search`]: text search over ROME appellations, occupation and item labels.
//! - [`tension`]: DARES 2019 labour-market tension by job family and area, mapped to ROME.
//! - [`labels`]: catalogue labels interned for the life of the process (answers copy them freely).
//! - [`engine`]: the façade: resolve a profile, rank, explain the gap.
//! - [`training`]: the training catalogue and planner (certifications that close a gap).
//! - [`explore`]: multi-step pathways through up to two intermediate occupations.
//! - [`embedded`]: the default data and model compiled into the binary.
//! - [`batch`]: many queries on all cores, answers in input order.
//! - [`cohort`]: where a group of people can go and which core skills they most often lack.
//! - [`synth`]: seeded, real-shaped synthetic profiles for load tests and benchmarks.
//!
//! ```
//! use passerelle_model::engine::{ProfileQuery, RecommendQuery};
//! let engine = passerelle_model::embedded::engine()?;
//! let answer = engine.recommend(&RecommendQuery {
//!     profile: ProfileQuery { occupation_code: Some("I1315".into()), ..Default::default() },
//!     top_k: Some(5),
//!     target_set: "DIGITAL_INFRASTRUCTURE".into(),
//!     include_current_occupation: false,
//!     model_only: false,
//!     tension_weight: 0.0,
//!     max_other_skills: None,
//! })?;
//! assert_eq!(answer.results.len(), 5);
//! assert!(answer.results.iter().all(|r| (0.0..=1.0).contains(&r.probability)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod batch;
pub mod boost;
pub mod catalogue;
pub mod cohort;
mod csv_rows;
pub mod descriptors;
pub mod embedded;
pub mod embedding;
pub mod engine;
pub mod error;
pub mod eval;
pub mod explore;
pub mod features;
mod head;
pub mod labels;
pub mod search;
pub mod synth;
pub mod target_set;
pub mod tension;
pub mod training;
pub mod transition;

#[cfg(test)]
mod fixtures;
