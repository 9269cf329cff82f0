//! Property tests of EZNAS trees: generation, crossover and mutation keep trees well formed
//! and within the height limit, printing round-trips, and everything is deterministic under
//! a seed.

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use zcnas_core::gp::variation::{
    crossover, generate, mutate, tournament, var_or, GenMethod, VarOrParams,
};
use zcnas_core::gp::{Node, Tree};

fn well_formed(t: &Tree) -> bool {
    Tree::from_nodes(t.nodes().to_vec()).is_ok() && Tree::parse(&t.to_string()).as_ref() == Ok(t)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn generated_trees_have_the_drawn_height(seed in any::<u64>(), lo in 0usize..4, extra in 0usize..4) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let hi = lo + extra;
        for method in [GenMethod::Full, GenMethod::Grow, GenMethod::HalfAndHalf] {
            let t = generate(&mut rng, lo, hi, method);
            prop_assert!(well_formed(&t));
            prop_assert!(t.height() <= hi);
            if method == GenMethod::Full {
                prop_assert!(t.height() >= lo);
            }
        }
    }

    #[test]
    fn crossover_and_mutation_stay_valid(seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = generate(&mut rng, 1, 6, GenMethod::HalfAndHalf);
        let b = generate(&mut rng, 1, 6, GenMethod::HalfAndHalf);
        let (c, d) = crossover(&mut rng, &a, &b);
        prop_assert!(well_formed(&c) && well_formed(&d));
        // Crossover exchanges material: the node multiset is conserved.
        let mut before: Vec<Node> = a.nodes().iter().chain(b.nodes()).copied().collect();
        let mut after: Vec<Node> = c.nodes().iter().chain(d.nodes()).copied().collect();
        before.sort_unstable();
        after.sort_unstable();
        prop_assert_eq!(before, after);
        let m = mutate(&mut rng, &a, 0, 3);
        prop_assert!(well_formed(&m));
        prop_assert!(m.height() <= a.height() + 3);
    }

    #[test]
    fn var_or_respects_the_static_limit(seed in any::<u64>(), max_h in 2usize..8) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let parents: Vec<Tree> = (0..6).map(|_| generate(&mut rng, 1, max_h, GenMethod::HalfAndHalf)).collect();
        let p = VarOrParams { cxpb: 0.4, mutpb: 0.4, max_height: max_h, mut_height: (0, 5) };
        let kids = var_or(&mut rng, &parents, 30, p);
        prop_assert_eq!(kids.len(), 30);
        for k in &kids {
            prop_assert!(well_formed(k));
            prop_assert!(k.height() <= max_h);
        }
    }

    #[test]
    fn deterministic_under_a_seed(seed in any::<u64>()) {
        let run = || {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let parents: Vec<Tree> = (0..5).map(|_| generate(&mut rng, 2, 6, GenMethod::HalfAndHalf)).collect();
            let p = VarOrParams { cxpb: 0.4, mutpb: 0.4, max_height: 10, mut_height: (0, 5) };
            let kids = var_or(&mut rng, &parents, 20, p);
            let sel = tournament(&mut rng, &[0.1, f64::NAN, 0.3, -0.2, 0.0], 5, 4);
            (kids, sel)
        };
        prop_assert_eq!(run(), run());
    }
}

#[test]
fn tournament_prefers_the_fittest_and_never_picks_nan_over_a_number() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let fit = [f64::NAN, 0.5, -0.5];
    let picks = tournament(&mut rng, &fit, 2000, 4);
    let ones = picks.iter().filter(|&&i| i == 1).count();
    // P(index 1 among 4 draws) = 1 - (2/3)^4 ~ 0.80.
    assert!((1500..1750).contains(&ones), "{ones}");
    // NaN wins only when all aspirants are NaN: (1/3)^4 ~ 1.2%.
    assert!(picks.iter().filter(|&&i| i == 0).count() < 60);
}
