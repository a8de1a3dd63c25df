"""Training checkpoints: one safetensors file, tensors plus a JSON ``state`` in its metadata.

No pickle anywhere: tensors go into safetensors, everything else (counters, optimizer hyper-parameters,
options) into JSON. The file is written next to its final name and moved over it with ``os.replace``, so a
checkpoint on disk is always complete, even if the process is killed while saving.

Complete is not the same as intact (a disk or a copy can damage bytes), so the metadata carries a SHA-256 of
every tensor, checked on load, and the checkpoint before the newest is kept as ``checkpoint.prev.safetensors``:
resume falls back to it when the newest is damaged.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from getmusic_cli.errors import GetMusicError

CHECKPOINT_NAME = "checkpoint.safetensors"
PREVIOUS_NAME = "checkpoint.prev.safetensors"
CHECKPOINT_FORMAT = "getmusic-train-checkpoint/1"


def previous_path(path: Path) -> Path:
    return Path(path).with_name(PREVIOUS_NAME)


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes of CPU tensors, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        value = tensors[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def unique_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop entries that alias an earlier tensor (tied weights); safetensors refuses shared storage."""
    seen: dict[tuple[int, int, tuple[int, ...]], str] = {}
    out = {}
    for key, value in state.items():
        ident = (value.untyped_storage().data_ptr(), value.storage_offset(), tuple(value.shape))
        if ident in seen:
            continue
        seen[ident] = key
        out[key] = value
    return out


def flatten_optimizer(state_dict: dict, prefix: str = "optim.") -> tuple[dict[str, torch.Tensor], dict]:
    """Optimizer state_dict -> (tensors, JSON-able rest)."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict] = {}
    for pid, entry in state_dict["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}{pid}.{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in state_dict["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict, prefix: str = "optim.") -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith(prefix):
            pid, key = name[len(prefix) :].split(".", 1)
            state.setdefault(int(pid), {})[key] = value
    for pid, entry in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(entry)
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_checkpoint(path: Path, tensors: dict[str, torch.Tensor], state: dict) -> None:
    """Write atomically: a temporary file in the same folder, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    meta = {"format": CHECKPOINT_FORMAT, "state": json.dumps(state), "sha256": tensors_digest(plain)}
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        save_file(plain, str(tmp), metadata=meta)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        if path.is_file():
            _keep_previous(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _keep_previous(path: Path) -> None:
    """The current checkpoint becomes the fallback (a hard link, so ``path`` itself never goes missing)."""
    prev = previous_path(path)
    link = prev.with_name(f".{prev.name}.tmp-{os.getpid()}")
    link.unlink(missing_ok=True)
    try:
        os.link(path, link)
    except OSError:
        import shutil

        shutil.copyfile(path, link)  # a file system without hard links
    os.replace(link, prev)


def load_latest_good(path: Path) -> tuple[dict[str, torch.Tensor], dict, str | None]:
    """(tensors, state, note): the checkpoint at ``path``, else the previous one when ``path`` is damaged.

    ``note`` says (one line) that the fallback was used; GetMusicError when neither is usable.
    """
    try:
        tensors, state = load_checkpoint(path)
        return tensors, state, None
    except GetMusicError as exc:
        prev = previous_path(path)
        if not prev.is_file():
            raise
        try:
            tensors, state = load_checkpoint(prev)
        except GetMusicError:
            raise exc from None
        return tensors, state, f"{exc}; resuming from the previous checkpoint (step {state.get('step', '?')})"


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors on CPU, state); a damaged or foreign file gives one clear GetMusicError."""
    path = Path(path)
    if not path.is_file():
        raise GetMusicError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            if meta.get("format") != CHECKPOINT_FORMAT:
                raise GetMusicError(f"{path} is not a getmusic training checkpoint")
            state = json.loads(meta["state"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
            expected = meta.get("sha256")  # absent in checkpoints written before checksums
        if expected is not None and tensors_digest(tensors) != expected:
            raise GetMusicError(f"checkpoint {path} is damaged (its tensors do not match their checksum)")
    except GetMusicError:
        raise
    except Exception as exc:  # safetensors raises several types for truncated/garbled files
        raise GetMusicError(f"checkpoint {path} is corrupted or incomplete ({type(exc).__name__}: {exc})") from None
    return tensors, state
