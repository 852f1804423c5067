"""Catalogue rows: :class:`TableScaledBaseline`, a baseline encoder (no trained model).

Until a table X model is trained, a row is embedded as its robust-scaled numeric columns plus
the colours of its magnitude columns; every output that uses it says "baseline encoder, no
trained model".
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from skyfm.data.tablerow import TableRow
from skyfm.models.base import Embedder, FeatureSpec, Progress
from skyfm.models.preprocessing import RobustScaler, scaler_arrays, scaler_from

__all__ = ["TableScaledBaseline"]

_MAG_NAMES = ["fuv", "nuv", "u", "g", "r", "i", "z", "y", "j", "h", "k", "ks", "w1", "w2", "w3",
              "w4", "b", "v", "bp", "rp", "g_mag"]


def _unit(u) -> str:
    return "" if u is None else str(u)


class TableScaledBaseline(Embedder):
    """Catalogue rows -> robust-scaled numeric columns (+ colours of magnitude columns).

    Baseline encoder, no trained model. ``columns`` picks the feature columns (default: every
    numeric column that is not an id, label or error column); when two or more columns are
    recognised as magnitudes (u, g, r, i, z, J, H, K, ..., or ``*mag*``) the differences of
    consecutive ones (colours, in mag) are added, since colours, not brightness, separate most
    classes. Non-finite values are imputed with the column median.
    """

    modality = "table"

    def __init__(self, columns: Sequence[str] | None = None, colours: bool = True):
        self.columns = columns
        self.colours = colours

    def _matrix(self, rows) -> np.ndarray:
        return np.array([[r.values.get(c, np.nan) for c in self.columns_] for r in rows], float)

    @staticmethod
    def assess(row) -> tuple[str, str]:
        """Quality before embedding (no finite value: skipped; some missing: missing_values)."""
        v = np.array([x if isinstance(x, (int, float, np.number)) else np.nan
                      for x in row.values.values()], float)
        fin = np.isfinite(v)
        if v.size == 0 or not fin.any():
            return "", "no finite values"
        return ("missing_values" if not fin.all() else "ok"), ""

    def fit(self, rows: Sequence[TableRow], progress: Progress = None) -> TableScaledBaseline:
        cols = list(self.columns) if self.columns is not None else list(rows[0].values)
        self.columns_ = cols
        mags = [c for c in cols if c.lower() in _MAG_NAMES or "mag" in c.lower()]
        self.colour_pairs_ = list(pairwise(mags)) if self.colours and len(mags) > 1 else []
        units = rows[0].units if rows else {}
        self.feature_specs_ = (
            [FeatureSpec(c, _unit(units.get(c)), f"catalogue column {c}") for c in cols]
            + [FeatureSpec(f"colour_{a}-{b}", "mag", f"colour {a} - {b}")
               for a, b in self.colour_pairs_])
        self.info_ = {"encoder": f"robust-scaled columns {cols}"
                                 + (" + colours" if self.colour_pairs_ else "")}
        self.uses_trained_model_ = False
        self.scaler_ = RobustScaler().fit(self.features(rows))
        if progress:
            progress(len(rows))
        return self

    def features(self, rows) -> np.ndarray:
        self.check_fitted()
        X = self._matrix(rows)
        idx = {c: i for i, c in enumerate(self.columns_)}
        cols = [X[:, idx[a]] - X[:, idx[b]] for a, b in self.colour_pairs_]
        return np.column_stack([X] + cols) if cols else X

    def transform(self, rows) -> np.ndarray:
        self.check_fitted()
        return self.scaler_.transform(self.features(rows)).astype(np.float32)

    def perturb(self, row: TableRow, rng: np.random.Generator, scale: float = 1.0) -> TableRow:
        """The row re-drawn within its error columns (columns without errors unchanged)."""
        vals = dict(row.values)
        for c, e in row.errors.items():
            if c in vals and np.isfinite(e) and e > 0:
                vals[c] = vals[c] + scale * e * rng.standard_normal()
        return TableRow(vals, row.object_id, row.label, row.errors, row.units)

    def has_errors(self, rows) -> bool:
        return any(r.errors for r in rows[:50])

    # -- state -------------------------------------------------------------------------------
    def get_state(self):
        self.check_fitted()
        params = {"columns": list(self.columns_), "colours": self.colours,
                  "colour_pairs": [list(p) for p in self.colour_pairs_],
                  "clip": self.scaler_.clip}
        return params, scaler_arrays(self.scaler_, "feature_scaler")

    @classmethod
    def from_state(cls, params, arrays) -> TableScaledBaseline:
        emb = cls(columns=params["columns"], colours=params["colours"])
        emb.columns_ = list(params["columns"])
        emb.colour_pairs_ = [tuple(x) for x in params["colour_pairs"]]
        emb.scaler_ = scaler_from(arrays, "feature_scaler", params["clip"])
        emb.uses_trained_model_ = False
        return emb
