"""Score a detected catalogue against a reference catalogue of the same field.

A reference source is *found* when a detection lies within ``radius`` of it (astropy
``match_coordinates_sky``, nearest neighbour); completeness is the share of reference sources
found, inside the image. A reference catalogue is usually flux limited (the GLIMPSE catalogue
of the Spitzer example image keeps sources brighter than 50 mJy), so purity is the share of
detections *at least as bright as the faintest reference source* (``flux_limit`` times
``flux_margin``, to allow for aperture losses) that have a reference source within
``radius``; fainter detections are not counted either way. The position error is the median
separation of the matched pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skyfm.errors import DataFormatError

__all__ = ["MatchScore", "read_reference", "score"]


@dataclass(frozen=True)
class MatchScore:
    """Completeness, purity and position error of a detection catalogue."""

    n_reference: int         # reference sources inside the image
    n_detected: int          # all detections
    n_bright: int            # detections at or above the flux cut (purity's denominator)
    completeness: float
    purity: float
    median_sep_arcsec: float
    flux_ratio: float        # median detected / reference flux of the matched pairs

    def row(self) -> dict:
        return {"reference": self.n_reference, "detected": self.n_detected,
                "bright": self.n_bright, "completeness": self.completeness,
                "purity": self.purity, "median_sep_arcsec": self.median_sep_arcsec,
                "flux_ratio": self.flux_ratio}


def read_reference(path, flux_column: str | None = None):
    """(SkyCoord, fluxes in mJy or ``None``) of a reference catalogue (VOTable, ECSV, FITS...):
    columns ``ra``/``dec`` or Galactic ``l``/``b`` (degrees), and ``flux_column`` (the first
    column with a flux-density unit when not given)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.table import Table

    p = Path(path)
    if not p.is_file():
        raise DataFormatError("no such file", file=p, expected="a reference catalogue")
    try:
        t = Table.read(p)
    except Exception as exc:
        raise DataFormatError(f"cannot read ({exc})", file=p,
                              expected="a table astropy reads (VOTable, ECSV, FITS)") from exc
    names = {c.lower(): c for c in t.colnames}
    if "ra" in names and "dec" in names:
        coords = SkyCoord(_deg(t[names["ra"]]), _deg(t[names["dec"]]), frame="icrs")
    elif "l" in names and "b" in names:
        coords = SkyCoord(_deg(t[names["l"]]), _deg(t[names["b"]]), frame="galactic")
    else:
        raise DataFormatError("no coordinate columns", file=p, field="ra/dec",
                              expected="columns ra and dec, or l and b (degrees)")
    flux = None
    cols = [flux_column] if flux_column else [
        c for c in t.colnames if t[c].unit is not None and t[c].unit.is_equivalent(u.Jy)]
    if flux_column and flux_column not in t.colnames:
        raise DataFormatError("no such column", file=p, field=flux_column,
                              expected=f"one of {', '.join(t.colnames)}")
    if cols:
        col = t[cols[0]]
        unit = col.unit if col.unit is not None else u.mJy
        flux = (np.asarray(col, float) * unit).to_value(u.mJy)
    return coords, flux


def _deg(col):
    import astropy.units as u

    return np.asarray(col, float) * (col.unit if col.unit is not None else u.deg)


def score(det, ref_coords, ref_flux=None, *, wcs=None, shape=None, radius_arcsec: float = 2.4,
          flux_margin: float = 0.7) -> MatchScore:
    """:class:`MatchScore` of detection table ``det`` (columns ra, dec, flux [mJy]) against the
    reference; with ``wcs`` and ``shape`` only reference sources inside the image count."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord, match_coordinates_sky

    ref = ref_coords.icrs
    if wcs is not None and shape is not None:
        x, y = wcs.world_to_pixel(ref)
        inside = (x >= -0.5) & (y >= -0.5) & (x < shape[1] - 0.5) & (y < shape[0] - 0.5)
        ref = ref[inside]
        ref_flux = None if ref_flux is None else np.asarray(ref_flux)[inside]
    n_ref, n_det = len(ref), len(det)
    if n_ref == 0:
        raise DataFormatError("no reference source inside the image", field="reference",
                              expected="a reference catalogue of the image's field")
    if n_det == 0:
        return MatchScore(n_ref, 0, 0, 0.0, float("nan"), float("nan"), float("nan"))
    sky = SkyCoord(np.asarray(det["ra"], float) * u.deg, np.asarray(det["dec"], float) * u.deg)
    radius = radius_arcsec * u.arcsec
    idx, sep, _ = match_coordinates_sky(ref, sky)
    found = sep < radius
    _, sep_back, _ = match_coordinates_sky(sky, ref)
    flux = np.asarray(det["flux"], float)
    if ref_flux is not None:
        bright = flux >= flux_margin * np.nanmin(ref_flux)
        ratio = float(np.median(flux[idx[found]] / ref_flux[found])) if found.any() \
            else float("nan")
    else:
        bright = np.ones(n_det, bool)
        ratio = float("nan")
    purity = float(np.mean(sep_back[bright] < radius)) if bright.any() else float("nan")
    med = float(np.median(sep[found].to_value(u.arcsec))) if found.any() else float("nan")
    return MatchScore(n_ref, n_det, int(bright.sum()), float(found.mean()), purity, med, ratio)
