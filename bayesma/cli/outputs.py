"""Output files: written into a temporary directory and moved into place only when the run succeeds.

A run that fails (bad input, a bug, Ctrl-C) leaves no partial or empty output
directory behind; a write that fails names the path the user asked for.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bayesma.cli.errors import InputError

__all__ = ["safe_name", "staged_dir", "staged_file", "writing"]


def safe_name(value: object) -> str:
    """A value of a ``--by`` column as part of a file name (``forest_<value>.png``)."""
    return re.sub(r"[^\w.-]+", "_", str(value)).strip("_") or "group"


def _fail(path: Path, exc: OSError, what: str = "cannot write") -> InputError:
    reason = exc.strerror or str(exc)
    err = InputError(f"{what} {path}: {reason}")
    return err


@contextlib.contextmanager
def writing(shown: Path) -> Iterator[None]:
    """Turn an OSError raised inside into an input error naming *shown* (the path the user sees)."""
    try:
        yield
    except OSError as exc:
        raise _fail(shown, exc) from exc


def _existing_ancestor(path: Path) -> Path:
    p = path.absolute().parent
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


@contextlib.contextmanager
def staged_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory; when the block succeeds, move its files into *final*.

    *final* is created (with its parents) only then: a new directory is the temporary one
    renamed (one atomic step); into an existing directory the files are moved one by one, and
    if one move fails the files already moved are taken back and the files they replaced
    restored, so *final* holds either all the new files or none. On any exception the
    temporary directory is removed and *final* is left as it was.

    Raises
    ------
    InputError
        *final* exists and is not a directory, or a directory or file cannot
        be created or written there (the message names the path).
    """
    final = Path(final)
    if final.exists() and not final.is_dir():
        raise InputError(f"cannot write the output directory {final}: a file of that name exists")
    base = final if final.is_dir() else _existing_ancestor(final)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".bayesma-tmp-", dir=base))
    except OSError as exc:
        raise _fail(final, exc, "cannot create the output directory") from exc
    try:
        yield tmp
        if not final.exists():
            _publish_new(tmp, final)
        else:
            _publish_into(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _move(src: Path, dst: Path) -> None:
    try:
        os.replace(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(str(src), str(dst))


def _publish_new(tmp: Path, final: Path) -> None:
    """The staged directory becomes *final* (its parents created; nothing is left if that fails)."""
    created = []
    p = final.absolute().parent
    while not p.exists():
        created.append(p)
        p = p.parent
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's 0700 -> what mkdir would have made
        _move(tmp, final)
    except OSError as exc:
        for d in created:  # the parents made for it, innermost first
            with contextlib.suppress(OSError):
                d.rmdir()
        raise _fail(final, exc, "cannot create the output directory") from exc


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish_into(tmp: Path, final: Path) -> None:
    """Move the staged files into the existing *final*, all or none."""
    backup = Path(tempfile.mkdtemp(prefix=".bayesma-old-", dir=final))
    moved: list[tuple[Path, Path | None]] = []  # (target, its previous version in backup)
    try:
        for item in sorted(tmp.iterdir()):
            target = final / item.name
            try:
                if target.is_dir() and not item.is_dir():
                    raise IsADirectoryError(errno.EISDIR, "a directory of that name exists", str(target))
                old = None
                if target.exists():
                    old = backup / item.name
                    _move(target, old)
                moved.append((target, old))
                _move(item, target)
            except OSError as exc:
                for done, old in reversed(moved):  # take the new files back, restore the old ones
                    with contextlib.suppress(OSError):
                        if done.is_dir() and not done.is_symlink():
                            shutil.rmtree(done)
                        elif done.exists():
                            done.unlink()
                        if old is not None:
                            _move(old, done)
                raise _fail(target, exc) from exc
    finally:
        shutil.rmtree(backup, ignore_errors=True)


@contextlib.contextmanager
def staged_file(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary file path beside *final*; move it onto *final* when the block succeeds.

    The file's directory is created only on success; a failure removes the
    temporary file and leaves nothing new behind.
    """
    final = Path(final)
    if final.is_dir():
        raise InputError(f"cannot write {final}: it is a directory")
    with staged_dir(final.parent) as tmp:
        yield tmp / final.name
