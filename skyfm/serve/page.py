"""The single page of ``skyfm serve``: plain HTML, CSS and vanilla JS (no build step).

Rendered from ``skyfm/templates/page.html.j2`` (on the shared ``base.html.j2`` layout, shipped
as package data) with autoescaping: the output folder's name is user text.
"""

from __future__ import annotations

__all__ = ["render_page"]


def render_page(out_name: str) -> str:
    """The page's HTML for the output folder named ``out_name``."""
    from skyfm.templates import render

    return render("page.html.j2", out_name=str(out_name))
