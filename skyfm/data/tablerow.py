"""One catalogue row as an observation: discovery ranks rows, not whole catalogues.

:func:`expand_catalogs` turns every :class:`~skyfm.data.observations.Catalog` of a set into
its rows, each with its values, the errors from the matching error columns (``x_err``,
``err_x``, ``x_error``, ``e_x``, ``sigma_x``, ``xerr``) and the columns' units.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skyfm.data.observations import Catalog

__all__ = ["TableRow", "error_columns", "expand_catalogs"]


class TableRow:
    """One catalogue row as an observation (discovery ranks rows, not whole catalogues)."""

    def __init__(self, values: dict, object_id: str, label=None, errors: dict | None = None,
                 units: dict | None = None):
        self.values = dict(values)
        self.errors = dict(errors or {})
        self.units = dict(units or {})
        self.object_id = str(object_id)
        self.label = label
        self.meta: dict = {}

    def __repr__(self) -> str:
        return f"TableRow(object_id={self.object_id!r}, label={self.label!r})"

    def plot(self, ax=None, **kwargs):
        """Bar chart of the row's numeric values. Returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3))
        names = list(self.values)[:20]
        ax.bar(range(len(names)), [self.values[n] for n in names], **kwargs)
        ax.set_xticks(range(len(names)), names, rotation=60, fontsize=7)
        title = self.object_id + (f"  ({self.label})" if self.label is not None else "")
        ax.set_title(title)
        return ax


def expand_catalogs(observations: Sequence) -> list:
    """Replace every :class:`Catalog` by one :class:`TableRow` per row (other objects unchanged)."""
    out: list = []
    for ob in observations:
        if not isinstance(ob, Catalog):
            out.append(ob)
            continue
        cols = ob.feature_columns
        errcols = error_columns(cols)
        values = [c for c in cols if c not in errcols.values()]
        ids = ob.object_ids
        labels = ob.labels
        table = ob.table
        arr = table[values].to_numpy(dtype=float)
        errs = {c: table[e].to_numpy(dtype=float) for c, e in errcols.items()}
        for i in range(len(ob)):
            lab = None if labels is None else labels[i]
            if lab is not None and isinstance(lab, float) and np.isnan(lab):
                lab = None
            out.append(TableRow(dict(zip(values, arr[i])), ids[i], lab,
                                {c: e[i] for c, e in errs.items()},
                                {c: ob.units.get(c) for c in values}))
    return out


def error_columns(cols: Sequence[str]) -> dict[str, str]:
    """Map value column -> its error column (``x_err``, ``err_x``, ``x_error``, ``e_x``, ``sigma_x``)."""
    found = {}
    cset = set(cols)
    for c in cols:
        for cand in (f"{c}_err", f"err_{c}", f"{c}_error", f"e_{c}", f"sigma_{c}", f"{c}err"):
            if cand in cset:
                found[c] = cand
                break
    return found
