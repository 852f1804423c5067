"""Split-conformal prediction: intervals for any regressor, prediction sets for any classifier,
with the finite-sample coverage guarantee P(truth inside) >= 1 - alpha on exchangeable data.

Written by hand (about a hundred lines) rather than with MAPIE: MAPIE 1.x changed its whole
API from 0.x (``MapieRegressor`` -> ``SplitConformalRegressor`` with ``conformalize``), and
the normalised score we need for heteroscedastic models (residual / the model's own sigma) is
a custom-estimator detour there; split conformal is one quantile of calibration scores.

* :class:`ConformalRegressor` -- score |y - mu| (or |y - mu| / sigma with ``normalized``,
  the wrapped model then needs ``predict_dist(X) -> (mu, sigma)``); intervals
  mu +- q * (sigma).
* :class:`ConformalClassifier` -- score 1 - p(true class) (the "LAC" score); the set of a new
  object holds every class with 1 - p <= q.

Both either split ``calibration_fraction`` of the training data off (``fit``), or wrap an
already fitted model and are calibrated on held-out data (``prefit=True``, then
:meth:`calibrate`).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from skyfm.errors import DataFormatError

__all__ = ["ConformalClassifier", "ConformalRegressor", "conformal_quantile"]


def conformal_quantile(scores: np.ndarray, alpha: float) -> float:
    """The ceil((n + 1)(1 - alpha))-th smallest score (``inf`` when n is too small)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    s = np.sort(np.asarray(scores, float))
    k = math.ceil((s.size + 1) * (1 - alpha))
    return float("inf") if k > s.size else float(s[k - 1])


class _Conformal(BaseEstimator):
    def __init__(self, estimator, calibration_fraction: float = 0.2, prefit: bool = False,
                 random_state: int = 0):
        self.estimator = estimator
        self.calibration_fraction = calibration_fraction
        self.prefit = prefit
        self.random_state = random_state

    def fit(self, X, y):
        """Fit a clone of ``estimator`` on part of (X, y), calibrate on the rest."""
        if self.prefit:
            raise ValueError("prefit=True: the estimator is already fitted; call calibrate()")
        X, y = np.asarray(X), np.asarray(y)
        strat = y if self._stratify else None
        Xf, Xc, yf, yc = train_test_split(X, y, test_size=self.calibration_fraction,
                                          random_state=self.random_state, stratify=strat)
        self.estimator_ = clone(self.estimator).fit(Xf, yf)
        return self._calibrate(Xc, yc)

    def calibrate(self, X_cal, y_cal):
        """Calibrate the already fitted ``estimator`` (``prefit=True``) on held-out data."""
        if not self.prefit:
            raise ValueError("calibrate() is for prefit=True; fit() calibrates by itself")
        self.estimator_ = self.estimator
        return self._calibrate(np.asarray(X_cal), np.asarray(y_cal))

    def _calibrate(self, X, y):
        if len(y) == 0:
            raise DataFormatError("no calibration objects", field="y_cal",
                                  expected="at least one held-out labelled object")
        self.scores_ = np.sort(self._scores(X, y))
        self.n_calibration_ = len(y)
        return self

    def quantile(self, alpha: float) -> float:
        check_is_fitted(self, "scores_")
        return conformal_quantile(self.scores_, alpha)


class ConformalRegressor(_Conformal):
    """Split-conformal intervals around any regressor (see the module docstring)."""

    _stratify = False

    def __init__(self, estimator, calibration_fraction: float = 0.2, prefit: bool = False,
                 random_state: int = 0, normalized: bool = False):
        super().__init__(estimator, calibration_fraction, prefit, random_state)
        self.normalized = normalized

    def _mu_scale(self, X) -> tuple[np.ndarray, np.ndarray]:
        if self.normalized:
            mu, sigma = self.estimator_.predict_dist(X)
            return np.asarray(mu, float), np.maximum(np.asarray(sigma, float), 1e-12)
        mu = np.asarray(self.estimator_.predict(X), float)
        return mu, np.ones_like(mu)

    def _scores(self, X, y):
        mu, scale = self._mu_scale(X)
        return np.abs(np.asarray(y, float) - mu) / scale

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "scores_")
        return self._mu_scale(X)[0]

    def predict_interval(self, X, alpha: float = 0.32) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) bounds that hold the truth with probability >= 1 - alpha."""
        mu, scale = self._mu_scale(X)
        q = self.quantile(alpha)
        return mu - q * scale, mu + q * scale

    def predict_dist(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(mu, sigma) with sigma calibrated so that mu +- sigma is a 68 % conformal interval."""
        mu, scale = self._mu_scale(X)
        return mu, self.quantile(0.3173) * scale


class ConformalClassifier(_Conformal):
    """Split-conformal prediction sets around any classifier with ``predict_proba``."""

    _stratify = True

    def _scores(self, X, y):
        p = self.estimator_.predict_proba(X)
        col = {c: i for i, c in enumerate(self.estimator_.classes_)}
        missing = sorted({str(v) for v in y if v not in col})
        if missing:
            raise DataFormatError(f"calibration labels {missing} unknown to the classifier",
                                  field="y_cal",
                                  expected=f"one of {list(self.estimator_.classes_)}")
        return 1.0 - p[np.arange(len(y)), [col[v] for v in y]]

    @property
    def classes_(self):
        return self.estimator_.classes_

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "scores_")
        return self.estimator_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]

    def predict_set(self, X, alpha: float = 0.05) -> np.ndarray:
        """(N, classes) booleans: the classes in each object's set (coverage >= 1 - alpha)."""
        return 1.0 - self.predict_proba(X) <= self.quantile(alpha)
