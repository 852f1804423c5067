"""Save a fitted :class:`~skyfm.discover.ensemble.ScoreEnsemble` as JSON + numpy arrays (no pickle).

``ensemble.json`` holds the settings, the active/dropped scorers and each scorer's scalar
parameters; ``ensemble.npz`` the arrays: the reference embeddings (k-NN's fitted points; the
members' points are subsets of them, by index), each isolation tree's node arrays, the
reconstruction scorer's regression coefficients, the open-set classifier's class means and
precisions (or scaler + logistic-regression coefficients) and its out-of-fold classifiers with
the reference objects each judged, the per-scorer reference scores that
define the percentile scale, and each member's reference scores (the epistemic spread).
:func:`load_ensemble` rebuilds an ensemble whose ``score``/``member_scores_new`` give what the
fitted one gives, to float precision.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from skyfm.discover.ensemble import ScoreEnsemble
from skyfm.discover.scorers import (
    IsolationForestScorer,
    KNNScorer,
    OpenSetScorer,
    ReconstructionScorer,
)
from skyfm.errors import DataFormatError, DataNotFoundError

__all__ = ["ENSEMBLE_ARRAYS", "ENSEMBLE_JSON", "FORMAT", "load_ensemble", "save_ensemble"]

ENSEMBLE_JSON = "ensemble.json"
ENSEMBLE_ARRAYS = "ensemble.npz"
FORMAT = 1
_SEP = "__"


class TreeForest:
    """An isolation forest rebuilt from its trees' node arrays: ``score_samples`` as
    scikit-learn's ``IsolationForest.score_samples`` (the opposite of the anomaly score)."""

    def __init__(self, trees: list[dict[str, np.ndarray]], features: list[np.ndarray | None],
                 denominator: float):
        self.trees = trees
        self.features = features
        self.denominator = float(denominator)

    @classmethod
    def from_sklearn(cls, forest) -> TreeForest:
        from sklearn.ensemble._iforest import _average_path_length

        trees, feats = [], []
        subsample = forest._max_features != forest.n_features_in_
        for est, f in zip(forest.estimators_, forest.estimators_features_):
            t = est.tree_
            # the path length a point ending in each node gets (sklearn's own per-node terms)
            value = (t.compute_node_depths() + _average_path_length(t.n_node_samples) - 1.0)
            trees.append({"left": t.children_left.astype(np.int32),
                          "right": t.children_right.astype(np.int32),
                          "feature": t.feature.astype(np.int32),
                          "threshold": t.threshold.astype(np.float64),
                          "value": np.asarray(value, np.float64)})
            feats.append(np.asarray(f, np.int64) if subsample else None)
        denom = len(forest.estimators_) * float(
            _average_path_length([forest._max_samples])[0])
        return cls(trees, feats, denom)

    @staticmethod
    def _apply(tree: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
        node = np.zeros(len(X), np.int64)
        rows = np.arange(len(X))
        while True:
            inner = tree["left"][node] >= 0
            if not inner.any():
                return node
            r, nd = rows[inner], node[inner]
            go_left = X[r, tree["feature"][nd]].astype(np.float64) <= tree["threshold"][nd]
            node[r] = np.where(go_left, tree["left"][nd], tree["right"][nd])

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, np.float32)
        depths = np.zeros(len(X))
        for tree, f in zip(self.trees, self.features):
            depths += tree["value"][self._apply(tree, X if f is None else X[:, f])]
        if self.denominator == 0:
            return -np.ones(len(X))
        return -(2.0 ** (-depths / self.denominator))


class LinearPredictor:
    """``X @ coef + intercept`` (a fitted linear regression's ``predict``)."""

    def __init__(self, coef: np.ndarray, intercept: float):
        self.coef_ = np.asarray(coef, float)
        self.intercept_ = float(intercept)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, float) @ self.coef_ + self.intercept_


