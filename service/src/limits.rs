//! Per-request quotas set by the operator (`max_profile_items`, `max_top_k`), at most the
//! engine's hard caps, checked before any scoring. A breach is the same
//! [`QueryError`] the engine gives at its own caps, so the client sees the same
//! `INVALID_ARGUMENT` with a `BadRequest` field violation, naming the configured maximum.

use passerelle_model::engine::{ProfileQuery, RecommendQuery, DEFAULT_TOP_K, MAX_PROFILE_ITEMS, MAX_TOP_K};
use passerelle_model::error::QueryError;

/// The quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Most entries in each item list of a profile (`item_codes`, `removed_item_codes`).
    pub max_profile_items: usize,
    /// Largest `top_k`.
    pub max_top_k: u32,
}

impl Default for RequestLimits {
    /// The engine's hard caps: 1000 items per list, `top_k` 100.
    fn default() -> Self {
        RequestLimits { max_profile_items: MAX_PROFILE_ITEMS, max_top_k: MAX_TOP_K }
    }
}

impl RequestLimits {
    /// Checks a query against the quotas (the engine checks its own caps and the rest).
    ///
    /// # Errors
    /// [`QueryError::TooManyItems`] naming `profile.item_codes` or
    /// `profile.removed_item_codes`; [`QueryError::TopKOutOfRange`].
    pub fn check(&self, query: &RecommendQuery) -> Result<(), QueryError> {
        self.check_profile(&query.profile)?;
        let top_k = query.top_k.unwrap_or(DEFAULT_TOP_K.min(self.max_top_k));
        if !(1..=self.max_top_k).contains(&top_k) {
            return Err(QueryError::TopKOutOfRange { got: top_k, max: self.max_top_k });
        }
        Ok(())
    }

    /// Checks a profile's item lists against `max_profile_items` (also for the profiles of
    /// `PlanTraining` and `ExplorePathways`).
    ///
    /// # Errors
    /// [`QueryError::TooManyItems`] naming `profile.item_codes` or `profile.removed_item_codes`.
    pub fn check_profile(&self, profile: &ProfileQuery) -> Result<(), QueryError> {
        for (field, list) in
            [("profile.item_codes", &profile.item_codes), ("profile.removed_item_codes", &profile.removed_item_codes)]
        {
            if list.len() > self.max_profile_items {
                return Err(QueryError::TooManyItems {
                    field: field.to_string(),
                    got: list.len(),
                    max: self.max_profile_items,
                });
            }
        }
        Ok(())
    }

    /// The `top_k` used when the request has none: 10, or `max_top_k` when smaller.
    pub fn default_top_k(&self) -> u32 {
        DEFAULT_TOP_K.min(self.max_top_k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_model::engine::ProfileQuery;

    fn query(items: usize, removed: usize, top_k: Option<u32>) -> RecommendQuery {
        RecommendQuery {
            profile: ProfileQuery {
                occupation_code: None,
                item_codes: vec!["100023".into(); items],
                removed_item_codes: vec!["100063".into(); removed],
                ..ProfileQuery::default()
            },
            top_k,
            target_set: "ALL".into(),
            include_current_occupation: false,
            model_only: false,
            tension_weight: 0.0,
            max_other_skills: None,
        }
    }

    #[test]
    fn quotas_name_the_field_and_the_configured_maximum() {
        let limits = RequestLimits { max_profile_items: 3, max_top_k: 5 };
        assert_eq!(limits.check(&query(3, 3, Some(5))), Ok(()));
        assert_eq!(
            limits.check(&query(4, 0, None)).map_err(|e| e.to_string()),
            Err("profile.item_codes: 4 entries, at most 3 are accepted".to_string())
        );
        assert_eq!(
            limits.check(&query(0, 4, None)).map_err(|e| e.to_string()),
            Err("profile.removed_item_codes: 4 entries, at most 3 are accepted".to_string())
        );
        assert_eq!(
            limits.check(&query(1, 0, Some(6))).map_err(|e| e.to_string()),
            Err("top_k: 6 is out of range 1..=5".to_string())
        );
        assert_eq!(limits.default_top_k(), 5);
        assert_eq!(RequestLimits::default().default_top_k(), 10);
    }
}
