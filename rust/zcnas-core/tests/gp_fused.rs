//! The fused interpreter (element-wise chains in one pass, in-place maps, reductions fed
//! directly, networks split into instance ranges) gives the same values, bit for bit, as the
//! operation-by-operation path, on random programs rich in element-wise chains over tensors
//! that broadcast in every way the operations allow (same shape, one element, `(1, C, 1, 1)`)
//! and hold zeros, signed zeros, NaN and infinities.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use zcnas_core::gp::interp::Terminals;
use zcnas_core::gp::variation::crossover;
use zcnas_core::gp::{
    eval_tensor, eval_tensor_unfused, score_matrix, score_network, score_network_unfused, InMemory,
    Op, Tensor, ToScalar, Tree, N_TERMINALS, TERMINALS,
};

const ELEMENTWISE: [&str; 20] = [
    "Add",
    "Sub",
    "Mul",
    "Lt",
    "Gt",
    "Eq",
    "Log",
    "AbsLog",
    "Abs",
    "Square",
    "Exp",
    "Relu",
    "Sign",
    "Heaviside",
    "Invert",
    "Sigmoid",
    "OnesLike",
    "ZerosLike",
    "GtZero",
    "LtZero",
];

fn value(rng: &mut ChaCha8Rng) -> f64 {
    match rng.random_range(0..100) {
        0..=3 => 0.0,
        4 => -0.0,
        5 => f64::NAN,
        6 => f64::INFINITY,
        7 => f64::NEG_INFINITY,
        8..=10 => rng.random_range(-3i32..4).into(),
        11..=13 => 800.0 * (rng.random::<f64>() - 0.5), // exp overflows
        _ => (rng.random::<f64>() * 2.0 - 1.0) * 2.0,
    }
}

fn tensor(rng: &mut ChaCha8Rng, shape: Vec<usize>) -> Arc<Tensor> {
    let n: usize = shape.iter().product();
    let data = (0..n).map(|_| value(rng)).collect();
    Arc::new(Tensor::new(shape, data).unwrap())
}

/// One network; terminal shapes by family, some of them broadcasting against the others.
fn network(rng: &mut ChaCha8Rng, n_inst: usize) -> InMemory {
    let instances = (0..n_inst)
        .map(|i| {
            let (c, h) = [(2usize, 37usize), (3, 3), (4, 30), (2, 2)][i % 4];
            (0..N_TERMINALS)
                .map(|t| {
                    let name = TERMINALS[t];
                    let shape = if name.starts_with("T3") {
                        vec![c, c, 3, 3]
                    } else if name.starts_with("T4") {
                        match rng.random_range(0..4) {
                            0 => vec![1, c, 1, 1],
                            1 => vec![1],
                            2 => vec![],
                            _ => vec![1, c, h, h],
                        }
                    } else {
                        vec![1, c, h, h]
                    };
                    Some(tensor(rng, shape))
                })
                .collect()
        })
        .collect();
    InMemory { instances }
}

/// A random formula: mostly element-wise operations, sometimes any other.
fn formula(rng: &mut ChaCha8Rng, depth: usize) -> String {
    if depth == 0 || rng.random_range(0..10) == 0 {
        return TERMINALS[rng.random_range(0..N_TERMINALS)].to_string();
    }
    let name = if rng.random_range(0..5) == 0 {
        Op::ALL[rng.random_range(0..Op::ALL.len())].name()
    } else {
        ELEMENTWISE[rng.random_range(0..ELEMENTWISE.len())]
    };
    let op = Op::from_name(name).unwrap();
    if op.arity() == 1 {
        format!("{name}({})", formula(rng, depth - 1))
    } else {
        format!(
            "{name}({}, {})",
            formula(rng, depth - 1),
            formula(rng, depth - 1)
        )
    }
}

