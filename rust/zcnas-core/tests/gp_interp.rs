//! The interpreter: scores are independent of batching and thread count, common
//! sub-expressions give the same numbers as separate evaluation, invalid programs score NaN.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use zcnas_core::gp::variation::{generate, GenMethod};
use zcnas_core::gp::{score_matrix, InMemory, Tensor, ToScalar, Tree, N_TERMINALS, TERMINALS};

fn network(rng: &mut ChaCha8Rng, n_inst: usize) -> InMemory {
    let instances = (0..n_inst)
        .map(|i| {
            let (c, h) = [(2usize, 4usize), (3, 3), (2, 2)][i % 3];
            (0..N_TERMINALS)
                .map(|t| {
                    let shape = if TERMINALS[t].starts_with("T3") {
                        vec![c, c, 3, 3]
                    } else {
                        vec![1, c, h, h]
                    };
                    let n: usize = shape.iter().product();
                    let data = (0..n).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
                    Some(Arc::new(Tensor::new(shape, data).unwrap()))
                })
                .collect()
        })
        .collect();
    InMemory { instances }
}

#[test]
fn batched_scores_equal_single_scores_on_any_pool() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let nets: Vec<InMemory> = (0..3).map(|_| network(&mut rng, 3)).collect();
    let mut trees: Vec<Tree> = (0..40)
        .map(|_| generate(&mut rng, 1, 5, GenMethod::HalfAndHalf))
        .collect();
    trees.extend(trees.clone()); // duplicates: every subtree is shared
    let refs: Vec<&Tree> = trees.iter().collect();
    let all = score_matrix(&refs, &nets, ToScalar::Mean).unwrap();
    let one_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let serial = one_pool.install(|| score_matrix(&refs, &nets, ToScalar::Mean).unwrap());
    for (k, t) in trees.iter().enumerate() {
        let single = score_matrix(&[t], &nets, ToScalar::Mean).unwrap();
        for j in 0..nets.len() {
            let (a, b, c) = (
                all[k * nets.len() + j],
                single[j],
                serial[k * nets.len() + j],
            );
            assert!(
                a.to_bits() == b.to_bits() && b.to_bits() == c.to_bits(),
                "{t}: {a} {b} {c}"
            );
        }
    }
    assert!(all.iter().filter(|v| v.is_finite()).count() > 20);
}

#[test]
fn invalid_programs_score_nan() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let net = network(&mut rng, 2);
    for expr in [
        "Add(T1D, T3)",
        "Invert(ZerosLike(T1D))",
        "Det(Numel(T1D))",
        "SymEigRatio(OnesLike(T3))",
    ] {
        let t = Tree::parse(expr).unwrap();
        let s = score_matrix(&[&t], std::slice::from_ref(&net), ToScalar::Mean).unwrap();
        assert!(s[0].is_nan(), "{expr}: {}", s[0]);
    }
    let t = Tree::parse("Numel(T1D)").unwrap();
    let s = score_matrix(&[&t], std::slice::from_ref(&net), ToScalar::L2).unwrap();
    // Mean over the instances of numel: (32 + 27) / 2.
    assert_eq!(s[0], 29.5);
}
