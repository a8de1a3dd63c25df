"""The `getmusic` command line: parse options, call the pipeline, print with rich. No logic lives here.

Heavy modules (torch, the pipeline) are imported inside the commands so `getmusic --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from getmusic_cli import __version__
from getmusic_cli.errors import GetMusicError, first_line, naming_file_once, os_reason, printable

app = typer.Typer(
    name="getmusic",
    help="Generate any music tracks from MIDI with GETMusic (GETScore + GETDiff).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"getmusic {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Generate any music tracks from MIDI with GETMusic."""


def _error_line(text: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(first_line(text))}", highlight=False, soft_wrap=True)


def main() -> None:
    """Console entry point: user errors become one red line and exit code 1, never a traceback."""
    from getmusic_cli.interrupts import Terminated, terminate_like_interrupt, was_terminated

    terminate_like_interrupt()
    try:
        app()
    except SystemExit:
        if was_terminated():
            err_console.print("[bold red]terminated[/]")
            sys.exit(143)
        raise
    except GetMusicError as exc:
        _error_line(exc.cli_message())
        sys.exit(1)
    except MemoryError:
        _error_line("out of memory")
        sys.exit(1)
    except OSError as exc:
        _error_line(f"{exc.filename}: {os_reason(exc)}" if exc.filename else os_reason(exc))
        sys.exit(1)
    except Terminated:
        err_console.print("[bold red]terminated[/]")
        sys.exit(143)
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]")
        sys.exit(130)


# ----- generate / infill -----

_model_opt = typer.Option(
    None,
    "--model",
    help="Model: registry name[@version], bundle folder, original checkpoint.pth or URL. Default: the embedded model.",
)
_device_opt = typer.Option("auto", "--device", help="auto | cpu | cuda")
_backend_opt = typer.Option("torch", "--backend", help="torch | onnx")
_threads_opt = typer.Option(
    None, "--threads", help="CPU threads for the model (default: $GETMUSIC_THREADS, else chosen for the model)."
)
_int8_opt = typer.Option(False, "--int8", help="ONNX Runtime int8 weights (with --backend onnx; experimental).")
_steps_opt = typer.Option(
    None, "--steps", help="Sampling steps (default: the model's suggestion, else its T). Fewer is faster."
)
_seed_opt = typer.Option(None, "--seed", help="Random seed for reproducible output.")
_temp_opt = typer.Option(1.0, "--temperature", help="Sampling temperature (lower = safer).")
_top_p_opt = typer.Option(
    1.0, "--top-p", help="Nucleus sampling: keep the smallest token set with this much probability."
)
_drum_repeat_opt = typer.Option(
    None,
    "--drum-repeat",
    help="How strongly made drums keep the hits the same place in the bars around holds (log-odds: 0 = as the "
    "network draws them, 2-3 = a steadier groove; default: the model's).",
)
_kit_anchor_opt = typer.Option(
    None,
    "--kit-anchor",
    help="How strongly made drums keep the mix of kit pieces the network expects before it draws any, or in "
    "infill the mix of the song's drum bars around them (0 = as the network draws them, 1 = keep it; default: "
    "the model's).",
)
_onset_anchor_opt = typer.Option(
    None,
    "--onset-anchor",
    help="How strongly made drums keep their share of hits on the beat, on the 8th between and on the other 16ths "
    "at what the network first expects, half-way towards where the kept tracks' notes start, or in infill where "
    "the song's drum bars around them hit (0 = as the network draws them, 1 = keep it; default: the model's).",
)
_var_opt = typer.Option(1, "--variations", help="Number of different outputs per input (one batch).")
_chords_opt = typer.Option(None, "--chords", help="Chord per bar, cycled, e.g. 'Am F C G'. Default: inferred.")
_no_chords_opt = typer.Option(False, "--no-chords", help="Do not condition on chords.")
_map_opt = typer.Option(
    None,
    "--map",
    help="Override the track mapping: 'NAME_OR_INDEX=class', or 'NAME_OR_INDEX=drop' to leave a track out "
    "(repeatable; index from 0, as inspect lists them).",
)
_program_opt = typer.Option(None, "--program", help="GM program of a generated class: 'bass=33' (repeatable).")
_range_opt = typer.Option(
    None,
    "--range",
    help="Pitch range of a generated class, note names or MIDI numbers: 'bass=E1-C3' (repeatable; "
    "defaults: bass E1-C4, lead E2-C7, guitar E2-E6, strings C2-C7, piano A0-C8, drums GM kit keys 35-81).",
)
_force_opt = typer.Option(False, "--force", help="Overwrite existing output files.")
_uncovered_opt = typer.Option(
    False, "--allow-uncovered", help="Make classes the model was not trained on (its card says what it covers)."
)
_out_opt = typer.Option(
    None, "--output", "-o", help="Output MIDI file (one input only). Variations: OUT-1.mid, OUT-2.mid, ..."
)
_out_dir_opt = typer.Option(None, "--out-dir", help="Folder for the outputs (IN.getmusic.mid).")
_cache_opt = typer.Option(None, "--cache-dir", help="Model cache folder (default: the user cache dir).")
_preview_opt = typer.Option(False, "--preview", help="Also write OUT.wav beside each output (the 'audio' extra).")
_plot_opt = typer.Option(
    False, "--plot", help="Also write OUT.png: input above, output below, made notes highlighted (the 'plot' extra)."
)


