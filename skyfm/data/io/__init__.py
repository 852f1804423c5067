"""Readers: ``read(path)`` looks at a file or directory and picks the reader.

Formats (one module each): EROS/RAMP list-column CSV (:mod:`.eros`), long-format light-curve
tables with a column mapping (:mod:`.table`), PLAsTiCC (:mod:`.plasticc`), ALeRCE ZTF CSVs
(:mod:`.alerce`), MACHO ``.mjd`` in tar.bz2 (:mod:`.macho`), ZTF/LSST Avro alerts
(:mod:`.alerts`), ZTF alerts as Parquet (:mod:`.alert_parquet`), SpeX prism FITS
(:mod:`.spex`), DESI coadd FITS (:mod:`.desi`), APOGEE npz (:mod:`.apogee`), JPEG/PNG/FITS
images and Galaxy Zoo (:mod:`.images`), catalogue CSV/Parquet/VOTable/whitespace tables
(:mod:`.catalogs`) and the generic dataset layout (:mod:`skyfm.data.layout`). Folders with
several kinds of data: :mod:`.folders` (``read(..., modality=, file=)``).

Bad-input policy
----------------
* Structural problems **raise** :class:`~skyfm.errors.DataFormatError` (or
  :class:`~skyfm.errors.UnknownFormatError` when no reader fits), naming the file, the field
  (column, HDU, key) and what was expected: truncated or corrupt files, wrong or missing
  columns, non-numeric or boolean measurement columns, header-only tables, list columns of
  different lengths, negative errors, times that decrease inside a stored sequence, unknown
  units.
* Repeated (object, band, time) rows are combined (inverse-variance mean; ``duplicates=
  'mean'|'first'|'error'``), counted in ``report.dropped`` and warned (``strict=True`` raises).
* Light-curve tables are identified by their columns under any file name, gzipped or not
  (:mod:`.exports`: ZTF/IRSA, Gaia, ATLAS, ASAS-SN, OGLE, LSST exports, ECSV/IPAC/CDS/VOTable);
  bands resolve through :mod:`skyfm.data.bands` (unknown names are kept and warned). A table
  read as a catalogue says why in ``report.warnings``.
  Readers never let ``KeyError``/``IndexError``/``OSError``/library errors escape.
* Non-finite measurements (NaN/inf time, value, or error of a detection) in otherwise good
  rows are **dropped and counted** in ``ObservationSet.report.dropped`` (reason -> count), with
  a :class:`DataQualityWarning`; objects left with no points are counted too. With
  ``strict=True`` they raise instead. Nothing is dropped silently.
* Two documented survey data-model quirks are resolved, counted and warned rather than
  raised: ZTF/ALeRCE exposures listed twice (same ``pid``, two ``candid``) or as both a
  detection and a non-detection, and alert histories that repeat a (band, time) point — the
  detection / current source is kept (``strict=True`` raises instead).
* Missing errors are NaN ("unknown"), never invented. Infinite values in catalogue columns are
  kept as NaN and reported in ``report.warnings`` (``strict=True`` raises).
* Every drop also gives one :class:`DataQualityWarning` per reason, and ``read()`` turns any
  library exception a reader missed into a DataFormatError naming the file (the fuzz tests
  run with this net switched off, so readers must name the field themselves).

Common keywords: ``limit=N`` (first N objects), ``strict=``, ``progress=`` (callback taking a
count), ``format=`` (force a reader by name, see :data:`READERS`), ``modality=`` and ``file=``
(one kind of data, or one file, of a folder); light-curve tables also take ``columns=``,
``kind=``, ``flux_unit=``, ``time_format=`` and ``duplicates=``. A keyword the chosen reader does
not take raises ``TypeError`` naming it and the reader (``limt=5`` never silently reads
everything).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path

from skyfm.data.io._common import DataQualityWarning
from skyfm.data.observations import ObservationSet
from skyfm.errors import DataFormatError, DataNotFoundError, UnknownFormatError

__all__ = ["READERS", "DataQualityWarning", "detect_format", "read"]


#: format name -> (module, function) of its reader; imported on first use
_READER_FUNCS = {
    "spectra_table": ("skyfm.data.layout", "read_spectra_table"),
    "eros": ("skyfm.data.io.eros", "read_eros"),
    "lightcurve_table": ("skyfm.data.io.table", "read_lightcurve_table"),
    "layout": ("skyfm.data.layout", "load_dataset"),
    "plasticc": ("skyfm.data.io.plasticc", "read_plasticc"),
    "alerce": ("skyfm.data.io.alerce", "read_alerce"),
    "macho": ("skyfm.data.io.macho", "read_macho"),
    "alerts": ("skyfm.data.io.alerts", "read_alerts"),
    "alert_parquet": ("skyfm.data.io.alert_parquet", "read_alert_parquet"),
    "spex": ("skyfm.data.io.spex", "read_spex"),
    "desi": ("skyfm.data.io.desi", "read_desi"),
    "apogee": ("skyfm.data.io.apogee", "read_apogee"),
    "image": ("skyfm.data.io.images", "read_images"),
    "galaxyzoo": ("skyfm.data.io.images", "read_galaxyzoo"),
    "fits": ("skyfm.data.io.fitsfile", "read_fits"),
    "catalog": ("skyfm.data.io.catalogs", "read_catalog"),
    "image_folder": ("skyfm.data.io.images", "read_image_folder"),
    "lightcurve_fits": ("skyfm.data.io.lcfits", "read_lightcurve_fits"),
}


def _reader_function(fmt: str) -> Callable[..., ObservationSet]:
    """The reader function of a format (imported now: readers load heavy libraries)."""
    import importlib

    module, name = _READER_FUNCS[fmt]
    return getattr(importlib.import_module(module), name)


def _lazy(fmt: str) -> Callable[..., ObservationSet]:
    def reader(p, **kw):
        return _reader_function(fmt)(p, **kw)

    reader.__name__ = reader.__qualname__ = f"read_{fmt}"
    return reader


READERS: dict[str, Callable[..., ObservationSet]] = {k: _lazy(k) for k in _READER_FUNCS}


def _head(p: Path, n: int = 4096) -> bytes:
    try:
        with open(p, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def _gunzip_head(p: Path, n: int = 4096) -> bytes:
    try:
        with gzip.open(p, "rb") as fh:
            return fh.read(n)
    except Exception:  # corrupt gzip (zlib.error, EOFError, OSError): not a gzipped format
        return b""


def detect_format(path) -> str:
    """Name of the reader for ``path`` (a key of :data:`READERS`); raises UnknownFormatError."""
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"{p}: no such file or directory")
    if p.is_dir():
        return _detect_dir(p)
    name = p.name.lower()
    head = _head(p)
    if _is_eros(p, head):  # by its columns, whatever the name (train*, test*, renamed)
        return "eros"
    if head[:4] == b"PAR1" and _is_alert_parquet(p):  # by its schema, whatever the name
        return "alert_parquet"
    if name.endswith(".npz") or head[:4] == b"PK\x03\x04":
        return "apogee"
    if head[:4] == b"Obj\x01" or name.endswith(".avro"):
        return "alerts"
    if name.endswith((".tar.bz2", ".tbz2", ".mjd")) or head[:3] == b"BZh":
        return "macho"
    if head[:8] == b"\x89PNG\r\n\x1a\n" or head[:3] == b"\xff\xd8\xff":
        return "image"
    if head[:2] == b"\x1f\x8b":
        inner = _gunzip_head(p)
        if inner.startswith(b"SIMPLE"):
            if _is_spex(p):
                return "spex"
            return "lightcurve_fits" if _is_lightcurve_fits(p) else "fits"
        if name.endswith(tuple(e + ".gz" for e in TABLE_EXTENSIONS)) or (
                (inner[:4] == b"PAR1" or _is_text(inner)) and _looks_like_table(p)):
            return _detect_table(p, name)
    if head.startswith(b"SIMPLE"):
        if _is_desi(p):
            return "desi"
        return "lightcurve_fits" if _is_lightcurve_fits(p) else "fits"
    if head.lstrip().startswith(b"<?xml") or name.endswith((".xml", ".vot", ".votable")):
        from skyfm.data.io.table import looks_like_lightcurve_table

        cols = _columns(p)
        return "lightcurve_table" if cols and looks_like_lightcurve_table(cols) else "catalog"
    if name.endswith(TABLE_EXTENSIONS) or (
            (head[:4] == b"PAR1" or _is_text(head)) and _looks_like_table(p)):
        return _detect_table(p, name)
    raise UnknownFormatError("no reader recognises this file", file=p,
                             expected="a light-curve table, Avro alert, FITS, npz, image, "
                             "tar.bz2 of .mjd files, CSV/Parquet/VOTable catalogue, or a "
                             "skyfm dataset directory")


TABLE_EXTENSIONS = (".parquet", ".pq", ".csv", ".tsv", ".txt", ".dat", ".data", ".ecsv", ".tbl",
                    ".ipac", ".cds", ".mrt", ".lc")


def _time_like_first_value(p: Path) -> bool:
    """A headerless table's first value is a Julian date or a date - 2450000."""
    from skyfm.data.io.tabular import first_row

    row = first_row(p)
    try:
        v = float(row[0])
    except (IndexError, ValueError):
        return False
    return 2.4e6 < v < 2.5e6 or 400.0 < v < 2.0e4


