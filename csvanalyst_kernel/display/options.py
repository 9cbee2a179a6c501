"""How much an answer shows: the display settings of ``AskMagics``, as one frozen value."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DisplayOptions:
    max_display_rows: int = 50
    show_plan: bool = False  # the plan section starts open (HTML) / is printed (text)
    show_sql: bool = False  # the SQL section starts open (HTML) / is printed (text)
    chart: bool = True  # attach the server's Vega-Lite chart when there is one
