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


@sim_app.command("lenses")
def lenses(
    hosts: Annotated[Path, typer.Argument(help="real gri colour cutouts: a Galaxy Zoo folder "
                                               "(images/ + labels.csv) or a folder of images")],
    out: Annotated[Path, typer.Option("--out", help="output directory (generic layout)")],
    n: Annotated[int, typer.Option("--n", help="lenses to inject (one per host)")] = 50,
    any_host: Annotated[bool, typer.Option(
        "--any-host", help="use any image as a host (default: only those labelled "
                           "elliptical)")] = False,
    theta_e: Annotated[str, typer.Option(help="Einstein radius range MIN,MAX [arcsec]")] = "1,3",
    pixel_scale: Annotated[float | None, typer.Option(
        help="arcsec per pixel of the hosts (default: 0.2, assumed for Galaxy Zoo 1)")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    overwrite: Annotated[bool, typer.Option(help="replace an existing output directory")] = False,
) -> None:
    """Inject twin strong lenses (SIE + shear, blue Sersic source) into real cutouts.

    Writes the injected cutouts (label 'lens', ids HOST_lens) and lens_params.csv with every
    drawn parameter (see skyfm.sim.lenses).

    Example: skyfm sim lenses $SKYFM_DATA_DIR/images_galaxyzoo1_sdss --n 50 --out sim_lenses
    """
    import numpy as np
    import pandas as pd

    from skyfm.cli.progress import progress_task
    from skyfm.data import Image, read
    from skyfm.sim.lenses import LensConfig, inject_lens

    try:
        lo, hi = (float(v) for v in theta_e.split(","))
    except ValueError as exc:
        raise typer.BadParameter(f"{theta_e!r}: expected MIN,MAX in arcsec",
                                 param_hint="--theta-e") from exc
    if not 0 < lo <= hi:
        raise typer.BadParameter(f"{theta_e!r}: expected 0 < MIN <= MAX", param_hint="--theta-e")
    from skyfm.data.layout import is_dataset
    from skyfm.outputs import check_target, write_csv

    check_target(out, overwrite, is_dataset, "dataset")  # before any injection
    imgs = [o for o in read(hosts, modality="image") if isinstance(o, Image)]
    pool = imgs if any_host else [o for o in imgs if o.label == "elliptical"]
    if len(pool) < n:
        what = "images" if any_host else "images labelled elliptical (or pass --any-host)"
        raise typer.BadParameter(f"{hosts} holds {len(pool)} {what}; --n {n} asked",
                                 param_hint="--n")
    rng = np.random.default_rng(seed)
    chosen = [pool[i] for i in sorted(rng.choice(len(pool), n, replace=False))]
    cfg = LensConfig(theta_e_arcsec=(lo, hi),
                     **({"pixel_scale": pixel_scale} if pixel_scale else {}))
    obs, rows = [], []
    with progress_task("injecting lenses", n) as advance:
        for i, host in enumerate(chosen):
            try:
                lens = inject_lens(host, rng=seed * 100_003 + i, config=cfg)
            except ValueError as exc:  # not a 3-plane gri cutout
                raise typer.BadParameter(f"{host.object_id}: {exc}") from exc
            lens.object_id = f"{host.object_id}_lens"
            m = lens.meta["injected_lens"]
            rows.append({"object_id": lens.object_id, "host": host.object_id,
                         "host_label": host.label,
                         **{f"lens_{k}": v for k, v in m["lens"].items()},
                         **{f"source_{k}": v for k, v in m["source"].items()},
                         "arc_contrast_mag": m["arc_contrast_mag"],
                         "pixel_scale": cfg.pixel_scale})
            obs.append(lens)
            advance(1)
    _write(obs, out, overwrite)
    write_csv(out / "lens_params.csv", pd.DataFrame(rows), index=False)  # temp file + rename
    typer.echo(f"{len(obs)} injected lenses (theta_E {lo:g}-{hi:g} arcsec at "
               f"{cfg.pixel_scale:g} arcsec/pixel) -> {out}")


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
