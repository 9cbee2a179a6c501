"""DuckDB result values → JSON values, and rows cut to the output budget.

The choices, so every client sees the same thing for the same data:

    DATE / TIMESTAMP / TIME     ISO 8601 text ("2024-01-31", "2024-01-31T10:00:00")
    TIMESTAMP WITH TIME ZONE    ISO 8601 with its offset
    INTERVAL                    ISO 8601 duration ("P3DT5S")
    DECIMAL                     float (JSON has no decimal; totals are rounded to cents anyway)
    DOUBLE NaN / ±infinity      null (JSON has neither)
    BLOB                        lower-case hex text
    UUID, anything unknown      its text
    LIST / STRUCT / MAP         arrays / objects, converted element by element (map keys as text)

>>> to_json(Decimal("1.50")), to_json(float("nan")), to_json(date(2024, 1, 31))
(1.5, None, '2024-01-31')
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID


def to_json(value: Any) -> Any:
    """One DuckDB value as a JSON-serialisable value (see the module docstring)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return iso_duration(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(to_json(k)): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return str(value)


def iso_duration(value: timedelta) -> str:
    """``timedelta(days=3, seconds=5)`` → ``"P3DT5S"`` (negative durations get a leading minus).

    >>> iso_duration(timedelta(days=1, hours=2, microseconds=500000))
    'P1DT2H0.5S'
    """
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    secs = f"{seconds + value.microseconds / 1e6:g}" if value.microseconds else str(seconds)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M")) if n) + (
        f"{secs}S" if seconds or value.microseconds else ""
    )
    text = f"P{value.days}D" if value.days else "P"
    if clock:
        text += "T" + clock
    return sign + (text if text != "P" else "PT0S")


def encoded_size(value: Any) -> int:
    """Bytes ``value`` takes in the response (compact separators, ASCII escapes)."""
    return len(json.dumps(value, separators=(",", ":"), allow_nan=False))


def cap_rows(
    rows: Iterable[Sequence[Any]], *, max_rows: int, budget_bytes: int
) -> tuple[list[list[Any]], bool]:
    """Convert rows until ``max_rows`` or the byte budget is reached; say whether any were left out.

    ``rows`` may yield one more row than ``max_rows``: that row only proves truncation.
    """
    kept: list[list[Any]] = []
    used = 2  # the brackets of the rows array
    for row in rows:
        if len(kept) == max_rows:
            return kept, True
        converted = [to_json(v) for v in row]
        size = encoded_size(converted) + (1 if kept else 0)
        if used + size > budget_bytes:
            return kept, True
        kept.append(converted)
        used += size
    return kept, False
