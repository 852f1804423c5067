"""Papers about objects like a given one: from its class, the labels of its nearest neighbours
and its measured properties (period, redshift, ...), a literature query is written and run, so
the report of an unusual object can list what has been written about objects like it."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from skyfm.errors import DataFormatError, DataNotFoundError
from skyfm.knowledge.index import PaperIndex, StoredPassage
from skyfm.knowledge.search import Hit, search

__all__ = ["ObjectContext", "context_from_row", "context_from_run", "paper_link",
           "papers_for_candidates", "related", "related_query"]

# class labels as the data sets spell them -> the words papers use
_WORDS = {
    "rrab": "RR Lyrae ab-type pulsating star", "rrc": "RR Lyrae c-type pulsating star",
    "rrlyr": "RR Lyrae pulsating star", "rr lyrae": "RR Lyrae pulsating star",
    "cep": "Cepheid pulsating star", "cepheid": "Cepheid pulsating star",
    "dcep": "classical Cepheid", "t2cep": "type II Cepheid", "acep": "anomalous Cepheid",
    "dsct": "delta Scuti pulsating star", "lpv": "long-period variable Mira",
    "mira": "Mira long-period variable", "ea": "eclipsing binary Algol",
    "algol": "eclipsing binary Algol", "ew": "contact binary W UMa",
    "binary": "eclipsing binary star", "rcb": "R Coronae Borealis star",
    "dpv": "double periodic variable", "snia": "type Ia supernova", "sn ia": "type Ia supernova",
    "snii": "type II supernova", "snibc": "stripped-envelope supernova Ib Ic",
    "slsn": "superluminous supernova", "tde": "tidal disruption event", "kn": "kilonova",
    "agn": "active galactic nucleus", "qso": "quasar", "galaxy": "galaxy", "star": "star",
    "pulsar": "radio pulsar", "merger": "galaxy merger", "spiral": "spiral galaxy",
    "elliptical": "elliptical galaxy",
}
_PROPS = {"period": "period", "log_period": "period", "redshift": "redshift", "z": "redshift",
          "amplitude": "amplitude", "teff": "effective temperature", "mass": "mass",
          "color": "colour", "colour": "colour", "dm": "dispersion measure"}


@dataclass
class ObjectContext:
    """What is known about an object: its class, its neighbours' classes, its properties."""

    object_id: str
    label: str | None = None
    neighbour_labels: list[str] = field(default_factory=list)
    properties: dict[str, float] = field(default_factory=dict)
    reason: str = ""


def _words(label: str) -> str:
    key = label.strip().lower()
    return _WORDS.get(key, _WORDS.get(re.sub(r"[^a-z ]", "", key), label.strip()))


# the discovery reason's own phrasing ("lower than its neighbours' median", "flagged most by
# the distance scorer"): words that match any paper, not this object
_REASON_STOP = set("""a an and the of to than its it by in on at as is was most more less lower
higher median mean neighbours neighbour neighbors flagged scorer scorers distance score
scores isolation forest reconstruction error open set unusual compared with from knn
iforest recon openset model top mag""".split())


def _reason_words(reason: str) -> str:
    """The measured quantities a discovery reason names (``Concentration 2.62 lower than its
    neighbours median 4.21`` -> ``concentration``), without its numbers and phrasing."""
    words = re.findall(r"[A-Za-z][A-Za-z_-]+", reason.lower())
    keep = [w.replace("_", " ") for w in words if w not in _REASON_STOP]
    return " ".join(dict.fromkeys(keep))[:300]


def related_query(ctx: ObjectContext) -> str:
    """The literature query for ``ctx``: class words, the commonest neighbour class, property
    names with values (``period 0.56``); only when none of these is known, the quantities the
    discovery reason names (its numbers and phrasing would match any paper)."""
    parts = []
    if ctx.label:
        parts.append(_words(ctx.label))
    common = [lab for lab, _ in Counter(x for x in ctx.neighbour_labels if x).most_common(2)]
    parts += [_words(lab) for lab in common if not ctx.label or lab != ctx.label]
    for name, value in ctx.properties.items():
        word = _PROPS.get(name.lower(), name.replace("_", " "))
        if isinstance(value, float) and math.isfinite(value):
            parts.append(f"{word} {value:.3g}")
        else:
            parts.append(word)
    if ctx.reason and not any(parts):
        parts.append(_reason_words(ctx.reason))
    text = " ".join(p for p in parts if p).strip()
    if not text:
        raise DataFormatError(f"nothing is known about object {ctx.object_id!r} to search "
                              "papers with", field="label",
                              expected="a class, neighbour labels, properties or a reason")
    return text


