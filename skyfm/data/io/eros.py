"""EROS-2 light curves from the RAMP variable-star challenge.

``train_varlength_features.csv.gz`` stores each curve as stringified lists
(``time_points_b``, ``light_points_b``, ``error_points_b`` and the same for ``_r``);
``train.csv`` (joined on the first, unnamed, id column) holds ``type``
(1 binary, 2 cepheid, 3 rr_lyrae, 4 mira), ``period``, ``div_period`` and ``quality``.

``light_points`` are magnitudes, not fluxes: 12.4–25.0, and each curve's median B tracks
``magnitude_b`` of ``train.csv`` (correlation 0.998, offset +0.05 mag). Errors are in
magnitudes. 46 points sit at exactly 25.0 mag with ~1 mag errors (faint-end placeholders
in the origin; kept as given). Times are days on the EROS time axis, 290–1184 d in the
training part: a relative epoch (consistent with JD − 2,450,000 during EROS-2, but not
documented), so ``meta['time_format']`` says so and no MJD conversion is made.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skyfm.data.io._common import (
    Progress,
    build_lightcurves,
    check_file,
    finish,
    new_report,
    wrap_errors,
)
from skyfm.errors import DataFormatError

TYPE_NAMES = {1: "binary", 2: "cepheid", 3: "rr_lyrae", 4: "mira"}
BANDS = ("b", "r")
FEATURES_FILE = "train_varlength_features.csv.gz"
LABELS_FILE = "train.csv"
#: the columns that identify the format, whatever the file is called
LIST_COLUMNS = tuple(f"{q}_points_{b}" for b in BANDS for q in ("time", "light", "error"))


def parse_list_column(strings, source, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Stringified lists ``"[1.0, 2.0]"`` -> (lengths per row, concatenated float values)."""
    import pandas as pd

    s = pd.Series(strings, dtype=object)
    if s.isna().any():
        i = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise DataFormatError(f"row {i} is empty", file=source, field=field,
                              expected="a list such as '[1.0, 2.0]'")
    s = s.astype(str).str.strip()
    ok = s.str.startswith("[") & s.str.endswith("]")
    if not ok.all():
        i = int(np.flatnonzero(~ok.to_numpy())[0])
        raise DataFormatError(f"row {i} is not a list: {s.iloc[i][:40]!r}", file=source,
                              field=field, expected="a list such as '[1.0, 2.0]'")
    inner = s.str.slice(1, -1).str.strip()
    lens = np.where(inner.str.len() == 0, 0, inner.str.count(",") + 1).astype(int)
    body = ",".join(x for x in inner if x)
    if not body:
        return lens, np.zeros(0)
    try:
        vals = np.array(body.split(","), dtype=float)
    except ValueError as exc:
        raise DataFormatError(f"non-numeric list entry ({exc})", file=source, field=field,
                              expected="comma-separated numbers") from exc
    return lens, vals


