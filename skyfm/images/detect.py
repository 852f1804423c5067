"""Find and measure the sources of one FITS image: background, detection, aperture photometry.

:func:`prepare` estimates the background and its noise (photutils ``Background2D``, a
``box`` x ``box`` mesh), :func:`detect_classical` finds point sources in the
background-subtracted image (photutils ``DAOStarFinder``, ``nsigma`` times the local noise,
a Gaussian of ``fwhm`` pixels), and :func:`measure` puts a circular aperture on each position
(flux and its error from the background noise plus, when the header gives the gain, the
source's Poisson noise) and turns pixels into RA/Dec with the image's WCS. The learned
detector (:mod:`skyfm.images.learned`) shares :func:`prepare` and :func:`measure`, so the two
differ only in where they put the sources.

Fluxes are in the image's unit times pixels, or in mJy when the image is a surface brightness
(``BUNIT`` MJy/sr, Jy/pix...) with a known pixel area.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from skyfm.errors import DataFormatError

__all__ = ["DetectConfig", "Prepared", "detect_classical", "measure", "prepare", "read_sky_image",
           "subtract_background", "write_catalogue"]


@dataclass(frozen=True)
class DetectConfig:
    """Settings of detection and photometry (pixels unless said otherwise)."""

    nsigma: float = 5.0     # detection threshold, in units of the local background noise
    fwhm: float = 2.0       # FWHM of the point-spread function [pix]
    aperture: float = 3.0   # radius of the photometric aperture [pix]
    box: int = 32           # background mesh size [pix]

    def check(self) -> DetectConfig:
        for name, value in asdict(self).items():
            if not np.isfinite(value) or value <= 0:
                raise DataFormatError(f"{name}={value}", field=name, expected="a positive number")
        return self


@dataclass
class Prepared:
    """An image ready for detection: background-subtracted pixels, noise, mask, WCS, units."""

    path: str
    data: np.ndarray        # background-subtracted (H, W), 0 where masked
    rms: np.ndarray         # background noise per pixel (H, W)
    mask: np.ndarray        # True where the pixel is not finite
    wcs: object
    unit: str               # the unit of the fluxes written
    to_flux: float          # pixel sum -> flux in ``unit``
    effective_gain: float | None  # pixel value -> counts (electrons), when the header says


def read_sky_image(path):
    """(2-D pixels, celestial WCS, header) of a one-band FITS image; a clear
    :class:`DataFormatError` when it has several bands or no celestial WCS."""
    from astropy.io import fits

    from skyfm.data.io.images import read_fits_image

    img = read_fits_image(path)
    if img.data.shape[0] != 1:
        raise DataFormatError(f"{img.data.shape[0]} bands", file=path, field="data",
                              expected="a one-band image (detect each band on its own)")
    if img.wcs is None:
        raise DataFormatError("no celestial WCS in the header", file=path, field="CTYPE1/CTYPE2",
                              expected="a celestial WCS (RA/Dec or Galactic) to place sources")
    header = fits.getheader(path, img.meta.get("hdu", 0))
    return img.data[0].astype(float), img.wcs.celestial, header


def _flux_scale(header, wcs) -> tuple[str, float]:
    """(unit of the catalogue's fluxes, factor from a pixel sum to it)."""
    import astropy.units as u
    from astropy.wcs.utils import proj_plane_pixel_area

    bunit = str(header.get("BUNIT", "")).strip()
    if not bunit:
        return "", 1.0
    try:
        unit = u.Unit(bunit)
    except ValueError:
        return bunit, 1.0
    if unit.is_equivalent(u.Jy / u.sr):
        pix = proj_plane_pixel_area(wcs) * u.deg**2
        return "mJy", float((1 * unit * pix).to_value(u.mJy))
    if unit.is_equivalent(u.Jy):  # already per pixel
        return "mJy", float((1 * unit).to_value(u.mJy))
    return bunit, 1.0


def _effective_gain(header) -> float | None:
    """Electrons per unit of pixel value: GAIN [e/DN] x EXPTIME [s] / FLUXCONV [(MJy/sr)/(DN/s)]
    (Spitzer), or GAIN alone for an image in DN; ``None`` when the header does not say."""
    gain = header.get("GAIN")
    if not isinstance(gain, (int, float)) or gain <= 0:
        return None
    conv, exptime = header.get("FLUXCONV"), header.get("EXPTIME")
    if isinstance(conv, (int, float)) and isinstance(exptime, (int, float)) and conv > 0:
        return float(gain) * float(exptime) / float(conv)
    bunit = str(header.get("BUNIT", "")).strip().upper()
    return float(gain) if bunit in ("DN", "ADU", "COUNTS") else None


def subtract_background(data: np.ndarray, mask: np.ndarray,
                        box: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(background-subtracted pixels, background noise per pixel) from photutils
    ``Background2D`` on a ``box`` x ``box`` mesh (median, 3 x 3 filter); masked pixels get 0
    and an infinite noise."""
    from photutils.background import Background2D, MedianBackground

    box = int(min(box, *data.shape))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # photutils' notes on masked meshes
        bkg = Background2D(np.where(mask, 0.0, data), (box, box), filter_size=(3, 3),
                           bkg_estimator=MedianBackground(), coverage_mask=mask, fill_value=0.0)
    sub = np.where(mask, 0.0, data - bkg.background)
    rms = np.where(mask, np.inf, bkg.background_rms)
    return sub, rms


def prepare(path, config: DetectConfig = DetectConfig()) -> Prepared:
    """Read ``path`` and subtract its background (see the module docstring)."""
    data, wcs, header = read_sky_image(path)
    mask = ~np.isfinite(data)
    if mask.all():
        raise DataFormatError("no finite pixel", file=path, field="data",
                              expected="an image with data")
    sub, rms = subtract_background(data, mask, config.box)
    unit, scale = _flux_scale(header, wcs)
    return Prepared(str(path), sub, rms, mask, wcs, unit, scale, _effective_gain(header))


def detect_classical(prep: Prepared, config: DetectConfig = DetectConfig()) -> np.ndarray:
    """(N, 2) x, y pixel positions (0-based) of the point sources ``DAOStarFinder`` finds above
    ``nsigma`` times the local background noise."""
    from photutils.detection import DAOStarFinder

    finite = np.isfinite(prep.rms)
    ref = float(np.median(prep.rms[finite]))
    snr = np.where(finite, prep.data / np.where(finite, prep.rms, 1.0), 0.0) * ref
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no sources found" and masked-statistics notes
        table = DAOStarFinder(config.nsigma * ref, config.fwhm)(snr, mask=prep.mask)
    if table is None:
        return np.empty((0, 2))
    return np.column_stack([np.asarray(table["x_centroid"], float),
                            np.asarray(table["y_centroid"], float)])


def measure(prep: Prepared, xy: np.ndarray, config: DetectConfig = DetectConfig(),
            method: str = "classical"):
    """The catalogue (an astropy Table with units) of sources at pixel positions ``xy``."""
    import astropy.units as u
    from astropy.table import Table
    from photutils.aperture import CircularAperture, aperture_photometry
    from photutils.utils import calc_total_error

    xy = np.asarray(xy, float).reshape(-1, 2)
    finite = np.isfinite(prep.rms)
    rms = np.where(finite, prep.rms, 0.0)
    if prep.effective_gain:
        err = calc_total_error(prep.data, rms, prep.effective_gain)
    else:
        err = rms
    if len(xy):
        phot = aperture_photometry(prep.data, CircularAperture(xy, r=config.aperture),
                                   error=err, mask=prep.mask)
        flux = np.asarray(phot["aperture_sum"], float) * prep.to_flux
        flux_err = np.asarray(phot["aperture_sum_err"], float) * prep.to_flux
        sky = prep.wcs.pixel_to_world(xy[:, 0], xy[:, 1]).icrs
        ra, dec = sky.ra.deg, sky.dec.deg
    else:
        flux = flux_err = ra = dec = np.empty(0)
    unit = u.Unit(prep.unit) if prep.unit else None
    table = Table({
        "id": np.arange(1, len(xy) + 1),
        "ra": ra * u.deg, "dec": dec * u.deg,
        "x": xy[:, 0] * u.pix, "y": xy[:, 1] * u.pix,
        "flux": flux if unit is None else flux * unit,
        "flux_err": flux_err if unit is None else flux_err * unit,
    })
    table["snr"] = np.divide(flux, flux_err, out=np.full(len(flux), np.nan),
                             where=flux_err > 0)
    table.meta.update({
        "image": prep.path, "method": method, **asdict(config),
        "positions": "0-based pixel centres; ra/dec ICRS from the image WCS",
        "flux": f"circular aperture of radius {config.aperture} pix, background subtracted, "
                "no aperture correction",
        "flux_err": "background noise" + (" + source Poisson noise (header gain)"
                                         if prep.effective_gain else " only (no gain in header)"),
    })
    return table


def write_catalogue(table, path, overwrite: bool = False) -> Path:
    """Write ``table`` atomically: ECSV (units kept) for ``.ecsv``, CSV with a units comment
    line otherwise; an existing file is kept unless ``overwrite``."""
    from skyfm.errors import OutputExistsError
    from skyfm.outputs import atomic_file, atomic_path

    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError("already exists", file=path, field="--out",
                                expected="a new file name, or --overwrite")
    if path.suffix.lower() == ".ecsv":
        with atomic_path(path) as tmp:
            table.write(tmp, format="ascii.ecsv", overwrite=True)
        return path
    import io

    buf = io.StringIO()
    plain = table.copy()
    plain.meta = {}
    plain.write(buf, format="ascii.csv")
    units = ", ".join(f"{c}={table[c].unit}" for c in table.colnames
                      if table[c].unit is not None)
    with atomic_file(path) as fh:
        fh.write(f"# units: {units}\n" + buf.getvalue())
    return path
