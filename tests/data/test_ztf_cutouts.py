"""ZTF alert cutouts read as images (``read(..., modality='image')``): a real packet, the
no-data fill of a template at a detector edge, corrupt stamps and packets without cutouts."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
from data_synth import write_avro, ztf_alert

from skyfm.data import Image, read
from skyfm.errors import DataFormatError

EDGE = "pittgoogle_alerts_for_testing/ZTF18acyizaa.1703222170415010089.ztf_20210831_programid1.avro"


def _fits_stamp(arr) -> bytes:
    from astropy.io import fits

    buf = io.BytesIO()
    fits.PrimaryHDU(np.asarray(arr, np.float32)).writeto(buf)
    return gzip.compress(buf.getvalue())


def test_real_packet_gives_its_cutouts_with_ids_position_and_provenance(shared_data):
    f = shared_data("ztf_alerts_sample") / EDGE
    obs = read(f, modality="image")
    assert len(obs) == 1
    img = obs[0]
    assert isinstance(img, Image) and img.object_id == "ZTF18acyizaa"
    assert img.bands == ["science", "template", "difference"] and img.shape == (3, 63, 63)
    assert img.meta["candid"] == 1703222170415010089
    assert img.meta["ra"] == pytest.approx(247.151184)
    assert img.meta["dec"] == pytest.approx(16.1746831)
    assert 0 <= img.meta["drb"] <= 1  # ZTF's own real-bogus score travels along
    assert img.provenance.survey == "ZTF" and img.provenance.file == str(f)
    assert img.pixel_scale == pytest.approx(1.012)  # no WCS in these stamps: ra/dec in meta
    # this stamp is at a detector edge: its template's no-data pixels hold -3.4e38
    assert np.nanmin(img.data) > -1e30                  # not passed on as flux
    assert np.isnan(img.data[1]).sum() == 876 and img.mask[1].sum() >= 876
    assert any("876 pixel(s) of cutout.template hold the fill value" in w and "ZTF18acyizaa" in w
               for w in obs.report.warnings)


def test_decam_packet_in_the_folder_is_read_as_its_own_survey(shared_data):
    imgs = read(shared_data("ztf_alerts_sample") / "pittgoogle_misc", modality="image").by_id()
    dc = imgs["DC21baaa"]
    assert dc.provenance.survey == "DECam DECAT" and dc.shape == (3, 51, 51)
    assert dc.pixel_scale is None  # ZTF's 1.012"/pixel is not assumed for DECam


def test_fill_pixels_of_a_synthetic_stamp_become_masked_nan(tmp_path):
    rec = ztf_alert()
    t = np.ones((8, 8), np.float32)
    t[:, :3] = -3.4028235e38
    rec["cutoutTemplate"] = {"fileName": "t", "stampData": _fits_stamp(t)}
    img = read(write_avro(tmp_path / "a.avro", [rec]), modality="image")[0]
    assert np.isnan(img.data[1, :, :3]).all() and img.mask[1, :, :3].all()
    assert np.isfinite(img.data[0]).all() and np.isfinite(img.data[1, :, 3:]).all()


@pytest.mark.parametrize("stamp,what", [
    (b"\x1f\x8bnot gzip", "not gzip"),
    (gzip.compress(b"SIMPLE  =  garbage, not a FITS header" * 3), "not FITS"),
    (_fits_stamp(np.ones((8, 8)))[:40], "truncated"),
])
def test_corrupt_stamp_names_the_file_and_the_cutout(tmp_path, stamp, what):
    rec = ztf_alert()
    rec["cutoutDifference"] = {"fileName": "d", "stampData": stamp}
    f = write_avro(tmp_path / "bad_stamp.avro", [rec])
    with pytest.raises(DataFormatError) as ei:
        read(f, modality="image")
    assert ei.value.field == "cutout.difference", what
    assert "bad_stamp.avro" in str(ei.value) and "gzipped FITS" in str(ei.value)


def test_packet_without_cutouts_is_a_clear_error_alone_and_reported_in_a_folder(tmp_path):
    f = write_avro(tmp_path / "al" / "none.avro", [ztf_alert(oid="ZTF21nocut", cutouts=False)])
    with pytest.raises(DataFormatError) as ei:
        read(f, modality="image")
    assert ei.value.field == "cutoutScience" and "none.avro" in str(ei.value)
    write_avro(tmp_path / "al" / "ok.avro", [ztf_alert(oid="ZTF21withcut")])
    obs = read(tmp_path / "al", modality="image")
    assert obs.object_ids == ["ZTF21withcut"]
    assert any("have no cutouts" in w and "ZTF21nocut" in w for w in obs.report.warnings)