fn programs(rng: &mut ChaCha8Rng, n: usize) -> Vec<Tree> {
    let mut trees: Vec<Tree> = (0..n)
        .map(|_| {
            let d = rng.random_range(1..7);
            Tree::parse(&formula(rng, d)).unwrap()
        })
        .collect();
    // Relatives and a duplicate: shared sub-trees are evaluated once and kept.
    for k in 0..n / 2 {
        let (a, b) = crossover(rng, &trees[k], &trees[(k + 1) % n]);
        trees.push(a);
        trees.push(b);
    }
    trees.push(trees[0].clone());
    trees
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn check(seed: u64) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let nets: Vec<InMemory> = (0..3).map(|_| network(&mut rng, 5)).collect();
    let trees = programs(&mut rng, 24);
    let refs: Vec<&Tree> = trees.iter().collect();
    let mut finite = 0;
    for how in [ToScalar::Mean, ToScalar::L2] {
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let matrix = two.install(|| score_matrix(&refs, &nets, how).unwrap());
        for (j, net) in nets.iter().enumerate() {
            let fused = score_network(&refs, net, how).unwrap();
            let unfused = score_network_unfused(&refs, net, how).unwrap();
            for (k, t) in trees.iter().enumerate() {
                let m = matrix[k * nets.len() + j];
                assert!(
                    same(fused[k], unfused[k]) && same(m, unfused[k]),
                    "{t} ({how:?}, network {j}): fused {} / 2 threads {m} / unfused {}",
                    fused[k],
                    unfused[k]
                );
                finite += usize::from(unfused[k].is_finite());
            }
        }
    }
    // Root tensors, shapes included, on every instance of the first network.
    for inst in &nets[0].instances {
        let terms: Terminals = std::array::from_fn(|i| inst[i].clone());
        for t in &trees {
            match (eval_tensor(t, &terms), eval_tensor_unfused(t, &terms)) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.shape, b.shape, "{t}");
                    assert!(
                        a.data.iter().zip(&b.data).all(|(&x, &y)| same(x, y)),
                        "{t}: {:?} vs {:?}",
                        &a.data[..a.numel().min(4)],
                        &b.data[..b.numel().min(4)]
                    );
                }
                (Err(_), Err(_)) => {}
                (a, b) => panic!("{t}: fused {:?}, unfused {:?}", a.is_ok(), b.is_ok()),
            }
        }
    }
    finite
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn fused_equals_unfused_bit_for_bit(seed in any::<u64>()) {
        check(seed);
    }
}

#[test]
fn the_comparison_is_not_vacuous() {
    let finite: usize = (0..4).map(check).sum();
    assert!(finite > 100, "only {finite} finite scores");
}

#[test]
fn long_chains_broadcasts_and_constants() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let net = network(&mut rng, 4);
    for expr in [
        // one group over several inputs, with folded constants (reductions are 0-d)
        "Add(Mul(Exp(Sigmoid(T1D)), AbsLog(T2D)), Sub(NormalizedSum(T1GD), Square(T2GD)))",
        // an input that broadcasts as (1, C, 1, 1): the operation-by-operation fallback
        "Mul(Add(T1D, T4D), Relu(T4GD))",
        // reductions of groups, without materialising them
        "Add(L1Norm(Mul(T1D, T2D)), FrobeniusNorm(Sub(Log(T1N), T2N)))",
        // a shared group (used twice) inside another
        "Mul(Exp(Abs(T1D)), Add(Exp(Abs(T1D)), T1P))",
        "Gt(Invert(Sub(T1D, T1D)), ZerosLike(T2D))",
    ] {
        let t = Tree::parse(expr).unwrap();
        for how in [ToScalar::Mean, ToScalar::L2] {
            let a = score_network(&[&t], &net, how).unwrap();
            let b = score_network_unfused(&[&t], &net, how).unwrap();
            assert!(same(a[0], b[0]), "{expr}: {} vs {}", a[0], b[0]);
        }
    }
}
