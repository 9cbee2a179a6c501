"""A local OpenAI-compatible chat server that replays scripted answers, for the LLM planner's tests.

The real ``langchain-openai`` client talks to it over HTTP on 127.0.0.1 (random port), so the
tests cover what production sends and parses: the request body (messages, tools, the
``response_format`` json_schema), tool calls, usage, timeouts and HTTP errors. Each test queues
the assistant's turns in order; every request is recorded so the test can assert what the model
was shown (the system prompt, that no result rows leaked, the correction message, ...).

Only ``POST /v1/chat/completions`` (non-streaming) is implemented: that is all the planner uses.
``http.server`` in a thread rather than uvicorn: it starts in a millisecond and needs no event loop.

    with FakeOpenAI() as llm:
        llm.tool_call("get_dataset_schema", {"dataset_id": "ecommerce"})
        llm.final({"plan": {...}, "sql": None, "explanation": "..."})
        ...  # point OPENAI_BASE_URL at llm.base_url
        assert llm.requests[0]["messages"][0]["role"] == "system"
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Turn:
    """One scripted reply: an assistant message (content and/or tool calls), or an HTTP error;
    ``delay_s`` makes the server sleep first (to provoke the client's timeout)."""

    content: str | None = None
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    delay_s: float = 0.0
    prompt_tokens: int = 100
    completion_tokens: int = 20


class FakeOpenAI:
    """The scripted server. ``requests`` holds every request body received, in order."""

    def __init__(self, model: str = "fake-model") -> None:
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._turns: list[Turn] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )

    # -- scripting -----------------------------------------------------------------------
    def final(self, answer: dict[str, Any] | str, **kw: Any) -> FakeOpenAI:
        """Queue a final answer (the structured output: JSON text in ``content``)."""
        self._turns.append(Turn(content=answer if isinstance(answer, str) else json.dumps(answer), **kw))
        return self

    def tool_call(self, name: str, args: dict[str, Any], **kw: Any) -> FakeOpenAI:
        self._turns.append(Turn(tool_calls=[(name, args)], **kw))
        return self

    def error(self, status: int) -> FakeOpenAI:
        self._turns.append(Turn(status=status))
        return self

    def stall(self, delay_s: float) -> FakeOpenAI:
        """Queue a reply that takes ``delay_s`` to come (a valid but useless one, if it ever does)."""
        self._turns.append(
            Turn(content='{"plan": null, "sql": null, "explanation": "late"}', delay_s=delay_s)
        )
        return self

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def remaining(self) -> int:
        return len(self._turns)

    # -- what the client sent ------------------------------------------------------------
    def messages(self, index: int = -1) -> list[dict[str, Any]]:
        return list(self.requests[index]["messages"])

    def text_sent(self) -> str:
        """Every message content of every request, concatenated (to assert what never leaked)."""
        return "\n".join(
            json.dumps(m.get("content"), ensure_ascii=False) for r in self.requests for m in r["messages"]
        )

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, body: dict[str, Any]) -> Turn:
        with self._lock:
            self.requests.append(body)
            if not self._turns:
                # A test that under-scripts must fail loudly, not hang or pass by accident.
                return Turn(status=599)
            return self._turns.pop(0)

    def _completion(self, turn: Turn) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": turn.content}
        if turn.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{len(self.requests)}_{i}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
                for i, (name, args) in enumerate(turn.tool_calls)
            ]
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if turn.tool_calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": turn.prompt_tokens,
                "completion_tokens": turn.completion_tokens,
                "total_tokens": turn.prompt_tokens + turn.completion_tokens,
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                turn = fake._next(body)
                if turn.delay_s:
                    time.sleep(turn.delay_s)
                if turn.status != 200:
                    self._send(
                        turn.status,
                        {"error": {"message": f"scripted HTTP {turn.status}", "type": "server_error"}},
                    )
                    return
                self._send(200, fake._completion(turn))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

        return Handler
