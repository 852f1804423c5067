"""CLIP-style photometry <-> (spectroscopic class, redshift) alignment."""

import numpy as np
import pytest

from skyfm.errors import DataFormatError
from skyfm.models.photometry_clip import PhotoSpecClip, weighted_vote
from skyfm.models.spectrum_clip import ClipConfig

BANDS = ["u", "g", "r", "i", "z"]


def _sky(n, seed):
    """Toy ugriz: stars (z = 0) on a temperature sequence, galaxies whose colours redden with
    z, quasars with a flat, blue continuum at higher z."""
    rng = np.random.default_rng(seed)
    cls = rng.choice(["STAR", "GALAXY", "QSO"], n, p=[0.4, 0.45, 0.15])
    z = np.where(cls == "GALAXY", rng.uniform(0.02, 0.4, n),
                 np.where(cls == "QSO", rng.uniform(0.5, 3.0, n), 0.0))
    t = rng.uniform(0, 1, n)
    slope = np.select([cls == "STAR", cls == "GALAXY"], [0.2 + 1.5 * t, 0.6 + 4 * z],
                      0.1 + 0.05 * z)
    r = rng.uniform(16, 19, n)
    mags = r[:, None] + slope[:, None] * np.array([2.0, 1.0, 0.0, -0.5, -0.8])
    mags[cls == "QSO", 0] -= 0.8  # UV excess
    mags[cls == "GALAXY", 0] += 0.8  # 4000 A break
    return mags + rng.normal(0, 0.03, mags.shape), cls, z


def test_alignment_retrieves_and_predicts_class_and_redshift():
    mags, cls, z = _sky(600, 0)
    cfg = ClipConfig(dim=8, hidden=32, epochs=20, batch_size=100, temperature=0.1, threads=1)
    model = PhotoSpecClip.train(mags[:400], BANDS, cls[:400], z[:400], cfg, log=None)
    assert model.losses_[-1] < model.losses_[0]
    Zp = model.embed_photometry(mags[400:])
    Zs = model.embed_spectroscopic(cls[400:], z[400:])
    assert np.allclose(np.linalg.norm(Zp, axis=1), 1, atol=1e-5)
    own = np.diag(Zp @ Zs.T)
    assert np.mean(own) > np.mean(Zp @ Zs.T) + 0.3  # pairs closer than random pairs
    pc, pz = model.zero_shot(Zp, cls[:400], z[:400], top=10)
    assert np.mean(pc == cls[400:]) > 0.9
    gal = cls[400:] == "GALAXY"
    assert np.median(np.abs(pz[gal] - z[400:][gal])) < 0.05
    again = PhotoSpecClip.train(mags[:400], BANDS, cls[:400], z[:400], cfg, log=None)
    assert np.array_equal(again.embed_photometry(mags[400:]), Zp)  # seeded, reproducible


def test_bad_inputs_are_named():
    mags, cls, z = _sky(200, 1)
    cfg = ClipConfig(dim=4, hidden=8, epochs=1, batch_size=64, threads=1)
    model = PhotoSpecClip.train(mags, BANDS, cls, z, cfg, log=None)
    bad = mags[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(DataFormatError, match="non-finite magnitude"):
        model.embed_photometry(bad)
    with pytest.raises(ValueError, match="unknown class"):
        model.embed_spectroscopic(["WD"], [0.0])


def test_weighted_vote():
    logits = np.array([[5.0, 4.0, 0.0, -9.0], [0.0, 0.0, 3.0, 3.0]])
    cls = np.array(["A", "A", "B", "B"])
    z = np.array([0.1, 0.3, 1.0, 2.0])
    pc, pz = weighted_vote(logits, cls, z, top=2)
    assert pc.tolist() == ["A", "B"]
    assert pz[0] == 0.1 and pz[1] in (1.0, 2.0)  # weighted median of the top two


def test_sdss_clip_bench_beats_chance(shared_data):
    from skyfm.benchmarks.catalogs import run_sdss_clip

    rows = {r["method"]: r for r in run_sdss_clip(shared_data("catalog_sdss_dr14_skyserver10k"),
                                                  n=1500, epochs=30)}
    fwd = rows["skyfm CLIP phot -> (class, z)"]
    assert fwd["recall@10"] > 10 * rows["chance"]["recall@10"]
    zs, knn = rows["skyfm CLIP zero-shot"], rows["baseline kNN colours k=20"]
    assert zs["accuracy"] > 0.9 and zs["accuracy"] >= knn["accuracy"]
    assert zs["galaxy_sigma_nmad"] < 0.03
