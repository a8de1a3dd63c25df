"""The one exception type that reaches the user as a single line (cli.py prints it and exits non-zero), and the
helpers that keep such lines clean: control characters out, the file named once, OS errors in plain words.
"""

from __future__ import annotations

import errno
import os
import unicodedata
from pathlib import Path


class GetMusicError(Exception):
    """A problem the user can act on: bad input, missing file, unsupported request.

    The message is one line, says what is wrong and, where possible, what to do about it, in words that hold for
    the Python API too. ``cli_hint`` ("use --force to overwrite it") names the command-line flag; only the CLI
    prints it.
    """

    def __init__(self, message: str, cli_hint: str | None = None):
        super().__init__(message)
        self.cli_hint = cli_hint

    def cli_message(self) -> str:
        return f"{self}; {self.cli_hint}" if self.cli_hint else str(self)


def printable(text: object) -> str:
    """``text`` without control characters (a file or track name may hold escape codes or newlines)."""
    return "".join(ch if unicodedata.category(ch)[0] != "C" else "?" for ch in str(text))


def first_line(text: object) -> str:
    lines = str(text).strip().splitlines()
    return printable(lines[0]) if lines else ""


def os_reason(exc: OSError) -> str:
    """'permission denied', 'is a directory', 'no space left on device', ... (lower case, no errno number)."""
    if exc.errno is not None:
        return os.strerror(exc.errno).lower()
    return first_line(exc) or "input/output error"


def write_error(path: str | Path, exc: OSError) -> GetMusicError:
    reason = "is a directory" if exc.errno == errno.EISDIR else os_reason(exc)
    return GetMusicError(f"{printable(path)}: cannot write ({reason})")


def naming_file_once(path: str | Path, message: object) -> str:
    """One line about ``path``: prefixed with the file's name unless the message names it already."""
    text, whole, name = first_line(message), printable(path), printable(Path(path).name)
    if text.startswith((whole, f"{name}:", f"{name} ")):
        return text
    return f"{whole}: {text}"
