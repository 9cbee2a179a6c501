"""The policy's verdicts as small frozen values: ``Allow`` (with the SQL that will run) or ``Reject``.

Decisions are values, not exceptions, so a caller can show, log or count them; ``enforce`` in
``check.py`` turns a ``Reject`` into ``PolicyViolation`` for the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# Stable ids of the rules; tests, capsules and the CLI's JSON name them.
Rule = Literal[
    "bad_input",
    "too_long",
    "bad_character",
    "parse_error",
    "multiple_statements",
    "statement_type",
    "parameter",
    "qualified_name",
    "system_catalog",
    "file_path",
    "table_function",
    "unknown_table",
    "recursive_cte",
    "function_not_allowed",
    "generator_bounds",
    "limit",
    "exfiltration",
    "duckdb_parser_disagrees",
]

POLICY_CODE: Literal["SQL_POLICY_VIOLATION"] = "SQL_POLICY_VIOLATION"


@dataclass(frozen=True, slots=True)
class Allow:
    """The query may run; ``sql`` is what runs (re-emitted from the policy's own parse tree)."""

    sql: str
    message: str = "allowed"

    @property
    def allowed(self) -> Literal[True]:
        return True

    def to_json(self) -> dict[str, Any]:
        return {"allowed": True, "code": None, "rule": None, "message": self.message, "sql": self.sql}


@dataclass(frozen=True, slots=True)
class Reject:
    """The query may not run: which ``rule`` fired, what was wrong, and how to fix it."""

    rule: Rule
    message: str
    suggestion: str

    @property
    def allowed(self) -> Literal[False]:
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed": False,
            # bad_input is not a query the policy judged but input that held no query at all.
            "code": "VALIDATION_ERROR" if self.rule == "bad_input" else POLICY_CODE,
            "rule": self.rule,
            "message": self.message,
            "suggestion": self.suggestion,
            "sql": None,
        }


Decision = Allow | Reject


def reject(rule: Rule, problem: str, suggestion: str) -> Reject:
    """A ``Reject`` whose message names the rule, the problem and the fix, so it reads alone."""
    return Reject(rule, f"SQL policy rule '{rule}': {problem}. How to fix: {suggestion}", suggestion)


def reject_bad_input(problem: str) -> Reject:
    """The verdict for input that holds no query (a batch line that is not ``{"sql": "..."}``)."""
    return reject("bad_input", problem, 'give one JSON object per line with an "sql" string')
