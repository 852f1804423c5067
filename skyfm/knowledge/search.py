"""Hybrid search: BM25 (tantivy) and MiniLM (faiss) results fused, with filters on category,
date and author, and a snippet of the best-matching sentences.

Fusion (``fuse``): by default each method's scores over its top candidates are standardised
(z-scores) and added with equal weights; a passage missing from one list gets that list's lowest
z-score. On the known-item task of ``bench/papers.py`` this beats both single methods at
recall@1, where plain reciprocal-rank fusion (``fusion="rrf"``, also offered) falls between
them (BM25 is much stronger than MiniLM there, and RRF weighs them alike by rank alone)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from skyfm.errors import SkyfmError
from skyfm.knowledge.index import PaperIndex, StoredPassage
from skyfm.knowledge.normalize import clean_text, sentences, words

__all__ = ["FUSIONS", "MODES", "Hit", "fuse", "highlight_terms", "search", "snippet"]

MODES = ("hybrid", "sparse", "dense")
Mode = Literal["hybrid", "sparse", "dense"]
FUSIONS = ("zscore", "rrf")
RRF_K = 60  # the constant of reciprocal-rank fusion (Cormack et al. 2009)


def fuse(sparse: list[tuple[int, float]], dense: list[tuple[int, float]],
         method: str = "zscore") -> list[tuple[int, float]]:
    """One ranking from two (row id, score) lists, best first."""
    fused: dict[int, float] = {}
    if method == "rrf":
        for lst in (sparse, dense):
            for rank, (r, _) in enumerate(lst, 1):
                fused[r] = fused.get(r, 0.0) + 1.0 / (RRF_K + rank)
    elif method == "zscore":
        parts = []
        for lst in (sparse, dense):
            if not lst:
                continue
            v = np.array([x for _, x in lst], dtype=float)
            z = (v - v.mean()) / (v.std() + 1e-9)
            parts.append(({r: float(x) for (r, _), x in zip(lst, z)}, float(z.min())))
        for r in {r for p, _ in parts for r in p}:
            fused[r] = 0.5 * sum(p.get(r, low) for p, low in parts)
    else:
        raise SkyfmError(f"unknown fusion {method!r} (expected one of {', '.join(FUSIONS)})")
    return sorted(fused.items(), key=lambda t: (-t[1], t[0]))


@dataclass
class Hit:
    """A retrieved passage. ``score``: the fused score (hybrid), BM25 (sparse) or cosine (dense);
    ``sparse_rank`` / ``dense_rank``: its rank in each list (1 = first; None = not in it)."""

    passage: StoredPassage
    score: float
    snippet: str
    sparse_rank: int | None = None
    dense_rank: int | None = None

    @property
    def id(self) -> str:
        return self.passage.doc_id

    @property
    def title(self) -> str:
        return self.passage.title or ""


def _match(word: str, terms: set[str]) -> bool:
    w = words(word)
    return bool(w) and any(t == w[0] or (len(t) >= 5 and w[0].startswith(t[:5])) for t in terms)


def snippet(text: str, query: str, max_chars: int = 300) -> str:
    """The sentences of ``text`` that share the most words with ``query`` (in text order)."""
    plain = clean_text(text)
    sents = sentences(plain) or [plain]
    terms = set(words(query))
    scored = sorted(range(len(sents)), key=lambda i: -sum(_match(w, terms)
                                                          for w in sents[i].split()))
    keep, size = [], 0
    for i in scored:
        if size and size + len(sents[i]) > max_chars:
            break
        keep.append(i)
        size += len(sents[i])
    out = " ".join(sents[i] for i in sorted(keep))
    return out if len(out) <= max_chars + 200 else out[: max_chars + 200].rsplit(" ", 1)[0] + " …"


def highlight_terms(snippet_text: str, query: str) -> list[tuple[int, int]]:
    """Character spans of ``snippet_text`` that match a query word (for highlighting)."""
    terms = set(words(query))
    return [(m.start(), m.end()) for m in re.finditer(r"[^\W_]+", snippet_text)
            if _match(m.group(0), terms)]


def search(index: PaperIndex, query: str, k: int = 10, *, mode: Mode = "hybrid",
           categories: list[str] | None = None, date_from: str | None = None,
           date_to: str | None = None, author: str | None = None, candidates: int = 100,
           per_document: bool = True, fusion: str = "zscore") -> list[Hit]:
    """The ``k`` best passages for ``query`` (one per document when ``per_document``).

    Hybrid fuses the top ``candidates`` of each method (see :func:`fuse`). Filters select
    passages before ranking (exactly, in both methods).
    """
    if mode not in MODES:
        raise SkyfmError(f"unknown search mode {mode!r} (expected one of {', '.join(MODES)})")
    if k < 1:
        raise SkyfmError(f"k must be at least 1 (got {k})")
    allowed = index.allowed(categories, date_from, date_to, author)
    n = max(candidates, k * 3)
    sparse = index.sparse_search(query, n, allowed) if mode != "dense" else []
    dense = []
    if mode != "sparse":
        vec = index.embedder.embed([clean_text(query)])[0]
        dense = index.dense_search(vec, n, allowed)
    s_rank = {r: i + 1 for i, (r, _) in enumerate(sparse)}
    d_rank = {r: i + 1 for i, (r, _) in enumerate(dense)}
    if mode == "sparse":
        scored = sparse
    elif mode == "dense":
        scored = dense
    else:
        scored = fuse(sparse, dense, fusion)
    passages = index.passages(r for r, _ in scored[: n])
    hits: list[Hit] = []
    seen: set[str] = set()
    for r, score in scored:
        p = passages.get(r)
        if p is None or (per_document and p.doc_id in seen):
            continue
        seen.add(p.doc_id)
        hits.append(Hit(p, float(score), snippet(p.text, query), s_rank.get(r), d_rank.get(r)))
        if len(hits) == k:
            break
    return hits
