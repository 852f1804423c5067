"""Light curves as people export them (ZTF/IRSA, Gaia, ATLAS, ASAS-SN, OGLE, LSST, ECSV, IPAC,
CDS, TESS FITS), read by content. Inputs are real ZTF curves from the shared ALeRCE set,
re-exported in each survey's column names; the values read back must equal the originals."""

from __future__ import annotations

import functools
import gzip
import warnings

import numpy as np
import pandas as pd
import pytest

from skyfm.data import Catalog, LightCurve, read
from skyfm.data.io import DataQualityWarning, detect_format
from skyfm.errors import DataFormatError

MJD0 = 2400000.5


@functools.lru_cache(maxsize=1)
def _ztf_curves(path: str) -> tuple:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obs = read(path, limit=3)
    return tuple(lc.detections for lc in obs)


@pytest.fixture
def ztf(shared_data):
    """Three real ZTF g/r light curves (detections) from lc_alerce_ztf_sne30."""
    return _ztf_curves(str(shared_data("lc_alerce_ztf_sne30")))


def _frame(curves, **names) -> pd.DataFrame:
    """Long table of ``curves`` with columns renamed: names[std] = export name."""
    df = pd.concat([lc.to_pandas() for lc in curves], ignore_index=True)
    return df[["object_id", "time", "band", "mag", "mag_err"]]


def _same(lc: LightCurve, ref: LightCurve, bands=None, kind="mag"):
    assert len(lc) == len(ref)
    order = np.lexsort((ref.band.astype(str), ref.time))
    got = np.lexsort((lc.band.astype(str), lc.time))
    np.testing.assert_allclose(lc.time[got], ref.time[order], atol=1e-6, rtol=0)
    if kind == "mag":
        np.testing.assert_allclose(lc.value[got], ref.value[order], rtol=1e-9)
        np.testing.assert_allclose(lc.error[got], ref.error[order], rtol=1e-9)
    want = ref.band[order].astype(str) if bands is None else \
        np.array([bands[b] for b in ref.band[order].astype(str)])
    assert lc.band[got].astype(str).tolist() == want.tolist()


def _read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read(path, **kw)


# ---------------------------------------------------------------- ZTF / IRSA


@pytest.mark.shared_data
def test_ztf_export_is_one_light_curve(ztf, tmp_path):
    ref = ztf[0]
    df = _frame([ref])
    out = pd.DataFrame({"mjd": df.time, "mag": df.mag, "magerr": df.mag_err,
                        "filter": df.band.map({"g": "zg", "r": "zr"})})
    f = tmp_path / "my_star.csv"
    out.to_csv(f, index=False)
    obs = _read(f)
    assert len(obs) == 1 and isinstance(obs[0], LightCurve)
    assert obs[0].object_id == "my_star"
    _same(obs[0], ref)
    assert obs[0].meta["time"]["system"] == "MJD"
    assert any("object_id 'my_star' from the file name" in w for w in obs.report.warnings)


@pytest.mark.shared_data
def test_irsa_export_one_curve_per_oid_and_catflags(ztf, tmp_path):
    df = _frame(ztf)
    out = pd.DataFrame({"oid": df.object_id, "mjd": df.time, "mag": df.mag,
                        "magerr": df.mag_err, "filtercode": "z" + df.band,
                        "catflags": 0})
    bad = out.iloc[:2].copy()
    bad["mjd"] += 0.5
    bad["catflags"] = 32768
    f = tmp_path / "irsa_lc"  # no extension
    pd.concat([out, bad]).to_csv(f, index=False)
    obs = _read(f)
    assert obs.object_ids == [lc.object_id for lc in ztf]
    for lc, ref in zip(obs, ztf):
        _same(lc, ref)
        assert set(lc.bands) <= {"g", "r"}
    assert obs.report.dropped == {"ZTF catflags != 0 (flagged exposure)": 2}


@pytest.mark.shared_data
def test_ztf_fid_codes_gzipped(ztf, tmp_path):
    df = _frame(ztf[:2])
    out = pd.DataFrame({"objectid": df.object_id, "mjd": df.time, "mag": df.mag,
                        "magerr": df.mag_err, "fid": df.band.map({"g": 1, "r": 2})})
    f = tmp_path / "ztf_fid.csv.gz"
    with gzip.open(f, "wt") as fh:
        out.to_csv(fh, index=False)
    obs = _read(f)
    assert len(obs) == 2
    for lc, ref in zip(obs, ztf):
        _same(lc, ref)


