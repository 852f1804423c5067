"""The on-disk paper index: sparse (tantivy BM25), dense (faiss, MiniLM vectors) and metadata
(SQLite), all keyed by one integer passage row id.

Layout of ``DIR``::

    meta.json      format, version, the embedder the vectors came from
    meta.sqlite    documents (id, title, authors, categories, date, content hash, source)
                   and passages (row id, document, section, character offsets, text)
    sparse/        tantivy index (title + text, English stemming; LaTeX as words)
    dense.faiss    faiss IndexIDMap2(IndexFlatIP) over L2-normalised vectors
    generation     how many ``add`` calls have changed the index (written last, atomically):
                   a process holding the index open compares it to know it is stale

``add`` is incremental: only new documents are chunked, embedded and appended. A document
whose id and content hash are already there is counted as a duplicate and left alone; one
whose id is there with other content replaces the old version (reported as replaced); one whose
content is already indexed under another id is reported as a duplicate of it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skyfm.errors import DataFormatError, DataNotFoundError, IncompleteOutputError, require
from skyfm.knowledge.documents import Chunk, Document
from skyfm.knowledge.embedding import DEFAULT_BACKEND, default_max_tokens, get_embedder
from skyfm.knowledge.ingest import Problem, chunk_document, read_sources
from skyfm.knowledge.normalize import clean_text

__all__ = ["AddReport", "PaperIndex", "StoredPassage", "embed_text", "index_generation"]

FORMAT = "skyfm-papers-index"
VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
  doc_id TEXT PRIMARY KEY, title TEXT, kind TEXT, source TEXT, authors TEXT,
  categories TEXT, date TEXT, hash TEXT NOT NULL, n_passages INTEGER);
CREATE INDEX IF NOT EXISTS documents_hash ON documents(hash);
CREATE TABLE IF NOT EXISTS passages (
  id INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL, n INTEGER, section TEXT,
  start INTEGER, "end" INTEGER, text TEXT);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
"""


def index_generation(path: str | Path) -> int:
    """The on-disk state of the index in ``path``: how many ``add`` calls changed it (0 for a
    new index, or one written before the counter existed)."""
    f = Path(path) / "generation"
    try:
        return int(f.read_text().strip())
    except FileNotFoundError:
        return 0
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"unreadable ({exc})", file=f,
                              expected="one integer, written by skyfm papers index") from exc


@dataclass
class StoredPassage:
    """A passage as stored: what search returns and answers cite."""

    rowid: int
    doc_id: str
    n: int
    title: str | None
    section: str
    start: int
    end: int
    text: str
    kind: str
    source: str
    authors: list[str]
    categories: list[str]
    date: str | None

    @property
    def passage_id(self) -> str:
        return f"{self.doc_id}#{self.n}"


