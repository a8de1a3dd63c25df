"""Model bundles: a folder with config.json, the vocabulary file and model.safetensors (optional model.onnx).

No torch at import time: the CLI lists and inspects bundles without it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from getmusic_cli.errors import GetMusicError
from getmusic_cli.model.config import ModelConfig, debug_config

if TYPE_CHECKING:
    import torch

    from getmusic_cli.score.vocab import Vocabulary

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
ONNX_FILE = "model.onnx"


@dataclass
class Bundle:
    config: ModelConfig
    vocab: Vocabulary
    root: Path | None  # None: no files, the network gets a seeded random init (debug model)

    @property
    def weights_path(self) -> Path | None:
        return None if self.root is None else self.root / WEIGHTS_FILE

    @property
    def onnx_path(self) -> Path | None:
        if self.root is None:
            return None
        path = self.root / ONNX_FILE
        return path if path.is_file() else None


def load_bundle(path: str | Path) -> Bundle:
    from getmusic_cli.score.vocab import Vocabulary

    root = Path(path)
    if not root.is_dir():
        raise GetMusicError(f"model bundle {root} is not a folder")
    if not (root / CONFIG_FILE).is_file():
        raise GetMusicError(f"model bundle {root} has no {CONFIG_FILE}")
    config = ModelConfig.load(root / CONFIG_FILE)
    vocab_path = root / config.vocab_file
    if not vocab_path.is_file():
        raise GetMusicError(f"model bundle {root} has no vocabulary file {config.vocab_file}")
    if not (root / WEIGHTS_FILE).is_file():
        raise GetMusicError(f"model bundle {root} has no {WEIGHTS_FILE}")
    vocab = Vocabulary.load(vocab_path)
    if vocab.size != config.vocab_size:
        raise GetMusicError(
            f"model bundle {root}: {config.vocab_file} gives {vocab.size} ids but config.json says vocab_size "
            f"{config.vocab_size}"
        )
    return Bundle(config, vocab, root)


def save_bundle(
    path: str | Path,
    config: ModelConfig,
    vocab: Vocabulary,
    state_dict: dict[str, torch.Tensor],
    *,
    overwrite: bool = False,
) -> Path:
    """Write the bundle into a temporary sibling folder, then move it in: never a half-written bundle."""
    from safetensors.torch import save_file

    target = Path(path)
    if vocab.size != config.vocab_size:
        raise GetMusicError(f"vocabulary has {vocab.size} ids but the config says vocab_size {config.vocab_size}")
    tmp = stage_folder(target, overwrite)
    try:
        config.save(tmp / CONFIG_FILE)
        vocab.save(tmp / config.vocab_file)
        # safetensors wants contiguous CPU tensors that share no storage.
        tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
        save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": "getmusic-bundle/1"})
        install_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def stage_folder(target: Path, overwrite: bool, hint: str = "") -> Path:
    """A fresh staging folder beside ``target`` to build a bundle in; refuses to replace a non-empty one.

    Finish with ``install_folder(stage, target)``; remove the stage on failure.
    """
    if target.exists() and not target.is_dir():
        raise GetMusicError(f"{target} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise GetMusicError(f"{target} already exists and is not empty{hint}")
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))


def install_folder(stage: Path, target: Path) -> None:
    """Put a finished staging folder (made with mkdtemp beside ``target``) in place of ``target``.

    The folder gets the mode any new folder would (mkdtemp makes it 0700); an existing ``target`` is swapped
    out by renames, so a reader never sees a half-written bundle.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(stage, 0o777 & ~umask)
    if target.is_dir():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(stage, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(stage, target)


def debug_bundle() -> Bundle:
    """The tiny random-init model over the single-pitch vocabulary: deterministic, no files."""
    from getmusic_cli.score.vocab import Vocabulary

    vocab = Vocabulary.basic()
    return Bundle(debug_config(vocab_size=vocab.size), vocab, None)
