"""Are rare transients ranked above the common type? Discovery with and without the transient
shape features, beside an isolation forest on the same features.

    python bench/transients.py                    # ZTF SNe (real) + PLAsTiCC (simulated LSST)
    python bench/transients.py --draws 1 --n-common 150

Sets (read with ``skyfm.read`` from ``$SKYFM_DATA_DIR``):

- ``lc_alerce_ztf_sne30``: 30 real ZTF supernovae (19 SNIa, 8 SNIbc, 2 SLSN, 1 SNII);
- ``plasticc_train_snmachine``: simulated LSST; per draw ``--n-common`` SNIa and ``--n-rare``
  of each other extragalactic transient class (SNII, SNIbc, SLSN-I, TDE, kilonova,
  SNIa-91bg, SNIax), drawn at random (``--draws`` draws, mean +- std over draws).

Rare = not SNIa. Methods, all unsupervised (labels never used):

- ``discover default``: ``score_observations(kind='general')``, today's default embedding
  (light-curve encoder + classical periodic features) and scorers;
- ``discover transient``: ``kind='transient'``, the same scorers on the transient shape
  features of :mod:`skyfm.features.transients` alone (no encoder), what ``kind='auto'`` picks
  for these sets;
- ``iforest (transient feats)``: the baseline, a plain isolation forest on the robust-scaled
  transient shape features alone;
- ``iforest (classical feats)``: an isolation forest on the classical periodic features.

Metrics: AUROC of "rare" vs score, precision among the top k (k = number of rare objects),
and the mean rank percentile of the rare objects (1 = all at the top, 0.5 = random).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

PLASTICC_RARE = ("snii", "snibc", "slsn_i", "tde", "kilonova", "snia_91bg", "sniax")


def metrics(score: np.ndarray, rare: np.ndarray) -> dict:
    from sklearn.metrics import roc_auc_score

    k = int(rare.sum())
    order = np.argsort(-score, kind="stable")
    pct = np.empty(len(score))
    pct[order] = 1 - np.arange(len(score)) / max(len(score) - 1, 1)
    return {"auroc": roc_auc_score(rare, score), "prec@k": rare[order[:k]].mean(),
            "mean_rank_pct": pct[rare].mean()}


def _iforest(F: np.ndarray, seed: int) -> np.ndarray:
    from skyfm.discover.scorers import IsolationForestScorer
    from skyfm.models.preprocessing import RobustScaler, signed_log

    Z = RobustScaler().fit(signed_log(F)).transform(signed_log(F))
    return IsolationForestScorer(random_state=seed).fit_score_samples(Z)


def run_methods(lcs: list, seed: int = 0) -> dict[str, np.ndarray]:
    from skyfm.discover.pipeline import score_observations
    from skyfm.features.lightcurves import choose_bands, lightcurve_summary
    from skyfm.features.transients import transient_features

    out = {}
    kw = {"use_labels": False, "n_noise": 0, "n_members": 0, "seed": seed}
    out["discover default"] = score_observations(lcs, kind="general", **kw)["score"]
    out["discover transient"] = score_observations(lcs, kind="transient", **kw)["score"]
    bands = choose_bands(lcs)
    out["iforest (transient feats)"] = _iforest(transient_features(lcs, bands)[0], seed)
    out["iforest (classical feats)"] = _iforest(lightcurve_summary(lcs, bands)[0], seed)
    return out


def plasticc_draw(obs: list, n_common: int, n_rare: int, rng: np.random.Generator) -> list:
    by = {}
    for o in obs:
        by.setdefault(str(o.label), []).append(o)
    pick = list(rng.choice(len(by["snia"]), n_common, replace=False))
    out = [by["snia"][i] for i in pick]
    for c in PLASTICC_RARE:
        out += [by[c][i] for i in rng.choice(len(by[c]), n_rare, replace=False)]
    return out


def table(rows: dict[str, list[dict]]) -> str:
    lines = [f"{'method':28s} {'AUROC':>13s} {'prec@k':>13s} {'rank pct':>13s}"]
    for m, rs in rows.items():
        cells = []
        for key in ("auroc", "prec@k", "mean_rank_pct"):
            v = np.array([r[key] for r in rs])
            cells.append(f"{v.mean():.3f}" + (f" +- {v.std():.3f}" if len(v) > 1 else " " * 8))
        lines.append(f"{m:28s} " + " ".join(f"{c:>13s}" for c in cells))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("SKYFM_DATA_DIR", "/work/shared/data"))
    ap.add_argument("--n-common", type=int, default=300, help="PLAsTiCC SNIa per draw")
    ap.add_argument("--n-rare", type=int, default=8, help="PLAsTiCC objects per rare class")
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    from skyfm.data import read

    root = Path(a.data)
    t0 = time.perf_counter()
    ztf = list(read(root / "lc_alerce_ztf_sne30"))
    rare = np.array([str(o.label) != "SNIa" for o in ztf])
    res = run_methods(ztf, a.seed)
    print(f"\nZTF SNe (real): {len(ztf)} objects, {rare.sum()} not SNIa "
          f"({time.perf_counter() - t0:.0f} s)")
    print(table({m: [metrics(s, rare)] for m, s in res.items()}))

    t0 = time.perf_counter()
    obs = list(read(root / "plasticc_train_snmachine"))
    rng = np.random.default_rng(a.seed)
    rows: dict[str, list[dict]] = {}
    for d in range(a.draws):
        lcs = plasticc_draw(obs, a.n_common, a.n_rare, rng)
        rare = np.array([str(o.label) != "snia" for o in lcs])
        for m, s in run_methods(lcs, a.seed + d).items():
            rows.setdefault(m, []).append(metrics(s, rare))
    n_rare = a.n_rare * len(PLASTICC_RARE)
    print(f"\nPLAsTiCC (simulated LSST): {a.n_common} SNIa + {n_rare} rare "
          f"({', '.join(PLASTICC_RARE)}), {a.draws} draw(s) ({time.perf_counter() - t0:.0f} s)")
    print(table(rows))


if __name__ == "__main__":
    main()
