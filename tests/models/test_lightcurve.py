import numpy as np
import pytest
from lcmodel_helpers import make_lc

from skyfm.models import lightcurve_tokens as tok
from skyfm.models.lightcurve import LightCurveConfig, LightCurveEncoder


def test_embed_shapes_and_dtype(encoder):
    lcs = [make_lc(n, seed=i) for i, n in enumerate([10, 57, 200, 2000])]
    z = encoder.embed(lcs, batch_size=3)
    assert z.shape == (4, encoder.embed_dim) and z.dtype == np.float32
    assert np.isfinite(z).all()
    assert encoder.embed([]).shape == (0, encoder.embed_dim)


def test_padding_does_not_change_embedding(encoder):
    short, long_ = make_lc(12, seed=1), make_lc(190, seed=2)
    alone = encoder.embed([short])
    padded = encoder.embed([short, long_], batch_size=2)  # short is padded to 190 points
    np.testing.assert_allclose(alone[0], padded[0], atol=1e-5)


def test_long_curves_are_subsampled_to_max_len():
    p = tok.prepare(make_lc(3000, seed=4))
    assert len(p) == 2000  # prepare keeps at most 2000 points
    batch = tok.collate([p], max_len=200, max_bands=6)
    assert batch["x"].shape == (1, 200) and batch["mask"].all()


def test_band_wavelengths_for_many_surveys():
    assert tok.band_wavelength("g") == tok.band_wavelength("ztfg") == tok.band_wavelength("ZTF_g")
    assert tok.band_wavelength("2") == tok.band_wavelength("r")  # PLAsTiCC passband index
    assert tok.band_wavelength("B") < tok.band_wavelength("R") < tok.band_wavelength("I")
    assert tok.band_wavelength("lsst_y") > tok.band_wavelength("lsst_z")
    assert tok.band_wavelength("weird-band") == tok.DEFAULT_WAVELENGTH_NM


def test_flux_and_unseen_bands_work(encoder):
    lcs = [make_lc(80, bands=("u", "y"), kind="flux", seed=5), make_lc(40, bands=("Q",), seed=6)]
    z = encoder.embed(lcs)
    assert np.isfinite(z).all() and not np.allclose(z[0], z[1])


def test_period_is_found_for_a_clean_sinusoid():
    p = tok.prepare(make_lc(200, bands=("r",), period=0.37, seed=7))
    assert p.period == pytest.approx(0.37, rel=0.02)


def test_save_load_round_trip_is_exact(tmp_path):
    enc = LightCurveEncoder(LightCurveConfig(d_model=32, n_layers=1, d_ff=64))
    enc.save_pretrained(tmp_path / "m")
    back = LightCurveEncoder.from_pretrained(tmp_path / "m")
    lcs = [make_lc(30, seed=i) for i in range(3)]
    np.testing.assert_array_equal(enc.embed(lcs), back.embed(lcs))
    assert back.config == enc.config


def test_shipped_weights(encoder):
    from pathlib import Path

    from skyfm.models.lightcurve import WEIGHTS_DIR

    files = sorted(p.name for p in (WEIGHTS_DIR / "skyfm-lc-base").iterdir())
    assert files == ["config.json", "model.safetensors"]
    assert sum(p.stat().st_size for p in Path(WEIGHTS_DIR / "skyfm-lc-base").iterdir()) < 10e6
    c = encoder.config
    assert encoder.embed_dim == 2 * c.d_model + len(c.twin_classes)
    assert encoder.embed([make_lc(50)]).shape == (1, encoder.embed_dim)


def test_unknown_model_name_is_a_clear_error():
    from skyfm.errors import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="skyfm-lc-base"):
        LightCurveEncoder.from_pretrained("no-such-model")


def test_reconstruction_error_scores_odd_curves_higher(encoder):
    normal = [make_lc(150, period=0.5 + 0.1 * i, seed=10 + i) for i in range(6)]
    rng = np.random.default_rng(0)
    odd = []
    for i in range(6):  # isolated spikes: values that cannot be predicted from neighbours
        lc = make_lc(150, period=0.5 + 0.1 * i, seed=20 + i)
        lc.value = lc.value + rng.choice([0.0, 3.0], size=len(lc), p=[0.8, 0.2])
        odd.append(lc)
    r = encoder.reconstruction_error(normal + odd)
    assert r.shape == (12,) and np.isfinite(r).all()
    assert np.median(r[6:]) > np.median(r[:6])


def test_parallel_tokenising_gives_the_same_embeddings(encoder):
    lcs = [make_lc(30 + 7 * i, seed=40 + i) for i in range(80)]
    np.testing.assert_array_equal(encoder.embed(lcs, batch_size=16),
                                  encoder.embed(lcs, batch_size=16, n_jobs=2))


def test_double_fold_phase_input_is_at_twice_the_period():
    p = tok.prepare(make_lc(80, period=0.9))
    one = tok.collate([p], 200, 6)["phase"][0]
    two = tok.collate([p], 200, 6, fold_multiple=2)["phase"][0]
    np.testing.assert_allclose(two, np.mod(p.dt / (2 * p.period), 1.0), atol=1e-6)
    # the phase at P the model derives from the 2P one is the plain fold
    np.testing.assert_allclose(np.mod(2 * two, 1.0), one, atol=1e-5)
    assert LightCurveConfig(fold_double=True).fold_multiple == 2


def test_noise_inflation_raises_errors_and_leaves_the_rest_alone():
    ps = [tok.prepare(make_lc(60, seed=i)) for i in range(40)]
    plain = tok.collate(ps, 200, 6, np.random.default_rng(3), min_keep=1.0)
    again = tok.collate(ps, 200, 6, np.random.default_rng(3), min_keep=1.0, inflate=0.0)
    for k in plain:  # inflate=0 draws nothing extra: the same views, bit for bit
        np.testing.assert_array_equal(plain[k], again[k])
    noisy = tok.collate(ps, 200, 6, np.random.default_rng(3), min_keep=1.0, inflate=2.0)
    m = plain["mask"]
    ratio = noisy["e"][:, 0] / plain["e"][:, 0]
    assert (ratio > 1.01).sum() >= 10 and (np.isclose(ratio, 1.0)).sum() >= 10
    assert ratio.max() <= np.sqrt(5.0) + 1e-5
    raised = ratio > 1.01
    assert np.abs(noisy["x"] - plain["x"])[raised][m[raised]].mean() > 0
    np.testing.assert_array_equal(noisy["x"][~raised], plain["x"][~raised])


def test_outlier_augmentation_moves_a_few_points_far():
    ps = [tok.prepare(make_lc(200, seed=i)) for i in range(30)]
    plain = tok.collate(ps, 200, 6, np.random.default_rng(4), min_keep=1.0)
    bad = tok.collate(ps, 200, 6, np.random.default_rng(4), min_keep=1.0, outliers=1.0)
    moved = np.abs(bad["x"] - plain["x"]) > 1e-6
    per_curve = moved.sum(1)
    assert (per_curve >= 1).all() and per_curve.max() <= 200 // 4
    assert (np.abs(bad["x"] - plain["x"])[moved] >= 3.0 - 1e-5).all()
    np.testing.assert_array_equal(bad["e"], plain["e"])
