"""``skyfm serve``: a small web page and JSON API over a ``skyfm discover`` output directory."""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(out_dir, **kwargs):
    """The FastAPI app for ``out_dir`` (see :func:`skyfm.serve.api.create_app`)."""
    from skyfm.serve.api import create_app as _create

    return _create(out_dir, **kwargs)
