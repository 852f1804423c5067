"""``skyfm discover DIR --out OUT``, ``skyfm discover score RUN NEW_DATA`` and
``skyfm discover evaluate``.

``discover`` is a command group whose default sub-command is ``run``: ``skyfm discover DIR ...``
means ``skyfm discover run DIR ...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from skyfm.cli import app
from skyfm.cli.read_options import (
    ColumnOpt,
    DuplicatesOpt,
    FileOpt,
    ModalityOpt,
    TimeFormatOpt,
    read_input,
)


class _DefaultRun(TyperGroup):
    """A group that treats an unknown first argument as the input of its ``run`` command."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


discover_app = typer.Typer(cls=_DefaultRun, no_args_is_help=True,
                           help="Rank every object of a data set by how unusual it is.\n\n"
                                "Example: skyfm discover my_dataset/ --out discoveries/")
app.add_typer(discover_app, name="discover")


@discover_app.command("run")
def run_cmd(
    directory: Annotated[Path, typer.Argument(help="a dataset in the generic layout, or any "
                                                   "path skyfm.data.read understands")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output directory")],
    top: Annotated[int, typer.Option(help="candidates plotted and shown in the report")] = 20,
    scorers: Annotated[str, typer.Option(help="comma-separated scorers")] = (
        "knn,iforest,recon,openset"),
    fusion: Annotated[str, typer.Option(help="'rank' (mean percentile) or 'zscore'")] = "rank",
    n_noise: Annotated[int, typer.Option(help="noise re-draws for the aleatoric "
                                              "uncertainty")] = 2,
    n_members: Annotated[int, typer.Option(help="ensemble members for the epistemic "
                                                "uncertainty")] = 5,
    no_labels: Annotated[bool, typer.Option("--no-labels", help="ignore labels (no open-set "
                                                                "scorer)")] = False,
    limit: Annotated[int | None, typer.Option(help="read at most this many objects")] = None,
    map_method: Annotated[str, typer.Option("--map", help="embedding map: 'pca' or "
                                                          "'tsne'")] = "pca",
    columns: Annotated[str | None, typer.Option(help="tables: comma-separated feature columns "
                                                     "(default: every numeric column)")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    embedder_name: Annotated[str | None, typer.Option(
        "--embedder", help="another embedder of the data's modality instead of its default: "
                           "a name (skyfm-img-base for images; skyfm-spec-base or "
                           "skyfm-spec-hybrid for spectra) or module:Class")] = None,
    column: ColumnOpt = None,
    duplicates: DuplicatesOpt = None,
    time_format: TimeFormatOpt = None,
    modality: ModalityOpt = None,
    file: FileOpt = None,
    kind: Annotated[str, typer.Option(help="light curves: 'transient' (supernova-like shape "
                                           "features), 'general' (encoder + periodic "
                                           "features) or 'auto' (transient when the set is "
                                           "single-season)")] = "auto",
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="replace an existing discovery output at --out whole (its "
                            "feedback.csv and plots included)")] = False,
    papers_index: Annotated[Path | None, typer.Option(
        "--papers-index", help="a `skyfm papers index` directory: each candidate's card in the "
                               "report lists 3 related papers (searched locally)")] = None,
) -> None:
    """Score every object for unusualness; write candidates.csv, plots and an HTML report.

    --out must be a new or empty directory (or an earlier run, with --overwrite); the run is
    built beside it and moved into place only when complete.

    Example: skyfm discover my_dataset/ --out discoveries/ --top 30
    """
    import time

    from rich.console import Console

    from skyfm.cli.progress import progress_task
    from skyfm.discover import discover
    from skyfm.discover.pipeline import is_discover_output
    from skyfm.errors import DataNotFoundError
    from skyfm.outputs import check_target

    console = Console()
    check_target(out, overwrite, is_discover_output, "discover")  # before any long work
    if papers_index is not None:
        from skyfm.knowledge.tools import open_index

        open_index(papers_index)  # a missing or damaged index: an error now, not after the run
    if not directory.exists():
        raise DataNotFoundError(f"{directory}: no such file or directory")
    t0 = time.perf_counter()
    obs = read_input(directory, columns=column, duplicates=duplicates,
                     time_format=time_format, modality=modality, file=file, limit=limit)
    console.print(f"read {len(obs)} observation(s) from {directory} "
                  f"({time.perf_counter() - t0:.1f} s)")
    embedder = None
    if columns or embedder_name:
        from skyfm.models import registry

        mod = registry.modality_of(obs) if embedder_name else "table"
        kw = {"columns": [c.strip() for c in columns.split(",") if c.strip()]} if columns else {}
        try:
            embedder = registry.make_embedder(mod, embedder_name, **kw)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--embedder") from None
    with progress_task("discovering", 5) as advance:
        found = discover(obs, out, top=top, embedder=embedder,
                      scorers=[s.strip() for s in scorers.split(",") if s],
                      fusion=fusion, n_noise=n_noise, n_members=n_members,
                      use_labels=not no_labels, map_method=map_method, seed=seed,
                      kind=kind, progress=advance, overwrite=overwrite)
    from rich.table import Table

    df = found.candidates

    t = Table(title=f"top {min(top, 10, len(df))} of {len(df)} objects")
    for c in ("rank", "object_id", "score", "epistemic", "aleatoric", "reason"):
        t.add_column(c, overflow="fold")
    for _, r in df.head(min(top, 10)).iterrows():
        t.add_row(str(r["rank"]), str(r["object_id"]), f"{r['score']:.3f}",
                  f"{r['epistemic']:.3f}", f"{r['aleatoric']:.3f}", str(r["reason"]))
    console.print(t)
    if found.embedder is not None:
        from rich.markup import escape

        console.print(f"embedded by {escape(found.embedder.describe())}")
    if papers_index is not None:
        from skyfm.discover.report import report_from_run

        report_from_run(out, df, obs, top=top, map_method=map_method, seed=seed,
                        papers_index=papers_index)
        console.print(f"related papers from {papers_index} added to the report's cards")
    n_skipped = len(found.skipped)
    console.print(f"{len(df) + n_skipped} objects in: {len(df)} scored, {n_skipped} "
                  f"skipped (reasons in {out / 'skipped.csv'})")
    console.print(f"wrote {out / 'candidates.csv'}, {out / 'report' / 'index.html'} "
                  f"({time.perf_counter() - t0:.1f} s)")


