"""The ChatPanel without a browser: build it, click its buttons, wait for the background
thread, and check the widget tree and the requests that reached the fake server."""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest

from csvanalyst_kernel.display.chart import VEGALITE_MIME
from csvanalyst_kernel.panel import INSERT_CELL_MIME, ChatPanel
from csvanalyst_kernel.session import Session

from .conftest import FakeServer


@pytest.fixture
def panel(session: Session, tmp_path: Path) -> ChatPanel:
    p = ChatPanel(session=session, cwd=tmp_path)
    p.wait()
    return p


def output_data(output: widgets.Output) -> list[dict[str, Any]]:
    return [o["data"] for o in output.outputs]


def test_dropdown_and_prompt_chips_come_from_the_datasets(panel: ChatPanel) -> None:
    assert [value for _, value in panel.dataset.options] == ["ecommerce", "support"]
    assert [label for label, _ in panel.dataset.options] == ["ecommerce", "Support desk (support)"]
    assert panel.dataset.value == "ecommerce"
    assert [c.tooltip for c in panel.chips.children] == ["revenue by month", "top 5 categories by revenue"]
    panel.dataset.value = "support"
    assert [c.tooltip for c in panel.chips.children] == ["average csat by priority"]
    assert panel.session.current_dataset == "support"


def test_send_runs_in_background_and_shows_the_card_and_details(
    panel: ChatPanel, fake_server: FakeServer
) -> None:
    panel.input.value = "revenue by month"
    panel.send_button.click()
    panel.wait()
    assert fake_server.bodies("/v1/ask") == [{"dataset_id": "ecommerce", "question": "revenue by month"}]
    assert panel.input.value == "" and not panel.send_button.disabled
    (entry,) = panel.entries
    assert entry.box in panel.conversation.children
    card, chart = output_data(entry.card)
    assert ">succeeded</span>" in card["text/html"] and VEGALITE_MIME not in card
    assert chart[VEGALITE_MIME]["data"]["values"][0]["sum_total"] == 123456.5
    titles = [entry.details.get_title(i) for i in range(len(entry.details.children))]
    assert titles == ["Plan", "SQL", "Capsule"]
    assert "group by month of order_date" in entry.details.children[0].value
    assert "date_trunc" in entry.details.children[1].value
    assert not entry.download_button.disabled


def test_clicking_a_chip_asks_its_prompt(panel: ChatPanel, fake_server: FakeServer) -> None:
    panel.chips.children[1].click()
    panel.wait()
    assert fake_server.bodies("/v1/ask")[0]["question"] == "top 5 categories by revenue"


def test_follow_ups_share_a_thread_until_new_thread(panel: ChatPanel, fake_server: FakeServer) -> None:
    for question in ("revenue by month", "only delivered"):
        panel.send(question)
        panel.wait()
    panel.new_thread_button.click()
    panel.send("orders by status")
    panel.wait()
    threads = [b.get("thread_id") for b in fake_server.bodies("/v1/ask")]
    assert threads == [None, panel.entries[0].answer.thread_id, None]
    assert "new thread" in panel.conversation.children[2].value


def test_the_kernel_stays_free_while_a_question_runs(panel: ChatPanel, fake_server: FakeServer) -> None:
    release = fake_server.gate = threading.Event()
    assert panel.send("revenue by month") is True  # returns at once: the request waits in a thread
    assert panel.busy and panel.send_button.disabled
    assert panel.send("another") is False and "still working" in panel.status.value
    release.set()
    panel.wait()
    assert not panel.busy and len(panel.entries) == 1


def test_running_indicator_ticks(panel: ChatPanel, fake_server: FakeServer) -> None:
    seen: list[str] = []
    panel.status.observe(lambda change: seen.append(change["new"]), names="value")
    fake_server.delay_s = 1.0
    panel.send("revenue by month")
    panel.wait()
    assert any(v.startswith("running… ") and v.endswith(" s") for v in seen)
    assert panel.status.value == ""


def test_rejected_answer_shows_its_error_card(panel: ChatPanel) -> None:
    panel.send("gibberish")
    panel.wait()
    (card,) = output_data(panel.entries[0].card)
    assert "PLANNER_ERROR" in card["text/html"] and ">rejected</span>" in card["text/html"]


def test_download_capsule_writes_the_file_and_offers_a_link(panel: ChatPanel, tmp_path: Path) -> None:
    panel.send("revenue by month")
    panel.wait()
    entry = panel.entries[0]
    entry.download_button.click()
    path = tmp_path / f"capsule_{entry.answer.run_id}.json"
    assert json.loads(path.read_text())["run_id"] == entry.answer.run_id
    (notice,) = output_data(entry.notice)
    link = notice["text/html"].split('href="data:application/json;base64,')[1].split('"')[0]
    assert json.loads(base64.b64decode(link))["run_id"] == entry.answer.run_id


def test_insert_as_cell_emits_the_equivalent_magic_cell(panel: ChatPanel) -> None:
    panel.send("revenue by month")
    panel.wait()
    entry = panel.entries[0]
    entry.insert_button.click()
    (bundle,) = output_data(entry.notice)
    assert bundle[INSERT_CELL_MIME]["source"] == "%%ask -d ecommerce\nrevenue by month"
    assert bundle[INSERT_CELL_MIME]["position"] == "below" and bundle[INSERT_CELL_MIME]["id"]
    assert "%%ask -d ecommerce" in bundle["text/html"]


def test_server_down_shows_the_error_in_the_status(tmp_path: Path) -> None:
    from csvanalyst_kernel.client import Client

    p = ChatPanel(session=Session(Client("http://127.0.0.1:9", timeout_s=2)), cwd=tmp_path)
    p.wait()
    assert "SERVER_UNREACHABLE" in p.status.value
    assert p.send("q") is False and "choose a dataset" in p.status.value


def test_empty_question_is_not_sent(panel: ChatPanel, fake_server: FakeServer) -> None:
    panel.input.value = "   "
    panel.send_button.click()
    assert panel.entries == [] and "type a question" in panel.status.value
    assert fake_server.bodies("/v1/ask") == []


def test_ask_panel_magic_shares_the_session(shell: Any, session: Session) -> None:
    panel = shell.run_line_magic("ask_panel", "")
    panel.wait()
    assert isinstance(panel, ChatPanel) and panel.session is session