def _looks_like_table(p: Path) -> bool:
    from skyfm.data.io.tabular import looks_like_table

    return looks_like_table(p)


def _is_text(head: bytes) -> bool:
    """Leading bytes that are UTF-8 text (a table under any name)."""
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end is still text
        return exc.start >= len(head) - 3
    return True


def _detect_table(p: Path, name: str) -> str:
    """A table file (text, Parquet, ECSV/IPAC/CDS/VOTable; gzipped or not) by its columns."""
    if "plasticc" in name and name.endswith(".parquet"):
        return "plasticc"
    if re.search(r"_detections(_corr)?\.csv$|_objects_features\.csv$", p.name):
        return "alerce"
    cols = _columns(p)
    if cols and {"time_points_b", "light_points_b"} <= set(cols):
        return "eros"
    if cols and {"object_id", "mjd", "passband", "flux"} <= set(cols):
        return "plasticc"
    if cols:
        from skyfm.data.io.table import looks_like_lightcurve_table
        if looks_like_lightcurve_table(cols):
            return "lightcurve_table"
        from skyfm.data.io.catalogs import _known

        if (2 <= len(cols) <= 4 and cols == [f"col{i + 1}" for i in range(len(cols))]
                and not _known(p.name) and _time_like_first_value(p)):
            return "lightcurve_table"  # headerless time, magnitude[, error] (OGLE, ASAS)
        if {"object_id", "wavelength", "flux"} <= set(cols):
            return "spectra_table"
    return "catalog"


