"""The `getmusic` command line: parse options, call the pipeline, print with rich. No logic lives here.

Heavy modules (torch, the pipeline) are imported inside the commands so `getmusic --help` stays fast.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from getmusic_cli import __version__
from getmusic_cli.errors import GetMusicError

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


def main() -> None:
    """Console entry point: user errors become one red line and exit code 1, never a traceback."""
    try:
        app()
    except GetMusicError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]")
        sys.exit(130)
