"""Folders that hold more than one kind of data: choosing a modality or one file.

``read(folder)`` returns one data set. When a folder mixes kinds, the choice is:

* **ZTF/LSST alert folders** -> light curves by default; the cutouts are read with
  ``modality='image'`` and the report of a light-curve read says they were left out.
* **Image folders with catalogues** (photutils' FITS images beside a VOTable and a
  coordinate list) -> no default: a :class:`~skyfm.errors.DataFormatError` lists the images
  and catalogues and the ``modality=``/``file=`` choices (``--modality``/``--file`` on the
  command line). Catalogues of different sources are never concatenated.
* **Catalogue folders with several tables** (LINEAR: attributes, target list, RR Lyrae
  table) -> the registered set's ``primary`` table when the registry names one (the report
  lists the tables left out), otherwise the same error listing the tables.

``file='name'`` reads one file of the folder (a path relative to it), with its own reader.
"""

from __future__ import annotations

from pathlib import Path

from skyfm.errors import DataFormatError, DataNotFoundError

#: the values ``read(modality=...)`` accepts
MODALITIES = ("lightcurve", "spectrum", "image", "catalog")

#: what each reader returns (readers that return several kinds take ``modality=`` themselves)
READER_MODALITY = {
    "eros": "lightcurve", "lightcurve_table": "lightcurve", "plasticc": "lightcurve",
    "alerce": "lightcurve", "macho": "lightcurve", "spex": "spectrum", "desi": "spectrum",
    "apogee": "spectrum", "spectra_table": "spectrum", "image": "image", "galaxyzoo": "image",
    "catalog": "catalog",
}
#: readers that choose the modality themselves (keyword ``modality``)
MULTI_MODALITY = {"alerts": ("lightcurve", "image"), "alert_parquet": ("lightcurve", "image"),
                  "image_folder": ("image", "catalog")}

CHOICE_HINT = ("choose with modality='...' or file='<name>' (on the command line: --modality, "
               "--file)")


def check_modality(modality: str | None) -> None:
    if modality is not None and modality not in MODALITIES:
        raise DataFormatError(f"unknown modality {modality!r}", field="modality",
                              expected="one of " + ", ".join(MODALITIES))


def choose_file(folder: Path, name: str) -> Path:
    """``folder / name``, refusing paths outside the folder and naming the files there."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFormatError("file= chooses a file inside a folder, but this is not a folder",
                              file=folder, field="file", expected="a directory")
    target = (folder / name).resolve()
    if folder.resolve() not in target.parents:
        raise DataFormatError(f"{name!r} is not inside the folder", file=folder, field="file",
                              expected="a file name relative to the folder")
    if not target.exists():
        have = sorted(f.name for f in folder.iterdir() if not f.name.startswith("."))
        raise DataNotFoundError(f"{folder}: no file {name!r} in the folder; it holds: "
                                + ", ".join(have[:30]))
    return folder / name


def catalogue_tables(folder: Path) -> list[Path]:
    """The catalogue tables of a folder, as the catalogue reader would read them."""
    from skyfm.data.io.catalogs import SKIP

    out = []
    for f in sorted(Path(folder).iterdir()):
        n = f.name.lower()
        if not f.is_file() or n.endswith(SKIP) or n.startswith(("source", "readme", "license",
                                                                ".")):
            continue
        if n.endswith("query_header.txt") or is_image_file(f):
            continue
        out.append(f)
    return out


def is_image_file(f: Path) -> bool:
    """JPEG/PNG, or FITS with a 2-D/3-D image HDU (a FITS file of tables is a catalogue)."""
    from skyfm.data.io.images import FITS_EXT, RASTER

    n = f.name.lower()
    if n.endswith(RASTER):
        return True
    if not n.endswith(FITS_EXT):
        return False
    import warnings

    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(f, memmap=True, lazy_load_hdus=True) as hd:
                return any(getattr(h, "is_image", False) and h.header.get("NAXIS", 0) in (2, 3)
                           for h in hd)
    except Exception:  # unreadable FITS: let the reader name the problem
        return True


def has_images(folder: Path) -> bool:
    return any(f.is_file() and is_image_file(f) for f in Path(folder).iterdir())


def registered_primary(dataset: str | None) -> str | None:
    """The registry's ``primary`` file of a registered set (None when not named)."""
    if not dataset:
        return None
    try:
        from skyfm.data import registry

        return registry.registry().get(dataset, {}).get("primary")
    except Exception:  # the registry is optional for reading
        return None


def several_tables_error(folder: Path, tables: list[Path]) -> DataFormatError:
    names = ", ".join(f.name for f in tables)
    return DataFormatError(f"holds {len(tables)} different catalogues ({names}); they are "
                           "separate tables and are not concatenated; choose one with "
                           "file='<name>' (on the command line: --file)", file=folder,
                           field="file", expected="one catalogue per read")


def resolve_catalogue_folder(folder: Path, dataset: str | None) -> tuple[Path, list[str]]:
    """The one table to read in a catalogue folder and the notes for the read report."""
    tables = catalogue_tables(folder)
    if len(tables) <= 1:
        return (tables[0] if tables else folder), []
    primary = registered_primary(dataset)
    if primary and (folder / primary).is_file():
        rest = [f.name for f in tables if f.name != primary]
        note = (f"read the registered set's primary table {primary}; ignored the other "
                f"catalogue(s) {', '.join(rest)} (read one with file='<name>')")
        return folder / primary, [note]
    raise several_tables_error(folder, tables)


def keep_modality(obs, modality: str, path, fmt: str):
    """Keep the observations of one modality (for readers that may return several)."""
    from skyfm.data.observations import Catalog, Image, LightCurve, ObservationSet, Spectrum

    cls = {"lightcurve": LightCurve, "spectrum": Spectrum, "image": Image,
           "catalog": Catalog}[modality]
    keep = [o for o in obs if isinstance(o, cls)]
    if not keep:
        kinds = sorted({type(o).__name__ for o in obs})
        raise DataFormatError(f"holds no {modality} data (reader {fmt!r} found "
                              f"{', '.join(kinds) or 'nothing'})", file=path, field="modality",
                              expected=f"a path with {modality} data")
    if len(keep) < len(obs):
        other = sorted({type(o).__name__ for o in obs if not isinstance(o, cls)})
        obs.report.warnings.append(f"ignored {len(obs) - len(keep)} observation(s) of other "
                                   f"kinds ({', '.join(other)}); modality={modality!r}")
    out = ObservationSet(keep, obs.report)
    out.report.n_objects = len(keep)
    return out
