"""Property-based tests: whatever bytes or tables the readers get, they either return an
ObservationSet (counting what they dropped) or raise one of skyfm's own errors — never
KeyError/IndexError/OSError/library errors."""

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from data_synth import (
    write_avro,
    write_desi,
    write_eros,
    write_macho,
    write_plasticc,
    write_spex,
    ztf_alert,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from skyfm.data import ObservationSet, read
from skyfm.data.layout import load_dataset
from skyfm.errors import DataFormatError, SkyfmError


@pytest.fixture(autouse=True)
def _no_safety_net():
    """Readers must raise skyfm errors themselves, not rely on read()'s last net."""
    import skyfm.data.io as io_mod

    with io_mod.without_safety_net():
        yield


FUZZ = settings(max_examples=int(os.environ.get("SKYFM_FUZZ_EXAMPLES", "30")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

NAMES = ["x.csv", "x.parquet", "x.avro", "x.fits", "x.fits.gz", "x.npz", "lc_1.2.3.tar.bz2",
         "x.mjd", "x.jpeg", "x.png", "x.xml", "train_varlength_features.csv.gz", "x.dat.gz",
         "magic04.data", "HTRU_2.csv", "plasticc_train_lightcurves.parquet", "x.txt",
         "30_sne_detections_corr.csv"]
MAGIC = [b"", b"PK\x03\x04", b"Obj\x01", b"BZh9", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff",
         b"\x1f\x8b\x08\x00", b"SIMPLE  =                    T", b"<?xml version='1.0'?>",
         b"PAR1", b"object_id,time,mag\n"]


def _read_ok_or_skyfm_error(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = read(path, **kw)
        except SkyfmError:
            return None
    assert isinstance(out, ObservationSet)
    assert all(v > 0 for v in out.report.dropped.values())
    return out


@FUZZ
@given(name=st.sampled_from(NAMES), magic=st.sampled_from(MAGIC), body=st.binary(max_size=600))
def test_random_bytes_raise_only_skyfm_errors(name, magic, body):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
        p.write_bytes(magic + body)
        _read_ok_or_skyfm_error(p)


def _real_looking(kind: str, d: Path) -> Path:
    if kind == "eros":
        return write_eros(d / "e", n=2) / "train_varlength_features.csv.gz"
    if kind == "avro":
        return write_avro(d / "a.avro", [ztf_alert()])
    if kind == "macho":
        return write_macho(d / "m")
    if kind == "spex":
        return write_spex(d / "s") / "spectra" / "10001_20001.fits.gz"
    if kind == "desi":
        return write_desi(d / "coadd-1.fits", nspec=1)
    if kind == "plasticc":
        return write_plasticc(d / "p") / "plasticc_train_lightcurves.parquet"
    if kind == "npz":
        np.savez(d / "apogee_wavelength.npz", wavelength=np.arange(10.0) + 15000)
        np.savez(d / "apogee_combined_x.npz", spectrum=np.ones(10), spec_err=np.ones(10))
        return d / "apogee_combined_x.npz"
    if kind == "png":
        from PIL import Image as PILImage

        PILImage.fromarray(np.zeros((8, 8, 3), np.uint8)).save(d / "x.png")
        return d / "x.png"
    if kind == "votable":
        from astropy.table import Table

        Table({"a": [1.0, 2.0]}).write(d / "c.xml", format="votable")
        return d / "c.xml"
    raise AssertionError(kind)


KINDS = ["eros", "avro", "macho", "spex", "desi", "plasticc", "npz", "png", "votable"]
_CACHE: dict = {}


def _template(kind: str) -> tuple[str, bytes, dict]:
    """Bytes of a valid file of each kind (+ the side files it needs), built once."""
    if kind not in _CACHE:
        with tempfile.TemporaryDirectory() as d:
            p = _real_looking(kind, Path(d))
            side = {f.relative_to(d).as_posix(): f.read_bytes() for f in Path(d).rglob("*")
                    if f.is_file() and f != p}
            _CACHE[kind] = (p.relative_to(d).as_posix(), p.read_bytes(), side)
    return _CACHE[kind]


@FUZZ
@given(kind=st.sampled_from(KINDS), frac=st.floats(0.0, 1.0), flip=st.integers(0, 10**6),
       mode=st.sampled_from(["truncate", "flip", "both"]))
def test_truncated_or_corrupted_real_files(kind, frac, flip, mode):
    rel, data, side = _template(kind)
    cut = data
    if mode in ("truncate", "both"):
        cut = data[: int(len(data) * frac)]
    if mode in ("flip", "both") and cut:
        b = bytearray(cut)
        b[flip % len(b)] ^= 0xFF
        cut = bytes(b)
    with tempfile.TemporaryDirectory() as d:
        for r, content in side.items():
            (Path(d) / r).parent.mkdir(parents=True, exist_ok=True)
            (Path(d) / r).write_bytes(content)
        p = Path(d) / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(cut)
        _read_ok_or_skyfm_error(p)


finite = st.floats(-1e6, 1e6, allow_nan=False)
weird = st.sampled_from([np.nan, np.inf, -np.inf])


@st.composite
def lc_tables(draw):
    n = draw(st.integers(1, 25))
    n_obj = draw(st.integers(1, 4))
    df = pd.DataFrame({
        "object_id": [f"o{draw(st.integers(0, n_obj - 1))}" for _ in range(n)],
        "time": [draw(finite) for _ in range(n)],
        "band": [draw(st.sampled_from("gri")) for _ in range(n)],
        "mag": [draw(st.floats(10, 25)) for _ in range(n)],
        "mag_err": [draw(st.floats(0, 1)) for _ in range(n)],
    })
    for col in ("time", "mag", "mag_err"):
        for i in draw(st.lists(st.integers(0, n - 1), max_size=3)):
            df.loc[i, col] = draw(weird)
    if draw(st.booleans()):
        df.loc[draw(st.integers(0, n - 1)), "mag_err"] = -draw(st.floats(0.01, 1))
    if draw(st.booleans()) and n > 1:  # a duplicated row
        df = pd.concat([df, df.iloc[[0]]], ignore_index=True)
    drop = draw(st.sampled_from([None, "time", "band", "mag", "object_id"]))
    if drop:
        df = df.drop(columns=[drop])
    if draw(st.booleans()):
        df = df.rename(columns={"mag": draw(st.sampled_from(["flux", "Mag", "mag "]))})
    return df


def _expected_drops(df):
    t = df["time"].to_numpy(float)
    v = df["mag"].to_numpy(float)
    e = df["mag_err"].to_numpy(float)
    bad_t = ~np.isfinite(t)
    bad_v = np.isfinite(t) & ~np.isfinite(v)
    bad_e = np.isfinite(t) & np.isfinite(v) & ~np.isfinite(e)
    return int(bad_t.sum()), int(bad_v.sum()), int(bad_e.sum())


@FUZZ
@given(df=lc_tables(), strict=st.booleans(), fmt=st.sampled_from(["csv", "parquet"]))
def test_random_lightcurve_tables(df, strict, fmt):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"observations.{fmt}"
        if fmt == "csv":
            df.to_csv(p, index=False)
        else:
            df.to_parquet(p, index=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                obs = load_dataset(d, strict=strict)
            except DataFormatError as exc:
                assert exc.file is not None
                return
    # it read: the table had the standard columns and no structural problem
    assert {"object_id", "time", "band", "mag", "mag_err"} <= set(df.columns)
    assert not strict or not obs.report.dropped
    nt, nv, ne = _expected_drops(df)
    assert obs.report.dropped.get("non-finite time", 0) == nt
    assert obs.report.dropped.get("non-finite mag", 0) == nv
    assert obs.report.dropped.get("non-finite error", 0) == ne
    t, v, e = (df[c].to_numpy(float) for c in ("time", "mag", "mag_err"))
    valid = df[np.isfinite(t) & np.isfinite(v) & np.isfinite(e)]
    merged = int(valid.astype({"object_id": str, "band": str}).duplicated(
        ["object_id", "band", "time"]).sum())  # repeated points are combined, and counted
    rows_dropped = {k: v for k, v in obs.report.dropped.items()
                    if k != "objects with no valid points"}  # objects, not rows
    assert sum(rows_dropped.values()) == nt + nv + ne + merged
    kept = len(df) - nt - nv - ne - merged
    assert obs.report.n_points == kept == sum(len(lc) for lc in obs)
    neg = (df["mag_err"] < 0) & np.isfinite(df["mag_err"])
    assert not neg.any()  # negative (finite) errors always raise


@FUZZ
@given(values=st.lists(st.one_of(finite, weird, st.just("abc"), st.just("")), min_size=0,
                       max_size=6),
       same_length=st.booleans())
def test_random_eros_list_columns(values, same_length):
    with tempfile.TemporaryDirectory() as d:
        text = "[" + ", ".join(str(v) for v in values) + "]"
        k = len(values)
        times = "[" + ", ".join(str(300.0 + i) for i in range(k if same_length else k + 1)) + "]"
        write_eros(Path(d) / "e", n=1, override={0: {
            "time_points_b": times, "light_points_b": text,
            "error_points_b": "[" + ", ".join(["0.1"] * k) + "]"}})
        out = _read_ok_or_skyfm_error(Path(d) / "e")
        if out is not None:
            assert same_length and all(isinstance(v, float) for v in values)
            n_bad = sum(not np.isfinite(v) for v in values)
            assert out.report.dropped.get("non-finite mag", 0) == n_bad


def test_fuzz_helpers_build_valid_files():
    for kind in KINDS:
        rel, data, side = _template(kind)
        with tempfile.TemporaryDirectory() as d:
            for r, content in side.items():
                (Path(d) / r).parent.mkdir(parents=True, exist_ok=True)
                (Path(d) / r).write_bytes(content)
            p = Path(d) / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            assert len(read(p)) >= 1, kind


@st.composite
def lightcurve_sets(draw):
    from skyfm.data import LightCurve

    kind = draw(st.sampled_from(["mag", "flux"]))
    out = []
    for k in range(draw(st.integers(1, 4))):
        n = draw(st.integers(1, 15))
        times = draw(st.lists(st.floats(50000, 60000), min_size=n, max_size=n, unique=True))
        vals = draw(st.lists(st.floats(-1e3, 1e3), min_size=n, max_size=n))
        errs = draw(st.lists(st.one_of(st.floats(0, 10), st.just(np.nan)), min_size=n,
                             max_size=n))
        ul = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        errs = [e if u or np.isfinite(e) else 0.1 for e, u in zip(errs, ul)]
        label = draw(st.one_of(st.none(), st.sampled_from(["rrab", "a b", "x,y"]),
                               st.integers(-3, 99)))
        out.append(LightCurve(times, vals, errs, draw(st.sampled_from(["g", "r", "i"])),
                              upper_limit=ul, kind=kind,
                              flux_unit="uJy" if kind == "flux" else None,
                              object_id=f"obj {k}", label=label,
                              meta={"period": draw(st.floats(0.1, 100))}))
    return out


@FUZZ
@given(lcs=lightcurve_sets())
def test_layout_round_trip_is_exact(lcs):
    from skyfm.data.layout import write_dataset

    with tempfile.TemporaryDirectory() as d:
        write_dataset(lcs, Path(d) / "ds")
        back = load_dataset(Path(d) / "ds")
    assert back.object_ids == [lc.object_id for lc in lcs]
    assert back.labels == [lc.label for lc in lcs]
    for a, b in zip(lcs, back):
        assert np.array_equal(a.time, b.time) and np.array_equal(a.value, b.value)
        assert np.array_equal(a.error, b.error, equal_nan=True)
        assert np.array_equal(a.upper_limit, b.upper_limit) and a.kind == b.kind
        assert a.meta == b.meta and a.flux_unit == b.flux_unit


@st.composite
def spectra_tables(draw):
    n = draw(st.integers(1, 20))
    df = pd.DataFrame({
        "object_id": [draw(st.sampled_from(["s1", "s2"])) for _ in range(n)],
        "wavelength": [draw(st.one_of(st.floats(1000, 9000), weird)) for _ in range(n)],
        "flux": [draw(st.one_of(finite, weird)) for _ in range(n)],
        "flux_err": [draw(st.one_of(st.floats(-1, 1), weird)) for _ in range(n)],
    })
    if draw(st.booleans()):
        df["wavelength_unit"] = draw(st.sampled_from(["Angstrom", "nm", "um", "parsec", "zz"]))
    if draw(st.booleans()):
        df = df.drop(columns=[draw(st.sampled_from(["wavelength", "flux", "flux_err"]))])
    return df


@FUZZ
@given(df=spectra_tables())
def test_random_spectra_tables(df):
    with tempfile.TemporaryDirectory() as d:
        df.to_parquet(Path(d) / "spectra.parquet", index=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                obs = load_dataset(d)
            except DataFormatError as exc:
                assert exc.file is not None
                return
    assume(len(obs) > 0)
    assert {"object_id", "wavelength", "flux"} <= set(df.columns)
    for s in obs:
        assert np.all(np.diff(s.wavelength) > 0) and np.all(np.isfinite(s.wavelength))
        assert not np.any(s.error[np.isfinite(s.error)] < 0)
    point_drops = sum(v for k, v in obs.report.dropped.items()
                      if k != "objects with no valid points")
    assert sum(len(s) for s in obs) == len(df) - point_drops
