"""Light-curve model commands: ``skyfm train ...``, ``skyfm evaluate``, ``skyfm export``."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from skyfm.cli import app
from skyfm.cli.read_options import DuplicatesOpt

train_app = typer.Typer(help="Train models and make evaluation splits.\n\n"
                             "Example: skyfm train lightcurves --out runs/lc --epochs 2",
                        no_args_is_help=True)
app.add_typer(train_app, name="train")


@train_app.command("lightcurves")
def train_lightcurves(
    out: Annotated[Path, typer.Option(help="output directory (config.json + model.safetensors)")],
    epochs: Annotated[int, typer.Option(help="passes over the corpus")] = 30,
    device: Annotated[str, typer.Option(help="cpu or cuda")] = "cpu",
    sim_per_class: Annotated[int, typer.Option(help="simulated curves per class and survey")] = 300,
    batch_size: Annotated[int, typer.Option()] = 256,
    seed: Annotated[int, typer.Option()] = 0,
    corpus: Annotated[Path | None, typer.Option(
        help="a prepared corpus (.npz from `skyfm train corpus`) instead of building one")] = None,
) -> None:
    """Pretrain the light-curve encoder (masked reconstruction + contrastive views + twin classes).

    The shipped skyfm-lc-base weights come from `skyfm train corpus --out C.npz` and then
    `skyfm train lightcurves --corpus C.npz --out DIR` with every other option at its default
    (30 epochs, seed 0, on the CPU: about 28 min on 2 cores, bit for bit the same weights).

    Example: skyfm train lightcurves --out runs/lc --epochs 2 --sim-per-class 20
    """
    from rich.console import Console

    from skyfm.cli.progress import progress_task
    from skyfm.train.lightcurves import (
        PretrainConfig,
        build_corpus,
        load_corpus,
        prepare_corpus,
        pretrain,
    )

    con = Console()
    cfg = PretrainConfig(epochs=epochs, batch_size=batch_size, seed=seed,
                         sim_per_class=sim_per_class)
    if corpus is not None:
        data = load_corpus(corpus)
    else:
        curves = build_corpus(cfg, log=con.print)
        data = prepare_corpus(curves, log=con.print)
    steps = epochs * max(1, len(data[0]) // batch_size)
    with progress_task("pretraining", steps) as advance:
        enc, summary = pretrain(cfg, device=device, corpus=data, log=con.print, progress=advance)
    summary["command"] = shlex.join(["skyfm", *sys.argv[1:]])
    enc.save_pretrained(out, extra=summary)
    con.print(f"saved to {out} (wall time {summary['wall_time_s']} s on {device})")


@train_app.command("corpus")
def train_corpus(
    out: Annotated[Path, typer.Option(help="output .npz")],
    sim_per_class: Annotated[int, typer.Option()] = 300,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Build and prepare the pretraining corpus (periodograms included) into one .npz file,
    e.g. to train on a GPU machine that has no data or light-curve package.

    Example: skyfm train corpus --out runs/data/corpus.npz
    """
    from rich.console import Console

    from skyfm.train.lightcurves import (
        PretrainConfig,
        build_corpus,
        corpus_digest,
        load_corpus,
        prepare_corpus,
        save_corpus,
    )

    con = Console()
    cfg = PretrainConfig(sim_per_class=sim_per_class, seed=seed)
    prepared, labels = prepare_corpus(build_corpus(cfg, log=con.print), n_jobs=2, log=con.print)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_corpus(out, prepared, labels)
    # the digest of the file as training will load it (values stored as float16)
    con.print(f"{len(prepared)} curves -> {out} (content digest {corpus_digest(*load_corpus(out))})")


