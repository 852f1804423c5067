"""Images: JPEG/PNG (Pillow), FITS (astropy, with WCS), folders of them, Galaxy Zoo 1.

JPEG/PNG pixels are 0–255 floats, bands ``R, G, B`` (SDSS colour JPEGs are gri composites:
R=i, G=r, B=g, so Galaxy Zoo images get bands ``i, r, g``). FITS images keep their physical
values (``BUNIT``), the celestial WCS when the header has one and the pixel scale (arcsec/pix).

Large folders are read lazily: :class:`LazyImage` is an :class:`Image` whose pixels are loaded
from disk when ``.data`` is first used (and not kept), so reading 4,000 Galaxy Zoo JPEGs costs
only a directory listing; ``size=`` resamples on load.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from skyfm.data.io._checks import numeric, unique_columns
from skyfm.data.io._common import (
    DataQualityWarning,
    Progress,
    check_file,
    finish,
    new_report,
    wrap_errors,
)
from skyfm.data.observations import Image, Provenance
from skyfm.errors import DataFormatError

GALAXYZOO_CLASSES = {0: "elliptical", 1: "clockwise_spiral", 2: "anticlockwise_spiral",
                     3: "edge_on", 4: "dont_know", 5: "merger"}
RASTER = (".jpeg", ".jpg", ".png")
FITS_EXT = (".fits", ".fit", ".fits.gz", ".fit.gz", ".fts")


def _load_raster(path: Path, size: int | None = None) -> np.ndarray:
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(path) as im:
            im.load()
            if im.mode not in ("RGB", "L"):
                im = im.convert("RGB")
            if size is not None:
                im = im.resize((size, size), PILImage.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.float32)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataFormatError(f"cannot decode image ({exc})", file=path, field="pixels",
                              expected="a valid JPEG or PNG") from exc
    return arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)


def _raster_bands(nb: int, sdss: bool = False) -> list[str]:
    if nb == 1:
        return ["L"]
    return ["i", "r", "g"] if sdss else ["R", "G", "B"]


class LazyImage(Image):
    """An :class:`Image` whose pixels stay on disk until ``.data`` is used."""

    def __init__(self, path, bands, *, size: int | None = None, object_id=None, label=None,
                 provenance=None, meta=None, pixel_scale=None):
        self._path = Path(path)
        self._size = size
        self._data = None
        self.provenance = provenance or Provenance(file=str(path), reader="image")
        self.bands = list(bands)
        self.wcs = None
        self.psf = None
        self.pixel_scale = pixel_scale
        self.unit = None
        self.mask = None
        self.object_id = None if object_id is None else str(object_id)
        self.label = label
        self.meta = dict(meta or {})

    @property
    def data(self) -> np.ndarray:
        if self._data is not None:
            return self._data
        arr = _load_raster(self._path, self._size)
        if arr.shape[0] != len(self.bands):  # e.g. a greyscale JPEG among colour ones
            self.bands = _raster_bands(arr.shape[0])
        return arr

    @data.setter
    def data(self, value) -> None:
        self._data = np.asarray(value, dtype=np.float32)

    @property
    def source(self) -> Path:
        return self._path

    @property
    def is_pristine(self) -> bool:
        """True while the pixels are exactly the file's (not resized, not replaced)."""
        return self._data is None and self._size is None

    def load(self) -> Image:
        """An ordinary in-memory :class:`Image`."""
        return Image(self.data, self.bands, pixel_scale=self.pixel_scale,
                     object_id=self.object_id, label=self.label, provenance=self.provenance,
                     meta=self.meta)


def _fits_image_hdu(hdul, path):
    for i, h in enumerate(hdul):
        if getattr(h, "is_image", False) and h.data is not None and h.data.ndim in (2, 3):
            return i, h
    raise DataFormatError("no 2-D or 3-D image HDU", file=path, field="HDU",
                          expected="an image extension with (H, W) or (B, H, W) data")


def _parsable(header, path):
    """The header without cards whose value cannot be parsed (each one warned about, with its
    keyword): the pixels are still good, and reading such a card later would fail."""
    from astropy.io.fits.verify import VerifyError

    bad = []
    for i, card in enumerate(header.cards):
        try:
            card.value  # noqa: B018 - parsing the value is the check
        except (VerifyError, ValueError) as exc:
            bad.append((i, card.keyword, exc))
    for i, key, exc in reversed(bad):
        del header[i]
        warnings.warn(f"{path}: header card {key!r} ignored: its value cannot be parsed ({exc})",
                      DataQualityWarning, stacklevel=3)
    return header


