"""The training loop of ``getmusic train``: one process or one DDP rank.

Everything random at a step (data windows, the task split into condition/target/empty tracks, timesteps,
noise, dropout) is drawn from generators seeded by (seed, step, rank), so a resumed run continues exactly
where the interrupted one stopped: the checkpoint holds the model, the AdamW state, the EMA, the timestep
sampler's loss history and the step counter; the schedule and the data position follow from the step.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch

from getmusic_cli.errors import GetMusicError
from getmusic_cli.model.config import PRESETS, ModelConfig
from getmusic_cli.runtime.threads import apply_torch_threads, choose_threads
from getmusic_cli.train import distributed as dd
from getmusic_cli.train.checkpoint import (
    CHECKPOINT_NAME,
    flatten_optimizer,
    load_latest_good,
    save_checkpoint,
    unflatten_optimizer,
    unique_state,
)
from getmusic_cli.train.dataset import Dataset, DataSettings, build_dataset, open_dataset
from getmusic_cli.train.optim import EMA, default_warmup, lr_at, make_adamw
from getmusic_cli.train.windows import lead_chord_rows, split_bar_positions

RUN_FILE = "run.json"
LOG_FILE = "log.jsonl"
BUNDLE_DIR = "bundle"
DATA_DIR = "data"
RUN_VOCAB = "vocab.txt"
DEFAULT_LR = {"debug": 1e-3, "small": 3e-4, "base": 2e-4, "original": 1e-4}
VALID_SEED = 0x5EED
SHOW_SKIPPED = 10  # skipped files listed on the console (all of them are in the manifest)


@dataclass
class TrainOptions:
    data_dir: Path
    run_dir: Path
    config: str | None = None  # preset name or FILE.json (default: small, or the --init model's)
    steps: int = 10_000
    batch_size: int = 8  # per process
    lr: float | None = None  # peak learning rate (default per preset)
    warmup: int | None = None
    length: int | None = None  # columns per window (default: the config's train_length)
    device: str = "auto"
    seed: int = 0
    eval_every: int = 500
    save_every: int = 1000
    log_every: int = 10
    valid_batches: int = 8
    ema_decay: float = 0.999
    bf16: bool = True  # autocast on CUDA (never on CPU: slower there)
    compile: bool = False
    resume: bool = False
    init: str | None = None  # a model to fine-tune (anything resolve_model accepts)
    bar_positions: int | None = None  # give a new model or an --init fine-tune this many in-bar positions
    workers: int = -1  # data-building processes
    threads: int | None = None  # torch intra-op threads (default: GETMUSIC_THREADS, OMP_NUM_THREADS, physical cores)
    prepare_only: bool = False  # build the data set and stop
    source_weights: dict[str, float] = field(default_factory=dict)  # top-level data folder -> sampling weight
    drop_conditions: float = 0.0  # chance of blanking each condition track of a training task (never in validation)
    lead_chords: bool = False  # a lead-only task gets the chords heard in its lead, as generate gives them
    bar_spans: float = 0.0  # chance of a task that makes its targets over a span of bars, the rest given
    extend_vocab: bool = False  # with init: add the data's note groups that the model's vocabulary lacks
    # Called after every optimizer step with the step count (tests use it to send signals).
    on_step: Callable[[int], None] | None = field(default=None, repr=False)


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    interrupted: bool
    bundle: Path | None
    train_loss: float | None
    valid_loss: float | None
    data: Dataset | None
    network: torch.nn.Module | None = None  # the trained network (raw weights) on this rank
    ema: EMA | None = None


# ---------------------------------------------------------------------------------------------------
# Set-up


def _select_device(name: str) -> torch.device:
    try:
        from getmusic_cli.runtime.device import select_device

        return torch.device(select_device(name))
    except ImportError:  # pragma: no cover - runtime helper not present
        if name == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(name)


def _base_config(options: TrainOptions) -> ModelConfig:
    spec = options.config or "small"
    if spec in PRESETS:
        return PRESETS[spec]()
    path = Path(spec)
    if path.suffix.lower() == ".json" or path.exists():
        return ModelConfig.load(path)
    raise GetMusicError(f"unknown --config {spec!r}: use one of {', '.join(PRESETS)} or a config .json file")


def _check_options(options: TrainOptions) -> None:
    if options.steps < 1:
        raise GetMusicError("--steps must be at least 1")
    if options.batch_size < 1:
        raise GetMusicError("--batch-size must be at least 1")
    if options.lr is not None and not options.lr > 0:
        raise GetMusicError("--lr must be positive")
    if options.eval_every < 1 or options.save_every < 1:
        raise GetMusicError("--eval-every and --save-every must be at least 1")
    if options.bar_positions is not None and options.bar_positions < 0:
        raise GetMusicError("--bar-positions must be 0 or more")
    if not 0 <= options.drop_conditions < 1:
        raise GetMusicError("--drop-conditions must be at least 0 and below 1")
    if not 0 <= options.bar_spans <= 1:
        raise GetMusicError("--bar-spans must be between 0 and 1")
    if options.init and options.config:
        raise GetMusicError("--config and --init cannot be combined: the architecture comes from the --init model")
    if options.extend_vocab and not options.init:
        raise GetMusicError("--extend-vocab grows the vocabulary of an --init model: give --init")


def _run_record(config: ModelConfig, options: TrainOptions, vocab_sha: str) -> dict:
    return {
        "format": "getmusic-run/1",
        "config": config.to_dict(),
        "vocab_sha256": vocab_sha,
        "batch_size": options.batch_size,
        "seed": options.seed,
        "init": options.init,
    }


def _check_run_dir(run_dir: Path, resume: bool) -> dict | None:
    """The existing run record (for --resume); refuses to start over an existing run."""
    record_path = run_dir / RUN_FILE
    has_run = record_path.is_file() or (run_dir / CHECKPOINT_NAME).is_file()
    if run_dir.exists() and not run_dir.is_dir():
        raise GetMusicError(f"{run_dir} exists and is not a folder")
    if not resume:
        if has_run:
            raise GetMusicError(
                f"{run_dir} already holds a training run: pass --resume to continue it, or choose another -o"
            )
        return None
    if not has_run:
        raise GetMusicError(f"nothing to resume in {run_dir} (no {RUN_FILE}); start without --resume")
    try:
        return json.loads(record_path.read_text())
    except (OSError, ValueError) as exc:
        raise GetMusicError(f"cannot read {record_path}: {exc}") from None


# ---------------------------------------------------------------------------------------------------
# The loop


class _Stopper:
    """SIGINT/SIGTERM set a flag; the loop saves a checkpoint at the end of the step and stops."""

    def __init__(self):
        self.flag = False
        self._old: dict[int, object] = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        self.flag = True

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


class _LossModule(torch.nn.Module):
    """Network + loss in one forward, so DDP sees every parameter use inside forward()."""

    def __init__(self, network: torch.nn.Module, t_sampler):
        super().__init__()
        self.network = network
        self.t_sampler = t_sampler

    def forward(self, x0, condition, not_empty, bar_position, generator=None):
        from getmusic_cli.model.diffusion import diffusion_loss

        return diffusion_loss(
            self.network, x0, condition, not_empty, self.t_sampler, generator, bar_position=bar_position
        )


def train(options: TrainOptions, console=None) -> TrainResult:
    """Build the data, train, checkpoint, and write RUN_DIR/bundle. Only rank 0 writes anything."""
    from getmusic_cli.score.vocab import Vocabulary

    _check_options(options)
    info = dd.env_info()
    run_dir = Path(options.run_dir)
    record = _check_run_dir(run_dir, options.resume)
    device = dd.setup(info, _select_device(options.device))
    # No cap by model size here, unlike sampling: a training step is big enough to use every core given.
    apply_torch_threads(choose_threads(options.threads))
    main = info.is_main
    show = console if main else None
    try:
        # ---- the model's config and vocabulary ----
        init_bundle = None
        fixed_vocab = None
        if record is not None:
            config = ModelConfig.from_dict(record["config"])
            if options.config and options.config != record.get("base"):
                raise GetMusicError(
                    f"{run_dir} was trained with --config {record.get('base') or config.name}, not {options.config}; "
                    "resume without --config or choose another -o"
                )
            if options.length and options.length != config.train_length:
                raise GetMusicError(f"{run_dir} was trained with --length {config.train_length}, not {options.length}")
            try:
                fixed_vocab = Vocabulary.load(run_dir / RUN_VOCAB)
            except Exception as exc:
                raise GetMusicError(f"cannot read the run's vocabulary {run_dir / RUN_VOCAB}: {exc}") from None
        elif options.init:
            from getmusic_cli.hub.resolve import resolve_model

            init_bundle = resolve_model(options.init)
            config = ModelConfig.from_dict(init_bundle.config.to_dict())
            fixed_vocab = init_bundle.vocab
            if config.vocab_size != fixed_vocab.size:
                raise GetMusicError(
                    f"--init model's config expects {config.vocab_size - 2} tokens but its vocabulary has "
                    f"{len(fixed_vocab)}: the bundle is inconsistent"
                )
        else:
            config = _base_config(options)
        if options.length and record is None:
            config.train_length = options.length
        if options.bar_positions is not None and record is None:
            has = init_bundle.config.bar_positions if init_bundle is not None else 0
            if has not in (0, options.bar_positions):
                raise GetMusicError(f"the --init model has {has} bar positions, not {options.bar_positions}")
            config.bar_positions = options.bar_positions
        if not 16 <= config.train_length <= config.max_length:
            raise GetMusicError(f"--length must be between 16 and {config.max_length} columns")

        # ---- data (rank 0 builds, the others open what it built) ----
        settings = DataSettings(length=config.train_length, workers=options.workers)
        data_dir = run_dir / DATA_DIR
        data: Dataset | None = None
        failed = None
        if main:
            try:
                grow_from = None
                if options.extend_vocab and init_bundle is not None:
                    grow_from, fixed_vocab = fixed_vocab, None
                data = build_dataset(
                    options.data_dir, data_dir, settings, vocab=fixed_vocab, grow_from=grow_from, console=show
                )
            except GetMusicError as exc:
                failed = exc
        if not _all_ok(failed is None, info, device):
            if failed is not None:
                raise failed
            raise GetMusicError("rank 0 could not build the data set (see its message)")
        if data is None:
            data = open_dataset(data_dir)
        if options.source_weights:
            from getmusic_cli.train.weights import WeightedWindows, weighted_indices

            data.train = WeightedWindows(data.train, weighted_indices(data.files, options.source_weights))
        if show is not None:
            show.print(f"data: {data.summary()}")
            skipped = data.skipped
            for entry in skipped[:SHOW_SKIPPED]:
                show.print(f"  skipped {entry.rel}: {entry.reason}", highlight=False)
            if len(skipped) > SHOW_SKIPPED:
                show.print(
                    f"  ... and {len(skipped) - SHOW_SKIPPED} more skipped files (every reason is in "
                    f"{data_dir / 'manifest.json'})",
                    highlight=False,
                )
        if options.prepare_only:
            return TrainResult(run_dir, 0, False, None, None, None, data)

        vocab = data.vocab
        vocab_sha = _vocab_sha(vocab)
        if record is not None and record.get("vocab_sha256") != vocab_sha:
            raise GetMusicError(f"the vocabulary of {run_dir} changed since the run started; start a new run")
        if init_bundle is not None and not options.extend_vocab and _vocab_sha(init_bundle.vocab) != vocab_sha:
            raise GetMusicError("the data was encoded with another vocabulary than the --init model's")
        config.vocab_size = vocab.size
        config.classes = list(data.classes)
        if record is None:
            config.chord_lag = 0
            config.transpose = True
            config.name = run_dir.name or "custom"
            config.description = f"trained with getmusic train on {len(data.files) - len(data.skipped)} MIDI files"
            config.licence = data_licence(Path(options.data_dir))

        lr = options.lr or DEFAULT_LR.get(_base_name(options, record), 1e-4)
        warmup = options.warmup if options.warmup is not None else default_warmup(options.steps)
        return _train_loop(
            options, info, device, run_dir, record, config, vocab, vocab_sha, data, init_bundle, lr, warmup, show
        )
    finally:
        dd.teardown(info)


def _from_init(config: ModelConfig, vocab, init_bundle) -> torch.nn.Module:
    """The --init model's weights in a network for CONFIG and VOCAB: bar positions added when the --init model
    has none (their embedding starts at zero), and its vocabulary grown to VOCAB (--extend-vocab)."""
    from getmusic_cli.model.network import (
        add_bar_positions,
        build_network,
        grow_vocabulary,
        network_from_state,
        read_weights,
    )

    if init_bundle.weights_path is None:  # the debug model: its seeded weights
        origin, state = "the debug model", build_network(init_bundle.config, None).state_dict()
    else:
        origin, state = str(init_bundle.weights_path), read_weights(init_bundle.weights_path)
    state = add_bar_positions(state, config)
    if vocab.tokens != init_bundle.vocab.tokens:
        state = grow_vocabulary(state, init_bundle.vocab, vocab)
    return network_from_state(config, state, origin)


def data_licence(data_dir: Path) -> str:
    """The weights' licence: the strongest licence of the training data, from the ``manifest.json`` that
    training/build_corpus.py writes (never the --init model's, whose data may be more permissive)."""
    try:
        stated = json.loads((data_dir / "manifest.json").read_text()).get("strongest_licence")
    except (OSError, ValueError, AttributeError):
        stated = None
    if isinstance(stated, str) and stated:
        return f"{stated} (from the training data's manifest.json)"
    return "unknown: the licence of the training data (no manifest.json with strongest_licence in the data folder)"


def _base_name(options: TrainOptions, record: dict | None) -> str:
    if record is not None:
        return record.get("base", "")
    return options.config if options.config in PRESETS else ("" if options.config else "small")


def _all_ok(ok: bool, info: dd.DistInfo, device: torch.device) -> bool:
    return not dd.any_rank(not ok, info, device)


def _vocab_sha(vocab) -> str:
    from getmusic_cli.train.dataset import _vocab_sha as sha

    return sha(vocab)


def _train_loop(options, info, device, run_dir, record, config, vocab, vocab_sha, data, init_bundle, lr, warmup, show):
    from getmusic_cli.model.diffusion import TimestepSampler, choose_task
    from getmusic_cli.model.network import build_network

    main = info.is_main
    if init_bundle is not None:
        network = _from_init(config, vocab, init_bundle)
    else:
        network = build_network(config, None, seed=options.seed)
    network = network.to(device)
    t_sampler = TimestepSampler(config)
    optimizer = make_adamw(network, lr)
    ema = EMA(network, options.ema_decay)
    step = 0
    if record is not None and (run_dir / CHECKPOINT_NAME).is_file():
        step = _restore(run_dir / CHECKPOINT_NAME, network, optimizer, ema, t_sampler, device, show)
        if main:
            _trim_log(run_dir / LOG_FILE, step)
    elif record is not None:
        pass  # the run stopped before its first checkpoint: start it again from step 0
    elif main:
        run_dir.mkdir(parents=True, exist_ok=True)
        vocab.save(run_dir / RUN_VOCAB)
        rec = _run_record(config, options, vocab_sha)
        rec["base"] = options.config or ("" if options.init else "small")
        _write_text(run_dir / RUN_FILE, json.dumps(rec, indent=2) + "\n")
    dd.barrier(info)

    loss_module = _LossModule(torch.compile(network) if options.compile else network, t_sampler)
    model = loss_module
    if info.enabled:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(
            loss_module, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False
        )
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if options.bf16 and device.type == "cuda" else nullcontext()
    sharder = dd.StepSharder(len(data.train), options.batch_size, options.seed, info)
    cells_per_step = options.batch_size * info.world_size * config.n_rows * config.train_length
    log_path = run_dir / LOG_FILE
    params = [p for p in network.parameters() if p.requires_grad]

    last_train = last_valid = None
    interrupted = False
    progress = _progress_line(show, options.steps, step)
    window_loss, window_steps, window_start = 0.0, 0, time.perf_counter()
    with _Stopper() as stopper:
        while step < options.steps:
            seed = dd.step_seed(options.seed, step, info.rank)
            torch.manual_seed(seed)  # dropout
            windows = torch.from_numpy(data.train.get(sharder.indices(step)))
            x0, bar_position = split_bar_positions(windows)
            x0, condition, not_empty = choose_task(
                x0,
                torch.Generator().manual_seed(seed),
                vocab,
                options.drop_conditions,
                lead_chord_rows(windows) if options.lead_chords else None,
                options.bar_spans,
                bar_position,
            )
            noise = torch.Generator(device=device).manual_seed(seed + 1)  # timesteps and noise
            x0, condition, not_empty = x0.to(device), condition.to(device), not_empty.to(device)
            bar_position = bar_position.to(device)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, lr, warmup, options.steps)
            network.train()
            with autocast:
                loss, stats = model(x0, condition, not_empty, bar_position, noise)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 0.5)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            ema.update(network)
            _sync_sampler(t_sampler, stats, info)
            step += 1

            window_loss += float(loss.detach())
            window_steps += 1
            if step % options.log_every == 0 or step == options.steps:
                elapsed = max(1e-9, time.perf_counter() - window_start)
                last_train = float(dd.mean_over_ranks(torch.tensor([window_loss / window_steps], device=device), info))
                rate = cells_per_step * window_steps / elapsed
                if main:
                    _log(
                        log_path,
                        {
                            "step": step,
                            "split": "train",
                            "loss": last_train,
                            "lr": optimizer.param_groups[0]["lr"],
                            "cells_per_s": round(rate),
                            "epoch": round(sharder.epoch_of(step), 4),
                        },
                    )
                if progress:
                    progress.update(step, last_train, optimizer.param_groups[0]["lr"], rate)
                window_loss, window_steps, window_start = 0.0, 0, time.perf_counter()
            if step % options.eval_every == 0 or step == options.steps:
                last_valid = validate(network, config, data, vocab, options, info, device, autocast)
                if main:
                    _log(log_path, {"step": step, "split": "valid", "loss": last_valid})
                if progress:
                    progress.note(f"step {step}: valid loss {last_valid:.4f}")
            if options.on_step is not None:
                options.on_step(step)
            stop = dd.any_rank(stopper.flag, info, device)
            if main and (stop or step % options.save_every == 0 or step == options.steps):
                _save(run_dir / CHECKPOINT_NAME, network, optimizer, ema, t_sampler, step, config, vocab_sha)
            if stop:
                interrupted = step < options.steps
                break
    if progress:
        progress.stop()
    bundle = None
    if not interrupted and main:
        from getmusic_cli.hub.bundle import save_bundle

        bundle = run_dir / BUNDLE_DIR
        save_bundle(bundle, config, vocab, ema.state_dict(network), overwrite=True)
    dd.barrier(info)
    return TrainResult(run_dir, step, interrupted, bundle, last_train, last_valid, data, network, ema)


