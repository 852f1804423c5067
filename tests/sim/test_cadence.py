"""Survey cadences and the noise model."""

import numpy as np
import pytest

from skyfm.sim import simulate_lightcurves
from skyfm.sim.cadence import SURVEYS, get_survey, mag_error, observe, sample_cadence


def test_ztf_bands_cadence_and_seasons():
    rng = np.random.default_rng(0)
    t, b = sample_cadence("ztf", rng)
    assert set(b) == {"g", "r"}
    assert np.all(np.diff(t) >= 0)
    gaps = np.diff(np.unique(np.floor(t)))
    assert np.median(gaps) <= 4  # every few nights in season
    assert gaps.max() > 60  # seasonal gaps
    assert 100 < t.size < 1000


def test_lsst_ogle_eros_cadences():
    rng = np.random.default_rng(1)
    t, b = sample_cadence("lsst", rng)
    assert set(b) == set("ugrizy") and np.ptp(t) > 3000
    counts = {k: int((b == k).sum()) for k in "ugrizy"}
    assert counts["u"] < counts["r"]  # u is the sparsest band
    t, b = sample_cadence("ogle", rng)
    assert (b == "I").mean() > 0.8 and (b == "V").sum() > 5
    t, b = sample_cadence("eros", rng)
    assert abs((b == "B").sum() - (b == "R").sum()) < 15
    tb, tr = np.sort(t[b == "B"]), np.sort(t[b == "R"])
    close = np.min(np.abs(tb[:, None] - tr[None]), axis=1) < 0.06  # B_E/R_E simultaneous
    assert close.mean() > 0.9


def test_errors_grow_with_magnitude():
    m = np.linspace(14, 22, 50)
    for name, s in SURVEYS.items():
        for b in s.bands:
            e = mag_error(m, s.m5[b], s.gamma[b], s.sigma_sys[b])
            assert np.all(np.diff(e[m > 16]) > 0), name
            assert mag_error(s.m5[b], s.m5[b], s.gamma[b], 0.0) == pytest.approx(0.2, rel=1e-3)
    obs = simulate_lightcurves(30, classes=["constant"], survey="ztf", seed=2)
    mags = np.array([np.median(lc.detections.value) for lc in obs])
    errs = np.array([np.median(lc.detections.error) for lc in obs])
    assert np.corrcoef(mags, np.log(errs))[0, 1] > 0.8


def test_observe_upper_limits_and_scatter():
    rng = np.random.default_rng(3)
    bands = np.array(["r"] * 4000, dtype=object)
    mag, err, ul = observe(np.full(4000, 22.5), bands, "ztf", rng)
    assert ul.mean() > 0.9  # far below the limit: non-detections
    assert np.all(np.isnan(err[ul])) and np.allclose(mag[ul], mag[ul])  # limit = epoch depth
    assert 18.5 < np.median(mag[ul]) < 21
    mag, err, ul = observe(np.full(4000, 17.0), bands, "ztf", rng)
    assert not ul.any()
    pull = (mag - 17.0) / err
    core = np.abs(pull) < 5
    assert 0.8 < np.std(pull[core]) < 1.2  # reported errors describe the scatter
    assert core.mean() > 0.98


def test_get_survey_rejects_unknown():
    assert get_survey("ZTF").name == "ztf"
    with pytest.raises(ValueError):
        get_survey("nope")