def read_fits_image(path, *, object_id=None, dataset=None, hdu=None) -> Image:
    """One FITS image (optionally gzipped) -> :class:`Image` with WCS and pixel scale."""
    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    p = check_file(path)
    with wrap_errors(p, field="HDU", expected="a valid FITS image"), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with fits.open(p, memmap=False) as hdul:
            if hdu is None:
                idx, h = _fits_image_hdu(hdul, p)
            else:
                idx, h = hdu, hdul[hdu]
            data = np.array(h.data, dtype=np.float32)
            header = _parsable(h.header.copy(), p)
    for w in caught:
        # a cut inside the pixels fails above; a cut in the last block's padding reads every
        # pixel, with astropy's warning: say so, as the file is not what it claims to be
        if "truncated" in str(w.message):
            warnings.warn(f"{p}: the file ends inside the padding of its last FITS block (all "
                          f"pixels read; {w.message})", DataQualityWarning, stacklevel=2)
        elif issubclass(w.category, DataQualityWarning):
            warnings.warn(w.message, w.category, stacklevel=2)
    wcs = None
    pixel_scale = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        if header.get("CTYPE1"):
            try:
                w = WCS(header, naxis=2)
                if w.has_celestial:
                    wcs = w
                    from astropy.wcs.utils import proj_plane_pixel_scales

                    pixel_scale = float(np.mean(proj_plane_pixel_scales(w.celestial)) * 3600)
            except Exception as exc:  # a broken WCS is reported, the pixels are still good
                warnings.warn(f"{p}: WCS ignored ({exc})", UserWarning, stacklevel=2)
    for key in ("PIXSCAL1", "SECPIX", "PIXSCALE"):
        if pixel_scale is None and isinstance(header.get(key), (int, float)):
            pixel_scale = abs(float(header[key]))
    nb = 1 if data.ndim == 2 else data.shape[0]
    bands = [header.get(f"BAND{i}") for i in range(nb)]
    if not all(bands):
        name = header.get("FILTER") or (f"IRAC{header['CHNLNUM']}" if "CHNLNUM" in header
                                        else None)
        bands = [str(name)] if (nb == 1 and name) else [f"b{i}" for i in range(nb)]
    bad = ~np.isfinite(data)
    mask = bad if bad.any() else None
    stem = p.name
    for s in FITS_EXT:
        if stem.lower().endswith(s):
            stem = stem[: -len(s)]
            break
    is_psf = "psf" in p.name.lower() or "PSF" in " ".join(map(str, header.get("COMMENT", [])))
    meta = {"hdu": idx, "telescope": header.get("TELESCOP"), "object": header.get("OBJECT")}
    meta = {k: v for k, v in meta.items() if v is not None}
    if is_psf:
        meta["is_psf"] = True
    return Image(data, bands, wcs=wcs, psf=data if is_psf else None, pixel_scale=pixel_scale,
                 unit=header.get("BUNIT"), mask=mask,
                 object_id=object_id if object_id is not None else header.get("OBJID", stem),
                 provenance=Provenance(survey=header.get("TELESCOP"), file=str(p),
                                       reader="fits_image", dataset=dataset), meta=meta)


def read_image_file(path, *, object_id=None, dataset=None, size: int | None = None,
                    lazy: bool = False, sdss: bool = False, bands=None) -> Image:
    """A JPEG/PNG/FITS file -> :class:`Image` (``lazy``: JPEG/PNG pixels load on use;
    ``bands`` names the planes when known, e.g. from a dataset's ``dataset.json``)."""
    p = check_file(path)
    name = p.name.lower()
    if name.endswith(FITS_EXT):
        img = read_fits_image(p, object_id=object_id, dataset=dataset)
        if bands is not None and len(bands) == len(img.bands) and img.bands[0].startswith("b"):
            img.bands = [str(b) for b in bands]
        return img
    if name.endswith(RASTER):
        oid = object_id if object_id is not None else p.name.rsplit(".", 1)[0]
        prov = Provenance(survey="SDSS" if sdss else None, file=str(p), reader="image",
                          dataset=dataset)
        if lazy:
            names = list(bands) if bands is not None else _raster_bands(3, sdss)
            return LazyImage(p, names, size=size, object_id=oid, provenance=prov,
                             meta={"scale": "8-bit display counts"})
        arr = _load_raster(p, size)
        names = (list(bands) if bands is not None and len(bands) == arr.shape[0]
                 else _raster_bands(arr.shape[0], sdss))
        return Image(arr, names, object_id=oid, provenance=prov,
                     meta={"scale": "8-bit display counts"})
    raise DataFormatError("unknown image extension", file=p, field="suffix",
                          expected=", ".join(RASTER + FITS_EXT))


