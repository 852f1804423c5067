"""``skyfm detect``: find and measure the sources of a FITS image and write a catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skyfm.cli import app


@app.command("detect")
def detect(
    image: Annotated[Path, typer.Argument(help="a one-band FITS image with a celestial WCS")],
    out: Annotated[Path, typer.Option(help="catalogue to write (.ecsv keeps units; else CSV)")],
    method: Annotated[str, typer.Option(
        help="classical (photutils DAOStarFinder) or learned (CNN trained on twin star "
             "fields)")] = "classical",
    nsigma: Annotated[float, typer.Option(help="detection threshold [background sigma]")] = 5.0,
    fwhm: Annotated[float, typer.Option(help="PSF FWHM [pix] (classical)")] = 2.0,
    aperture: Annotated[float, typer.Option(help="photometric aperture radius [pix]")] = 3.0,
    box: Annotated[int, typer.Option(help="background mesh size [pix]")] = 32,
    model: Annotated[str, typer.Option(
        help="learned detector: a shipped name or a directory")] = "skyfm-detect-twin",
    overwrite: Annotated[bool, typer.Option(help="replace an existing catalogue")] = False,
) -> None:
    """Detect sources, measure aperture fluxes with errors, place them with the WCS.

    Columns: id, ra, dec (ICRS, deg), x, y (0-based pixels), flux, flux_err (mJy for a
    MJy/sr or Jy image, else the image unit x pixels), snr. Settings go in the ECSV header.

    Example: skyfm detect spitzer_example_image.fits --out sources.ecsv
    """
    from skyfm.errors import DataFormatError
    from skyfm.images.detect import (
        DetectConfig,
        detect_classical,
        measure,
        prepare,
        write_catalogue,
    )

    cfg = DetectConfig(nsigma=nsigma, fwhm=fwhm, aperture=aperture, box=box).check()
    if method not in ("classical", "learned"):
        raise DataFormatError(f"unknown method {method!r}", field="--method",
                              expected="classical or learned")
    if out.exists() and not overwrite:  # say so before the work, not after
        from skyfm.errors import OutputExistsError

        raise OutputExistsError("already exists", file=out, field="--out",
                                expected="a new file name, or --overwrite")
    prep = prepare(image, cfg)
    if method == "classical":
        xy = detect_classical(prep, cfg)
    else:
        from skyfm.images.learned import detect_learned
        from skyfm.models.source_detector import SourceDetector

        xy = detect_learned(prep, SourceDetector.from_pretrained(model))
    table = measure(prep, xy, cfg, method=method)
    write_catalogue(table, out, overwrite=overwrite)
    typer.echo(f"{len(table)} sources -> {out}")


def _register_train() -> None:
    from skyfm.cli.model_cmd import train_app

    @train_app.command("detector")
    def train_detector_cmd(
        out: Annotated[Path, typer.Option(help="output directory (config.json + "
                                               "model.safetensors)")],
        n_fields: Annotated[int, typer.Option(help="twin star fields to train on")] = 1200,
        epochs: Annotated[int, typer.Option(help="passes over the fields")] = 4,
        seed: Annotated[int, typer.Option()] = 0,
        overwrite: Annotated[bool, typer.Option(help="replace an existing output")] = False,
    ) -> None:
        """Train the learned source detector on twin star fields (no real data).

        The shipped skyfm-detect-twin weights are `skyfm train detector --out DIR` with every
        option at its default (CPU, 2 threads; bit for bit the same weights).

        Example: skyfm train detector --out runs/detector --n-fields 200 --epochs 1
        """
        from skyfm.outputs import run_directory
        from skyfm.train.detector import DetectorTrainConfig, train_detector

        cfg = DetectorTrainConfig(n_fields=n_fields, epochs=epochs, seed=seed)
        with run_directory(out, overwrite=overwrite, kind="detector", marker=False) as run:
            det, record = train_detector(cfg, log=typer.echo)
            det.save_pretrained(run.path, extra=record)
        typer.echo(f"detector -> {out}")

    @train_app.command("artefacts")
    def train_artefacts_cmd(
        data: Annotated[Path, typer.Option(help="the Galaxy Zoo 1 folder (images/ + "
                                                "labels.csv)")],
        out: Annotated[Path, typer.Option(help="output directory (config.json + "
                                               "model.safetensors)")],
        n_images: Annotated[int, typer.Option(help="real cutouts (each clean + painted)")] = 1200,
        epochs: Annotated[int, typer.Option(help="passes over the stamps")] = 6,
        seed: Annotated[int, typer.Option()] = 0,
        overwrite: Annotated[bool, typer.Option(help="replace an existing output")] = False,
    ) -> None:
        """Train the artefact head on real cutouts with twin artefacts painted on.

        The shipped skyfm-image-artefact weights are `skyfm train artefacts --data
        $SKYFM_DATA_DIR/images_galaxyzoo1_sdss --out DIR` with every other option at its
        default (CPU, 2 threads; bit for bit the same weights). The first 1000 images in
        file-name order are never used (they are the discovery measurement's).

        Example: skyfm train artefacts --data gz1 --out runs/artefacts --n-images 100
        """
        from skyfm.outputs import run_directory
        from skyfm.train.artefacts import ArtefactTrainConfig, train_artefact_head

        cfg = ArtefactTrainConfig(n_images=n_images, epochs=epochs, seed=seed)
        with run_directory(out, overwrite=overwrite, kind="artefact-head", marker=False) as run:
            head, record = train_artefact_head(data, cfg, log=typer.echo)
            head.save_pretrained(run.path, extra=record)
        typer.echo(f"artefact head -> {out}")


_register_train()
