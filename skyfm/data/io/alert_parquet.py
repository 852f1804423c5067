"""ZTF alert packets exported as Parquet (Fink, ALeRCE, Spark dumps): one row per alert.

Three layouts are recognised from the schema, whatever the file is called:

* **nested**: ``candidate`` (struct) and ``prv_candidates`` (list of structs), as in the
  Avro packet (plus ``objectId``, ``candid`` and optional ``cutout*`` structs);
* **dotted**: the candidate flattened into top-level ``candidate.<field>`` columns (pandas
  ``json_normalize``), with ``prv_candidates`` nested or as ``prv_candidates.<field>`` lists;
* **Fink "c" columns**: ``cjd``, ``cfid``, ``cmagpsf``, ``csigmapsf``, ``cdiffmaglim`` (and
  optionally ``cisdiffpos``): per-alert lists of the history followed by the current
  candidate, where a null ``magpsf`` marks a non-detection.

Every row is turned back into the packet it came from and goes through the Avro reader's
code (:func:`skyfm.data.io.alerts.assemble`): same bands, MJD, upper limits, merging of an
object's alerts and duplicate handling, so a Parquet export reads exactly like its Avro.
"""

from __future__ import annotations

from pathlib import Path

from skyfm.data.io._common import Progress, check_file, wrap_errors
from skyfm.errors import DataFormatError

#: Fink's concatenated history columns (history then current candidate)
FINK_COLUMNS = ("cjd", "cfid", "cmagpsf", "csigmapsf", "cdiffmaglim")
FINK_OPTIONAL = {"cisdiffpos": "isdiffpos"}
SCHEMA_NAME = "ztf.alert (parquet)"


def alert_layout(names) -> str | None:
    """``'nested'``, ``'dotted'`` or ``'fink'`` for a Parquet schema's column names."""
    names = set(names)
    if "candidate" in names:
        return "nested"
    if {"candidate.jd", "candidate.fid"} <= names:
        return "dotted"
    if set(FINK_COLUMNS) <= names:
        return "fink"
    return None


def is_alert_parquet(path) -> bool:
    try:
        import pyarrow.parquet as pq

        return alert_layout(pq.read_schema(path).names) is not None
    except Exception:  # not Parquet, or unreadable: not this format
        return False


def _files(p: Path) -> list[Path]:
    if not p.is_dir():
        return [check_file(p)]
    files = sorted(f for f in p.rglob("*") if f.is_file() and is_alert_parquet(f))
    if not files:
        raise DataFormatError("no Parquet alert files", file=p, field="candidate",
                              expected="Parquet with candidate/prv_candidates or cjd/cmagpsf")
    return files


def _prv_from_dotted(row: dict, p: Path) -> list | None:
    keys = [k for k in row if k.startswith("prv_candidates.")]
    if not keys:
        return row.get("prv_candidates")
    cols = {k.split(".", 1)[1]: row[k] for k in keys}
    lens = {len(v) for v in cols.values() if v is not None}
    if len(lens) > 1:
        raise DataFormatError(f"prv_candidates.* lists of different lengths {sorted(lens)}",
                              file=p, field="prv_candidates",
                              expected="one entry per history point in every column")
    n = lens.pop() if lens else 0
    return [{k: (v[i] if v is not None else None) for k, v in cols.items()} for i in range(n)]


def _from_fink(row: dict, p: Path) -> dict:
    cols = {c[1:]: row.get(c) for c in FINK_COLUMNS}
    for c, k in FINK_OPTIONAL.items():
        if row.get(c) is not None:
            cols[k] = row[c]
    if any(v is None for v in cols.values()):
        miss = [f"c{k}" for k, v in cols.items() if v is None]
        raise DataFormatError("empty history column(s) " + ", ".join(miss), file=p,
                              field=miss[0], expected="lists of the history and candidate")
    lens = {len(v) for v in cols.values()}
    if len(lens) != 1 or 0 in lens:
        raise DataFormatError(f"history columns of different lengths {sorted(lens)}", file=p,
                              field="cjd", expected="one entry per point in every c* column")
    n = lens.pop()
    pts = [{k: v[i] for k, v in cols.items()} for i in range(n)]
    for q in pts:  # a history entry with a magnitude is a detection (the Avro gives candid)
        q["candid"] = True if q.get("magpsf") is not None else None
    cand = dict(pts[-1], candid=row.get("candid"))
    for k in ("ra", "dec", "rb", "drb", "programid"):
        if k in row:
            cand[k] = row[k]
    return {"objectId": row.get("objectId"), "candid": row.get("candid"), "candidate": cand,
            "prv_candidates": pts[:-1]}


def _packet(row: dict, layout: str, p: Path) -> dict:
    if layout == "nested":
        return row
    if layout == "fink":
        return _from_fink(row, p)
    cand = {k.split(".", 1)[1]: v for k, v in row.items() if k.startswith("candidate.")}
    rec = {k: v for k, v in row.items() if "." not in k}
    rec["candidate"] = cand
    rec["prv_candidates"] = _prv_from_dotted(row, p)
    return rec


def read_file_packets(path: Path) -> tuple[list[dict], str]:
    """The alert packets of one Parquet file."""
    import pyarrow.parquet as pq

    with wrap_errors(path, field="parquet", expected="a Parquet alert export"):
        schema = pq.read_schema(path)
        layout = alert_layout(schema.names)
        if layout is None:
            raise DataFormatError("no alert columns", file=path, field="candidate",
                                  expected="candidate/prv_candidates, candidate.* or "
                                  + "/".join(FINK_COLUMNS))
        rows = pq.read_table(path).to_pylist()
    if not rows:
        raise DataFormatError("no rows", file=path, field="parquet", expected="one alert or more")
    return [_packet(r, layout, path) for r in rows], SCHEMA_NAME


def read_alert_parquet(path, *, modality: str | None = None, merge: bool = True,
                       limit: int | None = None, strict: bool = False,
                       dataset: str | None = None, progress: Progress = None):
    """A Parquet alert export (or a folder of them) -> light curves, or the cutouts with
    ``modality='image'`` (see :func:`skyfm.data.io.alerts.read_alerts`)."""
    from skyfm.data.io.alerts import assemble

    p = Path(path)
    files = _files(p)
    packets = ((f, *read_file_packets(f)) for f in files)
    return assemble(p, files, packets, modality=modality, merge=merge, limit=limit,
                    strict=strict, dataset=dataset, progress=progress, reader="alert_parquet")


def identify_alert_parquet(path) -> bool:
    """Parquet whose schema is a ZTF alert's (any file name)."""
    from skyfm.data.io.sniff import head

    return head(Path(path), 4) == b"PAR1" and is_alert_parquet(path)


def identify_alert_parquet_folder(path) -> bool:
    from skyfm.data.io.sniff import files_in

    p = Path(path)
    return any(f.lower().endswith((".parquet", ".pq")) and is_alert_parquet(p / f)
               for f in files_in(p))
