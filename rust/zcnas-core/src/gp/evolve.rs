//! The EZNAS search (the paper's Algorithm 1) over task datasets on disk.
//!
//! * Generation 0: `population` random programs (ramped half-and-half, heights
//!   `min_depth..=init_max_depth`), each accepted only if it is *valid*: it executes and gives
//!   a finite score on every network of a small validation subset (`n_validation` networks
//!   drawn once from the task datasets).
//! * Every later generation: `mu` parents are chosen by tournament (size `tournament`) from the
//!   current population (duplicates removed first); `varOr` makes `lambda` children at a time
//!   (crossover `cxpb`, mutation `mutpb`, else reproduction; static height limit `max_depth`)
//!   until `population / 2` valid ones are collected; the other half are fresh random valid
//!   programs. The offspring are evaluated and become the population (Algorithm 1, line 12).
//! * Fitness: `s` task datasets are drawn (all of them if there are at most `s`), and from each
//!   `nets_per_eval` networks; fitness is the minimum over those datasets of Kendall tau-b
//!   between the program's network scores and the ground truth (signed; with `abs_tau`, of
//!   `|tau|`, as the reference, and the program's sign is then the sign of the summed taus).
//!   Departure from the reference: the sample is drawn once per generation and shared by all
//!   its individuals (the reference drew one per individual), which makes individuals of a
//!   generation comparable and lets the interpreter load each network once for all of them.
//!   A program that is invalid on a sampled network, or whose scores are constant, has no
//!   fitness (it loses every tournament).
//! * Determinism: generation `g` draws from `ChaCha8(seed)` on stream `g`, so the state after
//!   any generation (saved as JSON) determines the rest of the run: resuming from a checkpoint
//!   gives the same result as an uninterrupted run, on any number of threads.
//! * Hall of fame: the best `hall_of_fame` distinct programs ever evaluated, by fitness.

use super::interp::{score_matrix_with, ToScalar};
use super::tree::Tree;
use super::variation::{generate, tournament, var_or, GenMethod, VarOrParams};
use crate::error::{CoreError, Result};
use crate::shards::TaskDataset;
use crate::stats::{kendall_tau_batch, BatchTarget, NanPolicy};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::time::Instant;

/// Rounds of `varOr` (or of random generation) tried before giving up on valid programs.
const MAX_ROUNDS: usize = 200;

/// Largest population, `mu`, `lambda`, tournament, hall of fame, `s`, `nets_per_eval` and
/// `n_validation` accepted by [`EvolveConfig::validate`].
pub const MAX_COUNT: usize = 100_000;
/// Largest number of generations accepted by [`EvolveConfig::validate`].
pub const MAX_GENERATIONS: usize = 1_000_000;

/// Hyperparameters; the defaults are the paper's (section 8.7) and the reference's.
///
/// In JSON, absent keys take their defaults and unknown keys are an error (a misspelt key
/// would otherwise run silently with the default). Bounds: counts at most [`MAX_COUNT`],
/// generations at most [`MAX_GENERATIONS`], heights as documented per field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvolveConfig {
    /// Number of generations after the initial population (15).
    pub generations: usize,
    /// Population size `n` (50).
    pub population: usize,
    /// Tournament size (4).
    pub tournament: usize,
    /// Parents selected per generation, `MU` (25).
    pub mu: usize,
    /// Children per `varOr` call, `lambda` (50).
    pub lambda: usize,
    /// Crossover probability (0.4).
    pub cxpb: f64,
    /// Mutation probability (0.4).
    pub mutpb: f64,
    /// Smallest height of initial programs (2).
    pub min_depth: usize,
    /// Static height limit of every program (10).
    pub max_depth: usize,
    /// Largest height of initial and fresh programs (6, as the reference's `genHalfAndHalf`).
    pub init_max_depth: usize,
    /// Height range of the subtrees inserted by mutation (0..=5, as the reference).
    pub mut_depth: (usize, usize),
    /// Task datasets drawn per fitness evaluation (4).
    pub s: usize,
    /// Networks drawn per task dataset (20).
    pub nets_per_eval: usize,
    /// Use `|tau|` (the reference) instead of signed tau.
    pub abs_tau: bool,
    /// Random seed.
    pub seed: u64,
    /// `to_scalar` above the root (mean).
    pub to_scalar: ToScalar,
    /// Networks in the validation subset (2).
    pub n_validation: usize,
    /// Size of the hall of fame (10).
    pub hall_of_fame: usize,
}

