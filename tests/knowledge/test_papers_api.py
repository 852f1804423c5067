"""REST: POST /v1/papers/search and POST /v1/ask of `skyfm serve --papers-index`, behind the
same token / Host / body-size guard as the rest of the service."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serve"))
from serve_helpers import make_out_dir

from skyfm.serve import create_app

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return make_out_dir(tmp_path_factory.mktemp("serve") / "out")


@pytest.fixture(scope="module")
def client(out_dir, built_index):
    return TestClient(create_app(out_dir, papers_index=built_index), base_url="http://127.0.0.1")


def test_search_endpoint(client):
    r = client.post("/v1/papers/search", json={"query": "SAMP hub", "k": 2})
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert len(res) == 2 and res[0]["id"].startswith("pyvo docs: samp/")
    assert set(res[0]) >= {"id", "title", "score", "snippet", "passage_id"}
    r = client.post("/v1/papers/search", json={"query": "galaxies", "k": 5,
                                               "categories": ["astro-ph.CO"]})
    assert all("astro-ph.CO" in x["categories"] for x in r.json()["results"])


def test_ask_endpoint_cites_pyvo_docs(client):
    r = client.post("/v1/ask", json={"question": "what is pyvo?"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "extractive"
    assert body["statements"][0]["citations"][0].startswith("pyvo docs: ")
    assert "[pyvo docs: " in body["answer"]


def test_bad_requests_are_422_without_echo(client):
    r = client.post("/v1/papers/search", json={"query": "", "k": 0, "typo": 1})
    assert r.status_code == 422
    assert {tuple(p["loc"]) for p in r.json()["detail"]} >= {("body", "query"), ("body", "k"),
                                                            ("body", "typo")}
    assert client.post("/v1/ask", json={"question": "x" * 3000}).status_code == 422


def test_routes_keep_token_host_and_size_guards(out_dir, built_index):
    app = create_app(out_dir, papers_index=built_index, token=TOKEN, max_body=2000)
    c = TestClient(app, base_url="http://127.0.0.1")
    assert c.post("/v1/ask", json={"question": "what is pyvo?"}).status_code == 401
    ok = c.post("/v1/papers/search", json={"query": "SAMP"},
                headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    big = c.post("/v1/papers/search", json={"query": "a " * 2000},
                 headers={"Authorization": f"Bearer {TOKEN}"})
    assert big.status_code == 413
    evil = TestClient(app, base_url="http://evil.example")
    assert evil.post("/v1/papers/search", json={"query": "SAMP"},
                     headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 400


def test_without_papers_index_the_routes_do_not_exist(out_dir):
    c = TestClient(create_app(out_dir), base_url="http://127.0.0.1")
    assert c.post("/v1/ask", json={"question": "what is pyvo?"}).status_code == 404


def test_server_sees_documents_added_after_it_started(out_dir, built_index, tmp_path):
    """The service keeps the index open; an add by another PaperIndex (another process, e.g.
    `skyfm papers index`) bumps the index's generation and the next request reopens it."""
    import shutil

    from skyfm.knowledge.documents import Document
    from skyfm.knowledge.index import PaperIndex, index_generation

    path = tmp_path / "papers"
    shutil.copytree(built_index, path)
    c = TestClient(create_app(out_dir, papers_index=path), base_url="http://127.0.0.1")
    query = {"query": "quokka magnetar bolometer", "k": 3, "mode": "sparse"}
    before = c.post("/v1/papers/search", json=query).json()["results"]
    assert all(r["id"] != "arXiv:9999.12345" for r in before)
    gen = index_generation(path)
    writer = PaperIndex(path)
    writer.add([Document("arXiv:9999.12345", "A quokka magnetar observed with a bolometer.",
                         "arxiv", "test", title="Quokka magnetars")])
    writer.close()
    assert index_generation(path) == gen + 1
    after = c.post("/v1/papers/search", json={**query, "mode": "hybrid"}).json()["results"]
    assert after and after[0]["id"] == "arXiv:9999.12345"
    r = c.post("/v1/ask", json={"question": "What was observed with a bolometer?"})
    assert "arXiv:9999.12345" in r.text
