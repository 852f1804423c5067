"""PLAsTiCC (simulated LSST) training light curves: long-format Parquet/CSV
(``object_id, mjd, passband, flux, flux_err, detected_bool``) plus the metadata table
(``target``, redshifts, ``true_*``).

Passbands 0–5 are ``u g r i z y``. Fluxes are FLUXCAL (SNANA units, zero point 27.5 AB:
``mag = 27.5 - 2.5 log10(flux)``), forced photometry, so they can be negative; every row is a
measurement (no upper limits) and ``meta['detected']`` keeps the per-point detection flag.
Labels are class names (:data:`CLASS_NAMES`); ``meta['target']`` keeps the number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skyfm.data.io._checks import numeric, require_rows, unique_columns
from skyfm.data.io._common import Progress, build_lightcurves, finish, new_report
from skyfm.data.io.table import read_table_file
from skyfm.errors import DataFormatError

PASSBANDS = {0: "u", 1: "g", 2: "r", 3: "i", 4: "z", 5: "y"}
CLASS_NAMES = {6: "microlensing", 15: "tde", 16: "eclipsing_binary", 42: "snii", 52: "sniax",
               53: "mira", 62: "snibc", 64: "kilonova", 65: "m_dwarf_flare", 67: "snia_91bg",
               88: "agn", 90: "snia", 92: "rr_lyrae", 95: "slsn_i", 99: "other",
               991: "microlens_binary", 992: "ilot", 993: "cart", 994: "pisn",
               995: "microlens_string"}
META_KEYS = ("ra", "decl", "ddf_bool", "hostgal_specz", "hostgal_photoz", "hostgal_photoz_err",
             "distmod", "mwebv", "target", "true_target", "true_submodel", "true_z",
             "true_distmod", "true_peakmjd")


def _files(path) -> tuple[Path, Path | None]:
    p = Path(path)
    if p.is_dir():
        lc = sorted(p.glob("plasticc_train_lightcurves.*")) or sorted(p.glob("*lightcurves*"))
        if not lc:
            raise DataFormatError("no light-curve table", file=p, field=None,
                                  expected="plasticc_train_lightcurves.parquet")
        meta = sorted(p.glob("plasticc_train_metadata.*")) or sorted(p.glob("*metadata*"))
        return lc[0], meta[0] if meta else None
    meta = sorted(p.parent.glob(p.name.replace("lightcurves", "metadata").split(".")[0] + ".*"))
    return p, (meta[0] if meta and meta[0] != p else None)


def _read_first_objects(path: Path, limit: int):
    """Only the rows of the first ``limit`` objects (Parquet: a filtered read)."""
    if not path.name.endswith(".parquet"):
        return read_table_file(path)
    import pandas as pd
    import pyarrow.parquet as pq

    from skyfm.data.io._common import wrap_errors

    with wrap_errors(path, field="object_id", expected="a Parquet table with object_id"):
        ids = pq.read_table(path, columns=["object_id"]).column(0).to_pandas()
        first = pd.unique(ids)[: int(limit)]
        return pq.read_table(path, filters=[("object_id", "in", list(first))]).to_pandas()


def read_plasticc(path, *, limit: int | None = None, strict: bool = False,
                  dataset: str | None = None, progress: Progress = None, metadata=None):
    """A PLAsTiCC folder or light-curve table (+ metadata beside it) -> flux light curves."""
    import pandas as pd

    lc_path, meta_path = _files(path)
    if metadata is not None:
        meta_path = Path(metadata)
    unique_columns(lc_path)
    df = _read_first_objects(lc_path, limit) if limit is not None else read_table_file(lc_path)
    need = ["object_id", "mjd", "passband", "flux", "flux_err"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataFormatError("missing column(s) " + ", ".join(missing), file=lc_path,
                              field=missing[0], expected="columns " + ", ".join(need))
    require_rows(df, lc_path, "light-curve point")
    for c in ("mjd", "flux", "flux_err"):
        df[c] = numeric(df, c, lc_path)
    pb = numeric(df, "passband", lc_path, what="integers 0..5 (u g r i z y)")
    bad = ~np.isin(pb, list(PASSBANDS))
    if bad.any():
        raise DataFormatError(f"unknown passband {pb[bad][0]!r}", file=lc_path, field="passband",
                              expected="integers 0..5 (u g r i z y)")
    bands = np.array(list("ugrizy"), dtype=object)[pb.astype(int)]
    report = new_report(lc_path, *([meta_path] if meta_path else []))
    labels, meta = None, None
    if meta_path is not None:
        unique_columns(meta_path)
        md = read_table_file(meta_path)
        if "object_id" not in md.columns:
            raise DataFormatError("no object_id column", file=meta_path, field="object_id",
                                  expected="PLAsTiCC metadata with object_id and target")
        md = md.assign(object_id=md["object_id"].astype(str)).set_index("object_id")
        if md.index.has_duplicates:
            raise DataFormatError(f"object {md.index[md.index.duplicated()][0]} listed twice",
                                  file=meta_path, field="object_id", expected="unique ids")
        keys = [k for k in META_KEYS if k in md.columns]
        meta = md[keys].to_dict("index")
        if "target" in md.columns:
            target = pd.Series(numeric(md, "target", meta_path, what="integer class codes"),
                               index=md.index)
            frac = target.dropna() % 1 != 0
            if frac.any():
                raise DataFormatError(f"class code {target.dropna()[frac].iloc[0]} is not an "
                                      "integer", file=meta_path, field="target",
                                      expected="integer class codes")
            labels = {k: CLASS_NAMES.get(int(v), str(int(v))) for k, v in target.items()
                      if not pd.isna(v)}
            nolab = int(target.isna().sum())
            if nolab:
                report.warnings.append(f"{meta_path}: {nolab} object(s) without a target "
                                       "(label None)")
        else:
            report.warnings.append(f"{meta_path}: no 'target' column; the light curves are "
                                   "unlabelled")
        for d in meta.values():
            for k, v in d.items():
                d[k] = v.item() if hasattr(v, "item") else v
    extra = {}
    if "detected_bool" in df.columns:
        extra["detected"] = df["detected_bool"].to_numpy().astype(bool)
    lcs = build_lightcurves(
        df["object_id"].to_numpy(), df["mjd"].to_numpy(), df["flux"].to_numpy(),
        df["flux_err"].to_numpy(), bands, kind="flux", flux_unit="FLUXCAL (zp 27.5 AB)",
        source=lc_path, survey="PLAsTiCC (simulated LSST)", reader="plasticc", dataset=dataset,
        labels=labels, meta=meta, report=report, strict=strict, limit=limit, progress=progress,
        fields={"time": "mjd", "value": "flux", "error": "flux_err", "band": "passband"},
        extra=extra)
    if labels is not None:
        unl = sum(lc.label is None for lc in lcs)
        if unl:
            report.warnings.append(f"{unl} light curve(s) have no metadata row (label None)")
    return finish(lcs, report)


def identify_plasticc(path) -> bool:
    """A PLAsTiCC table: ``object_id, mjd, passband, flux`` columns, or Parquet named
    ``plasticc``."""
    from skyfm.data.io import sniff

    p = Path(path)
    if sniff.table_kind(p) != "table":
        return False
    name = p.name.lower()
    if "plasticc" in name and name.endswith(".parquet"):
        return True
    cols = sniff.columns(p)
    return bool(cols) and {"object_id", "mjd", "passband", "flux"} <= set(cols)


def identify_plasticc_folder(path) -> bool:
    from skyfm.data.io.sniff import files_in

    return any(f.startswith("plasticc_train_lightcurves") for f in files_in(Path(path)))
