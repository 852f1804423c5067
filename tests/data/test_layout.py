import numpy as np
import pandas as pd
import pytest
from data_synth import write_eros

from skyfm.data import Catalog, Image, LightCurve, Spectrum, read
from skyfm.data.layout import is_dataset, load_dataset, write_dataset
from skyfm.errors import DataFormatError, DataNotFoundError


def _same_lcs(a, b):
    assert a.object_ids == b.object_ids
    assert a.labels == b.labels
    for x, y in zip(a, b):
        assert np.array_equal(x.time, y.time)
        assert np.array_equal(x.value, y.value)
        assert np.array_equal(x.error, y.error, equal_nan=True)
        assert x.band.tolist() == y.band.tolist()
        assert np.array_equal(x.upper_limit, y.upper_limit)
        assert x.kind == y.kind and x.flux_unit == y.flux_unit
        assert x.meta == y.meta


def test_synthetic_eros_round_trip(tmp_path):
    obs = read(write_eros(tmp_path / "eros", n=6))
    out = write_dataset(obs, tmp_path / "ds")
    assert is_dataset(out)
    back = load_dataset(out)
    _same_lcs(obs, back)
    _same_lcs(obs, read(out))


@pytest.mark.slow
def test_real_eros_round_trip(shared_data, tmp_path):
    obs = read(shared_data("lc_eros_ramp_variable_stars"))
    write_dataset(obs, tmp_path / "eros_ds")
    back = load_dataset(tmp_path / "eros_ds")
    assert len(back) == len(obs) == 2912
    _same_lcs(obs, back)


def test_user_csv_layout_flux_upper_limits_and_numeric_labels(tmp_path):
    d = tmp_path / "user"
    d.mkdir()
    pd.DataFrame({"object_id": ["a", "a", "a", "b", "b"],
                  "time": [59000.0, 59001.0, 59000.5, 59000.0, 59002.0],
                  "band": ["g", "g", "r", "r", "r"],
                  "flux": [10.0, 12.0, 9.0, 1.0, 2.0], "flux_err": [1.0, 1.0, 1.0, np.nan, 0.5],
                  "upper_limit": [False, False, False, True, False]}).to_csv(
        d / "observations.csv", index=False)
    pd.DataFrame({"object_id": ["a", "b"], "label": [3, 7]}).to_csv(d / "labels.csv",
                                                                    index=False)
    obs = read(d)
    assert obs.object_ids == ["a", "b"] and obs.labels == [3, 7]
    a = obs.by_id()["a"]
    assert a.kind == "flux" and a.time.tolist() == [59000.0, 59000.5, 59001.0]
    assert a.band.tolist() == ["g", "r", "g"]
    b = obs.by_id()["b"]
    assert b.upper_limit.tolist() == [True, False]  # NaN error allowed on an upper limit
    assert obs.report.dropped == {}