@dataclass
class AddReport:
    """What ``add`` did. ``problems``: every record or file not indexed, and why."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    n_passages: int = 0

    def summary(self) -> str:
        return (f"{len(self.added)} documents added ({self.n_passages} passages), "
                f"{len(self.replaced)} replaced, {len(self.duplicates)} already indexed, "
                f"{len(self.problems)} problems")


def embed_text(title: str | None, section: str, text: str) -> str:
    """The text a passage is embedded as: its title and section give the context."""
    head = " - ".join(clean_text(h) for h in (title, section) if h)
    body = clean_text(text)
    return f"{head}. {body}" if head else body


_QUERY_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def sparse_query_text(query: str) -> str:
    """A free-text query as plain lower-case words: no tantivy syntax survives (``AND``,
    ``field:``, quotes, ``-``), LaTeX becomes words."""
    return " ".join(_QUERY_WORD.findall(clean_text(query).lower()))


class PaperIndex:
    """Open (or create, with ``create=True``) the index in ``path``.

    ``embedder`` / ``max_tokens`` (a new index only): the embedding back-end and its truncation
    length (default :func:`~skyfm.knowledge.embedding.default_max_tokens`: 128 for MiniLM);
    both are recorded and used for every query."""

    def __init__(self, path: str | Path, *, create: bool = False,
                 embedder: str = DEFAULT_BACKEND, max_tokens: int | None = None):
        self.path = Path(path)
        meta = self.path / "meta.json"
        if not meta.is_file():
            if not create:
                raise DataNotFoundError(f"no paper index at {self.path} (expected meta.json; "
                                        "build one with `skyfm papers index SRC --index DIR`)")
            if self.path.exists() and any(self.path.iterdir()):
                raise DataFormatError("directory is not empty and holds no paper index; "
                                      "refusing to write into it", file=self.path,
                                      expected="a new or empty directory")
            self.path.mkdir(parents=True, exist_ok=True)
            backend = get_embedder(embedder, max_tokens or default_max_tokens(embedder))
            self.meta = {"format": FORMAT, "version": VERSION, "embedder": backend.name,
                         "max_tokens": backend.max_len, "dim": backend.dim}
            meta.write_text(json.dumps(self.meta, indent=1))
        else:
            try:
                self.meta = json.loads(meta.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise DataFormatError(f"unreadable ({exc})", file=meta,
                                      expected="the JSON skyfm papers index writes") from exc
            if self.meta.get("format") != FORMAT:
                raise DataFormatError(f"format is {self.meta.get('format')!r}", file=meta,
                                      field="format", expected=repr(FORMAT))
        self.generation = index_generation(self.path)
        self._db = sqlite3.connect(str(self.path / "meta.sqlite"), check_same_thread=False)
        try:
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise DataFormatError(f"not a readable SQLite database ({exc})",
                                  file=self.path / "meta.sqlite") from exc
        self._sparse = self._open_sparse()
        self._dense = self._open_dense()
        self._check()

    # ------------------------------------------------------------------ stores

    def _open_sparse(self):
        tantivy = require("tantivy", "papers")
        sb = tantivy.SchemaBuilder()
        sb.add_integer_field("rowid", stored=True, indexed=True, fast=True)
        sb.add_text_field("title", stored=False, tokenizer_name="en_stem")
        sb.add_text_field("body", stored=False, tokenizer_name="en_stem")
        schema = sb.build()
        d = self.path / "sparse"
        d.mkdir(exist_ok=True)
        try:
            index = tantivy.Index(schema, path=str(d), reuse=True)
        except Exception as exc:
            raise DataFormatError(f"the sparse (tantivy) index cannot be opened ({exc})",
                                  file=d) from exc
        self._schema = schema
        return index

    def _open_dense(self):
        faiss = require("faiss", "papers")
        f = self.path / "dense.faiss"
        if not f.is_file():
            return faiss.IndexIDMap2(faiss.IndexFlatIP(int(self.meta["dim"])))
        try:
            return faiss.read_index(str(f))
        except RuntimeError as exc:
            raise DataFormatError(f"the dense (faiss) index cannot be read ({exc})",
                                  file=f) from exc

    def _check(self) -> None:
        n = self.n_passages
        dense = int(self._dense.ntotal)
        sparse = int(self._sparse.searcher().num_docs)
        if not (n == dense == sparse):
            raise IncompleteOutputError(
                f"the paper index is inconsistent: {n} passages in meta.sqlite, {dense} "
                f"vectors in dense.faiss, {sparse} in sparse/ (an interrupted add?); rebuild "
                "it into a new directory", file=self.path)

    # ------------------------------------------------------------------ facts

    @property
    def n_passages(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM passages").fetchone()[0])

    @property
    def n_documents(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    @property
    def embedder(self):
        return get_embedder(self.meta["embedder"], self.meta.get("max_tokens"))

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    # ------------------------------------------------------------------ adding

    def add_sources(self, sources: Iterable[str | Path], label: str | None = None,
                    progress=None) -> AddReport:
        """Read files / directories (see :func:`read_sources`) and add their documents."""
        docs, problems = [], []
        for item in read_sources(sources, label=label):
            (problems if isinstance(item, Problem) else docs).append(item)
        report = self.add(docs, progress=progress)
        report.problems[:0] = problems
        return report

    def add(self, docs: Iterable[Document], progress=None) -> AddReport:
        """Add documents; returns what was added, replaced, already there or refused."""
        from filelock import FileLock

        report = AddReport()
        with FileLock(str(self.path / ".lock")):
            new, replace = self._triage(list(docs), report)
            chunks = [c for d in new for c in chunk_document(d)]
            vectors = self._embed(chunks, progress)
            self._write(new, replace, chunks, vectors)
        report.n_passages = len(chunks)
        return report

    def _triage(self, docs: list[Document], report: AddReport):
        new: list[Document] = []
        replace: list[str] = []
        seen: dict[str, str] = {}  # hash -> doc id, within this call
        batch_ids: set[str] = set()
        for d in docs:
            h = d.hash
            row = self._db.execute("SELECT hash FROM documents WHERE doc_id=?",
                                   (d.doc_id,)).fetchone()
            if d.doc_id in batch_ids:
                report.problems.append(Problem(d.source, f"not indexed: a second document "
                                                         f"with id {d.doc_id} in this batch"))
                continue
            if row is not None and row[0] == h:
                report.duplicates.append(d.doc_id)
                batch_ids.add(d.doc_id)  # a later row with this id is a second document
                continue
            other = seen.get(h) or (self._db.execute(
                "SELECT doc_id FROM documents WHERE hash=? AND doc_id<>?",
                (h, d.doc_id)).fetchone() or [None])[0]
            if other is not None:
                report.problems.append(Problem(d.source, f"not indexed: same content as "
                                                         f"{other} (already indexed)"))
                continue
            if row is not None:
                replace.append(d.doc_id)
                report.replaced.append(d.doc_id)
            else:
                report.added.append(d.doc_id)
            seen[h] = d.doc_id
            batch_ids.add(d.doc_id)
            new.append(d)
        return new, replace

    def _embed(self, chunks: list[Chunk], progress) -> np.ndarray:
        texts = [embed_text(c.title, c.section, c.text) for c in chunks]
        emb = self.embedder
        out = np.zeros((len(texts), emb.dim), dtype=np.float32)
        step = 512
        for i in range(0, len(texts), step):
            out[i:i + step] = emb.embed(texts[i:i + step])
            if progress is not None:
                progress(min(i + step, len(texts)), len(texts))
        return out

    def _write(self, new: list[Document], replace: list[str], chunks: list[Chunk],
               vectors: np.ndarray) -> None:
        tantivy = require("tantivy", "papers")
        faiss = require("faiss", "papers")
        db = self._db
        writer = self._sparse.writer(heap_size=64_000_000, num_threads=1)
        try:
            old = [r[0] for d in replace for r in
                   db.execute("SELECT id FROM passages WHERE doc_id=?", (d,)).fetchall()]
            for rid in old:
                writer.delete_documents_by_term("rowid", int(rid))
            if old:
                self._dense.remove_ids(np.asarray(old, dtype=np.int64))
                db.executemany("DELETE FROM passages WHERE id=?", [(r,) for r in old])
                db.executemany("DELETE FROM documents WHERE doc_id=?", [(d,) for d in replace])
            n_per = {}
            for c in chunks:
                n_per[c.doc_id] = n_per.get(c.doc_id, 0) + 1
            db.executemany(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?)",
                [(d.doc_id, clean_text(d.title) if d.title else None, d.kind, d.source,
                  json.dumps(d.authors), json.dumps(d.categories), d.date, d.hash,
                  n_per.get(d.doc_id, 0)) for d in new])
            ids = []
            for c in chunks:
                cur = db.execute('INSERT INTO passages (doc_id, n, section, start, "end", text) '
                                 "VALUES (?,?,?,?,?,?)", (c.doc_id, c.n, clean_text(c.section),
                                                          c.start, c.end, c.text))
                ids.append(cur.lastrowid)
                writer.add_document(tantivy.Document(
                    rowid=int(cur.lastrowid), title=clean_text(c.title or ""),
                    body=clean_text(f"{c.section}\n{c.text}")))
            writer.commit()
            writer.wait_merging_threads()
            if ids:
                self._dense.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
            tmp = self.path / "dense.faiss.tmp"
            faiss.write_index(self._dense, str(tmp))
            tmp.replace(self.path / "dense.faiss")
            db.commit()
        except BaseException:
            db.rollback()
            raise
        self._sparse.reload()
        # last: readers that see the new number see every store of this add
        self.generation = index_generation(self.path) + 1
        tmp = self.path / "generation.tmp"
        tmp.write_text(f"{self.generation}\n")
        tmp.replace(self.path / "generation")

    # ------------------------------------------------------------------ reading

    def passages(self, rowids: Iterable[int]) -> dict[int, StoredPassage]:
        ids = [int(r) for r in rowids]
        out: dict[int, StoredPassage] = {}
        for i in range(0, len(ids), 900):
            part = ids[i:i + 900]
            q = ("SELECT p.id, p.doc_id, p.n, d.title, p.section, p.start, p.\"end\", p.text, "
                 "d.kind, d.source, d.authors, d.categories, d.date FROM passages p JOIN "
                 f"documents d ON d.doc_id = p.doc_id WHERE p.id IN ({','.join('?' * len(part))})")
            for r in self._db.execute(q, part):
                out[r[0]] = StoredPassage(r[0], r[1], r[2], r[3], r[4] or "", r[5], r[6], r[7],
                                          r[8], r[9], json.loads(r[10] or "[]"),
                                          json.loads(r[11] or "[]"), r[12])
        return out

    def passage_by_id(self, passage_id: str) -> StoredPassage | None:
        doc_id, _, n = passage_id.rpartition("#")
        if not doc_id or not n.isdigit():
            return None
        row = self._db.execute("SELECT id FROM passages WHERE doc_id=? AND n=?",
                               (doc_id, int(n))).fetchone()
        return None if row is None else self.passages([row[0]]).get(row[0])

    def allowed(self, categories: list[str] | None = None, date_from: str | None = None,
                date_to: str | None = None, author: str | None = None) -> np.ndarray | None:
        """Row ids of passages that pass the filters (``None``: no filter given)."""
        where, args = [], []
        for c in categories or []:
            where.append("d.categories LIKE ?")
            args.append(f'%{json.dumps(c)}%')
        if date_from:
            where.append("d.date >= ?")
            args.append(date_from)
        if date_to:
            where.append("d.date <= ?")
            args.append(date_to)
        if author:
            where.append("LOWER(d.authors) LIKE ?")
            args.append(f"%{author.lower()}%")
        if not where:
            return None
        q = ("SELECT p.id FROM passages p JOIN documents d ON d.doc_id = p.doc_id WHERE "
             + " AND ".join(where))
        return np.fromiter((r[0] for r in self._db.execute(q, args)), dtype=np.int64)

    def sparse_search(self, query: str, n: int, allowed: np.ndarray | None = None
                      ) -> list[tuple[int, float]]:
        tantivy = require("tantivy", "papers")
        text = sparse_query_text(query)
        if not text or n <= 0 or (allowed is not None and allowed.size == 0):
            return []
        q = self._sparse.parse_query(text, ["title", "body"])
        if allowed is not None:
            q = tantivy.Query.boolean_query([
                (tantivy.Occur.Must, q),
                (tantivy.Occur.Must, tantivy.Query.term_set_query(
                    self._schema, "rowid", [int(a) for a in allowed]))])
        searcher = self._sparse.searcher()
        hits = searcher.search(q, n).hits
        return [(int(searcher.doc(addr)["rowid"][0]), float(score)) for score, addr in hits]

    def dense_search(self, vector: np.ndarray, n: int, allowed: np.ndarray | None = None
                     ) -> list[tuple[int, float]]:
        faiss = require("faiss", "papers")
        if self._dense.ntotal == 0 or n <= 0 or (allowed is not None and allowed.size == 0):
            return []
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        d, i = self._dense.search(np.asarray(vector, dtype=np.float32).reshape(1, -1),
                                  min(n, int(self._dense.ntotal)), params=params)
        return [(int(r), float(s)) for r, s in zip(i[0], d[0]) if r >= 0]

    def close(self) -> None:
        self._db.close()
