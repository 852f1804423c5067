"""``skyfm sim``: simulate labelled data sets with the digital twin, and check it against
real data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skyfm.cli import app

sim_app = typer.Typer(
    help="Simulate labelled light curves, spectra and galaxy images; check "
    "the twin against real data.\n\nExample: skyfm sim lightcurves "
    "--n 100 --survey ztf --out sim_lc",
    no_args_is_help=True,
)
app.add_typer(sim_app, name="sim")


def _split(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def _write(obs, out: Path, overwrite: bool) -> None:
    from skyfm.cli.progress import progress_task
    from skyfm.data.layout import write_dataset

    with progress_task("writing", len(obs)) as advance:  # built aside, moved in when complete
        write_dataset(obs, out, overwrite=overwrite, progress=advance)


@sim_app.command("lightcurves")
def lightcurves(
    out: Annotated[Path, typer.Option("--out", help="output directory (generic layout)")],
    n: Annotated[int, typer.Option("--n", help="curves per class")] = 100,
    survey: Annotated[str, typer.Option(help="ztf, lsst, ogle or eros")] = "ztf",
    classes: Annotated[
        str | None,
        typer.Option(
            help="comma-separated classes (default: the common ones; rare ones: "
            "microlensing,flare,tde)",
        ),
    ] = None,
    rare: Annotated[bool, typer.Option(help="also simulate the rare classes")] = False,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    kind: Annotated[
        str, typer.Option(help="mag (with upper limits) or flux (nJy, forced)")
    ] = "mag",
    baseline: Annotated[
        float | None, typer.Option(help="survey length in days (default: the survey's own)")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing output directory")] = False,
) -> None:
    """Simulate labelled light curves of variable stars and transients.

    Writes observations.parquet (object_id, time, band, mag, mag_err, upper_limit),
    labels.csv and the true parameters.

    Example: skyfm sim lightcurves --n 200 --survey ztf --rare --out sim_ztf
    """
    from skyfm.cli.progress import progress_task
    from skyfm.sim.lightcurves import COMMON_CLASSES, RARE_CLASSES, simulate_lightcurves

    cls = _split(classes) or list(COMMON_CLASSES)
    if rare:
        cls += [c for c in RARE_CLASSES if c not in cls]
    try:
        with progress_task(f"simulating {survey} light curves", n * len(cls)) as advance:
            obs = simulate_lightcurves(
                n,
                classes=cls,
                survey=survey,
                seed=seed,
                progress=advance,
                kind=kind,
                baseline=baseline,
            )
    except ValueError as exc:  # unknown class, survey or kind
        raise typer.BadParameter(str(exc)) from exc
    _write(obs, out, overwrite)
    typer.echo(
        f"{len(obs)} light curves ({obs.report.n_points} points, {len(cls)} classes) -> {out}"
    )


@sim_app.command("spectra")
def spectra(
    out: Annotated[Path, typer.Option("--out", help="output directory (generic layout)")],
    n: Annotated[int, typer.Option("--n", help="number of spectra")] = 100,
    snr: Annotated[float, typer.Option(help="per-pixel signal-to-noise ratio")] = 100.0,
    snr_min: Annotated[
        float | None, typer.Option(help="draw S/N log-uniformly from [snr-min, snr] instead")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    overwrite: Annotated[bool, typer.Option(help="replace an existing output directory")] = False,
) -> None:
    """Simulate labelled APOGEE spectra with The Payne emulator (needs SKYFM_DATA_DIR).

    Example: skyfm sim spectra --n 500 --snr 80 --out sim_spectra
    """
    from skyfm.cli.progress import progress_task
    from skyfm.sim.spectra import simulate_spectra

    s = (snr_min, snr) if snr_min else snr
    with progress_task("simulating spectra", n) as advance:
        obs = simulate_spectra(n, seed=seed, snr=s, progress=advance)
    _write(obs, out, overwrite)
    typer.echo(f"{len(obs)} spectra -> {out}")


@sim_app.command("galaxies")
def galaxies(
    out: Annotated[Path, typer.Option("--out", help="output directory (generic layout)")],
    n: Annotated[int, typer.Option("--n", help="images per class")] = 50,
    size: Annotated[int, typer.Option(help="image size [pixels]")] = 64,
    classes: Annotated[
        str | None,
        typer.Option(help="comma-separated classes (default: elliptical,spiral,edge_on,merger)"),
    ] = None,
    rare: Annotated[bool, typer.Option(help="also simulate strong lenses ('lens')")] = False,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    overwrite: Annotated[bool, typer.Option(help="replace an existing output directory")] = False,
) -> None:
    """Simulate labelled g,r,i galaxy images with galsim (and strong lenses with --rare).

    Example: skyfm sim galaxies --n 50 --rare --out sim_galaxies
    """
    from skyfm.cli.progress import progress_task
    from skyfm.sim.galaxies import COMMON_GALAXY_CLASSES, simulate_galaxies

    cls = _split(classes) or list(COMMON_GALAXY_CLASSES)
    if rare and "lens" not in cls:
        cls.append("lens")
    try:
        with progress_task("simulating galaxies", n * len(cls)) as advance:
            obs = simulate_galaxies({c: n for c in cls}, size=size, seed=seed, progress=advance)
    except ValueError as exc:  # unknown class
        raise typer.BadParameter(str(exc)) from exc
    _write(obs, out, overwrite)
    typer.echo(f"{len(obs)} images ({size}x{size}, g,r,i) -> {out}")


@sim_app.command("check")
def check(
    out: Annotated[Path, typer.Option("--out", help="directory for plots and summary.{json,md}")],
    n: Annotated[int, typer.Option("--n", help="simulated curves per class")] = 1500,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    overwrite: Annotated[bool, typer.Option(help="replace an earlier check at --out "
                                                 "whole")] = False,
) -> None:
    """Compare the twin with real data: OGLE-III period-amplitude, ZTF and EROS errors.

    --out must be new or empty (or an earlier check, with --overwrite); it is built beside
    --out and moved into place only when complete.

    Example: skyfm sim check --out twin_check
    """
    from skyfm.cli.progress import progress_task
    from skyfm.outputs import run_directory
    from skyfm.sim.check import check_twin

    with run_directory(out, overwrite=overwrite, kind="twin-check",
                       recognise=lambda p: (p / "summary.md").is_file()) as run, \
            progress_task("checking the twin", 6) as advance:
        summary = check_twin(run.path, n_per_class=n, seed=seed, progress=advance)
    typer.echo((out / "summary.md").read_text())
    typer.echo(f"plots and summary -> {out}")
    del summary
