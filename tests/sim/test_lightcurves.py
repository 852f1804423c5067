"""Simulated light curves: class shapes, labels, parameters, determinism."""

import numpy as np
import pytest
from astropy.timeseries import LombScargle

from skyfm.data.observations import LightCurve, ObservationSet
from skyfm.sim import ALL_CLASSES, COMMON_CLASSES, RARE_CLASSES, simulate_lightcurves
from skyfm.sim.lightcurves import class_model, davenport_flare, draw_parameters, paczynski


def _ls_period(lc, band, pmin, pmax):
    d = lc.detections.band_data(band)
    freq, power = LombScargle(d.time, d.value).autopower(
        minimum_frequency=1 / pmax, maximum_frequency=1 / pmin, samples_per_peak=10
    )
    return 1 / freq[np.argmax(power)]


def test_classes_exported():
    assert set(RARE_CLASSES) == {"microlensing", "flare", "tde"}
    assert {
        "rrab",
        "rrc",
        "cepheid",
        "dsct",
        "eb_detached",
        "eb_contact",
        "mira",
        "sn_ia",
        "sn_ii",
        "constant",
    } == set(COMMON_CLASSES)
    assert not set(COMMON_CLASSES) & set(RARE_CLASSES)


def test_every_class_simulates_with_labels_and_meta():
    obs = simulate_lightcurves(3, classes=ALL_CLASSES, survey="ztf", seed=3)
    assert isinstance(obs, ObservationSet) and len(obs) == 3 * len(ALL_CLASSES)
    assert sorted(set(obs.labels)) == sorted(ALL_CLASSES)
    assert len(set(obs.object_ids)) == len(obs)
    for lc in obs:
        assert isinstance(lc, LightCurve) and lc.kind == "mag" and len(lc) > 5
        lc._validate()  # finite times, no duplicate (band, time), errors >= 0
        assert set(lc.bands) <= {"g", "r"}
        assert lc.meta["survey"] == "ztf"
        det = ~lc.upper_limit
        assert np.all(np.isfinite(lc.error[det])) and np.all(lc.error[det] > 0)
        assert np.all(np.isnan(lc.error[lc.upper_limit]))
    by = {lc.label: lc for lc in obs}
    assert 0.2 < by["rrab"].meta["period"] < 1.2
    assert by["sn_ia"].meta["redshift"] > 0 and "distance_modulus" in by["sn_ia"].meta
    assert 0 < by["microlensing"].meta["u0"] <= 1


@pytest.mark.parametrize(
    "cls,band,pmin,pmax",
    [
        ("rrab", "I", 0.2, 2.0),
        ("rrc", "I", 0.15, 1.0),
        ("cepheid", "I", 0.5, 40.0),
        ("dsct", "I", 0.03, 0.3),
        ("mira", "I", 50.0, 1000.0),
    ],
)
def test_periods_recovered_by_lomb_scargle(cls, band, pmin, pmax):
    baseline = 1200 if cls == "mira" else 250
    obs = simulate_lightcurves(4, classes=[cls], survey="ogle", seed=11, baseline=baseline)
    hits = 0
    for lc in obs:
        p = _ls_period(lc, band, pmin, pmax)
        hits += abs(p / lc.meta["period"] - 1) < 0.02
    assert hits >= 3


def test_eclipsing_binary_periods_at_half_or_full_period():
    obs = simulate_lightcurves(4, classes=["eb_contact"], survey="ogle", seed=5, baseline=250)
    for lc in obs:
        p = _ls_period(lc, "I", 0.08, 1.5)
        assert min(abs(p / lc.meta["period"] - 1), abs(2 * p / lc.meta["period"] - 1)) < 0.02


def test_detached_eb_eclipses_are_dips():
    n = 30
    p = draw_parameters("eb_detached", n, np.random.default_rng(2), "ogle")
    p["t0"] = np.zeros(n)
    ph = np.linspace(0, 1, 1000, endpoint=False)
    t = (ph[None] * p["period"][:, None]).ravel()
    oi = np.repeat(np.arange(n), ph.size)
    m = class_model("eb_detached")(t, np.full(t.size, 8000.0), oi, p).reshape(n, -1)
    med = np.median(m, 1)
    # eclipses make the star fainter; out of eclipse it is nearly flat
    assert np.all(m.max(1) - med > 1.5 * (med - m.min(1)))
    deepest = ph[np.argmax(m, 1)]  # at the primary (phase 0) or the secondary eclipse
    assert np.all((deepest < 0.01) | (np.abs(deepest - p["secondary_phase"]) < 0.01))
    depth = 1 - 10 ** (-0.4 * (m[:, 0] - med))
    assert np.allclose(depth, p["depth1"], atol=0.1)


