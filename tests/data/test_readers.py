"""Each reader on small synthetic files in its real format (no shared data needed)."""

import gzip

import numpy as np
import pandas as pd
import pytest
from data_synth import (
    ZTF_SCHEMA,
    write_alerce,
    write_avro,
    write_desi,
    write_macho,
    write_plasticc,
    write_spex,
    ztf_alert,
)

from skyfm.data import Image, LightCurve, Spectrum, read
from skyfm.data.io import detect_format
from skyfm.errors import DataFormatError, DataNotFoundError, UnknownFormatError


def test_missing_path_and_unknown_file(tmp_path):
    with pytest.raises(DataNotFoundError):
        read(tmp_path / "nope.csv")
    f = tmp_path / "x.bin"
    f.write_bytes(b"\x00\x01garbage")
    with pytest.raises(UnknownFormatError) as ei:
        read(f)
    assert "x.bin" in str(ei.value)


def test_generic_table_with_column_mapping(tmp_path):
    f = tmp_path / "lc.csv"
    pd.DataFrame({"oid": [1, 1, 2], "mjd": [3.0, 1.0, 2.0], "filter": ["g", "g", "r"],
                  "f": [1.0, 2.0, 3.0], "df": [0.1, 0.1, 0.1]}).to_csv(f, index=False)
    obs = read(f, columns={"object_id": "oid", "time": "mjd", "band": "filter", "flux": "f",
                           "flux_err": "df"})
    assert obs.object_ids == ["1", "2"] and obs[0].time.tolist() == [1.0, 3.0]
    assert obs[0].kind == "flux" and obs[0].value.tolist() == [2.0, 1.0]
    with pytest.raises(DataFormatError) as ei:
        read(f, format="lightcurve_table", columns={"object_id": "oid", "time": "nope",
                                                    "flux": "f"})
    assert ei.value.field == "nope"
    with pytest.raises(DataFormatError, match="unknown standard name"):
        read(f, format="lightcurve_table", columns={"objectid": "oid"})


def test_plasticc(tmp_path):
    d = write_plasticc(tmp_path / "p")
    obs = read(d)
    assert obs.object_ids == ["100", "101", "102"]
    assert obs.labels == ["snia", "snii", "microlensing"]
    lc = obs[0]
    assert lc.kind == "flux" and sorted(lc.bands) == sorted("ugrizy") and len(lc) == 12
    assert lc.meta["detected"].sum() == 6 and lc.meta["true_z"] == pytest.approx(0.1)
    df = pd.read_parquet(d / "plasticc_train_lightcurves.parquet")
    df.loc[3, "passband"] = 9
    df.to_parquet(d / "plasticc_train_lightcurves.parquet")
    with pytest.raises(DataFormatError) as ei:
        read(d)
    assert ei.value.field == "passband"


def test_alerce(tmp_path):
    d = write_alerce(tmp_path / "a")
    obs = read(d)
    assert obs.labels == ["SNIa", "SNII"]
    a = obs.by_id()["ZTFa"]
    assert a.upper_limit.tolist() == [True, False, False, False]
    assert a.time[0] == pytest.approx(58999.0) and np.isnan(a.error[0])
    assert a.band.tolist() == ["g", "g", "r", "g"]
    with pytest.warns(UserWarning, match="magpsf_corr"):
        corr = read(d, corrected=True)
    assert corr.report.dropped == {"detections without magpsf_corr": 1}


def test_macho(tmp_path):
    write_macho(tmp_path / "m", "1.2.3")
    write_macho(tmp_path / "m", "4.5.6", bands=("R",))
    obs = read(tmp_path / "m")
    assert obs.object_ids == ["1.2.3", "4.5.6"]
    assert sorted(obs[0].bands) == ["B", "R"] and len(obs[0]) == 40
    assert obs[0].meta["ra_hour"] == 5.0 and obs[1].bands == ["R"]
    assert len(read(tmp_path / "m" / "lc_1.2.3.tar.bz2")) == 1


