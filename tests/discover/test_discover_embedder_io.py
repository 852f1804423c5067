"""The fitted embedder a discovery OUT holds (embedder.json + .npz, no pickle) re-embeds
observations exactly as discovery did, so `skyfm index query --file` works on that OUT."""

from __future__ import annotations

import json

import numpy as np
import pytest
from discover_synth import make_images, make_lightcurves, make_outlier_lc, make_spectra, make_table
from typer.testing import CliRunner

from skyfm.cli import _register, app
from skyfm.discover import discover
from skyfm.discover.embed import (
    EMBEDDER_ARRAYS,
    EMBEDDER_JSON,
    as_list,
    load_embedder,
)
from skyfm.errors import DataFormatError, DataNotFoundError
from skyfm.models.lightcurve_embedder import LightCurveEmbedder

_register()
runner = CliRunner()
FAST = {"n_members": 0, "n_noise": 0, "top": 2, "report": False}


def _lcs_features_only():
    return make_lightcurves(40) + [make_outlier_lc()], {"embedder": LightCurveEmbedder(encoder=None)}


@pytest.mark.parametrize("make", [lambda: (make_spectra(), {}), lambda: (make_images(), {}),
                                  lambda: ([make_table()], {}), _lcs_features_only],
                         ids=["spectra", "images", "table", "lightcurves"])
def test_saved_embedder_reproduces_embeddings(tmp_path, make):
    obs, kw = make()
    discover(obs, tmp_path, **FAST, **kw)
    assert (tmp_path / EMBEDDER_JSON).is_file() and (tmp_path / EMBEDDER_ARRAYS).is_file()
    with np.load(tmp_path / EMBEDDER_ARRAYS, allow_pickle=False) as z:
        assert all(z[k].dtype == float for k in z.files)  # plain arrays only
    X = np.load(tmp_path / "embeddings.npy")
    emb = load_embedder(tmp_path)
    np.testing.assert_allclose(emb.transform(as_list(obs)), X, atol=1e-4)


def test_load_embedder_errors(tmp_path):
    with pytest.raises(DataNotFoundError, match="no saved embedder"):
        load_embedder(tmp_path)
    discover(make_lightcurves(30), tmp_path, embedder=LightCurveEmbedder(encoder=None), **FAST)
    p = json.loads((tmp_path / EMBEDDER_JSON).read_text())
    (tmp_path / EMBEDDER_JSON).write_text(json.dumps({**p, "class": "Nope"}))
    with pytest.raises(DataFormatError, match="unknown embedder class"):
        load_embedder(tmp_path)


@pytest.mark.slow
def test_index_query_by_file_on_a_discover_out_finds_the_object(tmp_path):
    """Discovery with the real encoder (53-D: encoder PCA + scaled features) -> index ->
    query with one object's own file: the object itself comes first."""
    from skyfm.data import read
    from skyfm.data.layout import write_dataset
    from skyfm.sim import simulate_lightcurves

    sims = list(simulate_lightcurves(8, classes=["rrab", "eb_detached", "mira"], seed=1))
    data, out = tmp_path / "data", tmp_path / "out"
    write_dataset(sims, data)
    obs = read(data)
    discover(obs, out, **FAST)
    summary = json.loads((out / "summary.json").read_text())
    X = np.load(out / "embeddings.npy")
    if "skyfm-lc-base" not in summary["encoder"]:
        pytest.skip(f"light-curve encoder unavailable: {summary['encoder']}")
    assert X.shape[1] > 40  # encoder components and features, not the encoder alone
    np.testing.assert_allclose(load_embedder(out).transform(list(obs)), X, atol=1e-4)
    res = runner.invoke(app, ["index", "build", str(out), "--out", str(out / "index")])
    assert res.exit_code == 0, res.output
    target = sims[5]
    one = tmp_path / "one"
    write_dataset([target], one)
    res = runner.invoke(app, ["index", "query", str(out / "index"), "--file", str(one),
                              "--k", "3", "--json"])
    assert res.exit_code == 0, res.output
    hits = json.loads(res.output)[str(target.object_id)]
    assert hits[0]["object_id"] == str(target.object_id)
    assert hits[0]["score"] > 0.999
