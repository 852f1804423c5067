"""Stellar labels with uncertainties from Payne-emulator spectra: the heteroscedastic ensemble
(tiny config) and the emcee posterior fit. Needs the emulator data set."""

from __future__ import annotations

import numpy as np
import pytest

from skyfm.errors import DataFormatError

LABELS = ("teff", "logg", "fe_h", "alpha_fe", "vmacro")


@pytest.fixture(scope="module")
def emulator_data(request):
    import os
    from pathlib import Path

    root = os.environ.get("SKYFM_DATA_DIR")
    if not root or not (Path(root) / "spectra_payne_apogee_example").is_dir():
        pytest.skip("needs the shared data set 'spectra_payne_apogee_example' (The Payne "
                    "emulator) under SKYFM_DATA_DIR")
    return Path(root) / "spectra_payne_apogee_example"


@pytest.fixture(scope="module")
def tiny_net(emulator_data):
    import torch

    from skyfm.models.stellar_labels import StellarLabelConfig, StellarLabelNet

    cfg = StellarLabelConfig(n_components=8, hidden=16, n_members=2, epochs=3, batch_size=64,
                             n_train=128, n_val=100, threads=1)
    net = StellarLabelNet.train(cfg, log=lambda m: None)
    torch.use_deterministic_algorithms(False)
    return net


def test_predicts_labels_with_positive_uncertainties_and_roundtrips(tiny_net, tmp_path):
    from skyfm.models.stellar_labels import StellarLabelNet
    from skyfm.sim.spectra import simulate_spectra

    specs = list(simulate_spectra(6, seed=11, snr=(20, 200)))
    mu, sd = tiny_net.predict(specs)
    assert mu.shape == sd.shape == (6, 5)
    assert np.isfinite(mu).all() and (sd > 0).all()
    # S/N-dependent calibration: one scale per S/N bin and label
    assert tiny_net.sigma_scale.shape == (4, 5) and tiny_net.sigma_snr.shape == (4,)
    back = StellarLabelNet.load(tiny_net.save(tmp_path / "net"))
    mu2, sd2 = back.predict(specs)
    assert np.allclose(mu, mu2) and np.allclose(sd, sd2)


def test_masked_pixels_do_not_change_the_estimate(tiny_net):
    from skyfm.sim.spectra import simulate_spectra

    s = simulate_spectra(1, seed=12, snr=100)[0]
    mask = np.zeros(len(s), bool)
    mask[1000:1100] = True
    a = s._with(mask=mask)
    f = s.flux.copy()
    f[1000:1100] = 50.0  # garbage under the mask
    b = s._with(flux=f, mask=mask)
    assert np.allclose(tiny_net.predict([a])[0], tiny_net.predict([b])[0])


def test_a_spectrum_off_the_apogee_grid_is_a_clear_error(tiny_net):
    from skyfm.data.observations import Spectrum

    s = Spectrum(np.linspace(15100, 17000, 500), np.ones(500), object_id="short")
    with pytest.raises(DataFormatError, match="'short' has 500 pixels not on the APOGEE grid"):
        tiny_net.predict([s])


def test_posterior_fit_recovers_an_emulated_star(emulator_data):
    from skyfm.models.stellar_labels import posterior_fit
    from skyfm.sim.spectra import simulate_spectra

    s = simulate_spectra(1, seed=5, snr=100)[0]
    r = posterior_fit(s, n_walkers=12, n_steps=60, burn=30, n_init=200)
    assert set(r["labels"]) == set(LABELS)
    # a short chain (the real runs are longer), yet already near the truth
    assert abs(r["labels"]["teff"] - s.meta["teff"]) < 500
    assert r["lower"]["teff"] <= r["labels"]["teff"] <= r["upper"]["teff"]
    assert 0.5 < r["chi2_per_pixel"] < 3
    with pytest.raises(DataFormatError, match="only 0 usable pixels"):
        posterior_fit(s._with(mask=np.ones(len(s), bool)), n_steps=2)


def test_recall_at_k_counts_the_own_item_within_the_top_k():
    from skyfm.models.spectrum_clip import recall_at_k

    sim = np.array([[0.9, 0.1, 0.0],    # own first
                    [0.8, 0.5, 0.1],    # own second
                    [0.7, 0.6, 0.2]])   # own third
    assert recall_at_k(sim, ks=(1, 2, 3)) == {"recall@1": 1 / 3, "recall@2": 2 / 3,
                                              "recall@3": 1.0}


def test_clip_towers_embed_on_the_unit_sphere_and_zero_shot_stays_in_the_bank(tiny_net):
    from skyfm.models.spectrum_clip import ClipConfig, SpecLabelClip
    from skyfm.sim.spectra import simulate_spectra

    model = SpecLabelClip.train(tiny_net, ClipConfig(dim=8, hidden=16, epochs=2, n_train=128,
                                                     threads=1), log=lambda m: None)
    specs = list(simulate_spectra(5, seed=13, snr=50))
    zs = model.embed_spectra(specs)
    y = np.array([[s.meta[k] for k in LABELS] for s in specs])
    zl = model.embed_labels(y)
    assert zs.shape == zl.shape == (5, 8)
    assert np.allclose(np.linalg.norm(zs, axis=1), 1, atol=1e-5)
    bank = y[[0, 1, 2]]
    est = model.zero_shot(zs, bank, top=2)
    assert est.shape == (5, 5)
    assert (est >= bank.min(0) - 1e-9).all() and (est <= bank.max(0) + 1e-9).all()


def test_cli_fit_prints_one_json_line_per_real_apogee_spectrum(emulator_data):
    import json

    from typer.testing import CliRunner

    from skyfm.cli import _register, app

    _register()
    f = emulator_data / "apogee_combined_2M13012770+5754582.npz"
    res = CliRunner().invoke(app, ["spectra", "fit", str(f), "--steps", "4"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.output.splitlines() if x.startswith("{")]
    assert [x["object_id"] for x in lines] == ["2M13012770+5754582"]
    assert set(lines[0]["labels"]) == set(LABELS) and lines[0]["n_pixels"] > 6000
