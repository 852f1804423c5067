"""The JSON API and page of ``skyfm serve OUT``: ranked candidates, feedback, similar objects.

Routes
------
``GET  /``                         the page (plain HTML + a little vanilla JS)
``GET  /api/candidates``           ranked candidates (re-ranked with the feedback so far)
``POST /api/feedback``             ``{"object_id": ..., "label": "interesting"|"boring"}``
``GET  /api/feedback``             the labels so far (newest per object)
``GET  /api/similar/{object_id}``  nearest neighbours in embedding space (faiss index)
``GET  /plots/{object_id}.png``    the candidate's plot from ``OUT/plots``
``GET  /report/``                  ``OUT/report`` (the discovery report), when present
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import numpy as np
from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from skyfm.discover import feedback as fbk
from skyfm.errors import DataFormatError

__all__ = [
    "Candidate",
    "CandidateList",
    "FeedbackIn",
    "FeedbackOut",
    "SimilarOut",
    "create_app",
]


# --------------------------------------------------------------------------- models


class Candidate(BaseModel):
    object_id: str
    rank: int = Field(description="position after feedback (1 = show first)")
    prior_rank: int = Field(description="discovery's rank, before any feedback")
    score: float | None = Field(None, description="discovery's unusualness score")
    feedback_score: float = Field(description="score the list is sorted by (higher = earlier)")
    epistemic: float | None = Field(None, description="model (epistemic) uncertainty")
    aleatoric: float | None = Field(None, description="data (aleatoric) uncertainty")
    neighbours: list[str] = Field(default_factory=list, description="nearest known objects")
    reason: str = ""
    feedback: Literal["interesting", "boring", ""] = ""
    plot_url: str | None = None
    extra: dict[str, str | float | int | None] = Field(default_factory=dict)


class CandidateList(BaseModel):
    out_dir: str
    total: int
    n_feedback: int
    offset: int
    items: list[Candidate]


class FeedbackIn(BaseModel):
    object_id: str
    label: Literal["interesting", "boring"]


class FeedbackOut(BaseModel):
    object_id: str
    label: Literal["interesting", "boring"]
    timestamp: str
    new_rank: int
    n_feedback: int


class Neighbour(BaseModel):
    object_id: str
    rank: int
    similarity: float


class SimilarOut(BaseModel):
    object_id: str
    metric: str
    neighbours: list[Neighbour]


_CORE = {"object_id", "rank", "prior_rank", "score", "feedback_score", "epistemic", "aleatoric",
         "neighbours", "reason", "feedback"}


def _parse_neighbours(value) -> list[str]:
    """The candidates.csv ``neighbours`` cell: a JSON list or ids split by ; | , or spaces."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    text = str(value).strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            items = json.loads(text)
            return [str(i.get("object_id", i)) if isinstance(i, dict) else str(i) for i in items]
        except json.JSONDecodeError:
            text = text.strip("[]")
    return [t.strip(" '\"") for t in re.split(r"[;|,\s]+", text) if t.strip(" '\"")]


def _plot_name(object_id: str) -> str:
    """File name of a candidate's plot, as ``skyfm discover`` writes it."""
    from skyfm.discover.explain import safe_filename

    return f"{safe_filename(object_id)}.png"


