"""Choosing what to observe (skyfm.models.active, ``skyfm select``): proposals never repeat a
labelled object, learn from the labels given, find a rare class; the command's files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from skyfm.cli import _register, app
from skyfm.errors import DataFormatError
from skyfm.models.active import propose

_register()


@pytest.fixture(autouse=True)
def _one_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _blobs(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.08, "rare", np.where(rng.random(n) < 0.5, "a", "b"))
    centre = {"a": (0, 0), "b": (3, 0), "rare": (1.5, 3)}
    X = np.array([centre[c] for c in y]) + rng.standard_normal((n, 2)) * 0.6
    return X, y


@pytest.mark.parametrize("strategy", ["skyfm", "uncertainty", "random", "discovery"])
def test_proposals_are_new_objects_and_as_many_as_asked(strategy):
    X, y = _blobs()
    labels = {i: y[i] for i in range(0, 60, 2)}
    idx, score = propose(X, labels, 15, strategy, target="rare")
    assert idx.size == 15 == np.unique(idx).size == score.size
    assert not set(idx.tolist()) & set(labels)
    cold, _ = propose(X, {}, 10, strategy, target="rare")  # no labels yet
    assert np.unique(cold).size == 10


def test_skyfm_learns_from_labels_and_discovery_finds_the_rare_class():
    X, y = _blobs()
    labels = {i: y[i] for i in range(40)}
    idx, _ = propose(X, labels, 20, "skyfm")
    # the informative objects lie between the classes, not deep inside one blob
    assert np.median(np.abs(X[idx, 0] - 1.5)) < np.median(np.abs(X[:, 0] - 1.5))
    found, _ = propose(X, labels, 20, "discovery", target="rare")
    rnd, _ = propose(X, labels, 20, "random")
    assert (y[found] == "rare").sum() >= 3 * max(1, (y[rnd] == "rare").sum())


def test_bad_requests_are_named():
    X, y = _blobs(50)
    with pytest.raises(ValueError, match="strategy"):
        propose(X, {}, 5, "greedy")
    with pytest.raises(DataFormatError, match="outside the pool"):
        propose(X, {99: "a"}, 5)
    with pytest.raises(ValueError, match="target"):
        propose(X, {i: y[i] for i in range(20)}, 5, "discovery")


def test_select_command_proposes_from_a_catalogue(tmp_path):
    from skyfm.data.layout import write_dataset
    from skyfm.data.observations import Catalog

    X, y = _blobs(300)
    table = pd.DataFrame({"object_id": [f"o{i}" for i in range(300)], "u": X[:, 0],
                          "g": X[:, 1]})
    write_dataset([Catalog(table)], tmp_path / "pool")
    pd.DataFrame({"object_id": [f"o{i}" for i in range(30)], "label": y[:30]}).to_csv(
        tmp_path / "seen.csv", index=False)
    r = CliRunner().invoke(app, ["select", str(tmp_path / "pool"), "--budget", "7", "--labels",
                                 str(tmp_path / "seen.csv"), "--out", str(tmp_path / "next.csv")],
                           terminal_width=200)
    assert r.exit_code == 0, r.output
    out = pd.read_csv(tmp_path / "next.csv")
    assert len(out) == 7 and not set(out["object_id"]) & {f"o{i}" for i in range(30)}
    assert set(out["predicted"]) <= set(y)
    # an id that is not in the pool is named, not ignored
    pd.DataFrame({"object_id": ["nope"], "label": ["a"]}).to_csv(tmp_path / "bad.csv",
                                                                 index=False)
    r = CliRunner().invoke(app, ["select", str(tmp_path / "pool"), "--budget", "3",
                                 "--labels", str(tmp_path / "bad.csv")])
    assert isinstance(r.exception, DataFormatError) and "nope" in str(r.exception)


@pytest.mark.shared_data
def test_sdss_discovery_finds_more_qsos_than_random(shared_data):
    from skyfm.benchmarks.select import load_sdss_embedded, simulate

    X, y, pool, test = load_sdss_embedded(shared_data("catalog_sdss_dr14_skyserver10k"),
                                          n=1000)
    assert X.shape == (1000, 9)  # ugriz + 4 colours; redshift and class never enter
    disc = simulate(X, y, pool, test, "discovery", 60, 20, target="QSO")
    rnd = simulate(X, y, pool, test, "random", 60, 20, target="QSO")
    assert disc["found"][-1] >= 2 * max(1, rnd["found"][-1])
    assert len(disc["accuracy"]) == 3 and 0.5 < rnd["accuracy"][-1] <= 1


def test_skyfm_refinements_still_propose_new_distinct_objects():
    X, y = _blobs()
    labels = {i: y[i] for i in range(40)}
    idx, score = propose(X, labels, 12, "skyfm", committee=True, density_power=0.25,
                         spread=True)
    assert np.unique(idx).size == 12 and not set(idx.tolist()) & set(labels)
    assert np.all(np.isfinite(score))