def test_rrab_rises_faster_than_it_declines():
    p = draw_parameters("rrab", 50, np.random.default_rng(0), "ogle")
    p["t0"] = np.zeros(50)
    ph = np.linspace(0, 1, 400, endpoint=False)
    t = (ph[None] * p["period"][:, None]).ravel()
    oi = np.repeat(np.arange(50), ph.size)
    m = class_model("rrab")(t, np.full(t.size, 8000.0), oi, p).reshape(50, -1)
    imax, imin = np.argmax(m, 1), np.argmin(m, 1)  # faintest, brightest
    rise = ((imin - imax) % ph.size) / ph.size  # faint -> bright
    assert np.median(rise) < 0.3
    # the I-band peak-to-peak amplitude equals the drawn amplitude
    assert np.allclose(m.max(1) - m.min(1), p["amplitude_I"], rtol=0.02)


def test_sn_rise_and_decline():
    for cls in ("sn_ia", "sn_ii", "tde"):
        p = draw_parameters(cls, 20, np.random.default_rng(1), "ztf")
        p["t0"] = np.zeros(20)
        t = np.linspace(-100, 300, 401) if cls == "tde" else np.linspace(-40, 150, 381)
        oi = np.repeat(np.arange(20), t.size)
        tt = np.tile(t, 20)
        m = class_model(cls)(tt, np.full(tt.size, 6366.0), oi, p).reshape(20, -1)
        ipk = np.argmin(m, 1)
        assert np.all((t[ipk] > -25) & (t[ipk] < 30))  # peak near t0
        assert np.all(m[:, 0] - m.min(1) > 2) and np.all(m[:, -1] - m.min(1) > 1)
    # SN Ia: ~18 d rest-frame rise, Delta m15(B) about 1 mag
    p = draw_parameters("sn_ia", 1, np.random.default_rng(2), "ztf")
    p.update(t0=np.zeros(1), redshift=np.array([1e-4]), stretch=np.ones(1), ebv_host=np.zeros(1))
    t = np.array([-30.0, -10.0, 0.0, 15.0])
    m = class_model("sn_ia")(t, np.full(4, 4400.0), np.zeros(4, int), p)
    assert m[0] > m[1] > m[2] and 0.8 < m[3] - m[2] < 1.4


def test_microlensing_symmetric_and_achromatic():
    assert paczynski(0.0, 0.0, 0.1, 20.0) == pytest.approx(10.04, rel=1e-2)
    p = draw_parameters("microlensing", 3, np.random.default_rng(0), "ztf")
    p["t0"] = np.array([100.0, 200.0, 300.0])
    dt = np.linspace(0, 60, 31)
    for i in range(3):
        oi = np.full(dt.size, i)
        lam = np.full(dt.size, 6366.0)
        before = class_model("microlensing")(p["t0"][i] - dt, lam, oi, p)
        after = class_model("microlensing")(p["t0"][i] + dt, lam, oi, p)
        assert np.allclose(before, after)
        assert before[0] == before.min()  # brightest (smallest mag) at t0


def test_flare_template_and_flares_seen():
    x = np.array([-2.0, -0.5, 0.0, 1.0, 5.0])
    f = davenport_flare(x)
    assert f[0] == 0 and f[2] == pytest.approx(1.0, abs=0.01) and f[1] > 0 and f[3] > f[4] > 0
    p = draw_parameters("flare", 20, np.random.default_rng(4), "ztf")
    p["t_peak"] = np.tile([[10.0, 20.0, 30.0]], (20, 1))
    p["amplitude_g"][:] = 2.0
    t = np.array([0.0, 10.0, 10.0 + 0.1 * p["t_half"][0, 0]])
    oi = np.zeros(3, int)
    for lam in (4746.0, 6366.0):
        m = class_model("flare")(t, np.full(3, lam), oi, p)
        assert m[1] < m[0] - 0.1 and m[1] < m[2] < m[0]  # peak, then decay
    gband = class_model("flare")(t[1:2], np.array([4746.0]), oi[:1], p)
    rband = class_model("flare")(t[1:2], np.array([6366.0]), oi[:1], p)
    base = class_model("constant")(t[1:2], np.array([4746.0, 6366.0]), np.zeros(2, int), p)
    assert base[0] - gband[0] > base[1] - rband[0]  # flares are blue
    # flares are placed on observing epochs, so the simulated curves show them
    obs = simulate_lightcurves(10, classes=["flare", "constant"], survey="ztf", seed=4)
    n5 = {
        c: np.mean(
            [
                np.any(
                    (np.median(lc.detections.value) - lc.detections.value) / lc.detections.error > 5
                )
                for lc in obs
                if lc.label == c
            ]
        )
        for c in ("flare", "constant")
    }
    assert n5["flare"] > n5["constant"]


