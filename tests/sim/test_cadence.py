"""Survey cadences and the noise model."""

import dataclasses

import numpy as np
import pytest

from skyfm.sim import simulate_lightcurves
from skyfm.sim.cadence import (
    SURVEYS,
    get_survey,
    mag_error,
    observe,
    sample_cadence,
    sidereal_spread_hours,
)


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


def test_visits_at_one_sidereal_time_make_daily_aliases():
    """A field visited near its transit (``hour_angle_sd``, as real EROS-2 and ZTF are) makes a
    sinusoid's one-day alias fit the cadence almost as well as its true period; visits spread
    over the night (the built-in twins' default) break the alias."""
    rng = np.random.default_rng(3)
    eros_real_like = dataclasses.replace(get_survey("eros"), hour_angle_sd=1.3)
    ztf_real_like = dataclasses.replace(get_survey("ztf"), hour_angle_sd=0.3)
    locked = {"eros": [sample_cadence(eros_real_like, rng)[0] for _ in range(20)],
              "ztf": [sample_cadence(ztf_real_like, rng)[0] for _ in range(20)]}
    spread = {k: [sample_cadence(k, rng)[0] for _ in range(20)] for k in ("eros", "ztf")}
    assert np.median([sidereal_spread_hours(t) for t in locked["eros"]]) == pytest.approx(1.3,
                                                                                        abs=0.3)
    assert np.median([sidereal_spread_hours(t) for t in locked["ztf"]]) == pytest.approx(1.0,
                                                                                       abs=0.3)
    f_true = 1 / 0.55                      # an RR Lyrae period
    f_alias = f_true - 1.0027379            # its sidereal-day alias (P = 1.22 d)

    def alias_power(t):
        y = np.sin(2 * np.pi * f_true * t)   # noiseless: the alias's fit is all in the cadence
        return abs((y * np.exp(2j * np.pi * f_alias * t)).mean()) * 2  # ~1: alias reproduces y

    for k in ("eros", "ztf"):
        assert np.median([sidereal_spread_hours(t) for t in spread[k]]) > 4.0
        assert np.median([alias_power(t) for t in locked[k]]) > 0.8
        assert np.median([alias_power(t) for t in spread[k]]) < 0.6
    assert np.isnan(sidereal_spread_hours(np.array([1.0])))


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
