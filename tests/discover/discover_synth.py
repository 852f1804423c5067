"""Small synthetic data sets for the discovery tests (fast, no shared data needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from skyfm.data.observations import Catalog, Image, LightCurve, Spectrum


def make_lightcurves(n: int = 80, seed: int = 0, err: float = 0.05, n_points: int = 60,
                     prefix: str = "lc") -> list[LightCurve]:
    """Two-band sinusoidal variables (periods 0.4-0.8 d, amplitudes 0.3-0.5 mag)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = np.sort(rng.uniform(0, 200, n_points)) + rng.uniform(0, 1e-3, n_points)
        band = np.where(np.arange(n_points) % 2 == 0, "g", "r")
        p, a = rng.uniform(0.4, 0.8), rng.uniform(0.3, 0.5)
        m = 17 + a * np.sin(2 * np.pi * t / p) + np.where(band == "g", 0.3, 0.0)
        e = np.full(n_points, err)
        out.append(LightCurve(t, m + rng.normal(0, err, n_points), e, band,
                              object_id=f"{prefix}{i}", label="sine" if i % 2 else "sine2"))
    return out


def make_outlier_lc(object_id: str = "OUTLIER", seed: int = 99) -> LightCurve:
    """A long-period, large-amplitude, red curve: nothing like the sinusoids above."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 200, 60)) + rng.uniform(0, 1e-3, 60)
    band = np.where(np.arange(60) % 2 == 0, "g", "r")
    m = 15 + 3.0 * np.sin(2 * np.pi * t / 90.0) + np.where(band == "g", 2.0, 0.0)
    return LightCurve(t, m + rng.normal(0, 0.05, 60), np.full(60, 0.05), band,
                      object_id=object_id)


def make_spectra(n: int = 40, seed: int = 0) -> list[Spectrum]:
    rng = np.random.default_rng(seed)
    w = np.linspace(4000, 7000, 400)
    out = []
    for i in range(n):
        cont = 1 + 0.2 * rng.normal() * (w - 5500) / 1500
        line = 1 - 0.4 * np.exp(-0.5 * ((w - 6563) / 8) ** 2)
        f = cont * line + rng.normal(0, 0.02, w.size)
        out.append(Spectrum(w, f, np.full(w.size, 0.02), object_id=f"sp{i}",
                            label="star" if i % 2 else "star2"))
    # an emission-line object
    f = 1 + 2.0 * np.exp(-0.5 * ((w - 5007) / 6) ** 2) + rng.normal(0, 0.02, w.size)
    out.append(Spectrum(w, f, np.full(w.size, 0.02), object_id="sp_odd"))
    return out


def make_images(n: int = 40, seed: int = 0, size: int = 24) -> list[Image]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    out = []
    for i in range(n):
        r = np.hypot(yy, xx * rng.uniform(0.8, 1.2))
        g = np.exp(-r / rng.uniform(2.0, 3.0))
        data = np.stack([g * 100, g * 80, g * 60]) + rng.normal(0, 1, (3, size, size))
        out.append(Image(data, ["i", "r", "g"], object_id=f"im{i}"))
    ring = np.exp(-0.5 * ((np.hypot(yy, xx) - 8) / 1.0) ** 2)
    data = np.stack([ring * 20, ring * 50, ring * 120]) + rng.normal(0, 1, (3, size, size))
    out.append(Image(data, ["i", "r", "g"], object_id="im_ring"))
    return out


def make_table(n: int = 200, seed: int = 0) -> Catalog:
    rng = np.random.default_rng(seed)
    g = rng.normal(18, 1, n)
    df = pd.DataFrame({"object_id": [f"row{i}" for i in range(n)], "g": g,
                       "r": g - 0.5 + rng.normal(0, 0.05, n), "i": g - 0.7 + rng.normal(0, 0.05, n),
                       "g_err": np.full(n, 0.02), "r_err": np.full(n, 0.02),
                       "i_err": np.full(n, 0.02)})
    df.loc[n - 1, ["g", "r", "i"]] = [18.0, 19.5, 20.5]  # colours far outside the locus
    df.loc[n - 1, "object_id"] = "row_odd"
    return Catalog(df)


