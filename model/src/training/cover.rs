//! Weighted set cover with a budget: choose sets (certifications) covering as many elements
//! (missing core skills) as possible, and among those covers the one of least total cost
//! (hours), never exceeding the budget (max total hours).
//!
//! Objective, lexicographic: (1) most elements covered, (2) least cost, (3) the
//! lexicographically smallest list of set indices (determinism). Without a binding budget,
//! (1) covers every coverable element and this is the classic minimum-cost set cover.
//!
//! - [`exact`]: branch and bound on the uncovered element with the fewest candidate sets
//!   (each branch takes one of those sets, the sets already tried are forbidden in later
//!   branches, and one branch gives the element up, which only a budget can make useful).
//!   Pruned by the bound "elements covered + elements still coverable by allowed, affordable
//!   sets" and, when only a tie on that count is possible, by the cost lower bound "each open
//!   element pays at least the cheapest cost per open element of a set holding it". Used up to [`EXACT_MAX_ELEMENTS`] elements and [`EXACT_MAX_SETS`] sets (after
//!   removing dominated sets), and [`EXACT_NODE_LIMIT`] search nodes.
//! - [`greedy`]: repeatedly takes the affordable set of least cost per newly covered
//!   element. Without a budget its cost is at most H(d) ≤ ln(d) + 1 times the optimum, d the
//!   size of the largest set (Chvátal 1979); with a budget it has no such guarantee.
//! - [`solve`]: exact when the instance is small enough, greedy otherwise, and says which.

use serde::Serialize;

/// Largest number of elements the exact solver takes (a 64-bit mask).
pub const EXACT_MAX_ELEMENTS: usize = 64;
/// Largest number of (non-dominated) sets the exact solver takes.
pub const EXACT_MAX_SETS: usize = 64;
/// Search nodes after which the exact solver gives up (the greedy answer is used).
pub const EXACT_NODE_LIMIT: u64 = 50_000;

const EPS: f64 = 1e-9;

/// A candidate set: the elements (indices `< n_elements`) it covers and its cost (≥ 0).
#[derive(Debug, Clone, PartialEq)]
pub struct CoverSet {
    /// Elements covered, any order, no duplicates needed.
    pub elements: Vec<usize>,
    /// Cost (hours), finite and ≥ 0.
    pub cost: f64,
}

/// An instance.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverProblem {
    /// Number of elements.
    pub n_elements: usize,
    /// Candidate sets.
    pub sets: Vec<CoverSet>,
    /// Largest total cost; `None` for no limit.
    pub budget: Option<f64>,
}

/// Which algorithm produced a solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Solver {
    /// Proven optimal (branch and bound).
    Exact,
    /// Greedy: within H(d) ≤ ln(d) + 1 of the optimal cost when no budget binds.
    Greedy,
}

/// A solution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverSolution {
    /// Indices of the chosen sets, increasing.
    pub chosen: Vec<usize>,
    /// Whether each element is covered by a chosen set.
    pub covered: Vec<bool>,
    /// Total cost of the chosen sets.
    pub cost: f64,
    /// The algorithm used.
    pub solver: Solver,
}

impl CoverSolution {
    /// Number of covered elements.
    pub fn covered_count(&self) -> usize {
        self.covered.iter().filter(|c| **c).count()
    }

    fn from_chosen(problem: &CoverProblem, mut chosen: Vec<usize>, solver: Solver) -> Self {
        chosen.sort_unstable();
        let mut covered = vec![false; problem.n_elements];
        let mut cost = 0.0;
        for &j in &chosen {
            cost += problem.sets[j].cost;
            for &e in &problem.sets[j].elements {
                if let Some(c) = covered.get_mut(e) {
                    *c = true;
                }
            }
        }
        CoverSolution { chosen, covered, cost, solver }
    }
}

fn budget(problem: &CoverProblem) -> f64 {
    problem.budget.unwrap_or(f64::INFINITY)
}

/// Better under the lexicographic objective (count desc, cost asc, indices asc).
fn better(count: u32, cost: f64, chosen: &[usize], best: &(u32, f64, Vec<usize>)) -> bool {
    if count != best.0 {
        return count > best.0;
    }
    if (cost - best.1).abs() > EPS {
        return cost < best.1;
    }
    let mut a = chosen.to_vec();
    a.sort_unstable();
    a < best.2
}