def _options(
    *,
    model,
    device,
    backend,
    steps,
    seed,
    temperature,
    top_p,
    variations,
    chords,
    no_chords,
    maps,
    programs,
    force,
    allow_uncovered,
    cache_dir,
    ranges=None,
    threads=None,
    int8=False,
    drum_repeat=None,
    kit_anchor=None,
    onset_anchor=None,
):
    from getmusic_cli.pipeline import Options, check_anchor, check_drum_repeat, parse_programs
    from getmusic_cli.score.ranges import parse_range_option
    from getmusic_cli.score.tracks import parse_map_option

    if chords and no_chords:
        raise GetMusicError("--chords and --no-chords cannot be used together")
    check_drum_repeat(drum_repeat)
    check_anchor("--kit-anchor", kit_anchor)
    check_anchor("--onset-anchor", onset_anchor)
    return Options(
        model=model,
        device=device,
        backend=backend,
        steps=steps,
        seed=seed,
        temperature=temperature,
        top_p=top_p,
        variations=variations,
        chords=chords,
        no_chords=no_chords,
        maps=parse_map_option(maps or []),
        programs=parse_programs(programs or []),
        ranges=parse_range_option(ranges or []),
        force=force,
        allow_uncovered=allow_uncovered,
        cache_dir=cache_dir,
        threads=threads,
        int8=int8,
        drum_repeat=drum_repeat,
        kit_anchor=kit_anchor,
        onset_anchor=onset_anchor,
    )


def _inputs(inputs, example: bool, output, out_dir):
    """The files to work on: the given ones, or the shipped example (written out to the current folder)."""
    from getmusic_cli.pipeline import example_song

    if example:
        if inputs:
            raise GetMusicError("give input files or --example, not both")
        return [example_song()], (out_dir if output is not None or out_dir is not None else Path.cwd())
    if not inputs:
        raise GetMusicError("no input: give one or more MIDI files (or --example)")
    return inputs, out_dir


def _with_previews(preview: bool, plot: bool, options, work):
    from getmusic_cli.preview.run import PreviewRequest, with_previews

    return with_previews(PreviewRequest(preview, plot, options.force, options.maps), work)