class LinearHead:
    """A standard scaler + logistic regression's ``decision_function``."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray,
                 intercept: np.ndarray):
        self.mean_, self.scale_ = np.asarray(mean, float), np.asarray(scale, float)
        self.coef_, self.intercept_ = np.asarray(coef, float), np.asarray(intercept, float)

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        Z = (np.asarray(X, float) - self.mean_) / self.scale_
        out = Z @ self.coef_.T + self.intercept_
        return out.ravel() if out.shape[1] == 1 else out


# --------------------------------------------------------------------------- one scorer


def _scorer_state(sc) -> tuple[dict, dict[str, np.ndarray]]:
    """(JSON parameters, arrays) of one fitted scorer; k-NN's points are saved by the caller."""
    if isinstance(sc, KNNScorer):
        return {"type": "knn", "k": sc.k, "k_": sc.k_, "n_fit_": sc.n_fit_}, {}
    if isinstance(sc, IsolationForestScorer):
        forest = sc.forest_
        if not isinstance(forest, TreeForest):
            if sc.backend != "sklearn":
                raise TypeError(f"cannot save an isolation forest of backend {sc.backend!r}")
            forest = TreeForest.from_sklearn(forest)
        arrays = {}
        for i, (t, f) in enumerate(zip(forest.trees, forest.features)):
            arrays |= {f"tree{i}{_SEP}{key}": v for key, v in t.items()}
            if f is not None:
                arrays[f"tree{i}{_SEP}features"] = f
        return {"type": "iforest", "n_trees": len(forest.trees),
                "denominator": forest.denominator, "n_estimators": sc.n_estimators,
                "random_state": sc.random_state}, arrays
    if isinstance(sc, ReconstructionScorer):
        arrays = {"errors": np.asarray(sc.errors_, float)}
        params = {"type": "recon", "model": sc.model_ is not None}
        if sc.model_ is not None:
            arrays |= {"coef": np.asarray(sc.model_.coef_, float),
                       "intercept": np.atleast_1d(float(sc.model_.intercept_)),
                       "c_keep": np.asarray(sc.c_keep_, bool),
                       "c_center": np.asarray(sc.c_center_, float)}
        return params, arrays
    if isinstance(sc, OpenSetScorer):
        params = {"type": "openset", "method": sc.method, "min_per_class": sc.min_per_class,
                  "n_folds": sc.n_folds, "random_state": sc.random_state,
                  "classes": [str(c) for c in sc.classes_]}
        if sc.method == "gaussian":
            arrays = {"means": np.stack(sc.means_), "precisions": np.stack(sc.precisions_),
                      "logdets": np.asarray(sc.logdets_, float)}
        elif sc.method == "mahalanobis":
            arrays = {"means": np.asarray(sc.means_), "precision": np.asarray(sc.precision_)}
        else:
            head = sc.clf_
            if not isinstance(head, LinearHead):
                scaler, lr = head[0], head[-1]
                head = LinearHead(scaler.mean_, scaler.scale_, lr.coef_, lr.intercept_)
            arrays = {"mean": head.mean_, "scale": head.scale_, "coef": head.coef_,
                      "intercept": head.intercept_}
        params["folds"] = []
        for i, (sub, test) in enumerate(getattr(sc, "folds_", [])):
            fp, fa = _scorer_state(sub)
            params["folds"].append(fp)
            arrays |= _prefixed(f"fold{i}", fa)
            arrays[f"fold{i}{_SEP}test"] = np.asarray(test, np.int64)
        return params, arrays
    raise TypeError(f"cannot save a scorer of type {type(sc).__name__}")


def _scorer_from(p: dict, a: dict[str, np.ndarray], X: np.ndarray | None):
    """The scorer :func:`_scorer_state` described; ``X``: k-NN's fitted points."""
    kind = p["type"]
    if kind == "knn":
        from sklearn.neighbors import NearestNeighbors

        sc = KNNScorer(k=p["k"])
        sc.k_, sc.n_fit_ = int(p["k_"]), int(p["n_fit_"])
        sc.nn_ = NearestNeighbors(n_neighbors=min(sc.k_ + 1, len(X)), n_jobs=1).fit(X)
        return sc
    if kind == "iforest":
        sc = IsolationForestScorer(n_estimators=p["n_estimators"],
                                   random_state=p["random_state"])
        trees, feats = [], []
        for i in range(int(p["n_trees"])):
            trees.append({key: a[f"tree{i}{_SEP}{key}"]
                          for key in ("left", "right", "feature", "threshold", "value")})
            feats.append(a.get(f"tree{i}{_SEP}features"))
        sc.forest_ = TreeForest(trees, feats, p["denominator"])
        return sc
    if kind == "recon":
        sc = ReconstructionScorer()
        sc.errors_, sc.model_ = a["errors"], None
        if p["model"]:
            sc.model_ = LinearPredictor(a["coef"], a["intercept"][0])
            sc.c_keep_, sc.c_center_ = a["c_keep"], a["c_center"]
        return sc
    if kind == "openset":
        sc = OpenSetScorer(p["method"], p["min_per_class"], p["n_folds"], p["random_state"])
        sc.classes_ = np.array(p["classes"], dtype=str)
        if sc.method == "gaussian":
            sc.means_, sc.precisions_ = list(a["means"]), list(a["precisions"])
            sc.logdets_ = list(a["logdets"])
        elif sc.method == "mahalanobis":
            sc.means_, sc.precision_ = a["means"], a["precision"]
        else:
            sc.clf_ = LinearHead(a["mean"], a["scale"], a["coef"], a["intercept"])
        sc.folds_ = [(_scorer_from(fp, _sub(a, f"fold{i}"), None), a[f"fold{i}{_SEP}test"])
                     for i, fp in enumerate(p.get("folds", []))]
        return sc
    raise ValueError(f"unknown scorer type {kind!r}")


# --------------------------------------------------------------------------- the ensemble

_SETTINGS = ("scorers", "weights", "fusion", "k", "n_estimators", "openset_method",
             "n_members", "subsample", "random_state")


def _prefixed(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}{_SEP}{k}": v for k, v in arrays.items()}


