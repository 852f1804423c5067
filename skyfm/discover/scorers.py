"""Unusualness scorers and their fusion.

Every scorer follows the scikit-learn contract (configuration in the constructor, ``fit``
returns self, learned attributes end in ``_``) with one deliberate difference:
``score_samples(X)`` returns **unusualness — higher means more unusual** (scikit-learn's
outlier detectors return the opposite sign). ``fit_score_samples(X)`` scores the fitted set
itself without letting an object be its own neighbour (k-NN) or judge itself (open set: out-of-fold
predictions).

- :class:`KNNScorer` — mean distance to the k nearest neighbours in embedding space;
- :class:`IsolationForestScorer` — isolation forest (scikit-learn or coniferest);
- :class:`ReconstructionScorer` — the X model's pretraining reconstruction error, passed in;
- :class:`OpenSetScorer` — how little a classifier trained on the labelled objects recognises an
  object: Mahalanobis distance to the nearest class, energy or 1 - max softmax;
- :func:`rank_fusion` / :func:`zscore_fusion` — one combined score from several.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "IsolationForestScorer",
    "KNNScorer",
    "OpenSetScorer",
    "ReconstructionScorer",
    "make_scorer",
    "percentile_of",
    "rank_fusion",
    "zscore_fusion",
]


def is_missing(value) -> bool:
    """True for an absent label: None, NaN or the empty string."""
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return str(value) in ("", "nan", "None")


class KNNScorer(BaseEstimator):
    """Mean Euclidean distance to the ``k`` nearest fitted points (higher = more unusual)."""

    def __init__(self, k: int = 10):
        self.k = k

    def fit(self, X: np.ndarray, y=None) -> KNNScorer:
        from sklearn.neighbors import NearestNeighbors

        X = np.asarray(X, np.float32)
        self.k_ = int(max(1, min(self.k, len(X) - 1)))
        self.nn_ = NearestNeighbors(n_neighbors=min(self.k_ + 1, len(X)), n_jobs=1).fit(X)
        self.n_fit_ = len(X)
        return self

    def score_samples(self, X: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
        """Scores of new points; ``exclude[i]`` is a fitted index that row i may not use
        (its own clean version, when X holds re-drawn copies of fitted objects)."""
        check_is_fitted(self, "nn_")
        X = np.asarray(X, np.float32)
        if exclude is None:
            d, _ = self.nn_.kneighbors(X, n_neighbors=self.k_)
            return d.mean(axis=1)
        d, idx = self.nn_.kneighbors(X, n_neighbors=min(self.k_ + 1, self.n_fit_))
        keep = idx != np.asarray(exclude)[:, None]
        # drop the excluded neighbour, or the farthest one when it was not among them
        keep[keep.all(axis=1), -1] = False
        return (d * keep).sum(axis=1) / keep.sum(axis=1)

    def fit_score_samples(self, X: np.ndarray, y=None) -> np.ndarray:
        self.fit(X)
        return self.score_samples(X, exclude=np.arange(len(X)))


class IsolationForestScorer(BaseEstimator):
    """Isolation forest; ``backend='sklearn'`` (default) or ``'coniferest'``."""

    def __init__(self, n_estimators: int = 200, max_samples: int | str = "auto",
                 random_state: int = 0, backend: str = "sklearn"):
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.random_state = random_state
        self.backend = backend

    def fit(self, X: np.ndarray, y=None) -> IsolationForestScorer:
        X = np.asarray(X, np.float32)
        if self.backend == "coniferest":
            from coniferest.isoforest import IsolationForest

            ms = 256 if self.max_samples == "auto" else int(self.max_samples)
            self.forest_ = IsolationForest(n_trees=self.n_estimators,
                                           n_subsamples=min(ms, len(X)),
                                           random_seed=self.random_state).fit(X)
        elif self.backend == "sklearn":
            from sklearn.ensemble import IsolationForest

            self.forest_ = IsolationForest(n_estimators=self.n_estimators,
                                           max_samples=self.max_samples,
                                           random_state=self.random_state, n_jobs=1).fit(X)
        else:
            raise ValueError(f"backend must be 'sklearn' or 'coniferest', got {self.backend!r}")
        return self

    def score_samples(self, X: np.ndarray, exclude=None) -> np.ndarray:
        check_is_fitted(self, "forest_")
        return -np.asarray(self.forest_.score_samples(np.asarray(X, np.float32)), float)

    def fit_score_samples(self, X: np.ndarray, y=None) -> np.ndarray:
        return self.fit(X).score_samples(X)


class ReconstructionScorer(BaseEstimator):
    """The X model's reconstruction error as a score (values are passed in, not embeddings).

    ``errors`` is (N,) or (N, 1 + c): the error, then ``c`` noise covariates (e.g. log S/N,
    log amplitude). Without covariates the score is ``log(error)``. With them it is the residual
    of a robust (Huber) linear fit of ``log(error)`` on the covariates over the fitted objects:
    an object is unusual when it reconstructs worse than objects of the same noise level, not
    because it is noisy (the raw error of a masked-reconstruction model mostly measures noise).
    """

    def fit(self, errors: np.ndarray, y=None) -> ReconstructionScorer:
        E = np.asarray(errors, float)
        self.errors_ = E
        self.model_ = None
        if E.ndim == 2 and E.shape[1] > 1:
            from sklearn.linear_model import HuberRegressor

            le, C = self._split(E)
            # a covariate no fitted object has (e.g. a band's amplitude when every curve has
            # one point in it) says nothing: leave it out rather than impute it from nothing
            self.c_keep_ = np.isfinite(C).any(axis=0)
            if self.c_keep_.any():
                C = C[:, self.c_keep_]
                self.c_center_ = np.nanmedian(C, axis=0)
                C = np.where(np.isfinite(C), C, self.c_center_)
                self.model_ = HuberRegressor(max_iter=500).fit(C, le)
        return self

    @staticmethod
    def _split(E: np.ndarray):
        e = E[:, 0] if E.ndim == 2 else E
        e = np.nan_to_num(e, nan=np.nanmedian(e))
        le = np.log(np.clip(e, 1e-12, None))
        return le, (E[:, 1:] if E.ndim == 2 else None)

    def score_samples(self, errors: np.ndarray, exclude=None) -> np.ndarray:
        check_is_fitted(self, "errors_")
        E = np.asarray(errors, float)
        le, C = self._split(E)
        if self.model_ is None or C is None:
            return le
        C = C[:, self.c_keep_]
        C = np.where(np.isfinite(C), C, self.c_center_)
        return le - self.model_.predict(C)

    def fit_score_samples(self, errors: np.ndarray, y=None) -> np.ndarray:
        return self.fit(errors).score_samples(errors)


class OpenSetScorer(BaseEstimator):
    """Open-set score of a classifier trained on the labelled objects (higher = less recognised).

    ``method``:
    - ``'gaussian'`` (default): each class a Gaussian with its own shrunk (Ledoit-Wolf)
      covariance (quadratic discriminant analysis); the score is the smallest negative
      log-likelihood over the classes, ``min_c [d_c^2 + log det S_c]``;
    - ``'mahalanobis'``: distance to the nearest class mean under one shared (shrunk)
      covariance (linear discriminant analysis, Lee et al. 2018);
    - ``'energy'``: ``-logsumexp(logits)`` of a logistic-regression head;
    - ``'msp'``: ``1 - max softmax`` of the same head.

    ``y`` may contain ``None``/NaN/'' for unlabelled objects; classes with fewer than
    ``min_per_class`` members are ignored. Unlabelled objects never influence the fit.
    """

    def __init__(self, method: str = "gaussian", min_per_class: int = 5, n_folds: int = 5,
                 random_state: int = 0):
        self.method = method
        self.min_per_class = min_per_class
        self.n_folds = n_folds
        self.random_state = random_state

    @staticmethod
    def labelled_mask(y) -> np.ndarray:
        y = np.asarray(y, dtype=object)
        return np.array([not is_missing(v) for v in y], bool)

    def _usable(self, y) -> np.ndarray:
        lab = self.labelled_mask(y)
        ys = np.asarray(y, dtype=object).astype(str)
        classes, counts = np.unique(ys[lab], return_counts=True)
        ok = set(classes[counts >= self.min_per_class])
        return lab & np.isin(ys, list(ok))

    def can_fit(self, y) -> bool:
        if y is None:
            return False
        m = self._usable(y)
        return len(set(np.asarray(y, dtype=object)[m].astype(str))) >= 2

    def fit(self, X: np.ndarray, y) -> OpenSetScorer:
        X = np.asarray(X, float)
        m = self._usable(y)
        ys = np.asarray(y, dtype=object).astype(str)
        self.classes_ = np.unique(ys[m])
        if len(self.classes_) < 2:
            raise ValueError("the open-set scorer needs labelled objects of at least two classes")
        Xl, yl = X[m], ys[m]
        if self.method == "gaussian":
            from sklearn.covariance import LedoitWolf

            self.means_, self.precisions_, self.logdets_ = [], [], []
            for c in self.classes_:
                lw = LedoitWolf().fit(Xl[yl == c])
                self.means_.append(lw.location_)
                self.precisions_.append(lw.precision_)
                self.logdets_.append(np.linalg.slogdet(lw.covariance_)[1])
        elif self.method == "mahalanobis":
            from sklearn.covariance import LedoitWolf

            self.means_ = np.stack([Xl[yl == c].mean(axis=0) for c in self.classes_])
            resid = Xl - self.means_[np.searchsorted(self.classes_, yl)]
            self.precision_ = LedoitWolf().fit(resid).precision_
        elif self.method in ("energy", "msp"):
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            self.clf_ = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=1.0))
            self.clf_.fit(Xl, yl)
        else:
            raise ValueError(f"method must be 'gaussian', 'mahalanobis', 'energy' or 'msp', "
                             f"got {self.method!r}")
        return self

    def decision(self, X: np.ndarray) -> np.ndarray:
        """Per-class scores (N, C): log-likelihoods (x2), negative squared distances or logits."""
        check_is_fitted(self, "classes_")
        X = np.asarray(X, float)
        if self.method == "gaussian":
            out = np.empty((len(X), len(self.classes_)))
            for j, (mu, P, ld) in enumerate(zip(self.means_, self.precisions_, self.logdets_)):
                d = X - mu
                out[:, j] = -(np.einsum("ij,jk,ik->i", d, P, d) + ld)
            return out
        if self.method == "mahalanobis":
            out = np.empty((len(X), len(self.classes_)))
            for j, mu in enumerate(self.means_):
                d = X - mu
                out[:, j] = -np.einsum("ij,jk,ik->i", d, self.precision_, d)
            return out
        return self.clf_.decision_function(X).reshape(len(X), -1) if len(self.classes_) > 2 else \
            np.column_stack([np.zeros(len(X)), self.clf_.decision_function(X)])

    def predict(self, X: np.ndarray) -> np.ndarray:
        D = self.decision(X)  # NotFittedError before fit
        return self.classes_[D.argmax(axis=1)]

    def score_samples(self, X: np.ndarray, exclude=None) -> np.ndarray:
        """``exclude[i]``: the fitted index of object i (or -1); a labelled fitted object is then
        scored by the classifier of its own fold, which never saw it, as in
        :meth:`fit_score_samples`."""
        out = self._score(X)
        folds = getattr(self, "folds_", None)
        if exclude is not None and folds:
            exclude = np.asarray(exclude)
            for sub, test in folds:
                rows = np.flatnonzero(np.isin(exclude, test))
                if len(rows):
                    out[rows] = sub._score(np.asarray(X)[rows])
        return out

    def _score(self, X: np.ndarray) -> np.ndarray:
        from scipy.special import logsumexp, softmax

        D = self.decision(X)
        if self.method == "gaussian":
            return -D.max(axis=1)
        if self.method == "mahalanobis":
            return np.sqrt(np.clip(-D.max(axis=1), 0, None))
        if self.method == "energy":
            return -logsumexp(D, axis=1)
        return 1.0 - softmax(D, axis=1).max(axis=1)

    def fit_score_samples(self, X: np.ndarray, y) -> np.ndarray:
        """Scores of the fitted set: labelled objects get out-of-fold scores."""
        from sklearn.model_selection import StratifiedKFold

        X = np.asarray(X, float)
        self.fit(X, y)
        out = self.score_samples(X)
        m = self._usable(y)
        ys = np.asarray(y, dtype=object).astype(str)
        idx = np.flatnonzero(m)
        n_min = np.unique(ys[idx], return_counts=True)[1].min()
        folds = int(min(self.n_folds, n_min))
        self.folds_ = []  # (classifier, the fitted indices it scores): new copies of them too
        if folds >= 2:
            skf = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            yy = ys.copy()
            for tr, te in skf.split(idx, ys[idx]):
                sub = OpenSetScorer(self.method, self.min_per_class, random_state=self.random_state)
                mask_y = np.full(len(X), None, dtype=object)
                mask_y[idx[tr]] = yy[idx[tr]]
                try:
                    sub.fit(X, mask_y)
                except ValueError:
                    continue
                out[idx[te]] = sub.score_samples(X[idx[te]])
                self.folds_.append((sub, idx[te]))
        return out


def make_scorer(name: str, random_state: int = 0, **kwargs):
    """A scorer by name: ``knn``, ``iforest``, ``recon`` or ``openset``."""
    if name == "knn":
        return KNNScorer(**kwargs)
    if name == "iforest":
        return IsolationForestScorer(random_state=random_state, **kwargs)
    if name == "recon":
        return ReconstructionScorer()
    if name == "openset":
        return OpenSetScorer(random_state=random_state, **kwargs)
    raise ValueError(f"unknown scorer {name!r}; choose knn, iforest, recon or openset")


def percentile_of(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Fraction of ``reference`` strictly below each value, in [0, 1] (mid-rank for ties).

    NaN values (objects a scorer could not score) get 0.5, the neutral middle, and NaNs in
    ``reference`` are ignored, so an unscorable object never looks the most unusual."""
    ref = np.asarray(reference, float)
    ref = np.sort(ref[np.isfinite(ref)])
    v = np.asarray(values, float)
    if ref.size == 0:
        return np.full(v.shape, 0.5)
    lo = np.searchsorted(ref, v, side="left")
    hi = np.searchsorted(ref, v, side="right")
    return np.where(np.isfinite(v), (lo + hi) / (2.0 * len(ref)), 0.5)


