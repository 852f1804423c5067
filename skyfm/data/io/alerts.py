"""Alert packets in Avro (fastavro): ZTF (``ztf.alert``), LSST (``lsst.v*.alert``) and DECam
DECAT (``decat.object``).

Each packet gives one :class:`LightCurve` (the default) or, with ``modality='image'``, one
:class:`Image` of its cutouts:

* ZTF: ``candidate`` + ``prv_candidates``. Detections are difference-image PSF magnitudes
  (``magpsf``/``sigmapsf``), history entries without a ``candid`` are non-detections whose
  5-sigma ``diffmaglim`` becomes an ``upper_limit`` point; ``jd`` -> MJD; ``fid`` 1/2/3 ->
  g/r/i; ``meta['isdiffpos']`` keeps the per-point sign flag (False: negative difference).
* LSST: ``diaSource`` + ``prvDiaSources`` (+ ``prvDiaForcedSources``) ``psfFlux``/
  ``psfFluxErr`` in nJy at ``midpointMjdTai`` (``midPointTai``/``psFlux`` in old schemas),
  ``prvDiaNondetectionLimits`` as upper limits.
* DECAT: ``sources`` (mag/magerr/mjd, band = first word of ``filter``).

Cutouts (gzipped FITS bytes: science, template, difference) become one 3-plane Image with
bands ``science, template, difference`` (NaN-padded to a common shape, ``mask`` where padded;
no-data fill pixels, ``|value| >= 1e30``, become NaN and masked, with a warning in the report).
Each Image keeps the alert's ``objectId`` as ``object_id`` and ``candid``, ``ra``, ``dec``,
``rb``/``drb`` (ZTF's real-bogus scores) in ``meta``; ``skyfm discover run DIR --modality
image`` ranks a folder of alerts by their cutouts.

Reading a folder merges packets of the same object and schema (``merge=True``; an object
met in two schema versions gets ids ``<id>@<version>``): the union of their points, the latest
packet's version of a repeated point, and the latest packet's cutouts.
Within a packet, repeated (band, time) points (the same exposure listed twice, or a
non-detection at a detection's time) keep the detection / current source and the others are
counted in ``report.dropped`` (``strict=True`` raises).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from skyfm.data.io._common import (
    Dropper,
    Progress,
    build_lightcurves,
    check_file,
    finish,
    new_report,
    wrap_errors,
)
from skyfm.data.observations import Image, Provenance
from skyfm.errors import DataFormatError

ZTF_BANDS = {1: "g", 2: "r", 3: "i"}
JD_TO_MJD = 2400000.5
CUTOUTS = ("science", "template", "difference")
#: cutout pixels at or beyond this magnitude are no-data fill (ZTF writes -3.4e38, the float32
#: extreme, where a template has no coverage); no detector counts come near it
FILL_ABS = 1e30


class _BoundedFile:
    """A read-only file wrapper that refuses any read longer than what is left in the file.

    A truncated or garbled Avro container can claim a block of terabytes (a 19-byte tail on a
    real alert is enough); fastavro would ask the OS for that much memory before noticing.
    Every ``read(n)`` is checked against the bytes that remain, so the claim is refused with a
    :class:`DataFormatError` naming the file instead.
    """

    def __init__(self, fh, path: Path):
        self._fh = fh
        self._path = path
        self._size = path.stat().st_size

    def read(self, n: int = -1) -> bytes:
        left = self._size - self._fh.tell()
        # short reads (varints, the 16-byte sync marker, the probe for the end of the file)
        # may run past the end: fastavro reports those itself
        if n is not None and n > max(left, 16):
            raise DataFormatError(f"a block claims {n} bytes at offset {self._fh.tell()} but "
                                  f"only {left} remain in the file (truncated or corrupt)",
                                  file=self._path, field="avro block",
                                  expected="block sizes that fit in the file")
        return self._fh.read(n)

    def seek(self, *args):
        return self._fh.seek(*args)

    def tell(self) -> int:
        return self._fh.tell()


def is_avro(path) -> bool:
    """An Avro object container file, whatever its name (magic bytes ``Obj\\x01``)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"Obj\x01"
    except OSError:
        return False