impl Default for EvolveConfig {
    fn default() -> Self {
        Self {
            generations: 15,
            population: 50,
            tournament: 4,
            mu: 25,
            lambda: 50,
            cxpb: 0.4,
            mutpb: 0.4,
            min_depth: 2,
            max_depth: 10,
            init_max_depth: 6,
            mut_depth: (0, 5),
            s: 4,
            nets_per_eval: 20,
            abs_tau: false,
            seed: 0,
            to_scalar: ToScalar::Mean,
            n_validation: 2,
            hall_of_fame: 10,
        }
    }
}

impl EvolveConfig {
    /// Check the parameters.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, reason: &str| {
            Err(CoreError::InvalidParameter {
                name,
                reason: reason.to_string(),
            })
        };
        if self.population < 2 {
            return bad("population", "must be at least 2");
        }
        if self.mu < 1 || self.lambda < 1 || self.tournament < 1 {
            return bad("mu", "mu, lambda and tournament must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.cxpb)
            || !(0.0..=1.0).contains(&self.mutpb)
            || self.cxpb + self.mutpb > 1.0
        {
            return bad(
                "cxpb",
                "cxpb and mutpb must be in [0, 1] with cxpb + mutpb <= 1",
            );
        }
        if self.min_depth > self.init_max_depth || self.init_max_depth > self.max_depth {
            return bad("min_depth", "need min_depth <= init_max_depth <= max_depth");
        }
        if self.max_depth > super::tree::MAX_HEIGHT {
            return bad("max_depth", "must be at most 256");
        }
        if self.init_max_depth > super::variation::MAX_GEN_HEIGHT
            || self.mut_depth.1 > super::variation::MAX_GEN_HEIGHT
        {
            return bad(
                "init_max_depth",
                "random trees (initial and mutation subtrees) may be at most 16 high",
            );
        }
        if self.mut_depth.0 > self.mut_depth.1 {
            return bad("mut_depth", "the range is empty");
        }
        if self.s < 1 || self.nets_per_eval < 2 || self.n_validation < 1 {
            return bad("s", "need s >= 1, nets_per_eval >= 2 and n_validation >= 1");
        }
        if self.generations > MAX_GENERATIONS {
            return bad("generations", "must be at most 1000000");
        }
        for (name, v) in [
            ("population", self.population),
            ("mu", self.mu),
            ("lambda", self.lambda),
            ("tournament", self.tournament),
            ("hall_of_fame", self.hall_of_fame),
            ("s", self.s),
            ("nets_per_eval", self.nets_per_eval),
            ("n_validation", self.n_validation),
        ] {
            if v > MAX_COUNT {
                return bad(name, "must be at most 100000");
            }
        }
        Ok(())
    }
}

/// One evaluated program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Individual {
    /// The formula.
    pub expr: String,
    /// Fitness (higher is better); `None` when invalid on the sample or of constant score.
    pub fitness: Option<f64>,
    /// +1, or -1 for an anti-correlated program found with `abs_tau`.
    pub sign: f64,
    /// Signed Kendall tau on each sampled dataset (`None` where undefined).
    pub taus: Vec<Option<f64>>,
    /// Generation in which it was evaluated.
    pub generation: usize,
}

/// Summary of one generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenStats {
    /// Generation (0 = initial population).
    pub generation: usize,
    /// Best fitness.
    pub best: Option<f64>,
    /// Mean of the defined fitnesses.
    pub mean: Option<f64>,
    /// Median of the defined fitnesses.
    pub median: Option<f64>,
    /// Individuals with a defined fitness.
    pub n_valid: usize,
    /// Candidate programs checked on the validation subset.
    pub n_validated: usize,
    /// Datasets sampled for fitness (indices into the task datasets).
    pub datasets: Vec<usize>,
    /// Wall time of the generation.
    pub seconds: f64,
}

