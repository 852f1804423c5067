"""Catalogue tables -> :class:`Catalog` (one row per object).

CSV/Parquet (pandas/pyarrow), VOTable and FITS binary tables (astropy), whitespace ``.dat``
tables with ``#`` comment headers (LINEAR), headerless CSVs with known column names (MAGIC,
HTRU2). Known shared files get their id/label/target columns, label names and units from
:data:`KNOWN`; any other table is read with ``id_column=``/``label_column=``/``names=`` keywords.

A known file's coded labels are read as names (HTRU2 0/1 -> ``not_pulsar``/``pulsar``, MAGIC
g/h -> ``gamma``/``hadron``, LINEAR 1..6 -> ``RRab``...); ``meta["label_names"]`` keeps the
code -> name map. Target columns (SDSS ``redshift``) are labels too: never input features.
"""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path

import numpy as np

from skyfm.data.io._common import check_file, finish, new_report, wrap_errors
from skyfm.data.io.tabular import is_number
from skyfm.data.observations import Catalog, ObservationSet, Provenance
from skyfm.errors import DataFormatError

MAGIC_COLUMNS = ["fLength", "fWidth", "fSize", "fConc", "fConc1", "fAsym", "fM3Long",
                 "fM3Trans", "fAlpha", "fDist", "class"]
HTRU2_COLUMNS = ["meanprof", "sd-prof", "exk-prof", "skewness-prof", "meandmsnr", "sd-dmsnr",
                 "exk-dmsnr", "skewness-dmsnr", "class"]

# file-name pattern -> how to read it
KNOWN = {
    r"^Skyserver_.*\.csv$": dict(survey="SDSS DR14", id_from=("plate", "mjd", "fiberid"),
                                 label_column="class", target_columns=("redshift",),
                                 units={"ra": "deg", "dec": "deg", **{b: "mag" for b in "ugriz"}}),
    r"^HTRU_2\.csv$": dict(survey="HTRU2", label_column="class", names=HTRU2_COLUMNS,
                           label_names={0: "not_pulsar", 1: "pulsar"}),
    r"^magic04\.data$": dict(survey="MAGIC (Monte Carlo)", label_column="class",
                             names=MAGIC_COLUMNS, label_names={"g": "gamma", "h": "hadron"},
                             units={"fLength": "mm", "fWidth": "mm", "fDist": "mm",
                                    "fAlpha": "deg", "fM3Long": "mm", "fM3Trans": "mm"}),
    r"^LINEARattributes.*\.dat(\.gz)?$": dict(
        survey="LINEAR", id_column="LINEARobjectID", label_column="LCtype", whitespace=True,
        label_names={1: "RRab", 2: "RRc", 4: "algol", 5: "contact_binary", 6: "delta_scuti"},
        units={"ra": "deg", "dec": "deg", "magMed": "mag", "Ampl": "mag"}),
    r"^allLINEARfinal_targets.*\.dat(\.gz)?$": dict(
        survey="LINEAR", id_column="objectID", whitespace=True,
        units={"raLIN": "deg", "decLIN": "deg", "raSDSS": "deg", "decSDSS": "deg", "r": "mag"}),
    r"^ogle3_ocvs_catalog\.parquet$": dict(survey="OGLE-III", id_column="ID", label_column="Type",
                                           units={"RA": "hourangle", "DECL": "deg", "I": "mag",
                                                  "V": "mag", "P_1": "d", "A_1": "mag"}),
    r"^gcvs\.parquet$": dict(survey="GCVS", label_column="VarType",
                             units={"ra": "deg", "dec": "deg"}),
    r"^spitzer_example_catalog\.xml$": dict(survey="Spitzer GLIMPSE"),
    r"^SA112-SF1-ra-dec-list\.txt$": dict(survey="MSUM SA112", id_column="Number", sep="\t"),
    r"^RRLyrae\.fit$": dict(survey="SDSS S82 RR Lyrae (Sesar 2010)"),
}
SKIP = (".tar.gz", ".tgz", ".md", ".rst", "source.txt", "readme", "license", ".jpg", ".jpeg",
        ".png")


