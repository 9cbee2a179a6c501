"""The answer card: HTML (escaped, aligned, truncation notice, error details), text/plain for
consoles, and the Vega-Lite chart bundle."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from csvanalyst_kernel.answer import Answer
from csvanalyst_kernel.display.chart import VEGALITE_MIME, chart_spec
from csvanalyst_kernel.display.options import DisplayOptions
from csvanalyst_kernel.display.sql import highlight_sql
from csvanalyst_kernel.display.views import CapsuleView, DatasetList, Notice, ReplayView, RunHistory
from csvanalyst_kernel.errors import ClientError
from sandbox_server.schemas import RunResponse

from .conftest import REVENUE_CHART


def run(**overrides: Any) -> RunResponse:
    body: dict[str, Any] = {
        "run_id": "r42",
        "status": "succeeded",
        "dataset_id": "ecommerce",
        "question": "revenue by month",
        "thread_id": "t1",
        "plan": {
            "dataset_id": "ecommerce",
            "table": "orders",
            "filters": [{"column": "status", "op": "=", "value": "delivered"}],
            "group_by": [{"column": "order_date", "bucket": "month"}],
            "select": [{"func": "sum", "column": "total"}],
        },
        "sql": "SELECT sum(total) AS sum_total FROM orders WHERE status = 'delivered' LIMIT 200",
        "result": {
            "columns": [
                {"name": "order_date_month", "type": "DATE"},
                {"name": "sum_total", "type": "DOUBLE"},
            ],
            "rows": [["2024-01-01", 1234567.891], ["2024-02-01", None]],
            "row_count": 2,
            "truncated": False,
        },
        "timings_ms": {"plan": 2.0, "exec": 30.0, "total": 45.0},
        "planner": "offline",
        "executor": "local",
    }
    body.update(overrides)
    return RunResponse.model_validate(body)


def card(response: RunResponse, **options: Any) -> dict[str, Any]:
    answer = Answer("ecommerce", response.question).finished(
        response, "http://srv/v1/runs/" + response.run_id
    )
    answer.options = DisplayOptions(**options)
    return answer._repr_mimebundle_()


def test_success_card_has_badge_table_sections_and_capsule_link() -> None:
    html = card(run())["text/html"]
    assert ">succeeded</span>" in html
    assert "1,234,567.89" in html  # thousands separators, two decimals
    assert "text-align:right" in html  # numbers right-aligned
    assert "2 rows" in html
    assert "<summary" in html and ">Plan</summary>" in html and ">SQL</summary>" in html
    assert "orders → filter status = delivered → group by month of order_date → sum(total)" in html
    assert 'href="http://srv/v1/runs/r42"' in html and "r42" in html
    assert ">Timings</summary>" in html and "45.0 ms" in html


def test_data_and_names_are_escaped() -> None:
    response = run(
        question="<img src=x onerror=alert(1)>",
        result={
            "columns": [{"name": "<b>n</b>", "type": "VARCHAR"}],
            "rows": [["<script>alert(1)</script>"]],
            "row_count": 1,
        },
        sql="SELECT '<script>' AS x",
    )
    html = card(response)["text/html"]
    assert "<script>" not in html and "<img" not in html and "<b>n</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;n&lt;/b&gt;" in html


def test_truncated_and_display_limited_results_say_so() -> None:
    rows = [[f"2024-01-{i:02d}", float(i)] for i in range(1, 21)]
    response = run(result={"columns": run().result.columns, "rows": rows, "row_count": 20, "truncated": True})
    bundle = card(response, max_display_rows=5)
    table = bundle["text/html"].split('<table class="csva-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 5 + 1  # header + 5 shown rows
    assert "showing the first 5 (the DataFrame has all 20)" in bundle["text/html"]
    assert "truncated: the server returned 20 rows at most" in bundle["text/html"]
    assert "truncated by the server at 20 rows" in bundle["text/plain"]


def test_rejected_card_shows_code_message_suggestion_and_run_id() -> None:
    response = run(
        status="rejected",
        result={},
        error={"code": "SQL_POLICY_VIOLATION", "message": "only SELECT", "suggestion": "write a SELECT"},
    )
    bundle = card(response)
    html = bundle["text/html"]
    assert ">rejected</span>" in html
    assert "SQL_POLICY_VIOLATION" in html and "only SELECT" in html and "Suggestion: write a SELECT" in html
    assert "run_id <code>r42</code>" in html
    assert '<table class="csva-table"' not in html
    assert "error: SQL_POLICY_VIOLATION: only SELECT" in bundle["text/plain"]
    assert "suggestion: write a SELECT" in bundle["text/plain"]


def test_client_error_answer_has_no_run_but_a_clear_message() -> None:
    error = ClientError("SERVER_UNREACHABLE", "server not reachable at http://x", suggestion="start it")
    answer = Answer("ecommerce", "q").failed(error)
    assert answer.status == "failed" and answer.df is None and answer.run_id is None
    text = answer._repr_mimebundle_()["text/plain"]
    assert "error: SERVER_UNREACHABLE: server not reachable at http://x" in text
    assert "Traceback" not in text


def test_text_plain_is_an_aligned_table() -> None:
    text = card(run())["text/plain"]
    lines = text.splitlines()
    assert lines[0] == "[succeeded] ecommerce · revenue by month"
    assert lines[1].split() == ["order_date_month", "sum_total"]
    assert lines[3].endswith("1,234,567.89")
    assert lines[4].endswith("null")
    assert len(lines[3]) == len(lines[4])  # right-aligned numbers
    assert "plan: orders → filter status = delivered" in text
    assert "run_id: r42 · 45 ms" in text


def test_show_sql_and_show_plan_open_the_sections() -> None:
    closed = card(run())
    opened = card(run(), show_sql=True, show_plan=True)
    assert '<details class="csva-section" open' not in closed["text/html"]
    assert opened["text/html"].count('<details class="csva-section" open') == 2
    assert "SELECT sum(total)" not in closed["text/plain"]
    assert "SELECT sum(total)" in opened["text/plain"] and '"table": "orders"' in opened["text/plain"]


def test_chart_bundle_carries_the_rows_as_data() -> None:
    bundle = card(run(chart=REVENUE_CHART))
    spec = bundle[VEGALITE_MIME]
    assert spec["mark"] == REVENUE_CHART["mark"]
    assert spec["data"]["values"][0] == {"order_date_month": "2024-01-01", "sum_total": 1234567.891}
    assert "data" not in REVENUE_CHART  # the server's spec is not modified
    assert "text/html" in bundle
    assert "[line chart: sum_total by order_date_month]" in bundle["text/plain"]


def test_no_chart_when_disabled_or_failed_or_absent() -> None:
    assert VEGALITE_MIME not in card(run())
    assert VEGALITE_MIME not in card(run(chart=REVENUE_CHART), chart=False)
    failed = run(status="failed", chart=REVENUE_CHART, error={"code": "RUNNER_TIMEOUT", "message": "slow"})
    assert VEGALITE_MIME not in card(failed)


def test_chart_spec_keeps_inline_values() -> None:
    spec = {"mark": "bar", "data": {"values": [{"a": 1}]}}
    assert chart_spec(spec, run().result)["data"] == {"values": [{"a": 1}]}
    filled = chart_spec(copy.deepcopy(REVENUE_CHART), run().result)
    assert filled["$schema"].endswith("vega-lite/v5.json")


def test_running_card_shows_elapsed_time() -> None:
    answer = Answer.running("ecommerce", "slow question")
    answer.started_at -= 3.2
    bundle = answer._repr_mimebundle_()
    assert ">running</span>" in bundle["text/html"]
    assert "running… 3.2 s" in bundle["text/html"]
    assert bundle["text/plain"].endswith("running… 3.2 s")


def test_dataframe_has_all_rows_and_parsed_dates() -> None:
    answer = Answer("ecommerce").finished(run())
    df = answer.df
    assert df is not None
    assert list(df.columns) == ["order_date_month", "sum_total"]
    assert str(df["order_date_month"].dtype).startswith("datetime64")
    assert df["sum_total"].iloc[0] == pytest.approx(1234567.891)
    df.loc[0, "sum_total"] = 0  # a copy: the answer keeps its result
    assert answer.to_dataframe()["sum_total"].iloc[0] == pytest.approx(1234567.891)  # type: ignore[index]


def test_sql_highlighting_escapes_and_marks_keywords() -> None:
    out = highlight_sql("SELECT '<b>' FROM t -- <i>")
    assert "<b>" not in out and "<i>" not in out
    assert ">SELECT</span>" in out and "&#x27;&lt;b&gt;&#x27;" in out


def test_views_render_text_and_html() -> None:
    from sandbox_server.schemas import Capsule, DatasetSummary

    summary = DatasetSummary(id="ecommerce", tables=["orders"], version_hash="h", prompts=["<x>"])
    listing = DatasetList([summary], current="ecommerce")._repr_mimebundle_()
    assert "ecommerce (current)" in listing["text/plain"] and "&lt;x&gt;" in listing["text/html"]
    capsule = Capsule(run_id="r1", created_at="now", dataset_id="ecommerce", status="succeeded", row_count=3)
    view = CapsuleView(capsule, "http://srv/v1/runs/r1")._repr_mimebundle_()
    assert view["application/json"]["run_id"] == "r1" and "run_id: r1" in view["text/plain"]
    history = RunHistory([capsule])._repr_mimebundle_()
    assert "r1" in history["text/plain"] and ">succeeded</span>" in history["text/html"]
    assert RunHistory([])._repr_mimebundle_()["text/plain"] == "(no runs yet)"
    notice = Notice("SERVER_UNREACHABLE", "down", "start it")._repr_mimebundle_()
    assert notice["text/plain"] == "error: SERVER_UNREACHABLE: down\nsuggestion: start it"
    from csvanalyst_kernel.client import ReplayResponse

    replay = ReplayResponse(run_id="r2", original_run_id="r1", matches=False, status="succeeded")
    assert "DIFFERENT result" in ReplayView(replay)._repr_mimebundle_()["text/plain"]


@pytest.mark.parametrize("module", ["values", "explain"])
def test_doctests(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"csvanalyst_kernel.display.{module}"))
    assert result.attempted > 0 and result.failed == 0
