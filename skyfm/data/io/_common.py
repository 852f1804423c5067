"""Shared reader machinery: error wrapping, drop accounting and a vectorised long-table
to :class:`LightCurve` builder used by every light-curve reader."""

from __future__ import annotations

import contextlib
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from skyfm.data.observations import LightCurve, ObservationSet, Provenance, ReadReport
from skyfm.errors import DataFormatError, DataNotFoundError, SkyfmError

Progress = Callable[[int], None] | None


class DataQualityWarning(UserWarning):
    """Points or rows were dropped (and counted in ``ObservationSet.report.dropped``)."""


def check_file(path) -> Path:
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"{p}: no such file or directory")
    if not p.is_file():
        raise DataFormatError("is not a regular file", file=p, expected="a file")
    return p


@contextlib.contextmanager
def wrap_errors(path, field: str | None = None, expected: str | None = None) -> Iterator[None]:
    """Turn library exceptions (pandas, pyarrow, astropy, fastavro, zlib, ...) raised on bad
    input into :class:`DataFormatError` naming the file and field."""
    try:
        yield
    except SkyfmError:
        raise
    except MemoryError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, OSError, EOFError, zlib.error,
            AttributeError, UnicodeDecodeError, OverflowError, AssertionError, RuntimeError,
            StopIteration, LookupError, ArithmeticError, NotImplementedError) as exc:
        text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise DataFormatError(f"cannot read ({type(exc).__name__}: {text})", file=path,
                              field=field, expected=expected) from exc
    except Exception as exc:  # third-party parsers raise their own classes (pyarrow, fastavro)
        text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise DataFormatError(f"cannot read ({type(exc).__name__}: {text})", file=path,
                              field=field, expected=expected) from exc


@contextlib.contextmanager
def open_fits(path, field: str | None = "HDU", expected: str | None = "a valid FITS file"):
    """``fits.open`` with astropy's header warnings silenced and every failure, in the open or
    in the caller's body, turned into a :class:`DataFormatError` naming the file and field."""
    from astropy.io import fits

    with wrap_errors(path, field=field, expected=expected), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, memmap=False) as hdul:
            yield hdul


class Dropper:
    """Counts dropped points per reason; raises instead when ``strict``."""

    def __init__(self, report: ReadReport, source, strict: bool = False):
        self.report = report
        self.source = source
        self.strict = strict

    def drop(self, mask: np.ndarray, reason: str, field: str) -> np.ndarray:
        """``mask`` True = bad. Returns the keep mask (``~mask``); raises when strict."""
        n = int(np.count_nonzero(mask))
        if n:
            if self.strict:
                raise DataFormatError(f"{n} row(s) with {reason}", file=self.source, field=field,
                                      expected="finite values (strict=True)")
            seen = self.report.dropped.get(reason, 0)
            self.report.drop(reason, n)
            msg = f"{self.source}: dropped {n} row(s) with {reason} (field '{field}')"
            # the first few per reason go to the report; finish() warns once per reason
            if sum(reason in w for w in self.report.warnings) < 3 or not seen:
                self.report.warnings.append(msg)
        return ~mask


def new_report(*files) -> ReadReport:
    return ReadReport(files=[str(f) for f in files])


def warn_drops(report: ReadReport) -> None:
    """One :class:`DataQualityWarning` per drop reason (the counts are in ``report.dropped``)."""
    for reason, n in sorted(report.dropped.items()):
        where = report.files[0] if len(report.files) == 1 else f"{len(report.files)} files"
        warnings.warn(f"{where}: dropped {n} row(s) with {reason} (see report.dropped)",
                      DataQualityWarning, stacklevel=3)


def finish(items: list, report: ReadReport, warn: bool = True) -> ObservationSet:
    if warn:
        warn_drops(report)
    report.n_objects = len(items)
    pts = 0
    for o in items:
        try:
            pts += len(o)
        except TypeError:
            pass
    report.n_points = pts
    return ObservationSet(items, report)


def to_float(values, source, field: str) -> np.ndarray:
    """Column to float64; non-numeric content raises naming the field."""
    try:
        arr = np.asarray(values, dtype=float)
    except (ValueError, TypeError) as exc:
        raise DataFormatError(f"non-numeric values ({exc})", file=source, field=field,
                              expected="numbers") from exc
    return arr