def _float_or_none(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


# --------------------------------------------------------------------------- state


class _State:
    """Everything the app knows about one OUT directory; guarded by a lock."""

    def __init__(self, out_dir: Path, index_dir: Path | None, k_similar: int):
        self.out = out_dir
        self.lock = threading.Lock()
        self.candidates = fbk.load_candidates(out_dir)
        self.ids = set(self.candidates["object_id"].astype(str))
        self.plots = out_dir / "plots"
        self.k_similar = k_similar
        self._index_dir = index_dir
        self._index = None
        self.ranker = fbk.fit_ranker(out_dir, candidates=self.candidates)
        self.ranked = fbk.rerank(out_dir, ranker=self.ranker, candidates=self.candidates)

    def refresh(self) -> None:
        self.ranked = fbk.rerank(self.out, ranker=self.ranker, candidates=self.candidates)

    def index(self):
        """The similarity index: ``index_dir``, else ``OUT/index``, else built from embeddings."""
        from skyfm.discover.index import SimilarityIndex, load_embeddings

        if self._index is None:
            for d in (self._index_dir, self.out / "index"):
                if d is not None and (Path(d) / "index.faiss").is_file():
                    self._index = SimilarityIndex.load(d)
                    break
            else:
                if not (self.out / "embeddings.npy").is_file():
                    return None
                x, ids = load_embeddings(self.out)
                self._index = SimilarityIndex(metric="cosine").build(x, ids)
        return self._index

    def candidate(self, row) -> Candidate:
        oid = str(row["object_id"])
        name = _plot_name(oid)
        plot = self.plots / name
        extra = {k: (v.item() if isinstance(v, np.generic) else v)
                 for k, v in row.items() if k not in _CORE}
        return Candidate(
            object_id=oid, rank=int(row["rank"]), prior_rank=int(row["prior_rank"]),
            score=_float_or_none(row.get("score")),
            feedback_score=float(row["feedback_score"]),
            epistemic=_float_or_none(row.get("epistemic")),
            aleatoric=_float_or_none(row.get("aleatoric")),
            neighbours=_parse_neighbours(row.get("neighbours")),
            reason=str(row.get("reason", "") or ""), feedback=row.get("feedback", "") or "",
            plot_url=f"/plots/{quote(name)}" if plot.is_file() else None,
            extra={k: (None if isinstance(v, float) and not np.isfinite(v) else
                       v if isinstance(v, (int, float)) else str(v)) for k, v in extra.items()})


# --------------------------------------------------------------------------- app


def create_app(out_dir, *, index_dir=None, k_similar: int = 10) -> FastAPI:
    """The FastAPI app serving one ``skyfm discover`` output directory."""
    from skyfm.serve.page import PAGE

    state = _State(Path(out_dir), None if index_dir is None else Path(index_dir), k_similar)
    app = FastAPI(title="skyfm discovery", version="1",
                  description="Ranked unusual objects, human feedback and similarity search.")
    app.state.skyfm = state

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return PAGE.replace("{{OUT}}", str(state.out.name))

    @app.get("/api/candidates", response_model=CandidateList)
    def candidates(limit: int = Query(100, ge=1, le=100_000), offset: int = Query(0, ge=0),
                   include_boring: bool = True) -> CandidateList:
        with state.lock:
            ranked = state.ranked
        if not include_boring:
            ranked = ranked[ranked["feedback"] != fbk.BORING]
        rows = ranked.iloc[offset:offset + limit]
        return CandidateList(out_dir=str(state.out), total=len(ranked),
                             n_feedback=int((state.ranked["feedback"] != "").sum()),
                             offset=offset,
                             items=[state.candidate(r) for _, r in rows.iterrows()])

    @app.get("/api/feedback")
    def feedback_list() -> list[dict]:
        return fbk.load_feedback(state.out).to_dict(orient="records")

    @app.post("/api/feedback", response_model=FeedbackOut)
    def feedback(item: FeedbackIn) -> FeedbackOut:
        if item.object_id not in state.ids:
            raise HTTPException(404, f"unknown object id {item.object_id!r} "
                                     f"(not in {state.out / 'candidates.csv'})")
        with state.lock:
            row = fbk.record_feedback(state.out, item.object_id, item.label == fbk.INTERESTING,
                                      source="web")
            state.refresh()
            ranked = state.ranked
        new_rank = int(ranked.loc[ranked["object_id"] == item.object_id, "rank"].iloc[0])
        return FeedbackOut(object_id=item.object_id, label=item.label,
                           timestamp=row["timestamp"], new_rank=new_rank,
                           n_feedback=int((ranked["feedback"] != "").sum()))

    @app.get("/api/similar/{object_id}", response_model=SimilarOut)
    def similar(object_id: str, k: int = Query(10, ge=1, le=1000)) -> SimilarOut:
        with state.lock:
            index = state.index()
        if index is None:
            raise HTTPException(404, f"no embeddings in {state.out} (embeddings.npy) and no "
                                     "index: similarity search is unavailable")
        if object_id not in index:
            raise HTTPException(404, f"unknown object id {object_id!r} (not in the index)")
        hits = index.query_id(object_id, k)
        return SimilarOut(object_id=object_id, metric=index.metric,
                          neighbours=[Neighbour(object_id=h.object_id, rank=h.rank,
                                                similarity=h.score) for h in hits])

    if state.plots.is_dir():
        app.mount("/plots", StaticFiles(directory=state.plots), name="plots")
    if (state.out / "report").is_dir():
        app.mount("/report", StaticFiles(directory=state.out / "report", html=True),
                  name="report")

    @app.exception_handler(DataFormatError)
    def _bad_data(request, exc: DataFormatError):  # pragma: no cover - defensive
        from fastapi.responses import JSONResponse

        return JSONResponse(status_code=422, content={"detail": str(exc)})

    return app