# ---------------------------------------------------------------- other surveys


@pytest.mark.shared_data
def test_gaia_epoch_photometry_long_form(ztf, tmp_path):
    bands = {"g": "G", "r": "RP"}
    df = _frame(ztf[:2])
    flux = 10 ** (-0.4 * (df.mag - 25.0))
    out = pd.DataFrame({"source_id": df.object_id.map({ztf[0].object_id: 4111834567779557376,
                                                       ztf[1].object_id: 5937173300407375616}),
                        "transit_id": np.arange(len(df)), "band": df.band.map(bands),
                        "time": df.time + MJD0 - 2455197.5, "mag": df.mag,
                        "flux": flux, "flux_error": flux * df.mag_err / 1.0857,
                        "rejected_by_photometry": False})
    f = tmp_path / "EPOCH_PHOTOMETRY-Gaia DR3 4111834567779557376.csv"
    out.to_csv(f, index=False)
    obs = _read(f)
    assert obs.object_ids == ["4111834567779557376", "5937173300407375616"]
    _same(obs[0], ztf[0], bands, kind="flux")  # flux: Gaia gives no magnitude errors
    assert obs[0].meta["time"]["scale"] == "tcb" and obs[0].meta["time"]["system"] == "BJD"
    assert obs[0].kind == "flux" and obs[0].flux_unit == "e-/s"
    sel = out.source_id == 4111834567779557376
    np.testing.assert_allclose(np.sort(obs[0].value), np.sort(out.flux[sel]), rtol=1e-9)
    np.testing.assert_allclose(np.sort(obs[0].error), np.sort(out.flux_error[sel]), rtol=1e-9)
    mags = _read(f, kind="mag")
    np.testing.assert_allclose(np.sort(mags[0].value), np.sort(ztf[0].value), rtol=1e-9)
    assert np.isnan(mags[0].error).all()  # unknown, not invented


@pytest.mark.shared_data
def test_atlas_forced_photometry(ztf, tmp_path):
    ref = ztf[1]
    df = _frame([ref])
    ujy = 10 ** (-0.4 * (df.mag - 23.9))
    out = pd.DataFrame({"###MJD": df.time, "m": df.mag, "dm": df.mag_err, "uJy": ujy,
                        "duJy": ujy * df.mag_err / 1.0857, "F": df.band.map({"g": "c",
                                                                              "r": "o"}),
                        "err": 0, "chi/N": 1.1, "RA": 150.0, "Dec": 2.0})
    f = tmp_path / "job1234.txt"
    out.to_csv(f, sep=" ", index=False)
    obs = _read(f)
    assert len(obs) == 1 and obs[0].kind == "flux" and obs[0].flux_unit == "uJy"
    _same(obs[0], ref, {"g": "c", "r": "o"}, kind="flux")
    order = np.argsort(ref.time, kind="stable")
    np.testing.assert_allclose(np.sort(obs[0].value), np.sort(ujy.to_numpy()), rtol=1e-9)
    assert order.size == len(obs[0])


@pytest.mark.shared_data
def test_asassn_export_full_hjd(ztf, tmp_path):
    ref = ztf[0]
    df = _frame([ref])
    mjy = 10 ** (-0.4 * (df.mag - 16.4))
    out = pd.DataFrame({"HJD": df.time + MJD0, "UT Date": "2019-01-01", "Camera": "bd",
                        "FWHM": 1.6, "Limit": 17.5, "mag": df.mag, "mag_err": df.mag_err,
                        "flux(mJy)": mjy, "flux_err": mjy * df.mag_err / 1.0857,
                        "Filter": df.band.map({"g": "g", "r": "V"})})
    f = tmp_path / "light_curve_7a1b.csv"
    out.to_csv(f, index=False)
    obs = _read(f)
    assert obs[0].flux_unit == "mJy" and obs[0].meta["time"]["system"] == "HJD"
    _same(obs[0], ref, {"g": "g", "r": "V"}, kind="flux")