def avro_files(folder: Path) -> list[Path]:
    """The Avro files under ``folder`` (recursively): ``*.avro`` and any file that starts with
    the Avro magic bytes."""
    return sorted(f for f in folder.rglob("*") if f.is_file() and not f.name.startswith(".")
                  and (f.suffix == ".avro" or is_avro(f)))


def read_packets(path) -> tuple[list[dict], str]:
    """All records of one Avro file and the writer schema's name (errors wrapped).

    No read may claim more bytes than the file has left (see :class:`_BoundedFile`)."""
    import fastavro

    p = check_file(path)
    with wrap_errors(p, field="avro", expected="an Avro object container file"):
        with open(p, "rb") as raw:
            if raw.read(4) != b"Obj\x01":
                raise DataFormatError("no Avro magic bytes 'Obj\\x01'", file=p, field="avro",
                                      expected="an Avro object container file")
            raw.seek(0)
            reader = fastavro.reader(_BoundedFile(raw, p))
            recs = list(reader)
            schema = (reader.writer_schema or {}).get("name", "") if isinstance(
                reader.writer_schema, dict) else ""
    if not recs:
        raise DataFormatError("no records", file=p, field="avro", expected="one alert or more")
    for r in recs:
        if not isinstance(r, dict):
            raise DataFormatError("record is not a mapping", file=p, field="avro",
                                  expected="alert records")
    return recs, str(schema)


def _points_ztf(rec, p):
    cand = rec.get("candidate")
    if not isinstance(cand, dict):
        raise DataFormatError("no candidate", file=p, field="candidate",
                              expected="a ZTF alert with a candidate record")
    rows = [(cand, 2)] + [(x, 1 if x.get("candid") is not None else 0)
                          for x in (rec.get("prv_candidates") or [])]
    out = []
    for r, prio in rows:
        for k in ("jd", "fid"):
            if r.get(k) is None:
                raise DataFormatError(f"missing {k}", file=p, field=f"candidate.{k}",
                                      expected="jd and fid on every candidate")
        if r["fid"] not in ZTF_BANDS:
            raise DataFormatError(f"unknown fid {r['fid']!r}", file=p, field="fid",
                                  expected="1, 2 or 3")
        det = prio > 0
        val = r.get("magpsf") if det else r.get("diffmaglim")
        err = r.get("sigmapsf") if det else None
        out.append((float(r["jd"]) - JD_TO_MJD, ZTF_BANDS[r["fid"]],
                    np.nan if val is None else float(val), np.nan if err is None else float(err),
                    not det, prio, r.get("isdiffpos") not in ("f", "0", 0, False)))
    meta = {"candid": rec.get("candid"), "ra": cand.get("ra"), "dec": cand.get("dec"),
            "rb": cand.get("rb"), "drb": cand.get("drb"), "programid": cand.get("programid")}
    return str(rec.get("objectId")), out, "mag", None, "ZTF", meta


