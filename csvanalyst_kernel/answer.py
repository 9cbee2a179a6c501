"""An answer as the notebook holds it: the run response (or the error that prevented one), its
DataFrame, and its card.

``Answer`` is the value of an ``%%ask`` cell: it displays as one compact card
(``_repr_mimebundle_``: HTML, plain text, and the Vega-Lite chart when the server sent one) and
gives the result as a pandas DataFrame (``.df`` / ``.to_dataframe()``). A run the server
rejected or that failed in its sandbox is still an ``Answer`` (with its run_id); so is a
request that never reached a run (server down, unknown dataset): its ``error`` says why.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from csvanalyst_kernel.display.chart import VEGALITE_MIME, chart_spec
from csvanalyst_kernel.display.options import DisplayOptions
from csvanalyst_kernel.errors import ClientError
from sandbox_server.schemas import ErrorInfo, RunResponse

if TYPE_CHECKING:
    import pandas as pd

CardStatus = Literal["pending", "running", "succeeded", "failed", "rejected"]
AnswerKind = Literal["ask", "sql", "plan"]


@dataclass
class Answer:
    dataset_id: str | None
    question: str | None = None  # the question (ask) or the submitted SQL (sql)
    kind: AnswerKind = "ask"
    response: RunResponse | None = None
    client_error: ClientError | None = None
    state: Literal["pending", "running", "done"] = "done"
    started_at: float = field(default_factory=time.monotonic)
    elapsed_s: float | None = None
    capsule_url: str | None = None
    options: DisplayOptions = field(default_factory=DisplayOptions)
    _df: pd.DataFrame | None = field(default=None, init=False, repr=False)

    # -- constructors

    @classmethod
    def running(
        cls, dataset_id: str | None, question: str | None, kind: AnswerKind = "ask", **kw: Any
    ) -> Answer:
        return cls(dataset_id=dataset_id, question=question, kind=kind, state="running", **kw)

    def finished(self, response: RunResponse, capsule_url: str | None = None) -> Answer:
        return replace(
            self, response=response, state="done", capsule_url=capsule_url, elapsed_s=self.elapsed()
        )

    def failed(self, error: ClientError) -> Answer:
        return replace(self, client_error=error, state="done", elapsed_s=self.elapsed())

    def elapsed(self) -> float:
        return self.elapsed_s if self.elapsed_s is not None else time.monotonic() - self.started_at

    # -- what it says

    @property
    def status(self) -> CardStatus:
        if self.state != "done":
            return self.state
        if self.response is not None:
            return self.response.status
        return "failed"

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def run_id(self) -> str | None:
        if self.response is not None:
            return self.response.run_id
        return self.client_error.run_id if self.client_error else None

    @property
    def thread_id(self) -> str | None:
        return self.response.thread_id if self.response else None

    @property
    def sql(self) -> str | None:
        return self.response.sql if self.response else None

    @property
    def plan(self) -> dict[str, Any] | None:
        return self.response.plan if self.response else None

    @property
    def error(self) -> ErrorInfo | None:
        """What went wrong, whether the server said it (in the run) or the client did."""
        if self.client_error is not None:
            e = self.client_error
            return ErrorInfo(code=e.code, message=e.message, suggestion=e.suggestion)
        if self.response is not None and self.response.status != "succeeded":
            return self.response.error or ErrorInfo(
                code="RUNNER_INTERNAL_ERROR", message=self.response.message or "the run did not succeed"
            )
        return None

    @property
    def chart(self) -> dict[str, Any] | None:
        """The Vega-Lite spec with the rows filled in, when the server found the result chartable."""
        if not self.ok or self.response is None or not self.response.chart:
            return None
        return chart_spec(self.response.chart, self.response.result)

    # -- the result as a DataFrame

    def to_dataframe(self) -> pd.DataFrame | None:
        """The result rows as a DataFrame (dates parsed), or None when the run did not succeed."""
        if not self.ok or self.response is None:
            return None
        if self._df is None:
            self._df = _dataframe(self.response)
        return self._df.copy()

    @property
    def df(self) -> pd.DataFrame | None:
        return self.to_dataframe()

    # -- display

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        from csvanalyst_kernel.display.card import render_html
        from csvanalyst_kernel.display.text import render_text

        bundle: dict[str, Any] = {"text/plain": render_text(self), "text/html": render_html(self)}
        chart = self.chart if self.options.chart else None
        if chart is not None:
            bundle[VEGALITE_MIME] = chart
        return bundle

    def chart_bundle(self) -> dict[str, Any] | None:
        """The chart alone, for frontends that show one mime type per output (JupyterLab prefers
        HTML over Vega-Lite, so the magic shows the chart as its own output)."""
        from csvanalyst_kernel.display.chart import describe

        chart = self.chart if self.options.chart else None
        if chart is None:
            return None
        return {VEGALITE_MIME: chart, "text/plain": f"[{describe(chart)}]"}

    def __repr__(self) -> str:
        rows = f", rows={self.response.result.row_count}" if self.response else ""
        code = f", code={self.error.code!r}" if self.error else ""
        return f"<Answer {self.status} run_id={self.run_id!r} dataset={self.dataset_id!r}{rows}{code}>"


def _dataframe(response: RunResponse) -> pd.DataFrame:
    import pandas as pd

    from csvanalyst_kernel.display.values import is_temporal_type

    result = response.result
    names = [c.name for c in result.columns]
    df = pd.DataFrame(result.rows, columns=names)
    for column in result.columns:
        if is_temporal_type(column.type) and column.name in df:
            # Unparseable dates keep the server's strings rather than being guessed at.
            with contextlib.suppress(ValueError, TypeError):
                df[column.name] = pd.to_datetime(df[column.name])
    return df
