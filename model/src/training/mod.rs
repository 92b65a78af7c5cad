//! Closing the gap: which certifications, how many hours, at what level.
//!
//! - [`catalogue`]: the training catalogue built from the ROME certifications, the curated
//!   facts of `data/training/` and an optional operator file.
//! - [`cover`]: weighted set cover (exact branch and bound, greedy fallback).
//! - [`plan`]: the planner: a target occupation's missing core skills → a training plan.
//!
//! Multi-step pathways, which use the planner at each step, are in [`crate::explore`].

pub mod catalogue;
pub mod cover;
pub mod plan;

use crate::error::QueryError;

/// Why a plan or exploration query was refused. Each variant names the request field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The profile (or top-level) part of the query is invalid.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The target occupation is missing (empty or blank), as `profile: required` for a
    /// missing profile.
    #[error("{field}: required")]
    MissingTarget {
        /// Request field (e.g. `target_occupation_code`).
        field: String,
    },
    /// The target occupation is not a ROME code of the catalogue.
    #[error("{field}: unknown ROME code `{code}`")]
    UnknownTarget {
        /// Request field (e.g. `target_occupation_code`).
        field: String,
        /// The code as received (cut).
        code: String,
    },
    /// A code given as a held certification is not a ROME certification.
    #[error("{field}: `{code}` is not the code_ogr of a ROME certification")]
    NotACertification {
        /// Request field (e.g. `constraints.held_certifications[0]`).
        field: String,
        /// The code as received (cut).
        code: String,
    },
    /// A numeric option is out of its documented range.
    #[error("{field}: {reason}")]
    OutOfRange {
        /// Request field.
        field: String,
        /// Accepted range and value received.
        reason: String,
    },
    /// The training catalogue was built on another ROME export than the engine's.
    #[error("the training catalogue does not match the loaded ROME data; reload both")]
    CatalogueMismatch,
}

impl PlanError {
    /// The request field this error is about (for a `BadRequest` field violation).
    pub fn field(&self) -> &str {
        match self {
            PlanError::Query(q) => q.field(),
            PlanError::MissingTarget { field }
            | PlanError::UnknownTarget { field, .. }
            | PlanError::NotACertification { field, .. }
            | PlanError::OutOfRange { field, .. } => field,
            PlanError::CatalogueMismatch => "",
        }
    }
}