def test_deterministic_and_class_streams_independent():
    a = simulate_lightcurves(3, classes=["rrab", "sn_ia"], seed=7)
    b = simulate_lightcurves(3, classes=["rrab", "sn_ia"], seed=7)
    c = simulate_lightcurves({"rrab": 3}, seed=7)
    d = simulate_lightcurves(3, classes=["rrab"], seed=8)
    for x, y in zip(a, b):
        assert np.array_equal(x.time, y.time) and np.array_equal(x.value, y.value)
    assert np.array_equal(a[0].value, c[0].value)
    assert not np.array_equal(a[0].value[:5], d[0].value[:5])


def test_n_per_class_dict_and_progress():
    seen = []
    obs = simulate_lightcurves({"rrc": 2, "tde": 1}, survey="lsst", seed=0, progress=seen.append)
    assert obs.labels.count("rrc") == 2 and obs.labels.count("tde") == 1
    assert sum(seen) == 3
    with pytest.raises(ValueError, match="unknown class"):
        simulate_lightcurves(1, classes=["quasar_typo"])
    with pytest.raises(ValueError, match="unknown survey"):
        simulate_lightcurves(1, survey="hubble")


def test_cepheid_leavitt_law():
    p = draw_parameters("cepheid", 400, np.random.default_rng(0), "ogle")
    fund = p["mode"] == "F"
    slope = np.polyfit(np.log10(p["period"][fund]), p["absolute_mag_I"][fund], 1)[0]
    assert -3.2 < slope < -2.7


def test_every_survey_gives_valid_curves_in_its_bands():
    from skyfm.sim import SURVEYS

    for name, survey in SURVEYS.items():
        obs = simulate_lightcurves(2, classes=ALL_CLASSES, survey=name, seed=1, baseline=400)
        for lc in obs:
            lc._validate()
            assert set(lc.bands) <= set(survey.bands) and lc.provenance.survey == name


def test_flux_kind_forced_photometry():
    obs = simulate_lightcurves(4, classes=["sn_ia", "rrab"], survey="lsst", seed=2, kind="flux")
    for lc in obs:
        assert lc.kind == "flux" and lc.flux_unit == "nJy" and not lc.upper_limit.any()
        assert np.all(lc.error > 0)
    sn = [lc for lc in obs if lc.label == "sn_ia"]
    snr = np.concatenate([lc.value / lc.error for lc in sn])
    assert (snr < 3).any() and (snr > 5).any()  # faint epochs are measured, not limits
    rr = next(lc for lc in obs if lc.label == "rrab")
    assert np.median(rr.value) > 0
    with pytest.raises(ValueError, match="kind"):
        simulate_lightcurves(1, classes=["rrab"], kind="counts")


def test_ogle_i_band_amplitude_is_the_catalogue_amplitude():
    from skyfm.sim.check import fourier_amplitude

    obs = simulate_lightcurves({"rrab": 10, "cepheid": 10}, survey="ogle", seed=3, baseline=600)
    ratio = []
    for lc in obs:
        d = lc.detections.band_data("I")
        ratio.append(fourier_amplitude(d.time, d.value, lc.meta["period"]) / lc.meta["amplitude"])
    assert abs(np.median(ratio) - 1) < 0.03


def _median_mag(lcs, band):
    return float(np.median([np.median(lc.value[(lc.band.astype(str) == band) & ~lc.upper_limit])
                            for lc in lcs]))


def test_eros_twin_stars_sit_at_the_lmc_distance_and_field_surveys_do_not():
    eros = simulate_lightcurves(60, classes=["rrab", "cepheid"], survey="eros", seed=4)
    rr = [lc for lc in eros if lc.label == "rrab"]
    cep = [lc for lc in eros if lc.label == "cepheid"]
    dm = np.array([lc.meta["distance_modulus"] for lc in rr + cep])
    assert np.all((dm > 18.3) & (dm < 19.1))  # 18.48 + extinction + depth scatter
    # RR Lyrae at V ~ 19.4 in the LMC, near the EROS depth; Cepheids ~3 mag brighter
    assert 18.4 < _median_mag(rr, "R") < 19.2
    assert _median_mag(rr, "R") - _median_mag(cep, "R") > 2.0
    ztf = simulate_lightcurves(60, classes=["rrab"], survey="ztf", seed=4)
    assert np.ptp([lc.meta["distance_modulus"] for lc in ztf]) > 2.0  # a Galactic field


def test_eros_zero_point_scatter_widens_the_colours_of_one_class():
    from dataclasses import replace

    from skyfm.sim import SURVEYS

    def colours(survey):
        obs = simulate_lightcurves(80, classes=["cepheid"], survey=survey, seed=5)
        return np.array([_median_mag([lc], "B") - _median_mag([lc], "R") for lc in obs])

    wide = colours(SURVEYS["eros"])
    narrow = colours(replace(SURVEYS["eros"], zp_scatter=0.0))
    assert 0.25 < np.std(wide) < 0.5 and np.std(narrow) < 0.2