def _known(name: str) -> dict:
    for pat, spec in KNOWN.items():
        if re.match(pat, name):
            return dict(spec)
    return {}


SDSS_SIGNATURE = {"objid", "ra", "dec", "u", "g", "r", "i", "z", "specobjid", "class",
                  "redshift", "plate", "mjd", "fiberid"}


def _first_line(p: Path) -> list[str]:
    try:
        return [c.strip() for c in _open_text(p).split("\n", 1)[0].split(",")]
    except DataFormatError:
        return []


def _known_by_content(p: Path) -> dict:
    """The spec of a known catalogue recognised by its columns, whatever the file is called
    (a cut, renamed or re-exported copy): SkyServer's SDSS columns in any case and order,
    headerless MAGIC (10 numbers + g/h) and HTRU2 (8 numbers + 0/1) rows. Column names in the
    spec are those of the file."""
    if not p.name.lower().endswith((".csv", ".csv.gz", ".data", ".txt")):
        return {}
    first = _first_line(p)
    lower = {c.lower(): c for c in first}
    if SDSS_SIGNATURE <= set(lower):
        spec = _known("Skyserver_.csv")
        spec["id_from"] = tuple(lower[c] for c in spec["id_from"])
        spec["label_column"] = lower["class"]
        spec["target_columns"] = (lower["redshift"],)
        spec["units"] = {lower[k]: v for k, v in spec["units"].items()}
        return spec
    if len(first) == 11 and all(map(is_number, first[:10])) and first[10] in ("g", "h"):
        return _known("magic04.data")
    if len(first) == 9 and all(map(is_number, first[:8])) and first[8] in ("0", "1"):
        return _known("HTRU_2.csv")
    return {}


def _open_text(p: Path) -> str:
    with wrap_errors(p, expected="a text table (optionally gzipped)"):
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return raw.decode("utf-8", errors="strict")


def _read_whitespace(p: Path, names=None):
    """Whitespace table whose header is the last ``#`` comment line before the data."""
    import pandas as pd

    text = _open_text(p)
    lines = text.splitlines()
    header = None
    start = 0
    for i, line in enumerate(lines):
        if line.startswith("#"):
            body = line.lstrip("#").strip()
            if body:
                header = body.split()
            start = i + 1
        elif line.strip():
            break
    cols = names or header
    if not cols:
        raise DataFormatError("no header line", file=p, field="header",
                              expected="a '#' comment line naming the columns")
    with wrap_errors(p, expected=f"{len(cols)} whitespace-separated columns"):
        df = pd.read_csv(io.StringIO("\n".join(lines[start:])), sep=r"\s+", header=None,
                         engine="c", comment="#")
    if df.shape[1] != len(cols):
        raise DataFormatError(f"{df.shape[1]} columns but the header names {len(cols)}", file=p,
                              field="header", expected="one name per column")
    df.columns = cols
    return df


def _has_header(p: Path, names) -> bool:
    """True when the first line is not numbers (the file has its own header)."""
    text = _open_text(p)
    first = text.split("\n", 1)[0].split(",")
    if names and [c.strip() for c in first] == list(names):
        return True
    try:
        [float(x) for x in first[:-1]]
        return False
    except ValueError:
        return True


