"""The chart of an answer: the server's Vega-Lite spec with the result rows as its data.

The server decides whether a result is chartable and sends the spec (``RunResponse.chart``)
built from the plan; the kernel only fills in the rows, so the spec stays data, never code.
JupyterLab renders ``application/vnd.vegalite.v5+json`` natively.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox_server.schemas import Result

VEGALITE_MIME = "application/vnd.vegalite.v5+json"


def records(result: Result) -> list[dict[str, Any]]:
    names = [c.name for c in result.columns]
    return [dict(zip(names, row, strict=False)) for row in result.rows]


def chart_spec(chart: dict[str, Any], result: Result) -> dict[str, Any]:
    """A copy of the spec whose ``data`` holds the result rows (an inline ``values`` is kept)."""
    spec = copy.deepcopy(chart)
    data = spec.get("data")
    if not (isinstance(data, dict) and isinstance(data.get("values"), list)):
        spec["data"] = {"values": records(result)}
    spec.setdefault("$schema", "https://vega.github.io/schema/vega-lite/v5.json")
    return spec


def describe(chart: dict[str, Any]) -> str:
    """One line for consoles: ``line chart: revenue by month``."""
    mark = chart.get("mark")
    mark_name = mark.get("type") if isinstance(mark, dict) else mark
    encoding = chart.get("encoding")
    encoding = encoding if isinstance(encoding, dict) else {}
    x_enc, y_enc = encoding.get("x"), encoding.get("y")
    x = x_enc.get("field") if isinstance(x_enc, dict) else None
    y = y_enc.get("field") if isinstance(y_enc, dict) else None
    title = chart.get("title") if isinstance(chart.get("title"), str) else None
    return f"{mark_name or 'a'} chart: " + (title or (f"{y} by {x}" if x and y else "the result"))
