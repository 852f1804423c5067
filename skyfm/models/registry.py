"""The X models by modality: which observations a modality holds, which embedder embeds them
and which pretrained encoder (if any) stands behind it.

Discovery, evaluation, the CLI and the service ask this registry, never an embedder's class:

>>> from skyfm.models import registry
>>> registry.modality_of(light_curves)                       # doctest: +SKIP
'lightcurve'
>>> emb = registry.make_embedder("lightcurve")               # doctest: +SKIP

A new modality is one module in :mod:`skyfm.models` holding an :class:`~skyfm.models.base.
Embedder` subclass, plus one :func:`register_modality` call (see the README's "Add a
modality"). Classes may be given as ``"module:Class"`` strings so that importing the registry
imports neither torch nor the models.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from skyfm.errors import DataFormatError

__all__ = ["ModalityEntry", "embedder_class", "embedder_names", "get_modality", "load_encoder",
           "make_embedder", "modalities",
           "modality_of", "register_modality", "unregister_modality"]


@cache
def _import(ref: str):
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def _resolve(ref):
    return _import(ref) if isinstance(ref, str) else ref


@dataclass(frozen=True)
class ModalityEntry:
    """One registered modality (see :func:`register_modality`)."""

    name: str
    observation_types: tuple  # classes or "module:Class" strings of its observations
    embedder: object          # the default Embedder subclass (or "module:Class")
    encoder: object | None = None  # its pretrained Encoder class, if it has one
    description: str = ""
    aliases: tuple[str, ...] = field(default=())
    # other embedders a user may pick by name (``--embedder NAME``): (name, class or string)
    alternatives: tuple[tuple[str, object], ...] = field(default=())

    def embedder_class(self, name: str | None = None) -> type:
        """The default embedder class, or the one called ``name``: a registered alternative's
        name, ``"default"``, or ``"module:Class"`` of an Embedder of this modality."""
        from skyfm.models.base import Embedder

        if name is None or name == "default":
            return _resolve(self.embedder)
        named = dict(self.alternatives)
        if name in named:
            return _resolve(named[name])
        if ":" not in name:
            raise ValueError(f"no embedder {name!r} for the modality {self.name!r} (expected "
                             f"one of {', '.join(self.embedder_names())} or module:Class)")
        try:
            cls = _import(name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ValueError(f"no embedder class {name!r} (expected module:Class)") from exc
        if not (isinstance(cls, type) and issubclass(cls, Embedder)
                and cls.modality == self.name):
            raise ValueError(f"{name!r} is not an embedder of the modality {self.name!r}")
        return cls

    def embedder_names(self) -> list[str]:
        return ["default", *(n for n, _ in self.alternatives)]

    def encoder_class(self) -> type | None:
        return None if self.encoder is None else _resolve(self.encoder)

    def types(self) -> tuple[type, ...]:
        return tuple(_resolve(t) for t in self.observation_types)


_REGISTRY: dict[str, ModalityEntry] = {}


def register_modality(name: str, *, observation_types: Sequence, embedder,
                      encoder=None, description: str = "", aliases: Sequence[str] = (),
                      alternatives: dict | None = None,
                      replace: bool = False) -> ModalityEntry:
    """Register (or, with ``replace=True``, re-register) a modality's embedder;
    ``alternatives``: ``{name: class or "module:Class"}`` of other embedders a user may pick."""
    if name in _REGISTRY and not replace:
        raise ValueError(f"modality {name!r} is already registered (replace=True to change it)")
    alts = tuple((alternatives or {}).items())
    if any(n == "default" or ":" in n for n, _ in alts):
        raise ValueError("an alternative embedder's name may not be 'default' or hold ':'")
    entry = ModalityEntry(name, tuple(observation_types), embedder, encoder, description,
                          tuple(aliases), alts)
    _REGISTRY[name] = entry
    return entry


def unregister_modality(name: str) -> None:
    _REGISTRY.pop(name, None)


def modalities() -> list[str]:
    """The registered modalities, in registration order."""
    return list(_REGISTRY)


def get_modality(name: str) -> ModalityEntry:
    """The entry of ``name`` (or one of its aliases); ``ValueError`` naming the known ones."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    for entry in _REGISTRY.values():
        if name in entry.aliases:
            return entry
    raise ValueError(f"unknown modality {name!r}; registered: {', '.join(_REGISTRY)}")