@torch.no_grad()
def validate(network, config, data: Dataset, vocab, options: TrainOptions, info, device, autocast=None) -> float:
    """Mean loss over the first valid windows with fixed tasks, timesteps and noise (comparable across steps)."""
    from getmusic_cli.model.diffusion import TimestepSampler, choose_task, diffusion_loss

    was_training = network.training
    network.eval()
    rng_state = torch.get_rng_state()
    n = len(data.valid)
    batches = [list(range(s, min(n, s + options.batch_size))) for s in range(0, n, options.batch_size)]
    batches = batches[: options.valid_batches]
    total, count = 0.0, 0
    for b, idx in enumerate(batches):
        if b % info.world_size != info.rank:
            continue
        seed = dd.step_seed(VALID_SEED, b, 0)
        x0, bar_position = split_bar_positions(torch.from_numpy(data.valid.get(idx)))
        x0, condition, not_empty = choose_task(x0, torch.Generator().manual_seed(seed), vocab)
        sampler = TimestepSampler(config)  # fresh: uniform timesteps
        noise = torch.Generator(device=device).manual_seed(seed + 1)
        with autocast or nullcontext():
            loss, _ = diffusion_loss(
                network,
                x0.to(device),
                condition.to(device),
                not_empty.to(device),
                sampler,
                noise,
                bar_position=bar_position.to(device),
            )
        total += float(loss) * len(idx)
        count += len(idx)
    torch.set_rng_state(rng_state)
    network.train(was_training)
    sums = dd.mean_over_ranks(torch.tensor([total, float(count)], device=device, dtype=torch.float64), info)
    return float(sums[0] / max(sums[1], 1.0))


