"""``skyfm sim`` commands."""

import numpy as np
from typer.testing import CliRunner

from skyfm.cli import _register, app

runner = CliRunner()


def test_sim_lightcurves_writes_generic_layout(tmp_path):
    _register()
    out = tmp_path / "lc"
    res = runner.invoke(
        app,
        [
            "sim",
            "lightcurves",
            "--n",
            "3",
            "--survey",
            "ogle",
            "--classes",
            "rrab,flare",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert (out / "observations.parquet").is_file() and (out / "labels.csv").is_file()
    from skyfm.data.layout import load_dataset

    obs = load_dataset(out)
    assert sorted(obs.labels) == ["flare"] * 3 + ["rrab"] * 3
    assert set(obs[0].bands) <= {"I", "V"} and np.isfinite(obs[0].time).all()


def test_sim_galaxies_and_help(tmp_path):
    _register()
    res = runner.invoke(
        app, ["sim", "galaxies", "--n", "1", "--size", "32", "--rare", "--out", str(tmp_path / "g")]
    )
    assert res.exit_code == 0, res.output
    assert "5 images" in res.output
    res = runner.invoke(app, ["sim", "--help"])
    assert res.exit_code == 0 and "lightcurves" in res.output and "check" in res.output


def test_sim_lightcurves_rejects_unknown_survey(tmp_path):
    _register()
    res = runner.invoke(
        app, ["sim", "lightcurves", "--n", "1", "--survey", "hubble", "--out", str(tmp_path / "x")]
    )
    assert res.exit_code != 0 and "unknown survey" in res.output
