"""Page names: one per case, all different, the same before and after the cases run."""
from __future__ import annotations

import os
from typing import Sequence

from ..records import CaseResult

__all__ = ["page_names"]


def page_names(results: Sequence[CaseResult]) -> list[str]:
    """One page name per result, all different: the case's name, prefixed by its file where names repeat.

    Only `name` and `file` are read, so the cases themselves give the same names before they run.
    The prefix is for a name found in several files. A name still taken (two cases with one name
    in one file, declared in a loop or redefined; two files of one name in different folders)
    gets a suffix `-2`, `-3`, … in the order of the results, the first keeping the plain name.
    Names are told apart as a case-insensitive file system would (`F.md` is `f.md` there), and
    `index` is the index's own.
    """
    files: dict = {}
    for r in results:
        files.setdefault(r.name, set()).add(r.file)
    wanted = [r.name if len(files[r.name]) == 1 else f"{os.path.splitext(os.path.basename(r.file))[0]}.{r.name}"
              for r in results]
    taken = {"index"}
    own = {w.casefold() for w in wanted}  # never take a name that another case has as its own
    tried: dict = {}  # name -> the last suffix tried for it, so repeats cost one step each
    names = []
    for name in wanted:
        if name.casefold() in taken:
            n = tried.get(name.casefold(), 1) + 1
            while f"{name}-{n}".casefold() in taken or f"{name}-{n}".casefold() in own:
                n += 1
            tried[name.casefold()] = n
            name = f"{name}-{n}"
        taken.add(name.casefold())
        names.append(name)
    return names
