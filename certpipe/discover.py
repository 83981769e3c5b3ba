"""Find input files and read them: the only module that reads files.

Directories are walked recursively in a deterministic (sorted) order. A file named on the command
line is always examined; inside a walked directory a file is examined when its name looks like
certificate material or its first bytes do, and is otherwise skipped and counted. Symlinks that lead
out of the tree are not followed unless asked.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from .errors import UsageError
from .models import SourceFile, SourceRef

CERT_SUFFIXES = frozenset(
    {
        ".pem",
        ".crt",
        ".cer",
        ".der",
        ".key",
        ".p12",
        ".pfx",
        ".p7b",
        ".p7c",
        ".p7",
        ".json",
        ".cert",
        ".ca-bundle",
        ".chain",
        ".b64",
        ".pk8",
        ".keystore",
        ".jks",
        ".csr",
    }
)
VCS_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", "node_modules"})
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SNIFF = 512


def discover(
    roots: Sequence[str],
    *,
    follow_symlinks: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    exclude: Sequence[str] = (),
    base: str | None = None,
) -> tuple[SourceRef, ...]:
    """Every file under the roots, in a stable order, each either to examine or with a skip reason.

    exclude globs are relative to base (the configuration's folder) when given, else to each walked
    root; with a base they also skip named files, so a hook passing file names honours them.
    """
    from .config import relative

    refs: list[SourceRef] = []
    seen: set[str] = set()
    for root in roots:
        if not root:
            raise UsageError("an empty path was given.")
        path = Path(root)
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{root}: no such file or directory.", path=root)
        # Where the root lies below base: the prefix of every path the globs see (None: outside base).
        prefix = relative(root, base) if base is not None else ""
        if path.is_dir():
            refs.extend(_walk(path, root, follow_symlinks, max_bytes, exclude, prefix))
        else:
            ref = _named_file(path, root, max_bytes)
            if base is not None and prefix is not None and _excluded(prefix, exclude):
                ref = replace(ref, skip_reason="excluded by the configuration")
            refs.append(ref)
    unique = []
    for ref in refs:
        if ref.path not in seen:
            seen.add(ref.path)
            unique.append(ref)
    return tuple(unique)


def read(ref: SourceRef, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceFile:
    """The bytes of one examined file (raises OSError, ValueError for an oversized file)."""
    return SourceFile(ref.path, _read_regular(ref.fs_path, max_bytes))


def read_bytes(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a small side file (password list, names map, trust anchors)."""
    try:
        return _read_regular(path, max_bytes)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}.", path=path) from exc


def _read_regular(path: str, max_bytes: int) -> bytes:
    """Read a regular file of at most max_bytes. Opened non-blocking and checked with fstat, so a FIFO
    or device swapped in after the walk cannot hang the run; read in chunks, so a huge limit costs
    nothing up front."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")
        if st.st_size > max_bytes:
            raise ValueError(f"larger than the {max_bytes}-byte limit (use --max-file-size)")
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > max_bytes:
        raise ValueError(f"larger than the {max_bytes}-byte limit (use --max-file-size)")
    return b"".join(chunks)


def _named_file(path: Path, shown: str, max_bytes: int) -> SourceRef:
    try:
        st = path.stat()
    except OSError as exc:
        raise UsageError(f"{shown}: cannot be read ({exc.strerror or exc}).", path=shown) from exc
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{shown}: not a regular file.", path=shown)
    return SourceRef(shown_path(shown), str(path), "", st.st_size, None)


def _walk(
    top: Path,
    shown_root: str,
    follow_symlinks: bool,
    max_bytes: int,
    exclude: Sequence[str],
    prefix: str | None,  # top relative to the configuration's folder; None: exclude does not apply
) -> Iterator[SourceRef]:
    real_top = os.path.realpath(top)
    visited: set[str] = {real_top}
    stack: list[Path] = [top]
    while stack:
        directory = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            rel = directory.relative_to(top).as_posix() if directory != top else "."
            yield SourceRef(
                _join(shown_root, rel),
                str(directory),
                shown_root,
                0,
                f"folder cannot be read ({exc.strerror or exc})",
            )
            continue
        subdirs: list[Path] = []
        for entry in entries:
            full = Path(entry.path)
            rel = full.relative_to(top).as_posix()
            shown = _join(shown_root, rel)
            if prefix is not None and _excluded(_join(prefix, rel), exclude):
                continue
            if entry.is_symlink():
                target = os.path.realpath(full)
                inside = target == real_top or target.startswith(real_top + os.sep)
                if not inside and not follow_symlinks:
                    what = "folder symlink" if os.path.isdir(full) else "symlink"
                    yield SourceRef(
                        shown,
                        str(full),
                        shown_root,
                        0,
                        f"{what} leads out of the tree (use --follow-symlinks)",
                    )
                    continue
                if os.path.isdir(full):
                    if target not in visited:
                        visited.add(target)
                        subdirs.append(full)
                    continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in VCS_DIRS:
                    real = os.path.realpath(full)
                    if real not in visited:
                        visited.add(real)
                        subdirs.append(full)
                continue
            yield _walked_file(full, shown, shown_root, max_bytes)
        # Reverse so popping visits subdirectories in sorted order: depth-first, deterministic.
        stack.extend(reversed(subdirs))


def _walked_file(path: Path, shown: str, root: str, max_bytes: int) -> SourceRef:
    try:
        st = path.stat()
    except OSError as exc:
        return SourceRef(shown, str(path), root, 0, f"cannot be read ({exc.strerror or exc})")
    if not stat.S_ISREG(st.st_mode):
        return SourceRef(shown, str(path), root, 0, "not a regular file")
    if path.suffix.lower() in CERT_SUFFIXES or st.st_size > max_bytes:
        return SourceRef(shown, str(path), root, st.st_size, None)
    if st.st_size == 0:
        return SourceRef(shown, str(path), root, 0, "empty file, not named like certificate material")
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF)
    except OSError as exc:
        return SourceRef(shown, str(path), root, st.st_size, f"cannot be read ({exc.strerror or exc})")
    if _looks_like_material(head, st.st_size):
        return SourceRef(shown, str(path), root, st.st_size, None)
    return SourceRef(shown, str(path), root, st.st_size, "not certificate material (by name and content)")


def _looks_like_material(head: bytes, size: int) -> bool:
    if b"-----BEGIN " in head or b"-\x00-\x00-\x00-\x00-\x00B\x00E\x00G\x00I\x00N\x00" in head:
        return True
    # A DER SEQUENCE whose declared length accounts for the whole file.
    if len(head) >= 4 and head[0] == 0x30:
        first = head[1]
        if first < 0x80:
            return first + 2 == size
        n = first & 0x7F
        if 1 <= n <= 4 and len(head) >= 2 + n:
            length = int.from_bytes(head[2 : 2 + n], "big")
            return length + 2 + n == size or n == 0x80
    return False


def _excluded(rel: str, patterns: Sequence[str]) -> bool:
    if not patterns:
        return False
    from .config import matches

    return any(matches(rel, p) for p in patterns)


def _join(root: str, rel: str) -> str:
    root = root.rstrip("/")
    if root in ("", "."):
        return shown_path(rel)
    return shown_path(f"{root}/{rel}")


def shown_path(path: str) -> str:
    """A path as certpipe prints it: undecodable bytes as U+FFFD, control characters escaped, so a
    file name can neither break UTF-8 output nor forge lines or terminal escapes."""
    text = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
