"""A notebook session: which server, which dataset is current, which thread each dataset is
in, and the answers so far. The magics and the ChatPanel are two views over one ``Session``.

The client is made on first use: the configured server URL when there is one, else the
embedded server (started then, see ``embedded.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

from csvanalyst_kernel import background
from csvanalyst_kernel.answer import Answer
from csvanalyst_kernel.client import Client
from csvanalyst_kernel.display.options import DisplayOptions
from csvanalyst_kernel.errors import ClientError
from sandbox_server.schemas import DatasetSummary, RunResponse

OnTick = Callable[[Answer], None]


class UnknownDataset(ClientError):
    """A dataset id or name the server does not know (a usage mistake in the magics)."""


class Session:
    def __init__(
        self,
        client: Client | None = None,
        *,
        server_url: str | None = None,
        token: str | None = None,
        current_dataset: str | None = None,
        options: DisplayOptions | None = None,
    ) -> None:
        self._client = client
        self.server_url = server_url or None
        self.token = token or None
        self.current_dataset = current_dataset or None
        self.options = options or DisplayOptions()
        self.threads: dict[str, str] = {}  # dataset_id -> the thread its next question continues
        self.history: list[Answer] = []
        self._datasets: list[DatasetSummary] | None = None
        self._lock = threading.Lock()

    # -- the server

    @property
    def client(self) -> Client:
        with self._lock:
            if self._client is None:
                if self.server_url:
                    self._client = Client(self.server_url, self.token)
                else:
                    from csvanalyst_kernel.embedded import embedded_server

                    server = embedded_server()
                    self._client = Client(server.url, server.token)
            return self._client

    def reconnect(self, server_url: str | None, token: str | None) -> None:
        """Use another server from the next request on (``%config AskMagics.server_url = ...``)."""
        with self._lock:
            self.server_url, self.token = server_url or None, token or None
            self._client = None
            self._datasets = None
            self.threads.clear()

    # -- datasets

    def datasets(self, *, refresh: bool = False) -> list[DatasetSummary]:
        if self._datasets is None or refresh:
            self._datasets = self.client.list_datasets()
        return self._datasets

    @property
    def known_datasets(self) -> list[DatasetSummary]:
        """The datasets as last listed, without asking the server."""
        return list(self._datasets or [])

    def resolve_dataset(self, name_or_id: str) -> DatasetSummary:
        """A dataset by id or name (case-insensitive); the list is refreshed once on a miss."""
        wanted = name_or_id.strip().lower()
        for refresh in (False, True):
            datasets = self.datasets(refresh=refresh)
            for match in (lambda d: d.id.lower() == wanted, lambda d: d.name.lower() == wanted):
                found = [d for d in datasets if match(d)]
                if found:
                    return found[0]
        available = ", ".join(d.id for d in self.datasets()) or "none"
        raise UnknownDataset(
            "DATASET_NOT_FOUND",
            f"unknown dataset {name_or_id!r}; available: {available}",
            suggestion="%ask_datasets lists them; %ask_upload adds your own CSV",
        )

    def upload(self, name: str, files: Sequence[tuple[str, bytes]]) -> DatasetSummary:
        dataset = self.client.upload_dataset(name, files)
        self._datasets = None
        self.current_dataset = dataset.id
        return dataset

    # -- runs

    def thread_for(
        self, dataset_id: str, *, thread_id: str | None = None, new_thread: bool = False
    ) -> str | None:
        if thread_id:
            return thread_id
        if new_thread:
            self.threads.pop(dataset_id, None)
            return None
        return self.threads.get(dataset_id)

    def new_thread(self, dataset_id: str | None = None) -> None:
        if dataset_id is None:
            self.threads.clear()
        else:
            self.threads.pop(dataset_id, None)

    def ask(
        self,
        dataset_id: str,
        question: str,
        *,
        thread_id: str | None = None,
        new_thread: bool = False,
        on_tick: OnTick | None = None,
    ) -> Answer:
        thread = self.thread_for(dataset_id, thread_id=thread_id, new_thread=new_thread)
        start = Answer.running(dataset_id, question, "ask", options=self.options)
        answer = self._run(start, lambda: self.client.ask(dataset_id, question, thread), on_tick)
        if answer.thread_id:
            self.threads[dataset_id] = answer.thread_id
        return answer

    def run_sql(self, dataset_id: str, sql: str, *, on_tick: OnTick | None = None) -> Answer:
        start = Answer.running(dataset_id, sql, "sql", options=self.options)
        return self._run(start, lambda: self.client.run_sql(dataset_id, sql), on_tick)

    def _run(self, start: Answer, call: Callable[[], RunResponse], on_tick: OnTick | None) -> Answer:
        """One request in a worker thread; ``on_tick`` sees the running answer while it waits."""
        start = replace(start, options=self.options)
        try:
            future = background.submit(call)
            response = background.wait(future, (lambda _elapsed: on_tick(start)) if on_tick else None)
            answer = start.finished(response, self.client.capsule_url(response.run_id))
        except ClientError as exc:
            answer = start.failed(exc)
        self.history.append(answer)
        return answer
