"""Injecting simulated signals into real light curves."""

import ast

import numpy as np
import pandas as pd
import pytest

from skyfm.data.observations import LightCurve, Provenance
from skyfm.sim import inject_lightcurve


def _constant(kind="mag", n=300, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 900, n))
    band = np.where(np.arange(n) % 2, "B", "R")
    if kind == "mag":
        v = 18 + 0.05 * rng.standard_normal(n)
        e = np.full(n, 0.05)
    else:
        v = 1000 + 30 * rng.standard_normal(n)
        e = np.full(n, 30.0)
    return LightCurve(
        t,
        v,
        e,
        band,
        kind=kind,
        object_id="x",
        label="binary",
        provenance=Provenance(survey="eros"),
    )


@pytest.mark.parametrize("kind", ["mag", "flux"])
@pytest.mark.parametrize("cls", ["microlensing", "flare", "tde", "sn_ia", "sn_ii"])
def test_inject_keeps_times_and_adds_signal(kind, cls):
    lc = _constant(kind)
    new = inject_lightcurve(lc, cls, np.random.default_rng(1))
    assert np.array_equal(new.time, lc.time) and np.array_equal(new.band, lc.band)
    assert new.label == cls and new.meta["original_label"] == "binary"
    assert new.meta["injected"]["class"] == cls
    assert lc.label == "binary"  # the input is unchanged
    if kind == "mag":
        brighter = lc.value - new.value
    else:
        brighter = (new.value - lc.value) / 1000
    assert brighter.max() > 0.2  # the event shows
    assert np.all(np.isfinite(new.value)) and np.all(new.error > 0)
    if kind == "flux":  # brighter points carry more source noise
        assert np.all(new.error >= lc.error - 1e-12)
    quiet = new.value == lc.value
    assert quiet.sum() > 0 and np.array_equal(new.error[quiet], lc.error[quiet])


def test_inject_microlensing_peaks_at_t0():
    lc = _constant("mag", n=600)
    new = inject_lightcurve(lc, "microlensing", np.random.default_rng(5))
    t0 = new.meta["injected"]["t0"]
    i = np.argmin(new.value)
    assert abs(new.time[i] - t0) < 3 * new.meta["injected"]["t_E"]


def test_inject_rejects_unknown_class():
    with pytest.raises(ValueError):
        inject_lightcurve(_constant(), "rrab", 0)


def test_inject_into_real_eros_curve(shared_data):
    path = shared_data("lc_eros_ramp_variable_stars") / "train_varlength_features.csv.gz"
    row = pd.read_csv(path, nrows=1).iloc[0]
    t, v, e, b = [], [], [], []
    for band in ("b", "r"):
        tt = ast.literal_eval(row[f"time_points_{band}"])
        t += tt
        v += ast.literal_eval(row[f"light_points_{band}"])
        e += ast.literal_eval(row[f"error_points_{band}"])
        b += [band.upper()] * len(tt)
    lc = LightCurve(t, v, e, b, provenance=Provenance(survey="eros"), object_id=row.iloc[0])
    new = inject_lightcurve(lc, "microlensing", np.random.default_rng(0))
    assert len(new) == len(lc) and np.nanmin(lc.value - new.value) > -1.0
    assert np.max(lc.value - new.value) > 0.1


def test_inject_uses_the_curve_survey_band_wavelengths():
    from skyfm.sim.lightcurves import _lc_wavelengths

    lc = _constant()
    lc.provenance = Provenance(survey="EROS-2")
    lam = _lc_wavelengths(lc)
    assert set(np.round(lam)) == {5300.0, 7600.0}  # EROS B_E and R_E, not Johnson B and R
    lc.provenance = Provenance(survey=None)
    # without a survey: the one band table's Johnson B and Cousins R (skyfm.data.bands)
    from skyfm.data.bands import BANDS

    expected = {round(BANDS[b].wavelength.to_value("Angstrom")) for b in ("B", "R")}
    assert set(np.round(_lc_wavelengths(lc))) == expected
