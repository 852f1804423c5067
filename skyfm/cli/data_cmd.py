"""``skyfm data``: list, inspect, convert, verify and fetch data sets."""

from __future__ import annotations

from pathlib import Path

import typer

from skyfm.cli import app
from skyfm.cli.read_options import (
    ColumnOpt,
    DuplicatesOpt,
    FileOpt,
    ModalityOpt,
    TimeFormatOpt,
    read_input,
)

data_app = typer.Typer(help="Registered data sets and readers: list, info, convert, verify, "
                            "fetch, formats.\n\nExample: skyfm data list",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("list")
def list_cmd() -> None:
    """List the registered data sets: name, modality, N, origin and whether present.

    Sets are looked for under $SKYFM_DATA_DIR.

    Example: skyfm data list
    """
    import os

    from rich.console import Console
    from rich.table import Table

    from skyfm.data.registry import ENV_VAR, list_datasets

    rows = list_datasets()
    t = Table(title=f"skyfm data sets ({ENV_VAR}={os.environ.get(ENV_VAR, '<not set>')})")
    for c in ("name", "modality", "N", "origin", "present"):
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(r["name"], r["modality"], f"{r['n']:,}", r["origin"],
                  "[green]present[/]" if r["present"] else "[red]absent[/]")
    Console().print(t)



@data_app.command("formats")
def formats_cmd(
    path: Path = typer.Argument(None, help="a file or folder: list the readers that claim it"),
) -> None:
    """List the registered readers: name, modality, priority, extensions, identify function.

    With PATH, list the readers whose identify function claims it (best first) and the one
    ``skyfm.read`` would use.

    Example: skyfm data formats lc.csv
    """
    from rich.console import Console
    from rich.table import Table

    from skyfm.data.io import detect_format
    from skyfm.data.io.registry import formats_table, identify_format

    rows = sorted(formats_table(), key=lambda r: r["name"])
    if path is not None:
        claims = identify_format(path)
        rows = sorted((r for r in rows if r["name"] in claims), key=lambda r: claims.index(
            r["name"]))
    t = Table(title="skyfm readers" + (f" claiming {path}" if path is not None else ""))
    for c in ("name", "modality", "priority", "folder priority", "extensions", "identify"):
        t.add_column(c, overflow="fold")
    for r in rows:
        ident = " / ".join(x.rpartition(":")[2] for x in (r["identify"], r["folder_identify"])
                           if x)
        t.add_row(r["name"], r["modality"], "" if r["priority"] is None else str(r["priority"]),
                  "" if r["folder_priority"] is None else str(r["folder_priority"]),
                  r["extensions"], ident)
    console = Console()
    console.print(t)
    if path is not None:
        console.print(f"read() uses: {detect_format(path)}")

def summarize(obs) -> list[tuple[str, str]]:
    """(key, value) lines describing what ``read()`` found."""
    import collections

    from skyfm.data import Catalog, Image, LightCurve, Spectrum

    rep = obs.report
    lines = [("objects", f"{len(obs):,}"),
             ("types", ", ".join(f"{k} {v:,}" for k, v in
                                 collections.Counter(type(o).__name__ for o in obs).items())),
             ("files", f"{len(rep.files):,}")]
    lcs = [o for o in obs if isinstance(o, LightCurve)]
    if lcs:
        bands = collections.Counter(b for lc in lcs for b in lc.bands)
        n = sum(len(lc) for lc in lcs)
        n_ul = sum(int(lc.upper_limit.sum()) for lc in lcs)
        lines += [("light-curve points", f"{n:,} ({n_ul:,} upper limits)"),
                  ("bands", ", ".join(f"{b} ({c:,} curves)" for b, c in bands.most_common())),
                  ("kind", ", ".join(sorted({f"{lc.kind}" + (f" [{lc.flux_unit}]" if
                                              lc.kind == "flux" else "") for lc in lcs}))),
                  ("time span", (f"{min(lc.time.min() for lc in lcs if len(lc)):.2f} – "
                                 f"{max(lc.time.max() for lc in lcs if len(lc)):.2f} d"))]
    specs = [o for o in obs if isinstance(o, Spectrum)]
    if specs:
        lines += [("spectrum pixels", f"{sum(len(s) for s in specs):,}"),
                  ("wavelength units", ", ".join(sorted({str(s.wavelength_unit) for s in specs})))]
    imgs = [o for o in obs if isinstance(o, Image)]
    if imgs:
        shapes = collections.Counter(str(i.shape) for i in imgs[:200])
        lines += [("image shapes", ", ".join(f"{k} x{v}" for k, v in shapes.most_common(3))
                   + (" (first 200)" if len(imgs) > 200 else "")),
                  ("image bands", ", ".join(sorted({",".join(i.bands) for i in imgs[:200]})))]
    for c in (o for o in obs if isinstance(o, Catalog)):
        lines.append((f"table {Path(c.provenance.file or '').name}",
                      (f"{len(c):,} rows x {c.table.shape[1]} columns; label column "
                       f"{c.label_column!r}")))
        if c.label_column:
            counts = collections.Counter(map(str, c.labels)).most_common(8)
            lines.append(("  labels", ", ".join(f"{k} {v:,}" for k, v in counts)))
    labels = [o.label for o in obs if not isinstance(o, Catalog)]
    if labels:
        counts = collections.Counter(map(str, (x for x in labels if x is not None)))
        unl = sum(x is None for x in labels)
        lines.append(("labels", ", ".join(f"{k} {v:,}" for k, v in counts.most_common(12))
                      + (f"; {unl:,} unlabelled" if unl else "") if counts else "none"))
    lines.append(("dropped", ", ".join(f"{v:,} {k}" for k, v in sorted(rep.dropped.items()))
                  or "nothing"))
    for w in rep.warnings[:5]:
        lines.append(("warning", w))
    if len(rep.warnings) > 5:
        lines.append(("warning", f"... {len(rep.warnings) - 5} more"))
    return lines


@data_app.command("info")
def info(
    path: str = typer.Argument(..., help="a file, a directory or a registered set's name"),
    limit: int | None = typer.Option(None, help="read only the first N objects"),
    column: ColumnOpt = None,
    duplicates: DuplicatesOpt = None,
    time_format: TimeFormatOpt = None,
    modality: ModalityOpt = None,
    file: FileOpt = None,
) -> None:
    """Print what read() finds: counts, bands, labels, dropped points.

    Example: skyfm data info $SKYFM_DATA_DIR/lc_eros_ramp_variable_stars
    """
    import time
    import warnings

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obs = read_input(path, columns=column, duplicates=duplicates,
                         time_format=time_format, modality=modality, file=file,
                         limit=limit or None)
    dt = time.perf_counter() - t0
    t = Table(title=f"{escape(str(path))}  (read in {dt:.2f} s)", show_header=False)
    t.add_column("what", style="bold")
    t.add_column("value", overflow="fold")
    for k, v in summarize(obs):
        t.add_row(k, escape(v))  # units such as [e-/s] are text, not rich markup
    Console().print(t)


@data_app.command("convert")
def convert(
    src: str = typer.Argument(..., help="anything read() understands (file, folder, set name)"),
    dst: Path = typer.Argument(..., help="output directory in skyfm's generic layout"),
    limit: int | None = typer.Option(None, help="convert only the first N objects"),
    overwrite: bool = typer.Option(False, help="replace an existing dataset directory whole "
                                               "(no file of the old one is kept)"),
    image_format: str = typer.Option("fits", help="image files: fits (lossless) or png"),
    column: ColumnOpt = None,
    duplicates: DuplicatesOpt = None,
    time_format: TimeFormatOpt = None,
    modality: ModalityOpt = None,
    file: FileOpt = None,
) -> None:
    """Write any readable data to the generic layout (observations.parquet, labels.csv, ...).

    DST must be new or empty (or a dataset, with --overwrite); it is built beside DST and
    moved into place only when complete.

    Example: skyfm data convert $SKYFM_DATA_DIR/lc_eros_ramp_variable_stars eros_ds
    """
    from skyfm.cli.progress import progress_task
    from skyfm.data.layout import is_dataset, write_dataset
    from skyfm.errors import DataFormatError
    from skyfm.outputs import check_target

    check_target(dst, overwrite, is_dataset, "dataset")  # before reading anything
    with progress_task(f"reading {src}", None) as advance:
        obs = read_input(src, columns=column, duplicates=duplicates,
                         time_format=time_format, modality=modality, file=file,
                         limit=limit or None)
        advance(1)
    if len(obs) == 0:
        raise DataFormatError(f"no observations read ({obs.report.summary()}); nothing "
                              f"written to {dst}", file=src,
                              expected="at least one object (a table with rows, not only a "
                                       "header)")
    with progress_task(f"writing {dst}", len(obs)) as advance:
        write_dataset(obs, dst, overwrite=overwrite, progress=advance, image_format=image_format)
    typer.echo(f"{len(obs):,} observations -> {dst} ({obs.report.summary()})")


@data_app.command("verify")
def verify(
    name: str | None = typer.Argument(None, help="a registered set (default: all present)"),
) -> None:
    """Check present sets' files against the registry's sha256 checksums.

    Example: skyfm data verify lc_eros_ramp_variable_stars
    """
    from skyfm.cli.progress import progress_task
    from skyfm.data import registry

    names = [name] if name else [n for n in registry.names() if registry.is_present(n)]
    if not names:
        typer.echo(f"no registered set is present under ${registry.ENV_VAR}")
        raise typer.Exit(1)
    total = sum(len(registry.entry(n).get("sha256", {})) for n in names)
    with progress_task("verifying", total) as advance:
        results = [registry.verify(n, progress=advance) for n in names]
    for r in results:
        typer.echo(f"ok  {r['name']}  ({r['files']} checks)")


@data_app.command("fetch")
def fetch(
    name: str = typer.Argument(..., help="a registered set"),
) -> None:
    """Download a set from its public origin into $SKYFM_DATA_DIR, verifying sha256 checksums.

    Only sets with direct download URLs in the registry can be fetched; the others print
    their origin.

    Example: skyfm data fetch catalog_gcvs_fink
    """
    from skyfm.cli.progress import progress_task
    from skyfm.data import registry

    with progress_task(f"downloading {name}", None) as advance:
        path = registry.fetch(name, progress=advance)
    typer.echo(f"{name} -> {path} (checksums verified)")
