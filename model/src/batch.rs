//! Batch scoring: many queries against one engine on all cores (rayon), answers in input
//! order. The engine is immutable and shared, so this is a data-parallel map; the caller
//! decides the chunk size and so bounds the memory (the CLI and the streaming RPC pass
//! chunks of a few thousand profiles).

use rayon::prelude::*;

use crate::engine::{Engine, RecommendQuery, Recommendations};
use crate::error::QueryError;

/// Queries answered together on one thread by [`Engine::recommend_many`].
pub const GROUP: usize = 32;

impl Engine {
    /// Answers every query on rayon's global pool (one thread per core by default); the
    /// answer `i` is the answer to `queries[i]`, an error for an invalid query (the others
    /// are still answered).
    ///
    /// Queries are answered in groups of [`GROUP`] on each thread, so that each
    /// occupation's neighbourhood is read once per group rather than once per profile.
    pub fn recommend_many(&self, queries: &[RecommendQuery]) -> Vec<Result<Recommendations, QueryError>> {
        queries.par_chunks(GROUP).flat_map_iter(|group| self.recommend_chunk(group)).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::{ProfileQuery, RecommendQuery};
    use crate::error::QueryError;

    #[test]
    fn many_answers_equal_single_answers_in_order() {
        let engine = crate::embedded::engine().expect("embedded engine");
        let query = |code: &str| RecommendQuery {
            profile: ProfileQuery { occupation_code: Some(code.into()), ..Default::default() },
            top_k: Some(5),
            ..Default::default()
        };
        let mut queries = vec![query("I1315"), query("X9999"), query("F1602"), query("I1315")];
        for p in crate::synth::ProfileGenerator::new(engine.catalogue(), 3).take(2 * super::GROUP) {
            queries.push(RecommendQuery { profile: p.profile, top_k: Some(5), ..Default::default() });
        }
        let many = engine.recommend_many(&queries);
        assert_eq!(many.len(), queries.len());
        for (q, got) in queries.iter().zip(&many) {
            assert_eq!(got, &engine.recommend(q));
        }
        assert!(matches!(&many[1], Err(QueryError::UnknownOccupation { .. })));
    }
}