def build_lightcurves(
    oid, time, value, error, band, *, upper_limit=None, kind: str = "mag",
    flux_unit: str | None = None, source=None, survey: str | None = None, reader: str = "",
    dataset: str | None = None, labels: Mapping[str, Any] | None = None,
    meta: Mapping[str, dict] | None = None, common_meta: dict | None = None,
    report: ReadReport, strict: bool = False, limit: int | None = None,
    require_sorted: bool = False, errors_given: bool = True, progress: Progress = None,
    fields: Mapping[str, str] | None = None, extra: Mapping[str, np.ndarray] | None = None,
    duplicates: str | None = None,
) -> list[LightCurve]:
    """Group long-format arrays (one row per point) into light curves, vectorised.

    Order of objects follows first appearance. Non-finite times, values (and errors of
    detections, when ``errors_given``) are dropped and counted; negative errors raise.
    Repeated (object, band, time) rows are combined as ``duplicates`` says (see
    :func:`combine_duplicates`; default ``'mean'``, ``'error'`` when ``strict``).
    ``require_sorted``: times must not decrease within an
    object as stored (formats that store each curve as an ordered sequence).
    """
    import pandas as pd

    fn = {"time": "time", "value": "value", "error": "error", "band": "band",
          "upper_limit": "upper_limit", "object_id": "object_id"}
    fn.update(fields or {})
    oid = np.asarray(oid)
    n = oid.shape[0]
    time = to_float(time, source, fn["time"])
    value = to_float(value, source, fn["value"])
    error = np.full(n, np.nan) if error is None else to_float(error, source, fn["error"])
    band = (np.asarray(band).astype(str) if np.ndim(band) else np.full(n, str(band))).astype(object)
    ul = np.zeros(n, bool) if upper_limit is None else np.asarray(upper_limit, bool)
    for name, arr in (("time", time), ("value", value), ("error", error), ("band", band),
                      ("upper_limit", ul)):
        if arr.shape != (n,):
            raise DataFormatError(f"has shape {arr.shape} for {n} rows", file=source,
                                  field=fn[name],
                                  expected="one value per row")
    codes, uniq = pd.factorize(oid, sort=False)  # ints factorise much faster than strings
    if np.any(codes < 0):
        raise DataFormatError(f"{int((codes < 0).sum())} row(s) without an object id",
                              file=source, field=fn["object_id"], expected="an id on every row")
    uniq = np.asarray(uniq).astype(str)
    if len(set(uniq)) != len(uniq):  # e.g. 1 and "1" in one column
        codes, uniq = pd.factorize(oid.astype(str), sort=False)
        uniq = np.asarray(uniq)
    rowid = np.arange(n)
    if limit is not None:
        keep = codes < int(limit)
        if not keep.all():
            codes, time, value, error, band, ul, rowid = (a[keep] for a in
                                                          (codes, time, value, error, band, ul,
                                                           rowid))
        uniq = uniq[: int(limit)]
    if require_sorted and codes.size > 1:
        same = (codes[1:] == codes[:-1]) & (band[1:] == band[:-1])
        d = np.diff(time)
        bad = same & (d < 0) & np.isfinite(d)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataFormatError(f"times decrease within object {uniq[codes[i]]} "
                                  f"({time[i]} then {time[i + 1]})", file=source, field=fn["time"],
                                  expected="non-decreasing times within each light curve")
    # negative errors are structural
    neg = np.isfinite(error) & (error < 0)
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise DataFormatError(f"{int(neg.sum())} negative error(s), first in object "
                              f"{uniq[codes[i]]} ({error[i]})", file=source, field=fn["error"],
                              expected="errors >= 0")
    dropper = Dropper(report, source, strict)
    keep = dropper.drop(~np.isfinite(time), "non-finite time", fn["time"])
    keep &= dropper.drop(keep & ~np.isfinite(value), f"non-finite {kind}", fn["value"])
    if errors_given:
        keep &= dropper.drop(keep & ~ul & ~np.isfinite(error), "non-finite error", fn["error"])
    keep &= dropper.drop(keep & ul & np.isinf(error), "infinite error", fn["error"])
    if not keep.all():
        codes, time, value, error, band, ul, rowid = (a[keep] for a in (codes, time, value, error,
                                                                        band, ul, rowid))
    # duplicates: same object, band and time
    codes, time, value, error, band, ul, rowid = combine_duplicates(
        codes, time, value, error, band, ul, rowid, uniq=uniq,
        how=duplicates or ("error" if strict else "mean"), report=report,
        source=source, fields=fn, kind=kind)
    order = np.lexsort((time, codes))
    codes, time, value, error, band, ul, rowid = (a[order] for a in (codes, time, value, error,
                                                                     band, ul, rowid))
    extra_sorted = {k: np.asarray(v)[rowid] for k, v in (extra or {}).items()}
    bounds = np.searchsorted(codes, np.arange(len(uniq) + 1))
    band_obj = band
    prov = Provenance(survey=survey, file=str(source) if source is not None else None,
                      reader=reader, dataset=dataset)
    out = []
    empty = 0
    for k, ident in enumerate(uniq):
        a, b = bounds[k], bounds[k + 1]
        if a == b:
            empty += 1
            continue
        m = dict(common_meta or {})
        if meta is not None and ident in meta:
            m.update(meta[ident])
        for k_, v_ in extra_sorted.items():
            m[k_] = v_[a:b]
        lc = LightCurve(time[a:b], value[a:b], error[a:b], band_obj[a:b], upper_limit=ul[a:b],
                        kind=kind, flux_unit=flux_unit, object_id=ident,
                        label=None if labels is None else labels.get(ident),
                        provenance=prov, meta=m, validate=False)
        out.append(lc)
        if progress is not None and k % 256 == 255:
            progress(256)
    if progress is not None:
        progress(len(uniq) % 256)
    if empty:
        report.drop("objects with no valid points", empty)
    return out