/// Everything needed to continue a run; saved as JSON after each generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvolveState {
    /// Hyperparameters.
    pub config: EvolveConfig,
    /// Next generation to run (0: the initial population is not built yet).
    pub next_generation: usize,
    /// Current population, evaluated.
    pub population: Vec<Individual>,
    /// Best distinct programs so far, best first.
    pub hall_of_fame: Vec<Individual>,
    /// One entry per finished generation.
    pub history: Vec<GenStats>,
    /// Validation subset: (dataset, network) pairs.
    pub validation: Vec<(usize, usize)>,
    /// Number of networks of each task dataset when the run started.
    pub dataset_sizes: Vec<usize>,
}

/// A running search.
pub struct Evolver {
    state: EvolveState,
    datasets: Vec<TaskDataset>,
    targets: Vec<Vec<f64>>,
}

fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

impl Evolver {
    /// Start a search over the given task datasets.
    pub fn new(config: EvolveConfig, datasets: Vec<TaskDataset>) -> Result<Self> {
        config.validate()?;
        let targets = Self::check_datasets(&datasets)?;
        let mut rng = rng_for(config.seed, u64::MAX);
        let validation = (0..config.n_validation)
            .map(|i| {
                let d = i % datasets.len();
                (d, rand::Rng::random_range(&mut rng, 0..datasets[d].len()))
            })
            .collect();
        let state = EvolveState {
            dataset_sizes: datasets.iter().map(TaskDataset::len).collect(),
            config,
            next_generation: 0,
            population: Vec::new(),
            hall_of_fame: Vec::new(),
            history: Vec::new(),
            validation,
        };
        Ok(Self {
            state,
            datasets,
            targets,
        })
    }

    /// Continue from a saved state over the same task datasets (network counts must match;
    /// datasets that grew since are an error, since the samples would change).
    pub fn resume(state: EvolveState, datasets: Vec<TaskDataset>) -> Result<Self> {
        state.config.validate()?;
        let targets = Self::check_datasets(&datasets)?;
        let sizes: Vec<usize> = datasets.iter().map(TaskDataset::len).collect();
        if sizes != state.dataset_sizes {
            return Err(CoreError::InvalidParameter {
                name: "stats_dirs",
                reason: format!(
                    "the checkpoint was made with datasets of {:?} networks, these have {sizes:?}",
                    state.dataset_sizes
                ),
            });
        }
        for ind in state.population.iter().chain(&state.hall_of_fame) {
            Tree::parse(&ind.expr)?;
        }
        // Indices read from the checkpoint are used to index the datasets: check them all.
        let bad_ckpt = |reason: String| CoreError::InvalidParameter {
            name: "checkpoint",
            reason,
        };
        if state.validation.len() != state.config.n_validation {
            return Err(bad_ckpt(format!(
                "{} validation networks, the configuration says {}",
                state.validation.len(),
                state.config.n_validation
            )));
        }
        for &(d, n) in &state.validation {
            if sizes.get(d).is_none_or(|&len| n >= len) {
                return Err(bad_ckpt(format!(
                    "validation network ({d}, {n}) is not in the datasets (sizes {sizes:?})"
                )));
            }
        }
        if state.next_generation > state.config.generations.saturating_add(1) {
            return Err(bad_ckpt(format!(
                "next generation {} is past the last one ({})",
                state.next_generation, state.config.generations
            )));
        }
        Ok(Self {
            state,
            datasets,
            targets,
        })
    }

    fn check_datasets(datasets: &[TaskDataset]) -> Result<Vec<Vec<f64>>> {
        if datasets.is_empty() {
            return Err(CoreError::InvalidParameter {
                name: "stats_dirs",
                reason: "no task dataset given".into(),
            });
        }
        for d in datasets {
            if d.len() < 2 {
                return Err(CoreError::InvalidParameter {
                    name: "stats_dirs",
                    reason: format!(
                        "{} has {} networks, need at least 2",
                        d.dir.display(),
                        d.len()
                    ),
                });
            }
        }
        datasets.iter().map(TaskDataset::targets).collect()
    }

