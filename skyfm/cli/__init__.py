"""The ``skyfm`` command. Each sub-command lives in its own module and is a thin shell
over library functions; heavy imports happen inside the commands so ``--help`` is fast."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="skyfm",
    help="skyfm: offline-first astronomy foundation models.\n\nExample: skyfm demo --out demo_out",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.command()
def version() -> None:
    """Print skyfm's version.

    Example: skyfm version
    """
    from skyfm import __version__

    typer.echo(__version__)


def _register() -> None:
    # Each module adds its commands to ``app`` (or a sub-app) on import.
    from skyfm.cli import (  # noqa: F401
        data_cmd,
        demo_cmd,
        detect_cmd,
        discover_cmd,
        model_cmd,
        papers_cmd,
        select_cmd,
        serve_cmd,
        sim_cmd,
        spectra_cmd,
    )


def main() -> None:
    """Entry point of the ``skyfm`` console script."""
    import sys

    from skyfm.errors import SkyfmError

    _register()
    try:
        app()
    except SkyfmError as exc:  # a clear one-line error instead of a traceback
        from rich.console import Console
        from rich.markup import escape

        # escape: messages hold "pip install 'skyfm[serve]'" that rich would eat; soft_wrap:
        # one line, so long paths stay whole (copyable)
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(exc))}")
        sys.exit(2)