def _run_files(inputs, output, out_dir, options, work) -> None:
    """Run ``work(generator, path, outputs, progress)`` on each input; report failures, go on, exit 1 at the end."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from getmusic_cli.pipeline import Generator, plan_outputs

    if output is not None and len(inputs) > 1:
        raise GetMusicError("-o names one file: with several inputs use --out-dir")
    generator = Generator(options)
    results, failures = [], []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        files_task = bar.add_task("files", total=len(inputs)) if len(inputs) > 1 else None
        for path in inputs:
            step_task = bar.add_task(f"{path.name}", total=None)

            def progress(_label, done, total, task_id=step_task):
                bar.update(task_id, completed=done, total=total)

            try:
                outputs = plan_outputs(path, output, out_dir, options.variations, options.force)
                results += work(generator, path, outputs, progress)
            except (GetMusicError, MemoryError) as exc:
                message = exc.cli_message() if isinstance(exc, GetMusicError) else "out of memory"
                failures.append((path, message))
                _error_line(naming_file_once(path, message))
            bar.remove_task(step_task)
            if files_task is not None:
                bar.advance(files_task)
    if results:
        table = Table(title="getmusic")
        previews = any(r.previews for r in results)
        for col in ("output", "kept", "made", "bars", "notes made", "seconds") + ("preview",) * previews:
            table.add_column(col)
        for r in results:
            links = [f"[link={p.resolve().as_uri()}]{escape(p.name)}[/link]" for p in r.previews]
            table.add_row(
                str(r.path),
                r.kept_text(),
                r.made_text(),
                str(r.bars),
                str(r.notes_made),
                f"{r.seconds:.1f}",
                *(["\n".join(links)] if previews else []),
            )
        console.print(table)
        for r in results:
            for warning in r.warnings:
                console.print(f"[yellow]note:[/] {escape(printable(f'{r.path.name}: {warning}'))}", highlight=False)
    if failures:
        raise typer.Exit(1)


@app.command()
def generate(
    inputs: list[Path] = typer.Argument(None, help="Input MIDI file(s)."),
    make: str = typer.Option(
        ...,
        "--make",
        help="Tracks to generate, e.g. bass,drums (lead, bass, drums, guitar, piano, strings or an alias).",
    ),
    example: bool = typer.Option(
        False,
        "--example",
        help="Use the example song shipped with getmusic (Bach, BWV 253); output goes to the current folder.",
    ),
    keep: str = typer.Option(
        None, "--keep", help="Tracks to keep (default: every other track present); --keep '' keeps nothing."
    ),
    output: Path = _out_opt,
    out_dir: Path = _out_dir_opt,
    model: str = _model_opt,
    device: str = _device_opt,
    backend: str = _backend_opt,
    threads: int = _threads_opt,
    int8: bool = _int8_opt,
    steps: int = _steps_opt,
    seed: int = _seed_opt,
    temperature: float = _temp_opt,
    top_p: float = _top_p_opt,
    drum_repeat: float = _drum_repeat_opt,
    kit_anchor: float = _kit_anchor_opt,
    onset_anchor: float = _onset_anchor_opt,
    variations: int = _var_opt,
    chords: str = _chords_opt,
    no_chords: bool = _no_chords_opt,
    maps: list[str] = _map_opt,
    programs: list[str] = _program_opt,
    ranges: list[str] = _range_opt,
    force: bool = _force_opt,
    allow_uncovered: bool = _uncovered_opt,
    cache_dir: Path = _cache_opt,
    preview: bool = _preview_opt,
    plot: bool = _plot_opt,
) -> None:
    """Generate tracks (--make) conditioned on the kept ones (--keep).

    \b
    Examples:
      getmusic generate song.mid --keep lead --make bass,drums -o out.mid
    All six classes from nothing (the song gives only length, tempo, meter):
      getmusic generate song.mid --keep '' \\
          --make lead,bass,drums,guitar,piano,strings
    Map a track yourself, or leave it out:
      getmusic generate song.mid --make drums --map "Drums 2=drop" --map 3=bass
    Variations: --variations 3 writes song.getmusic-1.mid .. -3.mid
    (with -o out.mid: out-1.mid, out-2.mid, out-3.mid).
    Class aliases: melody/vocal/voice/mel = lead, b = bass, drum/kit/perc =
    drums, gtr = guitar, keys = piano, string/pad = strings.
    """
    from getmusic_cli.score.tracks import parse_class_list

    if not make.strip():
        raise GetMusicError("nothing to make: name at least one track with --make, e.g. --make bass,drums")
    made = parse_class_list(make)
    kept = parse_class_list(keep) if keep and keep.strip() else ([] if keep is not None else None)
    options = _options(
        model=model,
        device=device,
        backend=backend,
        steps=steps,
        seed=seed,
        temperature=temperature,
        top_p=top_p,
        variations=variations,
        chords=chords,
        no_chords=no_chords,
        maps=maps,
        programs=programs,
        force=force,
        allow_uncovered=allow_uncovered,
        cache_dir=cache_dir,
        ranges=ranges,
        threads=threads,
        int8=int8,
        drum_repeat=drum_repeat,
        kit_anchor=kit_anchor,
        onset_anchor=onset_anchor,
    )
    inputs, out_dir = _inputs(inputs, example, output, out_dir)
    work = _with_previews(
        preview, plot, options, lambda g, path, outs, progress: g.generate(path, made, kept, outs, progress)
    )
    _run_files(inputs, output, out_dir, options, work)


@app.command()
def infill(
    inputs: list[Path] = typer.Argument(None, help="Input MIDI file(s)."),
    bars: str = typer.Option(..., "--bars", help="Bars to regenerate, 1-based inclusive: 9-12 or 1-4,9-12."),
    example: bool = typer.Option(
        False, "--example", help="Use the example song shipped with getmusic; output goes to the current folder."
    ),
    tracks: str = typer.Option(None, "--tracks", help="Tracks to regenerate there (default: every track present)."),
    output: Path = _out_opt,
    out_dir: Path = _out_dir_opt,
    model: str = _model_opt,
    device: str = _device_opt,
    backend: str = _backend_opt,
    threads: int = _threads_opt,
    int8: bool = _int8_opt,
    steps: int = _steps_opt,
    seed: int = _seed_opt,
    temperature: float = _temp_opt,
    top_p: float = _top_p_opt,
    drum_repeat: float = _drum_repeat_opt,
    kit_anchor: float = _kit_anchor_opt,
    onset_anchor: float = _onset_anchor_opt,
    variations: int = _var_opt,
    chords: str = _chords_opt,
    no_chords: bool = _no_chords_opt,
    maps: list[str] = _map_opt,
    programs: list[str] = typer.Option(
        None, "--program", help="GM program for the regenerated classes' tracks: 'bass=33' (repeatable)."
    ),
    ranges: list[str] = _range_opt,
    force: bool = _force_opt,
    allow_uncovered: bool = _uncovered_opt,
    cache_dir: Path = _cache_opt,
    preview: bool = _preview_opt,
    plot: bool = _plot_opt,
) -> None:
    """Regenerate chosen bars (and tracks) of a song, keeping everything else.

    \b
    Examples:
      getmusic infill song.mid --bars 9-12 -o out.mid
      getmusic infill song.mid --bars 1-4,9-12 --tracks piano,bass
    Variations: --variations 3 writes song.getmusic-1.mid .. -3.mid
    (with -o out.mid: out-1.mid, out-2.mid, out-3.mid).
    Class aliases and --map NAME_OR_INDEX=class|drop work as in generate.
    """
    from getmusic_cli.pipeline import parse_bars
    from getmusic_cli.score.tracks import parse_class_list

    parse_bars(bars)  # bad syntax fails before the model loads
    chosen = parse_class_list(tracks) if tracks is not None else None
    options = _options(
        model=model,
        device=device,
        backend=backend,
        steps=steps,
        seed=seed,
        temperature=temperature,
        top_p=top_p,
        variations=variations,
        chords=chords,
        no_chords=no_chords,
        maps=maps,
        programs=programs,
        force=force,
        allow_uncovered=allow_uncovered,
        cache_dir=cache_dir,
        ranges=ranges,
        threads=threads,
        int8=int8,
        drum_repeat=drum_repeat,
        kit_anchor=kit_anchor,
        onset_anchor=onset_anchor,
    )
    inputs, out_dir = _inputs(inputs, example, output, out_dir)
    work = _with_previews(
        preview, plot, options, lambda g, path, outs, progress: g.infill(path, bars, chosen, outs, progress)
    )
    _run_files(inputs, output, out_dir, options, work)


# ----- inspect -----


@app.command()
def inspect(
    song: Path = typer.Argument(..., help="Input MIDI file."),
    maps: list[str] = _map_opt,
    plot: Path = typer.Option(
        None, "--plot", help="Also write a piano-roll PNG of the classes (needs the 'plot' extra)."
    ),
    model: str = typer.Option(
        None,
        "--model",
        help="Model whose vocabulary the codec report uses (default: the default model, else the basic vocabulary).",
    ),
) -> None:
    """Show how a MIDI file is read: tracks -> classes (and why), meter, tempo, key, chords per bar, codec loss."""
    from getmusic_cli.inspect import analyse, plot_piano_roll, render
    from getmusic_cli.score.tracks import parse_map_option

    result = analyse(song, parse_map_option(maps or []), model=model)
    render(result, console)
    if plot is not None:
        console.print(f"piano roll: {plot_piano_roll(result, plot)}", highlight=False)


# ----- render -----


@app.command()
def render(
    song: Path = typer.Argument(..., help="MIDI file to play."),
    output: Path = typer.Option(None, "--output", "-o", help="WAV file to write (default: SONG.wav beside it)."),
    soundfont: Path = typer.Option(
        None, "--soundfont", help="A General MIDI .sf2 (default: $GETMUSIC_SOUNDFONT, else the packaged TimGM6mb)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing WAV file."),
) -> None:
    """Render a MIDI file to a WAV file with a General MIDI soundfont (the 'audio' extra)."""
    from getmusic_cli.preview.audio import render_file

    wav, seconds = render_file(song, output, soundfont, force)
    console.print(f"wrote [link={wav.resolve().as_uri()}]{escape(str(wav))}[/link] ({seconds:.1f} s)", highlight=False)


# ----- studio -----


@app.command()
def studio(
    song: Path = typer.Argument(None, help="MIDI file to open (or open one on the page)."),
    example: bool = typer.Option(False, "--example", help="Open the example song shipped with getmusic."),
    port: int = typer.Option(0, "--port", help="Port on 127.0.0.1 (default: a free one)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Only print the link; do not open a browser."),
    model: str = _model_opt,
    device: str = _device_opt,
    backend: str = _backend_opt,
    threads: int = _threads_opt,
    int8: bool = _int8_opt,
    cache_dir: Path = _cache_opt,
) -> None:
    """A local web page: pick bars and tracks, generate, listen, compare, download (the 'studio' extra).

    \b
    Example:
      getmusic studio --example
    The page answers only on 127.0.0.1 and only to the link printed (it carries a random token).
    """
    from getmusic_cli.pipeline import Options
    from getmusic_cli.studio import require_studio, run_studio

    require_studio()  # before the model loads
    if song is not None and example:
        raise GetMusicError("give a MIDI file or --example, not both")
    if example:
        from getmusic_cli.pipeline import example_song

        song = example_song()
    options = Options(model=model, device=device, backend=backend, threads=threads, int8=int8, cache_dir=cache_dir)
    run_studio(
        song,
        options,
        port=port,
        browser=not no_browser,
        say=lambda text: console.print(escape(text), highlight=False, soft_wrap=True),  # the link in one piece
    )


# ----- train / evaluate -----


@app.command()
def train(
    data_dir: Path = typer.Argument(..., help="Folder of MIDI files (searched recursively)."),
    run_dir: Path = typer.Option(..., "--output", "-o", help="Run folder: data, checkpoint, log.jsonl, bundle/."),
    config: str = typer.Option(None, "--config", help="debug | small | base | original | FILE.json (default: small)."),
    steps: int = typer.Option(10000, "--steps", help="Optimizer steps in all."),
    batch_size: int = typer.Option(8, "--batch-size", help="Windows per step and process."),
    lr: float = typer.Option(None, "--lr", help="Peak learning rate (default depends on --config)."),
    length: int = typer.Option(None, "--length", help="Columns (16ths) per training window (default: the config's)."),
    device: str = _device_opt,
    seed: int = typer.Option(0, "--seed", help="Seed of every random draw (init, data order, tasks, noise)."),
    eval_every: int = typer.Option(500, "--eval-every", help="Validate every N steps."),
    save_every: int = typer.Option(1000, "--save-every", help="Checkpoint every N steps (and on Ctrl-C / SIGTERM)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in -o exactly where it stopped."),
    init: str = typer.Option(None, "--init", help="Fine-tune this model (any --model spec) instead of a fresh one."),
    bar_positions: int = typer.Option(
        None, "--bar-positions", help="Tell the network each column's place in its bar (N places, e.g. 48)."
    ),
    nproc: int = typer.Option(1, "--nproc-per-node", help="Processes (GPUs) on this machine; >1 launches torchrun."),
    bf16: bool = typer.Option(True, "--bf16/--no-bf16", help="bf16 autocast on CUDA (never used on CPU)."),
    compile: bool = typer.Option(False, "--compile", help="torch.compile the network."),
    workers: int = typer.Option(-1, "--workers", help="Processes for reading MIDI (-1: one per CPU)."),
    threads: int = _threads_opt,
    prepare_only: bool = typer.Option(False, "--prepare-only", help="Build the data set under -o and stop."),
    source_weights: list[str] = typer.Option(
        None, "--source-weights", help="Sampling weight of a top-level data folder: 'mma=0.5,bach=2' (default 1)."
    ),
    drop_conditions: float = typer.Option(
        0.0, "--drop-conditions", help="Chance of leaving out each kept track of a training task (e.g. 0.5)."
    ),
    lead_chords: bool = typer.Option(
        False, "--lead-chords", help="A task that keeps only the lead gets the chords heard in it, as generate does."
    ),
    bar_spans: float = typer.Option(
        0.0,
        "--bar-spans",
        help="Chance of a task that makes its tracks over a span of bars, the rest of them given, as in a long "
        "song's later windows and in infill (e.g. 0.3).",
    ),
    extend_vocab: bool = typer.Option(
        False,
        "--extend-vocab",
        help="With --init: add the note groups of this data that the model's vocabulary lacks (new tokens start "
        "from their notes).",
    ),
) -> None:
    """Train a model on a folder of MIDI files; ends with a bundle for --model RUN_DIR/bundle."""
    from getmusic_cli.train.trainer import TrainOptions, run_command
    from getmusic_cli.train.weights import parse_source_weights

    options = TrainOptions(
        data_dir=data_dir,
        run_dir=run_dir,
        config=config,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        length=length,
        device=device,
        seed=seed,
        eval_every=eval_every,
        save_every=save_every,
        resume=resume,
        init=init,
        bar_positions=bar_positions,
        bf16=bf16,
        compile=compile,
        workers=workers,
        threads=threads,
        prepare_only=prepare_only,
        source_weights=parse_source_weights(source_weights),
        drop_conditions=drop_conditions,
        lead_chords=lead_chords,
        bar_spans=bar_spans,
        extend_vocab=extend_vocab,
    )
    code = run_command(options, nproc, sys.argv[1:], console)
    if code:
        raise typer.Exit(code)


@app.command()
def evaluate(
    model: str = typer.Argument(..., help="Model to evaluate (any --model spec, e.g. RUN_DIR/bundle or debug)."),
    data_dir: Path = typer.Argument(..., help="Folder of MIDI files; its held-out split (by file hash) is used."),
    make: str = typer.Option(
        ..., "--make", help="Tracks to generate and compare, e.g. bass,drums; 'all': every class each song has."
    ),
    keep: str = typer.Option("lead", "--keep", help="Tracks given as the condition."),
    n: int = typer.Option(50, "--n", help="Number of songs."),
    windows: int = typer.Option(1, "--windows", help="Windows per song, one after another from its start."),
    continued: bool = typer.Option(
        False,
        "--continued",
        help="Make each song from its start as generate does (later windows continue earlier ones), then score "
        "the same windows.",
    ),
    split: str = typer.Option("valid", "--split", help="valid (held-out files; all if none) | all."),
    steps: int = _steps_opt,
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    temperature: float = _temp_opt,
    top_p: float = _top_p_opt,
    drum_repeat: float = _drum_repeat_opt,
    kit_anchor: float = _kit_anchor_opt,
    onset_anchor: float = _onset_anchor_opt,
    device: str = _device_opt,
    threads: int = _threads_opt,
    backend: str = _backend_opt,
    int8: bool = _int8_opt,
    no_chords: bool = typer.Option(False, "--no-chords", help="Do not condition on the chord rows."),
    oracle_chords: bool = typer.Option(
        False, "--oracle-chords", help="Chords heard in the whole real song, made tracks too (the paper's setting)."
    ),
    shuffles: int = typer.Option(5, "--shuffles", help="Derangements the shuffled-real reference averages over."),
    no_references: bool = typer.Option(
        False, "--no-references", help="Skip the rule accompanist, shuffled-real and random-model rows."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """The scorecard: made vs real tracks on held-out songs, next to a rule accompanist and other references."""
    from getmusic_cli.eval.evaluate import MAKE_ALL, EvalOptions, chords_mode
    from getmusic_cli.eval.report import run_command
    from getmusic_cli.score.tracks import parse_class_list

    options = EvalOptions(
        model=model,
        data_dir=data_dir,
        keep=parse_class_list(keep) if keep else [],
        make=[MAKE_ALL] if make.strip() == MAKE_ALL else parse_class_list(make),
        n=n,
        steps=steps,
        seed=seed,
        device=device,
        split=split,
        chords=chords_mode(no_chords, oracle_chords),
        references=not no_references,
        shuffles=shuffles,
        windows=windows,
        continued=continued,
        temperature=temperature,
        top_p=top_p,
        drum_repeat=drum_repeat,
        kit_anchor=kit_anchor,
        onset_anchor=onset_anchor,
        threads=threads,
        backend=backend,
        int8=int8,
    )
    run_command(options, as_json, console, err_console)


# ----- models -----

models_app = typer.Typer(
    help="List, inspect, download and remove models; import the original checkpoint.", no_args_is_help=True
)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list(cache_dir: Path = _cache_opt) -> None:
    """Every known model: size, whether it is downloaded, classes, licence."""
    from getmusic_cli.hub.commands import list_models

    list_models(console, cache_dir)


@models_app.command("info")
def models_info(name: str = typer.Argument(..., help="Registry name[@version]."), cache_dir: Path = _cache_opt) -> None:
    """Everything the registry says about a model, plus its model card when it is on disk."""
    from getmusic_cli.hub.commands import model_info

    model_info(console, name, cache_dir)


@models_app.command("download")
def models_download(
    name: str = typer.Argument(..., help="Registry name[@version]."), cache_dir: Path = _cache_opt
) -> None:
    """Download (or re-verify) a model's files into the cache."""
    from getmusic_cli.hub.commands import download_model

    download_model(console, name, cache_dir)


