"""Read documents (arXiv-style JSONL, reStructuredText, Markdown, plain text, PDF, LaTeX) and cut
them into chunks with provenance.

Readers never guess: a record without an ``arxiv_id`` or ``abstract``, or with a field of the
wrong type, is reported (file, line, field, what was expected) and skipped; a file that cannot be
read at all (truncated gzip, undecodable bytes, a broken PDF) is reported by name and skipped
whole. Problems are returned, not raised, so one bad file does not stop an index build.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from skyfm.knowledge.documents import Chunk, Document
from skyfm.knowledge.normalize import clean_text, sentences

__all__ = ["SUFFIXES", "Problem", "chunk_document", "read_sources"]

# suffix -> kind; ".jsonl.gz" and ".json.gz" are handled by _kind
SUFFIXES = {".jsonl": "arxiv", ".ndjson": "arxiv", ".rst": "rst", ".md": "markdown",
            ".markdown": "markdown", ".txt": "text", ".text": "text", ".pdf": "pdf",
            ".tex": "latex"}
MAX_CHARS = 700  # a chunk's target size; an abstract stays whole up to ABSTRACT_MAX
ABSTRACT_MAX = 2500


@dataclass(frozen=True)
class Problem:
    """Something that was not indexed, and why: ``source`` is ``file`` or ``file:line``."""

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith((".jsonl.gz", ".ndjson.gz")):
        return "arxiv"
    return SUFFIXES.get(path.suffix.lower())


# --------------------------------------------------------------------------- JSONL


def _opt_str(rec: dict, key: str, where: str) -> tuple[str | None, Problem | None]:
    v = rec.get(key)
    if v is None:
        return None, None
    if not isinstance(v, str):
        return None, Problem(where, f"field '{key}' is {type(v).__name__} (expected a string "
                                    "or null)")
    return (v.strip() or None), None


def _opt_list(rec: dict, key: str, where: str, split: bool) -> tuple[list[str], Problem | None]:
    v = rec.get(key)
    if v is None:
        return [], None
    if isinstance(v, str):  # arXiv's own metadata spells categories "astro-ph.GA astro-ph.CO"
        return (v.split() if split else [v.strip()]) if v.strip() else [], None
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return [x.strip() for x in v if x.strip()], None
    return [], Problem(where, f"field '{key}' is {type(v).__name__} (expected a list of strings, "
                              "a string or null)")


def _arxiv_record(rec, where: str) -> Document | Problem:
    if not isinstance(rec, dict):
        return Problem(where, f"a JSON {type(rec).__name__}, not an object (expected one "
                              "paper per line with arxiv_id and abstract)")
    aid = rec.get("arxiv_id")
    if not isinstance(aid, str) or not aid.strip():
        return Problem(where, "field 'arxiv_id' is missing or empty (expected the arXiv "
                              "identifier, e.g. '2504.11526')")
    abstract = rec.get("abstract")
    if not isinstance(abstract, str) or not abstract.strip():
        return Problem(where, "field 'abstract' is missing, null or empty (expected the "
                              "abstract text)")
    title, p1 = _opt_str(rec, "title", where)
    date, p2 = _opt_str(rec, "listing_date", where)
    authors, p3 = _opt_list(rec, "authors", where, split=False)
    cats, p4 = _opt_list(rec, "categories", where, split=True)
    for p in (p1, p2, p3, p4):
        if p is not None:
            return p
    if date is not None:
        try:
            date = _dt.date.fromisoformat(date[:10]).isoformat()
        except ValueError:
            return Problem(where, f"field 'listing_date' is {date[:40]!r} (expected an ISO "
                                  "date YYYY-MM-DD or null)")
    aid = aid.strip().removeprefix("arXiv:").removeprefix("arxiv:")
    return Document(doc_id=f"arXiv:{aid}", text=abstract.strip(), kind="arxiv", source=where,
                    title=title, authors=authors, categories=cats, date=date)


def read_jsonl(path: Path) -> Iterator[Document | Problem]:
    """arXiv-style metadata, one JSON object a line (plain or gzipped, told by the magic bytes).

    Raises OSError / EOFError / UnicodeDecodeError for an unreadable file (the caller skips it).
    """
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8")
    for no, line in enumerate(io.StringIO(text), 1):
        if not line.strip():
            continue
        where = f"{path}:{no}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Problem(where, f"not JSON ({exc.msg} at column {exc.colno})")
            continue
        yield _arxiv_record(rec, where)


# --------------------------------------------------------------------------- text files

_RST_ADORN = "=-~^\"'`#*+<>_:."


def _rst_sections(text: str) -> list[tuple[str, int]]:
    """(title, offset of the title line) of each reStructuredText section."""
    out = []
    lines = text.splitlines(keepends=True)
    pos = 0
    offsets = []
    for ln in lines:
        offsets.append(pos)
        pos += len(ln)
    for i in range(1, len(lines)):
        under = lines[i].rstrip("\r\n")
        title = lines[i - 1].strip()
        if (len(under) >= 3 and under[0] in _RST_ADORN and under == under[0] * len(under)
                and title and len(under) >= len(title) and not title.startswith("..")
                and not (title[0] in _RST_ADORN and title == title[0] * len(title))):
            over = lines[i - 2].rstrip("\r\n") if i >= 2 else ""
            out.append((title, offsets[i - 2] if over == under else offsets[i - 1]))
    return out


def _md_sections(text: str) -> list[tuple[str, int]]:
    out, in_code = [], False
    for m in re.finditer(r"^(```|~~~|#{1,6}\s+(.+?)\s*#*\s*$)", text, re.MULTILINE):
        if m.group(1) in ("```", "~~~"):
            in_code = not in_code
        elif not in_code:
            out.append((m.group(2), m.start()))
    return out


_TEX_SECTION = re.compile(r"\\(?:sub)*section\*?\{([^}]*)\}|\\begin\{abstract\}")


def _tex_sections(text: str) -> list[tuple[str, int]]:
    return [(m.group(1) or "Abstract", m.start()) for m in _TEX_SECTION.finditer(text)]


def _spans(text: str, heads: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
    if not heads:
        return [("", 0, len(text))]
    spans = [("", 0, heads[0][1])] if heads[0][1] > 0 and text[: heads[0][1]].strip() else []
    for i, (title, start) in enumerate(heads):
        end = heads[i + 1][1] if i + 1 < len(heads) else len(text)
        spans.append((title, start, end))
    return spans


def _tex_body(text: str) -> tuple[str, int]:
    """The document body of a LaTeX source (between \\begin{document} and \\end{document})."""
    b = text.find("\\begin{document}")
    start = b + len("\\begin{document}") if b >= 0 else 0
    e = text.find("\\end{document}", start)
    return text[start: e if e >= 0 else len(text)], start


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def read_file_document(path: Path, doc_id: str, kind: str) -> Document:
    """One documentation / text / LaTeX / PDF file as a Document. Raises on unreadable input."""
    if kind == "pdf":
        return _read_pdf(path, doc_id)
    text = _read_text(path)
    if "\x00" in text:
        raise UnicodeDecodeError("utf-8", b"\x00", 0, 1, "NUL bytes: not a text file")
    if kind == "rst":
        heads = _rst_sections(text)
    elif kind == "markdown":
        heads = _md_sections(text)
    elif kind == "latex":
        body, off = _tex_body(text)
        heads = [(t, o + off) for t, o in _tex_sections(body)]
        if off:
            heads = heads or [("", off)]
            text = text[: text.find("\\end{document}")] if "\\end{document}" in text else text
    else:
        heads = []
    sections = _spans(text, heads)
    if kind == "latex" and "\\begin{document}" in text:  # drop the preamble
        b = text.find("\\begin{document}") + len("\\begin{document}")
        sections = [(t, max(s, b), e) for t, s, e in sections if e > b]
    title = next((t for t, _, _ in sections if t), None)
    if kind == "latex":
        m = re.search(r"\\title\{([^}]*)\}", text)
        title = m.group(1).strip() if m else title
    return Document(doc_id=doc_id, text=text, kind=kind, source=str(path), title=title,
                    sections=sections)


def _read_pdf(path: Path, doc_id: str) -> Document:
    from skyfm.errors import require

    pypdf = require("pypdf", "papers")
    reader = pypdf.PdfReader(str(path), strict=False)
    parts, sections, pos = [], [], 0
    for i, page in enumerate(reader.pages, 1):
        t = (page.extract_text() or "").strip()
        if not t:
            continue
        sections.append((f"page {i}", pos, pos + len(t)))
        parts.append(t)
        pos += len(t) + 2
    text = "\n\n".join(parts)
    if not text.strip():
        raise ValueError("no extractable text (a scanned PDF?)")
    meta = reader.metadata or {}
    title = meta.get("/Title") if isinstance(meta.get("/Title"), str) else None
    return Document(doc_id=doc_id, text=text, kind="pdf", source=str(path),
                    title=(title or "").strip() or path.stem, sections=sections)


# --------------------------------------------------------------------------- walking sources


def _files(src: Path) -> Iterator[tuple[Path, Path]]:
    """(file, root) pairs: ``src`` itself, or the files under a directory in sorted order."""
    if src.is_dir():
        for p in sorted(src.rglob("*")):
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(src).parts):
                yield p, src
    else:
        yield src, src.parent


def read_sources(sources: Iterable[str | Path], label: str | None = None
                 ) -> Iterator[Document | Problem]:
    """Documents from files and directories, with a Problem for each thing not read.

    File documents get the id ``"{label}: {path relative to the source}"``; ``label`` defaults to
    the source directory's name (a single file: its name alone). JSONL records are cited by their
    arXiv id, whatever the label.
    """
    for src in map(Path, sources):
        if not src.exists():
            yield Problem(str(src), "no such file or directory")
            continue
        for path, root in _files(src):
            kind = _kind(path)
            if kind is None:
                yield Problem(str(path), "not indexed: unknown type (expected .jsonl[.gz], "
                                         ".rst, .md, .txt, .pdf or .tex)")
                continue
            try:
                if kind == "arxiv":
                    items = list(read_jsonl(path))  # whole file first: a truncated gzip skips it
                    yield from items
                    continue
                rel = path.relative_to(root).as_posix()
                if src.is_dir():
                    name = label or src.resolve().name
                    doc_id = f"{name}: {rel}"
                else:
                    doc_id = f"{label}: {rel}" if label else rel
                yield read_file_document(path, doc_id, kind)
            except Exception as exc:  # noqa: BLE001 - any reader failure: report the file, go on
                yield Problem(str(path), f"skipped, cannot read it as {kind}: "
                                         f"{type(exc).__name__}: {str(exc)[:200]}")


# --------------------------------------------------------------------------- chunking


def _paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out = []
    for m in re.finditer(r"\S(?:.*?\S)?(?=\n\s*\n|\s*$)", text[start:end], re.DOTALL):
        out.append((start + m.start(), start + m.end()))
    return out


def _split_long(text: str, s: int, e: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut [s, e) at sentence ends into pieces of at most ~max_chars."""
    if e - s <= max_chars:
        return [(s, e)]
    out, cur = [], s
    for sent in sentences(text[s:e]):
        # locate sentence start in the original span (sentences() collapses whitespace)
        first = sent.split(" ", 1)[0]
        at = text.find(first, cur)
        if at < 0 or at >= e:
            continue
        if at - cur >= max_chars * 0.5 and at > cur:
            out.append((cur, at))
            cur = at
    out.append((cur, e))
    # hard cut any piece still far too long (no sentence ends, e.g. a code listing)
    final = []
    for a, b in out:
        while b - a > 2 * max_chars:
            final.append((a, a + max_chars))
            a += max_chars
        final.append((a, b))
    return [(a, b) for a, b in final if text[a:b].strip()]


