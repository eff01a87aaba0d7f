"""Careful file access for export and check: one-line comment fields, bounded reads, atomic writes.

Exported modules carry a ``#`` header that names paths and functions, and
``check`` reads files those paths name. Both must be safe on careless or hostile
input: a path with a newline in it must not end the comment it is written in,
a header naming a FIFO or ``/dev/zero`` must not hang or exhaust ``check``, and
a failed write must never leave half a file behind.
"""

from __future__ import annotations

import os
import re
import secrets
import stat

from .errors import S2SADError

#: Largest file ``read_regular`` reads (exported modules with big literal constants stay well below).
MAX_READ_BYTES = 64 * 2**20


class FileSafetyError(S2SADError):
    """A file cannot be read or written safely (not a regular file, too large, unwritable ...)."""


# ------------------------------------------------------------------ comment fields


def escape_comment(text: str) -> str:
    r"""`text` made safe to write inside one ``#`` comment line, and reversible by :func:`unescape_comment`.

    A backslash becomes ``\\``; every character that is not printable (line
    breaks ``\n \r \x0b \x0c \x1c-\x1e \x85 \u2028 \u2029``, other controls,
    lone surrogates from undecodable file names) becomes its ``\x``/``\u``/``\U``
    escape, so no editor, tokenizer or ``str.splitlines`` sees a line break.

    Example:
        >>> escape_comment("a\nb\\c")
        'a\\nb\\\\c'
    """
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch.isprintable():
            out.append(ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def one_line(text: str) -> str:
    r"""`text` with every line break and other unprintable character (but tab) written as its escape.

    For comments that quote source text (``# line 3: ...``): unlike
    :func:`escape_comment` it keeps backslashes as they are, for readability, and
    is not reversible. Python ends a comment only at ``\n`` or ``\r``, but
    ``str.splitlines`` and editors also break at ``\x0b \x0c \x1c-\x1e \x85
    \u2028 \u2029``, which a source line may hold inside a string or comment.

    Example:
        >>> one_line("x = 1  # a\x0bb")
        'x = 1  # a\\x0bb'
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == "\t" else escape_comment(ch) for ch in text)


_ESCAPE = re.compile(r"\\(\\|n|r|t|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def unescape_comment(text: str) -> str:
    r"""The inverse of :func:`escape_comment`.

    Example:
        >>> unescape_comment(escape_comment("dir\u2028name/m.py")) == "dir\u2028name/m.py"
        True
    """

    def one(match):
        code = match.group(1)
        simple = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
        return simple[code] if code in simple else chr(int(code[1:], 16))

    return _ESCAPE.sub(one, text)


# ------------------------------------------------------------------ reading


def read_regular(path: str, limit: int | None = None) -> bytes:
    """The bytes of the regular file `path`, refusing anything else.

    Opened without blocking (a FIFO with no writer does not hang) and checked on
    the open descriptor (no race with a swapped path): FIFOs, devices such as
    ``/dev/zero``, sockets and directories are refused, and so is a file larger
    than `limit` bytes (default :data:`MAX_READ_BYTES`), which is never read past
    the limit even if it grows.

    Raises:
        FileSafetyError: not a regular file, or too large.
        OSError: it cannot be opened (missing, no permission).

    Example:
        >>> read_regular("/dev/zero")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileSafetyError: /dev/zero is not a regular file (a character device)
    """
    limit = MAX_READ_BYTES if limit is None else limit
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileSafetyError(f"{escape_comment(path)} is not a regular file ({file_kind(info.st_mode)})",
                                  hint="name a .py file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise FileSafetyError(f"{escape_comment(path)} is larger than {limit} bytes; s2sad does not read it",
                                  hint="name the exported module or source file itself")
        return b"".join(chunks)
    finally:
        os.close(fd)


def file_kind(mode: int) -> str:
    """A few words for the kind of file `mode` (from ``os.stat``) describes."""
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"),
             (stat.S_ISREG, "a regular file")]
    return next((words for test, words in kinds if test(mode)), "not a regular file")


# ------------------------------------------------------------------ writing


def write_atomically(path: str, data: bytes, mode: int | None = None) -> None:
    """Write `data` to `path` by renaming a finished temporary file over it.

    The temporary file is created next to `path` (same directory, so the rename
    is atomic) with ``O_EXCL`` (never through a planted symlink); readers see the
    old file or the new one, never a partial one, and a failure removes the
    temporary file. `mode` is the permission bits to give the file (those of the
    file it replaces, say); by default the umask decides, as for ``open``.

    Raises:
        OSError: the directory is missing or not writable, the disk is full ...
    """
    directory, base = os.path.split(os.path.abspath(path))
    temp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