def _points_lsst(rec, p):
    src = rec.get("diaSource")
    if not isinstance(src, dict):
        raise DataFormatError("no diaSource", file=p, field="diaSource",
                              expected="an LSST alert with a diaSource record")
    obj = rec.get("diaObject") or {}
    oid = obj.get("diaObjectId") or src.get("diaObjectId") or src.get("diaSourceId")

    def g(r, *keys):
        for k in keys:
            if r.get(k) is not None:
                return r[k]
        return None

    out = []
    groups = [([src], 3, False), (rec.get("prvDiaSources") or [], 2, False),
              (rec.get("prvDiaForcedSources") or [], 1, False)]
    for rows, prio, _ in groups:
        for r in rows:
            t = g(r, "midpointMjdTai", "midPointTai")
            b = g(r, "band", "filterName")
            if t is None or b is None:
                raise DataFormatError("missing time or band", file=p, field="midpointMjdTai",
                                      expected="midpointMjdTai and band on every source")
            f = g(r, "psfFlux", "psFlux")
            e = g(r, "psfFluxErr", "psFluxErr")
            out.append((float(t), str(b), np.nan if f is None else float(f),
                        np.nan if e is None else float(e), False, prio, True))
    for r in rec.get("prvDiaNondetectionLimits") or []:
        t = g(r, "midpointMjdTai", "midPointTai")
        b = g(r, "band", "filterName")
        f = g(r, "diaNoise")
        if t is None or b is None:  # a malformed record, not a measurement to drop quietly
            raise DataFormatError("a non-detection limit has no time or band", file=p,
                                  field="prvDiaNondetectionLimits",
                                  expected="midpointMjdTai and band on every limit")
        out.append((float(t), str(b), np.nan if f is None else 5 * float(f), np.nan, True, 0,
                    True))
    meta = {"diaSourceId": src.get("diaSourceId"), "ra": src.get("ra"), "dec": src.get("dec")}
    return str(oid), out, "flux", "nJy", "LSST", meta


def _points_decat(rec, p):
    out = []
    for r in rec.get("sources") or []:
        if r.get("mjd") is None or r.get("filter") is None:
            raise DataFormatError("missing mjd or filter", file=p, field="sources",
                                  expected="mjd and filter on every source")
        out.append((float(r["mjd"]), str(r["filter"]).split()[0],
                    np.nan if r.get("mag") is None else float(r["mag"]),
                    np.nan if r.get("magerr") is None else float(r["magerr"]), False, 1, True))
    meta = {"ra": rec.get("ra"), "dec": rec.get("dec")}
    return str(rec.get("objectid")), out, "mag", None, "DECam DECAT", meta


def _cutouts(rec, p):
    from skyfm.data.io.images import image_from_bytes

    keys = {"ztf": ("cutoutScience", "cutoutTemplate", "cutoutDifference")}
    raw = []
    if "triggersource" in rec:
        ts = rec.get("triggersource") or {}
        raw = [ts.get("scicutout"), ts.get("refcutout"), ts.get("diffcutout")]
    else:
        for k in keys["ztf"]:
            v = rec.get(k)
            if isinstance(v, dict):
                v = v.get("stampData")
            raw.append(v)
    if all(v is None for v in raw):
        return None, None, []
    planes, wcs_header, notes = [], None, []
    for name, v in zip(CUTOUTS, raw):
        if v is None:
            planes.append(None)
            continue
        if not isinstance(v, (bytes, bytearray)):
            raise DataFormatError("cutout is not bytes", file=p, field=f"cutout.{name}",
                                  expected="gzipped FITS bytes")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr, hdr = image_from_bytes(bytes(v), p, f"cutout.{name}")
        fill = np.isfinite(arr) & (np.abs(arr) >= FILL_ABS)
        if fill.any():  # no-data pixels written as the float32 extreme: missing, not flux
            notes.append(f"{int(fill.sum())} pixel(s) of cutout.{name} hold the fill value "
                         f"{float(arr[fill][0]):.3g} (no data): set to NaN and masked")
            arr = np.where(fill, np.float32(np.nan), arr)
        planes.append(arr)
        if name == "science":
            wcs_header = hdr
    shape = tuple(np.max([a.shape for a in planes if a is not None], axis=0))
    data = np.full((3, *shape), np.nan, np.float32)
    for i, a in enumerate(planes):
        if a is not None:
            data[i, : a.shape[0], : a.shape[1]] = a
    return data, wcs_header, notes


def _wcs(header):
    if header is None or not header.get("CTYPE1"):
        return None
    from astropy.wcs import WCS

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = WCS(header, naxis=2)
        return w if w.has_celestial else None
    except Exception:
        return None


