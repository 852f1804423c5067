"""Generic FITS: an image HDU -> :class:`Image` (with WCS), else a Kepler/TESS
light-curve table -> :class:`LightCurve` (:mod:`.lcfits`), else a binary table ->
:class:`Catalog`. DESI coadds and SpeX spectra have their own readers."""

from __future__ import annotations

from pathlib import Path

from skyfm.data.io._common import check_file, open_fits
from skyfm.errors import DataFormatError


def read_fits(path, *, dataset=None, **kw):
    from astropy.io import fits

    p = check_file(path)
    with open_fits(p) as hd:
        kinds = [("image" if getattr(h, "is_image", False) and h.data is not None
                  and h.data.ndim in (2, 3) else
                  "table" if isinstance(h, (fits.BinTableHDU, fits.TableHDU)) else None)
                 for h in hd]
    if "image" in kinds:
        from skyfm.data.io.images import read_images

        return read_images(p, dataset=dataset, **kw)
    from skyfm.data.io.lcfits import is_lightcurve_fits, read_lightcurve_fits

    if "table" in kinds and is_lightcurve_fits(p):  # Kepler/TESS light curve
        return read_lightcurve_fits(p, dataset=dataset, **{k: v for k, v in kw.items() if k in (
            "flux_column", "limit", "strict", "progress", "duplicates")})
    if "table" in kinds:
        from skyfm.data.io.catalogs import read_catalog

        return read_catalog(p, dataset=dataset, **{k: v for k, v in kw.items()
                                                   if k in ("id_column", "label_column",
                                                            "limit", "strict")})
    raise DataFormatError("no image or table HDU", file=Path(p), field="HDU",
                          expected="a 2-D/3-D image or a binary table")


def identify_fits(path) -> bool:
    """Any FITS file, gzipped or not."""
    from skyfm.data.io.sniff import fits_kind

    return fits_kind(Path(path)) is not None
