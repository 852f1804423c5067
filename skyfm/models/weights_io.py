"""Saving and loading a network's weights the transformers way, for every skyfm model:
a directory with ``config.json`` (the config dataclass, the architecture's name, training
record) and ``model.safetensors`` (plain tensors, never pickle). A shipped model is a
directory under ``skyfm/models/weights/NAME``; a user's is any directory.

Both files are written atomically (a temporary file renamed into place), so an interrupted
save never leaves a half-written model behind."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

WEIGHTS_DIR = Path(__file__).parent / "weights"

__all__ = ["WEIGHTS_DIR", "load_weights", "resolve_weights", "save_weights", "shipped_models",
           "weights_ref"]


def shipped_models() -> list[str]:
    """Names of the models shipped with skyfm."""
    return sorted(p.name for p in WEIGHTS_DIR.glob("*") if p.is_dir())


def weights_ref(name_or_dir) -> str:
    """How a saved run refers to a model: a shipped name as is, a directory as an absolute path
    (so the run still finds it from another working directory)."""
    name = str(name_or_dir)
    if (WEIGHTS_DIR / name / "config.json").is_file():
        return name
    p = Path(name)
    return str(p.resolve()) if p.is_dir() else name


def resolve_weights(name_or_dir, what: str, hint: str = "") -> Path:
    """The directory of a shipped model name or a user's directory; ``DataNotFoundError``
    naming ``what`` was looked for (and ``hint``: how to make one) otherwise."""
    from skyfm.errors import DataNotFoundError

    path = WEIGHTS_DIR / str(name_or_dir)
    if not (path / "config.json").is_file():
        path = Path(name_or_dir)
    if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
        raise DataNotFoundError(
            f"no {what} {str(name_or_dir)!r}: neither a shipped name "
            f"({', '.join(shipped_models()) or 'none shipped'}) nor a directory with "
            f"config.json and model.safetensors" + (f" ({hint})" if hint else ""))
    return path


def load_weights(name_or_dir, config_class: type, what: str, hint: str = ""):
    """(config, state dict) of a saved model; config keys the dataclass does not know (the
    architecture's name, the training record) are left out."""
    from safetensors.torch import load_file

    path = resolve_weights(name_or_dir, what, hint)
    raw = json.loads((path / "config.json").read_text())
    names = {f.name for f in fields(config_class)}
    config = config_class(**{k: v for k, v in raw.items() if k in names})
    return config, load_file(str(path / "model.safetensors"))


def save_weights(directory, config, module, *, architecture: str, extra: dict | None = None,
                 more: dict | None = None, trailing_newline: bool = True) -> Path:
    """Write ``config.json`` (the config, ``architecture``, ``more`` keys, ``extra`` as
    ``training``) and ``model.safetensors`` (``module``'s state) to ``directory``."""
    from safetensors.torch import save_file

    from skyfm.outputs import atomic_path, write_text

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cfg = asdict(config) | {"architecture": architecture} | dict(more or {})
    if extra:
        cfg["training"] = extra
    write_text(d / "config.json", json.dumps(cfg, indent=2) + ("\n" if trailing_newline else ""))
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    with atomic_path(d / "model.safetensors") as tmp:
        save_file(state, str(tmp))
    return d
