"""Human in the loop: record what a person finds interesting and re-rank with it.

A person looks at the candidates of ``skyfm discover`` and marks some *interesting* or
*boring* (``skyfm feedback OUT --id X --interesting``, or the buttons of ``skyfm serve``).
Labels go to ``OUT/feedback.csv`` (``object_id, label, timestamp, source``; append-only,
the newest label of an object wins).

Re-ranking is active anomaly detection in the style of AAD (Das et al. 2017,
arXiv:1708.09441) as implemented by ``coniferest.AADForest`` (used for ZTF by Ishida et al.
2021, A&A 650, A195): an isolation forest is grown on the embeddings, and the labels
re-weight the forest's leaves (a small quadratic programme) so that leaves holding boring
objects lose weight and leaves holding interesting ones gain it. Objects that share leaves
with labelled ones move with them, which is how labels on a few constant stars with bad
points demote the other constant stars with bad points.

When a prior ranking exists (the discovery score), the forest's ranking is mixed in as
labels arrive:

    score = (1 - lam) * z(prior) + lam * z(s_AAD),     lam = n_labels / (n_labels + half)

where ``z`` are normal scores of the ranks (robust to each score's scale) and ``half``
(``feedback_half``, default 1) is the number of labels at which feedback and prior weigh
the same. Without any label the prior order is kept exactly; without a prior the ranking is
AADForest's own. Labelled objects are then placed by their label: interesting ones stay
where the score puts them, boring ones go after every unlabelled object (they were shown
and dismissed).

Why coniferest: it is a maintained, fast (Rust) implementation of exactly this AAD leaf
re-weighting, and it learns from both buttons (interesting and boring). Its PineForest
(which keeps the trees that score known anomalies highest) is an alternative; AADForest is
used here because per-leaf weights move look-alikes of a labelled object, not whole trees.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from skyfm.errors import DataFormatError, DataNotFoundError

__all__ = [
    "BORING",
    "INTERESTING",
    "FeedbackRanker",
    "fit_ranker",
    "load_candidates",
    "load_feedback",
    "record_feedback",
    "rerank",
]

INTERESTING = "interesting"
BORING = "boring"
FEEDBACK_FILE = "feedback.csv"
CANDIDATES_FILE = "candidates.csv"
_FIELDS = ["object_id", "label", "timestamp", "source"]


# --------------------------------------------------------------------------- storage


def record_feedback(out_dir, object_id, interesting: bool, *, source: str = "cli",
                    known_ids: Sequence[str] | None = None) -> dict:
    """Append one label to ``OUT/feedback.csv`` (created with a header when missing).

    Safe with several writers (the CLI and ``skyfm serve`` at once): the append happens under
    a file lock (``OUT/.feedback.csv.lock``), the header is written exactly once, and each
    row goes out in one write, flushed and fsynced. A damaged last line left by an earlier
    crash is ended first so that it cannot swallow this row (:func:`load_feedback` skips it).
    ``known_ids``: when given, an id outside it raises :class:`DataFormatError`.
    Returns the row written (``timestamp`` in ISO 8601, UTC).
    """
    import io
    import os

    from filelock import FileLock

    out = Path(out_dir)
    if not out.is_dir():
        raise DataNotFoundError(f"{out} is not a directory (expected a `skyfm discover` output)")
    oid = str(object_id)
    if known_ids is not None and oid not in set(map(str, known_ids)):
        raise DataFormatError(f"unknown object id {oid!r}", file=out / CANDIDATES_FILE,
                              field="object_id", expected="an id listed in candidates.csv")
    row = {"object_id": oid, "label": INTERESTING if interesting else BORING,
           "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "source": source}
    path = out / FEEDBACK_FILE
    with FileLock(str(out / f".{FEEDBACK_FILE}.lock")):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            size = os.fstat(fd).st_size
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=_FIELDS, lineterminator="\n")
            if size == 0:
                w.writeheader()
            elif os.pread(fd, 1, size - 1) != b"\n":  # a partial line from a crashed writer
                buf.write("\n")
            w.writerow(row)
            os.write(fd, buf.getvalue().encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    return row


def _feedback_rows(path: Path) -> list[list[str]]:
    """The data rows of ``feedback.csv``; damaged lines are skipped with a warning each."""
    import io
    import warnings

    from skyfm.data.io._common import DataQualityWarning

    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    if "\ufffd" in text and b"\xef\xbf\xbd" not in raw:
        warnings.warn(f"{path}: bytes that are not UTF-8 replaced by U+FFFD", DataQualityWarning,
                      stacklevel=3)
    reader = csv.reader(io.StringIO(text, newline=""))
    records = []  # (first line, fields)
    line = 1
    for rec in reader:
        if rec:
            records.append((line, rec))
        line = reader.line_num + 1
    if not records:
        return []
    if len(records) == 1 and not text.endswith("\n") and ",".join(_FIELDS).startswith(text):
        warnings.warn(f"{path}: line 1 is an incomplete header (an interrupted write); no "
                      "labels yet", DataQualityWarning, stacklevel=3)
        return []
    if records[0][1] != _FIELDS:
        raise DataFormatError(f"header {records[0][1]}", file=path, field="header",
                              expected=f"columns {_FIELDS}")
    rows: list[list[str]] = []
    for k, (line, rec) in enumerate(records[1:], 1):
        problem = None
        if k == len(records) - 1 and not text.endswith("\n"):
            problem = "is incomplete (an interrupted write)"
        elif rec == _FIELDS:
            problem = "repeats the header"
        elif len(rec) != len(_FIELDS):
            problem = f"has {len(rec)} fields, expected {len(_FIELDS)}"
        elif rec[1] not in (INTERESTING, BORING):
            problem = f"has label {rec[1]!r}, expected '{INTERESTING}' or '{BORING}'"
        else:
            try:
                datetime.fromisoformat(rec[2])
            except ValueError:
                problem = f"has timestamp {rec[2]!r}, expected ISO 8601"
        if problem:
            warnings.warn(f"{path}: line {line} {problem}; skipped", DataQualityWarning,
                          stacklevel=3)
            continue
        rows.append(rec)
    return rows


def load_feedback(out_dir, *, history: bool = False):
    """Labels from ``OUT/feedback.csv`` as a DataFrame (``object_id, label, timestamp, source``).

    By default one row per object: its newest label. ``history=True`` returns every row.
    An absent file means no feedback yet (an empty frame). Damaged lines (a partial last
    line after a crash, a wrong field count or label, a repeated header) are skipped with a
    :class:`~skyfm.data.io._common.DataQualityWarning` naming the file and line; a file
    whose header is not ``object_id,label,timestamp,source`` raises :class:`DataFormatError`.
    """
    import pandas as pd

    path = Path(out_dir) / FEEDBACK_FILE
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame(columns=_FIELDS)
    df = pd.DataFrame(_feedback_rows(path), columns=_FIELDS, dtype=str)
    if history:
        return df
    return df.drop_duplicates("object_id", keep="last").reset_index(drop=True)


# --------------------------------------------------------------------------- the ranker


def _normal_scores(x: np.ndarray) -> np.ndarray:
    """Gaussianised ranks: robust to heavy tails, mean 0, std ~1 (higher x = higher score)."""
    from scipy.stats import norm, rankdata

    n = len(x)
    return norm.ppf((rankdata(x) - 0.5) / n) if n else np.zeros(0)


class FeedbackRanker:
    """Active anomaly detection over embeddings (AAD via ``coniferest.AADForest``).

    Parameters
    ----------
    n_trees, n_subsamples : size of the isolation forest.
    feedback_half : number of labels at which the learned ranking and the prior weigh the
        same (only used with a prior).
    prior_influence : AAD's pull of the leaf weights back to uniform (0 = none).
    budget : AAD's anomaly budget: ``"auto"`` (learned), a fraction, or a count of objects
        expected to be worth showing (the score threshold q_tau is its quantile).
    random_seed : seed of the forest (the ranking is reproducible).
    n_jobs : threads used by coniferest (1 on a shared machine).

    Attributes
    ----------
    base_score_ : (n,) anomaly score of the forest before any label (higher = odder).
    score_ : (n,) the current ranking score (higher = show earlier).
    labels_ : dict row -> bool (True = interesting) of the labels used.
    """

    def __init__(self, n_trees: int = 200, n_subsamples: int = 256,
                 feedback_half: float = 1.0, prior_influence: float = 0.0,
                 budget: str | float = "auto", random_seed: int = 0, n_jobs: int = 1):
        self.n_trees = n_trees
        self.n_subsamples = n_subsamples
        self.feedback_half = feedback_half
        self.prior_influence = prior_influence
        self.budget = budget
        self.random_seed = random_seed
        self.n_jobs = n_jobs

    def _new_forest(self):
        from coniferest.aadforest import AADForest

        return AADForest(n_trees=self.n_trees, n_subsamples=min(self.n_subsamples, len(self.X_)),
                         prior_influence=self.prior_influence, budget=self.budget,
                         random_seed=self.random_seed,
                         n_jobs=self.n_jobs)

    def fit(self, X, prior_score=None) -> FeedbackRanker:
        """Grow the forest on ``X`` (n, d); ``prior_score`` (n,) higher = more unusual."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) < 2:
            raise DataFormatError(f"array has shape {X.shape}", field="embeddings",
                                  expected="(n_objects >= 2, dim)")
        if not np.all(np.isfinite(X)):
            raise DataFormatError("NaN or inf values", field="embeddings",
                                  expected="finite embedding values")
        sd = X.std(axis=0)
        self.X_ = np.ascontiguousarray((X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0))
        if prior_score is not None:
            p = np.asarray(prior_score, dtype=float).reshape(-1)
            if p.shape[0] != len(X):
                raise DataFormatError(f"{p.shape[0]} prior scores for {len(X)} objects",
                                      field="prior_score", expected="one score per embedding row")
            self.prior_ = _normal_scores(np.nan_to_num(p, nan=-np.inf))
        else:
            self.prior_ = None
        self.forest_ = self._new_forest().fit(self.X_)
        self.base_score_ = -self.forest_.score_samples(self.X_)
        self.labels_: dict[int, bool] = {}
        self._combine(self.base_score_)
        return self

    def update(self, rows: Sequence[int], interesting: Sequence[bool]) -> FeedbackRanker:
        """Re-weight with labels of ``rows`` (True = interesting); labels accumulate.

        A row labelled again takes its newest label.
        """
        from coniferest.label import Label

        for r, lab in zip(rows, interesting):
            r = int(r)
            if not 0 <= r < len(self.X_):
                raise IndexError(f"row {r} outside 0..{len(self.X_) - 1}")
            self.labels_[r] = bool(lab)
        if not self.labels_:
            self._combine(self.base_score_)
            return self
        idx = np.fromiter(self.labels_, int)
        lab = np.array([Label.ANOMALY if self.labels_[i] else Label.REGULAR for i in idx])
        forest = self._new_forest().fit_known(self.X_, self.X_[idx], lab)
        self._combine(-forest.score_samples(self.X_))
        return self

    def _combine(self, s: np.ndarray) -> None:
        if self.prior_ is None:
            score = _normal_scores(s)
        else:
            n = len(self.labels_)
            lam = n / (n + self.feedback_half) if n else 0.0
            score = (1.0 - lam) * self.prior_ + lam * _normal_scores(s)
        self.score_ = np.asarray(score, dtype=float)

    def order(self, boring_last: bool = True) -> np.ndarray:
        """Row indices, best first; labelled-boring rows after all others when asked."""
        key = self.score_.copy()
        if boring_last:
            boring = [r for r, v in self.labels_.items() if not v]
            key[boring] -= 1e6
        return np.argsort(-key, kind="stable")


