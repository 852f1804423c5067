"""``POST /v1/papers/search`` and ``POST /v1/ask`` of ``skyfm serve --papers-index DIR``: the
knowledge layer's typed functions (:mod:`skyfm.knowledge.tools`) behind REST. The app's guard
(token, Host, body size) covers these routes like every other."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import Depends, FastAPI

# at module level: FastAPI reads the route annotations (strings here) from these globals
from skyfm.knowledge.tools import (
    AskIn,
    AskOut,
    SearchPapersIn,
    SearchPapersOut,
    ask,
    open_index,
    search_papers,
)

__all__ = ["add_papers_routes"]


def add_papers_routes(app: FastAPI, index_dir: str | Path, strict: list[Depends],
                      responses: dict) -> None:
    """Register the two routes on ``app``, serving the paper index in ``index_dir`` (opened
    now, so a missing or damaged index is an error at start-up, not at the first request; each
    request then gets it through ``open_index``, which reopens it after an ``add``)."""
    open_index(index_dir)
    lock = threading.Lock()  # one query at a time: the embedder and SQLite handle are shared

    @app.post("/v1/papers/search", response_model=SearchPapersOut, responses=responses,
              dependencies=strict, tags=["papers"])
    def papers_search(req: SearchPapersIn) -> SearchPapersOut:
        """Hybrid (BM25 + MiniLM) search of the paper index, with filters."""
        with lock:
            return search_papers(open_index(index_dir), req)

    @app.post("/v1/ask", response_model=AskOut, responses=responses, dependencies=strict,
              tags=["papers"])
    def ask_route(req: AskIn) -> AskOut:
        """An answer whose every statement cites a retrieved passage (offline extractive, or
        the configured LLM's with its citations checked)."""
        with lock:
            return ask(open_index(index_dir), req)
