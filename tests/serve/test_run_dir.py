"""`skyfm serve` on partial or damaged run directories, and the CLI's error messages."""

from __future__ import annotations

import sys

import pytest
from fastapi.testclient import TestClient

from skyfm.errors import DataFormatError
from skyfm.serve import create_app

LOCAL = "http://127.0.0.1"


def _cut(path, n_bytes: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:-n_bytes])


@pytest.mark.parametrize("n_bytes", [1, 30, 60, 90])
def test_truncated_candidates_are_refused_clearly(out_dir, n_bytes):
    _cut(out_dir / "candidates.csv", n_bytes)  # a run killed while writing
    with pytest.raises(DataFormatError, match=r"candidates\.csv.*truncated"):
        create_app(out_dir)


def test_a_cut_rank_names_the_line(out_dir):
    path = out_dir / "candidates.csv"
    lines = path.read_text().splitlines()
    oid = lines[5].split(",")[0]
    lines[5] = f"{oid},0.5"  # the rest of the row lost
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"candidates\.csv: field 'rank'.* on line 6"):
        create_app(out_dir)


@pytest.mark.parametrize("text,match", [
    ("", "empty"),
    ("object_id,score,rank\na,1.0,1\na,0.5,2\n", "'a' repeated on line 3"),
    ("object_id,score,rank\na,1.0,1\n,0.5,2\n", "empty object id on line 3"),
    ("object_id,score,rank\na,1.0,1\nb,high,2\n", "field 'score'.*'high' on line 3"),
    ("object_id,score,rank\na,1.0,1\nb,0.5,2.5\n", "field 'rank'.*'2.5' on line 3"),
    ("object_id,score,rank\na,1.0,1\nb,0.5,1,x,y\n", "not a readable CSV"),
    ("score,rank\n1.0,1\n", "field 'object_id'"),
])
def test_damaged_candidates_are_refused_clearly(out_dir, text, match):
    (out_dir / "candidates.csv").write_text(text)
    with pytest.raises(DataFormatError, match=match):
        create_app(out_dir)


def test_feedback_with_a_damaged_last_line_never_gives_500(out_dir):
    """A run whose feedback.csv was cut mid-write: refused with a clear error, or served
    (once the feedback loader skips the partial line) without a single 5xx."""
    (out_dir / "feedback.csv").write_text("object_id,label,timestamp,source\n"
                                          "odd1,boring,2026-01-01T00:00:00+00:00,web\n"
                                          "odd2,bor")
    try:
        app = create_app(out_dir)
    except DataFormatError as exc:
        assert "feedback.csv" in str(exc)
        return
    client = TestClient(app, base_url=LOCAL, raise_server_exceptions=False)
    assert client.get("/api/candidates").status_code == 200
    assert client.get("/api/feedback").status_code == 200
    r = client.post("/api/feedback", json={"object_id": "odd3", "label": "boring"})
    assert r.status_code in (200, 503)  # served, or refused clearly: never a 500


def test_feedback_damaged_while_serving_is_a_clear_503(out_dir):
    client = TestClient(create_app(out_dir), base_url=LOCAL, raise_server_exceptions=False)
    (out_dir / "feedback.csv").write_text("who,what\nodd1,boring\n")  # not skyfm's columns
    r = client.get("/api/feedback")
    assert r.status_code == 503 and "feedback.csv: field 'object_id'" in r.json()["detail"]
    r = client.post("/api/feedback", json={"object_id": "odd0", "label": "boring"})
    assert r.status_code == 503 and "feedback.csv" in r.json()["detail"]
    assert (out_dir / "feedback.csv").read_text() == "who,what\nodd1,boring\n"  # not appended


def test_unparsable_feedback_is_refused_naming_the_file(out_dir):
    (out_dir / "feedback.csv").write_text("object_id,label\nodd1,boring,x,y,z\n")
    with pytest.raises(DataFormatError, match=r"feedback\.csv: line 2 has 5 fields"):
        create_app(out_dir)


def _main(monkeypatch, *args) -> int:
    from skyfm.cli import main

    monkeypatch.setattr(sys, "argv", ["skyfm", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return exc.value.code


def test_missing_extra_message_keeps_its_brackets(out_dir, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if `skyfm[serve]` were absent
    assert _main(monkeypatch, "serve", str(out_dir)) == 2
    err = capsys.readouterr().err
    assert "pip install 'skyfm[serve]'" in err and "uvicorn" in err


def test_serve_refuses_a_truncated_run_with_a_one_line_error(out_dir, monkeypatch, capsys):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not serve"))
    _cut(out_dir / "candidates.csv", 20)
    assert _main(monkeypatch, "serve", str(out_dir)) == 2
    err = capsys.readouterr().err
    assert "candidates.csv" in err and "truncated" in err and "Traceback" not in err
