"""Galaxy images with galsim and lensed arcs."""

import numpy as np
import pytest

from skyfm.data.observations import Image
from skyfm.sim import GALAXY_CLASSES, inject_image, simulate_galaxies
from skyfm.sim.galaxies import PIXEL_SCALE, PSF_FWHM, lensed_source, sie_deflection


def _fwhm_pix(plane):
    """FWHM [pix] from the area above half maximum of a centred blob."""
    p = plane - np.median(plane)
    return 2 * np.sqrt((p > 0.5 * p.max()).sum() / np.pi)


def test_shapes_labels_meta_and_determinism():
    obs = simulate_galaxies(2, size=48, seed=3, classes=GALAXY_CLASSES)
    assert len(obs) == 2 * len(GALAXY_CLASSES)
    assert sorted(set(obs.labels)) == sorted(GALAXY_CLASSES)
    for img in obs:
        assert isinstance(img, Image) and img.data.shape == (3, 48, 48)
        assert img.bands == ["g", "r", "i"] and img.pixel_scale == PIXEL_SCALE
        assert np.all(np.isfinite(img.data)) and img.psf.shape[0] == 3
    again = simulate_galaxies(2, size=48, seed=3, classes=GALAXY_CLASSES)
    assert all(np.array_equal(a.data, b.data) for a, b in zip(obs, again))
    assert simulate_galaxies({"lens": 1}, size=32)[0].label == "lens"
    with pytest.raises(ValueError):
        simulate_galaxies({"blob": 1})


def test_psf_convolved_sizes_and_colours():
    obs = simulate_galaxies({"elliptical": 6}, size=64, seed=1)
    psf_fwhm = PSF_FWHM["r"] / PIXEL_SCALE
    for img in obs:
        fw = _fwhm_pix(img.data[1])
        assert fw > 0.8 * psf_fwhm * img.meta["seeing_factor"]  # never sharper than the PSF
        tot = img.data.sum(axis=(1, 2))
        assert tot[0] < tot[1] < tot[2]  # red: brighter in i than g (nanomaggies)
    # the PSF stamp itself has the stated FWHM
    assert _fwhm_pix(obs[0].psf[1]) == pytest.approx(psf_fwhm, rel=0.25)
    # a bigger galaxy looks bigger after convolution
    big = max(obs, key=lambda o: o.meta["half_light_radius"])
    small = min(obs, key=lambda o: o.meta["half_light_radius"])
    assert _fwhm_pix(big.data[1]) >= _fwhm_pix(small.data[1])


def test_edge_on_is_elongated_and_spiral_is_bluer_than_elliptical():
    obs = simulate_galaxies({"edge_on": 3, "spiral": 3, "elliptical": 3}, size=64, seed=2)

    def axis_ratio(plane):
        p = np.clip(plane - np.median(plane), 0, None)
        y, x = np.mgrid[: p.shape[0], : p.shape[1]]
        w = p / p.sum()
        mx, my = (w * x).sum(), (w * y).sum()
        cov = np.cov(np.stack([x.ravel() - mx, y.ravel() - my]), aweights=w.ravel())
        ev = np.linalg.eigvalsh(cov)
        return np.sqrt(ev[0] / ev[1])

    for img in obs:
        if img.label == "edge_on":
            assert axis_ratio(img.data[2]) < 0.6

    def g_minus_i(img):
        t = img.data.sum(axis=(1, 2))
        return -2.5 * np.log10(t[0] / t[2])

    sp = np.mean([g_minus_i(o) for o in obs if o.label == "spiral"])
    el = np.mean([g_minus_i(o) for o in obs if o.label == "elliptical"])
    assert sp < el


def test_sis_einstein_ring():
    ax, ay = sie_deflection(np.array([3.0, 0.0]), np.array([4.0, -2.0]), 5.0, 1.0)
    assert np.hypot(ax[0], ay[0]) == pytest.approx(5.0)  # SIS: |alpha| = theta_E
    sb = lensed_source(64, 12.0, 1.0, 0.0, 0.0, 0.0, 1.5, 1.0, 0.0)
    y, x = np.mgrid[:64, :64]
    r = np.hypot(x - 31.5, y - 31.5)
    ring = sb[(r > 10) & (r < 14)].mean()
    assert ring > 5 * sb[r < 5].mean() and ring > 5 * sb[r > 20].mean()


def test_inject_lens_into_8bit_rgb_image():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:200, :200]
    galaxy = 200 * np.exp(-np.hypot(x - 100, y - 100) / 8)
    data = np.clip(
        np.stack([galaxy * 1.0, galaxy * 0.8, galaxy * 0.6]) + 10 + rng.normal(0, 2, (3, 200, 200)),
        0,
        255,
    )
    img = Image(data, ["i", "r", "g"], object_id="gz1", label="elliptical")
    new = inject_image(img, "lens", rng)
    assert new.data.shape == img.data.shape and new.label == "lens"
    assert new.meta["original_label"] == "elliptical" and img.label == "elliptical"
    assert new.data.min() >= 0 and new.data.max() <= 255
    added = (new.data - img.data).sum(axis=(1, 2))
    assert added[2] > added[0] > 0  # blue arcs: more in g than in i
    te = new.meta["injected"]["theta_e_pix"]
    diff = (new.data - img.data).sum(0)
    r = np.hypot(x - 99.5, y - 99.5)
    assert diff[np.abs(r - te) < 4].mean() > 3 * diff[r > te + 25].mean()
    with pytest.raises(ValueError):
        inject_image(img, "merger", rng)


def test_inject_lens_into_real_galaxy_zoo_jpeg(shared_data):
    from PIL import Image as PILImage

    path = min((shared_data("images_galaxyzoo1_sdss") / "images").glob("*.jpeg"))
    arr = np.moveaxis(np.asarray(PILImage.open(path), dtype=np.float32), -1, 0)
    img = Image(arr, ["i", "r", "g"], object_id=path.stem)
    new = inject_image(img, "lens", np.random.default_rng(1))
    assert new.data.shape == (3, 423, 423)
    assert 0 <= new.data.min() and new.data.max() <= 255
    assert (new.data - img.data).sum() > 0
