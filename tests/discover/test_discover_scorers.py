"""Scorers: sign convention, self-exclusion, open set, fusion."""

from __future__ import annotations

import numpy as np
import pytest

from skyfm.discover.scorers import (
    IsolationForestScorer,
    KNNScorer,
    OpenSetScorer,
    percentile_of,
    rank_fusion,
    zscore_fusion,
)


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (100, 3)), rng.normal(6, 1, (100, 3)), [[20, 20, 20]]])
    y = np.array(["a"] * 100 + ["b"] * 100 + [None], dtype=object)
    return X, y


@pytest.mark.parametrize("scorer", [KNNScorer(5), IsolationForestScorer(n_estimators=50),
                                    IsolationForestScorer(n_estimators=50, backend="coniferest")])
def test_far_point_is_most_unusual(blobs, scorer):
    X, _ = blobs
    s = scorer.fit_score_samples(X)
    assert s.argmax() == len(X) - 1


def test_knn_excludes_self_when_scoring_training_set(blobs):
    X, _ = blobs
    sc = KNNScorer(1).fit(X)
    assert (sc.score_samples(X) == 0).all()  # new points identical to fitted ones
    assert (sc.fit_score_samples(X) > 0).all()  # the fitted set itself: own point excluded


@pytest.mark.parametrize("method", ["gaussian", "mahalanobis", "energy", "msp"])
def test_open_set_scorer(blobs, method):
    X, y = blobs
    sc = OpenSetScorer(method)
    assert sc.can_fit(y) and not sc.can_fit(np.array(["a"] * 10 + [None], dtype=object))
    s = sc.fit_score_samples(X, y)
    assert set(sc.classes_) == {"a", "b"}
    assert (sc.predict(X[:100]) == "a").mean() > 0.95
    if method in ("gaussian", "mahalanobis"):
        assert s.argmax() == len(X) - 1


def test_fusion_scales():
    a, b = np.arange(10.0), np.arange(10.0)[::-1] ** 2
    f = rank_fusion({"a": a, "b": b})
    assert f.min() >= 0 and f.max() <= 1 and np.allclose(f, f[0])  # opposite ranks cancel
    assert np.allclose(percentile_of([100.0], np.arange(10.0)), 1.0)
    z = zscore_fusion({"a": a}, references={"a": a})
    assert z.argmax() == 9


def test_reconstruction_scorer_calibrates_out_the_noise_level():
    from skyfm.discover.scorers import ReconstructionScorer

    rng = np.random.default_rng(0)
    log_noise = rng.uniform(-2, 0, 300)
    err = np.exp(2 * log_noise + rng.normal(0, 0.1, 300))
    log_noise[0] = -1.8  # a quiet object...
    err[0] = np.exp(2 * -1.8) * 8  # ...that reconstructs 8x worse than quiet objects do
    raw = ReconstructionScorer().fit_score_samples(err)
    cal = ReconstructionScorer().fit_score_samples(np.column_stack([err, log_noise]))
    assert raw.argmax() != 0
    assert cal.argmax() == 0


def test_fusion_weight_zero_drops_a_scorer_and_all_zero_counts_equally():
    from skyfm.discover.scorers import rank_fusion

    a, b = np.arange(10.0), np.arange(10.0)[::-1]
    np.testing.assert_allclose(rank_fusion({"a": a, "b": b}, {"b": 0.0}),
                               rank_fusion({"a": a}))
    np.testing.assert_allclose(rank_fusion({"a": a, "b": b}, {"a": 0.0, "b": 0.0}),
                               rank_fusion({"a": a, "b": b}))
    with pytest.raises(ValueError, match=">= 0"):
        rank_fusion({"a": a}, {"a": -1.0})
