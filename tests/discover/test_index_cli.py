"""`skyfm index build|query` on a small discover-style OUT directory."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from skyfm.cli import _register, app
from skyfm.data.observations import LightCurve, ObservationSet

_register()
runner = CliRunner()


@pytest.fixture
def out(tmp_path):
    rng = np.random.default_rng(3)
    x = np.vstack([rng.normal(c, 0.1, (20, 8)) for c in (-1.0, 1.0)]).astype(np.float32)
    np.save(tmp_path / "embeddings.npy", x)
    (tmp_path / "object_ids.txt").write_text("\n".join(f"s{i}" for i in range(40)) + "\n")
    return tmp_path


def test_build_then_query_by_id(out):
    res = runner.invoke(app, ["index", "build", str(out), "--out", str(out / "index"),
                              "--kind", "hnsw"])
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "index" / "index.json").read_text())
    assert meta["kind"] == "hnsw" and meta["dim"] == 8 and meta["count"] == 40
    res = runner.invoke(app, ["index", "query", str(out / "index"), "--id", "s3", "--k", "5",
                              "--json"])
    assert res.exit_code == 0, res.output
    hits = json.loads(res.output)["s3"]
    assert hits[0]["object_id"] == "s3"
    # the first 20 objects form one cluster, so all neighbours come from it
    assert all(int(h["object_id"][1:]) < 20 for h in hits)


def test_build_add_extends_the_index(out, tmp_path):
    runner.invoke(app, ["index", "build", str(out), "--out", str(out / "index")])
    more = tmp_path / "more"
    more.mkdir()
    np.save(more / "embeddings.npy", np.full((2, 8), 5.0, np.float32))
    (more / "object_ids.txt").write_text("new1\nnew2\n")
    res = runner.invoke(app, ["index", "build", str(more), "--out", str(out / "index"), "--add"])
    assert res.exit_code == 0, res.output
    assert "added 2 vectors" in res.output
    assert json.loads((out / "index" / "index.json").read_text())["count"] == 42


def test_query_by_observation_file_embeds_it(out, tmp_path, monkeypatch):
    import skyfm.data
    from skyfm.cli import serve_cmd

    runner.invoke(app, ["index", "build", str(out), "--out", str(out / "index")])
    lc = LightCurve(np.arange(5.0), np.ones(5), 0.1 * np.ones(5), "g", object_id="q1")
    seen = {}

    class StubEncoder:
        embed_dim = 8

        def embed(self, lcs):
            seen["lcs"] = lcs
            return np.full((len(lcs), 8), 1.0, np.float32)  # lies in the second cluster

    monkeypatch.setattr(skyfm.data, "read", lambda path: ObservationSet([lc]))
    monkeypatch.setattr(serve_cmd, "_encoder", lambda model: StubEncoder())
    obs_file = tmp_path / "q1.csv"
    obs_file.write_text("stub")
    res = runner.invoke(app, ["index", "query", str(out / "index"), "--file", str(obs_file),
                              "--k", "3", "--json"])
    assert res.exit_code == 0, res.output
    hits = json.loads(res.output)["q1"]
    assert len(hits) == 3 and all(int(h["object_id"][1:]) >= 20 for h in hits)
    assert seen["lcs"][0] is lc


def test_query_needs_exactly_one_of_id_or_file(out):
    runner.invoke(app, ["index", "build", str(out), "--out", str(out / "index")])
    res = runner.invoke(app, ["index", "query", str(out / "index")])
    assert res.exit_code != 0 and "exactly one of --id or --file" in res.output
    res = runner.invoke(app, ["index", "query", str(out / "index"), "--id", "nope"])
    assert res.exit_code != 0 and "not in the index" in res.output


class SavedEmbedder:
    """Stands in for discovery's fitted embedder (embedder.json + embedder.npz)."""

    def transform(self, obs):
        return np.full((len(obs), 8), -1.0, np.float32)  # lies in the first cluster


def test_query_by_file_prefers_the_saved_embedder_and_checks_dims(out, tmp_path, monkeypatch):
    import skyfm.data
    import skyfm.discover.embed
    from skyfm.cli import serve_cmd
    from skyfm.errors import SkyfmError

    runner.invoke(app, ["index", "build", str(out), "--out", str(out / "index")])
    lc = LightCurve(np.arange(5.0), np.ones(5), 0.1 * np.ones(5), "g", object_id="q2")
    monkeypatch.setattr(skyfm.data, "read", lambda path: ObservationSet([lc]))

    class WrongDim:
        embed_dim = 128

        def embed(self, lcs):
            raise AssertionError("must not be called")

    monkeypatch.setattr(serve_cmd, "_encoder", lambda model: WrongDim())
    obs_file = tmp_path / "q2.csv"
    obs_file.write_text("stub")
    res = runner.invoke(app, ["index", "query", str(out / "index"), "--file", str(obs_file)])
    assert isinstance(res.exception, SkyfmError)
    assert "8-D vectors but encoder 'skyfm-lc-base' makes 128-D" in str(res.exception)
    # the discover OUT the index was built from holds the fitted embedder: it is used
    (out / skyfm.discover.embed.EMBEDDER_JSON).write_text("{}")
    monkeypatch.setattr(skyfm.discover.embed, "load_embedder", lambda d: SavedEmbedder())
    res = runner.invoke(app, ["index", "query", str(out / "index"), "--file", str(obs_file),
                              "--k", "3", "--json"])
    assert res.exit_code == 0, res.output
    assert all(int(h["object_id"][1:]) < 20 for h in json.loads(res.output)["q2"])


@pytest.mark.slow
def test_query_by_file_end_to_end_with_the_real_encoder_and_reader(tmp_path):
    """Index raw skyfm-lc-base embeddings; a file holding a new Mira finds Miras."""
    from skyfm.data.layout import write_dataset
    from skyfm.sim import simulate_lightcurves

    try:
        from skyfm.models.lightcurve import LightCurveEncoder

        enc = LightCurveEncoder.from_pretrained("skyfm-lc-base")
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"skyfm-lc-base not available: {exc}")
    obs = list(simulate_lightcurves(10, classes=["rrab", "mira", "microlensing"], seed=0))
    np.save(tmp_path / "emb.npy", enc.embed(obs))
    (tmp_path / "object_ids.txt").write_text("\n".join(o.object_id for o in obs) + "\n")
    write_dataset(list(simulate_lightcurves(1, classes=["mira"], seed=7)), tmp_path / "q")
    res = runner.invoke(app, ["index", "build", str(tmp_path / "emb.npy"), "--out",
                              str(tmp_path / "ix")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["index", "query", str(tmp_path / "ix"), "--file",
                              str(tmp_path / "q" / "observations.parquet"), "--k", "3", "--json"])
    assert res.exit_code == 0, res.output
    hits = next(iter(json.loads(res.output).values()))
    assert all("mira" in h["object_id"] for h in hits)
