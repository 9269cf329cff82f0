import sys, json, numpy as np
sys.path.insert(0, "/work/main/benches")
import score_gp
from zcnas.eznas.scores import evolve_scores
lt, acc = score_gp.load_live("/work/stores/nb201_cifar10_live.db")
perm = np.random.default_rng(0).permutation(lt.n)
n_sel = round(0.5 * lt.n)
fit, ho = np.sort(perm[:n_sel]), np.sort(perm[n_sel:])
kw = score_gp.LIVE_CONFIGS["GP pool-free pop1000 g60 n31"]
res = evolve_scores([lt], splits=[(fit, ho)], seed=0, parsimony=0.001, **kw)
p = res.best
p.meta["live_n"] = lt.n
p.save("/work/runs/zcpt/gp_live_pool_free.json")
v = p.evaluate_scores(lt.subset(ho))
print("n", lt.n, "formula", p, "fit", p.fitness, "heldout", {d: score_gp._tau(v, a[ho]) for d, a in acc.items()}, "s", res.seconds)
