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
``POST /v1/papers/search``         literature search (with ``papers_index``; see
                                   :mod:`skyfm.serve.papers_api`)
``POST /v1/ask``                   an answer citing retrieved passages (with ``papers_index``)
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

import numpy as np
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from skyfm.discover import feedback as fbk
from skyfm.errors import SkyfmError
from skyfm.serve.rundir import check_candidates, check_feedback, reading
from skyfm.serve.security import DEFAULT_MAX_BODY, LOOPBACK_NAMES, Guard

__all__ = [
    "Candidate",
    "CandidateList",
    "FeedbackIn",
    "FeedbackOut",
    "FeedbackRow",
    "Invalid",
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


MAX_ID = 200  # longest object id the API accepts (ids in candidates.csv are far shorter)

ObjectId = Annotated[str, Field(min_length=1, max_length=MAX_ID, description="an object id "
                                "from candidates.csv")]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object_id: ObjectId
    label: Literal["interesting", "boring"]


class FeedbackRow(BaseModel):
    object_id: str
    label: Literal["interesting", "boring"]
    timestamp: str = ""
    source: str = ""


class Error(BaseModel):
    detail: str = Field(description="what was wrong (the request body is never echoed)")


class Problem(BaseModel):
    loc: list[str | int] = Field(description="where: body / query / path, then the field")
    msg: str
    type: str


class Invalid(BaseModel):
    detail: list[Problem] = Field(description="what was invalid (the input is never echoed)")


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

    def feedback(self):
        """The labels so far (``OUT/feedback.csv``); DataFormatError when it is damaged."""
        path = self.out / fbk.FEEDBACK_FILE
        check_feedback(path)
        with reading(path):
            return fbk.load_feedback(self.out)

    def refresh(self) -> None:
        self.ranked = fbk.rerank(self.out, ranker=self.ranker, candidates=self.candidates,
                                 feedback=self.feedback())

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


def _short(text: str, n: int = 80) -> str:
    """``text`` quoted, cut to ``n`` characters: error messages never echo long input."""
    return repr(text if len(text) <= n else text[:n] + "...")


def _responses(*codes: int) -> dict:
    """OpenAPI ``responses`` for the error statuses a route can give (besides 422)."""
    why = {400: "Host header not allowed, or a body that is not JSON",
           401: "missing or wrong access token",
           404: "unknown object id, or no similarity index", 413: "request body too large",
           422: "an invalid value, or a query parameter the route does not take",
           503: "the OUT directory became unreadable while serving (e.g. a damaged "
                "feedback.csv)"}
    return {c: {"model": Invalid if c == 422 else Error, "description": why[c]} for c in codes}


_ALWAYS = (400, 401, 413, 422, 503)


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with where and what was wrong, but never the input itself (it may be huge or NaN)."""
    detail = [{"loc": [p if isinstance(p, int) else str(p)[:MAX_ID] for p in e.get("loc", ())],
               "msg": str(e.get("msg", ""))[:500], "type": str(e.get("type", ""))}
              for e in exc.errors()[:20]]
    return JSONResponse(status_code=422, content={"detail": detail})


def _strict_query(request: Request) -> None:
    """422 for a query parameter the route does not take (a typo such as ``?limt=5`` would
    otherwise be ignored silently). ``token`` is the access token's, always allowed."""
    route = request.scope.get("route")
    known = {p.alias for p in getattr(getattr(route, "dependant", None), "query_params", [])}
    unknown = sorted({k for k in request.query_params if k not in known and k != "token"})
    if unknown:
        raise RequestValidationError([{"loc": ("query", unknown[0][:MAX_ID]), "type":
                                       "extra_forbidden", "msg": "unknown query parameter; "
                                       f"this route takes {sorted(known) or 'none'}"}])


def _damaged_out(request: Request, exc: SkyfmError) -> JSONResponse:
    return JSONResponse(status_code=503, content={"detail": str(exc)[:2000]})


def _fastapi(**kwargs) -> FastAPI:
    """A FastAPI app whose /docs and /redoc load their scripts from the installed
    ``fastapi-offline`` package instead of a CDN (so they work offline)."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError:  # docs then need the network; everything else works
        return FastAPI(**kwargs)
    return FastAPIOffline(**kwargs)


def create_app(out_dir, *, index_dir=None, k_similar: int = 10, token: str | None = None,
               allowed_hosts=None, max_body: int = DEFAULT_MAX_BODY,
               papers_index=None) -> FastAPI:
    """The FastAPI app serving one ``skyfm discover`` output directory.

    ``token``: when given, every request (API, page, plots, report, docs) needs it (see
    :mod:`skyfm.serve.security`); ``skyfm serve`` requires one beyond loopback.
    ``allowed_hosts``: names the Host header may carry (default: loopback names only).
    ``max_body``: largest request body accepted, in bytes (413 above it).
    ``papers_index``: a ``skyfm papers index`` directory to serve ``/v1/papers/search`` and
    ``/v1/ask`` from (the routes exist only when it is given).
    Raises DataNotFoundError / DataFormatError when ``out_dir`` is missing, incomplete or
    damaged (e.g. a truncated candidates.csv).
    """
    from skyfm.serve.page import render_page

    out = Path(out_dir)
    if (out / fbk.CANDIDATES_FILE).is_file():
        check_candidates(out / fbk.CANDIDATES_FILE)
    check_feedback(out / fbk.FEEDBACK_FILE)
    with reading(out / fbk.FEEDBACK_FILE):
        state = _State(out, None if index_dir is None else Path(index_dir), k_similar)
    app = _fastapi(title="skyfm discovery", version="1",
                   description="Ranked unusual objects, human feedback and similarity search.")
    app.state.skyfm = state
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(SkyfmError, _damaged_out)
    app.add_middleware(Guard, allowed_hosts=LOOPBACK_NAMES if allowed_hosts is None
                       else allowed_hosts, token=token, max_body=max_body)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return render_page(state.out.name)

    strict = [Depends(_strict_query)]

    @app.get("/api/candidates", response_model=CandidateList, responses=_responses(*_ALWAYS),
             dependencies=strict)
    def candidates(limit: int = Query(100, ge=1, le=10_000),
                   offset: int = Query(0, ge=0, le=10_000_000),
                   include_boring: bool = True) -> CandidateList:
        with state.lock:
            ranked = state.ranked
        n_feedback = int((ranked["feedback"] != "").sum())
        if not include_boring:
            ranked = ranked[ranked["feedback"] != fbk.BORING]
        rows = ranked.iloc[offset:offset + limit]
        return CandidateList(out_dir=str(state.out), total=len(ranked), n_feedback=n_feedback,
                             offset=offset,
                             items=[state.candidate(r) for _, r in rows.iterrows()])

    @app.get("/api/feedback", response_model=list[FeedbackRow],
             responses=_responses(*_ALWAYS), dependencies=strict)
    def feedback_list() -> list[FeedbackRow]:
        with state.lock:  # not while a label is being appended
            rows = state.feedback().to_dict(orient="records")
        return [FeedbackRow(**{k: str(v) for k, v in r.items()}) for r in rows]

    @app.post("/api/feedback", response_model=FeedbackOut,
              responses=_responses(404, *_ALWAYS), dependencies=strict)
    def feedback(item: FeedbackIn) -> FeedbackOut:
        if item.object_id not in state.ids:
            raise HTTPException(404, f"unknown object id {_short(item.object_id)} "
                                     f"(not in {state.out / 'candidates.csv'})")
        with state.lock:
            state.feedback()  # never append to a damaged file: 503 before writing
            row = fbk.record_feedback(state.out, item.object_id, item.label == fbk.INTERESTING,
                                      source="web")
            state.refresh()
            ranked = state.ranked
        new_rank = int(ranked.loc[ranked["object_id"] == item.object_id, "rank"].iloc[0])
        return FeedbackOut(object_id=item.object_id, label=item.label,
                           timestamp=row["timestamp"], new_rank=new_rank,
                           n_feedback=int((ranked["feedback"] != "").sum()))

    @app.get("/api/similar/{object_id}", response_model=SimilarOut,
             responses=_responses(404, *_ALWAYS), dependencies=strict)
    def similar(object_id: Annotated[str, PathParam(min_length=1, max_length=MAX_ID)],
                k: int = Query(10, ge=1, le=1000)) -> SimilarOut:
        with state.lock:
            index = state.index()
        if index is None:
            raise HTTPException(404, f"no embeddings in {state.out} (embeddings.npy) and no "
                                     "index: similarity search is unavailable")
        if object_id not in index:
            raise HTTPException(404, f"unknown object id {_short(object_id)} "
                                     "(not in the index)")
        hits = index.query_id(object_id, k)
        return SimilarOut(object_id=object_id, metric=index.metric,
                          neighbours=[Neighbour(object_id=h.object_id, rank=h.rank,
                                                similarity=h.score) for h in hits])

    if papers_index is not None:
        from skyfm.serve.papers_api import add_papers_routes

        add_papers_routes(app, papers_index, strict, _responses(*_ALWAYS))
    if state.plots.is_dir():
        app.mount("/plots", StaticFiles(directory=state.plots), name="plots")
    if (state.out / "report").is_dir():
        app.mount("/report", StaticFiles(directory=state.out / "report", html=True),
                  name="report")
    if token is not None:
        _declare_bearer(app)
    return app


def _declare_bearer(app: FastAPI) -> None:
    """Say in the OpenAPI schema that every operation needs the bearer token."""
    plain = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = plain()
            schema.setdefault("components", {})["securitySchemes"] = {
                "token": {"type": "http", "scheme": "bearer",
                          "description": "the token `skyfm serve` printed or was given"}}
            schema["security"] = [{"token": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
