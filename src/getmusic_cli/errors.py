"""The one exception type that reaches the user as a single line (cli.py prints it and exits non-zero)."""


class GetMusicError(Exception):
    """A problem the user can act on: bad input, missing file, unsupported request.

    The message is one line, says what is wrong and, where possible, what to do about it.
    """