# ---------------------------------------------------------------------------------------------------
# Checkpoints


def _save(path: Path, network, optimizer, ema: EMA, t_sampler, step: int, config: ModelConfig, vocab_sha: str) -> None:
    tensors = {f"model.{k}": v for k, v in unique_state(network.state_dict()).items()}
    tensors.update({f"ema.{k}": v for k, v in ema.shadow.items()})
    opt_tensors, opt_meta = flatten_optimizer(optimizer.state_dict())
    tensors.update(opt_tensors)
    sampler_tensors, sampler_meta = _sampler_state(t_sampler)
    tensors.update({f"tsampler.{k}": v for k, v in sampler_tensors.items()})
    state = {
        "step": step,
        "ema_updates": ema.updates,
        "optimizer": opt_meta,
        "tsampler": sampler_meta,
        "config": config.to_dict(),
        "vocab_sha256": vocab_sha,
    }
    save_checkpoint(path, tensors, state)


def _restore(path: Path, network, optimizer, ema: EMA, t_sampler, device, show=None) -> int:
    tensors, state, note = load_latest_good(path)
    if note and show is not None:
        show.print(f"warning: {note}", highlight=False)
    try:
        model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        missing, unexpected = network.load_state_dict(model_state, strict=False)
        aliases = _aliases(network)
        if unexpected or set(missing) - aliases:
            raise GetMusicError(f"checkpoint {path} does not fit this model (missing {sorted(missing)[:3]})")
        ema.load({k[4:]: v.to(device) for k, v in tensors.items() if k.startswith("ema.")}, state["ema_updates"])
        optimizer.load_state_dict(unflatten_optimizer(tensors, state["optimizer"]))
        _load_sampler(t_sampler, {k[9:]: v for k, v in tensors.items() if k.startswith("tsampler.")}, state["tsampler"])
        return int(state["step"])
    except GetMusicError:
        raise
    except (KeyError, ValueError, RuntimeError) as exc:
        raise GetMusicError(f"checkpoint {path} is incomplete or from another model ({exc})") from None


