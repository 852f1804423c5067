"""The JSON API of `skyfm serve` with FastAPI's TestClient."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from serve_helpers import GEM, ODD

from skyfm.serve import create_app


@pytest.fixture
def client(out_dir):
    return TestClient(create_app(out_dir), base_url="http://127.0.0.1")


def test_page_is_served(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "/api/candidates" in r.text and "fb-interesting" in r.text


def test_candidates_in_discovery_order_with_all_fields(client):
    r = client.get("/api/candidates", params={"limit": 10})
    assert r.status_code == 200
    data = r.json()
    assert data["total"] == 196 and data["n_feedback"] == 0 and len(data["items"]) == 10
    first = data["items"][0]
    assert first["object_id"] == "odd0" and first["rank"] == 1 and first["prior_rank"] == 1
    assert first["reason"] == "reason for odd0" and first["feedback"] == ""
    assert 0 <= first["epistemic"] <= 0.3 and 0 <= first["aleatoric"] <= 0.3
    assert len(first["neighbours"]) == 3 and first["neighbours"][0].startswith("odd")
    assert first["plot_url"] == "/plots/odd0.png" and first["extra"]["label"] == "odd"
    assert [c["rank"] for c in data["items"]] == list(range(1, 11))
    page2 = client.get("/api/candidates", params={"limit": 5, "offset": 5}).json()["items"]
    assert [c["object_id"] for c in page2] == [c["object_id"] for c in data["items"][5:]]
    # the plot is served, and the last candidates have no plot
    assert client.get("/plots/odd0.png").headers["content-type"] == "image/png"
    last = client.get("/api/candidates", params={"limit": 1, "offset": 195}).json()["items"][0]
    assert last["plot_url"] is None


def test_feedback_reranks(client, out_dir):
    r = client.post("/api/feedback", json={"object_id": "odd0", "label": "boring"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label"] == "boring" and body["new_rank"] == 196 and body["n_feedback"] == 1
    assert "odd0,boring," in (out_dir / "feedback.csv").read_text()
    items = client.get("/api/candidates", params={"limit": 196}).json()["items"]
    rank = {c["object_id"]: c["rank"] for c in items}
    assert items[0]["object_id"] != "odd0" and items[-1]["feedback"] == "boring"
    # the other odd objects dropped from ranks 2-8
    assert sum(rank[o] for o in ODD[1:]) / 7 > 30
    # one interesting gem lifts the other gems to the top
    client.post("/api/feedback", json={"object_id": "gem3", "label": "interesting"})
    data = client.get("/api/candidates", params={"limit": 196}).json()
    assert data["n_feedback"] == 2
    rank = {c["object_id"]: c["rank"] for c in data["items"]}
    assert sorted(rank[g] for g in GEM) == list(range(1, 9))
    assert client.get("/api/feedback").json()[1]["object_id"] == "gem3"
    hidden = client.get("/api/candidates", params={"limit": 500, "include_boring": False}).json()
    assert hidden["total"] == 195


def test_feedback_rejects_bad_input(client):
    assert client.post("/api/feedback", json={"object_id": "nobody",
                                              "label": "boring"}).status_code == 404
    assert client.post("/api/feedback", json={"object_id": "odd0",
                                              "label": "maybe"}).status_code == 422
    assert client.post("/api/feedback", json={"label": "boring"}).status_code == 422


def test_similar_uses_the_index(client, out_dir):
    r = client.get("/api/similar/gem2", params={"k": 5})
    assert r.status_code == 200
    data = r.json()
    assert data["metric"] == "cosine"
    ids = [n["object_id"] for n in data["neighbours"]]
    assert ids[0] == "gem2" and all(i.startswith("gem") for i in ids)
    assert client.get("/api/similar/nobody").status_code == 404


def test_similar_prefers_a_saved_index(out_dir):
    import numpy as np

    from skyfm.discover.index import SimilarityIndex

    # an index over different ids: the app must use it, not rebuild from embeddings.npy
    SimilarityIndex(metric="l2").build(np.eye(3, 4), ["x", "y", "z"]).save(out_dir / "index")
    client = TestClient(create_app(out_dir), base_url="http://localhost")
    data = client.get("/api/similar/y", params={"k": 2}).json()
    assert data["metric"] == "l2" and data["neighbours"][0]["object_id"] == "y"


def test_without_embeddings_feedback_still_moves_the_labelled(out_dir):
    (out_dir / "embeddings.npy").unlink()
    client = TestClient(create_app(out_dir), base_url="http://localhost")
    client.post("/api/feedback", json={"object_id": "odd0", "label": "boring"})
    items = client.get("/api/candidates", params={"limit": 3}).json()["items"]
    assert [c["object_id"] for c in items] == ["odd1", "odd2", "odd3"]
    assert client.get("/api/similar/odd1").status_code == 404


def test_missing_out_dir_is_a_clear_error(tmp_path):
    from skyfm.errors import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="candidates.csv"):
        create_app(tmp_path)