@discover_app.command("score")
def score_cmd(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="a `skyfm discover` OUT "
                                                                "directory")],
    new_data: Annotated[Path, typer.Argument(metavar="NEW_DATA", help="the new objects: any "
                                                                      "path skyfm.data.read "
                                                                      "understands")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="output directory (default: "
                                                          "RUN-scores beside RUN)")] = None,
    n_noise: Annotated[int, typer.Option(help="noise re-draws for the aleatoric "
                                              "uncertainty (0: none)")] = 0,
    limit: Annotated[int | None, typer.Option(help="read at most this many objects")] = None,
    seed: Annotated[int, typer.Option(help="random seed of the noise re-draws")] = 0,
    column: ColumnOpt = None,
    duplicates: DuplicatesOpt = None,
    time_format: TimeFormatOpt = None,
    modality: ModalityOpt = None,
    file: FileOpt = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="replace an existing `discover score` output at --out")] = False,
) -> None:
    """Rank new objects against a saved discovery run, without refitting.

    Embeds NEW_DATA with the run's saved embedder, scores it with the run's saved scorers on
    the run's scale (score = mean percentile among the run's objects; rank_in_run = where it
    would rank among them) and writes scores.csv + skipped.csv into --out.

    Example: skyfm discover score discoveries/ tonight/ --out tonight_scores/
    """
    from rich.console import Console

    from skyfm.discover.run import is_score_output, load_run
    from skyfm.errors import DataNotFoundError
    from skyfm.outputs import check_target

    console = Console()
    out = out if out is not None else run_dir.parent / f"{run_dir.name}-scores"
    check_target(out, overwrite, is_score_output, "discover score")  # before any long work
    run = load_run(run_dir)
    if not new_data.exists():
        raise DataNotFoundError(f"{new_data}: no such file or directory")
    obs = read_input(new_data, columns=column, duplicates=duplicates,
                     time_format=time_format, modality=modality, file=file, limit=limit)
    scored = run.score(obs, n_noise=n_noise, seed=seed)
    scored.write(out, overwrite=overwrite)
    for _, r in scored.scores.head(10).iterrows():
        console.print(f"{r['object_id']}: score {r['score']:.3f} +- {r['epistemic']:.3f}, "
                      f"rank {r['rank_in_run']} of {len(run.object_ids)} in the run",
                      highlight=False)
    console.print(f"{scored.n_in} objects in: {len(scored.scores)} scored, "
                  f"{len(scored.skipped)} skipped; wrote {out / 'scores.csv'}", highlight=False)


@discover_app.command("evaluate")
def evaluate_cmd(
    tasks: Annotated[str, typer.Option(help="comma-separated tasks")] = (
        "openset_eros,openset_sdss,injection_eros,injection_galaxyzoo"),
    out: Annotated[Path, typer.Option("--out", "-o", help="JSON results")] = Path(
        "discovery_eval.json"),
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    n_lightcurves: Annotated[int, typer.Option(help="EROS curves per injection run")] = 2000,
    n_images: Annotated[int, typer.Option(help="Galaxy Zoo images per injection run")] = 2000,
    openset_encoder: Annotated[Path | None, typer.Option(
        "--openset-encoder",
        help="openset_eros: directory of the light-curve encoder pretrained WITHOUT Mira "
             "(built there on demand, a few CPU minutes; default "
             "runs/openset_encoder/eros-no-mira-seed<SEED>)")] = None,
) -> None:
    """Open-set and injection benchmarks on real data, skyfm vs an isolation-forest baseline.

    Example: skyfm discover evaluate --tasks openset_sdss,openset_eros --out eval.json
    """
    from rich.console import Console

    from skyfm.benchmarks import discovery as ev
    from skyfm.cli.progress import progress_task

    names = [t.strip() for t in tasks.split(",") if t.strip()]
    n_steps = sum({"injection_eros": 9, "injection_galaxyzoo": 2}.get(n, 1) for n in names)
    con = Console()
    kwargs = {"injection_eros": {"n": n_lightcurves}, "injection_galaxyzoo": {"n": n_images},
              "openset_eros": {"clean_encoder": openset_encoder, "log": con.print}}
    with progress_task("evaluating", n_steps) as advance:
        results = ev.run(names, out, seed=seed, progress=advance, **kwargs)
    typer.echo(ev.format_table(results))  # plain text: rich would wrap the wide table
    if "openset_eros" in names:
        con.print("note: the shipped skyfm-lc-base was pretrained on simulated Miras (with a "
                  "twin-class head that names them) and on real EROS curves including Miras, so "
                  "its openset_eros row is NOT a clean open-set test; the 'clean' row uses an "
                  "encoder pretrained without Mira on the fitted half only "
                  f"({openset_encoder or ev.OPENSET_ENCODER_DIR}).", highlight=False)
    con.print(f"wrote {out}")
