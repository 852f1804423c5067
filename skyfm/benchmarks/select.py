"""Active-selection benchmark on SDSS DR14 (``skyfm select``'s strategies, simulated follow-up).

The photometry of every object is known; its spectroscopic class is revealed only for the
objects a strategy chooses, one batch at a time (as follow-up runs come back). After each
batch the learner (:func:`skyfm.models.active.fit_learner`, the same for every strategy) is
refitted on the labels so far and scored on a held-out 30 % of the catalogue. Objects are
embedded by the registry's table embedder (ugriz magnitudes + colours, fitted on the pool
without labels). Two goals: accuracy (labels-to-accuracy curves) and discovery (QSOs found per
follow-up, the rare class: 9 % of the set).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from skyfm.benchmarks.catalogs import BANDS, load_catalog

__all__ = ["labels_to_reach", "load_sdss_embedded", "simulate"]


def load_sdss_embedded(data_dir=None, seed: int = 0, n: int | None = None):
    """(embeddings, classes, pool rows, test rows) of the SDSS set (``n``: a random subset)."""
    from sklearn.model_selection import train_test_split

    from skyfm.data.tablerow import expand_catalogs
    from skyfm.models import registry

    cat = load_catalog("catalog_sdss_dr14_skyserver10k", data_dir)
    rows = expand_catalogs([cat])
    y = np.array([str(r.label) for r in rows])
    idx = np.arange(len(rows))
    if n is not None and n < len(rows):
        idx, _ = train_test_split(idx, train_size=n, random_state=seed, stratify=y)
    rows, y = [rows[i] for i in idx], y[idx]
    emb = registry.make_embedder(registry.modality_of(rows), columns=BANDS)
    X = emb.fit_transform(rows)  # unsupervised: scalers only, no labels
    pool, test = train_test_split(np.arange(len(y)), test_size=0.3, random_state=seed,
                                  stratify=y)
    return X, y, pool, test


def simulate(X: np.ndarray, y: np.ndarray, pool: np.ndarray, test: np.ndarray, strategy: str,
             budget: int, batch: int, seed: int = 0, target: str | None = None,
             progress: Callable[[int], None] | None = None, **strategy_kw) -> dict:
    """Run one strategy until ``budget`` labels: per batch the number of labels, the test
    accuracy and macro-F1 of the learner, and the ``target`` objects found so far."""
    from sklearn.metrics import accuracy_score, f1_score

    from skyfm.models.active import fit_learner, propose

    Xp, yp = X[pool], y[pool]
    labels: dict[int, str] = {}
    out = {"n_labels": [], "accuracy": [], "macro_f1": [], "found": []}
    while len(labels) < budget:
        idx, _ = propose(Xp, labels, min(batch, budget - len(labels)), strategy,
                         target=target, random_state=seed + len(labels), **strategy_kw)
        if idx.size == 0:
            break
        labels.update({int(i): yp[i] for i in idx})
        known = np.array(sorted(labels))
        out["n_labels"].append(len(labels))
        out["found"].append(int(np.sum(yp[known] == target)) if target else 0)
        if np.unique(yp[known]).size > 1:
            pred = fit_learner(Xp[known], yp[known], seed).predict(X[test])
        else:
            pred = np.full(test.size, yp[known][0])
        out["accuracy"].append(float(accuracy_score(y[test], pred)))
        out["macro_f1"].append(float(f1_score(y[test], pred, average="macro")))
        if progress:
            progress(1)
    return out


def labels_to_reach(curve: dict, level: float) -> int | None:
    """The fewest labels at which ``curve`` reaches accuracy ``level`` (``None``: never)."""
    for n, a in zip(curve["n_labels"], curve["accuracy"]):
        if a >= level:
            return int(n)
    return None


def mean_curve(curves: Sequence[dict], key: str) -> np.ndarray:
    return np.mean([c[key] for c in curves], axis=0)
