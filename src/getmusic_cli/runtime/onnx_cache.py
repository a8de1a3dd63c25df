"""ONNX files for any model, exported once into the cache: ``--backend onnx`` needs no export step.

``<cache>/onnx/<key>/model.onnx`` (and ``model.int8.onnx`` for ``--int8``), where the key hashes the bundle's
weights and the network fields of its config, so a registry model, a bundle folder and an imported original
all get one export each, reused by later runs. A bundle that ships its own model.onnx uses that file. Every
export is checked against torch (verify_onnx) before it is moved into place; a half-written file is never seen.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from getmusic_cli.errors import GetMusicError

if TYPE_CHECKING:
    from getmusic_cli.hub.bundle import Bundle

FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
FORMAT = "getmusic-onnx/1"  # bump when the exported graph changes for the same weights


def bundle_key(bundle: Bundle, cache_dir: str | Path | None = None) -> str:
    """Hash of what the trunk's graph depends on: the weights file (memoised by size and mtime) and the network
    fields of the config; the debug model (no file) is keyed by its config alone (its weights are seeded)."""
    from getmusic_cli.hub.cache import HashMemo
    from getmusic_cli.runtime.onnx_export import NETWORK_FIELDS

    h = hashlib.sha256(FORMAT.encode())
    h.update(repr([(name, getattr(bundle.config, name)) for name in NETWORK_FIELDS]).encode())
    weights = bundle.weights_path
    if weights is None:
        h.update(f"seeded:{bundle.config.name}".encode())
    else:
        h.update(HashMemo(onnx_root(cache_dir), by_path=True).sha256(weights).encode())
    return h.hexdigest()[:20]


def onnx_root(cache_dir: str | Path | None = None) -> Path:
    from getmusic_cli.hub.cache import cache_root

    folder = cache_root(cache_dir) / "onnx"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def ensure_onnx(bundle: Bundle, cache_dir: str | Path | None = None, int8: bool = False) -> Path:
    """The ONNX file to run for BUNDLE: its own model.onnx, else the cached export (made now if missing)."""
    if bundle.onnx_path is not None and not int8:
        return bundle.onnx_path
    folder = onnx_root(cache_dir) / bundle_key(bundle, cache_dir)
    fp32 = bundle.onnx_path or folder / FP32_FILE
    if not fp32.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        _export(bundle, fp32)
    if not int8:
        return fp32
    path = folder / INT8_FILE
    if not path.is_file():
        _quantize(fp32, path)
    return path


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _export(bundle: Bundle, path: Path) -> None:
    from getmusic_cli.model.network import build_network
    from getmusic_cli.runtime.onnx_export import export_network, require_export_tools, verify_onnx

    require_export_tools()
    name = bundle.config.name or (bundle.root.name if bundle.root else "model")
    _say(f"Exporting the {name} model to ONNX (once; cached in {path.parent}) ...")
    start = time.perf_counter()
    network = build_network(bundle.config, bundle.weights_path).eval()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        export_network(network, tmp)
        cases = verify_onnx(network, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    worst = max(case.max_abs_diff for case in cases)
    _say(f"  done in {time.perf_counter() - start:.1f} s; matches torch (max |Δ log p| {worst:.1e})")


def _quantize(source: Path, path: Path) -> None:
    """ONNX Runtime dynamic int8 quantisation of the weights of every MatMul (activations stay float)."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        raise GetMusicError("int8 needs ONNX Runtime's quantization tools: install getmusic-cli[onnx]") from None
    _say(f"Quantising {source.name} to int8 (once; cached in {path.parent}) ...")
    start = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.onnx")
    root_logger = logging.getLogger()
    level = root_logger.level
    root_logger.setLevel(logging.ERROR)  # the quantiser logs a pre-processing hint on the root logger
    try:
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
        os.replace(tmp, path)
    except GetMusicError:
        raise
    except Exception as exc:  # noqa: BLE001 - the quantiser raises many types
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise GetMusicError(f"int8 quantisation of {source} failed: {first}") from None
    finally:
        root_logger.setLevel(level)
        tmp.unlink(missing_ok=True)
    _say(f"  done in {time.perf_counter() - start:.1f} s")
