"""Fixtures of the serve tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from serve_helpers import make_out_dir


@pytest.fixture
def out_dir(tmp_path) -> Path:
    return make_out_dir(tmp_path / "out")
