"""Writing the reports folder: every page rendered, then put in place at once, nothing else lost."""
from __future__ import annotations

import os
import shutil
import stat
import tempfile

__all__ = ["out_problem", "write_reports"]


def out_problem(out: str) -> str | None:
    """Why `write_reports` could not put a folder at `out`, or None: checked before any case runs.

    `out` must be a folder or not exist yet; the nearest of its parents that
    exists must be a folder this process may write in, since the reports are
    written beside `out` and renamed into place (the missing parents are
    made then, not now: a run that fails writes nothing). Whether it may is
    found by trying (`_cannot_make_in`): permission bits do not stop root,
    while a read-only or virtual file system (`/proc`) stops everyone.
    """
    target = os.path.abspath(out)
    if os.path.exists(target) and not os.path.isdir(target):
        return "exists and is not a folder; give a folder for the reports"
    parent = os.path.dirname(target)
    while not os.path.exists(parent):  # a dangling link is not a folder either
        if os.path.islink(parent) or os.path.dirname(parent) == parent:
            break
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        return f"{parent} is not a folder, so the reports cannot be written under it"
    # the staging folder is made beside `out`; what a run does not write is moved out of `out` itself
    for folder in [parent] + ([target] if os.path.isdir(target) else []):
        why = _cannot_make_in(folder)
        if why:
            return f"cannot write in {folder} ({why})"
    return None


def _cannot_make_in(folder: str) -> str | None:
    """Why no folder can be made (and removed) in `folder`, found by doing it; None when it can."""
    try:
        probe = tempfile.mkdtemp(prefix=".compare-probe-", dir=folder)
    except OSError as exc:
        return f"making a folder there fails: {exc.strerror or exc}"
    try:
        os.rmdir(probe)
    except OSError as exc:
        return f"removing a folder there fails: {exc.strerror or exc}"
    return None


def _generated(name: str) -> bool:
    """Is this entry of the reports folder one that a run writes (and so replaces)?"""
    return name == "results.json" or (name.endswith((".md", ".png")) and not name.startswith("."))


def _folder_mode(target: str) -> int:
    """The mode the reports folder keeps: its own, or the umask's default for a new folder.

    `mkdtemp` makes the staging folder 0700; renamed into place unchanged, it
    would make a shared or served reports folder private.
    """
    if os.path.isdir(target):
        return stat.S_IMODE(os.stat(target).st_mode)
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return 0o777 & ~mask


def write_reports(results, meta, out: str, pictures: dict[str, bytes] | None = None,
                  rendered: dict[str, tuple[str, dict]] | None = None) -> None:
    """Render every page, then put them in place at once.

    `pictures` maps a page name to its PNG, written beside the page as
    `PAGE.png` and embedded in it. `rendered` maps a page name to its page
    and its `results.json` entry where the workers have made them already.

    The pages go to a temporary folder beside `out`, which replaces `out`
    only when all are written: a run that dies midway leaves the previous
    reports as they were. What a run does not write (a log, a user's notes,
    a subfolder) is moved into the new folder first, by rename, so nothing
    else is lost and a file still open for writing stays the same file.
    """
    target = os.path.abspath(out)
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.new-", dir=parent)
    kept: list[str] = []
    try:
        pictures = pictures or {}
        for name, text in _pages(results, meta, pictures, rendered or {}).items():
            with open(os.path.join(staging, name), "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
        for page, png in pictures.items():
            with open(os.path.join(staging, f"{page}.png"), "wb") as f:
                f.write(png)
        os.chmod(staging, _folder_mode(target))
        _swap(staging, target, kept)
    except BaseException:
        for name in kept:  # the swap did not happen: the kept entries go back
            if os.path.exists(target):
                os.rename(os.path.join(staging, name), os.path.join(target, name))
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _pages(results, meta, pictures: dict[str, bytes], rendered: dict[str, tuple[str, dict]]) -> dict[str, str]:
    """File name -> text: the index, results.json and one page per case (made now where not rendered yet)."""
    from .render.report import page_names, render_case, render_index
    from .render.results_json import render_json

    names = page_names(results)
    files = {"index.md": render_index(results, meta),
             "results.json": render_json(results, meta, [rendered.get(page, (None, None))[1] for page in names])}
    for result, page in zip(results, names):
        if page in rendered:
            files[f"{page}.md"] = rendered[page][0]
        else:
            files[f"{page}.md"] = render_case(result, meta, picture=f"{page}.png" if page in pictures else None)
    return files


def _swap(staging: str, target: str, kept: list[str]) -> None:
    """Put `staging` at `target`: what a run does not write moves over first (named in `kept` until the
    swap is done), the previous folder is renamed aside and removed only once the new one is in place."""
    parent = os.path.dirname(target)
    old = None
    if os.path.exists(target):
        for name in sorted(os.listdir(target)):
            if not _generated(name):
                os.rename(os.path.join(target, name), os.path.join(staging, name))
                kept.append(name)
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.old-", dir=parent)
        os.rmdir(old)
        os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:  # put the previous reports back where they were
        if old:
            os.rename(old, target)
        raise
    kept.clear()
    if old:
        shutil.rmtree(old, ignore_errors=True)
