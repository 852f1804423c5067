"""Embedding for discovery, through the model registry (:mod:`skyfm.models.registry`).

The embedders themselves live in :mod:`skyfm.models` (one module per modality, the contract in
:mod:`skyfm.models.base`); this module holds what discovery adds around them: the observation
list (catalogues expanded to rows, ids checked) and saving / loading a fitted embedder with a
run (``embedder.json`` + ``embedder.npz``, no pickle).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from skyfm.data.observations import Catalog
from skyfm.data.tablerow import TableRow, expand_catalogs
from skyfm.errors import DataFormatError
from skyfm.models import registry
from skyfm.models.base import Embedder, FeatureSpec

__all__ = ["EMBEDDER_ARRAYS", "EMBEDDER_JSON", "TableRow", "as_list", "detect_modality",
           "ensure_ids", "expand_catalogs", "load_embedder", "make_embedder", "save_embedder"]

#: files :func:`save_embedder` writes into a discovery OUT directory (no pickle)
EMBEDDER_JSON = "embedder.json"
EMBEDDER_ARRAYS = "embedder.npz"

#: class names of runs saved before the embedders moved to skyfm.models
_RENAMED = {"SpectrumEmbedder": "SpectrumPCABaseline", "ImageEmbedder": "ImageMorphologyBaseline",
            "TableEmbedder": "TableScaledBaseline"}


def detect_modality(observations) -> str:
    """The registered modality of ``observations`` (:func:`skyfm.models.registry.modality_of`)."""
    return registry.modality_of(observations)


def make_embedder(modality: str, **kwargs) -> Embedder:
    """The registered default embedder of ``modality`` (keyword arguments to its constructor)."""
    return registry.make_embedder(modality, **kwargs)


def as_list(observations) -> list:
    """Observations as a plain list, catalogues expanded to rows."""
    obs = list(observations) if not isinstance(observations, list) else observations
    if any(isinstance(o, Catalog) for o in obs):
        obs = expand_catalogs(obs)
    return obs


def ensure_ids(observations: list) -> list[str]:
    """Object ids (``obj<i>`` where missing); raises on duplicates."""
    ids = []
    for i, o in enumerate(observations):
        oid = getattr(o, "object_id", None)
        if oid is None:
            oid = f"obj{i}"
            o.object_id = oid
        ids.append(str(oid))
    if len(set(ids)) != len(ids):
        from collections import Counter

        dup = [k for k, v in Counter(ids).items() if v > 1][:5]
        raise DataFormatError(f"duplicate object ids {dup}", field="object_id",
                              expected="one id per object")
    return ids


def save_embedder(embedder: Embedder, out_dir) -> Path:
    """Write what re-embeds a new observation exactly as ``embedder`` (fitted) embeds:
    ``embedder.json`` (modality, class, settings, feature names and units, encoder name or
    directory) and ``embedder.npz`` (scaler centres/scales, PCA matrices; plain arrays, no
    pickle). Read back with :func:`load_embedder`. Returns the JSON file's path."""
    from skyfm.outputs import atomic_file, write_text

    if not isinstance(embedder, Embedder):
        raise TypeError(f"cannot save a {type(embedder).__name__} (not a skyfm Embedder)")
    params, arrays = embedder.get_state()
    doc = {"format": 2, "modality": embedder.modality, "class": type(embedder).__name__,
           "params": params, "description": embedder.describe(),
           "uses_trained_model": bool(embedder.uses_trained_model_),
           "feature_specs": [[s.name, s.unit, s.description] for s in embedder.feature_specs_],
           "info": embedder.info_}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_file(out / EMBEDDER_ARRAYS, "wb") as fh:
        np.savez(fh, **{k: np.asarray(v, float) for k, v in arrays.items()})
    path = out / EMBEDDER_JSON
    write_text(path, json.dumps(doc, indent=1, default=lambda o: o.item()
                                if hasattr(o, "item") else str(o)))
    return path


def load_embedder(out_dir) -> Embedder:
    """The fitted embedder saved by :func:`save_embedder` in ``out_dir`` (a ``skyfm discover``
    OUT directory): its ``transform(observations)`` gives the vectors of ``embeddings.npy``
    for the same objects, and comparable vectors for new ones. Only registered embedder classes
    are created. The light-curve encoder is loaded by its name (or directory); raises
    ``DataNotFoundError`` when it is not there."""
    from skyfm.errors import DataNotFoundError

    d = Path(out_dir)
    jf, af = d / EMBEDDER_JSON, d / EMBEDDER_ARRAYS
    if not jf.is_file() or not af.is_file():
        raise DataNotFoundError(f"{d}: no saved embedder ({EMBEDDER_JSON} + {EMBEDDER_ARRAYS}); "
                                "re-run `skyfm discover` to write them")
    try:
        p = json.loads(jf.read_text(encoding="utf-8"))
        with np.load(af, allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
    except (ValueError, OSError) as exc:
        raise DataFormatError(f"cannot read the saved embedder ({exc})", file=jf,
                              field="embedder", expected="files written by save_embedder") from exc
    if not isinstance(p, dict):
        raise DataFormatError("not a saved embedder", file=jf, field="embedder",
                              expected="a JSON object written by save_embedder")
    name = _RENAMED.get(p.get("class"), p.get("class"))
    try:
        entry = registry.get_modality(str(p.get("modality")))
    except ValueError:
        raise DataFormatError(f"unknown modality {p.get('modality')!r}", file=jf,
                              field="modality",
                              expected="one of " + ", ".join(registry.modalities())) from None
    known = [entry.embedder_class(n) for n in entry.embedder_names()]  # registered only
    cls = next((c for c in known if c.__name__ == name), None)
    if cls is None:
        raise DataFormatError(f"unknown embedder class {p.get('class')!r}", file=jf,
                              field="class", expected=" or ".join(c.__name__ for c in known)
                              + f" for {entry.name}")
    params = p.get("params", p)  # format 1 kept the settings at the top level
    try:
        emb = cls.from_state(params, a)
    except KeyError as exc:
        raise DataFormatError(f"saved embedder lacks {exc}", file=jf, field=str(exc),
                              expected="files written by save_embedder") from None
    except DataFormatError as exc:
        if exc.file is not None:
            raise
        raise DataFormatError(str(exc).split(" (expected")[0].removeprefix(
            f"field '{exc.field}': "), file=jf, field=exc.field, expected=exc.expected) from None
    if "feature_specs" in p:
        emb.feature_specs_ = [FeatureSpec(*s) for s in p["feature_specs"]]
    else:
        emb.feature_specs_ = [FeatureSpec(n) for n in p.get("feature_names", [])]
    emb.info_ = dict(p.get("info", {}))
    return emb


_ = Catalog  # as_list expands catalogues
