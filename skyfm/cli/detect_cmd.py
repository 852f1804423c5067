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
