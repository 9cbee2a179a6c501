"""Formatting result values for people: thousands separators, sensible decimals, aligned numbers.

>>> format_value(1234567)
'1,234,567'
>>> format_value(12345.678)
'12,345.68'
>>> format_value(0.07342)
'0.0734'
>>> format_value(True)
'true'
>>> is_numeric_column("DECIMAL(10,2)", [1.5])
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

_NUMERIC_TYPE_PREFIXES = (
    "TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "REAL", "DOUBLE", "DECIMAL", "NUMERIC",
)  # fmt: skip
_TEMPORAL_TYPE_PREFIXES = ("DATE", "TIMESTAMP")


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        magnitude = abs(value)
        if magnitude >= 1e15:
            return f"{value:.6g}"
        if magnitude >= 100:
            return f"{value:,.2f}"
        if 0 < magnitude < 0.001:
            return f"{value:.3g}"
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_numeric_column(type_name: str, values: Iterable[Any]) -> bool:
    """Right-align a column when its SQL type is numeric, or (unknown type) all its values are."""
    upper = type_name.upper()
    if upper.startswith(_NUMERIC_TYPE_PREFIXES):
        return True
    present = [v for v in values if v is not None]
    return bool(present) and all(_is_number(v) for v in present)


def is_temporal_type(type_name: str) -> bool:
    return type_name.upper().startswith(_TEMPORAL_TYPE_PREFIXES)