def read_table_any(p: Path, spec: dict):
    """Any supported catalogue file -> (DataFrame, units)."""
    import pandas as pd

    name = p.name.lower()
    units: dict = dict(spec.get("units", {}))
    if name.endswith((".xml", ".vot", ".votable")):
        from astropy.table import Table

        with wrap_errors(p, field="VOTABLE", expected="a valid VOTable"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = Table.read(p, format="votable")
        for c in t.colnames:
            if t[c].unit is not None:
                units[c] = t[c].unit.to_string()
        return t.to_pandas(), units
    if name.endswith((".fit", ".fits", ".fits.gz")):
        from astropy.table import Table

        with wrap_errors(p, field="HDU 1", expected="a FITS binary table"):
            t = Table.read(p, hdu=1)
        for c in t.colnames:
            if t[c].unit is not None:
                units[c] = t[c].unit.to_string()
        names1 = [c for c in t.colnames if t[c].ndim <= 1]
        df = t[names1].to_pandas()
        for c in df.columns:
            if df[c].dtype == object and len(df) and isinstance(df[c].iloc[0], bytes):
                df[c] = df[c].str.decode("ascii", errors="replace")
        return df, units
    if name.endswith((".parquet", ".pq")):
        with wrap_errors(p, expected="a Parquet table"):
            return pd.read_parquet(p), units
    if spec.get("whitespace") or name.endswith((".dat", ".dat.gz")):
        return _read_whitespace(p, spec.get("names")), units
    names = spec.get("names")
    sep = spec.get("sep", ",")
    if name.endswith((".tsv", ".txt")) and "sep" not in spec:
        sep = "\t" if "\t" in _open_text(p).split("\n", 1)[0] else r"\s+"
    with wrap_errors(p, expected="a CSV table"):
        if names and not _has_header(p, names):
            df = pd.read_csv(p, header=None, names=names, sep=sep)
        elif sep == "," and not names and all(map(is_number, _first_line(p))):
            # no header: the first row is data (read as a header it would be lost)
            df = pd.read_csv(p, header=None, sep=sep, low_memory=False)
            df.columns = [f"col{i + 1}" for i in range(df.shape[1])]
        else:
            df = pd.read_csv(p, sep=sep, low_memory=False)
            df.columns = [str(c).strip() for c in df.columns]
    if names and list(df.columns) != list(names):
        raise DataFormatError(f"columns {list(df.columns)[:12]}", file=p, field="header",
                              expected=f"{len(names)} columns {names}")
    return df, units


def _name_labels(col, names: dict[str, str], p: Path, field: str):
    """A coded label column -> its names (missing values stay missing); a code the file's
    spec does not name is an error, never guessed."""
    def key(v):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return str(v)

    present = col.notna()
    codes = col[present].map(key)
    unknown = sorted(set(codes) - set(names))
    if unknown:
        raise DataFormatError(f"unknown label code(s) {unknown[:5]}", file=p, field=field,
                              expected=f"one of {sorted(names)} ({', '.join(names.values())})")
    out = col.astype(object).where(present, None)
    out[present] = codes.map(names)
    return out


def read_catalog(path, *, id_column: str | None = None, label_column: str | None = None,
                 names: list[str] | None = None, limit: int | None = None,
                 dataset: str | None = None, strict: bool = False) -> ObservationSet:
    """A catalogue file (or a folder of them) -> ObservationSet of :class:`Catalog`."""
    p = Path(path)
    if p.is_dir():
        report = new_report()
        out = []
        for f in sorted(p.iterdir()):
            n = f.name.lower()
            if not f.is_file() or n.endswith(SKIP) or n.startswith(("source", "readme",
                                                                    "license")):
                if f.is_file() and n.endswith((".tar.gz", ".tgz")):
                    report.warnings.append(f"skipped {f.name} (an archive, not a table)")
                continue
            if n.endswith(("query_header.txt",)):
                continue
            sub = read_catalog(f, limit=limit, dataset=dataset, strict=strict)
            out += list(sub)
            report.merge(sub.report)
        if not out:
            raise DataFormatError("no catalogue files", file=p,
                                  expected="CSV, Parquet, VOTable, FITS table or .dat files")
        report.n_objects = len(out)
        return ObservationSet(out, report)
    p = check_file(p)
    spec = _known(p.name) or _known_by_content(p)
    given = {"names": names, "id_column": id_column, "label_column": label_column}
    spec |= {k: v for k, v in given.items() if v is not None}
    df, units = read_table_any(p, spec)
    if len(df) == 0:
        raise DataFormatError("no data rows (a header only)", file=p, field="rows",
                              expected="at least one catalogue row")
    if limit is not None:
        df = df.iloc[:limit]
    report = new_report(p)
    if not spec and list(df.columns) == [f"col{i + 1}" for i in range(df.shape[1])]:
        report.warnings.append(f"{p}: no header row (the first row is numbers): the columns "
                               f"are named col1..col{df.shape[1]}")
    from skyfm.data.io.lccolumns import is_lightcurve, why_catalogue

    if not spec and not is_lightcurve(df.columns):
        report.warnings.append(f"{p}: {why_catalogue(df.columns)}")
    idc = spec.get("id_column") or ("object_id" if "object_id" in df.columns else None)
    lab = spec.get("label_column") or ("label" if "label" in df.columns else None)
    if spec.get("id_from") and idc is None and set(spec["id_from"]) <= set(df.columns):
        # e.g. SDSS: objid/specobjid were written as rounded floats (not unique), so the id is
        # the spectrum's plate-mjd-fiberid
        cols = [df[c].astype(str) for c in spec["id_from"]]
        oid = cols[0]
        for c in cols[1:]:
            oid = oid + "-" + c
        df.insert(0, "object_id", oid)
        idc = "object_id"
    for c in (idc, lab):
        if c is not None and c not in df.columns:
            raise DataFormatError(f"no column {c!r}", file=p, field=c,
                                  expected=f"one of {list(df.columns)[:20]}")
    df = df.reset_index(drop=True)
    for c in df.columns:  # fixed-width strings come padded (GCVS VarType)
        if df[c].dtype == object or str(df[c].dtype) in ("str", "string"):
            df[c] = df[c].astype("string").str.strip().astype(object).where(df[c].notna(), None)
    if idc is None:
        df.insert(0, "object_id", [str(i) for i in range(len(df))])
        idc = "object_id"
    else:
        ids = df[idc].astype(str)
        if ids.duplicated().any():
            ndup = int(ids.duplicated().sum())
            row = next(c for c in ("row", *(f"row_{i}" for i in range(1, len(df.columns) + 2)))
                       if c not in df.columns)
            msg = (f"{p}: {ndup} repeated value(s) in id column {idc!r} (kept as a column); "
                   f"the object id is the row number (column {row!r}) instead")
            report.warnings.append(msg)
            df.insert(0, row, [str(i) for i in range(len(df))])
            idc = row
    meta = {}
    if spec.get("label_names") and lab is not None:
        meta["label_names"] = {str(k): v for k, v in spec["label_names"].items()}
        df[lab] = _name_labels(df[lab], meta["label_names"], p, lab)
    num = df.select_dtypes("number")
    bad = ~np.isfinite(num.to_numpy(dtype=float)) & num.notna().to_numpy(dtype=bool)
    if bad.any():
        if strict:
            raise DataFormatError(f"{int(bad.sum())} infinite value(s)", file=p,
                                  field=str(num.columns[np.flatnonzero(bad.any(0))[0]]),
                                  expected="finite numbers (strict=True)")
        report.warnings.append(f"{p}: {int(bad.sum())} infinite value(s) kept as NaN")
        df[num.columns] = num.replace([np.inf, -np.inf], np.nan)
    targets = [c for c in spec.get("target_columns", ()) if c in df.columns and c != lab]
    cat = Catalog(df, id_column=idc, label_column=lab, units=units,
                  provenance=Provenance(survey=spec.get("survey"), file=str(p),
                                        reader="catalog", dataset=dataset), meta=meta,
                  target_columns=targets)
    cat.object_id = p.name
    report.n_points = len(df)
    out = finish([cat], report)
    out.report.n_points = len(df)
    return out


def identify_catalog(path) -> bool:
    """Any table: CSV/whitespace text, Parquet, ECSV/IPAC/CDS, VOTable (gzipped or not)."""
    from skyfm.data.io.sniff import table_kind

    return table_kind(path) is not None


def identify_catalog_folder(path) -> bool:
    """A folder with table files (or VOTables and no images)."""
    from skyfm.data.io.sniff import files_in

    from skyfm.data.io.images import identify_image_folder, is_labels_file

    files = files_in(Path(path))
    tables = [f for f in files if f.lower().endswith((".csv", ".parquet", ".data", ".dat",
                                                      ".dat.gz"))]
    if tables and not (identify_image_folder(path)
                       and all(is_labels_file(Path(path) / f) for f in tables)):
        return True  # (a labels.csv beside images labels them: an image folder)

    return (any(f.lower().endswith((".xml", ".vot")) for f in files)
            and not identify_image_folder(path))
