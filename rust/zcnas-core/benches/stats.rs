//! Criterion benchmarks of the core statistics on the shapes zcnas meets in practice:
//! one NB201-sized vector (n = 15,625), the EZNAS fitness shape (1,000 pairs of n = 20), many
//! proxies against one target (200 x 15,625), and rank aggregation of 13 proxies.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use zcnas_core::rankagg::{aggregate, Method, MissingPolicy, Spec};
use zcnas_core::stats::{kendall_tau, kendall_tau_batch, spearman, BatchTarget, NanPolicy};

/// Deterministic pseudo-random values with some ties (xorshift, rounded to 4 decimals).
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 11) as f64 / (1u64 << 53) as f64 * 1e4).round() / 1e4
        })
        .collect()
}

fn single(c: &mut Criterion) {
    let n = 15_625;
    let (x, y) = (values(n, 1), values(n, 2));
    c.bench_function("kendall_tau n=15625", |b| {
        b.iter(|| kendall_tau(black_box(&x), black_box(&y), NanPolicy::Raise).unwrap());
    });
    c.bench_function("spearman n=15625", |b| {
        b.iter(|| spearman(black_box(&x), black_box(&y), NanPolicy::Raise).unwrap());
    });
}

fn batched(c: &mut Criterion) {
    let mut g = c.benchmark_group("kendall_tau_batch");
    let (rows, n) = (1000, 20);
    let (x, y) = (values(rows * n, 3), values(rows * n, 4));
    g.bench_function(BenchmarkId::new("pairs", "1000x20"), |b| {
        b.iter(|| {
            kendall_tau_batch(
                black_box(&x),
                rows,
                n,
                BatchTarget::Many(&y),
                NanPolicy::Raise,
            )
            .unwrap()
        });
    });
    let (rows, n) = (200, 15_625);
    let (x, t) = (values(rows * n, 5), values(n, 6));
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("one_target", "200x15625"), |b| {
        b.iter(|| {
            kendall_tau_batch(
                black_box(&x),
                rows,
                n,
                BatchTarget::One(&t),
                NanPolicy::Raise,
            )
            .unwrap()
        });
    });
    g.finish();
}

fn rank_aggregation(c: &mut Criterion) {
    let (m, k) = (15_625, 13);
    let s = values(m * k, 7);
    let spec = Spec::new(Method::NonLinear, vec![true; k], None, MissingPolicy::Raise).unwrap();
    c.bench_function("aggregate nonlinear 15625x13", |b| {
        b.iter(|| aggregate(black_box(&s), m, &spec).unwrap());
    });
}

criterion_group!(benches, single, batched, rank_aggregation);
criterion_main!(benches);
