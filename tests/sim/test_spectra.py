"""APOGEE spectra from The Payne emulator."""

import numpy as np
import pytest

from skyfm.data.observations import Spectrum
from skyfm.errors import DataNotFoundError


@pytest.fixture
def emulator(shared_data, monkeypatch):
    monkeypatch.setenv("SKYFM_DATA_DIR", str(shared_data("spectra_payne_apogee_example").parent))
    from skyfm.sim.spectra import load_emulator

    load_emulator.cache_clear()
    return load_emulator()


def test_emulator_shapes_and_label_box(emulator):
    assert emulator.wavelength.shape == (7214,)
    assert 15100 < emulator.wavelength[0] < emulator.wavelength[-1] < 17000
    box = emulator.label_box
    assert box["teff"][0] == pytest.approx(4200, abs=5) and box["logg"][1] < 5.0
    f = emulator([[5000, 4.5, 0.0, 0.0, 5.0], [6000, 4.3, -0.3, 0.1, 8.0]])
    assert f.shape == (2, 7214)
    assert 0.9 < np.median(f) < 1.02 and f.min() > 0.2 and f.max() < 1.3


def test_lines_deeper_at_low_teff_and_high_metallicity(emulator):
    base = np.array([5000, 4.5, 0.0, 0.0, 5.0])
    cool, hot = base.copy(), base.copy()
    cool[0], hot[0] = 4400, 6600
    poor, rich = base.copy(), base.copy()
    poor[2], rich[2] = -0.7, 0.3
    f = emulator(np.stack([cool, hot, poor, rich]))
    depth = (1 - f).clip(0).sum(1)  # total absorption (equivalent width, in pixels)
    assert depth[0] > 1.3 * depth[1]
    assert depth[3] > 1.3 * depth[2]


def test_simulate_spectra_noise_labels_determinism(emulator):
    from skyfm.sim import simulate_spectra

    obs = simulate_spectra(6, seed=1, snr=50, label_ranges={"teff": (4500, 5500)})
    assert len(obs) == 6 and all(isinstance(s, Spectrum) for s in obs)
    s = obs[0]
    assert s.flux.shape == (7214,) and s.wavelength_unit.to_string() == "Angstrom"
    assert 4500 <= s.meta["teff"] <= 5500 and set(s.meta["labels"]) == {
        "teff",
        "logg",
        "fe_h",
        "alpha_fe",
        "vmacro",
    }
    assert s.label in ("K", "G")
    clean = emulator(np.array([list(s.meta["labels"].values())]))[0]
    pull = (s.flux - clean) / s.error
    assert 0.9 < pull.std() < 1.1 and abs(np.median(s.flux / s.error) - 50) < 3
    again = simulate_spectra(6, seed=1, snr=50, label_ranges={"teff": (4500, 5500)})
    assert np.array_equal(again[3].flux, obs[3].flux)
    ranged = simulate_spectra(4, seed=2, snr=(20, 200))
    assert all(20 <= x.meta["snr"] <= 200 for x in ranged)


def test_missing_emulator_raises_clear_error(tmp_path, monkeypatch):
    from skyfm.sim.spectra import load_emulator, simulate_spectra

    monkeypatch.setenv("SKYFM_DATA_DIR", str(tmp_path))
    load_emulator.cache_clear()
    with pytest.raises(DataNotFoundError, match="spectra_payne_apogee_example"):
        simulate_spectra(1)
    load_emulator.cache_clear()
