"""csvanalyst in Jupyter: ``%load_ext csvanalyst_kernel`` for the ``%%ask`` magics, ``ChatPanel()``
for the chat widget, ``Client`` for the HTTP API.

Importing this package is cheap and pulls in none of the server's dependencies (fastapi,
duckdb, docker, ...): everything talks to the sandbox server over HTTP, and the public names
below are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from csvanalyst_kernel.answer import Answer
    from csvanalyst_kernel.client import Client
    from csvanalyst_kernel.errors import ClientError
    from csvanalyst_kernel.magics import AskMagics
    from csvanalyst_kernel.panel import ChatPanel
    from csvanalyst_kernel.session import Session

__all__ = [
    "Answer",
    "AskMagics",
    "ChatPanel",
    "Client",
    "ClientError",
    "Session",
    "load_ipython_extension",
    "unload_ipython_extension",
]

_LAZY = {
    "Answer": "csvanalyst_kernel.answer",
    "AskMagics": "csvanalyst_kernel.magics",
    "ChatPanel": "csvanalyst_kernel.panel",
    "Client": "csvanalyst_kernel.client",
    "ClientError": "csvanalyst_kernel.errors",
    "Session": "csvanalyst_kernel.session",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'csvanalyst_kernel' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext csvanalyst_kernel``: register the magics; ``%config AskMagics.*`` configures them."""
    from csvanalyst_kernel.magics import AskMagics

    magics = AskMagics(shell=ipython, parent=ipython)
    ipython.register_magics(magics)
    cleanups = ipython.input_transformers_cleanup
    if _question_mark_is_not_help not in cleanups:
        cleanups.append(_question_mark_is_not_help)
    # %config finds configurables here; a reload replaces the previous instance.
    ipython.configurables[:] = [c for c in ipython.configurables if not isinstance(c, AskMagics)]
    ipython.configurables.append(magics)


def _question_mark_is_not_help(lines: list[str]) -> list[str]:
    """``%ask How many orders are there?`` is a question, not IPython's ``obj?`` help syntax:
    rewrite such a line into an explicit magic call before IPython's help transform sees it."""
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%ask ", "%ask\t")) and line.rstrip().endswith("?"):
            indent = line[: len(line) - len(stripped)]
            argument = stripped[len("%ask") :].strip()
            newline = "\n" if line.endswith("\n") else ""
            line = f"{indent}get_ipython().run_line_magic('ask', {argument!r}){newline}"
        out.append(line)
    return out


def unload_ipython_extension(ipython: Any) -> None:
    from csvanalyst_kernel.magics import AskMagics

    for kind in ("line", "cell"):
        table = ipython.magics_manager.magics[kind]
        for name in [n for n, f in table.items() if isinstance(getattr(f, "__self__", None), AskMagics)]:
            del table[name]
    ipython.magics_manager.registry.pop("AskMagics", None)
    ipython.configurables[:] = [c for c in ipython.configurables if not isinstance(c, AskMagics)]
    if _question_mark_is_not_help in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(_question_mark_is_not_help)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the prebuilt side panel lives (``jupyter labextension develop``); wheels install it
    as shared data under share/jupyter/labextensions/csvanalyst."""
    return [{"src": "labextension", "dest": "csvanalyst"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The side panel's ``/csvanalyst/api`` routes (``csvanalyst_kernel.serverext``)."""
    return [{"module": "csvanalyst_kernel.serverext"}]