/// Greedy: least cost per newly covered element among the affordable sets, until none adds
/// anything (ties: more new elements, then lower index).
pub fn greedy(problem: &CoverProblem) -> CoverSolution {
    let limit = budget(problem);
    let mut covered = vec![false; problem.n_elements];
    let mut used = vec![false; problem.sets.len()];
    let mut chosen = Vec::new();
    let mut cost = 0.0;
    loop {
        let mut pick: Option<(usize, f64, usize)> = None;
        for (j, set) in problem.sets.iter().enumerate() {
            if used[j] || cost + set.cost > limit + EPS {
                continue;
            }
            let mut seen = Vec::new();
            for &e in &set.elements {
                if e < covered.len() && !covered[e] && !seen.contains(&e) {
                    seen.push(e);
                }
            }
            let new = seen.len();
            if new == 0 {
                continue;
            }
            let ratio = set.cost / new as f64;
            let take = match pick {
                None => true,
                Some((_, r, n)) => ratio < r - EPS || ((ratio - r).abs() <= EPS && new > n),
            };
            if take {
                pick = Some((j, ratio, new));
            }
        }
        let Some((j, _, _)) = pick else { break };
        used[j] = true;
        cost += problem.sets[j].cost;
        for &e in &problem.sets[j].elements {
            if let Some(c) = covered.get_mut(e) {
                *c = true;
            }
        }
        chosen.push(j);
    }
    CoverSolution::from_chosen(problem, chosen, Solver::Greedy)
}

struct Search<'a> {
    masks: &'a [u64],
    costs: &'a [f64],
    limit: f64,
    nodes: u64,
    aborted: bool,
    best: (u32, f64, Vec<usize>),
}

impl Search<'_> {
    /// `cost` plus a lower bound on the cost of covering every element of `open`: each
    /// element pays at least the cheapest price per open element of an allowed set holding it.
    fn lower_bound(&self, open: u64, forbidden: u64, cost: f64) -> f64 {
        let mut price = [f64::INFINITY; 64];
        for (j, &m) in self.masks.iter().enumerate() {
            let hit = m & open;
            if forbidden & (1 << j) != 0 || hit == 0 || cost + self.costs[j] > self.limit + EPS {
                continue;
            }
            let per = self.costs[j] / f64::from(hit.count_ones());
            let mut rest = hit;
            while rest != 0 {
                let e = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                if per < price[e] {
                    price[e] = per;
                }
            }
        }
        let mut total = cost;
        let mut rest = open;
        while rest != 0 {
            let e = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            total += price[e];
        }
        total
    }

    fn run(&mut self, covered: u64, abandoned: u64, forbidden: u64, cost: f64, chosen: &mut Vec<usize>) {
        self.nodes += 1;
        if self.nodes > EXACT_NODE_LIMIT {
            self.aborted = true;
            return;
        }
        let mut reachable = 0u64;
        for (j, &m) in self.masks.iter().enumerate() {
            if forbidden & (1 << j) == 0 && cost + self.costs[j] <= self.limit + EPS {
                reachable |= m;
            }
        }
        let count = covered.count_ones();
        let bound = (covered | (reachable & !abandoned)).count_ones();
        if bound < self.best.0 || (bound == self.best.0 && cost > self.best.1 + EPS) {
            return;
        }
        if bound == self.best.0
            && self.lower_bound(reachable & !covered & !abandoned, forbidden, cost) > self.best.1 + EPS
        {
            // Tying the best count means covering every open element: not cheaply enough.
            return;
        }
        if better(count, cost, chosen, &self.best) {
            let mut c = chosen.clone();
            c.sort_unstable();
            self.best = (count, cost, c);
        }
        let open = reachable & !covered & !abandoned;
        if open == 0 {
            return;
        }
        // Branch on the open element with the fewest allowed, affordable sets.
        let allowed = |e: u32| -> Vec<usize> {
            let mut sets: Vec<usize> = (0..self.masks.len())
                .filter(|&j| {
                    forbidden & (1 << j) == 0
                        && self.masks[j] & (1 << e) != 0
                        && cost + self.costs[j] <= self.limit + EPS
                })
                .collect();
            sets.sort_by(|&a, &b| self.costs[a].total_cmp(&self.costs[b]).then(a.cmp(&b)));
            sets
        };
        let mut element = open.trailing_zeros();
        let mut sets = allowed(element);
        let mut rest = open & !(1 << element);
        while rest != 0 {
            let e = rest.trailing_zeros();
            rest &= !(1 << e);
            let s = allowed(e);
            if s.len() < sets.len() {
                element = e;
                sets = s;
            }
        }
        let mut tried = 0u64;
        for &j in &sets {
            chosen.push(j);
            self.run(covered | self.masks[j], abandoned, forbidden | tried | (1 << j), cost + self.costs[j], chosen);
            chosen.pop();
            tried |= 1 << j;
            if self.aborted {
                return;
            }
        }
        // Give the element up: no set containing it may be taken from here on.
        self.run(covered, abandoned | (1 << element), forbidden | tried, cost, chosen);
    }
}

