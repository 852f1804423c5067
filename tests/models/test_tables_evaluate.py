"""``skyfm evaluate`` on catalogue directories (generic layout): numeric labels -> regression
rows with the photo-z metrics, class labels -> the classification JSON shape; the modality
comes from the registry."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from skyfm.cli import _register, app
from skyfm.data.layout import write_dataset
from skyfm.data.observations import Catalog

_register()


@pytest.fixture(autouse=True)
def _one_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _catalogue(path, n, seed, numeric):
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.0, 0.5, n)
    mags = 18 + np.outer(z, [3.0, 2.0, 1.0]) + rng.normal(0, 0.02, (n, 3))
    df = pd.DataFrame({"object_id": [f"s{seed}_{i}" for i in range(n)], "u": mags[:, 0],
                       "g": mags[:, 1], "r": mags[:, 2],
                       "label": z if numeric else np.where(z > 0.25, "far", "near")})
    write_dataset([Catalog(df, label_column="label")], path)
    return path


def test_evaluate_tables_regression_rows(tmp_path):
    tr = _catalogue(tmp_path / "train", 240, 0, True)
    te = _catalogue(tmp_path / "test", 120, 1, True)
    out = tmp_path / "r.json"
    r = CliRunner().invoke(app, ["evaluate", "--train", str(tr), "--test", str(te),
                                 "--labels-per-class", "all", "--redshift", "--members", "1",
                                 "--json", str(out)],
                           terminal_width=200)
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["modality"] == "table" and res["task"] == "regression" and res["redshift"]
    assert {row["method"] for row in res["rows"]} == {"skyfm", "baseline"}
    for row in res["rows"]:
        for k in ("mae", "rmse", "sigma_nmad", "outlier_fraction", "coverage_68",
                  "coverage_95"):
            assert np.isfinite(row[k]), k
        assert row["mae"] < 0.1  # the colours carry z: far better than the 0.125 of a guess
        assert 0.3 <= row["coverage_68"] <= 1 and row["coverage_95"] >= row["coverage_68"]
    assert "skyfm evaluate (table, regression" in r.output


def test_evaluate_tables_classification_shape(tmp_path):
    from skyfm.train.evaluate_embedded import evaluate_embedded, load_observations

    tr = load_observations(_catalogue(tmp_path / "train", 160, 2, False))
    te = load_observations(_catalogue(tmp_path / "test", 80, 3, False))
    res = evaluate_embedded(tr, te, [10, "all"], n_draws=2, n_members=1)
    assert res["task"] == "classification" and res["classes"] == ["far", "near"]
    keys = {(row["method"], row["labels_per_class"]) for row in res["rows"]}
    assert keys == {(m, k) for m in ("skyfm", "baseline") for k in (10, "all")}
    for row in res["rows"]:
        assert set(row["per_class_recall"]) == {"far", "near"}
        assert row["accuracy"] > (0.7 if row["labels_per_class"] == "all" else 0.4)
    with pytest.raises(Exception, match="not a number"):
        evaluate_embedded(tr, te, ["all"], task="regression")


def test_evaluate_spectra_directory_goes_through_the_registry(tmp_path):
    from skyfm.data.observations import Spectrum
    from skyfm.train.evaluate_embedded import evaluate_embedded, load_observations

    w = np.linspace(4000, 7000, 300)

    def spectra(path, n, seed):
        rng = np.random.default_rng(seed)
        depth = rng.uniform(0.1, 0.8, n)  # the label: the line's depth
        obs = [Spectrum(w, 1 - d * np.exp(-0.5 * ((w - 6563) / 10) ** 2)
                        + rng.normal(0, 0.01, w.size), np.full(w.size, 0.01),
                        object_id=f"sp{seed}_{i}", label=float(d))
               for i, d in enumerate(depth)]
        write_dataset(obs, path)
        return load_observations(path)

    res = evaluate_embedded(spectra(tmp_path / "tr", 120, 0), spectra(tmp_path / "te", 60, 1),
                            ["all"], n_members=1)
    assert res["modality"] == "spectrum" and res["task"] == "regression"
    by = {r["method"]: r for r in res["rows"]}
    assert by["skyfm"]["mae"] < 0.1 and by["baseline"]["mae"] < 0.2  # label range 0.1..0.8
