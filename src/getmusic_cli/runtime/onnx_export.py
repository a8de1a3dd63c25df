"""Export a bundle's denoiser trunk to ONNX, check it against torch, and report size and latency.

Only the trunk (tokens, t, condition -> features) goes into ``model.onnx``; the tied output head stays with the
Denoiser protocol (runtime/base.py), so the sampler can still apply it to the few ids a row allows.

The graph is traced by the dynamo exporter (``torch.onnx.export(dynamo=True)``): the legacy one bakes the
sequence length into Reshape nodes. The network's Python branch "band mask only when L > train_length" would be
frozen by the trace at the example length, so ``ExportTrunk`` rebuilds the same forward with that choice made
inside the graph. ``verify_onnx`` compares full log-probabilities of both back ends at lengths on both sides of
``train_length``: any drift between the two forwards fails the export.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from getmusic_cli.errors import GetMusicError
from getmusic_cli.hub.bundle import install_folder, stage_folder
from getmusic_cli.model.config import ModelConfig
from getmusic_cli.model.network import BAND_MASK_VALUE, GETDiffNetwork, rotary_cos_sin, timestep_sinusoid

if TYPE_CHECKING:
    from getmusic_cli.hub.bundle import Bundle

ONNX_FILE = "model.onnx"
OPSET = 20  # pinned so a torch upgrade does not silently raise the onnxruntime the file needs
INPUT_NAMES = ("tokens", "t", "condition")
OUTPUT_NAME = "features"
TOLERANCE = 1e-3  # max abs difference of full log-probabilities, torch vs ONNX Runtime
META_FINGERPRINT = "getmusic.fingerprint"
META_CONFIG = "getmusic.config_name"
INSTALL_HINT = "install getmusic-cli[onnx] (CPU) or getmusic-cli[onnx-gpu]"


# ----- the traced module -----


def input_names(config: ModelConfig) -> list[str]:
    """The graph's inputs: a model with bar positions takes each column's place in its bar too."""
    return list(INPUT_NAMES) + (["bar_position"] if config.bar_positions else [])


class ExportTrunk(nn.Module):
    """GETDiffNetwork.forward in eval mode, with the band-mask choice computed in the graph.

    Keep in step with GETDiffNetwork.forward; verify_onnx catches any difference.
    """

    def __init__(self, network: GETDiffNetwork):
        super().__init__()
        self.network = network
        cfg = network.config
        # The whole table becomes a constant of the graph, sliced to L: the same float32 values as the network's.
        cos, sin = rotary_cos_sin(cfg.max_length, cfg.hidden_size // cfg.n_heads, cfg.rope_base, torch.device("cpu"))
        self.register_buffer("rotary_cos", cos, persistent=False)
        self.register_buffer("rotary_sin", sin, persistent=False)

    def forward(self, tokens, t, condition, bar_position=None) -> torch.Tensor:
        net, cfg = self.network, self.network.config
        b, r, l = tokens.shape
        time_emb = net.time_mlp(timestep_sinusoid(t, cfg.time_embed_dim))
        cells = net.token_embedding(tokens) + net.condition_embedding(condition.long()) + time_emb[:, None, None, :]
        x = cells.permute(0, 2, 1, 3).reshape(b, l, cfg.n_rows * cfg.embed_dim)
        x = net.input_project(net.embed_norm(x))
        if cfg.bar_positions:
            x = x + net.bar_position_embedding(bar_position.clamp(0, cfg.bar_positions - 1))
        cos, sin = self.rotary_cos[:l], self.rotary_sin[:l]
        mask = _band_mask_in_graph(l, cfg, x.device)
        for layer in net.layers:
            x = layer(x, cos, sin, mask)
        x = net.output_project(x)
        return x.view(b, l, cfg.n_rows, cfg.embed_dim).permute(0, 2, 1, 3)


def _band_mask_in_graph(length, config: ModelConfig, device: torch.device) -> torch.Tensor | None:
    """The network's band mask when L > train_length, an all-zero mask otherwise, decided by tensor ops.

    A Python ``if`` on the symbolic length would be resolved once at trace time; ``pos[-1] >= train_length``
    is a tensor and stays in the graph.
    """
    if config.band_width <= 0:
        return None
    pos = torch.arange(length, device=device)
    outside = (pos[:, None] - pos[None, :]).abs() > config.band_width
    long_window = pos[-1] >= config.train_length  # L > train_length
    zero = torch.zeros((), device=device)
    return torch.where(outside & long_window, zero + BAND_MASK_VALUE, zero)


# ----- export -----


def require_export_tools() -> None:
    missing = [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:
        raise GetMusicError(f"ONNX export needs {' and '.join(missing)}: {INSTALL_HINT}")


def example_inputs(config: ModelConfig, batch: int, length: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random (tokens, t, condition) with real ids, [MASK] and [EMPTY] cells, and both condition flags; plus
    bar positions (3/4 bars) for a model with ``bar_positions``."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, config.n_real_tokens, (batch, config.n_rows, length), generator=g)
    tokens[torch.rand(tokens.shape, generator=g) < 0.3] = config.mask_id
    tokens[:, -3] = config.empty_id  # a whole absent row
    condition = (torch.rand(tokens.shape, generator=g) < 0.5) & (tokens != config.mask_id)
    t = torch.randint(0, config.num_timesteps, (batch,), generator=g)
    if config.bar_positions:
        return tokens, t, condition, (torch.arange(length) % 12).expand(batch, length).contiguous()
    return tokens, t, condition


# The config fields the trunk's graph depends on (sampling and representation settings may change freely).
NETWORK_FIELDS = (
    "vocab_size",
    "n_rows",
    "embed_dim",
    "hidden_size",
    "n_layers",
    "n_heads",
    "ffn_size",
    "time_embed_dim",
    "max_length",
    "train_length",
    "band_width",
    "layer_norm_eps",
    "rope_base",
    "bar_positions",
)


def head_fingerprint(head_weight: torch.Tensor, head_bias: torch.Tensor, config: ModelConfig) -> str:
    """Ties a model.onnx to the weights its head comes from: the network's shape plus the tied head tensors."""
    h = hashlib.sha256()
    h.update(repr([(name, getattr(config, name)) for name in NETWORK_FIELDS]).encode())
    for tensor in (head_weight, head_bias):
        h.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:32]