/// Exact branch and bound (see module docs); `None` when the instance is too large or the
/// node limit is reached.
pub fn exact(problem: &CoverProblem) -> Option<CoverSolution> {
    if problem.n_elements > EXACT_MAX_ELEMENTS || problem.sets.len() > EXACT_MAX_SETS {
        return None;
    }
    let masks: Vec<u64> = problem
        .sets
        .iter()
        .map(|s| s.elements.iter().filter(|&&e| e < problem.n_elements).fold(0u64, |m, &e| m | (1 << e)))
        .collect();
    let costs: Vec<f64> = problem.sets.iter().map(|s| s.cost).collect();
    // Start from the greedy answer: a good incumbent prunes early.
    let start = greedy(problem);
    let mut search = Search {
        masks: &masks,
        costs: &costs,
        limit: budget(problem),
        nodes: 0,
        aborted: false,
        best: (start.covered_count() as u32, start.cost, start.chosen),
    };
    search.run(0, 0, 0, 0.0, &mut Vec::new());
    if search.aborted {
        return None;
    }
    Some(CoverSolution::from_chosen(problem, search.best.2, Solver::Exact))
}

/// Removes sets that another set dominates (covers a superset at no greater cost; among
/// equals the lower index stays). Returns the kept indices.
pub fn undominated(problem: &CoverProblem) -> Vec<usize> {
    // Identical sets first (certifications leading to the same occupation often are): keep
    // the cheapest, then the lowest index. Then strict supersets at no greater cost.
    let mut cheapest: std::collections::HashMap<Vec<usize>, usize> = std::collections::HashMap::new();
    for (j, s) in problem.sets.iter().enumerate() {
        let mut e: Vec<usize> = s.elements.iter().copied().filter(|&e| e < problem.n_elements).collect();
        e.sort_unstable();
        e.dedup();
        if e.is_empty() {
            continue;
        }
        let slot = cheapest.entry(e).or_insert(j);
        if problem.sets[j].cost < problem.sets[*slot].cost - EPS {
            *slot = j;
        }
    }
    let unique: Vec<(Vec<usize>, usize)> = cheapest.into_iter().collect();
    let subset = |a: &[usize], b: &[usize]| a.len() < b.len() && a.iter().all(|x| b.binary_search(x).is_ok());
    let mut kept: Vec<usize> = unique
        .iter()
        .filter(|(set, j)| {
            !unique.iter().any(|(other, k)| subset(set, other) && problem.sets[*k].cost <= problem.sets[*j].cost + EPS)
        })
        .map(|(_, j)| *j)
        .collect();
    kept.sort_unstable();
    kept
}