def _aliases(network) -> set[str]:
    full = network.state_dict()
    kept = unique_state(full)
    return set(full) - set(kept)


def _sampler_state(t_sampler) -> tuple[dict[str, torch.Tensor], dict]:
    if hasattr(t_sampler, "state_dict"):
        state = t_sampler.state_dict()
        tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
        meta = {k: v for k, v in state.items() if not isinstance(v, torch.Tensor)}
        return tensors, meta
    return {}, {}


def _load_sampler(t_sampler, tensors: dict, meta: dict) -> None:
    if hasattr(t_sampler, "load_state_dict"):
        t_sampler.load_state_dict({**tensors, **meta})


def _sync_sampler(t_sampler, stats, info) -> None:
    """Every rank feeds every rank's (t, loss) pairs to its sampler, so all samplers stay identical."""
    t = dd.gather_concat(stats["t"], info)
    losses = dd.gather_concat(stats["sample_losses"].float(), info)
    t_sampler.update(t, losses)


# ---------------------------------------------------------------------------------------------------
# Output


def _trim_log(path: Path, step: int) -> None:
    """Drop the records of steps after the checkpoint a run resumes from: a run killed between checkpoints
    redoes those steps, and its log should read as one run."""
    if not path.is_file():
        return
    kept = [line for line in path.read_text().splitlines() if _logged_step(line) <= step]
    _write_text(path, "".join(line + "\n" for line in kept))


