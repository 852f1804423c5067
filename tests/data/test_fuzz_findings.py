"""One test per reader problem the fuzz suite found (and that was fixed on the fuzz branch):
each failed before the fix (an escape or a silent acceptance) and passes now."""

import warnings

import numpy as np
import pandas as pd
import pytest
from data_synth import write_alerce, write_plasticc, write_spex

from skyfm.data import read
from skyfm.data.layout import load_dataset
from skyfm.errors import DataFormatError


@pytest.fixture(autouse=True)
def _no_safety_net():
    import skyfm.data.io as io_mod

    with io_mod.without_safety_net():
        yield


def _edit_csv(path, fn):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(df)
    df.to_csv(path, index=False)


def test_alerce_boolean_error_column_raises(tmp_path):
    d = write_alerce(tmp_path / "a")
    _edit_csv(d / "x_detections.csv", lambda df: df.__setitem__("sigmapsf", "True"))
    with pytest.raises(DataFormatError, match="sigmapsf") as e:  # was read as errors of 1.0
        read(d)
    assert "x_detections.csv" in str(e.value)


def test_alerce_text_in_time_column_names_the_field(tmp_path):
    d = write_alerce(tmp_path / "a")
    _edit_csv(d / "x_detections.csv", lambda df: df.loc.__setitem__((1, "mjd"), "True"))
    with pytest.raises(DataFormatError, match="'mjd'.*non-numeric value 'True'"):
        read(d)  # was ValueError: could not convert string to float


def test_alerce_text_in_non_detection_time_names_the_field(tmp_path):
    d = write_alerce(tmp_path / "a")
    _edit_csv(d / "x_non_detections.csv", lambda df: df.loc.__setitem__((0, "jd"), "Kulkarni"))
    with pytest.raises(DataFormatError, match="x_non_detections.csv: field 'jd'"):
        read(d)


