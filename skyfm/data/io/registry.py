"""The reader registry: each reader is registered under a name with an *identify* function.

Modelled on astropy's ``astropy.io.registry`` but smaller: a reader is a function
``read_x(path, *, limit=None, ...) -> ObservationSet``; its identify function
``identify_x(path) -> bool`` looks at a file's content (a few KB or a header) and says whether
it is one. Folder readers register a second identify function for directories. Both may be
given as ``"module:function"`` strings so that registering imports nothing heavy; they are
imported on first use.

:func:`identify_format` lists every reader that claims a path, best (highest ``priority``)
first; :func:`best_format` picks one and refuses when readers of different modalities claim
it with the same priority (``format=`` chooses then). Identify functions never raise: an
unreadable file is "not mine".
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from skyfm.errors import UnknownFormatError

__all__ = ["MODALITIES", "ReaderEntry", "best_format", "formats_table", "get_entry", "get_reader",
           "identify_format", "reader_names", "register_reader", "unregister_reader"]


def _resolve(ref: str | Callable) -> Callable:
    if callable(ref):
        return ref
    return _import(ref)


@cache
def _import(ref: str) -> Callable:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class ReaderEntry:
    """One registered reader (see :func:`register_reader`)."""

    name: str
    reader: str | Callable
    identify: str | Callable | None
    modality: str
    priority: int
    extensions: tuple[str, ...] = ()
    folder_identify: str | Callable | None = None
    folder_priority: int = 0
    order: int = 0

    def function(self) -> Callable:
        """The reader function (its module is imported now)."""
        return _resolve(self.reader)

    def claims(self, path: Path, kind: str | None = None) -> bool:
        """Whether this reader's identify function says ``path`` is its; never raises.
        ``kind`` is :func:`_kind` of the path when the caller knows it."""
        kind = kind or _kind(path)
        ident = {"dir": self.folder_identify, "file": self.identify}.get(kind)
        if ident is None:  # no identify function, or a FIFO/device/missing path: never read
            return False
        try:
            return bool(_resolve(ident)(path))
        except Exception:  # noqa: BLE001 - an unreadable or odd file is simply not this reader's
            return False

    def rank(self, kind: str) -> int:
        return self.folder_priority if kind == "dir" else self.priority


def _kind(path: Path) -> str:
    """``'dir'``, ``'file'`` (a regular file) or ``'other'``."""
    return "dir" if path.is_dir() else "file" if path.is_file() else "other"


_REGISTRY: dict[str, ReaderEntry] = {}
_ORDER = itertools.count()

#: what a reader returns; ``mixed`` readers (a dataset folder) return several kinds
MODALITIES = ("lightcurve", "spectrum", "image", "catalog", "mixed")


def register_reader(name: str, reader: str | Callable, identify: str | Callable | None = None,
                    *, modality: str, priority: int = 0, extensions: tuple[str, ...] = (),
                    folder_identify: str | Callable | None = None, folder_priority: int = 0,
                    replace: bool = False) -> ReaderEntry:
    """Register ``reader`` (a function or ``"module:function"``) as format ``name``.

    ``identify(path) -> bool`` claims files, ``folder_identify(path) -> bool`` directories
    (either may be ``None``: the reader is then only chosen with ``format=name``).
    ``modality`` is what it returns (``'lightcurve'``, ``'spectrum'``, ``'image'``,
    ``'catalog'`` or ``'mixed'``); a higher ``priority`` wins when several readers claim a
    path. ``extensions`` are informative (listed by ``skyfm data formats``). Registering a
    name twice raises ``ValueError`` unless ``replace=True``.
    """
    if not name or not isinstance(name, str):
        raise ValueError("a reader needs a non-empty name")
    if name in _REGISTRY and not replace:
        raise ValueError(f"reader {name!r} is already registered (pass replace=True)")
    if modality not in MODALITIES:
        raise ValueError(f"reader {name!r}: modality {modality!r} is not one of "
                         + ", ".join(MODALITIES))
    order = _REGISTRY[name].order if name in _REGISTRY else next(_ORDER)
    entry = ReaderEntry(name, reader, identify, modality, int(priority), tuple(extensions),
                        folder_identify, int(folder_priority), order)
    _REGISTRY[name] = entry
    return entry


def unregister_reader(name: str) -> None:
    """Remove a reader (``KeyError``-free: an unknown name raises UnknownFormatError)."""
    get_entry(name)
    del _REGISTRY[name]


def reader_names() -> list[str]:
    """Registered format names, in registration order."""
    return list(_REGISTRY)


def get_entry(name: str) -> ReaderEntry:
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownFormatError(f"unknown format {name!r}", field="format",
                                 expected="one of " + ", ".join(_REGISTRY)) from None


def get_reader(name: str) -> Callable:
    """The reader function registered as ``name`` (UnknownFormatError for an unknown one)."""
    return get_entry(name).function()


def _ranked(kind: str) -> list[ReaderEntry]:
    return sorted(_REGISTRY.values(), key=lambda e: (-e.rank(kind), e.order))


def identify_format(path) -> list[str]:
    """Every reader whose identify function claims ``path``, best first."""
    p = Path(path)
    kind = _kind(p)
    return [e.name for e in _ranked(kind) if e.claims(p, kind)]


def best_format(path, prefer: str | None = None) -> str | None:
    """The best reader claiming ``path`` (None when none does).

    ``prefer`` (e.g. the reader a data set records) wins when it claims the path. Readers are
    asked in priority order and the search stops below the first claim's priority, so a file
    is only opened by the readers that could win. Readers of different modalities claiming it
    with the same priority raise UnknownFormatError listing them.
    """
    p = Path(path)
    kind = _kind(p)
    if prefer is not None and prefer in _REGISTRY and _REGISTRY[prefer].claims(p, kind):
        return prefer
    top: list[ReaderEntry] = []
    for e in _ranked(kind):
        if top and e.rank(kind) < top[0].rank(kind):
            break
        if e.claims(p, kind):
            top.append(e)
    if not top:
        return None
    if len({e.modality for e in top}) > 1:
        names = ", ".join(f"{e.name} ({e.modality})" for e in top)
        raise UnknownFormatError(f"several readers claim this path with the same priority: "
                                 f"{names}", file=p, field="format",
                                 expected="format='<name>' choosing one of them")
    return top[0].name


def formats_table() -> list[dict]:
    """One row per reader: name, modality, priorities, extensions, reader and identify."""
    def ref(x):
        if x is None:
            return ""
        return x if isinstance(x, str) else f"{x.__module__}:{x.__qualname__}"

    return [{"name": e.name, "modality": e.modality,
             "priority": e.priority if e.identify else None,
             "folder_priority": e.folder_priority if e.folder_identify else None,
             "extensions": " ".join(e.extensions), "reader": ref(e.reader),
             "identify": ref(e.identify), "folder_identify": ref(e.folder_identify)}
            for e in _REGISTRY.values()]