/// Exact after removing dominated sets when the instance is small enough, greedy otherwise.
pub fn solve(problem: &CoverProblem) -> CoverSolution {
    let kept = undominated(problem);
    let reduced = CoverProblem {
        n_elements: problem.n_elements,
        sets: kept.iter().map(|&j| problem.sets[j].clone()).collect(),
        budget: problem.budget,
    };
    let solution = exact(&reduced).unwrap_or_else(|| greedy(&reduced));
    let chosen = solution.chosen.iter().map(|&j| kept[j]).collect();
    CoverSolution::from_chosen(problem, chosen, solution.solver)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn problem(n: usize, sets: &[(&[usize], f64)], budget: Option<f64>) -> CoverProblem {
        CoverProblem {
            n_elements: n,
            sets: sets.iter().map(|(e, c)| CoverSet { elements: e.to_vec(), cost: *c }).collect(),
            budget,
        }
    }

    /// Every subset, for checking the exact solver on small instances.
    fn brute_force(p: &CoverProblem) -> (usize, f64) {
        let mut best = (0usize, 0.0f64);
        for mask in 0u32..(1 << p.sets.len()) {
            let chosen: Vec<usize> = (0..p.sets.len()).filter(|j| mask & (1 << j) != 0).collect();
            let s = CoverSolution::from_chosen(p, chosen, Solver::Exact);
            if s.cost > budget(p) + EPS {
                continue;
            }
            let n = s.covered_count();
            if n > best.0 || (n == best.0 && s.cost < best.1 - EPS) {
                best = (n, s.cost);
            }
        }
        best
    }

    #[test]
    fn greedy_trap_is_solved_exactly() {
        // Elements 0..6. Greedy takes the big cheap-per-element set {0,1,2,3} (cost 4, 1 per
        // element) and then needs {4} and {5}; the optimum is {0,1,4} + {2,3,5} = 6 h.
        let p =
            problem(6, &[(&[0, 1, 2, 3], 4.0), (&[0, 1, 4], 3.0), (&[2, 3, 5], 3.0), (&[4], 2.5), (&[5], 2.5)], None);
        let g = greedy(&p);
        assert_eq!(g.chosen, vec![0, 3, 4]);
        assert!((g.cost - 9.0).abs() < 1e-9);
        let e = exact(&p).expect("small");
        assert_eq!(e.chosen, vec![1, 2]);
        assert!((e.cost - 6.0).abs() < 1e-9);
        assert_eq!(e.covered_count(), 6);
        assert_eq!(solve(&p).chosen, vec![1, 2]);
        assert_eq!(solve(&p).solver, Solver::Exact);
    }

    #[test]
    fn exact_and_greedy_agree_where_greedy_is_optimal() {
        // Disjoint sets: greedy is optimal.
        let p = problem(5, &[(&[0, 1], 2.0), (&[2, 3], 5.0), (&[4], 1.0), (&[0, 1, 2, 3, 4], 100.0)], None);
        let g = greedy(&p);
        let e = exact(&p).expect("small");
        assert_eq!(g.chosen, e.chosen);
        assert_eq!(e.chosen, vec![0, 1, 2]);
        assert!((e.cost - 8.0).abs() < 1e-9);
    }

    #[test]
    fn budget_keeps_most_coverage_then_least_cost() {
        // Budget 10: {0,1,2} at 10 covers 3; {0} 4 + {1} 4 covers 2 at 8; the optimum covers 3.
        let p = problem(4, &[(&[0, 1, 2], 10.0), (&[0], 4.0), (&[1], 4.0), (&[3], 11.0)], Some(10.0));
        let e = exact(&p).expect("small");
        assert_eq!(e.chosen, vec![0]);
        assert_eq!(e.covered, vec![true, true, true, false]);
        // Nothing affordable: empty plan.
        let none = problem(2, &[(&[0, 1], 5.0)], Some(4.0));
        assert_eq!(solve(&none).chosen, Vec::<usize>::new());
    }

    #[test]
    fn dominated_sets_are_dropped() {
        let p = problem(3, &[(&[0], 5.0), (&[0, 1], 5.0), (&[0, 1], 5.0), (&[2], 1.0), (&[], 0.0)], None);
        assert_eq!(undominated(&p), vec![1, 3]);
    }

    fn instances() -> impl Strategy<Value = CoverProblem> {
        (1usize..10, 0usize..9).prop_flat_map(|(n, m)| {
            let set = (proptest::collection::vec(0..n, 0..5), 0.0f64..50.0)
                .prop_map(|(elements, cost)| CoverSet { elements, cost: (cost * 2.0).round() / 2.0 });
            (Just(n), proptest::collection::vec(set, m), proptest::option::of(0.0f64..120.0))
                .prop_map(|(n_elements, sets, budget)| CoverProblem { n_elements, sets, budget })
        })
    }

    proptest! {
        #[test]
        fn solutions_cover_what_they_claim_within_budget(p in instances()) {
            for s in [greedy(&p), exact(&p).expect("small"), solve(&p)] {
                prop_assert!(s.cost <= budget(&p) + 1e-6);
                let recomputed = CoverSolution::from_chosen(&p, s.chosen.clone(), s.solver);
                prop_assert_eq!(&recomputed.covered, &s.covered);
                prop_assert!((recomputed.cost - s.cost).abs() < 1e-6);
            }
        }

        #[test]
        fn exact_matches_brute_force_and_never_loses_to_greedy(p in instances()) {
            let e = exact(&p).expect("small");
            let (n, cost) = brute_force(&p);
            prop_assert_eq!(e.covered_count(), n);
            prop_assert!((e.cost - cost).abs() < 1e-6, "exact {} vs optimum {}", e.cost, cost);
            let g = greedy(&p);
            prop_assert!(g.covered_count() < n || g.cost >= cost - 1e-6);
            let s = solve(&p);
            prop_assert_eq!(s.covered_count(), n);
            prop_assert!((s.cost - cost).abs() < 1e-6);
        }
    }
}
