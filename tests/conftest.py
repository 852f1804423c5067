"""Shared fixtures. Real-data tests use ``shared_data(name)``: they skip with the reason when
SKYFM_DATA_DIR or the set is absent (outside CI) and run in CI, where .ci/run sets it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def shared_data():
    def resolve(name: str) -> Path:
        root = os.environ.get("SKYFM_DATA_DIR")
        if not root:
            pytest.skip(f"needs the shared data set '{name}': SKYFM_DATA_DIR is not set")
        path = Path(root) / name
        if not path.is_dir():
            pytest.skip(f"needs the shared data set '{name}': not found under SKYFM_DATA_DIR={root}")
        return path

    return resolve


@pytest.fixture(autouse=True)
def _headless_matplotlib(monkeypatch):
    import matplotlib

    matplotlib.use("Agg", force=True)