@models_app.command("remove")
def models_remove(
    name: str = typer.Argument(..., help="Registry name[@version]."), cache_dir: Path = _cache_opt
) -> None:
    """Delete a model's files from the cache."""
    from getmusic_cli.hub.commands import remove_model

    remove_model(console, name, cache_dir)


@models_app.command("import-original")
def models_import_original(
    checkpoint: Path = typer.Argument(..., help="The original GETMusic checkpoint (.pth)."),
    output: Path = typer.Option(..., "--output", "-o", help="Bundle folder to write."),
    vocab: Path = typer.Option(None, "--vocab", help="The original dict.txt (default: downloaded and verified)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output folder."),
    cache_dir: Path = _cache_opt,
) -> None:
    """Convert the original checkpoint into a getmusic bundle (safetensors; the pickle is read once, weights only)."""
    from getmusic_cli.hub.commands import import_original_command

    import_original_command(console, checkpoint, output, vocab, force, cache_dir)


# ----- export -----

export_app = typer.Typer(help="Export a model for other runtimes.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("onnx")
def export_onnx(
    model: str = typer.Argument(..., help="Model to export (any --model spec, e.g. debug or a bundle folder)."),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Bundle folder to write (the model's own folder: add model.onnx to it)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing output folder or model.onnx."),
    cache_dir: Path = _cache_opt,
    threads: int = _threads_opt,
) -> None:
    """Add model.onnx to a bundle, checked against torch (--backend onnx also exports by itself, into the cache)."""
    from getmusic_cli.runtime.onnx_export import export_bundle, render_report

    console.print(render_report(export_bundle(model, output, force=force, cache_dir=cache_dir, threads=threads)))
