"""``skyfm demo``: the end-to-end pipeline on the embedded default (a simulated survey)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from skyfm.cli import app


@app.command()
def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", "-o", help="Output directory."),
    data_dir: Optional[Path] = typer.Option(
        None, "--data-dir", help="Run on real data instead (any path skyfm.data.read understands, "
        "e.g. ../shared/data/lc_eros_ramp_variable_stars)."),
    n_per_class: int = typer.Option(120, help="Simulated curves per common class."),
    n_rare: int = typer.Option(12, help="Simulated rare objects hidden in the survey."),
    limit: int = typer.Option(3000, help="With --data-dir: at most this many objects (random)."),
    survey: str = typer.Option("ztf", help="Cadence and noise of the simulated survey."),
    seed: int = typer.Option(0, help="Random seed."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace an earlier demo at --out whole."),
) -> None:
    """Simulate a small survey with hidden rare objects, embed it with the light-curve X model,
    rank the unusual, and write OUT/candidates.csv and OUT/report/index.html.

    Example: skyfm demo --out demo_out
    Example (real data): skyfm demo --data-dir ../shared/data/lc_eros_ramp_variable_stars --out eros_demo
    """
    from rich.console import Console

    from skyfm.cli.progress import make_progress
    from skyfm.demo import run_demo

    console = Console()
    with make_progress() as bar:
        def factory(description: str, total):
            task = bar.add_task(description, total=total)
            return lambda k=1: bar.advance(task, k)

        result = run_demo(out, data_dir=data_dir, n_per_class=n_per_class, n_rare=n_rare,
                          seed=seed, limit=limit, survey=survey, progress=factory,
                          overwrite=overwrite)
    console.print(f"[bold green]done[/] in {result.wall_s:.1f} s: {result.n_objects} objects")
    if result.n_rare:
        found = ", ".join(f"top {k}: {v}" for k, v in result.rare_in_top.items())
        console.print(f"hidden rare objects: {result.n_rare}; found among the {found}")
    console.print(f"candidates: {out / 'candidates.csv'}")
    console.print(f"report:     {out / 'report' / 'index.html'}")
