"""Source detection with the learned detector (:mod:`skyfm.models.source_detector`).

The image is prepared as for the classical route (:func:`skyfm.images.detect.prepare`), divided
by its local noise, and the detector's heat-map peaks are the sources; photometry is then the
same aperture photometry as the classical route's."""

from __future__ import annotations

import numpy as np

from skyfm.images.detect import Prepared

__all__ = ["detect_learned", "snr_image"]


def snr_image(prep: Prepared) -> np.ndarray:
    """The background-subtracted image over its local noise (0 where masked)."""
    finite = np.isfinite(prep.rms) & (prep.rms > 0)
    return np.where(finite, prep.data / np.where(finite, prep.rms, 1.0), 0.0)


def detect_learned(prep: Prepared, detector, threshold: float | None = None) -> np.ndarray:
    """(N, 2) x, y pixel positions of the sources ``detector`` finds in ``prep``."""
    xy = detector.find(snr_image(prep), threshold)
    h, w = prep.data.shape
    keep = (xy[:, 0] >= -0.5) & (xy[:, 1] >= -0.5) & (xy[:, 0] < w - 0.5) & (xy[:, 1] < h - 0.5)
    xy = xy[keep]
    iy = np.clip(np.round(xy[:, 1]).astype(int), 0, h - 1)
    ix = np.clip(np.round(xy[:, 0]).astype(int), 0, w - 1)
    return xy[~prep.mask[iy, ix]]
