"""``skyfm discover DIR --out OUT`` on generic-layout directories of every modality."""

from __future__ import annotations

import pandas as pd
import pytest
from discover_synth import make_images, make_lightcurves, make_outlier_lc, make_spectra, make_table
from typer.testing import CliRunner

layout = pytest.importorskip("skyfm.data.layout")


@pytest.fixture(scope="module")
def cli_app():
    from skyfm.cli import _register, app

    _register()
    return app


@pytest.mark.parametrize("name, maker, odd", [
    ("lightcurves", lambda: make_lightcurves(39) + [make_outlier_lc()], "OUTLIER"),
    ("spectra", make_spectra, "sp_odd"),
    ("images", make_images, "im_ring"),
    ("table", lambda: [make_table(60)], "row_odd"),
])
def test_discover_generic_dir(tmp_path, cli_app, name, maker, odd):
    data = layout.write_dataset(maker(), tmp_path / name)
    out = tmp_path / f"{name}_out"
    res = CliRunner().invoke(cli_app, ["discover", str(data), "--out", str(out), "--top", "3",
                                       "--n-noise", "1", "--n-members", "2"])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out / "candidates.csv", dtype={"object_id": str})
    n = len(layout.load_dataset(data)) if name != "table" else 60
    assert len(df) == n and sorted(df["rank"]) == list(range(1, n + 1))
    assert odd in set(df["object_id"].head(2))
    html = (out / "report" / "index.html").read_text()
    assert odd in html


def test_discover_missing_dir_is_a_clear_error(tmp_path, cli_app):
    res = CliRunner().invoke(cli_app, ["discover", str(tmp_path / "nope"), "--out",
                                       str(tmp_path / "o")])
    assert res.exit_code != 0
    assert "no such file" in str(res.exception) + res.output


def test_discover_help_lists_evaluate(cli_app):
    res = CliRunner().invoke(cli_app, ["discover", "--help"])
    assert res.exit_code == 0 and "evaluate" in res.output and "run" in res.output


def test_discover_with_a_named_embedder_saves_and_reloads_it(tmp_path, cli_app):
    """`--embedder skyfm-img-base` runs discovery on the trained image encoder (not the default
    baseline); the saved run names it and reloads it; an unknown name is a clear error."""
    from skyfm.discover.embed import load_embedder
    from skyfm.models import registry
    from skyfm.models.image_embedder import ImageEncoderEmbedder

    assert "skyfm-img-base" in registry.embedder_names("image")
    data = layout.write_dataset(make_images(30), tmp_path / "images")
    out = tmp_path / "out"
    args = ["discover", str(data), "--top", "3", "--n-noise", "0", "--n-members", "0"]
    res = CliRunner().invoke(cli_app, [*args, "--out", str(out), "--embedder", "skyfm-img-base"])
    assert res.exit_code == 0, res.output
    assert "skyfm-img-base" in res.output  # the run line names the trained model
    emb = load_embedder(out)
    assert isinstance(emb, ImageEncoderEmbedder)
    bad = CliRunner().invoke(cli_app, [*args, "--out", str(tmp_path / "o2"), "--embedder", "nope"])
    assert bad.exit_code != 0 and "no embedder 'nope'" in bad.output
    with pytest.raises(ValueError, match="not an embedder of the modality 'image'"):
        registry.make_embedder("image", "skyfm.models.spectrum:SpectrumPCABaseline")
