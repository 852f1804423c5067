"""skyfm detect: classical detection and aperture photometry, scoring against a reference."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table
from tests_images_helpers import STARS, field_wcs, write_field
from typer.testing import CliRunner

from skyfm.errors import DataFormatError, OutputExistsError
from skyfm.images.crossmatch import read_reference, score
from skyfm.images.detect import (
    DetectConfig,
    detect_classical,
    measure,
    prepare,
    write_catalogue,
)


def test_finds_and_measures_the_stars(tmp_path):
    cfg = DetectConfig(fwhm=2.8, aperture=4.0, box=16)
    prep = prepare(write_field(tmp_path), cfg)
    table = measure(prep, detect_classical(prep, cfg), cfg)
    assert len(table) == len(STARS)
    assert str(table["flux"].unit) == "mJy"
    # MJy/sr on 1 arcsec pixels: a pixel sum of 1 is 1e9 mJy x (1/206264.8)^2 sr
    to_mjy = 1e9 * (np.pi / 180 / 3600) ** 2
    for x, y, f in STARS:
        d = np.hypot(table["x"].value - x, table["y"].value - y)
        i = int(np.argmin(d))
        assert d[i] < 0.2
        expect = f * (1 - np.exp(-(4.0**2) / (2 * 1.2**2))) * to_mjy  # light in the aperture
        assert abs(table["flux"].value[i] - expect) < 4 * table["flux_err"].value[i]
        sky = field_wcs().pixel_to_world(table["x"].value[i], table["y"].value[i])
        assert abs(sky.ra.deg - table["ra"].value[i]) < 1e-9
    assert table.meta["flux_err"].startswith("background noise only")


def test_no_celestial_wcs_is_a_clear_error(tmp_path):
    with pytest.raises(DataFormatError, match="CTYPE1/CTYPE2.*no celestial WCS"):
        prepare(write_field(tmp_path, wcs=False))


def test_several_bands_are_refused(tmp_path):
    with pytest.raises(DataFormatError, match="3 bands"):
        prepare(write_field(tmp_path, bands=3))


def test_bad_settings_are_refused():
    with pytest.raises(DataFormatError, match="fwhm"):
        DetectConfig(fwhm=0).check()


def test_catalogue_is_not_overwritten_and_keeps_units(tmp_path):
    prep = prepare(write_field(tmp_path), DetectConfig(box=16))
    table = measure(prep, detect_classical(prep, DetectConfig(fwhm=2.8)))
    out = write_catalogue(table, tmp_path / "cat.ecsv")
    back = Table.read(out)
    assert str(back["flux"].unit) == "mJy" and len(back) == len(table)
    with pytest.raises(OutputExistsError):
        write_catalogue(table, out)
    csv = write_catalogue(table, tmp_path / "cat.csv")
    assert "flux=mJy" in csv.read_text().splitlines()[0]


def test_cli_writes_a_catalogue(tmp_path):
    from skyfm.cli import _register, app

    _register()
    path = write_field(tmp_path)
    out = tmp_path / "c.ecsv"
    args = ["detect", str(path), "--out", str(out), "--fwhm", "2.8", "--box", "16"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert len(Table.read(out)) == len(STARS)
    res = CliRunner().invoke(app, args)
    assert res.exit_code != 0 and isinstance(res.exception, OutputExistsError)


def test_reference_without_coordinates_is_a_clear_error(tmp_path):
    path = tmp_path / "ref.ecsv"
    Table({"x": [1.0], "y": [2.0]}).write(path)
    with pytest.raises(DataFormatError, match="ra/dec.*no coordinate columns"):
        read_reference(path)


def test_score_counts_matches_and_false_detections():
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    ref = SkyCoord([10.0, 10.01, 10.02] * u.deg, [0.0, 0.0, 0.0] * u.deg)
    det = Table({"ra": [10.0, 10.01 + 0.5 / 3600, 10.05], "dec": [0.0, 0.0, 0.0],
                 "flux": [100.0, 60.0, 80.0]})
    s = score(det, ref, np.array([100.0, 60.0, 55.0]), radius_arcsec=2.0)
    assert s.completeness == pytest.approx(2 / 3)
    assert s.purity == pytest.approx(2 / 3)  # all three are above 0.7 x 55 mJy
    assert s.median_sep_arcsec == pytest.approx(0.25, abs=1e-6)


@pytest.mark.shared_data
def test_spitzer_glimpse_completeness(shared_data):
    root = shared_data("images_fits_photutils_datasets")
    prep = prepare(root / "spitzer_example_image.fits")
    table = measure(prep, detect_classical(prep))
    coords, flux = read_reference(root / "spitzer_example_catalog.xml")
    s = score(table, coords, flux, wcs=prep.wcs, shape=prep.data.shape)
    assert s.n_reference == 224
    assert s.completeness > 0.9
    assert s.median_sep_arcsec < 1.0
    assert 0.7 < s.flux_ratio < 1.3  # aperture fluxes agree with GLIMPSE's 4.5 um fluxes
