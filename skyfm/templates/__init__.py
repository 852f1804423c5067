"""The HTML of skyfm (discovery report, demo report, served page) from Jinja2 templates.

One base layout (``base.html.j2``) and one template per view; autoescaping is on for every
template, because object ids, labels and reasons come from users' files. Templates ship as
package data, so rendering needs neither network nor the source tree.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["environment", "render"]


@lru_cache(maxsize=1)
def environment():
    """The shared :class:`jinja2.Environment` (package loader, autoescape, strict undefined)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("skyfm", "templates"),
        autoescape=True,  # every template, whatever its suffix
        undefined=jinja2.StrictUndefined,  # a misspelt variable is an error, not blank text
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(name: str, **context) -> str:
    """Render template ``name`` (e.g. ``"report.html.j2"``) with ``context``."""
    return environment().get_template(name).render(**context)
