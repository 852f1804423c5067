"""Explanations: ordinary neighbours, feature deviations, sentences and plots."""

from __future__ import annotations

import numpy as np
from discover_synth import make_lightcurves, make_outlier_lc

from skyfm.discover.explain import (
    describe_feature,
    feature_deviations,
    ordinary_neighbours,
    plot_candidate,
    safe_filename,
)


def test_neighbours_are_ordinary_and_never_self():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    score = np.linspace(0, 1, 50)
    idx, d = ordinary_neighbours(X, score, k=4, ordinary_quantile=0.8)
    assert idx.shape == (50, 4) and (np.diff(d, axis=1) >= 0).all()
    assert not (idx == np.arange(50)[:, None]).any()
    assert (score[idx] <= np.quantile(score, 0.8)).all()


def test_feature_deviation_flags_the_odd_feature():
    rng = np.random.default_rng(0)
    F = np.column_stack([rng.normal(0, 1, 30), rng.normal(5, 1, 30)])
    F[0, 1] = 50.0
    z, _ = feature_deviations(F, np.tile(np.arange(1, 11), (30, 1)))
    assert abs(z[0, 1]) > 10 and abs(z[0, 0]) < 5


def test_describe_feature_units():
    assert describe_feature("log_period_R", 2.0) == ("R-band period", "100 d")
    assert describe_feature("colour_B-R", 0.5) == ("B−R colour", "+0.50 mag")
    assert describe_feature("median_i", 20.83, "mag") == ("i-band median magnitude", "20.8")
    assert describe_feature("amplitude_g", 1.2, "mag")[1] == "1.20 mag"
    assert describe_feature("half_max_duration", 5.66)[1] == "5.66 d"


def test_plot_candidate_writes_png(tmp_path):
    lc, nb = make_outlier_lc("a/b"), make_lightcurves(1)[0]
    res = (lc.time, lc.value - lc.value.mean(), "residual")
    p = plot_candidate(lc, nb, tmp_path / f"{safe_filename(lc.object_id)}.png", res)
    assert p.name.startswith("a_b~") and p.read_bytes()[:4] == b"\x89PNG"  # a/b: prefix + hash
