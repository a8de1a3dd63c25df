"""Output files that are never half-written, never silently replaced, and never left behind as temp files.

A result is written to ``.NAME.PID.XXXX.tmp`` beside its final name and moved there at the end. The PID in the
temp name lets a later run remove what a killed run (SIGKILL, power loss) left behind.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from getmusic_cli.errors import GetMusicError, printable, write_error


def check_output(path: str | Path, *, overwrite: bool) -> None:
    """Refuse (one line, before any work) an output that cannot be written: missing or read-only folder, a folder
    in its place, or an existing file without ``overwrite``."""
    path = Path(path)
    folder = _folder(path)
    shown = printable(path)
    if path.is_dir():
        raise GetMusicError(f"{shown}: is a directory (name an output file)")
    if not folder.is_dir():
        raise GetMusicError(f"{shown}: folder {printable(folder)} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise GetMusicError(f"{shown}: cannot write (permission denied in folder {printable(folder)})")
    if path.exists() and not overwrite:
        raise GetMusicError(f"{shown} exists", cli_hint="use --force to overwrite it")


def write_atomically(path: str | Path, dump: Callable[[BinaryIO], None], *, overwrite: bool = True) -> Path:
    """Write through ``dump(handle)`` into a temp file, then move it to ``path``.

    Without ``overwrite`` a file that appeared at ``path`` meanwhile is left alone (GetMusicError). Any exit,
    Ctrl-C and SIGTERM included, removes the temp file; OSError becomes one line.
    """
    path = Path(path)
    folder = _folder(path)
    remove_stale_temps(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as handle:
            dump(handle)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the user's usual permissions
        _move(tmp, path, overwrite)
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return path


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete temp files for ``path`` whose writing process is gone; returns what was removed."""
    removed = []
    for candidate in _folder(path).glob(f".{_glob_escape(path.name)}.*.tmp"):
        pid_text = candidate.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid_text.isdigit() and not _alive(int(pid_text)):
            try:
                candidate.unlink()
                removed.append(candidate)
            except OSError:
                pass  # someone else's file or already gone: not ours to fight over
    return removed


def _move(tmp: str, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if path exists: no window in which another file could be replaced
    except FileExistsError:
        raise _appeared(path) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        if path.exists():  # a file system without hard links: check, then rename
            raise _appeared(path) from None
        os.replace(tmp, path)


def _appeared(path: Path) -> GetMusicError:
    return GetMusicError(f"{printable(path)} appeared while this run worked; not replaced", "use --force to replace it")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _glob_escape(name: str) -> str:
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in name)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
