"""Typed documents and chunks. A chunk knows where it came from: the document's id and title,
the section, and the character offsets of its text in the document's text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

__all__ = ["Chunk", "Document", "content_hash"]


def content_hash(*parts: str | None) -> str:
    """sha256 over the parts (``None`` counts as empty), separated so parts cannot run together."""
    h = hashlib.sha256()
    for p in parts:
        h.update((p or "").encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


@dataclass
class Document:
    """One paper's metadata record, one documentation file, one PDF or LaTeX source.

    ``doc_id`` is what answers cite: ``arXiv:2504.11526`` or ``pyvo docs: dal/index.rst``.
    ``source`` is the file it was read from (``path`` or ``path:line`` for a JSONL record).
    ``sections``: (title, start, end) character spans of ``text``; empty for a plain abstract.
    """

    doc_id: str
    text: str
    kind: str  # arxiv | rst | markdown | text | pdf | latex
    source: str
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    date: str | None = None  # ISO date, YYYY-MM-DD
    sections: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def hash(self) -> str:
        """Content hash: the same text and metadata give the same hash (used to deduplicate)."""
        return content_hash(self.text, self.title, "|".join(self.authors),
                            "|".join(self.categories), self.date)


@dataclass
class Chunk:
    """A passage of a document: the unit that is indexed, retrieved and cited.

    ``passage_id`` is ``doc_id#n`` (n counts from 0 within the document); ``start``/``end``
    are character offsets of ``text`` in the document's text (``doc.text[start:end]``).
    """

    doc_id: str
    n: int
    text: str
    start: int
    end: int
    section: str = ""
    title: str | None = None
    kind: str = ""
    source: str = ""
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    date: str | None = None

    @property
    def passage_id(self) -> str:
        return f"{self.doc_id}#{self.n}"
