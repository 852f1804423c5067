"""Split-conformal prediction (skyfm.models.conformal): coverage on held-out data, for a plain
regressor, a heteroscedastic one (normalised scores) and a classifier's prediction sets."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LinearRegression, LogisticRegression

from skyfm.errors import DataFormatError
from skyfm.models.conformal import ConformalClassifier, ConformalRegressor, conformal_quantile


def _hetero(n, rng):
    x = rng.uniform(0, 4, (n, 1))
    sigma = 0.1 + 0.5 * x[:, 0]
    return x, 2 * x[:, 0] + sigma * rng.standard_normal(n), sigma


class _KnownSigma(RegressorMixin, BaseEstimator):
    """Linear fit whose sigma is the known noise law (stands in for a heteroscedastic net)."""

    def fit(self, X, y):
        self.lin_ = LinearRegression().fit(X, y)
        return self

    def predict(self, X):
        return self.lin_.predict(X)

    def predict_dist(self, X):
        return self.predict(X), 0.1 + 0.5 * np.asarray(X)[:, 0]


def test_quantile_is_the_finite_sample_rank():
    s = np.arange(1, 20, dtype=float)  # 19 scores
    assert conformal_quantile(s, 0.1) == 18.0  # ceil(20 * 0.9) = 18th smallest
    assert conformal_quantile(s, 0.01) == np.inf  # too few scores for 99 %
    with pytest.raises(ValueError, match="alpha"):
        conformal_quantile(s, 1.5)


@pytest.mark.parametrize("normalized,est", [(False, LinearRegression()),
                                            (True, _KnownSigma())])
def test_regressor_intervals_cover_held_out_data(normalized, est):
    rng = np.random.default_rng(0)
    X, y, _ = _hetero(1500, rng)
    Xt, yt, sig = _hetero(5000, rng)
    conf = ConformalRegressor(est, normalized=normalized, random_state=0).fit(X, y)
    for alpha in (0.05, 0.32):
        lo, hi = conf.predict_interval(Xt, alpha)
        cover = np.mean((yt >= lo) & (yt <= hi))
        assert 1 - alpha - 0.03 <= cover <= 1 - alpha + 0.03
    width = hi - lo
    if normalized:  # intervals follow the noise: wide where it is large
        assert np.corrcoef(width, sig)[0, 1] > 0.99
        mu, s = conf.predict_dist(Xt)
        assert abs(np.mean(np.abs(yt - mu) <= s) - 0.683) < 0.03
    else:
        assert np.ptp(width) < 1e-9


def test_classifier_sets_cover_and_shrink_when_easy():
    rng = np.random.default_rng(1)
    centres = np.array([[0, 0], [2, 0], [0, 2]])
    y = rng.integers(0, 3, 3000)
    X = centres[y] + rng.standard_normal((3000, 2))
    names = np.array(["star", "galaxy", "qso"])[y]
    conf = ConformalClassifier(LogisticRegression(), random_state=0).fit(X[:1500], names[:1500])
    sets = conf.predict_set(X[1500:], alpha=0.1)
    col = {c: i for i, c in enumerate(conf.classes_)}
    covered = sets[np.arange(1500), [col[v] for v in names[1500:]]]
    assert 0.87 <= covered.mean() <= 0.93
    assert 1.0 <= sets.sum(1).mean() < 3.0  # informative, not the trivial all-classes set
    assert conf.predict(X[:5]).shape == (5,)
    clone(conf)  # a scikit-learn estimator


def test_prefit_calibration_and_clear_errors():
    rng = np.random.default_rng(2)
    X, y, _ = _hetero(600, rng)
    lin = LinearRegression().fit(X[:300], y[:300])
    conf = ConformalRegressor(lin, prefit=True).calibrate(X[300:], y[300:])
    assert conf.n_calibration_ == 300
    with pytest.raises(ValueError, match="prefit"):
        ConformalRegressor(lin, prefit=True).fit(X, y)
    clf = LogisticRegression().fit(X, (y > 4).astype(int))
    with pytest.raises(DataFormatError, match="y_cal"):
        ConformalClassifier(clf, prefit=True).calibrate(X[:10], np.full(10, 7))
    with pytest.raises(DataFormatError, match="no calibration"):
        ConformalRegressor(lin, prefit=True).calibrate(X[:0], y[:0])
