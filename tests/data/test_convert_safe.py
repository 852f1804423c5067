"""`skyfm data convert` never loses or mixes data: tables without errors round-trip, empty
input writes nothing, --overwrite replaces the destination whole."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

from skyfm.data import LightCurve, read
from skyfm.data.layout import write_dataset
from skyfm.errors import DataFormatError


@pytest.fixture(scope="module")
def cli_app():
    from skyfm.cli import _register, app

    _register()
    return app


def test_table_without_error_column_round_trips(tmp_path, cli_app):
    src = tmp_path / "noerr.csv"
    src.write_text("object_id,time,band,mag\na,1,g,10\na,2,g,10.5\na,3,g,10.2\nb,1,g,11\n"
                   "b,2,g,11.1\n")
    res = CliRunner().invoke(cli_app, ["data", "convert", str(src), str(tmp_path / "ds")])
    assert res.exit_code == 0, res.output
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing dropped on the way back
        back = read(tmp_path / "ds")
    assert sorted(o.object_id for o in back) == ["a", "b"]
    assert sum(len(o) for o in back) == 5
    assert all(np.isnan(o.error).all() for o in back)  # errors unknown, kept as NaN


def test_errors_on_some_detections_only_is_a_clear_error(tmp_path):
    a = LightCurve([1.0, 2.0], [18.0, 18.1], [0.1, 0.1], "g", object_id="a")
    b = LightCurve([1.0, 2.0], [18.0, 18.1], [np.nan, np.nan], "g", object_id="b")
    with pytest.raises(DataFormatError, match=r"2 detection\(s\) without an error.*'b'"):
        write_dataset([a, b], tmp_path / "ds")
    assert not (tmp_path / "ds").exists()
    assert list(tmp_path.iterdir()) == []  # no partial directory left beside it


def test_header_only_table_is_an_error_and_writes_nothing(tmp_path, cli_app):
    src = tmp_path / "hdr.csv"
    src.write_text("object_id,time,band,mag,mag_err\n")
    res = CliRunner().invoke(cli_app, ["data", "convert", str(src), str(tmp_path / "ds")])
    assert res.exit_code != 0
    assert isinstance(res.exception, DataFormatError)
    assert "hdr.csv" in str(res.exception) and "header only" in str(res.exception)
    assert not (tmp_path / "ds").exists()
    with pytest.raises(DataFormatError, match="no observations to write"):
        write_dataset([], tmp_path / "ds2")
    assert not (tmp_path / "ds2").exists()


def test_overwrite_replaces_the_whole_destination(tmp_path, cli_app):
    old = [LightCurve([1.0, 2.0], [18.0, 18.1], [0.1, 0.1], "g", object_id=f"old{i}",
                      label="rrlyr") for i in range(3)]
    write_dataset(old, tmp_path / "ds")
    assert (tmp_path / "ds" / "labels.csv").is_file()
    (tmp_path / "ds" / "notes.txt").write_text("stale")
    src = tmp_path / "new.csv"
    src.write_text("object_id,time,band,mag,mag_err\nn,1,g,10,0.1\nn,2,g,10.5,0.1\n")
    res = CliRunner().invoke(cli_app, ["data", "convert", str(src), str(tmp_path / "ds")])
    assert res.exit_code != 0 and "not empty" in str(res.exception)
    res = CliRunner().invoke(cli_app, ["data", "convert", str(src), str(tmp_path / "ds"),
                                       "--overwrite"])
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in (tmp_path / "ds").iterdir())
    assert "notes.txt" not in names and "labels.csv" not in names  # no stale files
    assert "run.json" in names and "dataset.json" in names
    assert [o.object_id for o in read(tmp_path / "ds")] == ["n"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "new.csv"]
