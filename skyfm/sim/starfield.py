"""Twin star fields: point sources on structured backgrounds, with the truth, for training and
testing source detectors.

One field is a ``size`` x ``size`` image of

* a background: a level, a gradient and diffuse nebulosity (a Gaussian random field with a
  power-law spectrum, P(k) ~ k^-3, up to ``max_nebula`` times the noise: the Galactic plane
  in the mid-infrared looks like this);
* point sources at random positions, Moffat profiles (beta 2.5..4.5) of a random FWHM in
  ``fwhm`` pixels, pixel-integrated (3 x 3 sub-samples), with a power-law flux distribution
  (N(>S) ~ S^-1 from a peak signal-to-noise of 0.5 up to a few thousand), so faint sources
  near the limit are common and bright ones rare;
* artefacts that are *not* sources: hot pixels and short cosmic-ray tracks;
* Gaussian sky noise of unit sigma plus the sources' Poisson noise.

:func:`simulate_starfield` returns the image, the sources (x, y, total flux, aperture
signal-to-noise) and the artefact mask; the noise sigma is 1, so fluxes are in units of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["StarField", "simulate_starfield"]


@dataclass
class StarField:
    """One simulated field: ``image`` (H, W), ``sources`` (N, 4: x, y, flux, snr; 0-based
    pixel centres), ``artefacts`` (H, W) bool and the PSF ``fwhm`` [pix]."""

    image: np.ndarray
    sources: np.ndarray
    artefacts: np.ndarray
    fwhm: float


def _nebula(size: int, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size), indexing="ij"))
    k[0, 0] = np.inf
    field = np.fft.ifft2(np.fft.fft2(rng.standard_normal((size, size))) * k ** -1.5).real
    field = (field - field.min()) / (np.ptp(field) + 1e-12)
    return amplitude * field ** rng.uniform(1.0, 3.0)  # filaments: bright ridges, faint floor


def _moffat(size: int, x: np.ndarray, y: np.ndarray, flux: np.ndarray, fwhm: float,
            beta: float) -> np.ndarray:
    alpha = fwhm / (2 * np.sqrt(2 ** (1 / beta) - 1))
    norm = (beta - 1) / (np.pi * alpha**2)
    out = np.zeros((size, size))
    half = int(np.ceil(4 * fwhm)) + 1
    sub = (np.arange(3) - 1) / 3.0
    for xi, yi, fi in zip(x, y, flux):
        x0, y0 = int(np.rint(xi)), int(np.rint(yi))
        ys = slice(max(0, y0 - half), min(size, y0 + half + 1))
        xs = slice(max(0, x0 - half), min(size, x0 + half + 1))
        yy, xx = np.mgrid[ys, xs].astype(float)
        acc = np.zeros_like(yy)
        for dy in sub:
            for dx in sub:
                r2 = (xx + dx - xi) ** 2 + (yy + dy - yi) ** 2
                acc += (1 + r2 / alpha**2) ** -beta
        out[ys, xs] += fi * norm * acc / 9.0
    return out


def simulate_starfield(size: int = 96, rng: np.random.Generator | None = None, *,
                       fwhm: tuple[float, float] = (1.3, 3.5), density: float = 1.5e-2,
                       max_nebula: float = 30.0, n_artefacts: float = 1.0) -> StarField:
    """One twin star field (see the module docstring); ``density`` sources per pixel."""
    rng = rng or np.random.default_rng()
    f = float(rng.uniform(*fwhm))
    beta = float(rng.uniform(2.5, 4.5))
    n = rng.poisson(density * size * size * rng.uniform(0.3, 2.0))
    x = rng.uniform(-2, size + 1, n)
    y = rng.uniform(-2, size + 1, n)
    # noise in an aperture of ~1 FWHM radius: sqrt(pi) f sigma; peak S/N 0.5 .. ~5000
    ap_noise = np.sqrt(np.pi) * f
    snr0 = 0.5 * rng.uniform(0, 1, n) ** -1.0
    flux = np.minimum(snr0, 5000.0) * ap_noise * 2.0
    stars = _moffat(size, x, y, flux, f, beta)
    yy, xx = np.mgrid[:size, :size] / size
    background = (rng.uniform(0, 50) + rng.normal(0, 5) * xx + rng.normal(0, 5) * yy
                  + _nebula(size, rng, rng.uniform(0, max_nebula)))
    gain = rng.uniform(0.5, 5.0)  # counts per unit flux: the Poisson part of the noise
    noise = np.sqrt(1.0 + np.maximum(stars, 0) / gain) * rng.standard_normal((size, size))
    image = background + stars + noise
    art = np.zeros((size, size), bool)
    for _ in range(rng.poisson(n_artefacts * size * size / 96**2)):
        ax, ay = int(rng.integers(size)), int(rng.integers(size))
        if rng.uniform() < 0.5:  # a hot pixel
            art[ay, ax] = True
            image[ay, ax] += rng.uniform(10, 500)
        else:  # a cosmic-ray track, 2..8 pixels
            length, ang = int(rng.integers(2, 9)), rng.uniform(0, np.pi)
            for t in range(length):
                px = int(np.rint(ax + t * np.cos(ang)))
                py = int(np.rint(ay + t * np.sin(ang)))
                if 0 <= px < size and 0 <= py < size:
                    art[py, px] = True
                    image[py, px] += rng.uniform(10, 300)
    snr = flux / (ap_noise * np.sqrt(1.0 + flux / (gain * ap_noise**2)))
    inside = (x >= 0) & (y >= 0) & (x <= size - 1) & (y <= size - 1)
    sources = np.column_stack([x, y, flux, snr])[inside]
    return StarField(image.astype(np.float32), sources, art, f)