def write_image_file(img: Image, path) -> Path:
    """FITS (lossless, bands in BANDn keys, WCS kept) or PNG/JPEG (8-bit)."""
    p = Path(path)
    if p.suffix.lower() in (".fits", ".fit"):
        from astropy.io import fits

        header = img.wcs.to_header() if img.wcs is not None else fits.Header()
        for i, b in enumerate(img.bands):
            header[f"BAND{i}"] = b
        if img.unit:
            header["BUNIT"] = img.unit
        if img.pixel_scale:
            header["PIXSCALE"] = float(img.pixel_scale)
        data = img.data if img.data.shape[0] > 1 else img.data[0]
        fits.PrimaryHDU(np.asarray(data, np.float32), header=header).writeto(p, overwrite=True)
        return p
    from PIL import Image as PILImage

    arr = np.clip(np.asarray(img.data), 0, 255).astype(np.uint8)
    if arr.shape[0] not in (1, 3):
        raise DataFormatError(f"{arr.shape[0]} bands cannot be saved as {p.suffix}", file=p,
                              field="bands", expected="1 or 3 bands, or use .fits")
    PILImage.fromarray(arr[0] if arr.shape[0] == 1 else np.moveaxis(arr, 0, -1)).save(p)
    return p


def read_images(path, *, dataset=None, size: int | None = None, limit=None,
                progress: Progress = None, strict: bool = False):
    """One image file -> ObservationSet of one :class:`Image` (``limit``/``strict`` are
    accepted for a uniform interface: one image, nothing dropped)."""
    report = new_report(path)
    out = finish([read_image_file(path, dataset=dataset, size=size)], report)
    if progress is not None:
        progress(1)
    return out


def read_galaxyzoo(path, *, dataset=None, size: int | None = None, limit: int | None = None,
                   lazy: bool = True, progress: Progress = None):
    """Galaxy Zoo 1 folder: ``images/<OBJID>.jpeg`` + ``labels.csv`` (OBJID, CLASS).

    Labels are class names (:data:`GALAXYZOO_CLASSES`); ``meta['class_id']`` keeps the number.
    Images without a label get ``label=None``; labelled ids without an image are reported.
    """
    import pandas as pd

    p = Path(path)
    lab_path = p / "labels.csv"
    unique_columns(lab_path)
    with wrap_errors(lab_path, expected="labels.csv with OBJID,CLASS"):
        lab = pd.read_csv(lab_path, dtype={"OBJID": str})
    for c in ("OBJID", "CLASS"):
        if c not in lab.columns:
            raise DataFormatError(f"no column {c!r}", file=lab_path, field=c,
                                  expected="columns OBJID,CLASS")
    lab["CLASS"] = numeric(lab, "CLASS", lab_path, what="class numbers 0..5")
    bad = ~lab["CLASS"].isin(list(GALAXYZOO_CLASSES))
    if bad.any():
        raise DataFormatError(f"unknown class {lab['CLASS'][bad].iloc[0]!r}", file=lab_path,
                              field="CLASS", expected="0..5")
    labels = dict(zip(lab["OBJID"], lab["CLASS"].astype(int)))
    files = sorted(f for f in (p / "images").iterdir() if f.name.lower().endswith(RASTER))
    if limit is not None:
        files = files[:limit]
    report = new_report(lab_path)
    out = []
    for f in files:
        oid = f.name.rsplit(".", 1)[0]
        img = read_image_file(f, object_id=oid, dataset=dataset, size=size, lazy=lazy, sdss=True)
        cid = labels.get(oid)
        img.label = None if cid is None else GALAXYZOO_CLASSES[cid]
        if cid is not None:
            img.meta["class_id"] = cid
        out.append(img)
        if progress is not None:
            progress(1)
    report.files += [str(f) for f in files]
    if limit is None:
        have = {o.object_id for o in out}
        missing = [k for k in labels if k not in have]
        if missing:
            report.warnings.append(f"{len(missing)} labelled id(s) have no image "
                                   f"(first {missing[0]})")
        unl = sum(o.label is None for o in out)
        if unl:
            report.warnings.append(f"{unl} image(s) have no label")
    report.n_objects = len(out)
    from skyfm.data.observations import ObservationSet

    return ObservationSet(out, report)