    /// The current state (serialise it to checkpoint).
    pub fn state(&self) -> &EvolveState {
        &self.state
    }

    /// Whether all generations have run.
    pub fn is_done(&self) -> bool {
        self.state.next_generation > self.state.config.generations
    }

    /// Scores of `trees` on the (dataset, network) pairs, row-major.
    fn scores(&self, trees: &[Tree], nets: &[(usize, usize)]) -> Result<Vec<f64>> {
        let refs: Vec<&Tree> = trees.iter().collect();
        score_matrix_with(&refs, nets.len(), self.state.config.to_scalar, |j, f| {
            let (d, n) = nets[j];
            let shard = self.datasets[d].shard(n)?;
            f(&shard)
        })
    }

    /// Which trees are valid on the validation subset.
    fn validate(&self, trees: &[Tree]) -> Result<Vec<bool>> {
        let nets = &self.state.validation;
        let s = self.scores(trees, nets)?;
        Ok(s.chunks(nets.len().max(1))
            .map(|r| r.iter().all(|v| v.is_finite()))
            .collect())
    }

    fn random_valid(
        &self,
        rng: &mut ChaCha8Rng,
        need: usize,
        checked: &mut usize,
    ) -> Result<Vec<Tree>> {
        let c = &self.state.config;
        let mut out = Vec::with_capacity(need);
        for _ in 0..MAX_ROUNDS {
            if out.len() >= need {
                break;
            }
            let batch: Vec<Tree> = (0..(2 * (need - out.len())).max(8))
                .map(|_| generate(rng, c.min_depth, c.init_max_depth, GenMethod::HalfAndHalf))
                .collect();
            *checked += batch.len();
            let ok = self.validate(&batch)?;
            out.extend(
                batch
                    .into_iter()
                    .zip(ok)
                    .filter(|(_, v)| *v)
                    .map(|(t, _)| t),
            );
        }
        if out.len() < need {
            return Err(CoreError::InvalidParameter {
                name: "stats_dirs",
                reason: "could not generate enough valid programs on the validation networks"
                    .into(),
            });
        }
        out.truncate(need);
        Ok(out)
    }

    /// Fitness of `trees` on a fresh sample of datasets and networks.
    fn evaluate(
        &self,
        rng: &mut ChaCha8Rng,
        trees: &[Tree],
        generation: usize,
    ) -> Result<(Vec<Individual>, Vec<usize>)> {
        let c = &self.state.config;
        let nd = self.datasets.len();
        let mut ds: Vec<usize> = if nd <= c.s {
            (0..nd).collect()
        } else {
            sample(rng, nd, c.s).into_vec()
        };
        ds.sort_unstable();
        let mut nets = Vec::new();
        let mut groups = Vec::new();
        for &d in &ds {
            let len = self.datasets[d].len();
            let mut idx: Vec<usize> = sample(rng, len, c.nets_per_eval.min(len)).into_vec();
            idx.sort_unstable();
            groups.push((d, nets.len(), idx.len()));
            nets.extend(idx.into_iter().map(|n| (d, n)));
        }
        let scores = self.scores(trees, &nets)?;
        let total = nets.len();
        let mut taus = vec![vec![None; groups.len()]; trees.len()];
        for (g, &(d, start, k)) in groups.iter().enumerate() {
            let target: Vec<f64> = nets[start..start + k]
                .iter()
                .map(|&(_, n)| self.targets[d][n])
                .collect();
            let finite: Vec<usize> = (0..trees.len())
                .filter(|&p| {
                    scores[p * total + start..p * total + start + k]
                        .iter()
                        .all(|v| v.is_finite())
                })
                .collect();
            let x: Vec<f64> = finite
                .iter()
                .flat_map(|&p| {
                    scores[p * total + start..p * total + start + k]
                        .iter()
                        .copied()
                })
                .collect();
            let t = kendall_tau_batch(
                &x,
                finite.len(),
                k,
                BatchTarget::One(&target),
                NanPolicy::Raise,
            )?;
            for (&p, tau) in finite.iter().zip(t) {
                taus[p][g] = tau.is_finite().then_some(tau);
            }
        }
        let inds = trees
            .iter()
            .zip(taus)
            .map(|(tree, taus)| {
                let all: Option<Vec<f64>> = taus.iter().copied().collect();
                let fitness = all.as_ref().map(|v| {
                    v.iter()
                        .map(|t| if c.abs_tau { t.abs() } else { *t })
                        .fold(f64::INFINITY, f64::min)
                });
                let sign = match &all {
                    Some(v) if c.abs_tau && v.iter().sum::<f64>() < 0.0 => -1.0,
                    _ => 1.0,
                };
                Individual {
                    expr: tree.to_string(),
                    fitness,
                    sign,
                    taus,
                    generation,
                }
            })
            .collect();
        Ok((inds, ds))
    }

