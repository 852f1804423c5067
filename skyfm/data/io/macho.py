"""MACHO light curves: ``.mjd`` text files (``MJD Mag Err``) with a ``#`` header line of field,
tile, sequence, RA (hours), Dec (deg) and filter, usually two per ``lc_<id>.tar.bz2`` (B and R).

Magnitudes are MACHO *instrumental* magnitudes (about -9 to -1; ``meta['mag_system']``); one
object becomes one two-band :class:`LightCurve`, ``object_id`` = ``field.tile.seq``.
"""

from __future__ import annotations

import io
import re
import tarfile
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

_NAME = re.compile(r"(?:lc_)?(?P<oid>[\d.]+?)\.(?P<band>[A-Za-z])\.mjd$")


def parse_mjd(text: str, source, member: str):
    """One ``.mjd`` text -> (time, mag, err, header dict)."""
    header = {}
    lines = text.splitlines()
    hdr_names = None
    data_lines = []
    for line in lines:
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            toks = s.lstrip("#").split()
            if toks and toks[0] == "Field":
                hdr_names = toks
            elif hdr_names and len(toks) == len(hdr_names) and not header:
                header = dict(zip(hdr_names, toks))
            continue
        data_lines.append(s)
    field = f"{member}"
    if not data_lines:
        raise DataFormatError("no data rows", file=source, field=field,
                              expected="rows 'MJD Mag Err'")
    try:
        arr = np.loadtxt(io.StringIO("\n".join(data_lines)), ndmin=2)
    except ValueError as exc:
        raise DataFormatError(f"unparsable rows ({exc})", file=source, field=field,
                              expected="three numbers per row: MJD Mag Err") from exc
    if arr.shape[1] != 3:
        raise DataFormatError(f"{arr.shape[1]} columns", file=source, field=field,
                              expected="three columns: MJD Mag Err")
    return arr[:, 0], arr[:, 1], arr[:, 2], header


def _members(p: Path):
    """(member name, text) pairs from a tar.bz2 or a plain .mjd file."""
    if p.name.endswith(".mjd"):
        with wrap_errors(p, expected="a MACHO .mjd text file"):
            return [(p.name, p.read_text())]
    out = []
    with wrap_errors(p, field="archive", expected="a tar.bz2 archive of .mjd files"):
        with tarfile.open(p, "r:*") as tar:
            for m in tar.getmembers():
                if m.isfile() and m.name.endswith(".mjd"):
                    fh = tar.extractfile(m)
                    out.append((Path(m.name).name, fh.read().decode("ascii")))
    if not out:
        raise DataFormatError("archive holds no .mjd files", file=p, field="archive",
                              expected="lc_<field.tile.seq>.<B|R>.mjd members")
    return out


def read_macho(path, *, limit: int | None = None, strict: bool = False,
               dataset: str | None = None, progress: Progress = None):
    """A MACHO ``.tar.bz2``/``.mjd`` file or a folder of them -> light curves."""
    p = Path(path)
    files = (sorted(f for f in p.iterdir() if f.name.endswith((".tar.bz2", ".mjd")))
             if p.is_dir() else [check_file(p)])
    if p.is_dir() and not files:
        raise DataFormatError("no .tar.bz2 or .mjd files", file=p,
                              expected="MACHO lc_*.tar.bz2 archives")
    report = new_report(*files)
    lcs = []
    for f in files:
        if limit is not None and len(lcs) >= limit:
            break
        cols = {k: [] for k in ("oid", "t", "v", "e", "b")}
        meta: dict = {}
        for name, text in _members(f):
            m = _NAME.search(name)
            t, v, e, hdr = parse_mjd(text, f, name)
            band = (hdr.get("Filter") or (m.group("band") if m else "x")).upper()
            oid = (".".join(hdr[k] for k in ("Field", "Tile", "Seq")) if {"Field", "Tile", "Seq"}
                   <= set(hdr) else (m.group("oid") if m else f.name.split(".")[0]))
            cols["oid"].append(np.full(t.size, oid, dtype=object))
            cols["t"].append(t)
            cols["v"].append(v)
            cols["e"].append(e)
            cols["b"].append(np.full(t.size, band, dtype=object))
            try:
                meta.setdefault(oid, {}).update(
                    ra_hour=float(hdr["RA(hour)"]), dec_deg=float(hdr["Dec(deg)"]),
                    **{f"median_mag_{band}": float(hdr["med_Mag"])})
            except (KeyError, ValueError):
                pass
        lcs += build_lightcurves(
            np.concatenate(cols["oid"]), np.concatenate(cols["t"]), np.concatenate(cols["v"]),
            np.concatenate(cols["e"]), np.concatenate(cols["b"]), kind="mag", source=f,
            survey="MACHO", reader="macho", dataset=dataset, meta=meta,
            common_meta={"mag_system": "MACHO instrumental"}, report=report, strict=strict,
            require_sorted=True, fields={"time": "MJD", "value": "Mag", "error": "Err"})
        if progress is not None:
            progress(1)
    return finish(lcs[:limit] if limit is not None else lcs, report)


def identify_macho(path) -> bool:
    """A bzip2 tar of ``.mjd`` files, or one ``.mjd`` file."""
    from skyfm.data.io.sniff import head

    p = Path(path)
    return p.name.lower().endswith((".tar.bz2", ".tbz2", ".mjd")) or head(p, 3) == b"BZh"


def identify_macho_folder(path) -> bool:
    """Only ``.tar.bz2`` archives (and ``.txt`` notes)."""
    from skyfm.data.io.sniff import files_in

    files = files_in(Path(path))
    return bool(files) and any(f.endswith(".tar.bz2") for f in files) and all(
        f.endswith((".tar.bz2", ".txt")) for f in files)