def test_macho_corrupt_archive(tmp_path):
    f = write_macho(tmp_path / "m", "1.2.3")
    f.write_bytes(f.read_bytes()[:60])
    with pytest.raises(DataFormatError) as ei:
        read(f)
    assert "lc_1.2.3.tar.bz2" in str(ei.value)


def test_ztf_alert_and_folder_merge(tmp_path):
    write_avro(tmp_path / "al" / "a1.avro", [ztf_alert(jd=2459000.5, n_prv=3)])
    write_avro(tmp_path / "al" / "a2.avro", [ztf_alert(jd=2459001.5, n_prv=4)])
    one = read(tmp_path / "al" / "a1.avro")
    lc = one.of_type(LightCurve)[0]
    assert len(lc) == 4 and lc.upper_limit.tolist() == [False, True, False, False]
    assert lc.time.max() == pytest.approx(59000.0)  # jd -> MJD
    assert not one.of_type(Image) and "modality='image'" in one.report.warnings[-1]
    img = read(tmp_path / "al" / "a1.avro", modality="image")[0]
    assert img.bands == ["science", "template", "difference"] and img.shape == (3, 8, 8)
    merged = read(tmp_path / "al")
    lc = merged.of_type(LightCurve)[0]
    assert lc.meta["n_alerts"] == 2 and len(lc) == 8  # union of the two histories
    assert len(read(tmp_path / "al", merge=False).of_type(LightCurve)) == 2


def test_alert_bad_inputs(tmp_path):
    f = write_avro(tmp_path / "a.avro", [ztf_alert()])
    raw = f.read_bytes()
    (tmp_path / "t.avro").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataFormatError) as ei:
        read(tmp_path / "t.avro")
    assert "t.avro" in str(ei.value)
    rec = ztf_alert()
    rec["candidate"]["fid"] = 7
    write_avro(tmp_path / "b.avro", [rec])
    with pytest.raises(DataFormatError, match="fid"):
        read(tmp_path / "b.avro")
    rec = ztf_alert(cutouts=False)
    rec["cutoutScience"] = {"fileName": "x", "stampData": b"\x1f\x8bnot gzip"}
    write_avro(tmp_path / "c.avro", [rec])
    assert len(read(tmp_path / "c.avro")) == 1  # a light-curve read does not decode cutouts
    with pytest.raises(DataFormatError) as ei:
        read(tmp_path / "c.avro", modality="image")
    assert ei.value.field == "cutout.science"
    assert ZTF_SCHEMA["name"] == "alert"


@pytest.mark.parametrize("layout,n_spec,has_err", [
    ("3xN", 1, True), ("Nx3", 1, True), ("4xN", 1, True), ("2xN", 1, False), ("2x3xN", 2, True)])
def test_spex_layouts(tmp_path, layout, n_spec, has_err):
    d = write_spex(tmp_path / "s", layout)
    obs = read(d)
    assert len(obs) == n_spec and obs[0].label == "L5.0" and obs[0].object_id == "10001"
    s = obs[0]
    assert str(s.wavelength_unit) == "um" and len(s) == 50
    assert s.flux_unit == "erg s-1 cm-2 Angstrom-1" and s.meta["J_2MASS"] == 14.0
    assert np.isfinite(s.error).all() == has_err
    if layout == "4xN":
        assert s.meta["flags"].tolist() == [0] * 50


def test_spex_bad_units_and_shape(tmp_path):
    from astropy.io import fits

    d = write_spex(tmp_path / "s")
    f = d / "spectra" / "10001_20001.fits.gz"
    with fits.open(f) as h:
        data, hdr = h[0].data, h[0].header
    hdr["XUNITS"] = "furlongs"
    fits.PrimaryHDU(data, header=hdr).writeto(f, overwrite=True)
    with pytest.raises(DataFormatError) as ei:
        read(d)
    assert ei.value.field == "XUNITS"
    fits.PrimaryHDU(np.zeros((7, 5, 3), np.float32)).writeto(f, overwrite=True)
    with pytest.raises(DataFormatError, match="shape"):
        read(d)


