"""`skyfm serve` beyond this machine: token, Host check, body limit, bad values, offline docs."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from fastapi.testclient import TestClient
from serve_helpers import make_out_dir

from skyfm.serve import create_app
from skyfm.serve.security import Guard, allowed_hosts_for, is_loopback

TOKEN = "s3cret-token-for-tests-0123456789"
LOCAL = "http://127.0.0.1"


@pytest.fixture(scope="module")
def shared_out(tmp_path_factory):
    """One OUT directory for the read-only tests (none of them may write feedback)."""
    return make_out_dir(tmp_path_factory.mktemp("shared") / "out")


@pytest.fixture(scope="module")
def client(shared_out):
    return TestClient(create_app(shared_out), base_url=LOCAL)


@pytest.fixture
def locked(out_dir):
    """An app that needs TOKEN (as `skyfm serve --host 0.0.0.0` makes)."""
    return TestClient(create_app(out_dir, token=TOKEN), base_url=LOCAL)


# --------------------------------------------------------------------------- token


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("localhost", True),
                                       ("::1", True), ("[::1]", True), ("127.0.0.2", True),
                                       ("0.0.0.0", False), ("::", False), ("", False),
                                       ("192.168.1.5", False), ("sky.example.org", False)])
def test_is_loopback(host, loop):
    assert is_loopback(host) is loop


def test_loopback_keeps_working_without_a_token():
    from skyfm.cli.serve_cmd import serve_access

    token, generated, hosts = serve_access("127.0.0.1", None, [], env={})
    assert token is None and not generated and "localhost" in hosts


def test_beyond_loopback_a_token_is_required():
    from skyfm.cli.serve_cmd import serve_access

    token, generated, _ = serve_access("0.0.0.0", None, [], env={})
    assert generated and len(token) >= 40
    assert serve_access("0.0.0.0", None, [], env={})[0] != token  # fresh each run
    env = {"SKYFM_SERVE_TOKEN": "from-the-environment-1234"}
    assert serve_access("10.0.0.7", None, [], env=env)[:2] == ("from-the-environment-1234",
                                                                False)
    assert serve_access("10.0.0.7", TOKEN, [], env=env)[:2] == (TOKEN, False)  # --token wins


def test_a_guessable_token_is_refused():
    import typer

    from skyfm.cli.serve_cmd import serve_access

    with pytest.raises(typer.BadParameter, match="16-256 characters"):
        serve_access("0.0.0.0", "abc", [], env={})


def test_serve_command_prints_the_generated_token_once(out_dir, monkeypatch):
    """`skyfm serve --host 0.0.0.0` (uvicorn.run replaced: nothing is bound)."""
    import uvicorn
    from typer.testing import CliRunner

    from skyfm.cli import _register, app

    ran = {}
    monkeypatch.setattr(uvicorn, "run", lambda application, **kw: ran.update(app=application,
                                                                               **kw))
    monkeypatch.delenv("SKYFM_SERVE_TOKEN", raising=False)
    _register()
    res = CliRunner().invoke(app, ["serve", str(out_dir), "--host", "0.0.0.0", "--port", "8765",
                                   "--allowed-host", "sky.example.org"])
    assert res.exit_code == 0, res.output
    assert ran["host"] == "0.0.0.0" and ran["port"] == 8765
    tokens = re.findall(r"\?token=([A-Za-z0-9_-]+)", res.output)
    assert len(tokens) == 1 and len(tokens[0]) >= 40
    assert res.output.count(tokens[0]) == 1  # printed once
    web = TestClient(ran["app"], base_url="http://sky.example.org:8765")
    assert web.get("/api/candidates").status_code == 401
    assert web.get("/api/candidates",
                   headers={"Authorization": f"Bearer {tokens[0]}"}).status_code == 200


def test_missing_or_wrong_token_is_401_everywhere(locked):
    for path in ("/", "/api/candidates", "/api/feedback", "/api/similar/odd0", "/plots/odd0.png",
                 "/docs", "/openapi.json", "/static-offline-docs/swagger-ui.css"):
        r = locked.get(path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == "Bearer" and "token" in r.json()["detail"]
        bad = locked.get(path, headers={"Authorization": "Bearer " + TOKEN[:-1] + "X"})
        assert bad.status_code == 401, path
    r = locked.post("/api/feedback", json={"object_id": "odd0", "label": "boring"})
    assert r.status_code == 401
    assert locked.get("/api/candidates", headers={"Authorization": "Bearer café".encode()}
                      ).status_code == 401  # non-ASCII: refused, not a 500
    ok = locked.get("/api/candidates", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.json()["total"] == 196


def test_the_printed_url_sets_a_cookie_the_page_then_uses(locked, out_dir):
    r = locked.get(f"/?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"  # token leaves the URL bar
    cookie = r.headers["set-cookie"]
    assert f"skyfm_token_80={TOKEN}" in cookie and "HttpOnly" in cookie  # named by port
    assert "SameSite=Strict" in cookie
    # the TestClient keeps the cookie, as a browser does: page, fetches and plots work
    page = locked.get("/")
    assert page.status_code == 200 and "/api/candidates" in page.text
    assert locked.get("/api/candidates").json()["total"] == 196
    assert locked.post("/api/feedback", json={"object_id": "odd0",
                                              "label": "boring"}).status_code == 200
    assert locked.get("/plots/odd0.png").status_code == 200
    assert locked.get("/docs").status_code == 200


def test_the_cookie_is_found_among_other_apps_cookies(out_dir):
    """Cookies are shared by all ports of 127.0.0.1 (Jupyter's and others'): a malformed
    one must not hide skyfm's, and another port's skyfm cookie is not this server's."""
    app = create_app(out_dir, token=TOKEN)
    messy = f'_xsrf=2|4f|b2|1; odd="a b"c; skyfm_token_8888=other-token; skyfm_token_80={TOKEN}'
    assert TestClient(app, base_url=LOCAL).get("/api/feedback", headers={
        "Cookie": messy}).status_code == 200
    assert TestClient(app, base_url=LOCAL).get("/api/feedback", headers={
        "Cookie": f"skyfm_token_8888={TOKEN}"}).status_code == 401


