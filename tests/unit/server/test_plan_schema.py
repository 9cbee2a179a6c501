"""The QueryPlan JSON Schema is exported to docs/ and kept current."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox_server.plan import plan_json_schema

SCHEMA = Path(__file__).resolve().parents[3] / "docs" / "query-plan.schema.json"


def test_exported_schema_is_current() -> None:
    current = json.dumps(plan_json_schema(), indent=2, sort_keys=True) + "\n"
    assert SCHEMA.read_text() == current, (
        "docs/query-plan.schema.json is stale: regenerate it with "
        'python -c "import json; from sandbox_server.plan import plan_json_schema; '
        'print(json.dumps(plan_json_schema(), indent=2, sort_keys=True))" > docs/query-plan.schema.json'
    )


def test_schema_names_every_operator_and_aggregate() -> None:
    text = SCHEMA.read_text()
    for word in ("between", "startswith", "is_null", "count_distinct", "rate", "quarter", "day_of_week"):
        assert f'"{word}"' in text