@contextlib.contextmanager
def _quiet_exporter():
    """The dynamo exporter logs and warns a lot (missing torchvision, deprecations): keep the CLI clean."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def export_network(network: GETDiffNetwork, path: str | Path) -> Path:
    """Write NETWORK's trunk to PATH as one ONNX file with dynamic batch and length axes."""
    require_export_tools()
    config = network.config
    path = Path(path)
    network = network.to("cpu").eval()
    trunk = ExportTrunk(network).eval()
    # Traced at a length above train_length so both sides of the band choice are exercised at trace time.
    length = min(config.max_length, max(config.train_length + 8, 16))
    args = example_inputs(config, batch=2, length=length)
    batch_dim = torch.export.Dim("batch", min=1, max=4096)
    length_dim = torch.export.Dim("length", min=1, max=config.max_length)
    shapes = {"tokens": {0: batch_dim, 2: length_dim}, "t": {0: batch_dim}, "condition": {0: batch_dim, 2: length_dim}}
    if config.bar_positions:
        shapes["bar_position"] = {0: batch_dim, 1: length_dim}
    try:
        with _quiet_exporter(), torch.no_grad():
            program = torch.onnx.export(
                trunk,
                args,
                dynamo=True,
                external_data=False,
                opset_version=OPSET,
                verbose=False,
                input_names=input_names(config),
                output_names=[OUTPUT_NAME],
                dynamic_shapes=shapes,
            )
    except GetMusicError:
        raise
    except Exception as exc:  # noqa: BLE001 - the exporter raises many types; the user needs one line
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise GetMusicError(
            f"ONNX export failed ({type(exc).__name__}): {first} "
            "(it needs torch >= 2.6 and an onnxscript as new as torch)"
        ) from None
    program.model.metadata_props[META_FINGERPRINT] = head_fingerprint(
        network.token_embedding.weight, network.head_bias, config
    )
    program.model.metadata_props[META_CONFIG] = config.name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with _quiet_exporter():
            program.save(str(tmp), external_data=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# ----- verification -----


@dataclass
class ParityCase:
    batch: int
    length: int
    max_abs_diff: float  # full log-probabilities over every real token


def parity_shapes(config: ModelConfig) -> list[tuple[int, int]]:
    """(B, L) pairs: a short odd length, train_length, and one past it (band mask path) with B=2."""
    shapes = [(2, min(37, config.max_length)), (1, min(config.train_length, config.max_length))]
    if config.band_width > 0 and config.train_length < config.max_length:
        shapes.append((2, min(config.max_length, config.train_length + config.band_width // 2 + 17)))
    return shapes


def _max_log_prob_diff(
    a: torch.Tensor, b: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, chunk: int = 2048
) -> float:
    """Max |log_softmax(a W^T + b) - log_softmax(b W^T + b)| without holding all cells' logits at once."""
    a = a.reshape(-1, a.shape[-1]).float()
    b = b.reshape(-1, b.shape[-1]).float()
    worst = 0.0
    for i in range(0, a.shape[0], chunk):
        la = torch.log_softmax(a[i : i + chunk] @ weight.T + bias, dim=-1)
        lb = torch.log_softmax(b[i : i + chunk] @ weight.T + bias, dim=-1)
        worst = max(worst, (la - lb).abs().max().item())
    return worst


def verify_onnx(
    network: GETDiffNetwork,
    onnx_path: str | Path,
    shapes: list[tuple[int, int]] | None = None,
    tolerance: float = TOLERANCE,
    seed: int = 0,
) -> list[ParityCase]:
    """Run torch and ONNX Runtime (CPU) on the same random inputs; GetMusicError when they disagree."""
    from getmusic_cli.runtime.onnx_backend import cpu_session

    config = network.config
    network = network.to("cpu").eval()
    session = cpu_session(onnx_path)
    n = config.n_real_tokens
    weight, bias = network.token_embedding.weight.detach()[:n].float(), network.head_bias.detach()[:n].float()
    cases = []
    for i, (batch, length) in enumerate(shapes or parity_shapes(config)):
        args = example_inputs(config, batch, length, seed=seed + i)
        with torch.inference_mode():
            expected = network(*args)
        got = session.run([OUTPUT_NAME], _feeds(config, args))[0]
        got = torch.from_numpy(got)
        if got.shape != expected.shape:
            raise GetMusicError(
                f"ONNX output has shape {tuple(got.shape)}, torch {tuple(expected.shape)} (B={batch}, L={length})"
            )
        with torch.inference_mode():
            diff = _max_log_prob_diff(expected, got, weight, bias)
        cases.append(ParityCase(batch, length, diff))
        if not diff <= tolerance:  # also catches NaN
            raise GetMusicError(
                "ONNX and torch disagree: max log-probability difference "
                f"{diff:.2e} > {tolerance:g} at B={batch}, L={length}"
            )
    return cases


def _feeds(config: ModelConfig, args) -> dict:
    return {name: a.numpy() for name, a in zip(input_names(config), args)}


# ----- latency -----


def trunk_latency(network: GETDiffNetwork, onnx_path: str | Path, length: int, repeats: int = 5) -> tuple[float, float]:
    """(torch CPU, ONNX Runtime CPU) median seconds of one trunk call at B=1, L=LENGTH, same thread count.

    The two alternate call by call so that load from other processes hits both alike.
    """
    from getmusic_cli.runtime.onnx_backend import cpu_session

    session = cpu_session(onnx_path)
    args = example_inputs(network.config, 1, length, seed=99)
    feeds = _feeds(network.config, args)

    def run_torch():
        with torch.inference_mode():
            network(*args)

    def run_ort():
        session.run([OUTPUT_NAME], feeds)

    times: dict = {run_torch: [], run_ort: []}
    for fn in times:
        fn()  # warm-up
    for _ in range(repeats):
        for fn, spent in times.items():
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
    torch_s, ort_s = (sorted(spent)[len(spent) // 2] for spent in times.values())
    return torch_s, ort_s


# ----- bundle-level export (the CLI command) -----


@dataclass
class ExportReport:
    bundle_dir: Path
    onnx_path: Path
    onnx_bytes: int
    parameters: int
    cases: list[ParityCase] = field(default_factory=list)
    latency_length: int = 0
    torch_seconds: float = 0.0
    ort_seconds: float = 0.0
    export_seconds: float = 0.0


def export_bundle(
    spec: str | None,
    output: str | Path,
    *,
    force: bool = False,
    cache_dir: str | Path | None = None,
    latency: bool = True,
    shapes: list[tuple[int, int]] | None = None,
    threads: int | None = None,
) -> ExportReport:
    """`getmusic export onnx SPEC -o OUTPUT`: a bundle at OUTPUT with model.onnx, verified against torch.

    OUTPUT equal to SPEC's own bundle folder adds model.onnx there; any other OUTPUT gets a full copy of the
    bundle (the debug model gets its seeded weights written as model.safetensors). Nothing is replaced without
    FORCE, and nothing is half-written: the work happens in a temporary sibling folder or file. SHAPES are the
    (B, L) pairs of the parity check (default: parity_shapes).
    """
    from getmusic_cli.hub.resolve import resolve_model
    from getmusic_cli.runtime.threads import apply_torch_threads, choose_threads, model_parameters

    require_export_tools()
    _require_onnxruntime()
    bundle = resolve_model(spec, cache_dir)
    apply_torch_threads(choose_threads(threads, model_parameters(bundle.config)))
    out = Path(output).expanduser()
    in_place = bundle.root is not None and out.exists() and out.resolve() == bundle.root.resolve()
    if in_place:
        if (out / ONNX_FILE).exists() and not force:
            raise GetMusicError(f"{out / ONNX_FILE} already exists (use --force to replace it)")
        return _export_into(out, out, latency, shapes)
    stage = stage_folder(out, force, hint=" (use --force to replace it)")
    try:
        _copy_bundle(bundle, stage)
        report = _export_into(stage, out, latency, shapes)
        install_folder(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return report


def _require_onnxruntime() -> None:
    if importlib.util.find_spec("onnxruntime") is None:
        raise GetMusicError(f"ONNX Runtime is not installed: {INSTALL_HINT}")


def _copy_bundle(bundle: Bundle, stage: Path) -> None:
    """Every file of the source bundle except an old model.onnx; the debug model's weights are written."""
    if bundle.root is None:
        from getmusic_cli.hub.bundle import save_bundle
        from getmusic_cli.model.network import build_network

        network = build_network(bundle.config, None)
        save_bundle(stage, bundle.config, bundle.vocab, network.state_dict(), overwrite=True)
        return
    for item in bundle.root.iterdir():
        if item.name == ONNX_FILE or item.name.startswith("."):
            continue
        if item.is_dir():
            shutil.copytree(item, stage / item.name)
        else:
            shutil.copy2(item, stage / item.name)


def _export_into(folder: Path, final_dir: Path, latency: bool, shapes: list[tuple[int, int]] | None) -> ExportReport:
    """Export the weights in FOLDER to FOLDER/model.onnx (atomically), verify, time; FINAL_DIR names the result."""
    from getmusic_cli.hub.bundle import load_bundle
    from getmusic_cli.model.network import build_network

    staged = load_bundle(folder)
    network = build_network(staged.config, staged.weights_path).eval()
    tmp = folder / f".{ONNX_FILE}.{os.getpid()}.new"
    try:
        start = time.perf_counter()
        export_network(network, tmp)
        export_seconds = time.perf_counter() - start
        cases = verify_onnx(network, tmp, shapes)
        torch_s = ort_s = 0.0
        length = min(staged.config.train_length, staged.config.max_length)
        if latency:
            torch_s, ort_s = trunk_latency(network, tmp, length)
        os.replace(tmp, folder / ONNX_FILE)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportReport(
        bundle_dir=final_dir,
        onnx_path=final_dir / ONNX_FILE,
        onnx_bytes=(folder / ONNX_FILE).stat().st_size,
        parameters=sum(p.numel() for p in network.parameters()),
        cases=cases,
        latency_length=length if latency else 0,
        torch_seconds=torch_s,
        ort_seconds=ort_s,
        export_seconds=export_seconds,
    )


def render_report(report: ExportReport):
    """A rich Table of the export: file, size, parity per shape, trunk latency."""
    from rich.table import Table

    table = Table(title=f"ONNX export: {report.onnx_path}", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("file size", f"{report.onnx_bytes / 1e6:.1f} MB ({report.parameters / 1e6:.2f} M parameters)")
    table.add_row("export time", f"{report.export_seconds:.1f} s")
    for case in report.cases:
        table.add_row(
            f"parity B={case.batch} L={case.length}", f"max |Δ log p| = {case.max_abs_diff:.1e} (limit {TOLERANCE:g})"
        )
    if report.latency_length:
        ratio = report.ort_seconds / report.torch_seconds if report.torch_seconds else float("nan")
        table.add_row(
            f"trunk latency B=1 L={report.latency_length}",
            f"torch CPU {report.torch_seconds * 1e3:.1f} ms, "
            f"ONNX Runtime CPU {report.ort_seconds * 1e3:.1f} ms ({ratio:.2f}×, "
            f"{torch.get_num_threads()} threads)",
        )
    table.add_row("use it", f"--model {report.bundle_dir} --backend onnx")
    return table