def test_alerce_header_only_tables(tmp_path):
    d = write_alerce(tmp_path / "a")
    (d / "x_non_detections.csv").write_text(
        (d / "x_non_detections.csv").read_text().splitlines()[0] + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obs = read(d)
    assert any("non-detections table has no rows" in w for w in obs.report.warnings)
    (d / "x_detections.csv").write_text(
        (d / "x_detections.csv").read_text().splitlines()[0] + "\n")
    with pytest.raises(DataFormatError, match="no rows"):  # was: upper limits only, no word
        read(d)


def test_alerce_features_header_only_raises(tmp_path):
    p = tmp_path / "100_objects_features.csv"
    p.write_text("objectId,Amplitude_1\n")
    with pytest.raises(DataFormatError, match="no rows"):
        read(p)


def test_alerce_duplicated_column_raises(tmp_path):
    d = write_alerce(tmp_path / "a")
    p = d / "x_detections.csv"
    lines = p.read_text().splitlines()
    p.write_text("\n".join([lines[0] + ",magpsf"] + [ln + ",1.0" for ln in lines[1:]]) + "\n")
    with pytest.raises(DataFormatError, match="'magpsf' appears twice"):
        read(d)  # pandas renamed the second one 'magpsf.1' and the first was used


def test_plasticc_header_only_and_boolean_columns(tmp_path):
    d = write_plasticc(tmp_path / "p")
    lc = pd.read_parquet(d / "plasticc_train_lightcurves.parquet")
    lc.iloc[:0].to_parquet(d / "plasticc_train_lightcurves.parquet")
    with pytest.raises(DataFormatError, match="no rows"):  # was: 0 objects, no word
        read(d)
    lc.assign(passband=lc["passband"] == 1).to_parquet(d / "plasticc_train_lightcurves.parquet")
    with pytest.raises(DataFormatError, match="passband"):  # True was taken for band g
        read(d)
    lc.to_parquet(d / "plasticc_train_lightcurves.parquet")
    md = pd.read_parquet(d / "plasticc_train_metadata.parquet")
    md.assign(target=md["target"] > 50).to_parquet(d / "plasticc_train_metadata.parquet")
    with pytest.raises(DataFormatError, match="target"):  # True/False were class codes 1/0
        read(d)


def _layout(tmp_path, df, name="observations.parquet"):
    d = tmp_path / "ds"
    d.mkdir(parents=True)
    df.to_parquet(d / name, index=False)
    return d


def test_layout_header_only_and_boolean_observations(tmp_path):
    df = pd.DataFrame({"object_id": ["a", "a"], "time": [1.0, 2.0], "band": ["g", "g"],
                       "mag": [18.0, 18.1], "mag_err": [0.1, 0.1]})
    with pytest.raises(DataFormatError, match="no rows"):
        load_dataset(_layout(tmp_path / "1", df.iloc[:0]))
    with pytest.raises(DataFormatError, match="'mag'.*boolean"):
        load_dataset(_layout(tmp_path / "2", df.assign(mag=[True, False])))


def test_layout_spectra_need_object_ids(tmp_path):
    df = pd.DataFrame({"object_id": [np.nan, np.nan], "wavelength": [5000.0, 5001.0],
                       "flux": [1.0, 2.0], "wavelength_unit": "Angstrom"})
    with pytest.raises(DataFormatError, match="object_id"):  # was one object named 'nan'
        load_dataset(_layout(tmp_path, df, "spectra.parquet"))


def test_spex_header_only_spectral_data_is_reported(tmp_path):
    d = write_spex(tmp_path / "s")
    (d / "spectral_data.csv").write_text("DATA_KEY,SOURCE_KEY,SPEX_TYPE,MEDIAN_SNR\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obs = read(d)
    assert obs[0].label is None
    assert any("no SPEX_TYPE" in w for w in obs.report.warnings)


def _galaxyzoo(tmp_path, labels: str):
    from PIL import Image as PILImage

    d = tmp_path / "gz"
    (d / "images").mkdir(parents=True)
    PILImage.fromarray(np.zeros((8, 8, 3), np.uint8)).save(d / "images" / "587.jpeg")
    (d / "labels.csv").write_text(labels)
    return d


def test_galaxyzoo_boolean_or_duplicated_class_raises(tmp_path):
    with pytest.raises(DataFormatError, match="CLASS"):  # True was class 1
        read(_galaxyzoo(tmp_path / "1", "OBJID,CLASS\n587,True\n"))
    with pytest.raises(DataFormatError, match="'CLASS' appears twice"):
        read(_galaxyzoo(tmp_path / "2", "OBJID,CLASS,CLASS\n587,0,3\n"))


def test_fits_image_with_unparsable_card_reads_with_a_warning(tmp_path):
    from astropy.io import fits

    p = tmp_path / "img.fits"
    fits.PrimaryHDU(np.ones((4, 4), np.float32)).writeto(p)
    raw = bytearray(p.read_bytes())
    card = b"SECPIX  = 1.2.3abc / broken".ljust(80)
    end = raw.index(b"END" + b" " * 77)
    raw[end:end + 80] = card
    raw[end + 80:end + 160] = b"END".ljust(80)
    p.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="SECPIX"):  # was astropy VerifyError
        obs = read(p)
    assert obs[0].data.shape[-2:] == (4, 4) and obs[0].pixel_scale is None


def test_plasticc_metadata_without_target_is_reported(tmp_path):
    d = write_plasticc(tmp_path / "p")
    md = pd.read_parquet(d / "plasticc_train_metadata.parquet")
    md.drop(columns=["target"]).to_parquet(d / "plasticc_train_metadata.parquet")
    obs = read(d)
    assert all(lc.label is None for lc in obs)
    assert any("no 'target' column" in w for w in obs.report.warnings)


@pytest.mark.filterwarnings("ignore::astropy.utils.exceptions.AstropyUserWarning")
def test_fits_image_cut_in_its_padding_is_reported(tmp_path):
    from astropy.io import fits

    from skyfm.data.io import DataQualityWarning

    p = tmp_path / "img.fits"
    fits.PrimaryHDU(np.arange(64 * 64, dtype=np.float32).reshape(64, 64)).writeto(p)
    raw = p.read_bytes()
    p.write_bytes(raw[:19500])  # header 2880 + pixels 16384 = 19264: only padding is cut
    with pytest.warns(DataQualityWarning, match="padding"):  # was read without a word
        obs = read(p)
    assert obs[0].data.ravel()[-1] == 4095
    p.write_bytes(raw[:15000])  # pixels missing
    with pytest.raises(DataFormatError, match="img.fits"):
        read(p)


# --- found by the fuzz suite after the reader branches were merged (each escaped before) ----


@pytest.mark.parametrize("header", ["mjd,mag,magerr,filter,mag", "oid,mjd,mag,oid,magerr,fid"])
def test_export_with_a_column_named_twice_raises_naming_it(tmp_path, header):
    p = tmp_path / "lc.csv"
    cols = header.split(",")
    rows = [",".join(str(v) for v in vals) for vals in (
        [{"mjd": 58000.1, "mag": 18.2, "magerr": 0.1, "filter": "zg", "oid": 7, "fid": 1}[c]
         for c in cols],
        [{"mjd": 58001.1, "mag": 18.4, "magerr": 0.1, "filter": "zr", "oid": 7, "fid": 2}[c]
         for c in cols])]
    p.write_text(header + "\n" + "\n".join(rows) + "\n")
    dup = [c for c in cols if cols.count(c) > 1][0]
    with pytest.raises(DataFormatError, match=f"'{dup}' appears more than once") as e:
        read(p)  # was AttributeError: 'DataFrame' object has no attribute 'dtype'
    assert e.value.field == dup


def test_galaxyzoo_labels_with_a_non_utf8_byte_is_a_clean_error(tmp_path):
    d = tmp_path / "gz"
    (d / "images").mkdir(parents=True)
    (d / "labels.csv").write_bytes(b"OBJID\x92CLASS\n588017605766479982,0\n")
    with pytest.raises(DataFormatError) as e:  # was UnicodeDecodeError from the dispatch
        read(d)
    assert "labels.csv" in str(e.value)


def _eros_file(path, header, rows):
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    return path


EROS_HEADER = (",time_points_b,light_points_b,error_points_b,time_points_r,light_points_r,"
               "error_points_r")
EROS_ROW = '0,"[1.0, 2.0]","[-5.1, -5.2]","[0.1, 0.1]","[1.0, 2.0]","[-6.0, -6.1]","[0.1, 0.1]"'


def test_eros_header_only_is_an_error_not_an_empty_set(tmp_path):
    p = _eros_file(tmp_path / "test_varlength_features.csv", EROS_HEADER, [])
    with pytest.raises(DataFormatError, match="header only"):  # was 0 objects, no warning
        read(p)


def test_eros_column_named_twice_is_an_error(tmp_path):
    header = EROS_HEADER + ",time_points_r"
    p = _eros_file(tmp_path / "stars.csv", header, [EROS_ROW + ',"[9.0, 9.5]"'])
    assert len(read(_eros_file(tmp_path / "ok.csv", EROS_HEADER, [EROS_ROW]))) == 1
    with pytest.raises(DataFormatError, match="'time_points_r' appears more than once"):
        read(p)  # pandas renamed the copy and the first one was used, silently


def test_band_column_of_huge_whole_floats_is_kept_as_names(tmp_path):
    """Found by test_random_export_tables: a float band column holding 9.2e18 made the
    whole-number cast to Int64 raise a pandas TypeError instead of reading the file."""
    p = tmp_path / "star.csv"
    p.write_text("mjd,mag,magerr,filter\n"
                 + "".join(f"{58000 + i},{17 + 0.01 * i},0.02,9.223372036854776e+18\n"
                           for i in range(6)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = read(p)
    assert len(out) == 1 and len(out[0]) == 6
