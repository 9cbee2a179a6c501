"""How cells reach the magics: questions ending in '?', timing-independent outputs, one run_id."""

from __future__ import annotations

from typing import Any

import pytest


def test_a_line_question_ending_in_a_question_mark_is_asked_not_helped(shell: Any) -> None:
    code = shell.transform_cell("%ask -d ecommerce How many orders are there by status?\n")
    assert (
        code.strip()
        == "get_ipython().run_line_magic('ask', '-d ecommerce How many orders are there by status?')"
    )
    assert "pinfo" in shell.transform_cell("len?\n")  # IPython's own help syntax still works
    shell.run_cell("answer = None\n%ask -d ecommerce How many orders are there by status?\n")


def test_progress_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from csvanalyst_kernel.magics import AskMagics

    monkeypatch.setenv("CSVANALYST_PROGRESS", "0")
    assert AskMagics().progress is False
    monkeypatch.delenv("CSVANALYST_PROGRESS")
    assert AskMagics().progress is True


def test_a_rejected_run_names_its_run_id_once(shell: Any) -> None:
    answer = shell.run_cell_magic("ask_sql", "-d ecommerce", "DROP TABLE orders")
    text = answer._repr_mimebundle_()["text/plain"]
    assert text.count(answer.run_id) == 1