def test_desi_combine_and_arms(tmp_path):
    f = write_desi(tmp_path / "coadd-x.fits")
    obs = read(f)
    assert obs.object_ids == ["7", "8"]
    s = obs[0]
    assert s.wavelength[0] == 3600.0 and np.allclose(np.diff(s.wavelength), 0.8)
    assert np.allclose(s.flux, 1.0) and not s.mask.any()
    # the overlap pixels have twice the inverse variance
    w = s.wavelength
    over = ((w >= 5760) & (w < 3600 + 0.8 * 3000)) | ((w >= 7520) & (w < 5760 + 0.8 * 3000))
    assert np.allclose(s.error[over], 0.5 / np.sqrt(2)) and np.allclose(s.error[~over], 0.5)
    arms = read(f, combine=False)
    assert arms.object_ids[:3] == ["7_B", "7_R", "7_Z"]


def test_apogee_folder_and_emulator(tmp_path):
    w = np.linspace(15100, 16900, 30)
    np.savez(tmp_path / "apogee_wavelength.npz", wavelength=w)
    np.savez(tmp_path / "apogee_mask.npz", apogee_mask=np.arange(30) < 3)
    np.savez(tmp_path / "apogee_combined_2Mx.npz", spectrum=np.ones(30), spec_err=np.full(30, .01))
    np.savez(tmp_path / "NN_emulator.npz", w_array_0=np.zeros((30, 5, 5)), w_array_1=np.zeros(5),
             b_array_0=np.zeros(5), b_array_1=np.zeros(30), x_min=np.zeros(5), x_max=np.ones(5))
    obs = read(tmp_path)
    assert obs.object_ids == ["2Mx"] and obs[0].mask.sum() == 3
    assert any("emulator" in x for x in obs.report.warnings)
    with pytest.raises(UnknownFormatError, match="emulator"):
        read(tmp_path / "NN_emulator.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DataFormatError):
        read(tmp_path / "broken.npz")


def test_images_png_jpeg_fits(tmp_path):
    from astropy.io import fits
    from astropy.wcs import WCS
    from PIL import Image as PILImage

    arr = (np.arange(48).reshape(4, 4, 3) * 5).astype(np.uint8)
    PILImage.fromarray(arr).save(tmp_path / "a.png")
    img = read(tmp_path / "a.png")[0]
    assert img.bands == ["R", "G", "B"] and img.shape == (3, 4, 4) and img.data.max() == 235
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.cdelt = [-1 / 3600, 1 / 3600]
    fits.PrimaryHDU(np.ones((5, 6), np.float32), header=w.to_header()).writeto(tmp_path / "b.fits")
    f = read(tmp_path / "b.fits")[0]
    assert f.wcs is not None and f.pixel_scale == pytest.approx(1.0) and f.shape == (1, 5, 6)
    (tmp_path / "c.jpeg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    with pytest.raises(DataFormatError):
        read(tmp_path / "c.jpeg")


def test_galaxyzoo_folder(tmp_path):
    from PIL import Image as PILImage

    (tmp_path / "gz" / "images").mkdir(parents=True)
    for oid in ("111", "222"):
        PILImage.fromarray(np.zeros((10, 10, 3), np.uint8)).save(
            tmp_path / "gz" / "images" / f"{oid}.jpeg")
    pd.DataFrame({"OBJID": ["111", "222", "333"], "CLASS": [3, 5, 0]}).to_csv(
        tmp_path / "gz" / "labels.csv", index=False)
    obs = read(tmp_path / "gz")
    assert obs.labels == ["edge_on", "merger"] and obs[0].meta["class_id"] == 3
    assert obs[0].data.shape == (3, 10, 10)
    assert any("no image" in w for w in obs.report.warnings)


def test_catalogs(tmp_path):
    (tmp_path / "magic04.data").write_text("1,2,3,4,5,6,7,8,9,10,g\n2,3,4,5,6,7,8,9,10,11,h\n")
    cat = read(tmp_path / "magic04.data")[0]
    assert cat.table.columns[1] == "fLength" and cat.labels.tolist() == ["gamma", "hadron"]
    with gzip.open(tmp_path / "LINEARattributesFinalApr2013.dat.gz", "wt") as fh:
        fh.write("# comment\n#  ra dec LCtype LINEARobjectID\n 1.0 2.0 1 77\n 3.0 4.0 2 78\n")
    lin = read(tmp_path / "LINEARattributesFinalApr2013.dat.gz")[0]
    assert lin.object_ids.tolist() == ["77", "78"] and lin.labels.tolist() == ["RRab", "RRc"]
    with gzip.open(tmp_path / "LINEARattributesFinalApr2013.dat.gz", "wt") as fh:
        fh.write("#  ra dec LCtype LINEARobjectID\n 1.0 2.0 1\n")
    with pytest.raises(DataFormatError):
        read(tmp_path / "LINEARattributesFinalApr2013.dat.gz")
    pd.DataFrame({"name": ["a", "b"], "x": [1.0, np.inf]}).to_csv(tmp_path / "t.csv",
                                                                 index=False)
    t = read(tmp_path / "t.csv", id_column="name")[0]
    assert t.object_ids.tolist() == ["a", "b"] and np.isnan(t.table["x"].iloc[1])
    with pytest.raises(DataFormatError):
        read(tmp_path / "t.csv", id_column="name", strict=True)
    with pytest.raises(DataFormatError) as ei:
        read(tmp_path / "t.csv", label_column="nope")
    assert ei.value.field == "nope"


def test_votable(tmp_path):
    from astropy.table import Table

    t = Table({"l": [1.0, 2.0], "b": [0.1, 0.2]})
    t["l"].unit = "deg"
    t.write(tmp_path / "c.xml", format="votable")
    cat = read(tmp_path / "c.xml")[0]
    assert len(cat) == 2 and cat.units["l"] == "deg"
    (tmp_path / "bad.xml").write_text("<?xml version='1.0'?><VOTABLE><RESOURCE><TABLE>")
    with pytest.raises(DataFormatError):
        read(tmp_path / "bad.xml")


def test_detect_format_names(tmp_path):
    write_macho(tmp_path / "m")
    assert detect_format(tmp_path / "m") == "macho"
    assert detect_format(write_spex(tmp_path / "s")) == "spex"
    assert detect_format(write_desi(tmp_path / "d" / "coadd-1.fits")) == "desi"


def test_single_layout_files_read_directly(tmp_path):
    pd.DataFrame({"object_id": ["a", "a"], "wavelength": [1.0, 2.0], "flux": [3.0, 4.0],
                  "wavelength_unit": ["um", "um"]}).to_parquet(tmp_path / "sp.parquet")
    sp = read(tmp_path / "sp.parquet")
    assert isinstance(sp[0], Spectrum) and str(sp[0].wavelength_unit) == "um"
    pd.DataFrame({"object_id": ["x", "y"], "f": [1.0, 2.0], "label": ["A", "B"]}).to_csv(
        tmp_path / "table.csv", index=False)
    cat = read(tmp_path / "table.csv")[0]
    assert cat.object_ids.tolist() == ["x", "y"] and cat.labels.tolist() == ["A", "B"]


def test_htru2_with_and_without_header(tmp_path):
    rows = "1,2,3,4,5,6,7,8,0\n2,3,4,5,6,7,8,9,1\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "HTRU_2.csv").write_text(rows)
    (tmp_path / "b").mkdir()
    header = ("meanprof,sd-prof,exk-prof,skewness-prof,meandmsnr,sd-dmsnr,exk-dmsnr,"
              "skewness-dmsnr,class\n")
    (tmp_path / "b" / "HTRU_2.csv").write_text(header + rows)
    for d in ("a", "b"):
        cat = read(tmp_path / d / "HTRU_2.csv")[0]
        assert len(cat) == 2 and cat.labels.tolist() == ["not_pulsar", "pulsar"]
        assert cat.table.columns[1] == "meanprof"
    (tmp_path / "b" / "HTRU_2.csv").write_text("x,y\n1,2\n")
    with pytest.raises(DataFormatError) as ei:
        read(tmp_path / "b" / "HTRU_2.csv")
    assert ei.value.field == "header"
