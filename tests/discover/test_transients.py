"""Transient shape features (joint Bazin fit) and discovery's transient kind."""

from __future__ import annotations

import numpy as np
import pytest

from skyfm.data.observations import LightCurve
from skyfm.features.transients import (
    joint_bazin,
    looks_transient,
    transient_feature_names,
    transient_features,
)


def _bazin(t, t0, trise, tfall):
    return np.exp(-(t - t0) / tfall) / (1 + np.exp(-(t - t0) / trise))


def _sn(oid, trise, tfall, amp_g, amp_r, rng, step=2.5, mag=True):
    """A two-band supernova-like curve from a Bazin shape, with 2 % noise; like an alert
    stream, only points above 3 % of the peak are detected."""
    t = np.arange(0.0, 150.0, step) + rng.uniform(0, 1)
    tb = np.concatenate([t, t + 0.3])
    band = np.array(["g"] * t.size + ["r"] * t.size)
    f = np.where(band == "g", amp_g, amp_r) * _bazin(tb, 40.0, trise, tfall)
    keep = f > 0.03 * f.max()
    tb, band, f = tb[keep], band[keep], f[keep]
    f = f * (1 + 0.02 * rng.standard_normal(f.size))
    if not mag:
        return LightCurve(tb, f, 0.02 * f + 0.5, band, kind="flux", object_id=oid)
    return LightCurve(tb, 23.9 - 2.5 * np.log10(f), np.full(f.size, 0.03), band,
                      object_id=oid)


def test_long_rise_gets_a_longer_rise_time_and_colours_have_the_right_sign():
    rng = np.random.default_rng(0)
    ia = _sn("ia", 3.0, 20.0, 300.0, 200.0, rng)       # fast, blue (g brighter than r)
    slsn = _sn("slsn", 25.0, 80.0, 200.0, 300.0, rng)   # slow, red
    F, names = transient_features([ia, slsn], ["r", "g"])
    assert names == transient_feature_names(["g", "r"])  # ordered blue to red
    col = {n: F[:, i] for i, n in enumerate(names)}
    assert np.isfinite(F[:, [names.index(n) for n in (
        "rise_time", "decline_time", "half_max_duration", "fit_quality", "peak_mag_g",
        "peak_mag_r", "peak_colour_g-r")]]).all()
    assert col["rise_time"][1] > 3 * col["rise_time"][0]
    assert col["decline_time"][1] > 2 * col["decline_time"][0]
    assert col["peak_colour_g-r"][0] < 0 < col["peak_colour_g-r"][1]
    # the fitted peak magnitude is the true one (flux scale: microjansky, AB zero point 23.9)
    true_peak = 300.0 * _bazin(np.linspace(0, 150, 20001), 40.0, 3.0, 20.0).max()
    assert col["peak_mag_g"][0] == pytest.approx(23.9 - 2.5 * np.log10(true_peak), abs=0.05)


def test_joint_fit_recovers_the_shape_from_sparse_multiband_points():
    """LSST-like sampling: 3-4 points per band, six bands, one shared shape."""
    rng = np.random.default_rng(2)
    bands = 6
    t = np.sort(rng.uniform(0, 120, 22))
    b = rng.integers(0, bands, t.size)
    amp = np.linspace(100, 300, bands)
    f = amp[b] * _bazin(t, 40.0, 5.0, 30.0)
    e = 0.02 * f.max() * np.ones_like(f)
    f = f + e * rng.standard_normal(f.size)
    r = joint_bazin(t, f, e, b, bands, t[np.argmax(f)])
    assert r is not None
    assert r["trise"] == pytest.approx(5.0, rel=0.3)
    assert r["tfall"] == pytest.approx(30.0, rel=0.3)


def test_too_few_points_give_nan_not_an_error():
    lc = LightCurve([1.0, 2.0], [18.0, 18.1], [0.05, 0.05], ["g", "r"], object_id="two")
    F, _ = transient_features([lc], ["g", "r"])
    assert np.isnan(F).all()


def test_looks_transient_rule():
    rng = np.random.default_rng(1)
    sne = [_sn(f"s{i}", 3.0, 20.0, 300.0, 200.0, rng) for i in range(5)]
    assert looks_transient(sne)
    t = np.sort(rng.uniform(0, 1500, 200))
    var = [LightCurve(t, 15 + 0.5 * np.sin(2 * np.pi * t / 0.6 + i), np.full(t.size, 0.02),
                      "g", object_id=f"v{i}") for i in range(5)]
    assert not looks_transient(var)


def test_discover_picks_the_transient_embedding_and_saves_it(tmp_path):
    from skyfm.discover import discover
    from skyfm.discover.embed import load_embedder

    rng = np.random.default_rng(3)
    lcs = [_sn(f"ia{i}", 3.0 * rng.uniform(0.8, 1.2), 20.0 * rng.uniform(0.8, 1.2), 300.0,
               250.0, rng, step=4.0) for i in range(14)]
    lcs.append(_sn("slow", 30.0, 120.0, 300.0, 250.0, rng, step=4.0))
    # one point every 200 days: enough points, but at most two in any season
    lcs.append(LightCurve(np.arange(6.0) * 200, 19.0 + 0.1 * np.arange(6), np.full(6, 0.05),
                          "g", object_id="sparse_years"))
    few = _sn("few", 3.0, 20.0, 300.0, 250.0, rng, step=8.0)  # 4 points per band
    sel = [*np.flatnonzero(few.band == "g")[:4], *np.flatnonzero(few.band == "r")[:4]]
    lcs.append(LightCurve(few.time[sel], few.value[sel], few.error[sel], few.band[sel],
                          object_id="four_per_band"))
    df = discover(lcs, tmp_path, n_noise=0, n_members=0, report=False, top=2,
                  scorers=("knn", "iforest"))
    assert df["object_id"].iloc[0] == "slow"
    q = dict(zip(df["object_id"], df["quality"]))
    assert q["slow"] == "ok" and q["sparse_years"] == "no_shape_fit"
    assert q["four_per_band"] == "ok"  # thin for periodic features, enough for the shape fit
    assert df.set_index("object_id").loc["sparse_years", "epistemic"] >= 0.28
    emb = load_embedder(tmp_path)
    assert emb.transient and emb.model_ is None
    X = np.load(tmp_path / "embeddings.npy")
    np.testing.assert_allclose(emb.transform(lcs), X, atol=1e-5)
    with pytest.raises(ValueError, match="kind"):
        discover(lcs, None, kind="supernova")


def test_real_ztf_slsn_rises_slower_than_the_snia(shared_data):
    from skyfm.data import read

    obs = [o for o in read(shared_data("lc_alerce_ztf_sne30")) if isinstance(o, LightCurve)]
    F, names = transient_features(obs, ["g", "r"])
    rise = F[:, names.index("rise_time")]
    lab = np.array([str(o.label) for o in obs])
    assert np.isfinite(rise).mean() > 0.8
    ia = np.nanmedian(rise[lab == "SNIa"])
    assert 5 < ia < 15  # days from half maximum to maximum, as for SNe Ia
    assert np.nanmax(rise[lab == "SLSN"]) > 4 * ia