def _fusion_weights(names, weights: Mapping[str, float] | None) -> np.ndarray:
    """Per-scorer weights (default 1); when every weight is 0 they count equally."""
    w = np.array([1.0 if weights is None else float(weights.get(n, 1.0)) for n in names])
    if (w < 0).any():
        raise ValueError(f"fusion weights must be >= 0, got {dict(zip(names, w))}")
    return w if w.sum() > 0 else np.ones(len(names))


def rank_fusion(scores: Mapping[str, np.ndarray], weights: Mapping[str, float] | None = None,
                references: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Weighted mean of each scorer's percentile rank (0 = most ordinary, 1 = most unusual).

    ``references`` gives, per scorer, the population whose distribution defines the percentiles
    (default: the scores themselves), so re-drawn or new objects land on the same scale.
    """
    names = list(scores)
    w = _fusion_weights(names, weights)
    P = np.column_stack([percentile_of(scores[n], scores[n] if references is None
                                       else references[n]) for n in names])
    return (P * w).sum(axis=1) / w.sum()


def zscore_fusion(scores: Mapping[str, np.ndarray], weights: Mapping[str, float] | None = None,
                  references: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Weighted mean of robust z-scores (median/MAD of the reference), clipped at 10."""
    names = list(scores)
    w = _fusion_weights(names, weights)
    cols = []
    for n in names:
        ref = np.asarray(scores[n] if references is None else references[n], float)
        med = np.median(ref)
        mad = 1.4826 * np.median(np.abs(ref - med)) + 1e-12
        cols.append(np.clip((np.asarray(scores[n]) - med) / mad, -10, 10))
    return (np.column_stack(cols) * w).sum(axis=1) / w.sum()