def read_image_folder(path, *, dataset=None, size: int | None = None, limit=None,
                      progress: Progress = None, modality: str | None = None):
    """A folder of FITS/JPEG/PNG images, or (``modality='catalog'``) the one catalogue beside
    them (VOTable, or a ``*list*.txt`` coordinate list).

    Images and catalogues are different data sets: with both present and no ``modality``, a
    :class:`DataFormatError` lists them and the choices (see :mod:`skyfm.data.io.folders`).
    """
    from skyfm.data.io.catalogs import read_catalog
    from skyfm.data.io.folders import CHOICE_HINT, several_tables_error

    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.is_file())
    imgs = [f for f in files if f.name.lower().endswith(FITS_EXT + RASTER)]
    cats = [f for f in files if _is_catalogue_file(f.name.lower())]
    if modality not in (None, "image", "catalog"):
        raise DataFormatError(f"this folder holds images and catalogues, not {modality!r}",
                              file=p, field="modality", expected="'image' or 'catalog'")
    if modality is None and imgs and cats:
        raise DataFormatError(
            f"holds {len(imgs)} image(s) ({', '.join(f.name for f in imgs)}) and "
            f"{len(cats)} catalogue(s) ({', '.join(f.name for f in cats)}); {CHOICE_HINT}",
            file=p, field="modality", expected="one kind of data per read")
    if modality == "catalog" or (modality is None and not imgs):
        if len(cats) != 1:
            if not cats:
                raise DataFormatError("no catalogue in the folder", file=p, field="modality",
                                      expected="a VOTable or CSV table beside the images")
            raise several_tables_error(p, cats)
        out = read_catalog(cats[0], dataset=dataset, limit=limit)
        if imgs:
            out.report.warnings.append(f"ignored {len(imgs)} image(s) "
                                       f"({', '.join(f.name for f in imgs)}); read them with "
                                       "modality='image'")
        return out
    report = new_report()
    out = []
    if limit is not None:
        imgs = imgs[:limit]
    labels = _labels_beside(p)
    for f in imgs:
        img = read_image_file(f, dataset=dataset, size=size)
        if labels:
            img.label = labels.get(str(img.object_id))
        out.append(img)
        report.files.append(str(f))
        if progress is not None:
            progress(1)
    if labels:
        unmatched = sorted(set(labels) - {str(o.object_id) for o in out})
        if unmatched and limit is None:
            report.warnings.append(f"{p / 'labels.csv'}: {len(unmatched)} label(s) match no "
                                   f"image, e.g. {unmatched[0]!r}")
    if cats:
        report.warnings.append(f"ignored {len(cats)} catalogue(s) "
                               f"({', '.join(f.name for f in cats)}); read one with "
                               "modality='catalog' or file='<name>'")
    return finish(out, report)


def is_labels_file(path: Path) -> bool:
    """``labels.csv`` whose header is ``object_id,label`` (the generic layout's labels)."""
    if path.name.lower() != "labels.csv" or not path.is_file():
        return False
    with open(path, encoding="utf-8", errors="replace") as fh:
        head = [c.strip().lower() for c in fh.readline().strip().split(",")]
    return head == ["object_id", "label"]


def _labels_beside(p: Path) -> dict:
    """Labels of the images of folder ``p`` from its ``labels.csv`` (object_id = file stem)."""
    from skyfm.data.layout import read_labels

    f = p / "labels.csv"
    return read_labels(f) if is_labels_file(f) else {}


def _is_catalogue_file(n: str) -> bool:
    return n.endswith((".xml", ".vot")) or (n.endswith(".txt") and n != "source.txt"
                                            and "list" in n)


def image_from_bytes(data: bytes, source, field: str, *, gzipped: bool = True):
    """A FITS image from (gzipped) bytes, as in alert cutouts -> (array, header)."""
    import gzip

    from astropy.io import fits

    with wrap_errors(source, field=field, expected="gzipped FITS bytes"):
        raw = gzip.decompress(data) if gzipped and data[:2] == b"\x1f\x8b" else data
        with fits.open(io.BytesIO(raw), memmap=False) as hd:
            _, h = _fits_image_hdu(hd, source)
            return np.array(h.data, dtype=np.float32), h.header.copy()


def identify_image(path) -> bool:
    """PNG or JPEG by its magic bytes."""
    from skyfm.data.io.sniff import head

    h = head(Path(path), 8)
    return h[:8] == b"\x89PNG\r\n\x1a\n" or h[:3] == b"\xff\xd8\xff"


def identify_galaxyzoo_folder(path) -> bool:
    """``labels.csv`` starting with ``OBJID`` beside an ``images/`` folder."""
    p = Path(path)
    if not ((p / "labels.csv").is_file() and (p / "images").is_dir()):
        return False
    try:
        with open(p / "labels.csv", encoding="utf-8", errors="replace") as fh:
            return fh.readline().strip().upper().startswith("OBJID")
    except OSError:
        return False


def identify_image_folder(path) -> bool:
    """A folder holding FITS, JPEG or PNG files."""
    from skyfm.data.io.sniff import files_in

    return any(f.lower().endswith((".fits", ".fit", ".fits.gz", ".jpeg", ".jpg", ".png"))
               for f in files_in(Path(path)))
