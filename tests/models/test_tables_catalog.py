"""skyfm's catalogue models (skyfm.models.catalog, tabular_mlp) and the catalogue benchmark's
metrics: synthetic checks of the pieces, then small real-data runs (subsampled shared sets)."""

from __future__ import annotations

import numpy as np
import pytest

from skyfm.benchmarks.catalogs import (
    bootstrap_ratio,
    cut_hadron_acceptance,
    hadron_acceptance,
    run_magic,
    run_sdss_class,
    run_sdss_photoz,
    tuned_gbm,
)
from skyfm.models.catalog import PhotoZRegressor, QuantileTreesRegressor, magnitude_features
from skyfm.models.tabular_mlp import MLPEnsembleClassifier, MLPEnsembleRegressor
from skyfm.train.metrics import regression_scores


@pytest.fixture(autouse=True)
def _one_thread():
    """Boosted trees on a few hundred rows: one OpenMP thread (on a loaded machine OpenMP's
    spinning threads make them many times slower)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def test_regression_scores_by_hand():
    z = np.array([0.0, 0.1, 0.2, 1.0])
    p = np.array([0.0, 0.1 + 0.011, 0.2 - 0.024, 1.5])
    s = regression_scores(z, p, (p - 0.02, p + 0.02), (p - 1, p + 1), redshift=True)
    dn = np.abs(p - z) / (1 + z)
    assert s["sigma_nmad"] == pytest.approx(1.4826 * np.median(dn))
    assert s["outlier_fraction"] == 0.25  # only 0.5 / 2 = 0.25 > 0.15
    assert s["coverage_68"] == 0.5 and s["coverage_95"] == 1.0
    assert s["mae"] == pytest.approx(np.mean(np.abs(p - z)))
    plain = regression_scores(z, p)
    assert plain["coverage_68"] is None and plain["sigma_nmad"] > s["sigma_nmad"]


def test_magnitude_features_add_neighbour_colours():
    X, names = magnitude_features(np.array([[19.0, 18.0, 17.5]]), ["u", "g", "r"])
    assert names == ["u", "g", "r", "u-g", "g-r"]
    np.testing.assert_allclose(X, [[19, 18, 17.5, 1.0, 0.5]])
    with pytest.raises(ValueError, match="bands"):
        magnitude_features(np.ones((2, 3)), ["u", "g"])


def test_hadron_acceptance_and_the_two_dimensional_cut():
    rng = np.random.default_rng(0)
    assert hadron_acceptance(np.arange(100.0), np.full(50, 60.0), 0.5) == 1.0
    assert hadron_acceptance(np.arange(100.0), np.full(50, 40.0), 0.5) == 0.0
    # gammas: small alpha and width; hadrons: uniform alpha, wide
    n = 4000
    gam = rng.random(n) < 0.5
    alpha = np.where(gam, np.abs(rng.normal(0, 8, n)), rng.uniform(0, 90, n))
    width = np.where(gam, rng.normal(15, 4, n), rng.normal(35, 10, n))
    r = cut_hadron_acceptance(alpha[:2000], width[:2000], gam[:2000], alpha[2000:],
                              width[2000:], gam[2000:], 0.5)
    assert 0.45 <= r["gamma_efficiency"] <= 0.56
    assert r["hadron_acceptance"] < 0.05  # both cuts matter: alpha alone keeps ~10 %


def test_mlp_ensembles_are_bit_reproducible_and_heteroscedastic():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (400, 2))
    noise = 0.05 + 0.4 * (x[:, 0] > 0)
    y = np.sin(x[:, 0]) + noise * rng.standard_normal(400)
    kw = {"n_members": 1, "epochs": 40, "hidden": 32, "batch_size": 64}
    a = MLPEnsembleRegressor(**kw).fit(x, y).predict_dist(x)
    b = MLPEnsembleRegressor(**kw).fit(x, y).predict_dist(x)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    # the predicted sigma follows the noise law it was trained on
    assert np.median(a[1][x[:, 0] > 0.2]) > 2 * np.median(a[1][x[:, 0] < -0.2])
    side = np.where(x[:, 1] > 0, "a", "b")
    clf = MLPEnsembleClassifier(n_members=2, epochs=10, hidden=32).fit(x, side)
    assert (clf.predict(x) == side).mean() > 0.95
    assert clf.predict_proba_members(x).shape == (2, 400, 2)


def test_photoz_regressor_intervals_are_calibrated_on_held_out_data():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (1500, 3))
    z = 0.5 * x[:, 0] + 0.2 * x[:, 1] + (0.01 + 0.05 * x[:, 2]) * rng.standard_normal(1500)
    m = PhotoZRegressor(n_members=1, epochs=25, hidden=32).fit(x[:1000], z[:1000])
    mu, sig = m.predict_dist(x[1000:])
    inside = np.abs(z[1000:] - mu) <= sig
    assert 0.6 <= inside.mean() <= 0.78
    lo, hi = m.predict_interval(x[1000:], 0.05)
    assert np.mean((z[1000:] >= lo) & (z[1000:] <= hi)) >= 0.9
    base = QuantileTreesRegressor().fit(x[:1000], z[:1000])
    lo, hi = base.predict_interval(x[1000:], 0.32)
    assert (lo <= hi).mean() > 0.95


# -- real data (subsampled shared sets) -------------------------------------------------------
@pytest.mark.shared_data
def test_sdss_class_rows_side_by_side(shared_data):
    d = shared_data("catalog_sdss_dr14_skyserver10k")
    rows = run_sdss_class(d, n=800, n_members=1, epochs=10)
    by = {r["method"]: r for r in rows}
    assert set(by) == {"baseline trees", "skyfm", "baseline trees + conformal 95 % sets",
                       "skyfm + conformal 95 % sets"}
    assert by["skyfm"]["accuracy"] > 0.9 and by["baseline trees"]["accuracy"] > 0.9
    assert by["skyfm + conformal 95 % sets"]["coverage_95"] >= 0.9
    assert 1.0 <= by["skyfm + conformal 95 % sets"]["mean_set_size"] < 2.0


@pytest.mark.shared_data
def test_sdss_galaxy_photoz_with_uncertainty(shared_data):
    d = shared_data("catalog_sdss_dr14_skyserver10k")
    rows = run_sdss_photoz(d, n=1600, n_members=1, epochs=30, classes=("GALAXY",))
    by = {r["method"]: r for r in rows}
    sky = by["skyfm"]
    assert sky["sigma_nmad"] < 0.03 and sky["outlier_fraction"] < 0.03
    assert 0.55 <= sky["coverage_68"] <= 0.8 and sky["coverage_95"] >= 0.88
    assert by["baseline trees (quantile)"]["coverage_68"] is not None


@pytest.mark.shared_data
def test_magic_cut_and_models(shared_data):
    d = shared_data("catalog_magic_gamma_uci")
    rows = run_magic(d, n=2500, n_members=2, epochs=10, efficiencies=(0.5,), tune=False)
    by = {r["method"]: r for r in rows}
    cut = by["baseline cut fAlpha + fWidth"]
    assert 0.4 <= cut["gamma_efficiency"] <= 0.6 and cut["hadron_acceptance"] < 0.3
    sky = by["skyfm"]
    assert sky["hadron_acceptance"] < cut["hadron_acceptance"]
    assert sky["ratio_vs_cut"] == pytest.approx(cut["hadron_acceptance"]
                                                / sky["hadron_acceptance"])
    lo, hi = map(float, sky["ratio_68"].split("-"))
    assert 1 < lo < sky["ratio_vs_cut"] < hi


def test_bootstrap_ratio_interval_holds_the_point_and_shrinks_with_events():
    rng = np.random.default_rng(0)
    out = []
    for n in (400, 6400):
        pg, ph = rng.normal(2, 1, n), rng.normal(0, 1, n)
        cg, ch = rng.random(n) < 0.5, rng.random(n) < 0.3
        r, lo, hi = bootstrap_ratio(pg, ph, cg, ch, 0.5, n_boot=300)
        assert lo < r < hi
        out.append(hi - lo)
    assert out[1] < out[0] / 2  # 16x the events: about a quarter of the width


def test_tuned_gbm_picks_the_setting_with_the_lowest_cv_acceptance():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(900, 3))
    gamma = X[:, 0] + 0.5 * rng.normal(size=900) > 0
    grid = ({"max_iter": 2, "max_depth": 1}, {"max_iter": 60})
    model, setting, cv = tuned_gbm(X, gamma, 0.5, grid=grid)
    assert setting == grid[1] and 0 <= cv < 0.2
    assert model.n_iter_ == 60


def test_hillas_features_add_miss_and_head_tail_when_the_columns_are_there():
    from skyfm.data.io.catalogs import MAGIC_COLUMNS
    from skyfm.models.catalog import hillas_features

    cols = MAGIC_COLUMNS[:-1]
    row = {"fLength": 40.0, "fWidth": 10.0, "fSize": 3.0, "fConc": 0.4, "fConc1": 0.2,
           "fAsym": -5.0, "fM3Long": 12.0, "fM3Trans": -3.0, "fAlpha": -30.0, "fDist": 100.0}
    H, names = hillas_features(np.array([[row[c] for c in cols]]), cols)
    got = dict(zip(names, H[0]))
    assert got["miss"] == pytest.approx(50.0)  # 100 sin 30 deg
    assert got["m3long_head_tail"] == -12.0 and got["abs_m3trans"] == 3.0
    assert got["conc1_over_conc"] == pytest.approx(0.5, rel=1e-4)
    short, short_names = hillas_features(np.array([[40.0, 10.0, 3.0, 30.0]]),
                                         ["fLength", "fWidth", "fSize", "fAlpha"])
    assert "miss" not in short_names and short.shape == (1, 9)