def test_the_schema_declares_the_bearer_token(locked):
    schema = locked.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert schema["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    assert schema["security"] == [{"token": []}]


# --------------------------------------------------------------------------- Host header


def test_a_foreign_host_header_is_400(out_dir):
    app = create_app(out_dir)
    for base in ("http://evil.example", "http://127.0.0.1.evil.example:8000",
                 "http://192.168.1.5:8000"):
        r = TestClient(app, base_url=base).get("/api/candidates")
        assert r.status_code == 400 and "--allowed-host" in r.json()["detail"], base
    for base in ("http://localhost:8000", "http://127.0.0.1", "http://[::1]:8000"):
        assert TestClient(app, base_url=base).get("/api/candidates").status_code == 200, base
    more = create_app(out_dir, allowed_hosts=allowed_hosts_for("192.168.1.5", ["sky.lan"]))
    for base in ("http://192.168.1.5:8000", "http://SKY.lan", "http://localhost"):
        assert TestClient(more, base_url=base).get("/api/candidates").status_code == 200, base
    assert TestClient(more, base_url="http://evil.example").get("/").status_code == 400


def test_allowed_hosts_of_a_wildcard_bind_name_this_machine():
    import socket

    hosts = allowed_hosts_for("0.0.0.0")
    assert socket.gethostname().lower() in hosts and "0.0.0.0" not in hosts
    assert {"localhost", "127.0.0.1", "::1"} <= set(hosts)
    assert allowed_hosts_for("[::1]") == ["localhost", "127.0.0.1", "::1"]


# --------------------------------------------------------------------------- body size


def _run_guard(headers, chunks, max_body=1024):
    """Drive :class:`Guard` by hand; returns (status, response body, chunks read, app called)."""
    sent, read, called = [], [0], []

    async def app(scope, receive, send):  # pragma: no cover - must not be reached
        called.append(True)

    async def receive():
        i = read[0]
        read[0] += 1
        if i < len(chunks):
            return {"type": "http.request", "body": chunks[i], "more_body": i < len(chunks) - 1}
        return {"type": "http.disconnect"}

    async def send(msg):
        sent.append(msg)

    scope = {"type": "http", "method": "POST", "path": "/api/feedback", "query_string": b"",
             "headers": [(b"host", b"127.0.0.1:8000")] + headers}
    guard = Guard(app, allowed_hosts=["127.0.0.1"], max_body=max_body)
    asyncio.run(guard(scope, receive, send))
    return sent[0]["status"], sent[1]["body"], read[0], bool(called)


def test_a_body_claiming_200_mb_is_refused_unread():
    status, body, read, called = _run_guard([(b"content-length", b"209715200")], [b"x" * 10])
    assert status == 413 and read == 0 and not called
    assert b"x" not in body.replace(b"bytes", b"").replace(b"max", b"")


def test_a_chunked_body_is_cut_off_at_the_limit():
    chunks = [b"y" * 512] * 10_000  # 5 MB, streamed without Content-Length
    status, body, read, called = _run_guard([], chunks)
    assert status == 413 and read == 3 and not called and b"yyy" not in body


def test_a_large_body_is_413_never_parsed_nor_echoed(out_dir):
    client = TestClient(create_app(out_dir, max_body=4096), base_url=LOCAL)
    big = json.dumps({"object_id": "odd0", "label": "boring", "pad": "z" * 1_000_000})
    r = client.post("/api/feedback", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "4096" in r.json()["detail"] and "zzz" not in r.text
    assert len(r.content) < 300
    assert not (out_dir / "feedback.csv").exists()

    def stream():  # chunked: no Content-Length
        yield b'{"object_id": "odd0", "label": "boring", "pad": "'
        for _ in range(100):
            yield b"z" * 10_000
        yield b'"}'

    r = client.post("/api/feedback", content=stream(),
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and "zzz" not in r.text
    assert not (out_dir / "feedback.csv").exists()
    # the default limit (64 KiB) is far above a real feedback body
    ok = client.post("/api/feedback", json={"object_id": "odd0", "label": "boring"})
    assert ok.status_code == 200


# --------------------------------------------------------------------------- bad values


BAD_BODIES = [
    b'{"object_id": NaN, "label": "boring"}',
    b'{"object_id": Infinity, "label": "boring"}',
    b'{"object_id": -Infinity, "label": "interesting"}',
    b'{"object_id": 1e999, "label": "boring"}',
    b'{"object_id": ' + b"9" * 5000 + b', "label": "boring"}',
    b'{"object_id": "", "label": "boring"}',
    b'{"object_id": "' + b"q" * 20_000 + b'", "label": "boring"}',
    b'{"object_id": "odd0", "label": NaN}',
    b'{"object_id": ["odd0"], "label": "boring"}',
    b'{"object_id": {"$gt": ""}, "label": "boring"}',
    b'{"object_id": null, "label": "boring"}',
    b'{"object_id": "odd0", "label": "boring", "extra": 1}',
    b'{"object_id": "nobody", "label": "boring"}',
    b"[]", b"null", b"{", b"", b"\xff\xfe\x00", b'"odd0"',
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_bad_feedback_is_4xx_json_without_echo(client, shared_out, body):
    r = client.post("/api/feedback", content=body, headers={"content-type": "application/json"})
    assert r.status_code in (400, 404, 422), r.text[:300]
    assert isinstance(r.json()["detail"], (str, list))
    assert len(r.content) < 1000 and "qqqqqqqqqq" not in r.text and "99999999999" not in r.text
    assert not (shared_out / "feedback.csv").exists()


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": -1}, {"limit": 10**30},
                                    {"limit": "nan"}, {"limit": "1e999"}, {"limit": "inf"},
                                    {"limit": 10_001}, {"offset": -5}, {"offset": 10**12},
                                    {"include_boring": "perhaps"}])
def test_absurd_candidate_queries_are_422(client, params):
    r = client.get("/api/candidates", params=params)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][0] == "query"
    assert "input" not in r.json()["detail"][0]


@pytest.mark.parametrize("path,status", [("/api/similar/odd0?k=0", 422),
                                         ("/api/similar/odd0?k=nan", 422),
                                         ("/api/similar/odd0?k=1000000000", 422),
                                         ("/api/similar/NaN", 404),
                                         ("/api/similar/" + "w" * 300, 422),
                                         ("/api/similar/%00", 404)])
def test_bad_similar_requests_are_4xx(client, path, status):
    r = client.get(path)
    assert r.status_code == status and "wwwwwwwwww" not in r.text


def test_unknown_query_parameters_are_422_not_ignored(client, shared_out):
    r = client.get("/api/candidates", params={"limt": 5})  # a typo of limit
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["query", "limt"], "type": "extra_forbidden",
                                   "msg": "unknown query parameter; this route takes "
                                          "['include_boring', 'limit', 'offset']"}]
    assert client.get("/api/feedback", params={"all": 1}).status_code == 422
    r = client.post("/api/feedback?force=1", json={"object_id": "odd0", "label": "boring"})
    assert r.status_code == 422 and not (shared_out / "feedback.csv").exists()
    assert client.get("/api/candidates", params={"limit": 2, "token": "x"}).status_code == 200


def test_the_schema_declares_every_status(client):
    schema = client.get("/openapi.json").json()
    for path, ops in schema["paths"].items():
        for op in ops.values():
            assert {"200", "400", "401", "413", "422", "503"} <= set(op["responses"]), path
            assert op["responses"]["422"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Invalid"}
    assert "404" in schema["paths"]["/api/feedback"]["post"]["responses"]
    assert "404" in schema["paths"]["/api/similar/{object_id}"]["get"]["responses"]


# --------------------------------------------------------------------------- docs


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_work_offline(client, page):
    r = client.get(page)
    assert r.status_code == 200
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", r.text), r.text
    refs = re.findall(r"""(?:src|href|spec-url|url:)\s*=?\s*["']([^"']+)["']""", r.text)
    assert any(u.endswith(".js") for u in refs) and "/openapi.json" in refs
    for url in refs:
        assert url.startswith("/") and client.get(url).status_code == 200, url
    if page == "/docs":
        assert client.get("/static-offline-docs/swagger-ui-bundle.js").headers[
            "content-type"].startswith(("text/javascript", "application/javascript"))
