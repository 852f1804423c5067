"""Similarity search over embeddings: "show me objects like this one".

A thin, persistent wrapper around a faiss index that maps faiss' row numbers to
object ids, normalises vectors for cosine similarity, and can grow (``add``):

>>> index = SimilarityIndex(metric="cosine").build(embeddings, ids)     # doctest: +SKIP
>>> index.query_id("ZTF21abc", k=10)                                     # doctest: +SKIP
>>> index.save("out/index"); SimilarityIndex.load("out/index")          # doctest: +SKIP

Index kinds
-----------
``flat``  exact search (brute force); the right choice up to some 10^5 vectors.
``hnsw``  graph index (faiss ``IndexHNSWFlat``): no training, fast queries, supports ``add``;
          on strongly clustered embeddings its recall falls with size unless the graph is
          built with a large ``ef_construction`` (slow).
``ivf``   inverted lists (faiss ``IndexIVFFlat``): k-means lists trained on the first batch,
          each query scans the ``nprobe`` nearest lists exhaustively; ``add`` assigns new
          vectors to the trained lists.
``auto``  ``flat`` below ``auto_threshold`` vectors (default 50,000), else ``ivf``: on
          1 million clustered 128-D vectors (``bench/index.py``, 2 cores) IVF reached
          recall@10 = 1.0 at 0.5-0.7 ms/query (exact search: 34 ms), built in 1-1.5 min
          (HNSW M=16: 4.5 min, recall 0.92) and needed less memory.

All kinds search with squared L2 distance inside faiss. For ``metric="cosine"`` the
vectors are L2-normalised first, so L2 order equals cosine order and the reported
similarity is ``1 - d^2/2``. For ``metric="l2"`` the reported value is the Euclidean
distance (in embedding units). On disk a directory holds ``index.faiss``
(``faiss.write_index``), ``ids.txt`` (one object id per row, in faiss row order) and
``index.json`` (metric, dim, kind, search parameters, count).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skyfm.errors import DataFormatError, DataNotFoundError

__all__ = ["Neighbour", "SimilarityIndex", "check_query_modality", "index_modality",
           "load_embeddings", "queryable"]

KINDS = ("auto", "flat", "hnsw", "ivf")
METRICS = ("cosine", "l2")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Neighbour:
    """One search hit: the object id, its rank (0 = nearest) and the score.

    ``score`` is the cosine similarity (metric ``cosine``, higher = closer) or the
    Euclidean distance (metric ``l2``, lower = closer).
    """

    object_id: str
    rank: int
    score: float


def _faiss():
    import faiss

    return faiss


class SimilarityIndex:
    """Nearest-neighbour search over object embeddings, persistent and updatable.

    Parameters
    ----------
    metric : ``"cosine"`` (vectors are normalised) or ``"l2"``.
    kind : default index kind for :meth:`build` (``auto``, ``flat``, ``hnsw``, ``ivf``).
    hnsw_m : HNSW graph degree (links per node).
    ef_construction, ef_search : HNSW beam widths at build and query time.
    nlist : IVF list count (default: the power of two nearest ``2*sqrt(n)``, at most n/39
        so that k-means has data).
    nprobe : IVF lists visited per query (default ``max(16, nlist // 64)``).
    auto_threshold : below this many vectors ``auto`` means exact ``flat`` search.

    Attributes
    ----------
    ids : list of object ids in faiss row order.
    dim : embedding dimension (set by :meth:`build`).
    kind_ : the concrete kind that was built.
    """

    def __init__(self, metric: str = "cosine", kind: str = "auto", *, hnsw_m: int = 32,
                 ef_construction: int = 80, ef_search: int = 128, nlist: int | None = None,
                 nprobe: int | None = None, auto_threshold: int = 50_000):
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.metric = metric
        self.kind = kind
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.nlist = nlist
        self.nprobe = nprobe
        self.auto_threshold = auto_threshold
        self.ids: list[str] = []
        self._row: dict[str, int] = {}
        self.dim: int | None = None
        self.kind_: str | None = None
        self.source: str | None = None  # where the embeddings came from (kept in index.json)
        self._index = None

    # ------------------------------------------------------------------ helpers
    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, object_id) -> bool:
        return str(object_id) in self._row

    def __repr__(self) -> str:
        return (f"SimilarityIndex(n={len(self)}, dim={self.dim}, metric={self.metric!r}, "
                f"kind={self.kind_ or self.kind!r})")

    def _prepare(self, vectors, what: str = "embeddings") -> np.ndarray:
        x = np.asarray(vectors, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2:
            raise DataFormatError(f"array has shape {x.shape}", field=what,
                                  expected="a (n_objects, dim) array")
        if self.dim is not None and x.shape[1] != self.dim:
            raise DataFormatError(f"vectors have dimension {x.shape[1]}", field=what,
                                  expected=f"dimension {self.dim}, as the index was built")
        if not np.all(np.isfinite(x)):
            bad = int((~np.isfinite(x).all(axis=1)).sum())
            raise DataFormatError(f"{bad} row(s) with NaN or inf", field=what,
                                  expected="finite embedding values")
        x = np.ascontiguousarray(x)
        if self.metric == "cosine":
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            x = x / np.where(norms > 0, norms, 1.0)
            x = np.ascontiguousarray(x, dtype=np.float32)
        return x

    def _check_ids(self, ids, n: int) -> list[str]:
        ids = [str(i) for i in ids]
        if len(ids) != n:
            raise DataFormatError(f"{len(ids)} ids for {n} vectors", field="ids",
                                  expected="one object id per embedding row")
        if len(set(ids)) != len(ids):
            from collections import Counter

            dup = next(i for i, c in Counter(ids).items() if c > 1)
            raise DataFormatError(f"duplicate object id {dup!r}", field="ids",
                                  expected="unique object ids")
        clash = [i for i in ids if i in self._row]
        if clash:
            raise DataFormatError(f"object id {clash[0]!r} is already in the index", field="ids",
                                  expected="ids not yet indexed (one id at most once)")
        return ids

    def _resolve_kind(self, kind: str, n: int) -> str:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if kind == "auto":
            return "flat" if n < self.auto_threshold else "ivf"
        return kind

    def _apply_search_params(self) -> None:
        faiss = _faiss()
        if self.kind_ == "hnsw":
            faiss.downcast_index(self._index).hnsw.efSearch = int(self.ef_search)
        elif self.kind_ == "ivf":
            ivf = faiss.extract_index_ivf(self._index)
            ivf.nprobe = int(min(self.nprobe or max(16, ivf.nlist // 64), ivf.nlist))

    # ------------------------------------------------------------------ build / add
    def build(self, embeddings, ids: Sequence | None = None, kind: str | None = None,
              progress=None) -> SimilarityIndex:
        """Build a fresh index over ``embeddings`` (n, dim) with one id per row.

        ``ids`` default to the row numbers as strings. ``kind`` overrides the
        constructor's. Returns ``self``.
        """
        faiss = _faiss()
        x0 = np.asarray(embeddings)
        if x0.ndim != 2 or x0.shape[0] == 0:
            raise DataFormatError(f"array has shape {x0.shape}", field="embeddings",
                                  expected="a non-empty (n_objects, dim) array")
        self.ids, self._row, self.dim = [], {}, None
        self.dim = int(x0.shape[1])
        x = self._prepare(x0)
        ids = self._check_ids(range(len(x)) if ids is None else ids, len(x))
        kind = self._resolve_kind(kind or self.kind, len(x))
        d = self.dim
        if kind == "flat":
            index = faiss.IndexFlatL2(d)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(d, int(self.hnsw_m))
            index.hnsw.efConstruction = int(self.ef_construction)
        else:  # ivf
            nlist = self.nlist or int(min(2 ** round(np.log2(2 * np.sqrt(len(x)))),
                                          max(1, len(x) // 39)))
            self.nlist = nlist
            index = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, nlist)
            index.cp.niter = 10  # k-means iterations: lists need not be perfect centroids
            rng = np.random.default_rng(0)
            sample = x if len(x) <= 64 * nlist else x[rng.choice(len(x), 64 * nlist,
                                                                    replace=False)]
            index.train(sample)
            index.make_direct_map()  # so query_id can reconstruct stored vectors
        self._index = index
        self.kind_ = kind
        self._apply_search_params()
        self._add_rows(x, ids, progress)
        return self

    def _add_rows(self, x: np.ndarray, ids: list[str], progress=None) -> None:
        step = 100_000
        for start in range(0, len(x), step):
            chunk = x[start:start + step]
            self._index.add(chunk)
            if progress is not None:
                progress(len(chunk))
        base = len(self.ids)
        self.ids.extend(ids)
        self._row.update({oid: base + i for i, oid in enumerate(ids)})

    def add(self, embeddings, ids: Sequence) -> SimilarityIndex:
        """Add new vectors (n, dim) with new, unique object ids. Returns ``self``.

        Works for every kind; an IVF index keeps the lists it was trained on.
        """
        if self._index is None:
            return self.build(embeddings, ids)
        x = self._prepare(embeddings)
        self._add_rows(x, self._check_ids(ids, len(x)))
        return self

    # ------------------------------------------------------------------ search
    def _require(self) -> None:
        if self._index is None:
            raise RuntimeError("the index is empty: call build() or load() first")

    def _to_score(self, d2: np.ndarray) -> np.ndarray:
        d2 = np.maximum(d2, 0.0)
        return 1.0 - d2 / 2.0 if self.metric == "cosine" else np.sqrt(d2)

    def search(self, vectors, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Raw search: (rows (n, k) int, scores (n, k) float); row -1 where fewer than k hits."""
        self._require()
        x = self._prepare(vectors, "vectors")
        k = int(min(max(k, 1), len(self)))
        d2, rows = self._index.search(x, k)
        return rows, self._to_score(d2)

    def query(self, vectors, k: int = 10) -> list[list[Neighbour]]:
        """The ``k`` nearest indexed objects of each query vector (nearest first)."""
        rows, scores = self.search(vectors, k)
        return [[Neighbour(self.ids[r], j, float(s))
                 for j, (r, s) in enumerate(zip(rr, ss)) if r >= 0]
                for rr, ss in zip(rows, scores)]

    def vector(self, object_id) -> np.ndarray:
        """The stored (normalised, for cosine) vector of an indexed object."""
        self._require()
        oid = str(object_id)
        if oid not in self._row:
            raise KeyError(f"object id {oid!r} is not in the index ({len(self)} objects)")
        return self._index.reconstruct(self._row[oid])

    def query_id(self, object_id, k: int = 10) -> list[Neighbour]:
        """The ``k`` nearest neighbours of an indexed object, the object itself first."""
        oid = str(object_id)
        v = self.vector(oid)
        hits = self.query(v, k + 1)[0]
        others = [h for h in hits if h.object_id != oid][: max(k - 1, 0)]
        self_score = 1.0 if self.metric == "cosine" else 0.0
        out = [Neighbour(oid, 0, self_score)]
        out += [Neighbour(h.object_id, j + 1, h.score) for j, h in enumerate(others)]
        return out[:k]

    # ------------------------------------------------------------------ persistence
    def save(self, directory, *, overwrite: bool = False) -> Path:
        """Write ``index.faiss``, ``ids.txt`` and ``index.json`` into ``directory``.

        The directory is built aside and moved into place whole
        (:func:`skyfm.outputs.run_directory`); ``index.json``, written last, records the
        size of the other two files. ``directory`` must be new or empty, or an index
        directory with ``overwrite=True`` (replaced whole).
        """
        self._require()
        faiss = _faiss()
        from skyfm.outputs import file_sizes, kill_point, run_directory, write_json, write_text

        with run_directory(directory, overwrite=overwrite, kind="index", marker=False,
                           recognise=lambda p: (p / "index.json").is_file()) as run:
            faiss.write_index(self._index, str(run / "index.faiss"))
            write_text(run / "ids.txt", "\n".join(self.ids) + "\n")
            kill_point("index-files")
            meta = {"format_version": FORMAT_VERSION, "metric": self.metric, "dim": self.dim,
                    "kind": self.kind_, "count": len(self), "hnsw_m": self.hnsw_m,
                    "ef_construction": self.ef_construction, "ef_search": self.ef_search,
                    "nlist": self.nlist, "nprobe": self.nprobe, "source": self.source,
                    "faiss_version": faiss.__version__, "files": file_sizes(run.path)}
            write_json(run / "index.json", meta)
        return Path(directory)

    @classmethod
    def load(cls, directory) -> SimilarityIndex:
        """Read an index written by :meth:`save`.

        A missing, truncated or corrupt file raises a skyfm error naming it
        (:class:`DataNotFoundError`, :class:`DataFormatError`), never faiss' RuntimeError.
        """
        faiss = _faiss()
        d = Path(directory)
        for name in ("index.faiss", "ids.txt", "index.json"):
            if not (d / name).is_file():
                raise DataNotFoundError(f"{d / name} not found: is {d} an index directory "
                                        "written by `skyfm index build`?")
        try:
            meta = json.loads((d / "index.json").read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise DataFormatError(f"not valid JSON ({exc})", file=d / "index.json",
                                  expected="the index.json written by SimilarityIndex.save"
                                  ) from exc
        if not isinstance(meta, dict):
            raise DataFormatError("not a JSON object", file=d / "index.json",
                                  expected="the index.json written by SimilarityIndex.save")
        for key in ("metric", "dim", "kind"):
            if key not in meta:
                raise DataFormatError("key missing", file=d / "index.json", field=key,
                                      expected="the index.json written by SimilarityIndex.save")
        for name, size in (meta.get("files") or {}).items():  # recorded since skyfm 0.x
            actual = (d / name).stat().st_size if (d / name).is_file() else None
            if actual != size:
                from skyfm.errors import IncompleteOutputError

                raise IncompleteOutputError(
                    f"{actual} bytes, but index.json records {size}: truncated or changed",
                    file=d / name, expected="the file `skyfm index build` wrote")
        self = cls(metric=meta["metric"], kind=meta["kind"],
                   **{k: meta[k] for k in ("hnsw_m", "ef_construction", "ef_search", "nlist",
                                           "nprobe") if meta.get(k) is not None})
        try:
            self._index = faiss.read_index(str(d / "index.faiss"))
        except RuntimeError as exc:  # faiss reports a bad file as a C++ exception text
            first = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else "?"
            raise DataFormatError(f"faiss cannot read it ({first})", file=d / "index.faiss",
                                  expected="an index written by faiss.write_index") from exc
        self.dim = int(meta["dim"])
        self.kind_ = meta["kind"]
        self.source = meta.get("source")
        try:
            ids = (d / "ids.txt").read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"not UTF-8 text ({exc})", file=d / "ids.txt",
                                  expected="one object id per line") from exc
        if len(ids) != self._index.ntotal or self._index.d != self.dim:
            raise DataFormatError(f"{len(ids)} ids for {self._index.ntotal} vectors of dim "
                                  f"{self._index.d}", file=d / "ids.txt", field="ids",
                                  expected=f"one id per indexed vector, dim {self.dim}")
        self.ids = ids
        self._row = {oid: i for i, oid in enumerate(ids)}
        self._apply_search_params()
        return self

    @property
    def memory_bytes(self) -> int:
        """Size of the serialised faiss index (vectors + graph/lists), in bytes."""
        self._require()
        return int(_faiss().serialize_index(self._index).nbytes)


def load_embeddings(path) -> tuple[np.ndarray, list[str]]:
    """Embeddings and ids from a discovery output directory or an ``.npy`` file.

    A directory must hold ``embeddings.npy`` and ``object_ids.txt`` (what ``skyfm
    discover`` writes). For an ``.npy`` file, ids come from ``object_ids.txt`` beside
    it when present, else from the row numbers.
    """
    p = Path(path)
    if p.is_dir():
        from skyfm.outputs import check_run

        check_run(p)  # refuses an interrupted or altered discovery run
        emb, idf = p / "embeddings.npy", p / "object_ids.txt"
        if not emb.is_file():
            raise DataNotFoundError(f"{emb} not found: expected a `skyfm discover` output "
                                    "directory (embeddings.npy + object_ids.txt) or an .npy file")
    elif p.is_file():
        emb, idf = p, p.with_name("object_ids.txt")
    else:
        raise DataNotFoundError(f"{p} does not exist")
    try:
        x = np.load(emb, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataFormatError(f"cannot read as a numpy array ({exc})", file=emb,
                              field="embeddings", expected="an .npy file of shape (N, D)") from exc
    if x.ndim != 2:
        raise DataFormatError(f"array has shape {x.shape}", file=emb, field="embeddings",
                              expected="shape (N, D)")
    if idf.is_file():
        try:
            text = idf.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"not UTF-8 text ({exc})", file=idf, field="object_id",
                                  expected="one object id per line") from exc
        ids = [line.strip() for line in text.splitlines() if line.strip()]
        if len(ids) != len(x):
            raise DataFormatError(f"{len(ids)} ids for {len(x)} embedding rows", file=idf,
                                  field="object_id", expected="one id per embedding row")
    elif p.is_dir():
        raise DataNotFoundError(f"{idf} not found (the row order of embeddings.npy)")
    else:
        ids = [str(i) for i in range(len(x))]
    return x.astype(np.float32, copy=False), ids


def index_modality(index_dir, source: str | None = None) -> str | None:
    """The modality of the objects an index holds: the ``modality`` of the fitted embedder a
    ``skyfm discover`` OUT saved (in the index directory or its source directory; None when
    that file names none), else ``'lightcurve'`` (an index of light-curve encoder embeddings,
    the only other kind ``skyfm index query --file`` can embed)."""
    from skyfm.discover.embed import EMBEDDER_JSON
    from skyfm.errors import DataFormatError

    for d in (Path(index_dir), Path(source) if source else None):
        if d is not None and (d / EMBEDDER_JSON).is_file():
            try:
                p = json.loads((d / EMBEDDER_JSON).read_text(encoding="utf-8"))
            except ValueError as exc:
                raise DataFormatError(f"cannot read the saved embedder ({exc})",
                                      file=d / EMBEDDER_JSON, field="modality",
                                      expected="a JSON file written by save_embedder") from exc
            if not isinstance(p, dict):
                return None
            return p.get("modality") or _CLASS_MODALITY.get(p.get("class"))
    return "lightcurve"


_CLASS_MODALITY = {"LightCurveEmbedder": "lightcurve", "SpectrumEmbedder": "spectrum",
                   "ImageEmbedder": "image", "TableEmbedder": "table"}


def check_query_modality(observations: Sequence, expected: str | None, file) -> None:
    """Raise :class:`~skyfm.errors.DataFormatError` naming ``file`` and both modalities when
    the observations read from it are not of the index's modality ``expected`` (a light-curve
    CSV read as a catalogue, a spectrum queried against light curves, ...). ``expected=None``
    (unknown) checks only that the file holds one modality."""
    from skyfm.discover.embed import detect_modality
    from skyfm.errors import DataFormatError

    try:
        got = detect_modality(list(observations))
    except DataFormatError as exc:
        raise DataFormatError(f"cannot query a {expected} index with it: {exc}", file=file,
                              field="observations", expected=f"{expected} observations") from exc
    if expected is not None and got != expected:
        kinds = {type(o).__name__ for o in observations}
        raise DataFormatError(
            f"read as {got} ({', '.join(sorted(kinds))}) but the index holds {expected} "
            f"embeddings", file=file, field="modality",
            expected=f"a {expected} file (or pass the reader a format that reads it as one)")


def queryable(observations: Sequence, modality: str) -> tuple[list, list[tuple[str, str]]]:
    """(observations that can be embedded for a query, ``[(name, reason)]`` of those that
    cannot — no valid point, all pixels masked; :mod:`skyfm.discover.quality`'s rules).
    Catalogues pass through whole (their rows are checked when embedded)."""
    from skyfm.discover.quality import triage

    obs = list(observations)
    if modality == "table":
        return obs, []
    tri = triage(obs, modality)
    kept = [o for o, k in zip(obs, tri.keep) if k]
    skipped = [(str(o.object_id or f"[{i}]"), r)
               for i, (o, k, r) in enumerate(zip(obs, tri.keep, tri.reason)) if not k]
    return kept, skipped