def embedder_class(modality: str, name: str | None = None) -> type:
    """The default embedder class of ``modality``, or the one called ``name`` (see
    :meth:`ModalityEntry.embedder_class`)."""
    return get_modality(modality).embedder_class(name)


def embedder_names(modality: str) -> list[str]:
    """The names ``make_embedder(modality, name)`` takes: "default" and the alternatives."""
    return get_modality(modality).embedder_names()


def make_embedder(modality: str, name: str | None = None, **kwargs):
    """A new (unfitted) embedder of ``modality``: the default, or the one called ``name`` (a
    registered alternative or ``"module:Class"``); keyword arguments go to its constructor."""
    return embedder_class(modality, name)(**kwargs)


def load_encoder(modality: str, name_or_dir, **kwargs):
    """The pretrained :class:`~skyfm.models.base.Encoder` of ``modality`` (a shipped name or a
    directory); ``ValueError`` when the modality has no trained model yet."""
    cls = get_modality(modality).encoder_class()
    if cls is None:
        raise ValueError(f"modality {modality!r} has no trained encoder yet (its embedder is a "
                         "baseline)")
    return cls.from_pretrained(name_or_dir, **kwargs)


def modality_of(observations: Sequence) -> str:
    """The one registered modality every observation belongs to; raises
    :class:`~skyfm.errors.DataFormatError` on an empty, mixed or unknown set."""
    entries = [(e.name, e.types()) for e in _REGISTRY.values()]
    kinds: set[str] = set()
    seen: dict[type, str] = {}
    for ob in observations:
        name = seen.get(type(ob))
        if name is None:
            for n, types in entries:
                if isinstance(ob, types):
                    name = n
                    break
            else:
                known = ", ".join(t.__name__ for _, ts in entries for t in ts)
                raise DataFormatError(f"cannot embed a {type(ob).__name__}", field="observations",
                                      expected=f"objects of a registered modality ({known})")
            seen[type(ob)] = name
        kinds.add(name)
    if not kinds:
        raise DataFormatError("no observations", field="observations",
                              expected="at least one object")
    if len(kinds) > 1:
        raise DataFormatError(f"mixed modalities {sorted(kinds)}", field="observations",
                              expected="one modality per discovery run")
    return kinds.pop()


# --------------------------------------------------------------------------- skyfm's own

register_modality(
    "lightcurve", observation_types=("skyfm.data.observations:LightCurve",),
    embedder="skyfm.models.lightcurve_embedder:LightCurveEmbedder",
    encoder="skyfm.models.lightcurve:LightCurveEncoder",
    description="light curves: the pretrained skyfm-lc-base encoder + classical features")
register_modality(
    "spectrum", observation_types=("skyfm.data.observations:Spectrum",),
    embedder="skyfm.models.spectrum:SpectrumPCABaseline",
    encoder="skyfm.models.spectrum_encoder:SpectrumEncoder",
    alternatives={"skyfm-spec-base": "skyfm.models.spectrum_embedder:SpectrumEncoderEmbedder",
                  "skyfm-spec-hybrid": "skyfm.models.spectrum_embedder:SpectrumHybridEmbedder"},
    description="spectra: PCA on a common log-wavelength grid (baseline, no trained model); "
                "the pretrained skyfm-spec-base encoder is SpectrumEncoderEmbedder (alone) and "
                "SpectrumHybridEmbedder (+ the PCA components), not the default: on SpeX "
                "neither is as good as PCA with 20 labels or with L dwarfs left out "
                "(python bench/spectra.py embedders)")
register_modality(
    "image", observation_types=("skyfm.data.observations:Image",),
    embedder="skyfm.models.image:ImageMorphologyBaseline",
    encoder="skyfm.models.image_encoder:ImageEncoder",
    alternatives={"skyfm-img-base": "skyfm.models.image_embedder:ImageEncoderEmbedder"},
    description="images: polar Fourier features + morphology statistics (baseline, no "
                "trained model); the pretrained skyfm-img-base encoder is ImageEncoderEmbedder "
                "(not the default: its frozen embedding does not beat this one, see README "
                "\"Images\")")
register_modality(
    "table", observation_types=("skyfm.data.tablerow:TableRow",
                                "skyfm.data.observations:Catalog"),
    embedder="skyfm.models.table:TableScaledBaseline", aliases=("catalog",),
    description="catalogue rows: robust-scaled columns and colours (baseline, no trained "
                "model)")