def _parse(rec, p):
    name = ""
    if "candidate" in rec:
        return _points_ztf(rec, p)
    if "diaSource" in rec:
        return _points_lsst(rec, p)
    if "sources" in rec and "objectid" in rec:
        return _points_decat(rec, p)
    raise DataFormatError(f"unknown alert schema (keys {sorted(rec)[:8]}){name}", file=p,
                          field="schema", expected="a ZTF, LSST or DECAT alert packet")


MODALITIES = ("lightcurve", "image")


def read_alerts(path, *, modality: str | None = None, merge: bool = True,
                limit: int | None = None, strict: bool = False, dataset: str | None = None,
                progress: Progress = None):
    """An Avro alert file or a folder of them (searched recursively) -> light curves, or the
    cutouts with ``modality='image'``.

    Light curves are the default (what a broker's alert stream is about); the report then
    says how many cutout triplets were left unread. Each call returns one modality, so object
    ids stay unique (a light curve and its cutouts share the ``objectId``).
    """
    p = Path(path)
    files = avro_files(p) if p.is_dir() else [check_file(p)]
    if not files:
        raise DataFormatError("no .avro files", file=p, expected="Avro alert packets")
    return assemble(p, files, ((f, *read_packets(f)) for f in files), modality=modality,
                    merge=merge, limit=limit, strict=strict, dataset=dataset, progress=progress)


