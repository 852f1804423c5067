import numpy as np
import pytest

from skyfm.data import Catalog, Image, LightCurve, ObservationSet, Spectrum
from skyfm.errors import DataFormatError


def _lc(**kw):
    t = np.array([3.0, 1.0, 2.0, 1.0])
    args = dict(time=t, value=[15.1, 15.0, 15.2, 16.0], error=[0.01, 0.02, 0.01, 0.05],
                band=["g", "g", "g", "r"], object_id="a")
    args.update(kw)
    return LightCurve(**args)


def test_lightcurve_sorts_by_time_and_lists_bands():
    lc = _lc()
    assert np.all(np.diff(lc.time) >= 0)
    assert lc.bands == ["g", "r"]
    assert len(lc.band_data("r")) == 1


@pytest.mark.parametrize("field,kw", [
    ("time", dict(time=[1.0, np.nan, 2.0, 3.0])),
    ("error", dict(error=[0.1, -0.1, 0.1, 0.1])),
    ("value", dict(value=[1.0, np.inf, 2.0, 3.0])),
    ("time", dict(time=[1.0, 1.0, 2.0, 3.0], band=["g", "g", "r", "r"])),
    ("band", dict(band=["g", "r"])),
])
def test_lightcurve_rejects_bad_input_naming_the_field(field, kw):
    with pytest.raises(DataFormatError) as err:
        _lc(**kw)
    assert err.value.field == field


def test_fold_normalize_and_flux_round_trip():
    t = np.linspace(0, 10, 200)
    lc = LightCurve(t, 15 + 0.3 * np.sin(2 * np.pi * t / 0.7), np.full(200, 0.01), "V")
    folded = lc.fold(0.7)
    assert folded.time.min() >= 0 and folded.time.max() < 1
    assert folded.meta["period"] == 0.7
    norm = lc.normalize()
    assert abs(np.median(norm.value)) < 1e-9
    back = lc.to_flux().to_mag()
    np.testing.assert_allclose(back.value, lc.value, rtol=1e-10)
    np.testing.assert_allclose(back.error, lc.error, rtol=1e-8)


def test_nonpositive_flux_becomes_upper_limit():
    lc = LightCurve([1, 2], [10.0, -3.0], [1.0, 1.0], "r", kind="flux", flux_unit="uJy")
    mag = lc.to_mag()
    assert mag.upper_limit.tolist() == [False, True]
    assert np.isfinite(mag.value).all()


def test_spectrum_units_resample_and_validation():
    w = np.linspace(1.0, 2.0, 101)
    s = Spectrum(w, np.ones(101) * 2, ivar=np.full(101, 4.0), wavelength_unit="um")
    np.testing.assert_allclose(s.error, 0.5)
    aa = s.to_unit("Angstrom")
    assert aa.wavelength[0] == pytest.approx(10000.0)
    r = s.resample(np.linspace(0.5, 1.5, 11))
    assert r.mask[:5].all() and not r.mask[6:].any()
    assert s.normalize().flux == pytest.approx(1.0)
    with pytest.raises(DataFormatError) as err:
        Spectrum(w[::-1], np.ones(101))
    assert err.value.field == "wavelength"
    with pytest.raises(DataFormatError) as err:
        Spectrum(w, np.ones(101), wavelength_unit="furlong/s")
    assert err.value.field == "wavelength_unit"


def test_image_and_catalog_and_plots(tmp_path):
    img = Image(np.random.default_rng(0).normal(size=(3, 32, 32)), ["g", "r", "i"], object_id="x")
    assert img.resize(16).shape == (3, 16, 16)
    assert img.normalize("minmax").data.max() <= 1
    with pytest.raises(DataFormatError):
        Image(np.zeros((2, 3, 4, 5)))
    cat = Catalog({"object_id": ["a", "b"], "u": [19.0, 20.0], "g": [18.0, 18.5], "cls": ["S", "Q"]},
                  label_column="cls", units={"u": "mag"})
    assert cat.feature_columns == ["u", "g"]
    sdss_like = Catalog({"objid": [1.2e18, 1.3e18], "ra": [10.0, 11.0], "plate": [3306, 3307],
                         "u": [19.0, 20.0], "redshift": [0.1, 2.0]})
    assert sdss_like.feature_columns == ["u", "redshift"]
    assert cat.quantity("u").unit.to_string() == "mag"
    ax = _lc().plot()
    assert "mag" in ax.get_ylabel() and "MJD" in ax.get_xlabel()
    ax = Spectrum(np.linspace(1, 2, 10), np.ones(10), wavelength_unit="um").plot()
    assert "um" in ax.get_xlabel() or "micron" in ax.get_xlabel()
    obs = ObservationSet([_lc()])
    assert obs.object_ids == ["a"]
    assert obs.report.summary().startswith("1 objects")
