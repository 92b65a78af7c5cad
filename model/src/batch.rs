//! Batch scoring: many queries against one engine on all cores (rayon), answers in input
//! order. The engine is immutable and shared, so this is a data-parallel map; the caller
//! decides the chunk size and so bounds the memory (the CLI and the streaming RPC pass
//! chunks of a few thousand profiles).

use rayon::prelude::*;

use crate::engine::{Engine, RecommendQuery, Recommendations};
use crate::error::QueryError;

impl Engine {
    /// Answers every query on rayon's global pool (one thread per core by default); the
    /// answer `i` is the answer to `queries[i]`, an error for an invalid query (the others
    /// are still answered).
    pub fn recommend_many(&self, queries: &[RecommendQuery]) -> Vec<Result<Recommendations, QueryError>> {
        queries.par_iter().map(|q| self.recommend(q)).collect()
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
        let queries = [query("I1315"), query("X9999"), query("F1602"), query("I1315")];
        let many = engine.recommend_many(&queries);
        assert_eq!(many.len(), 4);
        for (q, got) in queries.iter().zip(&many) {
            assert_eq!(got, &engine.recommend(q));
        }
        assert!(matches!(&many[1], Err(QueryError::UnknownOccupation { .. })));
    }
}
