"""Readers: ``read(path)`` looks at a file or directory and picks the reader.

Readers are registered in :mod:`.registry` (built-ins in :mod:`.formats`), each with an
identify function next to it; :func:`detect_format` uses the reader a registered shared set
records, else the best reader claiming the path.

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
count), ``format=`` (force a reader by name, see :data:`READERS` or ``skyfm data formats``),
``modality=`` and ``file=`` (one kind of data, or one file, of a folder); light-curve tables
also take ``columns=``,
``kind=``, ``flux_unit=``, ``time_format=`` and ``duplicates=``. A keyword the chosen reader does
not take raises ``TypeError`` naming it and the reader (``limt=5`` never silently reads
everything).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from skyfm.data.io import formats as _formats  # noqa: F401  (registers the built-in readers)
from skyfm.data.io._common import DataQualityWarning
from skyfm.data.io.registry import best_format, get_entry, identify_format, reader_names
from skyfm.data.observations import ObservationSet
from skyfm.errors import DataFormatError, DataNotFoundError, UnknownFormatError

__all__ = ["READERS", "DataQualityWarning", "detect_format", "identify_format", "read"]


def _lazy(fmt: str) -> Callable[..., ObservationSet]:
    def reader(p, **kw):
        return get_entry(fmt).function()(p, **kw)

    reader.__name__ = reader.__qualname__ = f"read_{fmt}"
    return reader


class _Readers(Mapping):
    """A live view of the reader registry: format name -> reader (imported on first call)."""

    def __getitem__(self, name: str) -> Callable[..., ObservationSet]:
        if name not in reader_names():
            raise KeyError(name)
        return _lazy(name)

    def __iter__(self) -> Iterator[str]:
        return iter(reader_names())

    def __len__(self) -> int:
        return len(reader_names())


#: format name -> reader; follows :mod:`skyfm.data.io.registry` (readers registered later too)
READERS: Mapping[str, Callable[..., ObservationSet]] = _Readers()


def detect_format(path) -> str:
    """Name of the reader for ``path`` (a key of :data:`READERS`); raises UnknownFormatError.

    A registered shared set (``skyfm.data.registry``) is read with the reader it records;
    inside one, that reader comes first when it claims the path. Otherwise the best reader
    whose identify function claims the path (see :func:`identify_format`); readers of
    different modalities claiming it equally raise UnknownFormatError (``format=`` chooses).
    """
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"{p}: no such file or directory")
    recorded, is_root = _recorded_reader(p)
    if recorded is not None and is_root:
        return recorded
    fmt = best_format(p, prefer=recorded)
    if fmt is not None:
        return fmt
    if p.is_dir():
        files = {f.name for f in p.iterdir()}
        if any(f.endswith((".jsonl", ".jsonl.gz", ".rst", ".md")) for f in files) or (
                p / "docs").is_dir():
            raise UnknownFormatError("this is a text corpus, not observations; skyfm readers "
                                     "return light curves, spectra, images and catalogues",
                                     file=p, expected="an observation data set")
        raise UnknownFormatError("no reader recognises this directory", file=p,
                                 expected="a registered data set or a skyfm dataset directory "
                                 "(observations.parquet, spectra.parquet, table.csv, images/)")
    raise UnknownFormatError("no reader recognises this file", file=p,
                             expected="a light-curve table, Avro alert, FITS, npz, image, "
                             "tar.bz2 of .mjd files, CSV/Parquet/VOTable catalogue, or a "
                             "skyfm dataset directory")


def _recorded_reader(p: Path) -> tuple[str | None, bool]:
    """The reader the data registry records for the shared set ``p`` is (or is inside), and
    whether ``p`` is the set's folder itself. A folder counts as the set when its name is a
    registered one and it holds a file the registry lists for it."""
    try:
        from skyfm.data import registry

        reg = registry.registry()
        for q in (p, *p.parents):
            entry = reg.get(q.name)
            if entry is None or not q.is_dir():
                continue
            listed = set(entry.get("sha256", {})) | set(entry.get("download", {}))
            listed.discard("SOURCE.txt")
            if not any((q / f).exists() for f in listed):
                continue
            reader = entry.get("reader")
            if reader is None or reader not in READERS:
                return None, False
            return reader, q == p
    except Exception:  # noqa: BLE001 - the registry is optional for reading
        return None, False
    return None, False


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
    if not _SAFETY_NET.get():
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

    if fmt not in READERS:
        return kw
    names: set[str] = set()
    passes_on = False
    for f in _KEYWORD_TARGETS.get(fmt, (fmt,)):
        params = inspect.signature(get_entry(f).function()).parameters.values()
        passes_on |= any(q.kind is q.VAR_KEYWORD and q.name != "_" for q in params)
        names |= {q.name for q in params if q.kind in (q.KEYWORD_ONLY, q.POSITIONAL_OR_KEYWORD)}
    if passes_on:
        return kw  # a reader that passes keywords on to another one, which checks them
    # ``dataset`` is set by read() for provenance; a reader without it just has none
    bad = [k for k in kw if k not in names and k not in (*COMMON_KEYWORDS, "dataset")]
    if bad:
        ok = ", ".join(sorted(names - {"path", "dataset"}))
        raise TypeError(f"read() got an unexpected keyword argument {bad[0]!r} for reader "
                        f"{fmt!r} (it takes: {ok})")
    return {k: v for k, v in kw.items() if k in names}


# Readers convert bad input into DataFormatError themselves (naming the field); this last net
# turns anything they missed into a DataFormatError naming the file. The fuzz tests switch it
# off (in their own context only, :func:`without_safety_net`) so that such misses show up.
_SAFETY_NET: contextvars.ContextVar[bool] = contextvars.ContextVar("skyfm_read_safety_net",
                                                                  default=True)


@contextlib.contextmanager
def without_safety_net():
    """Within the block (this thread/context only), ``read()`` lets a reader's unexpected
    exception through instead of wrapping it in a DataFormatError naming the file."""
    token = _SAFETY_NET.set(False)
    try:
        yield
    finally:
        _SAFETY_NET.reset(token)


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