def _columns(p: Path) -> list[str] | None:
    from skyfm.data.io.tabular import sniff_columns

    return sniff_columns(p)


def _is_lightcurve_fits(p: Path) -> bool:
    from skyfm.data.io.lcfits import is_lightcurve_fits

    return is_lightcurve_fits(p)


def _is_eros(p: Path, head: bytes) -> bool:
    if not (head[:2] == b"\x1f\x8b" or b"time_points_b" in head[:65536]):
        return False
    from skyfm.data.io.eros import is_eros_file

    return is_eros_file(p)


def _is_alert_parquet(p: Path) -> bool:
    from skyfm.data.io.alert_parquet import is_alert_parquet

    return is_alert_parquet(p)


def _is_spex(p: Path) -> bool:
    return "spex" in p.name.lower() or (p.parent.name == "spectra" and
                                        (p.parent.parent / "spectral_data.csv").exists())


def _is_desi(p: Path) -> bool:
    try:
        from astropy.io import fits
        with fits.open(p, memmap=False) as hd:
            names = {h.name for h in hd}
        return {"B_FLUX", "R_FLUX", "Z_FLUX"} & names != set()
    except Exception:
        return False


def _detect_dir(p: Path) -> str:
    files = {f.name for f in p.iterdir()}
    if "train_varlength_features.csv.gz" in files or _has_eros_file(p, files):
        return "eros"
    if any(f.startswith("plasticc_train_lightcurves") for f in files):
        return "plasticc"
    if any(re.search(r"_detections(_corr)?\.csv$", f) for f in files):
        return "alerce"
    if files and any(f.endswith(".tar.bz2") for f in files) and all(
            f.endswith(".tar.bz2") or f.endswith(".txt") for f in files):
        return "macho"
    if "spectral_data.csv" in files and (p / "spectra").is_dir():
        return "spex"
    if "labels.csv" in files and (p / "images").is_dir() and _gz_like(p / "labels.csv"):
        return "galaxyzoo"
    from skyfm.data.layout import is_dataset
    if is_dataset(p):
        return "layout"
    if any(f.endswith(".npz") for f in files):
        return "apogee"
    if any(f.endswith(".avro") for f in files) or any(
            f.suffix == ".avro" for f in p.rglob("*.avro")) or any(
            (p / f).is_file() and _head(p / f, 4) == b"Obj\x01" for f in files):
        return "alerts"
    if any(f.lower().endswith((".parquet", ".pq")) and _is_alert_parquet(p / f) for f in files):
        return "alert_parquet"
    if any(f.startswith("coadd") and f.endswith(".fits") for f in files):
        return "desi"
    if any(f.lower().endswith((".csv", ".parquet", ".data", ".dat", ".dat.gz")) for f in files):
        return "catalog"
    if any(f.lower().endswith((".fits", ".fit", ".fits.gz", ".jpeg", ".jpg", ".png"))
           for f in files):
        return "image_folder"
    if any(f.lower().endswith((".xml", ".vot")) for f in files):
        return "catalog"
    if any(f.endswith((".jsonl", ".jsonl.gz", ".rst", ".md")) for f in files) or (
            p / "docs").is_dir():
        raise UnknownFormatError("this is a text corpus, not observations; skyfm readers return "
                                 "light curves, spectra, images and catalogues", file=p,
                                 expected="an observation data set")
    raise UnknownFormatError("no reader recognises this directory", file=p,
                             expected="a registered data set or a skyfm dataset directory "
                             "(observations.parquet, spectra.parquet, table.csv, images/)")