DUPLICATES = ("mean", "first", "error")
MERGED = "a repeated (object, band, time) point (merged into one)"


def combine_duplicates(codes, time, value, error, band, ul, rowid, *, uniq, how: str,
                       report: ReadReport, source=None, fields: Mapping[str, str] | None = None,
                       kind: str = "mag"):
    """Rows repeating an (object, band, time) point, combined into one.

    ``how='mean'``: the inverse-variance mean of the detections (error ``1/sqrt(sum w)``); the
    plain mean (error unknown, NaN) when any of their errors is unknown; upper limits at a
    point with a detection are left out, and a point with only upper limits keeps the most
    constraining one (the faintest magnitude, the smallest flux).
    ``'first'``: the first row in file order. ``'error'``: raise naming the first repeat.
    The number of rows removed is counted in ``report.dropped[MERGED]`` (and warned)."""
    import pandas as pd

    fn = {"time": "time", **(fields or {})}
    if how not in DUPLICATES:
        raise ValueError(f"duplicates={how!r}: expected one of {DUPLICATES}")
    arrays = (codes, time, value, error, band, ul, rowid)
    if codes.size < 2:
        return arrays
    bcodes, bands_u = pd.factorize(band, sort=False)
    order = np.lexsort((rowid, time, bcodes, codes))
    c, b, t = codes[order], bcodes[order], time[order]
    same = (c[1:] == c[:-1]) & (b[1:] == b[:-1]) & (t[1:] == t[:-1])
    if not same.any():
        return arrays
    n_dup = int(same.sum())
    i = int(np.flatnonzero(same)[0])
    first = (f"first: object {uniq[c[i]]} band {bands_u[b[i]]} time {t[i]}")
    if how == "error":
        raise DataFormatError(f"{n_dup} duplicate (band, time) row(s); {first}", file=source,
                              field=fn["time"], expected="one row per object, band and time "
                              "(or duplicates='mean'/'first')")
    group = np.concatenate([[0], np.cumsum(~same)])  # group index per sorted row
    ng = int(group[-1]) + 1
    starts = np.flatnonzero(np.concatenate([[True], ~same]))
    v, e, u_ = value[order], error[order], ul[order]
    keep_rows = order[starts]  # first row of each group (file order within the group)
    new_v = value[keep_rows].copy()
    new_e = error[keep_rows].copy()
    new_u = ul[keep_rows].copy()
    if how == "mean":
        det = ~u_
        has_det = np.bincount(group, weights=det, minlength=ng) > 0
        # groups with a detection: combine the detections only (limits add nothing to them)
        w_ok = det & np.isfinite(e) & (e > 0)
        all_known = np.bincount(group, weights=det & ~w_ok, minlength=ng) == 0
        w = np.where(w_ok, 1.0 / np.where(w_ok, e, 1.0) ** 2, 0.0)
        sw = np.bincount(group, weights=w, minlength=ng)
        swv = np.bincount(group, weights=w * np.where(w_ok, v, 0.0), minlength=ng)
        nd = np.bincount(group, weights=det, minlength=ng)
        sv = np.bincount(group, weights=np.where(det, v, 0.0), minlength=ng)
        ivm = all_known & (sw > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            new_v = np.where(has_det, np.where(ivm, swv / sw, sv / np.maximum(nd, 1)), new_v)
            new_e = np.where(has_det, np.where(ivm, 1.0 / np.sqrt(sw), np.nan), new_e)
        new_u = np.where(has_det, False, new_u)
        lim = (np.maximum if kind == "mag" else np.minimum).reduceat(v, starts)
        lim_at = (np.argmax if kind == "mag" else np.argmin)
        if (~has_det).any():
            for gi in np.flatnonzero(~has_det & (np.bincount(group, minlength=ng) > 1)):
                a = starts[gi]
                z = starts[gi + 1] if gi + 1 < ng else v.size
                new_v[gi] = lim[gi]
                new_e[gi] = e[a + int(lim_at(v[a:z]))]
        multi = np.bincount(group, minlength=ng) > 1
        plain = multi & has_det & ~ivm
        if plain.any():
            report.warnings.append(f"{source}: {int(plain.sum())} repeated point(s) without "
                                   "known errors combined by the plain mean (error unknown)")
    report.drop(MERGED, n_dup)
    report.warnings.append(f"{source}: {n_dup} repeated (object, band, time) row(s) combined "
                           f"({'inverse-variance mean' if how == 'mean' else 'first kept'}); "
                           f"{first}")
    return (codes[keep_rows], time[keep_rows], new_v, new_e, band[keep_rows], new_u.astype(bool),
            rowid[keep_rows])
