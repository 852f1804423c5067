"""Small synthetic files in the real formats (no shared data needed)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd


def write_eros(dirpath: Path, n: int = 3, seed: int = 0, override: dict | None = None) -> Path:
    """A tiny RAMP/EROS directory: train.csv + train_varlength_features.csv.gz."""
    rng = np.random.default_rng(seed)
    dirpath.mkdir(parents=True, exist_ok=True)
    rows, lab = [], []
    for i in range(n):
        rec = {"": f"{100 + i}_{i}"}
        for b in "br":
            k = 5 + i
            t = np.round(np.sort(rng.uniform(290, 1200, k)), 2)
            t = np.unique(t)
            rec[f"time_points_{b}"] = str(t.tolist())
            rec[f"light_points_{b}"] = str(np.round(rng.normal(18, 0.3, t.size), 2).tolist())
            rec[f"error_points_{b}"] = str(np.round(rng.uniform(0.05, 0.2, t.size), 2).tolist())
            rec[f"bkg_points_{b}"] = str([0.0] * t.size)
            rec[f"polltn_points_{b}"] = str([0.0] * t.size)
        rec.update((override or {}).get(i, {}))
        rows.append(rec)
        lab.append({"": rec[""], "period": 2.0 * (i + 1), "div_period": 2.0,
                    "type": float(i % 4 + 1), "quality": 1.0})
    df = pd.DataFrame(rows).set_index("")
    df.index.name = None
    with gzip.open(dirpath / "train_varlength_features.csv.gz", "wt") as fh:
        df.to_csv(fh)
    lf = pd.DataFrame(lab).set_index("")
    lf.index.name = "Unnamed: 0"
    lf.to_csv(dirpath / "train.csv")
    return dirpath


def write_plasticc(d: Path, n_obj: int = 3, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True, exist_ok=True)
    rows = []
    for k in range(n_obj):
        for j in range(12):
            rows.append({"object_id": 100 + k, "mjd": 59000.0 + j * 1.5, "passband": j % 6,
                         "flux": float(rng.normal(10, 5)), "flux_err": 1.0,
                         "detected_bool": int(j % 2)})
    pd.DataFrame(rows).to_parquet(d / "plasticc_train_lightcurves.parquet")
    pd.DataFrame({"object_id": [100 + k for k in range(n_obj)],
                  "target": [90, 42, 6][:n_obj] + [99] * max(0, n_obj - 3),
                  "true_z": np.linspace(0.1, 0.3, n_obj)}).to_parquet(
        d / "plasticc_train_metadata.parquet")
    return d


def write_alerce(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"objectId": ["ZTFa", "ZTFa", "ZTFa", "ZTFb"], "fid": [1, 2, 1, 2],
                  "mjd": [59000.0, 59000.1, 59001.0, 59002.0],
                  "magpsf": [18.0, 18.5, 17.9, 19.0], "sigmapsf": [0.1, 0.1, 0.1, 0.2],
                  "magpsf_corr": [18.1, np.nan, 18.0, 19.1],
                  "sigmapsf_corr": [0.1, np.nan, 0.1, 0.2],
                  "pid": [1, 2, 3, 4], "candid": [11, 12, 13, 14]}).to_csv(
        d / "x_detections.csv", index=False)
    pd.DataFrame({"objectId": ["ZTFa", "ZTFb"], "jd": [2458999.5,
                                                  2459000.6],
                  "fid": [1, 2], "diffmaglim": [20.0, 20.5], "pid": [9, 10]}).to_csv(
        d / "x_non_detections.csv", index=False)
    pd.DataFrame({"objectId": ["ZTFa", "ZTFb"], "classALeRCE": ["SNIa", "SNII"]}).to_csv(
        d / "x_labels.csv", index=False)
    return d


def write_macho(d: Path, oid: str = "1.2.3", n: int = 20, bands=("B", "R")) -> Path:
    import io
    import tarfile

    d.mkdir(parents=True, exist_ok=True)
    path = d / f"lc_{oid}.tar.bz2"
    with tarfile.open(path, "w:bz2") as tar:
        for b in bands:
            t = 48800.0 + np.arange(n) * 1.3
            text = ("#Field Tile Seq RA(hour) Dec(deg) Filter mean_Mag med_Mag mean_(B-R) "
                    "med_(B-R)\n"
                    f"#{' '.join(oid.split('.'))} 5.0 -69.0 {b} -6.0 -6.0 -0.3 -0.3\n#MJD Mag Err\n"
                    + "\n".join(f"{x:.6f} {-6 + 0.01 * i:.3f} 0.05" for i, x in enumerate(t)))
            data = text.encode()
            info = tarfile.TarInfo(f"lc_{oid}.{b}.mjd")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _stamp(size: int = 8, seed: int = 0) -> bytes:
    import io

    from astropy.io import fits

    buf = io.BytesIO()
    fits.PrimaryHDU(np.random.default_rng(seed).normal(size=(size, size)).astype(np.float32)
                    ).writeto(buf)
    return gzip.compress(buf.getvalue())


ZTF_SCHEMA = {
    "type": "record", "name": "alert", "namespace": "ztf", "fields": [
        {"name": "objectId", "type": "string"}, {"name": "candid", "type": "long"},
        {"name": "candidate", "type": {"type": "record", "name": "candidate", "fields": [
            {"name": "jd", "type": "double"}, {"name": "fid", "type": "int"},
            {"name": "candid", "type": ["null", "long"]},
            {"name": "magpsf", "type": ["null", "float"]},
            {"name": "sigmapsf", "type": ["null", "float"]},
            {"name": "diffmaglim", "type": ["null", "float"]},
            {"name": "isdiffpos", "type": ["null", "string"]},
            {"name": "ra", "type": "double"}, {"name": "dec", "type": "double"}]}},
        {"name": "prv_candidates", "type": ["null", {"type": "array", "items": "candidate"}]},
        {"name": "cutoutScience", "type": ["null", {"type": "record", "name": "cutout",
                                                    "fields": [
            {"name": "fileName", "type": "string"}, {"name": "stampData", "type": "bytes"}]}]},
        {"name": "cutoutTemplate", "type": ["null", "cutout"]},
        {"name": "cutoutDifference", "type": ["null", "cutout"]},
    ]}


def ztf_alert(oid="ZTF21aaaaaaa", jd=2459000.5, n_prv=3, cutouts=True) -> dict:
    def cand(t, fid, det):
        return {"jd": t, "fid": fid, "candid": 1000 + int(t * 10) if det else None,
                "magpsf": 18.0 if det else None, "sigmapsf": 0.1 if det else None,
                "diffmaglim": 20.0, "isdiffpos": "t" if det else None, "ra": 10.0, "dec": 20.0}
    prv = [cand(jd - 1 - k, 1 + k % 2, k % 2 == 0) for k in range(n_prv)]
    stamp = {"fileName": "x", "stampData": _stamp()} if cutouts else None
    return {"objectId": oid, "candid": 1, "candidate": cand(jd, 1, True), "prv_candidates": prv,
            "cutoutScience": stamp, "cutoutTemplate": stamp, "cutoutDifference": stamp}


def write_avro(path: Path, records: list, schema=ZTF_SCHEMA) -> Path:
    import fastavro

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fastavro.writer(fh, fastavro.parse_schema(schema), records)
    return path


def write_spex(d: Path, layout: str = "3xN", n: int = 50) -> Path:
    from astropy.io import fits

    (d / "spectra").mkdir(parents=True, exist_ok=True)
    w = np.linspace(0.65, 2.55, n)
    f = np.exp(-((w - 1.3) ** 2))
    e = np.full(n, 0.01)
    arr = {"3xN": np.array([w, f, e]), "Nx3": np.array([w, f, e]).T,
           "4xN": np.array([w, f, e, np.zeros(n)]), "2xN": np.array([w, f]),
           "2x3xN": np.array([[w, f, e], [w, f * 0.5, e]])}[layout]
    hdr = fits.Header()
    hdr["XUNITS"] = "um"
    hdr["YUNITS"] = "ergss-1cm-2A-1"
    path = d / "spectra" / "10001_20001.fits.gz"
    fits.PrimaryHDU(arr.astype(np.float32), header=hdr).writeto(path, overwrite=True)
    pd.DataFrame({"DATA_KEY": [10001], "SOURCE_KEY": [20001], "SPEX_TYPE": ["L5.0"],
                  "MEDIAN_SNR": [50.0]}).to_csv(d / "spectral_data.csv", index=False)
    pd.DataFrame({"SOURCE_KEY": [20001], "NAME": ["test dwarf"], "J_2MASS": [14.0]}).to_csv(
        d / "source_data.csv", index=False)
    return d


def write_desi(path: Path, nspec: int = 2) -> Path:
    from astropy.io import fits
    from astropy.table import Table

    hdus = [fits.PrimaryHDU()]
    fm = Table({"TARGETID": np.arange(nspec) + 7, "OBJTYPE": ["TGT"] * nspec,
                "TARGET_RA": np.zeros(nspec), "TARGET_DEC": np.zeros(nspec)})
    hdus.append(fits.BinTableHDU(fm, name="FIBERMAP"))
    starts = {"B": 3600.0, "R": 5760.0, "Z": 7520.0}
    for a, w0 in starts.items():
        w = w0 + 0.8 * np.arange(3000 if a != "Z" else 2881)
        hdus.append(fits.ImageHDU(w, name=f"{a}_WAVELENGTH"))
        hdus.append(fits.ImageHDU(np.ones((nspec, w.size), np.float32), name=f"{a}_FLUX"))
        hdus.append(fits.ImageHDU(np.full((nspec, w.size), 4.0, np.float32), name=f"{a}_IVAR"))
        hdus.append(fits.ImageHDU(np.zeros((nspec, w.size), np.int32), name=f"{a}_MASK"))
        hdus.append(fits.ImageHDU(np.zeros((nspec, 11, w.size), np.float32),
                                  name=f"{a}_RESOLUTION"))
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path