def assemble(p: Path, files, packets, *, modality: str | None, merge: bool, limit, strict: bool,
             dataset, progress: Progress, reader: str = "alerts"):
    """Light curves (or cutout images) from ``packets``: ``(file, records, schema name)``
    triples in file order; shared by the Avro and the Parquet alert readers."""
    if modality not in (None, *MODALITIES):
        raise DataFormatError(f"alerts hold light curves and cutout images, not {modality!r}",
                              file=p, field="modality", expected="'lightcurve' or 'image'")
    want_images = modality == "image"
    images = want_images
    report = new_report(*files)
    per_obj: dict = {}  # oid -> {"points": {(band, t): row}, "kind", ...}
    order: list = []
    for f, recs, schema in packets:
        for rec in recs:
            oid, pts, kind, unit, survey, meta = _parse(rec, f)
            if not pts:
                report.warnings.append(f"{f}: packet of {oid} has no photometry")
            # duplicates inside one packet: keep the highest priority
            best: dict = {}
            dropped = 0
            for row in pts:
                k = (row[1], row[0])
                if k in best:
                    dropped += 1
                    if row[5] > best[k][5]:
                        best[k] = row
                else:
                    best[k] = row
            if dropped and not want_images:  # points are not what an image read returns
                Dropper(report, f, strict).drop(np.ones(dropped, bool),
                                                "duplicate (band, time) in an alert", "time")
            key = (schema, oid) if merge else (schema, oid, len(order))
            if key not in per_obj:
                if limit is not None and len(order) >= limit:
                    continue
                per_obj[key] = {"oid": oid, "schema": schema, "points": {}, "kind": kind,
                                "unit": unit,
                                "survey": survey, "meta": {}, "n_alerts": 0, "file": f}
                order.append(key)
            entry = per_obj[key]
            if entry["kind"] != kind:
                raise DataFormatError(f"object {oid} mixes {entry['kind']} and {kind}", file=f,
                                      field="schema", expected="one survey per object id")
            entry["points"].update(best)  # a later packet's version of a point wins
            entry["meta"] = {k: v for k, v in meta.items() if v is not None}
            entry["n_alerts"] += 1
            entry["file"] = f
            if images:
                entry["cutouts"] = _cutouts(rec, f)
            else:
                entry["has_cutouts"] = entry.get("has_cutouts", False) or _has_cutouts(rec)
        if progress is not None:
            progress(1)
    lcs, imgs = [], []
    schemas: dict = {}
    for key in order:
        schemas.setdefault(per_obj[key]["oid"], set()).add(per_obj[key]["schema"])
    for key in order:
        e = per_obj[key]
        if merge and len(schemas[e["oid"]]) > 1:  # one object in two schema versions
            version = e["schema"].split(".")[1] if "." in e["schema"] else e["schema"]
            e["oid"] = f"{e['oid']}@{version}"
        cut = e.get("cutouts")
        if images and cut is not None and cut[0] is not None:
            data, hdr, notes = cut
            report.warnings += [f"{e['file']}: object {e['oid']}: {n}" for n in notes]
            mask = ~np.isfinite(data)
            imgs.append(Image(data, list(CUTOUTS), wcs=_wcs(hdr), mask=mask if mask.any() else None,
                              pixel_scale=1.012 if e["survey"] == "ZTF" else None,
                              object_id=e["oid"],
                              provenance=Provenance(survey=e["survey"], file=str(e["file"]),
                                                    reader=reader, dataset=dataset),
                              meta={"kind": "alert cutouts", **e["meta"]}))
        rows = list(e["points"].values())
        if not rows or want_images:
            continue
        t, b, v, err, ul, _, pos = (np.array(c) for c in zip(*rows))
        meta = dict(e["meta"], n_alerts=e["n_alerts"], alert_file=str(e["file"]))
        if e["kind"] == "mag":
            meta["mag_type"] = "difference-image PSF magnitude"
        if np.nanmax(t) > 1e6:
            report.warnings.append(f"{e['file']}: object {e['oid']}: times up to "
                                   f"{np.nanmax(t):.4g} are not plausible MJDs (kept as given)")
        lcs += build_lightcurves(
            np.full(t.size, e["oid"], dtype=object), t, v, err, b, upper_limit=ul,
            kind=e["kind"], flux_unit=e["unit"], source=e["file"], survey=e["survey"],
            reader=reader, dataset=dataset, meta={e["oid"]: meta}, report=report,
            strict=strict, extra={"isdiffpos": pos.astype(bool)} if e["kind"] == "mag" else None,
            errors_given=True)
    if want_images:
        if not imgs:
            raise DataFormatError("no alert has cutouts", file=p, field="cutoutScience",
                                  expected="alert packets with cutout stamps")
        no_cut = [per_obj[k]["oid"] for k in order
                  if per_obj[k].get("cutouts") is None or per_obj[k]["cutouts"][0] is None]
        if no_cut:
            report.warnings.append(f"{len(no_cut)} object(s) have no cutouts and are not "
                                   f"read as images: {', '.join(no_cut[:5])}")
        out = finish(imgs, report)
        out.report.n_points = 0
        return out
    n_cut = sum(bool(per_obj[k].get("has_cutouts")) for k in order)
    if n_cut:
        report.warnings.append(f"ignored the cutout images of {n_cut} object(s) (science, "
                               "template, difference); read them with modality='image'")
    out = finish(lcs, report)
    out.report.n_points = sum(len(lc) for lc in lcs)
    return out


def _has_cutouts(rec) -> bool:
    if "triggersource" in rec:
        ts = rec.get("triggersource") or {}
        return any(ts.get(k) is not None for k in ("scicutout", "refcutout", "diffcutout"))
    return any(rec.get(k) is not None
               for k in ("cutoutScience", "cutoutTemplate", "cutoutDifference"))


def identify_alerts(path) -> bool:
    """An Avro container (``Obj\\x01``) or a ``.avro`` file."""
    from skyfm.data.io.sniff import head

    p = Path(path)
    return head(p, 4) == b"Obj\x01" or p.name.lower().endswith(".avro")


def identify_alerts_folder(path) -> bool:
    """A folder of Avro alerts (also in sub-folders, or Avro content under other names)."""
    from skyfm.data.io.sniff import files_in, head

    p = Path(path)
    files = files_in(p)
    return (any(f.endswith(".avro") for f in files) or any(p.rglob("*.avro"))
            or any((p / f).is_file() and head(p / f, 4) == b"Obj\x01" for f in files))