#: names that are never a RAMP list-column CSV (not opened when looking for one)
_NOT_TEXT = (".fits", ".fit", ".fits.gz", ".fz", ".jpg", ".jpeg", ".png", ".avro", ".parquet",
             ".pq", ".npz", ".tar.bz2", ".tar.gz", ".tgz", ".xml", ".vot", ".md", ".rst")


def _has_eros_file(p: Path, files: set[str]) -> bool:
    """A RAMP features file under any name (``test_varlength_features.csv.gz``, renamed)."""
    from skyfm.data.io.eros import is_eros_file

    cands = sorted(f for f in files if not f.lower().endswith(_NOT_TEXT)
                   and not f.startswith("."))
    return len(cands) <= 50 and any(is_eros_file(p / f) for f in cands)


def _gz_like(labels: Path) -> bool:
    try:
        with open(labels, encoding="utf-8", errors="replace") as fh:
            head = fh.readline().strip().upper()
        return head.startswith("OBJID")
    except OSError:
        return False


def read(path, format: str | None = None, *, modality: str | None = None,
         file: str | None = None, **kwargs) -> ObservationSet:
    """Read a file or directory into an :class:`ObservationSet`.

    ``path`` may also be the name of a registered set (resolved under ``$SKYFM_DATA_DIR``).
    ``format`` forces a reader (a key of :data:`READERS`); other keywords go to the reader
    (``limit``, ``strict``, ``progress``, ``columns`` for tables, ...); a keyword the reader
    does not take raises ``TypeError`` naming it and the reader.

    A folder with several kinds of data gives one kind per read: ``modality`` (``'lightcurve'``,
    ``'spectrum'``, ``'image'``, ``'catalog'``) chooses it, ``file`` reads one file of the
    folder. Alert folders default to light curves; folders of images beside catalogues, or of
    several unrelated catalogues, raise a DataFormatError listing the choices (see
    :mod:`skyfm.data.io.folders`).
    """
    from skyfm.data.io import folders

    folders.check_modality(modality)
    p = Path(path)
    dataset = kwargs.pop("dataset", None)
    if not p.exists():
        from skyfm.data import registry

        if isinstance(path, str) and "/" not in path and path in registry.registry():
            p = registry.dataset_path(path)
        else:
            raise DataNotFoundError(f"{p}: no such file or directory")
    if dataset is None:
        dataset = _registered_name(p)
    if file is not None:
        p = folders.choose_file(p, file)
    fmt = format or detect_format(p)
    if format is None and ({"columns", "time_format"} & set(kwargs)) and fmt == "catalog" \
            and p.is_file():
        fmt = "lightcurve_table"  # a column mapping means a long light-curve table
    if fmt not in READERS:
        raise UnknownFormatError(f"unknown format {fmt!r}", file=p, field="format",
                                 expected="one of " + ", ".join(READERS))
    if (format is None and modality == "image" and p.is_dir() and fmt == "catalog"
            and folders.has_images(p)):
        fmt = "image_folder"  # tables beside images: the images were asked for
    notes: list[str] = []
    if fmt == "catalog" and p.is_dir() and modality in (None, "catalog"):
        if folders.has_images(p):
            notes.append(f"{p}: ignored the image files beside the catalogue; read them with "
                         "modality='image'")
        p, more = folders.resolve_catalogue_folder(p, dataset)
        notes += more
    reader_kw = dict(kwargs, dataset=dataset)
    if fmt in folders.MULTI_MODALITY:
        reader_kw["modality"] = modality
    else:
        kind = folders.READER_MODALITY.get(fmt)
        if modality is not None and kind is not None and kind != modality:
            raise DataFormatError(f"holds {kind} data (reader {fmt!r}), not {modality}", file=p,
                                  field="modality", expected=f"modality={kind!r} or none")
    reader_kw = _check_keywords(fmt, reader_kw)
    if not SAFETY_NET:
        out = READERS[fmt](p, **reader_kw)
    else:
        from skyfm.data.io._common import wrap_errors

        with wrap_errors(p, expected=f"a readable {fmt} file"):
            out = READERS[fmt](p, **reader_kw)
    out.report.warnings += notes
    if modality is not None and fmt not in folders.MULTI_MODALITY:
        out = folders.keep_modality(out, modality, p, fmt)
    return out


