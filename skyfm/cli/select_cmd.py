"""``skyfm select``: which objects to follow up next (active learning on the embeddings)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skyfm.cli import app


def _read_observed(path: Path) -> dict:
    """{object_id: label} from a CSV with columns object_id,label."""
    from skyfm.data.layout import labels_frame
    from skyfm.errors import DataFormatError

    df = labels_frame(path, empty_is_missing=False)
    empty = df["label"].astype(str).str.strip() == ""
    if empty.any():
        raise DataFormatError(f"object {df['object_id'][empty].iloc[0]!r} has an empty label",
                              file=path, field="label", expected="the class found by follow-up")
    return dict(zip(df["object_id"], df["label"].astype(str)))


@app.command("select")
def select_cmd(
    data: Annotated[Path, typer.Argument(help="the pool: a dataset directory or a file")],
    budget: Annotated[int, typer.Option(help="how many objects to propose", min=1)],
    labels: Annotated[Path | None, typer.Option(
        help="CSV object_id,label of the objects followed up so far (none: a cold start)")]
    = None,
    strategy: Annotated[str, typer.Option(
        help="skyfm (default), uncertainty, random, or discovery (with --target)")] = "skyfm",
    target: Annotated[str | None, typer.Option(
        help="the rare class sought by --strategy discovery")] = None,
    columns: Annotated[str | None, typer.Option(
        help="catalogues: comma-separated feature columns (default: every numeric column)")]
    = None,
    out: Annotated[Path | None, typer.Option(help="write the proposals as CSV here")] = None,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Propose which objects to follow up (e.g. take a spectrum of) next, learning from the
    labels of those already observed: embed the pool with its modality's X model, fit a
    forest on the labels given and pick the most informative objects (committee disagreement
    x margin x density, spread over k-means clusters; see skyfm.models.active). Give the
    growing labels file back after each follow-up run.

    Example: skyfm select sdss_pool/ --budget 20 --labels observed.csv --out next.csv
    """
    from rich.console import Console
    from rich.table import Table

    from skyfm.data import read
    from skyfm.data.tablerow import expand_catalogs
    from skyfm.errors import OutputExistsError
    from skyfm.models.active import STRATEGIES, select

    if strategy not in STRATEGIES:
        raise typer.BadParameter(f"one of {', '.join(STRATEGIES)}", param_hint="--strategy")
    if strategy == "discovery" and not target:
        raise typer.BadParameter("--strategy discovery needs --target CLASS",
                                 param_hint="--target")
    if out is not None and out.exists():
        raise OutputExistsError("exists; will not overwrite", file=out,
                                expected="a new file name")
    observed = _read_observed(labels) if labels is not None else {}
    obs = expand_catalogs(list(read(data)))
    kw = {"columns": [c.strip() for c in columns.split(",")]} if columns else {}
    df = select(obs, observed, budget, strategy, target=target, embedder_kwargs=kw,
                random_state=seed)
    t = Table(title=f"skyfm select: {len(df)} of {len(obs) - len(observed)} unlabelled "
                    f"({len(observed)} labelled; strategy {strategy})")
    for c in df.columns:
        t.add_column(c, justify="right")
    for r in df.itertuples(index=False):
        t.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r))
    Console().print(t)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(out, index=False)
