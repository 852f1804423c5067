"""A small FITS star field with a WCS, shared by the detection tests."""

from __future__ import annotations

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

STARS = [(20.3, 15.7, 400.0), (45.0, 40.2, 250.0), (12.6, 50.1, 150.0)]  # x, y, total flux


def field_wcs() -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [32.5, 32.5]
    w.wcs.cdelt = [-1.0 / 3600, 1.0 / 3600]  # 1 arcsec pixels
    return w


def write_field(tmp_path, name="field.fits", bunit="MJy/sr", wcs=True, bands=1):
    """A 64 x 64 field: sky 10 +- 1, three Gaussian stars (sigma 1.2 pix) at ``STARS``."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:64, :64]
    sigma = 1.2
    img = 10.0 + rng.normal(0, 1.0, (64, 64))
    for x, y, f in STARS:
        img += f / (2 * np.pi * sigma**2) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2)
                                                   / (2 * sigma**2))
    header = field_wcs().to_header() if wcs else fits.Header()
    if bunit:
        header["BUNIT"] = bunit
    data = img if bands == 1 else np.stack([img] * bands)
    path = tmp_path / name
    fits.PrimaryHDU(data.astype(np.float32), header).writeto(path)
    return path