def header_columns(path) -> list[str]:
    """Column names on the first line of a (possibly gzipped) CSV; [] when unreadable."""
    import gzip

    p = Path(path)
    try:
        with open(p, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        opener = gzip.open if gz else open
        with opener(p, "rb") as fh:
            line = fh.readline(1 << 16)
    except Exception:  # unreadable or corrupt gzip: not this format
        return []
    return [c.strip().strip('"') for c in line.decode("utf-8", "replace").split(",")]


def is_eros_file(path) -> bool:
    """True when ``path`` holds RAMP list columns (any file name, gzipped or not). Two of the
    six are enough to identify the format; the reader then names any that are missing."""
    p = Path(path)
    return p.is_file() and len(set(LIST_COLUMNS) & set(header_columns(p))) >= 2


def labels_for(feats: Path) -> Path | None:
    """The label table that belongs to a features file: ``<part>_varlength_features.csv[.gz]``
    -> ``<part>.csv`` beside it (RAMP's ``train``/``test`` pairs); None otherwise."""
    name = feats.name
    i = name.find("_varlength_features")
    if i <= 0:
        return None
    cand = feats.parent / f"{name[:i]}.csv"
    return cand if cand.is_file() and cand != feats else None


def find_files(path) -> list[tuple[Path, Path | None]]:
    """(features file, its label table or None) for a file, or for every RAMP features file
    of a directory (found by their columns, whatever their names)."""
    p = Path(path)
    if p.is_dir():
        feats = sorted(f for f in p.iterdir() if is_eros_file(f))
        if not feats:
            raise DataFormatError("no file with the RAMP list columns", file=p,
                                  field=LIST_COLUMNS[0],
                                  expected="a CSV with columns " + ", ".join(LIST_COLUMNS))
        return [(f, labels_for(f)) for f in feats]
    check_file(p)
    return [(p, labels_for(p))]


def read_eros(path, *, limit: int | None = None, strict: bool = False, dataset: str | None = None,
              progress: Progress = None, labels_file=None):
    """Read RAMP/EROS light curves: a features file (any name, gzipped or not) or a directory.

    A directory's features files are found by their columns (``train`` and ``test`` parts are
    both read; object ids must be unique across them). Labels come from the table named after
    the features file (``train_varlength_features.csv.gz`` -> ``train.csv``) or from
    ``labels_file``; a paired table without ``type`` (RAMP's test part) leaves the curves
    unlabelled and says so in ``report.warnings``.
    """
    pairs = find_files(path)
    if labels_file is not None:
        if len(pairs) > 1:
            raise DataFormatError("labels_file= with several features files "
                                  f"({', '.join(f.name for f, _ in pairs)})", file=path,
                                  field="labels_file", expected="one features file")
        pairs = [(pairs[0][0], Path(labels_file))]
    out = None
    for feats, labels_path in pairs:
        left = None if limit is None else limit - (len(out) if out is not None else 0)
        if left is not None and left <= 0:
            break
        part = _read_one(feats, labels_path, explicit=labels_file is not None, limit=left,
                         strict=strict, dataset=dataset, progress=progress)
        if out is None:
            out = part
            continue
        seen = set(out.object_ids)
        dup = [i for i in part.object_ids if i in seen]
        if dup:
            raise DataFormatError(f"object id {dup[0]!r} is in {feats.name} and an earlier "
                                  "features file", file=feats, field="id",
                                  expected="unique ids across the folder's features files")
        out.extend(part)
        out.report.merge(part.report)
    return out


def _read_one(feats: Path, labels_path: Path | None, *, explicit: bool, limit, strict, dataset,
              progress):
    import pandas as pd

    report = new_report(feats, *([labels_path] if labels_path else []))
    cols = header_columns(feats)
    seen: set[str] = set()
    for c in cols:
        if c and c in seen:  # pandas would rename the copy and read the first: never guess
            raise DataFormatError(f"column {c!r} appears more than once", file=feats, field=c,
                                  expected="unique column names")
        seen.add(c)
    # RAMP files start with an unnamed id column; a file written without it gets row numbers
    index_col = None if cols and cols[0] in LIST_COLUMNS else 0
    with wrap_errors(feats, expected="RAMP EROS CSV with list columns"):
        with open(feats, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        df = pd.read_csv(feats, index_col=index_col, nrows=limit,
                         compression="gzip" if gz else None)
    if not len(df):
        raise DataFormatError("no rows (a header only)", file=feats, field="rows",
                              expected="one row per object")
    if index_col is None:
        report.warnings.append(f"{feats.name} has no id column: objects are named by row "
                               "number")
    need = list(LIST_COLUMNS)
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataFormatError("missing column(s) " + ", ".join(missing), file=feats,
                              field=missing[0], expected="columns " + ", ".join(need))
    ids = df.index.astype(str).to_numpy()
    if pd.Index(ids).has_duplicates:
        dup = pd.Index(ids)[pd.Index(ids).duplicated()][0]
        raise DataFormatError(f"duplicate object id {dup!r}", file=feats, field="id",
                              expected="unique row ids")
    parts = {k: [] for k in ("oid", "t", "v", "e", "band")}
    for b in BANDS:
        lt, t = parse_list_column(df[f"time_points_{b}"], feats, f"time_points_{b}")
        lv, v = parse_list_column(df[f"light_points_{b}"], feats, f"light_points_{b}")
        le, e = parse_list_column(df[f"error_points_{b}"], feats, f"error_points_{b}")
        for lx, name in ((lv, "light"), (le, "error")):
            if not np.array_equal(lt, lx):
                i = int(np.flatnonzero(lt != lx)[0])
                raise DataFormatError(f"object {ids[i]}: {lx[i]} values for {lt[i]} times",
                                      file=feats, field=f"{name}_points_{b}",
                                      expected=f"as many entries as time_points_{b}")
        parts["oid"].append(np.repeat(ids, lt))
        parts["t"].append(t)
        parts["v"].append(v)
        parts["e"].append(e)
        parts["band"].append(np.full(t.size, b.upper(), dtype=object))
    # interleave so each object's rows are contiguous per band (order is re-sorted anyway)
    oid = np.concatenate(parts["oid"])
    labels, meta = {}, {}
    if labels_path is not None:
        with wrap_errors(labels_path, expected="RAMP train.csv"):
            lab = pd.read_csv(labels_path, index_col=0)
        lab.index = lab.index.astype(str)
        has_type = "type" in lab.columns
        if not has_type:
            if explicit:
                raise DataFormatError("no 'type' column", file=labels_path, field="type",
                                      expected="type 1..4")
            report.warnings.append(f"{labels_path.name} has no 'type' column (an unlabelled "
                                   "part such as RAMP's test set): curves have no label")
            lab["type"] = np.nan
        lab = lab.reindex(ids)
        missing_ids = lab["type"].isna()
        if missing_ids.any() and has_type:
            report.warnings.append(f"{int(missing_ids.sum())} object(s) have no row in "
                                   f"{labels_path.name}; their label is None")
        types = lab["type"].to_numpy()
        bad = ~np.isin(types, list(TYPE_NAMES)) & ~missing_ids.to_numpy()
        if bad.any():
            raise DataFormatError(f"unknown type {types[bad][0]!r}", file=labels_path,
                                  field="type", expected="1 binary, 2 cepheid, 3 rr_lyrae, 4 mira")
        extra = [c for c in ("period", "div_period", "quality", "magnitude_b", "magnitude_r",
                             "log_p_not_variable") if c in lab.columns]
        rows = lab[extra].to_dict("index")
        for i, t in zip(ids, types):
            if not pd.isna(t):
                labels[i] = TYPE_NAMES[int(t)]
            m = {k: float(v) for k, v in rows[i].items() if not pd.isna(v)}
            if "period" in m and m.get("div_period"):
                m["period_catalog"] = m["period"]
                m["period"] = m["period"] / m["div_period"]
            meta[i] = m
    lcs = build_lightcurves(
        oid, np.concatenate(parts["t"]), np.concatenate(parts["v"]), np.concatenate(parts["e"]),
        np.concatenate(parts["band"]), kind="mag", source=feats, survey="EROS-2",
        reader="eros", dataset=dataset, labels=labels or None, meta=meta,
        common_meta={"time_format": "days (EROS epoch, not MJD)"}, report=report,
        strict=strict, require_sorted=True, progress=progress,
        fields={"time": "time_points_b/_r", "value": "light_points_b/_r",
                "error": "error_points_b/_r"})
    # keep the file's object order (build_lightcurves factorises the B band first, which is
    # the same order because every row has B points; sort explicitly to be safe)
    pos = {k: i for i, k in enumerate(ids)}
    lcs.sort(key=lambda lc: pos[lc.object_id])
    return finish(lcs, report)


#: names that are never a RAMP list-column CSV (not opened when looking for one in a folder)
_NOT_TEXT = (".fits", ".fit", ".fits.gz", ".fz", ".jpg", ".jpeg", ".png", ".avro", ".parquet",
             ".pq", ".npz", ".tar.bz2", ".tar.gz", ".tgz", ".xml", ".vot", ".md", ".rst")


def identify_eros(path) -> bool:
    """A RAMP list-column file under any name: gzipped or naming ``time_points_b`` early, or a
    table whose columns include the blue time and light lists."""
    from skyfm.data.io import sniff

    p = Path(path)
    h = sniff.head(p)
    if (h[:2] == sniff.GZIP or b"time_points_b" in h) and is_eros_file(p):
        return True
    cols = sniff.columns(p) if sniff.table_kind(p) == "table" else None
    return bool(cols) and {"time_points_b", "light_points_b"} <= set(cols)


def identify_eros_folder(path) -> bool:
    """A RAMP folder: ``train_varlength_features.csv.gz`` or a features file under any name."""
    from skyfm.data.io.sniff import files_in

    p = Path(path)
    files = files_in(p)
    if "train_varlength_features.csv.gz" in files:
        return True
    cands = sorted(f for f in files if not f.lower().endswith(_NOT_TEXT)
                   and not f.startswith("."))
    return len(cands) <= 50 and any(is_eros_file(p / f) for f in cands)