def test_layout_bad_inputs(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    base = {"object_id": ["a", "a"], "time": [1.0, 2.0], "band": ["g", "g"],
            "mag": [18.0, 18.1], "mag_err": [0.1, 0.1]}
    pd.DataFrame({**base, "time": [1.0, 1.0]}).to_csv(d / "observations.csv", index=False)
    with pytest.raises(DataFormatError, match="duplicate"):
        load_dataset(d, duplicates="error")
    with pytest.raises(DataFormatError, match="duplicate"):
        load_dataset(d, strict=True)
    merged = load_dataset(d)  # repeated points are combined by default, and counted
    assert len(merged[0]) == 1 and sum(merged.report.dropped.values()) == 1
    pd.DataFrame({**base, "mag_err": [0.1, -1.0]}).to_csv(d / "observations.csv", index=False)
    with pytest.raises(DataFormatError, match="negative"):
        load_dataset(d)
    pd.DataFrame({k: v for k, v in base.items() if k != "time"}).to_csv(
        d / "observations.csv", index=False)
    with pytest.raises(DataFormatError) as ei:
        load_dataset(d)
    assert ei.value.field == "time"
    pd.DataFrame({**base, "mag": [18.0, np.inf]}).to_csv(d / "observations.csv", index=False)
    with pytest.warns(UserWarning):
        obs = load_dataset(d)
    assert obs.report.dropped == {"non-finite mag": 1} and len(obs[0]) == 1
    with pytest.raises(DataFormatError):
        load_dataset(d, strict=True)
    with pytest.raises(DataNotFoundError):
        load_dataset(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataFormatError, match="not a skyfm dataset"):
        load_dataset(empty)


def test_spectra_images_tables_round_trip(tmp_path):
    w = np.linspace(1.0, 2.0, 50)
    s1 = Spectrum(w, np.ones(50), error=np.full(50, 0.1), wavelength_unit="um",
                  object_id="s1", label="L5.0")
    s2 = Spectrum(w * 1e4, np.arange(50.0), wavelength_unit="Angstrom", object_id="s2")
    img = Image(np.random.default_rng(0).normal(size=(3, 8, 8)), ["g", "r", "i"],
                object_id="g1", label=2)
    cat = Catalog(pd.DataFrame({"name": ["x", "y"], "f1": [1.0, 2.0], "cls": ["A", "B"]}),
                  id_column="name", label_column="cls", units={"f1": "mag"})
    write_dataset([s1, s2, img, cat], tmp_path / "mix")
    back = load_dataset(tmp_path / "mix")
    by = {type(o).__name__ + str(getattr(o, "object_id", "")): o for o in back}
    b1, b2 = by["Spectrum" + "s1"], by["Spectrum" + "s2"]
    assert np.array_equal(b1.wavelength, w) and str(b1.wavelength_unit) == "um"
    assert b1.label == "L5.0" and np.allclose(b1.error, 0.1)
    assert np.all(np.isnan(b2.error)) and b2.wavelength_unit.to_string() == "Angstrom"
    bi = by["Imageg1"]
    assert bi.bands == ["g", "r", "i"] and np.array_equal(bi.data, img.data) and bi.label == 2
    bc = [o for o in back if isinstance(o, Catalog)][0]
    assert bc.object_ids.tolist() == ["x", "y"] and bc.labels.tolist() == ["A", "B"]
    assert bc.units == {"f1": "mag"}


def test_spectra_without_unit_column_guess_with_warning(tmp_path):
    d = tmp_path / "sp"
    d.mkdir()
    pd.DataFrame({"object_id": ["a"] * 3, "wavelength": [5000.0, 5001.0, 5002.0],
                  "flux": [1.0, 2.0, 3.0]}).to_parquet(d / "spectra.parquet")
    with pytest.warns(UserWarning, match="guessed"):
        obs = read(d)
    assert str(obs[0].wavelength_unit) == "Angstrom"
    pd.DataFrame({"object_id": ["a"] * 2, "wavelength": [1.0, 2.0], "flux": [1.0, 2.0],
                  "wavelength_unit": ["parsec_per_hour"] * 2}).to_parquet(d / "spectra.parquet")
    with pytest.raises(DataFormatError) as ei:
        read(d)
    assert ei.value.field == "wavelength_unit"


def test_write_refuses_mixed_kinds_and_nonempty_dir(tmp_path):
    a = LightCurve([1.0], [18.0], [0.1], "g", object_id="a")
    b = LightCurve([1.0], [5.0], [0.1], "g", kind="flux", flux_unit="uJy", object_id="b")
    with pytest.raises(DataFormatError, match="mix"):
        write_dataset([a, b], tmp_path / "m")
    write_dataset([a], tmp_path / "n")
    with pytest.raises(DataFormatError, match="not empty"):
        write_dataset([a], tmp_path / "n")
    write_dataset([a], tmp_path / "n", overwrite=True)


def test_plasticc_like_point_meta_round_trip(tmp_path):
    from data_synth import write_plasticc

    obs = read(write_plasticc(tmp_path / "p"))
    write_dataset(obs, tmp_path / "ds")
    back = load_dataset(tmp_path / "ds")
    _same_lcs_no_meta = [(a.object_id, b.object_id) for a, b in zip(obs, back)]
    assert all(x == y for x, y in _same_lcs_no_meta)
    for a, b in zip(obs, back):
        assert np.array_equal(a.meta["detected"], b.meta["detected"])
        assert a.meta["true_z"] == b.meta["true_z"] and a.label == b.label
        assert a.flux_unit == b.flux_unit == "FLUXCAL (zp 27.5 AB)"


def test_galaxyzoo_convert_copies_jpegs_and_keeps_bands(tmp_path):
    from PIL import Image as PILImage

    (tmp_path / "gz" / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    PILImage.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(
        tmp_path / "gz" / "images" / "42.jpeg")
    pd.DataFrame({"OBJID": ["42"], "CLASS": [1]}).to_csv(tmp_path / "gz" / "labels.csv",
                                                         index=False)
    obs = read(tmp_path / "gz")
    write_dataset(obs, tmp_path / "ds")
    copied = tmp_path / "ds" / "images" / "42.jpeg"
    assert copied.read_bytes() == (tmp_path / "gz" / "images" / "42.jpeg").read_bytes()
    back = read(tmp_path / "ds")
    assert back[0].bands == ["i", "r", "g"] and back[0].label == "clockwise_spiral"
    assert np.array_equal(back[0].data, obs[0].data)