#: keywords every reader understands; a reader with nothing to drop or report on (an image
#: file) takes them as no-ops, so ``read()`` leaves them out for it rather than failing
COMMON_KEYWORDS = ("strict", "progress")


#: readers that hand their keywords to others: generic FITS -> image or table reader
_KEYWORD_TARGETS = {"fits": ("image", "catalog")}


def _check_keywords(fmt: str, kw: dict) -> dict:
    """The keywords to pass to the reader; TypeError for one it does not take (``limt=5``
    must not silently read everything). A ``**_`` catch-all does not count as taking them."""
    import inspect

    if fmt not in _READER_FUNCS:
        return kw
    names: set[str] = set()
    passes_on = False
    for f in _KEYWORD_TARGETS.get(fmt, (fmt,)):
        params = inspect.signature(_reader_function(f)).parameters.values()
        passes_on |= any(q.kind is q.VAR_KEYWORD and q.name != "_" for q in params)
        names |= {q.name for q in params if q.kind in (q.KEYWORD_ONLY, q.POSITIONAL_OR_KEYWORD)}
    if passes_on:
        return kw  # a reader that passes keywords on to another one, which checks them
    bad = [k for k in kw if k not in names and k not in COMMON_KEYWORDS]
    if bad:
        ok = ", ".join(sorted(names - {"path", "dataset"}))
        raise TypeError(f"read() got an unexpected keyword argument {bad[0]!r} for reader "
                        f"{fmt!r} (it takes: {ok})")
    return {k: v for k, v in kw.items() if k in names}


# Readers convert bad input into DataFormatError themselves (naming the field); this last net
# turns anything they missed into a DataFormatError naming the file. The fuzz tests switch it
# off so that such misses show up as failures.
SAFETY_NET = True


def _registered_name(p: Path) -> str | None:
    try:
        from skyfm.data import registry

        reg = registry.registry()
    except Exception:  # the registry is optional for reading
        return None
    for q in (p, *p.parents[:2]):
        if q.name in reg:
            return q.name
    return None