@pytest.mark.shared_data
def test_ogle_headerless_reduced_hjd(ztf, tmp_path):
    ref = ztf[0].band_data("r")
    body = "\n".join(f"{t + MJD0 - 2450000:.7f} {m:.6f} {e:.6f}"
                     for t, m, e in zip(ref.time, ref.value, ref.error))
    f = tmp_path / "OGLE-LMC-CEP-0002.dat"
    f.write_text(body + "\n")
    obs = _read(f)
    assert len(obs) == 1 and obs[0].object_id == "OGLE-LMC-CEP-0002"
    np.testing.assert_allclose(obs[0].time, ref.time, atol=1e-6)
    np.testing.assert_allclose(obs[0].value, ref.value, atol=1e-6)
    assert obs[0].bands == ["x"]
    assert any("no header" in w for w in obs.report.warnings)
    assert any("JD - 2450000 (values" in w for w in obs.report.warnings)


@pytest.mark.shared_data
def test_lsst_dia_sources(ztf, tmp_path):
    df = _frame(ztf[:2])
    njy = 10 ** (-0.4 * (df.mag - 31.4))
    out = pd.DataFrame({"diaObjectId": df.object_id.map({ztf[0].object_id: 1, ztf[1].object_id:
                                                         2}),
                        "midpointMjdTai": df.time, "band": df.band, "psfFlux": njy,
                        "psfFluxErr": njy * df.mag_err / 1.0857})
    f = tmp_path / "dia.parquet"
    out.to_parquet(f)
    obs = _read(f)
    assert obs.object_ids == ["1", "2"]
    assert obs[0].flux_unit == "nJy" and obs[0].meta["time"]["scale"] == "tai"
    _same(obs[0], ztf[0], kind="flux")


# ---------------------------------------------------------------- astropy table formats


@pytest.mark.shared_data
def test_ecsv_timeseries(ztf, tmp_path):
    from astropy.time import Time
    from astropy.timeseries import TimeSeries

    ref = ztf[2]
    ts = TimeSeries(time=Time(ref.time, format="mjd", scale="utc"),
                    data={"mag": ref.value, "mag_err": ref.error, "band": ref.band.astype(str)})
    f = tmp_path / "sn.ecsv"
    ts.write(f, format="ascii.ecsv")
    obs = _read(f)
    assert len(obs) == 1 and obs[0].object_id == "sn"
    _same(obs[0], ref)
    assert obs[0].meta["time"]["scale"] == "utc"


@pytest.mark.shared_data
@pytest.mark.parametrize("fmt", ["ascii.ipac", "ascii.mrt"])
def test_ipac_and_cds(ztf, tmp_path, fmt):
    from astropy.table import Table

    df = _frame(ztf[:2])
    t = Table({"oid": df.object_id.to_numpy().astype(str), "mjd": df.time.to_numpy(),
               "mag": df.mag.to_numpy(), "magerr": df.mag_err.to_numpy(),
               "filtercode": ("z" + df.band).to_numpy().astype(str)})
    t["mag"].unit = "mag"
    t["magerr"].unit = "mag"
    f = tmp_path / ("irsa.tbl" if fmt == "ascii.ipac" else "table2")
    t.write(f, format=fmt)
    obs = _read(f)
    assert len(obs) == 2
    for lc, ref in zip(obs, ztf):
        np.testing.assert_allclose(np.sort(lc.time), np.sort(ref.time), atol=1e-5)
        np.testing.assert_allclose(np.sort(lc.value), np.sort(ref.value), atol=1e-5)
        assert set(lc.bands) == set(ref.bands)


# ---------------------------------------------------------------- TESS / Kepler FITS


def _write_spoc(path, mission="TESS", gzip_it=False):
    from astropy.io import fits

    rng = np.random.default_rng(1)
    n = 40
    t = 1500.0 + np.arange(n) * 2 / 144
    flux = (1000 + 5 * np.sin(t)).astype("f4")
    flux[7] = np.nan
    q = np.zeros(n, "i4")
    q[[3, 4]] = [128, 1024]
    cols = [fits.Column("TIME", "D", unit="BJD - 2457000, days", array=t),
            fits.Column("TIMECORR", "E", array=np.zeros(n)),
            fits.Column("CADENCENO", "J", array=np.arange(n)),
            fits.Column("SAP_FLUX", "E", unit="e-/s", array=flux + 3),
            fits.Column("SAP_FLUX_ERR", "E", unit="e-/s", array=np.full(n, 1.5)),
            fits.Column("PDCSAP_FLUX", "E", unit="e-/s", array=flux),
            fits.Column("PDCSAP_FLUX_ERR", "E", unit="e-/s",
                        array=rng.uniform(1, 2, n).astype("f4")),
            fits.Column("QUALITY", "J", array=q)]
    hdu = fits.BinTableHDU.from_columns(cols, name="LIGHTCURVE")
    prim = fits.PrimaryHDU()
    prim.header["TELESCOP"] = mission
    if mission == "TESS":
        hdu.header["BJDREFI"], hdu.header["BJDREFF"] = 2457000, 0.0
        prim.header["OBJECT"], prim.header["TICID"] = "TIC 25155310", 25155310
    else:
        hdu.header["BJDREFI"], hdu.header["BJDREFF"] = 2454833, 0.0
        prim.header["KEPLERID"] = 11446443
    hdu.header["TIMESYS"] = "TDB"
    hdul = fits.HDUList([prim, hdu])
    if gzip_it:
        import io

        buf = io.BytesIO()
        hdul.writeto(buf)
        path.write_bytes(gzip.compress(buf.getvalue()))
    else:
        hdul.writeto(path)
    return t, flux, q


