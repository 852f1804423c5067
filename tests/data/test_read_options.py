"""The shared CLI read options (--column, --duplicates) and read_input."""

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from skyfm.cli import _register, app
from skyfm.cli.read_options import parse_columns, read_input

_register()
runner = CliRunner()


def test_parse_columns():
    assert parse_columns(["time=HJD", "mag=V,mag_err=eV"]) == {"time": "HJD", "mag": "V",
                                                               "mag_err": "eV"}
    assert parse_columns(["time=0,mag=1", "band="]) == {"time": 0, "mag": 1, "band": None}
    assert parse_columns(None) is None
    for bad in (["tme=HJD"], ["time"], ["time=a", "time=b"]):
        with pytest.raises(typer.BadParameter):
            parse_columns(bad)


def _odd_table(tmp_path):
    f = tmp_path / "star42.csv"
    pd.DataFrame({"when": [2458000.5, 2458001.5, 2458001.5], "V": [12.0, 12.1, 12.3],
                  "eV": [0.01, 0.02, 0.02]}).to_csv(f, index=False)
    return f


def test_read_input_passes_only_given_options(tmp_path):
    f = _odd_table(tmp_path)
    from skyfm.errors import DataFormatError

    # 'when' does not name a time system and holds Julian dates: a clear error, not a guess
    with pytest.raises(DataFormatError, match="look like Julian dates"):
        read_input(f, columns=["time=when,mag=V,mag_err=eV"])
    with pytest.warns(UserWarning, match="repeated"):
        obs = read_input(f, columns=["time=when,mag=V,mag_err=eV"], time_format="jd")
    assert len(obs) == 1 and obs[0].object_id == "star42" and len(obs[0]) == 2
    assert obs[0].time.tolist() == [58000.0, 58001.0]


def test_data_info_with_columns_and_duplicates(tmp_path):
    f = _odd_table(tmp_path)
    res = runner.invoke(app, ["data", "info", str(f), "--column", "time=when",
                              "--column", "mag=V,mag_err=eV", "--duplicates", "first",
                              "--time-format", "jd"])
    assert res.exit_code == 0, res.output
    assert "LightCurve 1" in res.output and "2 (0 upper limits)" in res.output
    res = runner.invoke(app, ["data", "info", str(f), "--column", "time=when,mag=V",
                              "--duplicates", "error", "--time-format", "jd"])
    assert res.exit_code != 0 and "duplicate" in str(res.exception)
    res = runner.invoke(app, ["data", "info", str(f), "--column", "tim=when"])
    assert res.exit_code != 0 and "KEY=COL" in res.output
