"""Feedback storage, the AAD re-ranker, OUT re-ranking, the CLI, and the simulated session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from skyfm.benchmarks.feedback import simulate_feedback_session
from skyfm.discover import feedback as fbk
from skyfm.errors import DataFormatError, DataNotFoundError


def mixture(seed=0, d=16):
    """Common clusters, a rare 'interesting' cluster, and a spread-out odd-but-boring group."""
    rng = np.random.default_rng(seed)
    parts, kind = [], []
    for _ in range(4):
        parts.append(rng.normal(0, 1, d) + 0.5 * rng.normal(0, 1, (600, d)))
        kind += ["common"] * 600
    parts.append(rng.normal(0, 1.5, d) + 0.4 * rng.normal(0, 1, (40, d)))
    kind += ["gem"] * 40
    parts.append(rng.normal(0, 2.5, d) + 0.9 * rng.normal(0, 1, (80, d)))
    kind += ["odd"] * 80
    return np.vstack(parts), np.array(kind)


def ranks(score):
    r = np.empty(len(score), int)
    r[np.argsort(-score, kind="stable")] = np.arange(1, len(score) + 1)
    return r


# --------------------------------------------------------------------------- storage


def test_record_and_load_feedback_newest_label_wins(tmp_path):
    fbk.record_feedback(tmp_path, "a", True)
    fbk.record_feedback(tmp_path, "b", False, source="web")
    fbk.record_feedback(tmp_path, "a", False)
    hist = fbk.load_feedback(tmp_path, history=True)
    assert list(hist.columns) == ["object_id", "label", "timestamp", "source"]
    assert len(hist) == 3
    assert pd.to_datetime(hist["timestamp"]).dt.tz is not None  # ISO 8601 with UTC offset
    latest = fbk.load_feedback(tmp_path).set_index("object_id")["label"].to_dict()
    assert latest == {"a": "boring", "b": "boring"}


def test_feedback_errors(tmp_path):
    assert fbk.load_feedback(tmp_path).empty
    with pytest.raises(DataFormatError, match="unknown object id 'zz'"):
        fbk.record_feedback(tmp_path, "zz", True, known_ids=["a", "b"])
    with pytest.raises(DataNotFoundError):
        fbk.record_feedback(tmp_path / "missing", "a", True)
    (tmp_path / "feedback.csv").write_text("object_id,label,timestamp,source\na,maybe,t,cli\n")
    with pytest.warns(UserWarning, match="line 2 has label 'maybe'.*'interesting' or 'boring'"):
        assert fbk.load_feedback(tmp_path).empty  # a damaged line is skipped, never fatal


# --------------------------------------------------------------------------- ranker


def test_ranker_without_labels_keeps_the_prior_order():
    x, _ = mixture()
    prior = np.random.default_rng(1).normal(size=len(x))
    r = fbk.FeedbackRanker().fit(x, prior_score=prior)
    np.testing.assert_array_equal(r.order(), np.argsort(-prior, kind="stable"))


def test_boring_label_demotes_look_alikes_and_interesting_promotes_them():
    x, kind = mixture()
    odd, gem = np.flatnonzero(kind == "odd"), np.flatnonzero(kind == "gem")
    r = fbk.FeedbackRanker(random_seed=0).fit(x)
    r0 = ranks(r.score_)
    assert np.median(r0[odd]) < np.median(r0[gem])  # the odd group looks most unusual at first
    r.update(odd[:3], [False] * 3)
    r1 = ranks(r.score_)
    assert np.median(r1[odd[3:]]) > np.median(r0[odd[3:]]) + 200
    r.update(gem[:2], [True, True])
    r2 = ranks(r.score_)
    assert np.median(r2[gem[2:]]) < np.median(r1[gem[2:]])
    assert np.median(r2[gem[2:]]) < np.median(r2[odd[3:]])
    # boring objects are listed after all unlabelled ones
    assert set(r.order()[-3:]) == set(odd[:3])


def test_simulated_session_finds_more_interesting_objects():
    x, kind = mixture(seed=2)
    res = simulate_feedback_session(x, kind == "gem", rounds=8, per_round=10, top=50)
    assert res["before"] <= 0.1
    assert res["shown"] >= res["before"] + 0.3
    assert res["found_per_round"][-1] > res["found_per_round"][0]


# --------------------------------------------------------------------------- OUT directories


@pytest.fixture
def out(tmp_path):
    x, kind = mixture(seed=4)
    keep = np.r_[np.arange(0, 2400, 12), np.flatnonzero(kind != "common")]  # 200 + 120 objects
    x, kind = x[keep], kind[keep]
    ids = [f"{k}{i}" for i, k in enumerate(kind)]
    np.save(tmp_path / "embeddings.npy", x.astype(np.float32))
    (tmp_path / "object_ids.txt").write_text("\n".join(ids) + "\n")
    # discovery's prior puts the odd group first, the gems in the middle
    prior = np.where(kind == "odd", 3.0, np.where(kind == "gem", 1.0, 0.0))
    prior = prior + np.random.default_rng(0).uniform(0, 0.5, len(x))
    order = np.argsort(-prior)
    pd.DataFrame({"object_id": [ids[i] for i in order], "score": prior[order],
                  "rank": np.arange(1, len(x) + 1), "epistemic": 0.1, "aleatoric": 0.2,
                  "neighbours": "", "reason": "odd"}).to_csv(tmp_path / "candidates.csv",
                                                             index=False)
    return tmp_path


def test_rerank_out_dir(out):
    r0 = fbk.rerank(out)
    assert (r0["rank"] == r0["prior_rank"]).all() and (r0["feedback"] == "").all()
    top = r0["object_id"].iloc[0]
    assert top.startswith("odd")
    fbk.record_feedback(out, top, False)
    r1 = fbk.rerank(out)
    assert r1["object_id"].iloc[-1] == top and r1["feedback"].iloc[-1] == "boring"
    odd_rank = r1.loc[r1.object_id.str.startswith("odd"), "rank"].median()
    assert odd_rank > r0.loc[r0.object_id.str.startswith("odd"), "rank"].median() + 40
    gem = r0.loc[r0.object_id.str.startswith("gem"), "object_id"].iloc[0]
    fbk.record_feedback(out, gem, True)
    r2 = fbk.rerank(out)
    gems = r2.object_id.str.startswith("gem")
    assert r2.loc[gems, "rank"].median() < r1.loc[r1.object_id.str.startswith("gem"),
                                                   "rank"].median()
    assert r2.loc[gems, "rank"].median() < r2.loc[r2.object_id.str.startswith("odd"),
                                                  "rank"].median()


def test_feedback_cli(out):
    from skyfm.cli import _register, app

    _register()
    res = CliRunner().invoke(app, ["feedback", str(out), "--id", "gem200", "--interesting",
                                   "--show", "5"])
    assert res.exit_code == 0, res.output
    assert "gem200: interesting" in res.output
    assert fbk.load_feedback(out)["label"].tolist() == ["interesting"]
    res = CliRunner().invoke(app, ["feedback", str(out), "--id", "nobody", "--boring"])
    assert res.exit_code != 0
