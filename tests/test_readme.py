"""Every Python block of the README runs as written, and shows what the README says it shows.

How the README's fenced blocks are read (every fence names its kind, so none escapes):

- ```python: run, in order, in one namespace (fresh for each test), as if each block
  were its own module; a block whose first line is a comment naming a file (`# cube.py`)
  is that file, so a message that names the file and line of a class names it as a
  reader who saved the block would see it. Blocks marked ```python slow (a first
  torch.compile takes tens of seconds) run only in the test marked `slow`.
- ```output, right after a python block: what that block prints, then the exception it
  raises as Python prints it last (`AssertionError: ...`), where `...` stands for
  anything (doctest's ELLIPSIS). A python block with no output block after it must print
  nothing and raise nothing.
- a `>` quote right after a python block: how Jupyter shows the value of the block's last
  expression (its markdown); each quoted line is a line of it, in order, spaces aside,
  with `…` for what the quote leaves out.
- ```sh and ```text: commands and plain text, not run (the quick start runs in CI).
"""
from __future__ import annotations

import ast
import contextlib
import dataclasses
import doctest
import io
import os
import re
import sys
import traceback
import types

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = {"python", "output", "sh", "text"}
FENCE = re.compile(r"^```(.*)$")
NAMED = re.compile(r"#\s*([\w.-]+\.py)\s*$")


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced block of the README and what follows it."""

    kind: str
    """The fence's first word: python, output, sh or text."""
    slow: bool
    """Marked `slow` after its kind: run only by the slow test."""
    line: int
    """The README's line of its first line of code."""
    code: str
    quote: list[str] | None = None
    """The `>` lines right after it, without their `>`, where there are some."""


def blocks(text: str) -> list[Block]:
    """The README's fenced blocks in order; an unmarked or unknown fence is an error."""
    lines = text.splitlines()
    found, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        words = match.group(1).split()
        assert words and words[0] in KINDS, f"README.md:{i + 1}: mark the block as one of {sorted(KINDS)}"
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        quote = []
        while end + 1 + len(quote) < len(lines) and lines[end + 1 + len(quote)].startswith(">"):
            quote.append(lines[end + 1 + len(quote)][1:].strip())
        found.append(Block(words[0], "slow" in words[1:], i + 2, "\n".join(lines[i + 1:end]) + "\n",
                           quote or None))
        i = end + 1
    return found


def _readme() -> list[Block]:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return blocks(f.read())


@dataclasses.dataclass
class Ran:
    """What running one python block gave."""

    block: Block
    printed: str
    """Everything it printed."""
    value: object = None
    """The value of its last statement, where that is an expression."""
    error: BaseException | None = None
    """The exception it raised, if it did."""

    def shown(self) -> str:
        """What a reader running the block sees: its output, then the exception's last lines."""
        if self.error is None:
            return self.printed
        return self.printed + "".join(traceback.format_exception_only(type(self.error), self.error))


def _run(block: Block, k: int, namespace: dict, folder) -> Ran:
    """Run `block` as a module whose globals start as `namespace`; its names go back into `namespace`."""
    named = NAMED.match(block.code.splitlines()[0])
    name = named.group(1) if named else f"readme_{k}.py"
    path = folder / name
    path.write_text(block.code)  # where `inspect` reads a function's or a class's source
    module = types.ModuleType(f"readme_{name[:-3]}")
    module.__dict__.update({n: v for n, v in namespace.items() if not n.startswith("__")})
    module.__file__ = str(path)
    sys.modules[module.__name__] = module  # where `inspect` finds a class's file
    printed = io.StringIO()
    ran = Ran(block, "")
    try:
        with contextlib.redirect_stdout(printed):
            ran.value = _exec(block.code, str(path), module.__dict__)
    except Exception as exc:  # the README says which, in the output block
        ran.error = exc
    ran.printed = printed.getvalue()
    namespace.update({n: v for n, v in module.__dict__.items() if not n.startswith("__")})
    return ran


def _exec(code: str, path: str, scope: dict):
    """Run `code`; the value of its last statement when that is an expression (as a notebook cell shows it)."""
    tree = ast.parse(code, path)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, path, "exec"), scope)
    if last is not None:
        return eval(compile(ast.Expression(last.value), path, "eval"), scope)
    return None