# --------------------------------------------------------------------------- OUT directories


def load_candidates(out_dir):
    """``OUT/candidates.csv`` as a DataFrame sorted by rank (rank 1 = most unusual).

    An incomplete or altered run (its files differ from ``OUT/run.json``) is refused with
    :class:`~skyfm.errors.IncompleteOutputError` (:func:`skyfm.outputs.check_run`).
    """
    import pandas as pd

    from skyfm.outputs import check_run

    path = Path(out_dir) / CANDIDATES_FILE
    if Path(out_dir).is_dir():
        check_run(out_dir)
    if not path.is_file():
        raise DataNotFoundError(f"{path} not found: run `skyfm discover DIR --out {out_dir}` first")
    df = pd.read_csv(path, dtype={"object_id": str}, keep_default_na=False)
    for col in ("object_id", "score", "rank"):
        if col not in df.columns:
            raise DataFormatError("column missing", file=path, field=col,
                                  expected="columns object_id, score, rank, epistemic, "
                                           "aleatoric, neighbours, reason")
    return df.sort_values("rank", kind="stable").reset_index(drop=True)


def rerank(out_dir, *, ranker: FeedbackRanker | None = None, candidates=None, feedback=None):
    """Candidates of ``OUT`` re-ranked with the feedback in ``OUT/feedback.csv``.

    Returns a DataFrame with the candidates' columns plus ``prior_rank`` (discovery's
    rank), ``feedback`` (``interesting``/``boring``/empty) and ``feedback_score``, sorted
    by the new ``rank`` (1 = show first). ``ranker``: a :class:`FeedbackRanker` already fit
    on this OUT (see :func:`fit_ranker`), to avoid re-growing the forest on every call.
    Without ``OUT/embeddings.npy`` labels only move the labelled objects themselves.
    """
    out = Path(out_dir)
    cands = load_candidates(out) if candidates is None else candidates.copy()
    fb = load_feedback(out) if feedback is None else feedback
    labels = dict(zip(fb["object_id"].astype(str), fb["label"] == INTERESTING))
    cands["prior_rank"] = cands["rank"].astype(int)
    cands["feedback"] = [(INTERESTING if labels[o] else BORING) if o in labels else ""
                         for o in cands["object_id"]]
    if ranker is None and labels:
        ranker = fit_ranker(out, candidates=cands)
    if ranker is not None and labels:
        row = ranker.row_of_
        known = [(row[o], v) for o, v in labels.items() if o in row]
        ranker.labels_ = {}
        ranker.update([r for r, _ in known], [v for _, v in known])
        score = np.array([ranker.score_[row[o]] if o in row else p
                          for o, p in zip(cands["object_id"], _normal_scores(-cands["rank"]
                                                                            .to_numpy(float)))])
    else:
        score = _normal_scores(-cands["rank"].to_numpy(float))
    key = score - 1e6 * (cands["feedback"] == BORING).to_numpy()
    cands["feedback_score"] = score
    cands = cands.iloc[np.argsort(-key, kind="stable")].reset_index(drop=True)
    cands["rank"] = np.arange(1, len(cands) + 1)
    return cands


def fit_ranker(out_dir, *, candidates=None, **params) -> FeedbackRanker | None:
    """A :class:`FeedbackRanker` grown on ``OUT/embeddings.npy`` with discovery's ranks as prior.

    Returns None when the directory has no embeddings. The ranker gets ``row_of_``
    (object id -> embedding row).
    """
    from skyfm.discover.index import load_embeddings

    out = Path(out_dir)
    if not (out / "embeddings.npy").is_file():
        return None
    X, ids = load_embeddings(out)
    cands = load_candidates(out) if candidates is None else candidates
    prior_rank = dict(zip(cands["object_id"].astype(str), cands.get("prior_rank", cands["rank"])))
    worst = len(ids) + 1
    prior = -np.array([float(prior_rank.get(o, worst)) for o in ids])
    ranker = FeedbackRanker(**params).fit(X, prior_score=prior)
    ranker.row_of_ = {o: i for i, o in enumerate(ids)}
    return ranker
