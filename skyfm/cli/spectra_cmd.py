"""Spectrum model commands: ``skyfm spectra pretrain`` (the ``skyfm-spec-base`` encoder),
``skyfm spectra stellar`` (the stellar-label network) and ``skyfm spectra fit`` (emulator +
MCMC posterior of an APOGEE spectrum)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from skyfm.cli import app

spectra_app = typer.Typer(help="Train and apply the spectrum models.\n\n"
                               "Example: skyfm spectra pretrain --out runs/spec --epochs 1",
                          no_args_is_help=True)
app.add_typer(spectra_app, name="spectra")


@spectra_app.command("pretrain")
def pretrain_cmd(
    out: Annotated[Path, typer.Option(help="output directory (config.json + model.safetensors)")],
    epochs: Annotated[int, typer.Option(help="passes over the corpus")] = 6,
    n_payne: Annotated[int, typer.Option(help="Payne-emulated APOGEE spectra in the corpus")
                       ] = 600,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Pretrain the spectrum encoder (masked reconstruction + contrastive views; no labels) on
    the real SpeX and DESI spectra and Payne-emulated APOGEE spectra of SKYFM_DATA_DIR.

    The shipped skyfm-spec-base weights are `skyfm spectra pretrain --out DIR` with every
    option at its default (CPU, 2 threads; bit for bit the same weights).

    Example: skyfm spectra pretrain --out runs/spec --epochs 1 --n-payne 50
    """
    from rich.console import Console

    from skyfm.train.spectra import SpecPretrainConfig, build_corpus, pretrain, save

    con = Console()
    cfg = SpecPretrainConfig(epochs=epochs, n_payne=n_payne, seed=seed)
    enc = pretrain(build_corpus(cfg, log=con.print), cfg, log=con.print)
    con.print(f"wrote {save(enc, out)}")


@spectra_app.command("stellar")
def stellar_cmd(
    out: Annotated[Path, typer.Option(help="output directory (config.json + model.safetensors)")],
    epochs: Annotated[int, typer.Option(help="passes over the training draw per member")] = 40,
    n_train: Annotated[int, typer.Option(help="emulator spectra to train on")] = 4000,
    members: Annotated[int, typer.Option(help="ensemble members")] = 3,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Train the stellar-label network (heteroscedastic MLP ensemble) on Payne-emulator
    spectra at S/N 20-200.

    Example: skyfm spectra stellar --out runs/stellar --epochs 2 --n-train 500
    """
    from rich.console import Console

    from skyfm.models.stellar_labels import StellarLabelConfig, StellarLabelNet

    con = Console()
    cfg = StellarLabelConfig(epochs=epochs, n_train=n_train, n_members=members, seed=seed)
    net = StellarLabelNet.train(cfg, log=con.print)
    con.print(f"wrote {net.save(out)}")


@spectra_app.command("fit")
def fit_cmd(
    path: Annotated[Path, typer.Argument(help="an APOGEE npz spectrum (apogee_combined_*.npz "
                                              "or apogee_visits_*.npz) or a folder of them")],
    steps: Annotated[int, typer.Option(help="MCMC steps per walker")] = 300,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Posterior of the emulator labels of APOGEE spectra (The Payne emulator x a per-chip
    linear continuum, emcee); prints one JSON line per spectrum.

    Example: skyfm spectra fit $SKYFM_DATA_DIR/spectra_payne_apogee_example --steps 300
    """
    from skyfm.data import read
    from skyfm.models.stellar_labels import posterior_fit

    for spec in read(path):
        res = posterior_fit(spec, n_steps=steps, burn=steps // 3, seed=seed)
        typer.echo(json.dumps({"object_id": spec.object_id, **res}))
