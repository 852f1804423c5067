"""ALeRCE ZTF light curves: detections (``*_detections*.csv``: objectId, fid, mjd, magpsf,
sigmapsf, magpsf_corr, ...) + non-detections (``*_non_detections.csv``: objectId, jd, fid,
diffmaglim) + labels (``*_labels.csv``: objectId, classALeRCE).

Bands: fid 1, 2, 3 -> ``g``, ``r``, ``i``. Values are difference-image PSF magnitudes
(``magpsf``, complete, on the same scale as the 5-sigma limits ``diffmaglim``, which become
``upper_limit=True`` points with NaN error); ``corrected=True`` uses ALeRCE's apparent
magnitudes ``magpsf_corr`` instead and drops (and counts) detections without one.

The real detection table repeats 11 exposures with two candids each (the same ``pid``
processed twice, magnitudes equal to ~0.02 mag): the one with the larger candid is kept and
the others are counted in ``report.dropped['duplicate candid (same exposure)']``; three
non-detections share the exposure of a detection and are dropped and counted too (with
``strict=True`` both raise).

``100_objects_features.csv`` (ALeRCE features, 9-class labels) reads as a :class:`Catalog`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skyfm.data.io._checks import numeric, require_rows, unique_columns
from skyfm.data.io._common import Dropper, Progress, build_lightcurves, finish, new_report
from skyfm.data.io.table import read_table_file
from skyfm.data.observations import Catalog, Provenance
from skyfm.errors import DataFormatError

FID_BANDS = {1: "g", 2: "r", 3: "i"}
JD_TO_MJD = 2400000.5


def _need(df, cols, path, what):
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataFormatError("missing column(s) " + ", ".join(missing), file=path,
                              field=missing[0], expected=f"{what} columns " + ", ".join(cols))


def _bands(fid, path):
    fid = np.asarray(fid)
    if fid.dtype == bool:
        raise DataFormatError("boolean values", file=path, field="fid",
                              expected="1 (g), 2 (r) or 3 (i)")
    ok = np.isin(fid, list(FID_BANDS))
    if not ok.all():
        raise DataFormatError(f"unknown fid {fid[~ok][0]!r}", file=path, field="fid",
                              expected="1 (g), 2 (r) or 3 (i)")
    return np.array(["", "g", "r", "i"], dtype=object)[fid.astype(int)]


def _table(path):
    unique_columns(path)
    return read_table_file(path)


def _files(path):
    p = Path(path)
    if p.is_file():
        d = p.parent
        det = p
    else:
        d = p
        cands = sorted(d.glob("*_detections*.csv"))
        if not cands:
            raise DataFormatError("no detections CSV", file=d, field=None,
                                  expected="a *_detections*.csv file")
        det = cands[0]
    prefix = det.name.split("_detections")[0]
    non = d / f"{prefix}_non_detections.csv"
    lab = d / f"{prefix}_labels.csv"
    return det, (non if non.exists() else None), (lab if lab.exists() else None)


def read_alerce(path, *, corrected: bool = False, limit: int | None = None,
                strict: bool = False, dataset: str | None = None, progress: Progress = None):
    """ALeRCE detections (+ non-detections as upper limits, + labels) -> light curves."""

    p = Path(path)
    if p.is_file() and "features" in p.name:
        return read_alerce_features(p, dataset=dataset, limit=limit)
    det_path, non_path, lab_path = _files(p)
    report = new_report(*[f for f in (det_path, non_path, lab_path) if f])
    det = _table(det_path)
    vcol, ecol = ("magpsf_corr", "sigmapsf_corr") if corrected else ("magpsf", "sigmapsf")
    _need(det, ["objectId", "fid", "mjd", vcol, ecol], det_path, "detections")
    require_rows(det, det_path, "detection")
    for c in ("mjd", vcol, ecol):  # checked before anything reads them as numbers
        det[c] = numeric(det, c, det_path)
    dropper = Dropper(report, det_path, strict)
    if "pid" in det.columns and "candid" in det.columns:
        det = det.sort_values(["objectId", "fid", "pid", "candid"])
        dup = det.duplicated(["objectId", "fid", "pid"], keep="last").to_numpy()
        keep = dropper.drop(dup, "duplicate candid (same exposure)", "candid")
        det = det[keep]
    if corrected:
        keep = dropper.drop(det[vcol].isna().to_numpy(), "detections without magpsf_corr",
                            vcol)
        det = det[keep]
    oid = [det["objectId"].to_numpy()]
    t = [det["mjd"].to_numpy(float)]
    v = [det[vcol].to_numpy(float)]
    e = [det[ecol].to_numpy(float)]
    b = [_bands(det["fid"], det_path)]
    ul = [np.zeros(len(det), bool)]
    if non_path is not None:
        non = _table(non_path)
        _need(non, ["objectId", "fid", "diffmaglim"], non_path, "non-detections")
        if len(non) == 0:
            report.warnings.append(f"{non_path}: the non-detections table has no rows (no "
                                   "upper limits read)")
        non["diffmaglim"] = numeric(non, "diffmaglim", non_path)
        if "mjd" in non.columns:
            tn = numeric(non, "mjd", non_path)
        elif "jd" in non.columns:
            tn = numeric(non, "jd", non_path) - JD_TO_MJD
        else:
            raise DataFormatError("no time column", file=non_path, field="jd",
                                  expected="jd or mjd")
        # three real non-detections share the exposure (pid) of a detection: the detection wins
        if "pid" in non.columns and "pid" in det.columns:
            key_d = set(zip(det["objectId"], det["fid"], det["pid"]))
            clash = np.array([k in key_d for k in zip(non["objectId"], non["fid"], non["pid"])],
                             bool)
        else:
            key_d = set(zip(det["objectId"], det["fid"], det["mjd"].round(6)))
            clash = np.array([k in key_d for k in zip(non["objectId"], non["fid"],
                                                      np.round(tn, 6))], bool)
        keep = Dropper(report, non_path, strict).drop(
            clash, "non-detection in an exposure with a detection", "pid")
        non, tn = non[keep], tn[keep]
        oid.append(non["objectId"].to_numpy())
        t.append(tn)
        v.append(non["diffmaglim"].to_numpy(float))
        e.append(np.full(len(non), np.nan))
        b.append(_bands(non["fid"], non_path))
        ul.append(np.ones(len(non), bool))
    labels = None
    if lab_path is not None:
        lab = _table(lab_path)
        _need(lab, ["objectId", "classALeRCE"], lab_path, "labels")
        labels = dict(zip(lab["objectId"].astype(str), lab["classALeRCE"]))
    lcs = build_lightcurves(
        np.concatenate(oid), np.concatenate(t), np.concatenate(v), np.concatenate(e),
        np.concatenate(b), upper_limit=np.concatenate(ul), kind="mag", source=det_path,
        survey="ZTF", reader="alerce", dataset=dataset, labels=labels,
        common_meta={"mag_type": vcol}, report=report, strict=strict, limit=limit,
        progress=progress, fields={"time": "mjd", "value": vcol, "error": ecol, "band": "fid",
                                   "object_id": "objectId"})
    return finish(lcs, report)


def read_alerce_features(path, *, dataset=None, limit=None):
    """``100_objects_features.csv`` (+ ``100_objects_labels.csv``) -> one :class:`Catalog`."""
    p = Path(path)
    df = _table(p)
    _need(df, ["objectId"], p, "features")
    require_rows(df, p, "object")
    lab_path = p.with_name(p.name.replace("features", "labels"))
    label_col = None
    if lab_path.exists():
        lab = _table(lab_path)
        _need(lab, ["objectId", "classALeRCE"], lab_path, "labels")
        df = df.merge(lab, on="objectId", how="left")
        label_col = "classALeRCE"
    if limit is not None:
        df = df.iloc[:limit]
    report = new_report(p, *([lab_path] if label_col else []))
    cat = Catalog(df, id_column="objectId", label_column=label_col,
                  provenance=Provenance(survey="ZTF", file=str(p), reader="alerce_features",
                                        dataset=dataset))
    cat.object_id = p.name
    out = finish([cat], report)
    out.report.n_points = len(df)
    return out


_ALERCE_FILE = r"_detections(_corr)?\.csv$|_objects_features\.csv$"


def identify_alerce(path) -> bool:
    """ALeRCE's example CSVs (``*_detections[_corr].csv``, ``*_objects_features.csv``)."""
    import re

    from skyfm.data.io.sniff import table_kind

    p = Path(path)
    return bool(re.search(_ALERCE_FILE, p.name)) and table_kind(p) == "table"


def identify_alerce_folder(path) -> bool:
    import re

    from skyfm.data.io.sniff import files_in

    return any(re.search(r"_detections(_corr)?\.csv$", f) for f in files_in(Path(path)))