@train_app.command("images")
def train_images(
    data: Annotated[list[Path], typer.Option(
        help="images to pretrain on (repeat for several sources): generic-layout directories, "
             "image folders, ZTF alert files or folders (all three planes); labels unused")],
    out: Annotated[Path, typer.Option(help="output directory (config.json + model.safetensors)")],
    twins: Annotated[int, typer.Option(
        help="digital-twin galaxies per class (skyfm.sim.galaxies) added to the images")] = 0,
    twin_seed: Annotated[int, typer.Option(help="seed of the twin galaxies")] = 0,
    stretch: Annotated[str, typer.Option(
        help="stamp stretch: noise (per-band robust noise, the shipped weights) or signal "
             "(sky from the stamp's ring, scale from its central flux)")] = "noise",
    epochs: Annotated[int, typer.Option(help="passes over the images")] = 25,
    batch_size: Annotated[int, typer.Option()] = 128,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Pretrain the image encoder skyfm-img-base (contrastive, rotations, no mirror flips).

    The training split only: make it with `skyfm train split galaxyzoo --out runs/gz_split`
    and pass `--data runs/gz_split/morphology/train` (the test part is never seen); bit for bit
    the same weights on the CPU with 2 threads. See README "Images" for the command that made
    the shipped weights.

    Example: skyfm train images --data runs/gz_split/morphology/train
    --data $SKYFM_DATA_DIR/ztf_alerts_sample --twins 200 --stretch signal --out runs/img
    --epochs 1
    """
    from rich.console import Console

    from skyfm.cli.progress import progress_task
    from skyfm.models.image_encoder import STRETCHES, ImageConfig
    from skyfm.train.images import ImagePretrainConfig, pretrain, pretraining_images

    con = Console()
    if stretch not in STRETCHES:
        raise typer.BadParameter(f"--stretch {stretch!r}: choose from {', '.join(STRETCHES)}")
    cfg = ImagePretrainConfig(epochs=epochs, batch_size=batch_size, seed=seed)
    imgs, sources = pretraining_images(data, twins, twin_seed)
    for src in sources["sources"]:
        con.print(f"pretraining images: {src}")
    steps = epochs * max(1, len(imgs) // batch_size)
    with progress_task("pretraining", steps) as advance:
        enc, summary = pretrain(imgs, cfg, ImageConfig(stretch=stretch), log=con.print,
                                progress=advance)
    summary |= sources
    summary["command"] = shlex.join(["skyfm", *sys.argv[1:]])
    enc.save_pretrained(out, extra=summary)
    con.print(f"saved to {out} (wall time {summary['wall_time_s']} s)")


@train_app.command("split")
def train_split(
    name: Annotated[str, typer.Argument(help="eros, plasticc or galaxyzoo")],
    out: Annotated[Path, typer.Option(help="writes OUT/train and OUT/test (generic layout)")],
    test_fraction: Annotated[float, typer.Option()] = 0.3,
    seed: Annotated[int, typer.Option()] = 0,
    max_per_class: Annotated[int | None, typer.Option(
        help="subset: at most this many objects per class")] = None,
    min_quality: Annotated[float | None, typer.Option(
        help="subset: objects whose quality flag is at least this (EROS: 0 worst .. 3 best)")]
    = None,
) -> None:
    """Write a stratified train/test split (by object, fixed seed) of a shared set.

    galaxyzoo writes two label sets of one split of the Galaxy Zoo 1 images:
    OUT/morphology/{train,test} (elliptical, spiral, edge_on, merger, dont_know) and
    OUT/chirality/{train,test} (the spirals: clockwise_spiral, anticlockwise_spiral).

    Example: skyfm train split eros --out runs/eros_split
    """
    from skyfm.train.splits import make_galaxyzoo_split, make_split

    if name == "galaxyzoo":
        if max_per_class is not None or min_quality is not None:
            raise typer.BadParameter("galaxyzoo takes neither --max-per-class nor "
                                     "--min-quality")
        for tr, te in make_galaxyzoo_split(out, test_fraction=test_fraction,
                                           seed=seed).values():
            typer.echo(f"wrote {tr} and {te}")
        return

    tr, te = make_split(name, out, test_fraction, seed, max_per_class=max_per_class,
                        min_quality=min_quality)
    typer.echo(f"wrote {tr} and {te}")


@app.command("evaluate")
def evaluate_cmd(
    train: Annotated[Path, typer.Option(help="generic-layout directory with labels.csv")],
    test: Annotated[Path, typer.Option(help="generic-layout directory with labels.csv")],
    labels_per_class: Annotated[str, typer.Option(
        help="comma-separated, 'all' allowed")] = "20,100,all",
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="write the results as JSON here")] = None,
    draws: Annotated[int, typer.Option(help="random draws of each labelled subset")] = 3,
    seed: Annotated[int, typer.Option(
        help="seed of the first draw (draw d uses seed + d; 'all' uses seed)")] = 0,
    model: Annotated[str | None, typer.Option(
        help="shipped model name or directory (default: the modality's, skyfm-lc-base for "
             "light curves)")] = None,
    finetune: Annotated[bool, typer.Option(
        help="also fine-tune the encoder end to end (rows 'skyfm-finetune'; slower); images: "
             "also the same CNN from scratch (rows 'scratch-cnn')")] = False,
    finetune_epochs: Annotated[int, typer.Option(
        help="epochs of fine-tuning (15: chosen on a validation split inside EROS train)")] = 15,
    finetune_min_steps: Annotated[int, typer.Option(
        help="images: fewest optimiser steps of each CNN (small labelled sets)")] = 150,
    finetune_members: Annotated[int, typer.Option(
        help="fits averaged in the fine-tuned ensemble (each with its own seed)")] = 4,
    prior_shift: Annotated[bool, typer.Option(
        help="estimate the class mix from the train curves outside each labelled subset "
             "(labels unused, EM), for every method; off: the labelled subset's mix")] = False,
    hybrid_cv: Annotated[bool, typer.Option(
        help="also the hybrid with its weight chosen by 3-fold cross-validation on each "
             "labelled subset (rows 'skyfm-hybrid-cv'; slower)")] = False,
    duplicates: DuplicatesOpt = None,
    task: Annotated[str, typer.Option(
        help="catalogues, spectra, images: auto (numeric labels -> regression), "
             "classification or regression")] = "auto",
    redshift: Annotated[bool, typer.Option(
        help="regression: sigma_NMAD and outliers of (pred - z) / (1 + z)")] = False,
    members: Annotated[int, typer.Option(
        help="catalogues, spectra, images: MLPs in skyfm's deep ensemble", min=1)] = 5,
    embedder: Annotated[str | None, typer.Option(
        help="catalogues, spectra, images: another embedder of the modality instead of the "
             "registered default: a name (skyfm-img-base, skyfm-spec-base, skyfm-spec-hybrid) "
             "or module:Class")] = None,
    mirror: Annotated[str, typer.Option(
        help="images with --finetune: what a mirror flip does to the labels: none (no flips), "
             "same (labels unchanged) or A:B pairs swapped, e.g. "
             "clockwise_spiral:anticlockwise_spiral")] = "none",
) -> None:
    """skyfm embeddings + linear probe vs classical features + boosted trees, side by side.

    Light curves as before; catalogue rows, spectra and images (any registered modality,
    detected from the directory) are embedded by the registry's embedder: skyfm's model on the
    embedding beside boosted trees on the embedder's features. Numeric labels make it a
    regression: rows with mae, rmse, sigma_nmad, outlier_fraction, coverage_68, coverage_95
    (--labels-per-class then counts labelled objects).

    Example: skyfm evaluate --train runs/eros_split/train --test runs/eros_split/test --json r.json
    """
    from rich.console import Console

    from skyfm.cli.progress import make_progress
    from skyfm.data.observations import LightCurve
    from skyfm.models import registry
    from skyfm.train.evaluate import evaluate, parse_settings, rich_table
    from skyfm.train.evaluate_embedded import (
        evaluate_embedded,
        load_observations,
        rich_table_regression,
    )

    kw = {"duplicates": duplicates} if duplicates is not None else {}
    tr_all, te_all = load_observations(train, **kw), load_observations(test, **kw)
    if registry.modality_of(tr_all) != "lightcurve":
        result = evaluate_embedded(tr_all, te_all, parse_settings(labels_per_class),
                                   n_draws=draws, seed=seed, task=task, redshift=redshift,
                                   n_members=members, finetune=finetune, mirror=mirror,
                                   encoder=model, finetune_epochs=finetune_epochs,
                                   finetune_min_steps=finetune_min_steps, embedder=embedder)
        Console().print(rich_table_regression(result) if result["task"] == "regression"
                        else rich_table(result))
        if json_out:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(result, indent=2))
        return
    tr = [o for o in tr_all if isinstance(o, LightCurve)]
    te = [o for o in te_all if isinstance(o, LightCurve)]
    with make_progress() as prog:
        def bar(desc, total):
            task = prog.add_task(desc, total=total)
            return lambda k=1: prog.advance(task, k)

        result = evaluate(tr, te, parse_settings(labels_per_class), n_draws=draws, seed=seed,
                          encoder=model or "skyfm-lc-base",
                          progress=bar, finetune=finetune,
                          finetune_epochs=finetune_epochs, finetune_members=finetune_members,
                          prior_shift=prior_shift, hybrid_cv=hybrid_cv)
    Console().print(rich_table(result))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2))


@app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option(help="output .onnx file")] = Path("skyfm-lc-base.onnx"),
    model: Annotated[str, typer.Option(help="shipped model name or directory")] = "skyfm-lc-base",
    check: Annotated[bool, typer.Option(
        help="check onnxruntime matches torch on sample curves")] = True,
) -> None:
    """Export the light-curve encoder's embedding graph to ONNX (and check equal outputs).

    Example: skyfm export --out skyfm-lc-base.onnx
    """
    import numpy as np

    from skyfm.errors import require

    require("onnx", "onnx")
    require("onnxruntime", "onnx")
    from skyfm.models.export import OnnxLightCurveEncoder, export_onnx
    from skyfm.models.lightcurve import LightCurveEncoder

    enc = LightCurveEncoder.from_pretrained(model)
    export_onnx(enc, out)
    typer.echo(f"wrote {out}")
    if check:
        from skyfm.data.observations import LightCurve

        rng = np.random.default_rng(0)
        lcs = []
        for i in range(16):
            n = int(rng.integers(10, 300))
            t = np.sort(rng.uniform(0, 500, n))
            lcs.append(LightCurve(t, 15 + np.sin(t / (0.5 + i)) + rng.normal(0, .05, n),
                                  np.full(n, .05), rng.choice(["g", "r"], n)))
        a = enc.embed(lcs)
        b = OnnxLightCurveEncoder(out, enc.config).embed(lcs)
        err = float(np.abs(a - b).max())
        typer.echo(f"max |torch - onnx| = {err:.2e}")
        if err > 1e-3:
            raise typer.Exit(1)
