"""Light-curve values as magnitudes, whatever the survey measured (fluxes or magnitudes)."""

from __future__ import annotations

import numpy as np

__all__ = ["to_magnitudes"]


def to_magnitudes(lc) -> tuple[np.ndarray, np.ndarray]:
    """Values and errors as (asinh) magnitudes. Fluxes use the asinh magnitude with a per-band
    softening of the band's median error (finite for zero and negative fluxes)."""
    v = np.asarray(lc.value, float)
    e = np.asarray(lc.error, float)
    if lc.kind == "mag":
        return v, e
    mag = np.empty_like(v)
    err = np.empty_like(e)
    for b in np.unique(lc.band.astype(str)):
        m = lc.band == b
        eb = e[m]
        soft = np.nanmedian(eb) if np.isfinite(eb).any() else np.nanmedian(np.abs(v[m]))
        soft = soft if np.isfinite(soft) and soft > 0 else 1.0
        mag[m] = -1.0857362 * np.arcsinh(v[m] / (2 * soft))
        err[m] = 1.0857362 * eb / np.sqrt(v[m] ** 2 + 4 * soft**2)
    return mag, err
