"""kill -9 in the middle of writing: an OUT directory holds the old complete run or the new
complete run, never a mix or a truncated file; feedback.csv survives bursts of writers.

Runs are stopped with SIGKILL, either at named stages (``SKYFM_TEST_KILL_AT``, see
:func:`skyfm.outputs.kill_point`) or after a delay from a fixed schedule. Child processes come
from a fork server that imported the discovery modules once (a plain fork of the test process
can hang in OpenMP), except one real ``python -m skyfm.cli discover`` run.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from discover_synth import make_table

from skyfm.discover import discover
from skyfm.discover import feedback as fbk
from skyfm.outputs import KILL_ENV, MARKER, check_run

FAST = {"top": 0, "n_noise": 0, "n_members": 2, "report": False, "scorers": ["knn"]}
CTX = mp.get_context("forkserver")
CTX.set_forkserver_preload(["discover_synth", "matplotlib.pyplot", "sklearn.neighbors",
                            "sklearn.ensemble", "skyfm.discover.pipeline",
                            "skyfm.discover.embed", "skyfm.discover.feedback", "filelock"])


def _run(out, seed, stage):
    if stage:
        os.environ[KILL_ENV] = stage
    discover([make_table(40)], out, overwrite=True, seed=seed, **FAST)


def _state(out: Path, old: bytes) -> str:
    """'old' / 'new' (complete, accepted by the loaders), 'missing', or 'broken: why'."""
    if not out.exists():
        return "missing"
    try:
        meta = check_run(out)
        fbk.load_candidates(out)
    except Exception as exc:  # noqa: BLE001 - the test reports what was wrong
        return f"broken: {exc}"
    if meta is None:
        return "broken: no run.json"
    return "old" if json.loads((out / MARKER).read_text())["created_by"] == old else "new"


@pytest.fixture(scope="module")
def _old_template(tmp_path_factory):
    out = tmp_path_factory.mktemp("template") / "out"
    discover([make_table(40)], out, seed=0, **FAST)
    # tag the old run so the two can be told apart whatever their timestamps
    meta = json.loads((out / MARKER).read_text())
    meta["created_by"] = "old"
    (out / MARKER).write_text(json.dumps(meta))
    fbk.record_feedback(out, "row_odd", False)
    return out


@pytest.fixture
def old_run(_old_template, tmp_path):
    """A complete discovery run (with feedback) at ``tmp_path/out``."""
    return Path(shutil.copytree(_old_template, tmp_path / "out"))


def _tag_new(out: Path) -> None:
    if out.exists() and (out / MARKER).is_file():
        meta = json.loads((out / MARKER).read_text())
        meta.setdefault("created_by", "new")
        (out / MARKER).write_text(json.dumps(meta))


@pytest.mark.parametrize("stage, expected", [
    ("discover-scored", "old"),        # before anything is written
    ("discover-candidates", "old"),    # candidates.csv written, the rest not yet
    ("before-commit", "old"),          # everything written and synced, not yet moved in
    ("after-swap", "new"),             # new run in place, old one not yet removed
])
def test_kill_at_named_stages(old_run, stage, expected):
    p = CTX.Process(target=_run, args=(old_run, 1, stage))
    p.start()
    p.join(120)
    assert p.exitcode == -signal.SIGKILL
    _tag_new(old_run)
    assert _state(old_run, "old") == expected
    if expected == "old":  # the old run whole, its feedback included
        assert fbk.load_feedback(old_run)["object_id"].tolist() == ["row_odd"]
    else:  # nothing of the old run survives into the new one
        assert not (old_run / "feedback.csv").exists()
    left = [p for p in old_run.parent.iterdir() if ".partial-" in p.name]
    assert len(left) <= 1  # the killed run's own staging directory, removed by the next run


def test_kill_after_delays(old_run, capsys):
    """SIGKILL after each delay of a fixed schedule: never a mix or a truncated file."""
    outcomes = []
    for delay in (0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.3):
        p = CTX.Process(target=_run, args=(old_run, 1, None))
        p.start()
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):  # it may have finished already
            os.kill(p.pid, signal.SIGKILL)
        p.join(60)
        _tag_new(old_run)
        outcomes.append((delay, p.exitcode == -signal.SIGKILL, _state(old_run, "old")))
    with capsys.disabled():
        print(f"\nkill schedule (delay s, killed, state): {outcomes}")
    assert {o[2] for o in outcomes} <= {"old", "new"}, outcomes


def test_kill_the_cli(tmp_path):
    """The real `skyfm discover` command, killed while writing: OUT keeps the old run."""
    from skyfm.data.layout import write_dataset

    data = write_dataset([make_table(40)], tmp_path / "data")
    out = tmp_path / "out"
    discover([make_table(40)], out, seed=0, **FAST)
    before = (out / "candidates.csv").read_bytes()
    args = [sys.executable, "-m", "skyfm.cli", "discover", str(data), "--out", str(out),
            "--top", "0", "--n-noise", "0", "--n-members", "2", "--scorers", "knn",
            "--overwrite", "--seed", "1"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), MPLBACKEND="Agg",
               **{KILL_ENV: "discover-candidates"})
    killed = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (out / "candidates.csv").read_bytes() == before
    check_run(out)


# --------------------------------------------------------------------------- feedback


def _writer(out, k, n, log):
    with open(log, "a") as fh:
        for i in range(n):
            oid = f"w{k}-{i}"
            fbk.record_feedback(out, oid, i % 2 == 0, source=f"p{k}")
            fh.write(oid + "\n")
            fh.flush()


def test_feedback_burst_of_eight_writers_with_kills(tmp_path):
    n = 20
    procs = []
    for k in range(8):
        p = CTX.Process(target=_writer, args=(tmp_path, k, n, tmp_path / f"log{k}.txt"))
        procs.append(p)
    for p in procs:
        p.start()
    time.sleep(0.15)
    for p in procs[:2]:  # two writers die mid-burst (or have already finished)
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGKILL)
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs[2:])
    text = (tmp_path / "feedback.csv").read_text()
    assert text.count("object_id,label,timestamp,source") == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no damaged line at all
        hist = fbk.load_feedback(tmp_path, history=True)
    logs = [tmp_path / f"log{k}.txt" for k in range(8)]
    done = [line for f in logs if f.is_file() for line in f.read_text().split()]
    assert set(done) <= set(hist["object_id"])  # every completed write is there
    assert len(done) >= 6 * n
    assert not hist["object_id"].duplicated().any()


def test_partial_last_line_is_skipped_with_a_warning_then_appends_work(tmp_path):
    fbk.record_feedback(tmp_path, "a", True)
    with open(tmp_path / "feedback.csv", "a") as fh:
        fh.write("b,bor")  # a writer killed mid-line (an older skyfm, or a full disk)
    with pytest.warns(UserWarning, match=r"feedback.csv: line 3 is incomplete"):
        assert fbk.load_feedback(tmp_path)["object_id"].tolist() == ["a"]
    fbk.record_feedback(tmp_path, "c", False)
    with pytest.warns(UserWarning, match=r"line 3 has 2 fields"):
        got = fbk.load_feedback(tmp_path)
    assert got.set_index("object_id")["label"].to_dict() == {"a": "interesting", "c": "boring"}


def test_duplicated_header_and_garbage_lines_are_skipped(tmp_path):
    (tmp_path / "feedback.csv").write_text(
        "object_id,label,timestamp,source\nobject_id,label,timestamp,source\n"
        "a,interesting,2026-01-01T00:00:00+00:00,cli\n\x00\x00junk\n"
        "b,boring,not-a-time,cli\n")
    with pytest.warns(UserWarning) as rec:
        got = fbk.load_feedback(tmp_path, history=True)
    assert got["object_id"].tolist() == ["a"]
    msgs = " | ".join(str(w.message) for w in rec)
    assert "line 2 repeats the header" in msgs and "line 4 has 1 fields" in msgs
    assert "line 5 has timestamp 'not-a-time'" in msgs