def context_from_run(run_dir: str | Path, object_id: str) -> ObjectContext:
    """The object's row in a ``skyfm discover`` run: ``label``, the labels of its
    ``neighbours`` (their rows' ``label``), numeric property columns and ``reason``."""
    import pandas as pd

    path = Path(run_dir) / "candidates.csv"
    if not path.is_file():
        raise DataNotFoundError(f"{path}: not found (expected a `skyfm discover` output "
                                "directory)")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "object_id" not in df.columns:
        raise DataFormatError("no object_id column", file=path, field="object_id")
    rows = df[df["object_id"] == str(object_id)]
    if rows.empty:
        raise DataFormatError(f"object {object_id!r} is not in the run", file=path,
                              field="object_id", expected="an id listed in candidates.csv")
    labels = dict(zip(df["object_id"], df["label"])) if "label" in df.columns else {}
    return context_from_row(rows.iloc[0].to_dict(), labels)


def context_from_row(row: Mapping, labels: Mapping[str, str]) -> ObjectContext:
    """An object's context from its candidates row (``object_id``, optional ``label``,
    ``neighbours`` as ``id;id;...``, ``reason``, numeric property columns such as ``period``)
    and ``labels`` (object id -> label) for its neighbours."""
    neigh = [n for n in str(row.get("neighbours", "") or "").split(";") if n]
    props = {}
    for col, value in row.items():
        if str(col).lower() in _PROPS:
            try:
                v = float(value)
            except (TypeError, ValueError):
                continue
            if math.isfinite(v):  # a missing value says nothing about the object
                props[col] = v
    label = row.get("label")
    label = None if label is None or str(label) in ("", "nan") else str(label)
    return ObjectContext(str(row["object_id"]), label,
                         [str(labels.get(n, "") or "") for n in neigh], props,
                         str(row.get("reason", "") or ""))


def paper_link(p: StoredPassage) -> str | None:
    """Where a reader finds the passage's document: its arXiv abstract page, or the local file
    it was indexed from (a ``file://`` URI; None when that file is gone)."""
    if p.kind == "arxiv" and p.doc_id.startswith("arXiv:"):
        return f"https://arxiv.org/abs/{quote(p.doc_id.removeprefix('arXiv:'))}"
    path = Path(p.source)
    return path.resolve().as_uri() if path.is_file() else None


def papers_for_candidates(index: PaperIndex, candidates, object_ids, k: int = 3
                          ) -> dict[str, dict]:
    """For each of ``object_ids`` (rows of the ``candidates`` frame): the query written from its
    context and its ``k`` best papers as dicts (id, title, link, snippet, passage_id), for the
    report's cards. An object with nothing to search with gets no papers and says why."""
    labels = (dict(zip(candidates["object_id"].astype(str), candidates["label"]))
              if "label" in candidates.columns else {})
    rows = {str(r["object_id"]): r for r in candidates.to_dict("records")}
    out: dict[str, dict] = {}
    for oid in object_ids:
        ctx = context_from_row(rows[str(oid)], labels)
        try:
            query, hits = related(index, ctx, k)
        except DataFormatError as exc:
            out[str(oid)] = {"query": None, "papers": [], "note": str(exc)}
            continue
        out[str(oid)] = {"query": query, "note": None, "papers": [
            {"id": h.id, "title": h.title, "link": paper_link(h.passage), "snippet": h.snippet,
             "passage_id": h.passage.passage_id} for h in hits]}
    return out


def related(index: PaperIndex, ctx: ObjectContext, k: int = 10) -> tuple[str, list[Hit]]:
    """The query written for ``ctx`` and the ``k`` papers it finds (hybrid search)."""
    query = related_query(ctx)
    return query, search(index, query, k)