def ensemble_state(ens: ScoreEnsemble) -> tuple[dict, dict[str, np.ndarray]]:
    """(JSON parameters, arrays) of a fitted ensemble; raises ``TypeError`` for what cannot
    be saved (another isolation-forest backend, an ensemble fitted before subsets were kept)."""
    settings = {s: getattr(ens, s) for s in _SETTINGS}
    settings["scorers"] = list(settings["scorers"])
    settings["weights"] = None if ens.weights is None else \
        {str(k): float(v) for k, v in dict(ens.weights).items()}
    arrays = {"X": np.asarray(ens.X_, np.float32),
              "reference_fused": np.asarray(ens.reference_fused_, float)}
    fitted = {}
    for name in ens.active_:
        fitted[name], a = _scorer_state(ens.fitted_[name])
        arrays |= _prefixed(f"fitted{_SEP}{name}", a)
        arrays[f"reference{_SEP}{name}"] = np.asarray(ens.reference_[name], float)
    subsets = getattr(ens, "member_subsets_", None)
    if subsets is None or len(subsets) != len(ens.members_):
        raise TypeError("the ensemble does not record its members' subsets")
    members = []
    for j, ((member, ref), sub) in enumerate(zip(ens.members_, subsets)):
        mp = {}
        for name, sc in member.items():
            mp[name], a = _scorer_state(sc)
            arrays |= _prefixed(f"member{j}{_SEP}{name}", a)
        for name, v in ref.items():
            arrays[f"member{j}{_SEP}ref{_SEP}{name}"] = np.asarray(v, float)
        arrays[f"member{j}{_SEP}subset"] = np.asarray(sub, np.int64)
        members.append({"scorers": mp, "ref": list(ref)})
    params = {"format": FORMAT, "settings": settings, "active": list(ens.active_),
              "dropped": dict(ens.dropped_), "fitted": fitted, "members": members}
    return params, arrays


def save_ensemble(ens: ScoreEnsemble, out_dir) -> Path:
    """Write ``ensemble.json`` + ``ensemble.npz`` into ``out_dir`` (atomically, no pickle);
    returns the JSON file's path. Read back with :func:`load_ensemble`."""
    from skyfm.outputs import atomic_file, write_json

    params, arrays = ensemble_state(ens)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_file(out / ENSEMBLE_ARRAYS, "wb") as fh:
        np.savez(fh, **arrays)
    return write_json(out / ENSEMBLE_JSON, params)


def _sub(a: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    head = prefix + _SEP
    return {k[len(head):]: v for k, v in a.items() if k.startswith(head)}


def load_ensemble(out_dir) -> ScoreEnsemble:
    """The fitted :class:`ScoreEnsemble` :func:`save_ensemble` wrote in ``out_dir``.

    Raises :class:`~skyfm.errors.DataNotFoundError` when the files are not there and
    :class:`~skyfm.errors.DataFormatError` when they cannot be read."""
    d = Path(out_dir)
    jf, af = d / ENSEMBLE_JSON, d / ENSEMBLE_ARRAYS
    if not jf.is_file() or not af.is_file():
        raise DataNotFoundError(f"{d}: no saved scorers ({ENSEMBLE_JSON} + {ENSEMBLE_ARRAYS}); "
                                "the run was written by an older skyfm or with an embedder "
                                "skyfm cannot save: re-run `skyfm discover` to write them")
    try:
        p = json.loads(jf.read_text(encoding="utf-8"))
        with np.load(af, allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"cannot read the saved scorers ({exc})", file=jf,
                              expected="files written by save_ensemble") from exc
    if not isinstance(p, dict) or p.get("format") != FORMAT:
        got = p.get("format") if isinstance(p, dict) else None
        raise DataFormatError(f"saved-scorer format {got!r}", file=jf, field="format",
                              expected=f"{FORMAT} (this skyfm's)")
    try:
        s = p["settings"]
        ens = ScoreEnsemble(s["scorers"], weights=s["weights"], fusion=s["fusion"], k=s["k"],
                            n_estimators=s["n_estimators"], openset_method=s["openset_method"],
                            n_members=s["n_members"], subsample=s["subsample"],
                            random_state=s["random_state"])
        X = a["X"]
        ens.X_ = X
        ens.active_, ens.dropped_ = list(p["active"]), dict(p["dropped"])
        ens.fitted_ = {n: _scorer_from(p["fitted"][n], _sub(a, f"fitted{_SEP}{n}"), X)
                       for n in ens.active_}
        ens.reference_ = {n: a[f"reference{_SEP}{n}"] for n in ens.active_}
        ens.reference_fused_ = a["reference_fused"]
        ens.members_, ens.member_subsets_ = [], []
        for j, m in enumerate(p["members"]):
            sub = a[f"member{j}{_SEP}subset"]
            member = {n: _scorer_from(q, _sub(a, f"member{j}{_SEP}{n}"), X[sub])
                      for n, q in m["scorers"].items()}
            ref = {n: a[f"member{j}{_SEP}ref{_SEP}{n}"] for n in m["ref"]}
            ens.members_.append((member, ref))
            ens.member_subsets_.append(sub)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise DataFormatError(f"incomplete saved scorers ({type(exc).__name__}: {exc})",
                              file=jf, expected="files written by save_ensemble") from exc
    return ens
