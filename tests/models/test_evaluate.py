import json

import numpy as np
import pytest
from typer.testing import CliRunner


@pytest.mark.slow
def test_evaluate_contract_json(tmp_path, sim_set):
    from skyfm.cli import _register, app
    from skyfm.data.layout import write_dataset

    _register()
    lcs = list(sim_set)
    write_dataset(lcs[0::2], tmp_path / "train")
    write_dataset(lcs[1::2], tmp_path / "test")
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["evaluate", "--train", str(tmp_path / "train"), "--test",
                                   str(tmp_path / "test"), "--labels-per-class", "3,all",
                                   "--hybrid-cv", "--draws", "1", "--json", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["n_train"] == 24 and data["n_test"] == 24
    rows = data["rows"]
    assert {(r["method"], r["labels_per_class"]) for r in rows} == {
        (m, k) for m in ("skyfm-hybrid-cv", "skyfm-hybrid", "skyfm", "baseline")
        for k in (3, "all")}
    assert all(w in (0.0, 0.25, 0.5, 0.75, 1.0) for r in rows if r["method"] == "skyfm-hybrid-cv"
               for w in r["weights"])
    classes = {str(lc.label) for lc in lcs}
    for r in rows:
        assert 0 <= r["macro_f1"] <= 1 and 0 <= r["accuracy"] <= 1 and r["macro_f1_std"] >= 0
        assert set(r["per_class_recall"]) == classes
    assert np.mean([r["macro_f1"] for r in rows]) > 0.3


def test_evaluate_with_finetune_rows(sim_set):
    from skyfm.train.evaluate import evaluate, rich_table

    lcs = list(sim_set)
    res = evaluate(lcs[0::2], lcs[1::2], labels_per_class=[3, "all"], n_draws=2, finetune=True,
                   finetune_epochs=1, finetune_members=2)
    rows = {(r["method"], r["labels_per_class"]): r for r in res["rows"]}
    assert {m for m, _ in rows} == {"skyfm-hybrid", "skyfm", "baseline", "skyfm-finetune"}
    assert rows[("skyfm-finetune", 3)]["n_draws"] == 2
    assert 0 <= rows[("skyfm-finetune", 3)]["macro_f1"] <= 1
    # all labels: one labelled set, but the stochastic methods run once per seed
    assert all(r["n_draws"] == 2 for (m, k), r in rows.items() if k == "all")
    assert "end to end" in res["skyfm_finetune_head"]
    assert "mean of 2 fits" in res["skyfm_finetune_head"]
    assert rich_table(res).row_count == 8