def test_tess_lightcurve_fits(tmp_path):
    f = tmp_path / "tess2019_lc.fits"
    t, flux, q = _write_spoc(f)
    assert detect_format(f) == "lightcurve_fits"
    with pytest.warns(DataQualityWarning, match="QUALITY"):
        obs = read(f)
    lc = obs[0]
    assert len(obs) == 1 and lc.object_id == "TIC 25155310" and lc.bands == ["TESS"]
    good = (q == 0) & np.isfinite(flux)
    np.testing.assert_allclose(lc.time, t[good] + 2457000 - MJD0)
    np.testing.assert_allclose(lc.value, flux[good])
    assert lc.kind == "flux" and lc.flux_unit == "e-/s"
    assert obs.report.dropped == {"flagged cadence (QUALITY != 0)": 2, "non-finite flux": 1}
    assert lc.meta["time"]["scale"] == "tdb"


def test_kepler_fits_gzipped_without_extension(tmp_path):
    f = tmp_path / "kplr011446443"
    t, _, _ = _write_spoc(f, mission="Kepler", gzip_it=True)
    obs = _read(f)
    assert obs[0].object_id == "KIC 11446443" and obs[0].bands == ["Kp"]
    assert obs[0].time[0] == pytest.approx(t[0] + 2454833 - MJD0)


# ---------------------------------------------------------------- bands