def _merge_short(text: str, pieces: list[tuple[str, int, int]], max_chars: int,
                 min_words: int = 12) -> list[tuple[str, int, int]]:
    """Join a piece of fewer than ``min_words`` words (a heading, a one-line intro) to the
    piece after it, so no passage is a bare heading."""
    out: list[tuple[str, int, int]] = []
    carry: tuple[str, int, int] | None = None
    for sec, a, b in pieces:
        if carry is not None:
            sec, a = (carry[0] or sec), carry[1]
            carry = None
        if len(clean_text(text[a:b]).split()) < min_words and b - a < max_chars:
            carry = (sec, a, b)
            continue
        out.append((sec, a, b))
    if carry is not None:
        if out and carry[2] - out[-1][1] <= 2 * max_chars:
            out[-1] = (out[-1][0], out[-1][1], carry[2])
        else:
            out.append(carry)
    return out


def chunk_document(doc: Document, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Cut a document into passages: by section, then by paragraph (merged up to ``max_chars``).

    An abstract up to ABSTRACT_MAX characters stays one passage. Offsets are into ``doc.text``.
    """
    meta = {"title": doc.title, "kind": doc.kind, "source": doc.source, "authors": doc.authors,
            "categories": doc.categories, "date": doc.date}
    text = doc.text
    if doc.kind == "arxiv" and len(text) <= ABSTRACT_MAX:
        return [Chunk(doc.doc_id, 0, text, 0, len(text), **meta)]
    spans: list[tuple[str, int, int]] = []
    for section, s, e in (doc.sections or [("", 0, len(text))]):
        group: tuple[int, int] | None = None
        for a, b in _paragraphs(text, s, e):
            if group and b - group[0] <= max_chars:
                group = (group[0], b)
                continue
            if group:
                spans.append((section, *group))
            group = (a, b)
        if group:
            spans.append((section, *group))
    pieces = [(sec, a, b) for sec, s, e in spans for a, b in _split_long(text, s, e, max_chars)]
    # a piece that is only markup (a label, a directive, an underline) says nothing: not indexed
    pieces = [p for p in pieces if re.search(r"\w", clean_text(text[p[1]:p[2]]))]
    pieces = _merge_short(text, pieces, max_chars)
    return [Chunk(doc.doc_id, i, text[a:b], a, b, section=sec, **meta)
            for i, (sec, a, b) in enumerate(pieces)]
