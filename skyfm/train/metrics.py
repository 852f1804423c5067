"""Scores of regressions with uncertainties (photometric redshifts, stellar parameters).

``sigma_nmad`` is the normalised median absolute deviation 1.4826 x median |d| of the errors
d = prediction - truth, or of d / (1 + truth) with ``redshift`` (the photo-z convention); the
outliers are the share with |d| (or |d| / (1 + z)) above ``outlier``, 0.15 for redshifts. The
coverages are the shares of truths inside the 68 % and 95 % intervals given.
"""

from __future__ import annotations

import numpy as np

__all__ = ["regression_scores"]


def regression_scores(y_true, y_pred, interval_68=None, interval_95=None, *,
                      redshift: bool = False, outlier: float = 0.15) -> dict:
    """{mae, rmse, sigma_nmad, outlier_fraction, coverage_68, coverage_95, n} (coverages
    ``None`` without intervals). Intervals are (low, high) pairs of arrays."""
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError(f"truth {y.shape} and prediction {p.shape} must be equal 1-D shapes")
    d = p - y
    dn = d / (1 + y) if redshift else d
    cov = {}
    for name, iv in (("coverage_68", interval_68), ("coverage_95", interval_95)):
        cov[name] = None if iv is None else float(np.mean((y >= iv[0]) & (y <= iv[1])))
    return {"mae": float(np.mean(np.abs(d))), "rmse": float(np.sqrt(np.mean(d ** 2))),
            "sigma_nmad": float(1.4826 * np.median(np.abs(dn))),
            "outlier_fraction": float(np.mean(np.abs(dn) > outlier)), **cov, "n": int(y.size)}