def run_readme(folder, *, slow: bool, found: list[Block] | None = None) -> list[tuple[Ran, Block | None]]:
    """Each python block run (the slow ones only when `slow`), with the output block after it, if any."""
    found = _readme() if found is None else found
    namespace: dict = {}
    runs = []
    for k, block in enumerate(found):
        if block.kind != "python" or (block.slow and not slow):
            continue
        after = found[k + 1] if k + 1 < len(found) else None
        expected = after if after is not None and after.kind == "output" and after.line == block.line + \
            block.code.count("\n") + 2 else None
        runs.append((_run(block, k, namespace, folder), expected))
    return runs


def _shows(quote: list[str], markdown: str) -> bool:
    """Whether each quoted line is a line of `markdown`, in order, spaces aside, `…` for anything."""
    lines = iter(" ".join(line.split()) for line in markdown.splitlines())
    for quoted in filter(None, quote):
        pattern = re.compile(".*".join(re.escape(part) for part in " ".join(quoted.split()).split("…")))
        if not any(pattern.fullmatch(line) for line in lines):
            return False
    return True


def _problems(runs: list[tuple[Ran, Block | None]]) -> list[str]:
    """What differs from the README, block by block."""
    checker, problems = doctest.OutputChecker(), []
    for ran, expected in runs:
        where = f"README.md:{ran.block.line}"
        want = expected.code if expected is not None else ""
        if not checker.check_output(want, ran.shown(), doctest.ELLIPSIS):
            detail = "".join(traceback.format_exception(ran.error)) if ran.error and not expected else ran.shown()
            problems.append(f"{where}: the README shows\n{want}\nbut the block gives\n{detail}")
        if ran.block.quote is not None:
            shown = ran.value._repr_markdown_() if hasattr(ran.value, "_repr_markdown_") else repr(ran.value)
            if not _shows(ran.block.quote, shown):
                problems.append(f"{where}: the quote after the block is not what Jupyter shows:\n{shown[:2000]}")
    return problems


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A fresh working directory, where the blocks that name a file are saved; their modules go after."""
    monkeypatch.chdir(tmp_path)
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("readme_"):
            del sys.modules[name]


def test_every_fence_is_marked_and_the_quick_start_is_two_shell_commands():
    found = _readme()
    assert {b.kind for b in found} == KINDS
    assert sum(b.kind == "python" for b in found) >= 6
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        quick = f.read().split("<!-- quick-start -->")[1].split("<!-- /quick-start -->")[0]
    assert [b.kind for b in blocks(quick)] == ["sh"]
    assert [line for line in quick.splitlines() if line.startswith("python3 -m venv")] == \
        [line for line in quick.splitlines() if line.strip() and not line.startswith("```")]
    assert len(blocks(quick)[0].code.splitlines()) == 2


def test_the_readme_blocks_run_and_show_what_the_readme_says(folder):
    runs = run_readme(folder, slow=False)
    assert len(runs) >= 5 and not any(ran.block.slow for ran, _ in runs)
    problems = _problems(runs)
    assert not problems, "\n\n".join(problems)


@pytest.mark.slow
def test_the_readme_blocks_run_as_shown_with_torch_compile_too(folder):
    runs = run_readme(folder, slow=True)
    assert any(ran.block.slow for ran, _ in runs)
    problems = _problems(runs)
    assert not problems, "\n\n".join(problems)


WRONG = """\
```python
import torch
print(1 + 1)
```
```output
3
```
```python
y = nn.Linear(2, 2)
```
```python
raise ValueError("said so")
```
```output
ValueError: said ...
```
```python
class Shown:
    def _repr_markdown_(self):
        return "**agree** ·   `f`: 5 points\\n\\n| a | b   | c |"
Shown()
```
> **agree** · `f`: 5 points
>
> | a | … | c |
```python
Shown()
```
> **disagree** · `f`
```python slow
print("compiled")
```
"""


def test_what_differs_from_the_readme_is_caught(folder):
    """A wrong output, an undefined name, a quote Jupyter does not show; not an exception the README shows."""
    problems = _problems(run_readme(folder, slow=False, found=blocks(WRONG)))
    assert [p.splitlines()[0] for p in problems] == [
        "README.md:2: the README shows", "README.md:9: the README shows",
        "README.md:27: the quote after the block is not what Jupyter shows:"]
    assert "NameError: name 'nn' is not defined" in problems[1]
    with pytest.raises(AssertionError, match="README.md:1: mark the block"):
        blocks("```\nprint(1)\n```\n")
