"""skyfm.outputs (atomic files, run directories, run.json) and its users: discover --out,
safe plot file names, corrupt index and embedding files."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pandas as pd
import pytest
from discover_synth import make_table
from typer.testing import CliRunner

from skyfm import outputs
from skyfm.discover import discover
from skyfm.discover import feedback as fbk
from skyfm.discover.explain import safe_filename
from skyfm.discover.index import SimilarityIndex, load_embeddings
from skyfm.errors import (
    DataFormatError,
    DataNotFoundError,
    IncompleteOutputError,
    OutputExistsError,
)

FAST = {"top": 1, "n_noise": 0, "n_members": 2, "report": False, "scorers": ["knn"]}


@pytest.fixture(scope="module")
def cli_app():
    from skyfm.cli import _register, app

    _register()
    return app


# --------------------------------------------------------------------------- single files


def test_atomic_file_keeps_the_old_file_when_writing_fails(tmp_path):
    p = tmp_path / "a.csv"
    outputs.write_text(p, "old\n")
    with pytest.raises(RuntimeError), outputs.atomic_file(p) as fh:
        fh.write("half of the new")
        raise RuntimeError("crash")
    assert p.read_text() == "old\n"
    assert [f.name for f in tmp_path.iterdir()] == ["a.csv"]  # no temporary file left
    outputs.write_csv(p, pd.DataFrame({"x": [1, 2]}))
    assert p.read_text() == "x\n1\n2\n"
    assert oct(p.stat().st_mode & 0o777) == oct(0o666 & ~outputs._UMASK)


# --------------------------------------------------------------------------- run directories


def test_run_directory_refuses_a_non_empty_out_and_replaces_whole_with_overwrite(tmp_path):
    out = tmp_path / "run"
    with outputs.run_directory(out, kind="t") as run:
        (run / "a.txt").write_text("first")
        (run / "sub").mkdir()
        (run / "sub" / "b.txt").write_text("first b")
        assert not out.exists()  # nothing at OUT while the run is being built
    meta = outputs.check_run(out)
    assert meta["complete"] and meta["files"] == {"a.txt": 5, "sub/b.txt": 7}
    (out / "feedback.csv").write_text("user's labels")
    with pytest.raises(OutputExistsError, match="not empty.*--overwrite"):
        with outputs.run_directory(out, kind="t"):
            pass
    with outputs.run_directory(out, kind="t", overwrite=True) as run:
        (run / "c.txt").write_text("second")
    assert sorted(p.name for p in out.iterdir()) == ["c.txt", "run.json"]  # nothing old left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_run_directory_error_leaves_out_untouched(tmp_path):
    out = tmp_path / "run"
    with outputs.run_directory(out) as run:
        (run / "a.txt").write_text("old")
    with pytest.raises(ValueError), outputs.run_directory(out, overwrite=True) as run:
        (run / "a.txt").write_text("new, half")
        raise ValueError("crash")
    assert (out / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_overwrite_never_deletes_a_directory_skyfm_did_not_write(tmp_path):
    mine = tmp_path / "home"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputExistsError, match="not a skyfm t output"):
        with outputs.run_directory(mine, kind="t", overwrite=True):
            pass
    assert (mine / "thesis.tex").read_text() == "years of work"
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputExistsError, match="not a directory"):
        outputs.check_target(tmp_path / "file")


def test_stale_partial_directories_of_dead_processes_are_removed(tmp_path):
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    dead = proc.pid  # a process that has ended
    stale = tmp_path / f".run.partial-{dead}-abcd"
    stale.mkdir()
    mine = tmp_path / f".run.partial-{os.getpid()}-live"
    mine.mkdir()
    with outputs.run_directory(tmp_path / "run"):
        pass
    assert not stale.exists() and mine.exists()


def test_check_run_refuses_truncated_or_missing_files(tmp_path):
    out = tmp_path / "run"
    with outputs.run_directory(out) as run:
        (run / "candidates.csv").write_text("object_id,score,rank\na,1,1\nb,0.5,2\n")
    with open(out / "candidates.csv", "r+") as fh:
        fh.truncate(20)
    with pytest.raises(IncompleteOutputError, match=r"candidates.csv: 20 bytes.*run.json "
                                                    r"records 35.*truncated"):
        outputs.check_run(out)
    with pytest.raises(IncompleteOutputError, match="candidates.csv"):
        fbk.load_candidates(out)  # what serve and feedback read
    (out / "candidates.csv").unlink()
    with pytest.raises(IncompleteOutputError, match="file missing"):
        outputs.check_run(out)
    (out / "run.json").write_text('{"complete": fal')
    with pytest.raises(IncompleteOutputError, match="run.json: unreadable"):
        outputs.check_run(out)


def test_check_run_names_an_interrupted_run(tmp_path):
    (tmp_path / f".out.partial-{os.getpid()}-beef").mkdir()
    with pytest.raises(DataNotFoundError, match="an interrupted run left .*partial"):
        outputs.check_run(tmp_path / "out")


# --------------------------------------------------------------------------- discover --out


def test_discover_out_refuses_existing_run_and_overwrite_replaces_it_whole(tmp_path, cli_app):
    from skyfm.data.layout import write_dataset

    data = write_dataset([make_table(30)], tmp_path / "data")
    out = tmp_path / "out"
    discover([make_table(30)], out, **dict(FAST, top=0))
    fbk.record_feedback(out, "row_odd", False)
    (out / "plots").mkdir()
    (out / "plots" / "stale.png").write_bytes(b"old plot")
    (out / "candidates.csv").write_text("user edits that must survive a refused run\n")
    args = ["discover", str(data), "--out", str(out), "--top", "0", "--n-noise", "0",
            "--n-members", "2", "--scorers", "knn"]
    res = CliRunner().invoke(cli_app, args)
    assert res.exit_code != 0 and isinstance(res.exception, OutputExistsError)
    assert "not empty" in str(res.exception) and "--overwrite" in str(res.exception)
    assert (out / "candidates.csv").read_text().startswith("user edits")
    discover([make_table(30)], out, overwrite=True, **dict(FAST, top=0))  # the CLI's --overwrite
    left = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert "feedback.csv" not in left and not (out / "plots").exists()
    assert set(json.loads((out / "run.json").read_text())["files"]) == left - {"run.json"}
    assert len(fbk.load_candidates(out)) == 30


def test_discover_without_overwrite_fails_before_any_work(tmp_path, monkeypatch):
    (tmp_path / "x.txt").write_text("someone's file")
    import skyfm.discover.pipeline as pl

    monkeypatch.setattr(pl, "score_observations", lambda *a, **k: pytest.fail("did work"))
    with pytest.raises(OutputExistsError):
        discover([make_table(30)], tmp_path, **FAST)


# --------------------------------------------------------------------------- file names

ODD_IDS = ["x" * 300, "a/b", "a\\b", "..", ".", "", "a\x00b", "é", "e\u0301", "ZTF18abc",
           "ztf18abc", "Ztf18abc", "a b", "a_b", "a?b", "a*b", "CON", "-rf", ".hidden", "~x",
           "a" * 80, "a" * 81, "星"]


def test_safe_filename_is_short_safe_deterministic_and_unique():
    names = [safe_filename(i) for i in ODD_IDS]
    assert len(set(names)) == len(names)
    assert len({n.lower() for n in names}) == len(names)  # also on case-insensitive disks
    for oid, name in zip(ODD_IDS, names):
        assert re.fullmatch(r"[A-Za-z0-9_+][A-Za-z0-9._+~-]*", name), (oid, name)
        assert len((name + ".png").encode()) <= 100
        assert name not in (".", "..")
        assert safe_filename(oid) == name  # deterministic
    assert safe_filename("lc-0001_g.x") == "lc-0001_g.x"  # plain ids stay readable
    assert safe_filename("a/b").startswith("a_b~")


def test_discover_plots_a_300_character_id(tmp_path):
    t = make_table(30)
    long_id = "J" + "1234567890" * 30
    t.table.loc[29, "object_id"] = long_id
    from skyfm.data.observations import Catalog

    df = discover([Catalog(t.table)], tmp_path / "out", **FAST)
    assert df["object_id"].iloc[0] == long_id  # the odd row is the top candidate
    plots = list((tmp_path / "out" / "plots").iterdir())
    assert [p.name for p in plots] == [f"{safe_filename(long_id)}.png"]


# --------------------------------------------------------------------------- index files


@pytest.fixture
def index_dir(tmp_path):
    x = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    return SimilarityIndex().build(x, [f"o{i}" for i in range(50)]).save(tmp_path / "ix")


def test_corrupt_index_faiss_is_a_skyfm_error_naming_the_file(index_dir):
    size = (index_dir / "index.faiss").stat().st_size
    (index_dir / "index.faiss").write_bytes(b"\x00garbage" * (size // 8) + b"\x00" * (size % 8))
    with pytest.raises(DataFormatError, match=r"index.faiss: faiss cannot read it"):
        SimilarityIndex.load(index_dir)


def test_truncated_index_files_are_refused(index_dir):
    with open(index_dir / "index.faiss", "r+b") as fh:
        fh.truncate(100)
    with pytest.raises(IncompleteOutputError, match=r"index.faiss: 100 bytes, but index.json"):
        SimilarityIndex.load(index_dir)
    meta = json.loads((index_dir / "index.json").read_text())
    del meta["files"]  # an index written before sizes were recorded
    (index_dir / "index.json").write_text(json.dumps(meta))
    with pytest.raises(DataFormatError, match=r"index.faiss: faiss cannot read it"):
        SimilarityIndex.load(index_dir)
    (index_dir / "index.json").write_text("{")
    with pytest.raises(DataFormatError, match=r"index.json: not valid JSON"):
        SimilarityIndex.load(index_dir)


def test_index_save_refuses_a_non_empty_dir_and_overwrite_replaces(tmp_path, index_dir):
    x = np.ones((3, 8), np.float32) + np.eye(3, 8, dtype=np.float32)
    small = SimilarityIndex().build(x, ["a", "b", "c"])
    with pytest.raises(OutputExistsError):
        small.save(index_dir)
    small.save(index_dir, overwrite=True)
    assert len(SimilarityIndex.load(index_dir)) == 3


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage"])
def test_damaged_embeddings_npy_is_a_skyfm_error_naming_the_file(tmp_path, damage):
    p = tmp_path / "emb.npy"
    np.save(p, np.zeros((20, 4), np.float32))
    if damage == "truncate":
        with open(p, "r+b") as fh:
            fh.truncate(200)
    else:
        p.write_bytes(b"" if damage == "empty" else b"\x93NUMPY garbage")
    with pytest.raises(DataFormatError, match=r"emb.npy: field 'embeddings': cannot read"):
        load_embeddings(p)
