"""The generic labelled-dataset layout every skyfm command accepts for user data.

A dataset is a directory holding any of::

    observations.parquet | observations.csv   light curves, one row per point:
        object_id, time (MJD, d), band, mag + mag_err | flux + flux_err, [upper_limit]
    spectra.parquet | spectra.csv             spectra, one row per pixel:
        object_id, wavelength, flux, [flux_err], [wavelength_unit], [mask]
    images/<object_id>.fits|png|jpeg|jpg      images (FITS keeps floats, WCS and band names)
    table.parquet | table.csv                 catalogue rows: object_id + feature columns
    labels.csv                                optional: object_id,label (text class or number)
    dataset.json                              optional: kind, flux_unit, survey, time_format
    objects.jsonl                             optional: per-object meta ({"object_id":..., ...})

Per-point meta arrays of light curves (e.g. PLAsTiCC ``detected``) travel as extra
``meta:<name>`` columns of ``observations.parquet``; other meta arrays up to 10,000 values go to
``objects.jsonl`` as lists (larger ones, such as DESI resolution matrices, are not written).

``write_dataset`` writes it from any observations; ``load_dataset`` (and ``skyfm.data.read``)
reads it back exactly (float64 values, string ids, the same labels).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from skyfm.data.io._checks import numeric, require_rows, unique_columns
from skyfm.data.io._common import (
    DataQualityWarning,
    Dropper,
    Progress,
    finish,
    new_report,
    wrap_errors,
)
from skyfm.data.io.table import detect_wavelength_unit, lightcurves_from_frame, read_table_file
from skyfm.data.observations import Catalog, Image, LightCurve, ObservationSet, Provenance, Spectrum
from skyfm.errors import DataFormatError, DataNotFoundError

__all__ = ["LAYOUT_FILES", "is_dataset", "load_dataset", "write_dataset"]

LAYOUT_FILES = ("observations.parquet", "observations.csv", "spectra.parquet", "spectra.csv",
                "table.parquet", "table.csv", "images")
IMAGE_SUFFIXES = (".fits", ".fit", ".fits.gz", ".png", ".jpeg", ".jpg")


def is_dataset(path) -> bool:
    """True when ``path`` is a directory in the generic layout."""
    p = Path(path)
    if not p.is_dir():
        return False
    if any((p / f).is_file() for f in LAYOUT_FILES if f != "images"):
        return True
    img = p / "images"
    return img.is_dir() and any(f.name.lower().endswith(IMAGE_SUFFIXES) for f in img.iterdir())


def _first(p: Path, names) -> Path | None:
    for n in names:
        if (p / n).is_file():
            return p / n
    return None


def _jsonable(v):
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else None if math.isnan(v) else str(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (str, int, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, np.ndarray) and v.size <= 10000:
        return [_jsonable(x) for x in v.tolist()]
    return None


_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


def _label_value(v: str):
    """Numbers stay numbers in a mixed column (CSV has no types): '2' -> 2, '0.5' -> 0.5."""
    if _INT.match(v):
        return int(v)
    if _FLOAT.match(v):
        return float(v)
    return v


def labels_frame(path: Path, *, empty_is_missing: bool = True):
    """The ``object_id,label`` table of ``path``, checked: both columns there, one label per
    object. ``empty_is_missing``: an empty label cell reads as NaN (else as "")."""
    import pandas as pd

    with wrap_errors(path, expected="a CSV with columns object_id,label"):
        lab = pd.read_csv(path, dtype={"object_id": str}, keep_default_na=False,
                          na_values=[""] if empty_is_missing else [])
    for c in ("object_id", "label"):
        if c not in lab.columns:
            raise DataFormatError(f"no column {c!r}", file=path, field=c,
                                  expected="columns object_id,label")
    if lab["object_id"].duplicated().any():
        dup = lab["object_id"][lab["object_id"].duplicated()].iloc[0]
        raise DataFormatError(f"object {dup!r} labelled twice", file=path, field="object_id",
                              expected="one label per object")
    return lab


def read_labels(path: Path) -> dict:
    """``{object_id: label}`` of a ``labels.csv`` (numbers as numbers, empty as None)."""
    lab = labels_frame(path)
    vals = lab["label"].tolist()
    out = {}
    for k, v in zip(lab["object_id"], vals):
        if isinstance(v, float) and math.isnan(v):
            v = None
        elif isinstance(v, str):
            v = _label_value(v)
        out[str(k)] = v
    return out


def load_dataset(path, *, strict: bool = False, limit: int | None = None,
                 progress: Progress = None, dataset: str | None = None,
                 duplicates: str | None = None) -> ObservationSet:
    """Read a directory in the generic layout (see module docstring).

    Labels from ``labels.csv`` are set on each observation's ``label`` (and as a ``label``
    column of a table). Non-finite values are dropped and counted in ``report.dropped``
    (``strict=True`` raises instead).
    """

    p = Path(path)
    if not p.is_dir():
        raise DataNotFoundError(f"{p}: not a directory")
    if not is_dataset(p):
        raise DataFormatError("not a skyfm dataset directory", file=p, field=None,
                              expected="observations.parquet/.csv, spectra.parquet/.csv, "
                              "table.parquet/.csv or images/")
    info = {}
    if (p / "dataset.json").is_file():
        with wrap_errors(p / "dataset.json", expected="a JSON object"):
            info = json.loads((p / "dataset.json").read_text())
        if not isinstance(info, dict):
            raise DataFormatError("not a JSON object", file=p / "dataset.json",
                                  expected="a JSON object")
    labels = read_labels(p / "labels.csv") if (p / "labels.csv").is_file() else {}
    meta = {}
    if (p / "objects.jsonl").is_file():
        with wrap_errors(p / "objects.jsonl", expected="one JSON object per line"):
            for line in (p / "objects.jsonl").read_text().splitlines():
                if line.strip():
                    rec = json.loads(line)
                    meta[str(rec.pop("object_id"))] = rec
    report = new_report()
    items: list = []
    obs_file = _first(p, ("observations.parquet", "observations.csv"))
    if obs_file is not None:
        report.files.append(str(obs_file))
        unique_columns(obs_file)
        df = read_table_file(obs_file)
        require_rows(df, obs_file, "light-curve point")
        for c in ("time", "mag", "mag_err", "flux", "flux_err"):
            if c in df.columns:
                df[c] = numeric(df, c, obs_file)
        if "object_id" in df.columns:
            _require_ids(df, obs_file)
            df["object_id"] = df["object_id"].astype(str)
        extra = {c[len(POINT_META_PREFIX):]: df[c].to_numpy() for c in df.columns
                 if str(c).startswith(POINT_META_PREFIX)}
        lcs, _ = lightcurves_from_frame(
            df, source=obs_file, kind=info.get("kind"), flux_unit=info.get("flux_unit"),
            survey=info.get("survey"), reader="layout", dataset=dataset, labels=labels,
            meta=meta, report=report, strict=strict, limit=limit, progress=progress,
            extra=extra or None, duplicates=duplicates)
        items += lcs
    spec_file = _first(p, ("spectra.parquet", "spectra.csv"))
    if spec_file is not None:
        report.files.append(str(spec_file))
        items += _load_spectra(spec_file, labels, meta, report, strict, limit, dataset, info)
    img_dir = p / "images"
    if img_dir.is_dir():
        from skyfm.data.io.images import read_image_file

        files = sorted(f for f in img_dir.iterdir() if f.name.lower().endswith(IMAGE_SUFFIXES))
        others = [f.name for f in img_dir.iterdir() if f.is_file()
                  and not f.name.lower().endswith(IMAGE_SUFFIXES)]
        if others:
            msg = (f"{img_dir}: {len(others)} file(s) with an unsupported suffix ignored, e.g. "
                   f"{others[0]!r} (expected {', '.join(IMAGE_SUFFIXES)})")
            report.warnings.append(msg)
            warnings.warn(msg, stacklevel=2)
        if limit is not None:
            files = files[:limit]
        for f in files:
            report.files.append(str(f))
            oid = f.name
            for s in IMAGE_SUFFIXES:
                if oid.lower().endswith(s):
                    oid = oid[: -len(s)]
                    break
            img = read_image_file(f, object_id=oid, dataset=dataset, lazy=True,
                                  bands=info.get("image_bands"))
            img.label = labels.get(oid)
            img.meta.update(meta.get(oid, {}))
            items.append(img)
            if progress is not None:
                progress(1)
    tab_file = _first(p, ("table.parquet", "table.csv"))
    if tab_file is not None:
        report.files.append(str(tab_file))
        df = read_table_file(tab_file)
        if "object_id" not in df.columns:
            raise DataFormatError("no object_id column", file=tab_file, field="object_id",
                                  expected="object_id plus feature columns")
        _require_ids(df, tab_file)
        df["object_id"] = df["object_id"].astype(str)
        dup = df["object_id"].duplicated()
        if dup.any():
            raise DataFormatError(f"{int(dup.sum())} duplicate object_id(s), e.g. "
                                  f"{df['object_id'][dup].iloc[0]!r}", file=tab_file,
                                  field="object_id", expected="one row per object")
        num = df.select_dtypes("number")
        bad = ~np.isfinite(num.to_numpy(dtype=float))
        if bad.any():
            if strict:
                col = num.columns[np.flatnonzero(bad.any(axis=0))[0]]
                raise DataFormatError(f"{int(bad.sum())} non-finite value(s)", file=tab_file,
                                      field=str(col), expected="finite numbers")
            # kept as NaN (a missing value); counted so nothing changes silently
            report.drop("non-finite table values (kept as NaN)", int(bad.sum()))
            df[num.columns] = num.where(~bad)
        if limit is not None:
            df = df.iloc[:limit]
        label_col = None
        if labels:
            df["label"] = df["object_id"].map(labels)
            label_col = "label"
        targets = info.get("target_columns") or []
        missing = [t for t in targets if t not in df.columns]
        if missing:
            raise DataFormatError(f"dataset.json names target column(s) {missing} that the table "
                                  "lacks", file=tab_file, field="target_columns",
                                  expected=f"columns of {tab_file.name}")
        cat = Catalog(df.reset_index(drop=True), id_column="object_id",
                      label_column=label_col, units=info.get("units"), target_columns=targets,
                      provenance=Provenance(file=str(tab_file), reader="layout",
                                            dataset=dataset))
        cat.object_id = tab_file.name
        items.append(cat)
    if labels and limit is None:
        known = {str(o.object_id) for o in items if not isinstance(o, Catalog)}
        for o in items:
            if isinstance(o, Catalog):
                known.update(o.object_ids)
        unmatched = [k for k in labels if str(k) not in known]
        if unmatched:
            msg = (f"{p / 'labels.csv'}: {len(unmatched)} label(s) match no object, e.g. "
                   f"{unmatched[0]!r}")
            report.warnings.append(msg)
            warnings.warn(msg, stacklevel=2)
    out = finish(items, report)
    return out


def read_spectra_table(path, *, strict: bool = False, limit: int | None = None,
                       dataset: str | None = None, labels: dict | None = None
                       ) -> ObservationSet:
    """A long spectra table (object_id, wavelength, flux[, flux_err, wavelength_unit, mask])
    read on its own, outside a dataset directory."""
    report = new_report(path)
    items = _load_spectra(Path(path), labels or {}, {}, report, strict, limit, dataset, {})
    return finish(items, report)


def _load_spectra(path, labels, meta, report, strict, limit, dataset, info):
    import pandas as pd

    unique_columns(path)
    df = read_table_file(path)
    for c in ("object_id", "wavelength", "flux"):
        if c not in df.columns:
            raise DataFormatError(f"no column {c!r}", file=path, field=c,
                                  expected="object_id, wavelength, flux[, flux_err]")
    require_rows(df, path, "spectrum pixel")
    _require_ids(df, path)
    for c in ("wavelength", "flux", "flux_err"):
        if c in df.columns:
            df[c] = numeric(df, c, path)
    df["object_id"] = df["object_id"].astype(str)
    codes, uniq = pd.factorize(df["object_id"], sort=False)
    if limit is not None:
        keep = codes < limit
        df, codes, uniq = df[keep], codes[keep], uniq[:limit]
    from skyfm.data.io._common import to_float

    w = to_float(df["wavelength"], path, "wavelength")
    f = to_float(df["flux"], path, "flux")
    e = to_float(df["flux_err"], path, "flux_err") if "flux_err" in df.columns else np.full(
        len(df), np.nan)
    mask = (df["mask"].astype(bool).to_numpy() if "mask" in df.columns
            else np.zeros(len(df), bool))
    if np.any(np.isfinite(e) & (e < 0)):
        raise DataFormatError(f"{int((np.isfinite(e) & (e < 0)).sum())} negative error(s)",
                              file=path, field="flux_err", expected="errors >= 0")
    dropper = Dropper(report, path, strict)
    keep = dropper.drop(~np.isfinite(w), "non-finite wavelength", "wavelength")
    keep &= dropper.drop(keep & ~np.isfinite(f) & ~mask, "non-finite flux", "flux")
    keep &= dropper.drop(keep & np.isinf(e), "infinite flux_err", "flux_err")
    units = (df["wavelength_unit"].astype(str).to_numpy() if "wavelength_unit" in df.columns
             else None)
    codes, w, f, e, mask = codes[keep], w[keep], f[keep], e[keep], mask[keep]
    if units is not None:
        units = units[keep]
    order = np.lexsort((w, codes))
    codes, w, f, e, mask = codes[order], w[order], f[order], e[order], mask[order]
    if units is not None:
        units = units[order]
    dup = (codes[1:] == codes[:-1]) & (w[1:] == w[:-1])
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataFormatError(f"object {uniq[codes[i]]}: wavelength {w[i]} repeated", file=path,
                              field="wavelength", expected="unique wavelengths per object")
    bounds = np.searchsorted(codes, np.arange(len(uniq) + 1))
    out = []
    for k, oid in enumerate(uniq):
        a, b = bounds[k], bounds[k + 1]
        if a == b:
            report.drop("objects with no valid points", 1)
            continue
        if units is not None:
            us = set(units[a:b])
            if len(us) != 1:
                raise DataFormatError(f"object {oid}: several units {sorted(us)}", file=path,
                                      field="wavelength_unit", expected="one unit per object")
            unit = us.pop()
        else:
            unit = info.get("wavelength_unit") or detect_wavelength_unit(w[a:b])
            if not info.get("wavelength_unit"):
                msg = (f"{path}: object {oid}: no wavelength_unit column; guessed {unit!r} "
                       "from the wavelength values")
                if k == 0:
                    warnings.warn(msg, DataQualityWarning, stacklevel=3)
                    report.warnings.append(msg)
        out.append(Spectrum(w[a:b], f[a:b], error=e[a:b], mask=mask[a:b], wavelength_unit=unit,
                            flux_unit=info.get("flux_unit"), object_id=oid,
                            label=labels.get(oid),
                            provenance=Provenance(file=str(path), reader="layout",
                                                  dataset=dataset),
                            meta=meta.get(oid, {})))
    return out


POINT_META_PREFIX = "meta:"


def _require_ids(df, path) -> None:
    """Every row names its object (a missing id would read as the object "nan")."""
    ids = df["object_id"]
    if ids.isna().any() or (ids.astype(str).str.strip() == "").any():
        raise DataFormatError("empty object_id", file=path, field="object_id",
                              expected="an id on every row")


def _is_point_array(v, n: int) -> bool:
    return isinstance(v, np.ndarray) and v.ndim == 1 and v.shape[0] == n


def _check_id(oid) -> str:
    if oid is None:
        raise DataFormatError("observation without object_id", field="object_id",
                              expected="every observation to have an object_id")
    s = str(oid)
    if "/" in s or "\\" in s or s in ("", ".", ".."):
        raise DataFormatError(f"object_id {s!r} cannot be a file name", field="object_id",
                              expected="ids without path separators")
    return s


def write_dataset(observations: Iterable, path, *, overwrite: bool = False,
                  progress: Progress = None, image_format: str = "fits") -> Path:
    """Write observations (light curves, spectra, images, catalogues) in the generic layout.

    Returns the directory. ``path`` must be new or empty; ``overwrite=True`` replaces an
    existing dataset directory whole (no file of the old one is left). The dataset is built
    in a hidden sibling directory and moved into place only when complete
    (:func:`skyfm.outputs.run_directory`; it then holds ``run.json``), so an error or a
    kill leaves ``path`` as it was. Raises :class:`DataFormatError` when there is nothing
    to write, and :class:`~skyfm.errors.OutputExistsError` when ``path`` is taken.
    """
    from skyfm.outputs import run_directory

    obs = list(observations)
    if not obs:
        raise DataFormatError("no observations to write", file=path, field="observations",
                              expected="at least one light curve, spectrum, image or table row")
    with run_directory(path, overwrite=overwrite, kind="dataset", recognise=is_dataset) as run:
        _write_layout(obs, run.path, progress=progress, image_format=image_format)
    return Path(path)


def _write_layout(obs: list, out: Path, *, progress: Progress, image_format: str) -> None:
    """The files of :func:`write_dataset`, written into the (staging) directory ``out``."""
    import pandas as pd

    lcs = [o for o in obs if isinstance(o, LightCurve)]
    specs = [o for o in obs if isinstance(o, Spectrum)]
    imgs = [o for o in obs if isinstance(o, Image)]
    cats = [o for o in obs if isinstance(o, Catalog)]
    other = [o for o in obs if not isinstance(o, (LightCurve, Spectrum, Image, Catalog))]
    if other:
        raise DataFormatError(f"cannot write {type(other[0]).__name__}", field="observations",
                              expected="LightCurve, Spectrum, Image or Catalog objects")
    info: dict = {"skyfm_layout": 1}
    labels: dict = {}
    meta_rows: list = []
    if lcs:
        kinds = {lc.kind for lc in lcs}
        units = {lc.flux_unit for lc in lcs}
        if len(kinds) > 1 or len(units) > 1:
            raise DataFormatError(f"light curves mix kinds/units {sorted(map(str, kinds | units))}",
                                  field="kind", expected="one kind and flux unit per dataset; "
                                  "convert with to_flux()/to_mag() first")
        info["kind"] = lcs[0].kind
        if lcs[0].kind == "flux":
            info["flux_unit"] = lcs[0].flux_unit
        surveys = {lc.provenance.survey for lc in lcs}
        if len(surveys) == 1 and None not in surveys:
            info["survey"] = surveys.pop()
        n = np.array([len(lc) for lc in lcs])
        ids = [_check_id(lc.object_id) for lc in lcs]
        if len(set(ids)) != len(ids):
            raise DataFormatError("duplicate object_id among light curves", field="object_id",
                                  expected="unique ids")
        vname, ename = ("mag", "mag_err") if info["kind"] == "mag" else ("flux", "flux_err")
        error = np.concatenate([lc.error for lc in lcs]).astype(float)
        upper = np.concatenate([lc.upper_limit for lc in lcs])
        frame = pd.DataFrame({
            "object_id": np.repeat(np.array(ids, dtype=object), n),
            "time": np.concatenate([lc.time for lc in lcs]),
            "band": np.concatenate([lc.band.astype(str) for lc in lcs]),
            vname: np.concatenate([lc.value for lc in lcs]),
            ename: error,
            "upper_limit": upper,
        })
        no_error = ~np.isfinite(error) & ~upper
        if no_error.all():  # errors unknown: no error column, so reading keeps every point
            frame = frame.drop(columns=[ename])
        elif no_error.any():
            first = frame["object_id"].iloc[int(np.flatnonzero(no_error)[0])]
            raise DataFormatError(f"{int(no_error.sum())} detection(s) without an error, first "
                                  f"in object {first!r}, among points with errors",
                                  field=ename, expected="an error on every detection or on "
                                  "none (the layout reader drops detections without one)")
        # per-point meta arrays present on every curve (PLAsTiCC 'detected', ZTF 'isdiffpos')
        point_keys = [k for k, v in lcs[0].meta.items() if _is_point_array(v, len(lcs[0]))
                      and all(_is_point_array(lc.meta.get(k), len(lc)) for lc in lcs)]
        for k in point_keys:
            frame[f"{POINT_META_PREFIX}{k}"] = np.concatenate([np.asarray(lc.meta[k])
                                                               for lc in lcs])
        frame.to_parquet(out / "observations.parquet", index=False)
        for lc in lcs:
            if lc.label is not None:
                labels[lc.object_id] = lc.label
            m = {k: _jsonable(v) for k, v in lc.meta.items() if k not in point_keys}
            if m:
                meta_rows.append({"object_id": lc.object_id, **m})
        if progress is not None:
            progress(len(lcs))
    if specs:
        units = {str(s.wavelength_unit) for s in specs}
        n = np.array([len(s) for s in specs])
        ids = [_check_id(s.object_id) for s in specs]
        frame = pd.DataFrame({
            "object_id": np.repeat(np.array(ids, dtype=object), n),
            "wavelength": np.concatenate([s.wavelength for s in specs]),
            "flux": np.concatenate([s.flux for s in specs]),
            "flux_err": np.concatenate([s.error for s in specs]),
            "mask": np.concatenate([s.mask for s in specs]),
            "wavelength_unit": np.repeat(np.array([str(s.wavelength_unit) for s in specs],
                                                  dtype=object), n),
        })
        frame.to_parquet(out / "spectra.parquet", index=False)
        fu = {s.flux_unit for s in specs}
        if len(fu) == 1 and None not in fu:
            info["flux_unit_spectra"] = fu.pop()
        del units
        for s in specs:
            if s.label is not None:
                labels[s.object_id] = s.label
            m = {k: _jsonable(v) for k, v in s.meta.items()}
            if m:
                meta_rows.append({"object_id": s.object_id, **m})
        if progress is not None:
            progress(len(specs))
    if imgs:
        from skyfm.data.io.images import write_image_file

        (out / "images").mkdir(exist_ok=True)
        bands = {tuple(img.bands) for img in imgs}
        if len(bands) == 1:
            info["image_bands"] = list(bands.pop())
        from skyfm.data.io.images import LazyImage

        for img in imgs:
            oid = _check_id(img.object_id)
            if isinstance(img, LazyImage) and img.is_pristine:
                # untouched JPEG/PNG on disk: copy the original bytes (lossless and cheap)
                shutil.copyfile(img.source, out / "images" / f"{oid}{img.source.suffix.lower()}")
            else:
                write_image_file(img, out / "images" / f"{oid}.{image_format}")
            if img.label is not None:
                labels[oid] = img.label
            if progress is not None:
                progress(1)
    if cats:
        frames = []
        for c in cats:
            t = c.table.copy()
            if c.id_column != "object_id":
                if "object_id" in t.columns:
                    t = t.drop(columns=["object_id"])
                t = t.rename(columns={c.id_column: "object_id"})
            t["object_id"] = t["object_id"].astype(str)
            if c.label_column is not None:
                for k, v in zip(t["object_id"], t[c.label_column]):
                    if v is not None and not pd.isna(v):
                        labels[k] = v.item() if hasattr(v, "item") else v
                t = t.drop(columns=[c.label_column])
            frames.append(t)
            if c.units:
                info.setdefault("units", {}).update(c.units)
            targets = info.setdefault("target_columns", [])
            targets += [t for t in c.target_columns if t not in targets]
        if not info["target_columns"]:
            del info["target_columns"]
        table = pd.concat(frames, ignore_index=True)
        table.to_parquet(out / "table.parquet", index=False)
        if progress is not None:
            progress(len(cats))
    if labels:
        pd.DataFrame({"object_id": list(labels), "label": list(labels.values())}).to_csv(
            out / "labels.csv", index=False)
    if meta_rows:
        with open(out / "objects.jsonl", "w") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in meta_rows)
    (out / "dataset.json").write_text(json.dumps(info, indent=1))


def identify_spectra_table(path) -> bool:
    """A long spectra table: ``object_id, wavelength, flux`` columns (any table format)."""
    from skyfm.data.io import sniff

    if sniff.table_kind(path) != "table":
        return False
    cols = sniff.columns(path)
    return bool(cols) and {"object_id", "wavelength", "flux"} <= set(cols)
