"""Papers about objects like a given one: from its class, the labels of its nearest neighbours
and its measured properties (period, redshift, ...), a literature query is written and run, so
the report of an unusual object can list what has been written about objects like it."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from skyfm.errors import DataFormatError, DataNotFoundError
from skyfm.knowledge.index import PaperIndex
from skyfm.knowledge.search import Hit, search

__all__ = ["ObjectContext", "context_from_run", "related", "related_query"]

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


def related_query(ctx: ObjectContext) -> str:
    """The literature query for ``ctx``: class words, the commonest neighbour class, property
    names with values (``period 0.56``), and the words of the discovery reason."""
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
    if ctx.reason:
        parts.append(re.sub(r"[^\w\s.-]", " ", ctx.reason)[:300])
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
    row = rows.iloc[0]
    labels = dict(zip(df["object_id"], df["label"])) if "label" in df.columns else {}
    neigh = [n for n in str(row.get("neighbours", "")).split(";") if n]
    props = {}
    for col in df.columns:
        if col.lower() in _PROPS:
            try:
                props[col] = float(row[col])
            except ValueError:
                pass
    return ObjectContext(str(object_id), row.get("label") or None,
                         [labels.get(n, "") for n in neigh], props, str(row.get("reason", "")))


def related(index: PaperIndex, ctx: ObjectContext, k: int = 10) -> tuple[str, list[Hit]]:
    """The query written for ``ctx`` and the ``k`` papers it finds (hybrid search)."""
    query = related_query(ctx)
    return query, search(index, query, k)