    /// Run the next generation (the initial population first). Returns its summary.
    pub fn step(&mut self) -> Result<GenStats> {
        let start = Instant::now();
        let g = self.state.next_generation;
        let c = self.state.config.clone();
        let mut rng = rng_for(c.seed, g as u64);
        let mut checked = 0usize;
        let offspring = if g == 0 {
            self.random_valid(&mut rng, c.population, &mut checked)?
        } else {
            let mut seen = HashSet::new();
            let pop: Vec<&Individual> = self
                .state
                .population
                .iter()
                .filter(|i| seen.insert(i.expr.as_str()))
                .collect();
            let fit: Vec<f64> = pop.iter().map(|i| i.fitness.unwrap_or(f64::NAN)).collect();
            let parents: Vec<Tree> = tournament(&mut rng, &fit, c.mu, c.tournament)
                .into_iter()
                .map(|i| Tree::parse(&pop[i].expr))
                .collect::<Result<_>>()?;
            let half = c.population / 2;
            let params = VarOrParams {
                cxpb: c.cxpb,
                mutpb: c.mutpb,
                max_height: c.max_depth,
                mut_height: c.mut_depth,
            };
            let mut children = Vec::with_capacity(c.population);
            for _ in 0..MAX_ROUNDS {
                if children.len() >= half {
                    break;
                }
                let batch = var_or(&mut rng, &parents, c.lambda, params);
                checked += batch.len();
                let ok = self.validate(&batch)?;
                for (t, v) in batch.into_iter().zip(ok) {
                    if v && children.len() < half {
                        children.push(t);
                    }
                }
            }
            let missing = c.population - children.len();
            children.extend(self.random_valid(&mut rng, missing, &mut checked)?);
            children
        };
        let (population, datasets) = self.evaluate(&mut rng, &offspring, g)?;
        let mut fits: Vec<f64> = population.iter().filter_map(|i| i.fitness).collect();
        fits.sort_by(f64::total_cmp);
        let n_valid = fits.len();
        let stats = GenStats {
            generation: g,
            best: fits.last().copied(),
            mean: (n_valid > 0).then(|| fits.iter().sum::<f64>() / n_valid as f64),
            median: (n_valid > 0).then(|| {
                if n_valid % 2 == 1 {
                    fits[n_valid / 2]
                } else {
                    0.5 * (fits[n_valid / 2 - 1] + fits[n_valid / 2])
                }
            }),
            n_valid,
            n_validated: checked,
            datasets,
            seconds: start.elapsed().as_secs_f64(),
        };
        self.update_hall_of_fame(&population);
        self.state.population = population;
        self.state.history.push(stats.clone());
        self.state.next_generation += 1;
        Ok(stats)
    }

    fn update_hall_of_fame(&mut self, population: &[Individual]) {
        let hof = &mut self.state.hall_of_fame;
        for ind in population.iter().filter(|i| i.fitness.is_some()) {
            if let Some(old) = hof.iter_mut().find(|h| h.expr == ind.expr) {
                if ind.fitness > old.fitness {
                    *old = ind.clone();
                }
            } else {
                hof.push(ind.clone());
            }
        }
        hof.sort_by(|a, b| {
            b.fitness
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.fitness.unwrap_or(f64::NEG_INFINITY))
        });
        hof.truncate(self.state.config.hall_of_fame);
    }
}
