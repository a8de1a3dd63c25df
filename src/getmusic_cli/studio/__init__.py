"""`getmusic studio`: a local web page to pick bars and tracks, generate, listen and compare.

The page (static/, plain HTML/JS/CSS, nothing loaded from elsewhere) talks to a small Starlette app (app.py) over
the same pipeline the CLI uses (session.py); security.py keeps everyone else out. The web stack is the `studio`
extra and is imported only when the command runs.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from getmusic_cli.errors import GetMusicError

INSTALL_HINT = 'the studio needs its web server: pip install "getmusic-cli[studio]"'


def require_studio() -> None:
    """Fail early, with one line, when the extra is missing."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise GetMusicError(INSTALL_HINT) from None


def audio_problem() -> str | None:
    """None when songs can be played; else the line the page shows instead of the player."""
    from getmusic_cli.preview.audio import require_audio

    try:
        require_audio()
    except GetMusicError as exc:
        return str(exc)
    return None


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1 only (port 0: any free port)."""
    if not 0 <= port <= 65535:
        raise GetMusicError(f"port {port}: ports go from 1 to 65535 (0: a free one)")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        reason = "is in use" if exc.errno in (98, 48, 10048) else f"cannot be used ({exc.strerror})"
        raise GetMusicError(f"port {port} {reason}: choose another", cli_hint="use --port N, or --port 0") from None
    sock.listen(64)
    return sock


@dataclass
class Server:
    url: str
    port: int
    token: str
    server: object  # uvicorn.Server
    sock: socket.socket
    studio: object  # session.Studio

    def serve(self) -> None:
        self.server.run(sockets=[self.sock])

    def start_in_thread(self) -> threading.Thread:
        """For tests: serve from a thread (no signal handlers) and wait until it answers."""
        import time

        self.server.config.install_signal_handlers = False  # uvicorn >= 0.29 reads it in capture_signals
        thread = threading.Thread(target=self.serve, daemon=True, name="getmusic-studio-server")
        thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the studio server did not start")
            time.sleep(0.02)
        return thread

    def stop(self, thread: threading.Thread | None = None) -> None:
        self.server.should_exit = True
        if thread is not None:
            thread.join(10)


def make_server(studio, port: int = 0, sock: socket.socket | None = None) -> Server:
    """Bind 127.0.0.1:PORT (or take the bound ``sock``), make a token, and build the guarded app over ``studio``."""
    import uvicorn

    from getmusic_cli.studio.app import build_app
    from getmusic_cli.studio.security import new_token

    sock = sock or bind(port)
    port = sock.getsockname()[1]
    token = new_token()
    app = build_app(studio, token, port)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, server_header=False, lifespan="off"
    )
    return Server(f"http://127.0.0.1:{port}/?token={token}", port, token, uvicorn.Server(config), sock, studio)


def run_studio(
    song: Path | None,
    options,
    *,
    port: int = 0,
    browser: bool = True,
    say: Callable[[str], None] = print,
) -> None:
    """Load the model, open ``song`` (if any), serve the page until Ctrl-C. ``options``: a pipeline.Options."""
    require_studio()
    from getmusic_cli.pipeline import Generator
    from getmusic_cli.studio.session import Studio

    if song is not None:
        from getmusic_cli.score.midi_io import read_midi

        read_midi(song)  # a bad file fails before the model loads
    sock = bind(port)  # and so does a port in use
    with sock, tempfile.TemporaryDirectory(prefix="getmusic-studio-") as workdir:  # private (0700), removed at the end
        say("loading the model ...")
        studio = Studio(Generator(options), workdir, audio_problem=audio_problem())
        if song is not None:
            studio.open_path(song)
        server = make_server(studio, sock=sock)
        say(f"getmusic studio: {server.url}")
        say("(only this machine can open it, and only with this link; Ctrl-C stops it)")
        if browser:
            threading.Thread(target=_open_when_ready, args=(server,), daemon=True).start()
        try:
            server.serve()
        except KeyboardInterrupt:  # uvicorn stops gracefully on Ctrl-C, then raises it again
            pass
        finally:
            studio.cancel()
            studio.wait(30)
        say("studio stopped")


def _open_when_ready(server: Server) -> None:
    import time

    for _ in range(500):
        if server.server.started:
            webbrowser.open(server.url)
            return
        time.sleep(0.02)
