"""write(outputs, out_dir): the only module that writes files. Atomic, 0600 for secrets, idempotent."""

from __future__ import annotations

import contextlib
import enum
import itertools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError

_SAFE = re.compile(r"[^0-9A-Za-z._-]+")


class WriteStatus(enum.StrEnum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Output:
    """One file to write: a path relative to the output folder, its bytes, and whether it is secret."""

    relpath: str
    data: bytes = field(repr=False)
    secret: bool = False
    mode: int | None = None  # default 0644, or 0600 when secret


def safe_component(name: str) -> str:
    """A path component that cannot escape its folder ('..', '/', control characters)."""
    cleaned = _SAFE.sub("-", name).strip(".-") or "unnamed"
    return cleaned[:200]


def prepare(out_dir: str) -> Path:
    """Create the output folder (or check it is one)."""
    path = Path(out_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc}).") from exc
    if not path.is_dir():
        raise UsageError(f"{out_dir}: not a folder.")
    return path


def write(
    outputs: Iterable[Output], out_dir: Path, force: bool = False, overwrite: bool = True
) -> dict[str, WriteStatus]:
    """Write each output atomically; a file already identical is left untouched unless force.

    With overwrite=False an existing file that differs is an error (FileExistsError) unless force.
    """
    statuses: dict[str, WriteStatus] = {}
    fresh: dict[str, bool] = {}  # folder -> this call created it, so nothing in it can be in the way
    top = os.fspath(out_dir)
    for out in outputs:
        rel = out.relpath
        if os.path.isabs(rel) or ".." in rel.replace(os.sep, "/").split("/"):
            raise ValueError(f"refusing to write outside the output folder: {rel!r}")
        folder = os.path.dirname(rel)
        if folder not in fresh:
            fresh[folder] = _make_folder(top, folder)
        target = os.path.join(top, rel)
        if fresh[folder]:
            statuses[rel] = _replace(target, out.data, _mode(out.secret, out.mode))
            continue
        if os.path.islink(target):
            raise FileExistsError(f"{target} is a symlink; certpipe does not write through links in --out")
        statuses[rel] = write_file(
            Path(target), out.data, secret=out.secret, force=force, overwrite=overwrite, mode=out.mode
        )
    return statuses


def _make_folder(top: str, folder: str) -> bool:
    """Create top/folder; True when this call made it (a one-level folder that did not exist)."""
    path = os.path.join(top, folder)
    if folder and os.sep not in folder:
        try:
            os.mkdir(path)
            return True
        except FileExistsError:
            pass
    else:
        os.makedirs(path, exist_ok=True)
    _inside(Path(path), Path(top))
    return False


def _inside(folder: Path, out_dir: Path) -> None:
    """A folder planted as a symlink inside --out must not carry writes elsewhere."""
    real, top = os.path.realpath(folder), os.path.realpath(out_dir)
    if real != top and not real.startswith(top + os.sep):
        raise FileExistsError(
            f"{folder} leads out of the output folder (a symlink?); refusing to write there"
        )


def write_user_file(target: Path, data: bytes) -> None:
    """--output/--report: atomically replace a regular file; write straight into anything else the user
    named (a device such as /dev/null, a FIFO, a symlink's target) rather than replacing it."""
    if target.exists() and (target.is_symlink() or not target.is_file()):
        with open(target, "wb") as fh:
            fh.write(data)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    write_file(target, data, force=True)


def write_file(
    target: Path,
    data: bytes,
    *,
    secret: bool = False,
    force: bool = False,
    overwrite: bool = True,
    mode: int | None = None,
) -> WriteStatus:
    """Write one file atomically (temp file + rename); mode 0600 when it holds a secret."""
    mode = _mode(secret, mode)
    if not force and _same(target, data, mode):
        return WriteStatus.UNCHANGED
    if not (overwrite or force) and target.exists():
        raise FileExistsError(f"{target} exists and differs (use --force to replace it)")
    return _replace(os.fspath(target), data, mode)


def _mode(secret: bool, mode: int | None) -> int:
    return 0o600 if secret else (mode or 0o644)


_serial = itertools.count()
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _replace(target: str, data: bytes, mode: int) -> WriteStatus:
    """Write data to a new temp file beside target (created 0600, never through a link), then rename it
    over target. The temp name ends in .tmp, which remove_stale_temps clears after a kill."""
    folder, name = os.path.split(target)
    while True:
        tmp = os.path.join(folder, f".{name}.{os.getpid()}-{next(_serial)}.tmp")
        try:
            fd = os.open(tmp, _CREATE, 0o600)
            break
        except FileExistsError:  # left by an earlier process with the same pid
            continue
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return WriteStatus.WRITTEN


def _same(target: Path, data: bytes, mode: int) -> bool:
    try:
        st = target.stat()
        if st.st_size != len(data) or (st.st_mode & 0o777) != mode:
            return False
        with open(target, "rb") as fh:
            return fh.read() == data
    except OSError:
        return False


def remove_stale_temps(out_dir: Path) -> int:
    """Delete temp files an interrupted run left behind (they never carry a final name)."""
    removed = 0
    for tmp in out_dir.rglob(".*.tmp"):
        try:
            tmp.unlink()
            removed += 1
        except OSError:
            pass
    return removed