@pytest.mark.shared_data
def test_ztf_band_names_embed_like_g_r(ztf, tmp_path):
    from skyfm.models.lightcurve_tokens import prepare

    ref = ztf[0]
    df = _frame([ref])
    preps = []
    for name, mapping in (("zgzr", {"g": "zg", "r": "zr"}), ("gr", {"g": "g", "r": "r"})):
        f = tmp_path / f"{name}.csv"
        pd.DataFrame({"mjd": df.time, "mag": df.mag, "magerr": df.mag_err,
                      "filter": df.band.map(mapping)}).to_csv(f, index=False)
        preps.append(prepare(_read(f)[0]))
    a, b = preps
    for field in ("x", "e", "dt", "lam", "ctx", "band_lam", "band_feat"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    raw = ref.copy()
    raw.band = np.array(["z" + str(x) for x in raw.band], dtype=object)
    assert not np.array_equal(prepare(raw).lam, b.lam)  # unresolved names would differ


def test_unknown_band_warns_naming_it(tmp_path):
    f = tmp_path / "lc.csv"
    pd.DataFrame({"mjd": [1.0, 2.0, 3.0], "mag": [15.0, 15.1, 15.2],
                  "magerr": [0.1] * 3, "filter": ["g", "zq", "zq"]}).to_csv(f, index=False)
    with pytest.warns(DataQualityWarning, match="zq") as rec:
        obs = read(f)
    assert sum("zq" in str(w.message) for w in rec) == 1
    assert obs[0].bands == ["g", "zq"]
    assert any("'zq'" in w for w in obs.report.warnings)


def test_band_table_matches_tokenizer():
    from skyfm.data.bands import BANDS, resolve_band
    from skyfm.models.lightcurve_tokens import band_wavelength

    for name, band in BANDS.items():
        assert band_wavelength(name) == pytest.approx(band.wavelength.to_value("nm"))
    assert resolve_band("zg") == ("g", True) and resolve_band("ZTF_r") == ("r", True)
    assert resolve_band("2", survey="ZTF") == ("r", True)
    assert resolve_band("5", survey="PLAsTiCC") == ("y", True)
    assert resolve_band("G") == ("G", True) and resolve_band("g") == ("g", True)
    assert resolve_band("B_E") == ("B", True) and resolve_band("o") == ("o", True)
    assert resolve_band("nonsense") == ("nonsense", False)


# ---------------------------------------------------------------- duplicates


def _dup_file(tmp_path):
    f = tmp_path / "s82.csv"
    pd.DataFrame({"object_id": ["a", "a", "a", "a", "b"], "time": [1.0, 1.0, 2.0, 3.0, 1.0],
                  "band": ["g", "g", "g", "g", "g"], "mag": [20.0, 21.0, 19.0, 18.0, 17.0],
                  "mag_err": [0.1, 0.2, 0.1, 0.1, 0.1]}).to_csv(f, index=False)
    return f


def test_duplicates_mean_first_error(tmp_path):
    f = _dup_file(tmp_path)
    with pytest.warns(DataQualityWarning, match="repeated"):
        obs = read(f)
    a = obs[0]
    w = np.array([1 / 0.1 ** 2, 1 / 0.2 ** 2])
    assert a.value[0] == pytest.approx((20 * w[0] + 21 * w[1]) / w.sum())
    assert a.error[0] == pytest.approx(1 / np.sqrt(w.sum()))
    assert len(a) == 3 and obs.report.dropped == {
        "a repeated (object, band, time) point (merged into one)": 1}
    first = _read(f, duplicates="first")
    assert first[0].value[0] == 20.0 and first[0].error[0] == 0.1
    with pytest.raises(DataFormatError, match="duplicate"):
        read(f, duplicates="error")


def test_duplicates_without_errors_and_limits(tmp_path):
    f = tmp_path / "d.csv"
    pd.DataFrame({"object_id": ["a"] * 5, "time": [1.0, 1.0, 2.0, 2.0, 2.0],
                  "band": ["r"] * 5, "mag": [20.0, 21.0, 19.0, 19.5, 18.0],
                  "upper_limit": [True, True, False, True, False]}).to_csv(f, index=False)
    obs = _read(f)
    lc = obs[0]
    assert lc.upper_limit.tolist() == [True, False]
    assert lc.value.tolist() == [21.0, 18.5]  # faintest limit; plain mean of the detections
    assert np.isnan(lc.error[1])


# ---------------------------------------------------------------- catalogues and bad input


@pytest.mark.shared_data
def test_catalogue_with_repeated_object_id(shared_data, tmp_path):
    src = next(shared_data("catalog_sdss_dr14_skyserver10k").glob("*.csv"))
    df = pd.read_csv(src, nrows=6)
    df.insert(0, "object_id", ["s1", "s1", "s2", "s3", "s3", "s4"])
    f = tmp_path / "sdss_part.csv"
    df.to_csv(f, index=False)
    obs = _read(f)
    assert len(obs) == 1 and isinstance(obs[0], Catalog)
    assert len(obs[0]) == 6
    assert obs[0].table["object_id"].tolist() == df["object_id"].tolist()
    assert any("repeated value(s) in id column 'object_id'" in w for w in obs.report.warnings)
    # recognised by its columns as SkyServer's SDSS table: class is the label, redshift a
    # target, never a feature
    assert obs[0].label_column == "class" and obs[0].target_columns == ["redshift"]


def test_catalogue_report_says_which_columns(tmp_path):
    f = tmp_path / "objs.csv"
    pd.DataFrame({"oid": ["a", "b", "c"], "mjd": [1.0, 2.0, 3.0],
                  "mag": [15.0, 16.0, 17.0]}).to_csv(f, index=False)
    obs = _read(f)
    assert isinstance(obs[0], Catalog)
    assert any("'oid' is different" in w and "columns=" in w for w in obs.report.warnings)
    lcs = _read(f, columns={"object_id": "oid"})
    assert [len(lc) for lc in lcs] == [1, 1, 1]


def test_boolean_magnitude_column(tmp_path):
    f = tmp_path / "lc.csv"
    pd.DataFrame({"object_id": ["a", "a"], "mjd": [1.0, 2.0], "band": ["g", "g"],
                  "mag": [True, False]}).to_csv(f, index=False)
    with pytest.raises(DataFormatError, match="boolean") as ei:
        read(f)
    assert "'mag'" in str(ei.value)


@pytest.mark.parametrize("text", ["object_id,time,band,mag,mag_err\n", "mjd,mag,magerr\n"])
def test_header_only_table(tmp_path, text):
    f = tmp_path / "empty.csv"
    f.write_text(text)
    with pytest.raises(DataFormatError, match="header only"):
        read(f)


def test_unknown_keyword_is_a_type_error(tmp_path):
    f = tmp_path / "lc.csv"
    pd.DataFrame({"mjd": [1.0, 2.0], "mag": [15.0, 15.1]}).to_csv(f, index=False)
    with pytest.raises(TypeError, match="limt"):
        read(f, limt=5)


def test_columns_mapping_on_headerless_and_odd_names(tmp_path):
    f = tmp_path / "my_star.txt"
    f.write_text("58000.5\t2.5e3\t40\tg\n58001.5\t2.6e3\t41\tr\n")
    obs = _read(f, columns={"time": 0, "flux": 1, "flux_err": 2, "band": 3},
                time_format="mjd")
    lc = obs[0]
    assert lc.object_id == "my_star" and lc.kind == "flux"
    assert lc.time.tolist() == [58000.5, 58001.5] and lc.bands == ["g", "r"]
    g = tmp_path / "obs.dat"
    g.write_text("# star  date  brightness  sigma\nv1 2458000.5 12.0 0.01\nv1 2458001.5 12.1 "
                 "0.01\n")
    lcs = _read(g, columns={"object_id": "star", "time": "date", "mag": "brightness",
                            "mag_err": "sigma"}, time_format="jd")
    assert lcs[0].object_id == "v1" and lcs[0].time.tolist() == [58000.0, 58001.0]
    with pytest.raises(DataFormatError, match="look like Julian dates"):
        read(g, columns={"object_id": "star", "time": "date", "mag": "brightness"},
             time_format="mjd")


@pytest.mark.shared_data
def test_gaia_wide_form_and_rejected_rows(ztf, tmp_path):
    from astropy.table import Table

    ref = ztf[0].band_data("g")
    t = Table()
    t["source_id"] = np.array([4111834567779557376])
    flux = 10 ** (-0.4 * (ref.value - 25.0))
    for col, vals in (("g_transit_time", ref.time + MJD0 - 2455197.5), ("g_transit_mag", ref.value),
                      ("g_transit_flux", flux), ("g_transit_flux_error", flux * 0.01)):
        cell = np.empty(1, object)
        cell[0] = np.asarray(vals, float)
        t[col] = cell
    f = tmp_path / "gaia_wide.ecsv"
    t.write(f, format="ascii.ecsv")
    obs = _read(f)
    assert obs.object_ids == ["4111834567779557376"] and obs[0].bands == ["G"]
    np.testing.assert_allclose(obs[0].time, ref.time, atol=1e-6)
    np.testing.assert_allclose(obs[0].value, flux, rtol=1e-9)
    g = tmp_path / "gaia_long.csv"
    pd.DataFrame({"source_id": 7, "band": "G", "time": ref.time + MJD0 - 2455197.5,
                  "flux": flux, "flux_error": flux * 0.01,
                  "rejected_by_photometry": np.arange(len(ref)) == 0,
                  "rejected_by_variability": False}).to_csv(g, index=False)
    obs = _read(g)
    assert len(obs[0]) == len(ref) - 1
    assert obs.report.dropped == {"Gaia rejected_by_photometry": 1}


def test_headerless_numbers_that_are_not_times_stay_a_catalogue(tmp_path):
    f = tmp_path / "features.csv"
    f.write_text("0.5,1.2,3\n0.7,1.1,4\n")
    assert detect_format(f) == "catalog"
    g = tmp_path / "asas_star"
    g.write_text("2458000.5 12.1 0.01\n2458001.5 12.2 0.01\n")
    assert detect_format(g) == "lightcurve_table"
    assert _read(g)[0].time.tolist() == [58000.0, 58001.0]


def test_mapped_measurement_column_decides_the_kind(tmp_path):
    f = tmp_path / "atlas_like.csv"
    pd.DataFrame({"MJD": [1.0, 2.0], "m": [17.0, 17.2], "dm": [0.05, 0.06], "uJy": [570., 480.],
                  "duJy": [20., 21.], "F": ["o", "c"]}).to_csv(f, index=False)
    assert _read(f)[0].kind == "flux"  # forced photometry: flux by default
    lc = _read(f, columns={"mag": "m", "mag_err": "dm"})[0]
    assert lc.kind == "mag" and lc.value.tolist() == [17.0, 17.2] and lc.bands == ["o", "c"]
