"""docs/magics.md cannot drift from the magics: checked against their registration, argument
parsers, docstrings and traitlets (the way Datasette fails a build on an undocumented setting).

Both directions: everything the code has is documented (with its help text verbatim), and
everything the page shows exists (every option in a table, every example line parses).
"""

from __future__ import annotations

import argparse
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from IPython.core.magic_arguments import parse_argstring

from csvanalyst_kernel.magics import AskMagics, split_options

DOC = Path(__file__).resolve().parents[3] / "docs" / "magics.md"
TEXT = DOC.read_text()

LINE_MAGICS: dict[str, str] = dict(AskMagics.magics["line"])
CELL_MAGICS: dict[str, str] = dict(AskMagics.magics["cell"])
MAGICS = sorted(set(LINE_MAGICS) | set(CELL_MAGICS))
CONFIG_TRAITS = AskMagics.class_traits(config=True)


def norm(text: str) -> str:
    """Compare prose without markup: backticks dropped (rST ``x`` and Markdown `x`), spaces collapsed."""
    return " ".join(text.replace("`", "").split())


def h2() -> list[tuple[str, str]]:
    """The page's ``## heading`` sections as (heading, body)."""
    return re.findall(r"^## ([^\n]+)\n(.*?)(?=^## |\Z)", TEXT, re.MULTILINE | re.DOTALL)


def sections() -> dict[str, str]:
    """``## `%%ask` and `%ask` `` → its body; keyed by every magic name its heading mentions."""
    found: dict[str, str] = {}
    for heading, body in h2():
        for name in re.findall(r"%%?(\w+)", heading):
            found[name] = f"{heading}\n{body}"
    return found


SECTIONS = sections()


def method(name: str) -> Callable[..., Any]:
    return getattr(AskMagics, LINE_MAGICS.get(name) or CELL_MAGICS[name])


def parser(name: str) -> argparse.ArgumentParser | None:
    return getattr(method(name), "parser", None)


def summary(name: str) -> str:
    """The docstring's first paragraph (``@magic_arguments`` puts ``::`` and the usage before it)."""
    func = method(name)
    paragraphs = [p for p in re.split(r"\n\s*\n", inspect.cleandoc(func.__doc__ or "")) if p.strip()]
    if getattr(func, "parser", None) is not None:
        paragraphs = paragraphs[2:]
    return norm(paragraphs[0])


def table_rows(section: str) -> list[list[str]]:
    rows = [line for line in section.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in row.strip("|").split(" | ")] for row in rows]
    return [c for c in cells if not set("".join(c)) <= set("- ")]


def actions(name: str) -> list[argparse.Action]:
    p = parser(name)
    return [a for a in p._actions if not isinstance(a, argparse._HelpAction)] if p else []


def test_the_magics_are_the_ones_this_page_was_written_for() -> None:
    """A new magic must get a section here (and this list updated with it)."""
    assert MAGICS == [
        "ask", "ask_capsule", "ask_datasets", "ask_history", "ask_panel",
        "ask_replay", "ask_sql", "ask_upload", "ask_use",
    ]  # fmt: skip


@pytest.mark.parametrize("name", MAGICS)
def test_every_magic_has_a_section_with_its_docstring_summary(name: str) -> None:
    assert name in SECTIONS, f"docs/magics.md has no '## ...%{name}...' section"
    section = SECTIONS[name]
    heading = section.splitlines()[0]
    if name in LINE_MAGICS:
        assert re.search(rf"(?<!%)%{name}\b", heading), f"the heading should name the line magic %{name}"
    if name in CELL_MAGICS:
        assert f"%%{name}" in heading, f"the heading should name the cell magic %%{name}"
    assert summary(name) in norm(section), f"%{name}: the docstring's summary is not in its section"
    assert f"`%{name}" in TEXT.split("\n## ", 1)[0], f"%{name} is missing from the overview table"


@pytest.mark.parametrize("name", MAGICS)
def test_every_option_is_documented_with_its_help(name: str) -> None:
    rows = table_rows(SECTIONS[name])
    for action in actions(name):
        if action.option_strings:
            row = next((r for r in rows if all(f"`{o}" in r[0] for o in action.option_strings)), None)
            what = " / ".join(action.option_strings)
        else:  # a positional argument, documented in capitals: `RUN_ID`
            row = next((r for r in rows if f"`{action.dest.upper()}`" in r[0]), None)
            what = action.dest.upper()
        assert row is not None, f"%{name}: {what} has no row in its options table"
        if action.help:
            assert norm(action.help) in norm(row[-1]), f"%{name} {what}: the help differs from the parser's"


@pytest.mark.parametrize("name", MAGICS)
def test_every_documented_option_exists(name: str) -> None:
    known = {o for a in actions(name) for o in a.option_strings}
    rows = table_rows(SECTIONS[name])[1:]  # the header row names the columns
    documented = {o for row in rows for o in re.findall(r"`(--?[\w-]+)", row[0])}
    assert documented <= known, f"%{name}: documented but not accepted: {sorted(documented - known)}"


@pytest.mark.parametrize("trait", sorted(CONFIG_TRAITS))
def test_every_config_option_is_documented(trait: str) -> None:
    config = next(body for heading, body in h2() if heading == "Configuration")
    row = next((r for r in table_rows(config) if r[0] == f"`AskMagics.{trait}`"), None)
    assert row is not None, f"AskMagics.{trait} is not in the Configuration table"
    t = CONFIG_TRAITS[trait]
    assert row[2] == f"`{t.default_value!r}`", f"AskMagics.{trait}: default {t.default_value!r}, doc {row[2]}"
    assert norm(t.help) == norm(row[3]), f"AskMagics.{trait}: the help differs from the trait's"


def test_every_documented_config_option_exists() -> None:
    documented = set(re.findall(r"AskMagics\.([a-z]\w*)", TEXT))  # NAME in prose is a placeholder
    assert documented <= set(CONFIG_TRAITS), (
        f"not AskMagics options: {sorted(documented - set(CONFIG_TRAITS))}"
    )


def example_lines() -> list[str]:
    """Every magic invocation in the page's ```python examples (``x = %magic ...`` included)."""
    lines = []
    for block in re.findall(r"```python\n(.*?)```", TEXT, re.DOTALL):
        for line in block.splitlines():
            match = re.match(r"^(?:\w+ = )?(%%?\w+.*)$", line)
            if match:
                lines.append(match.group(1))
    return lines


@pytest.mark.parametrize("line", example_lines())
def test_every_example_parses(line: str) -> None:
    magic, _, rest = line.partition(" ")
    name = magic.lstrip("%")
    if magic.startswith("%%"):
        assert name in CELL_MAGICS, f"{magic} is not a cell magic"
    elif magic == "%config":
        assert re.fullmatch(r"AskMagics\.\w+ = .+", rest), rest
        return
    else:
        assert name in LINE_MAGICS, f"{magic} is not a line magic"
    if parser(name) is None:
        return
    if name in ("ask", "ask_sql"):  # options, then free text (what the magics themselves do)
        options, text = split_options(method(name), rest)
        parse_argstring(method(name), options)
        assert text or magic.startswith("%%"), f"{line!r}: no question or SQL after the options"
    else:
        parse_argstring(method(name), rest)
    assert not rest.rstrip().endswith("?"), f"{line!r}: IPython would read the trailing ? as help"