def _logged_step(line: str) -> float:
    try:
        return json.loads(line)["step"]
    except (ValueError, KeyError, TypeError):
        return float("inf")  # a line cut short by the kill


def _log(path: Path, record: dict) -> None:
    record = {"time": round(time.time(), 3), **record}
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def _write_text(path: Path, text: str) -> None:
    import os

    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _progress_line(console, total: int, start: int) -> _ProgressLine | None:
    return None if console is None else _ProgressLine(console, total, start)


class _ProgressLine:
    """rich progress line: step, loss, lr, cells/s, ETA (rank 0 only)."""

    def __init__(self, console, total: int, start: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("training"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  lr {task.fields[lr]}  {task.fields[rate]} cells/s"),
            TimeRemainingColumn(),
            console=console,
        )
        self.task = self.progress.add_task("train", total=total, completed=start, loss="-", lr="-", rate="-")
        self.progress.start()

    def update(self, step: int, loss: float, lr: float, rate: float) -> None:
        self.progress.update(self.task, completed=step, loss=f"{loss:.4f}", lr=f"{lr:.2e}", rate=f"{rate:,.0f}")

    def note(self, text: str) -> None:
        self.progress.console.print(text)

    def stop(self) -> None:
        self.progress.stop()


# ---------------------------------------------------------------------------------------------------
# The CLI verb


def _strip_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--nproc-per-node":
            skip = True
            continue
        if arg.startswith("--nproc-per-node="):
            continue
        out.append(arg)
    return out


def run_command(options: TrainOptions, nproc: int, argv: list[str], console) -> int:
    """``getmusic train``: train here, or build the data and re-launch under torchrun for ``nproc`` > 1."""
    import dataclasses
    import os

    if nproc < 1:
        raise GetMusicError("--nproc-per-node must be at least 1")
    if nproc > 1 and "WORLD_SIZE" not in os.environ:
        if options.prepare_only:
            nproc = 1
        else:
            # Build (or check) the data once here, so the workers start training at once.
            train(dataclasses.replace(options, prepare_only=True), console)
            console.print(f"launching {nproc} processes with torchrun")
            return dd.launch(_strip_nproc(argv), nproc)
    result = train(options, console)
    if not dd.env_info().is_main:
        return 130 if result.interrupted else 0
    if options.prepare_only:
        console.print(f"data ready under {Path(options.run_dir) / DATA_DIR}")
        return 0
    if result.interrupted:
        console.print(
            f"stopped at step {result.step}; checkpoint saved. Continue with the same command plus --resume.",
            highlight=False,
        )
        return 130
    console.print(
        f"done: {result.step} steps, train loss {_fmt(result.train_loss)}, valid loss {_fmt(result.valid_loss)}; "
        f"model in {result.bundle} (use it with --model {result.bundle})",
        highlight=False,
    )
    return 0


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
