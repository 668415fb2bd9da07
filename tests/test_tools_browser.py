"""Tool calls in real JupyterLab and Debian's Chromium: the cards a user sees and uses.

The kernel is a real one and the model the embedded local one, which calls a tool when
the question names it ("Get weather in Oslo" calls ``get_weather(city="Oslo")``, see
:mod:`nbstream.local.tool_calling`). Questions are typed into the widget, buttons are
clicked or pressed with the keyboard, and everything is checked in the DOM. The tools
write files beside the notebook, so the test knows from the kernel's side whether (and
when) a tool ran.

What this proves, as a user sees it:

- a call's card shows running (name and JSON arguments visible) while the tool runs,
  then done with its result in the Result fold, and only then does the answer stream;
- with ``approve=True`` nothing runs before Allow; Allow runs it, Deny does not and the
  answer still completes, and the keyboard works the buttons as a click does;
- Stop during a running tool or during the approval wait shows in under 100 ms (the
  card's final status, Send back), nothing runs or streams afterwards, and the answer
  that asked for the call is flagged stopped;
- cards appearing and updating neither scroll the notebook nor take the focus, and the
  focus is still in the message box after the answer's end re-renders its output;
- a tool's result and the model's arguments are shown as text, never as markup.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser_fixtures import open_and_run_all
from tests.browser_harness import CHROMIUM, JupyterServer, write_notebook
from tests.test_chat_browser import ask, assistant

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]
pytest.importorskip("playwright.sync_api")

CARD = ".nbstream-tool-card"
PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>**bold**'
DROPPED = "still running when the answer was stopped; its result will be dropped"
# Quick answers where their pacing is not under test.
FAST = ", extra_body={'nbstream': {'tokens_per_second': 400, 'first_token_delay': 0.05}}"


def weather_cell(marker: str, chat_arguments: str, seconds: float = 0) -> str:
    """Define ``get_weather``, which writes ``<marker>-<city>.started`` (and ``.done``
    once it returns) in the notebook's folder, and show a Chat offering it."""
    return (
        "import pathlib, time\nfrom nbstream import Chat\n"
        "def get_weather(city: str) -> str:\n"
        '    "Weather in a city."\n'
        f"    pathlib.Path(f'{marker}-{{city}}.started').touch()\n"
        f"    time.sleep({seconds})\n"
        f"    pathlib.Path(f'{marker}-{{city}}.done').touch()\n"
        "    return f'Sunny in {city}'\n"
        f"chat = Chat(tools=[get_weather]{chat_arguments})\nchat"
    )


def open_chat(page: Any, lab: JupyterServer, name: str, cells: list[str]) -> None:
    open_and_run_all(page, lab, write_notebook(lab.root, name, cells))
    page.wait_for_selector(".nbstream-chat", timeout=60_000)


def card(page: Any) -> Any:
    """The newest tool card."""
    return page.locator(CARD).last


def wait_card(page: Any, status: str, timeout: int = 20_000) -> None:
    page.wait_for_function(
        f"""() => {{
          const cards = document.querySelectorAll('{CARD}');
          return cards.length && cards[cards.length - 1].dataset.status === '{status}';
        }}""",
        timeout=timeout,
    )


def wait_idle(page: Any, timeout: int = 30_000) -> None:
    """Until the whole exchange ended (tool rounds included): Send is back."""
    page.wait_for_selector(
        '.nbstream-chat[data-streaming="false"] button.nbstream-send:not([hidden])',
        timeout=timeout,
    )


def record(page: Any) -> None:
    """From now on, record in the page each change of the cards' statuses, the answer
    text's length (assistant messages without a card), the scroll positions and focus."""
    page.evaluate(
        """() => {
          window.__seen = [];
          const chat = document.querySelector('.nbstream-chat');
          const notebook = document.querySelector('.jp-WindowedPanel-outer');
          let last = '';
          const snap = () => {
            const entry = {
              cards: [...chat.querySelectorAll('.nbstream-tool-card')]
                .map(c => c.dataset.status),
              answer: [...chat.querySelectorAll('.nbstream-msg[data-role="assistant"]')]
                .filter(m => !m.querySelector('.nbstream-tool-card'))
                .map(m => m.querySelector('.nbstream-body').textContent.length)
                .reduce((a, b) => a + b, 0),
              notebook: notebook.scrollTop,
              document: document.scrollingElement.scrollTop,
              window: window.scrollY,
              focus: document.activeElement?.className ?? '',
            };
            const key = JSON.stringify(entry);
            if (key !== last) {
              last = key;
              window.__seen.push({...entry, t: performance.now()});
            }
          };
          snap();
          new MutationObserver(snap).observe(chat, {
            subtree: true, childList: true, attributes: true, characterData: true});
        }"""
    )


def seen(page: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = page.evaluate("() => window.__seen")
    return entries


def time_stop(page: Any, card_status: str) -> float:
    """Click Stop; milliseconds, measured in the page, until the newest card shows
    ``card_status`` with no Allow / Deny left in it, and Send is back in place of Stop."""
    latency: float = page.evaluate(
        """(status) => new Promise((resolve) => {
          const chat = document.querySelector('.nbstream-chat');
          const stop = chat.querySelector('button.nbstream-stop');
          const send = chat.querySelector('button.nbstream-send');
          const check = () => {
            const card = [...chat.querySelectorAll('.nbstream-tool-card')].pop();
            if (card && card.dataset.status === status && !card.querySelector('[data-action]')
                && !send.hidden && stop.hidden) {
              observer.disconnect();
              resolve(performance.now() - started);
            }
          };
          const observer = new MutationObserver(check);
          observer.observe(chat, {attributes: true, subtree: true, childList: true});
          const started = performance.now();
          stop.click();
        })""",
        card_status,
    )
    return latency


def marker_files(root: Path, marker: str) -> list[str]:
    return sorted(p.name for p in root.glob(f"{marker}-*"))


@pytest.mark.timeout(60)
def test_a_card_runs_then_shows_its_result_and_the_answer_streams_after(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    open_chat(page, lab, "tools-order.ipynb", [weather_cell("order", "", seconds=2)])
    record(page)
    ask(page, "Get weather in Oslo")

    # While it runs: the card says so, with the call's name and arguments in view.
    wait_card(page, "running")
    running = card(page)
    assert running.locator(".nbstream-tool-status").inner_text().startswith("running")
    assert running.locator(".nbstream-tool-name").inner_text() == "get_weather"
    args = running.locator(".nbstream-tool-args")
    assert args.is_visible()
    assert json.loads(args.inner_text()) == {"city": "Oslo"}
    assert running.locator(".nbstream-tool-output").inner_text() == ""
    assert not running.locator("details.nbstream-tool-fold", has_text="Result").is_visible()
    assert marker_files(lab.root, "order") == ["order-Oslo.started"]

    wait_card(page, "done", timeout=10_000)
    done = card(page)
    assert done.locator(".nbstream-tool-status").inner_text().startswith("done in")
    result = done.locator("details.nbstream-tool-fold", has_text="Result")
    result.locator("summary").click()
    assert done.locator(".nbstream-tool-output").inner_text() == "Sunny in Oslo"
    wait_idle(page)
    answer = assistant(page)
    assert answer.get_attribute("data-status") == "done"
    assert answer.locator(CARD).count() == 0
    assert "get_weather returned" in answer.inner_text()
    assert "Sunny in Oslo" in answer.locator(".nbstream-body").inner_text()

    # The order the page went through: pending/running, done, then the answer's text.
    log = seen(page)
    statuses = [e["cards"][0] for e in log if e["cards"]]
    assert "running" in statuses, statuses
    assert "done" in statuses, statuses
    first_running = next(i for i, e in enumerate(log) if e["cards"] == ["running"])
    first_done = next(i for i, e in enumerate(log) if e["cards"] == ["done"])
    first_text = next(i for i, e in enumerate(log) if e["answer"] > 0)
    assert first_running < first_done < first_text, log
    assert all(e["cards"] == ["done"] for e in log[first_done:]), log
    assert statuses[0] in ("pending", "running"), statuses
    # It showed running for as long as the tool slept (2 s), then the answer grew.
    assert log[first_done]["t"] - log[first_running]["t"] > 1_500
    assert log[-1]["answer"] > log[first_text]["answer"], "the answer did not stream"


@pytest.mark.timeout(60)
def test_approval_waits_for_allow_deny_runs_nothing_and_the_keyboard_works(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    open_chat(page, lab, "tools-approve.ipynb", [weather_cell("ok", f", approve=True{FAST}", 0.5)])

    # 1. Waiting: Allow and Deny, labelled with the tool; nothing has run.
    record(page)
    ask(page, "Get weather in Oslo")
    wait_card(page, "waiting")
    waiting = card(page)
    assert waiting.locator(".nbstream-tool-status").inner_text() == "waiting for approval"
    allow = page.get_by_role("button", name="Allow get_weather")
    deny = page.get_by_role("button", name="Deny get_weather")
    assert allow.is_visible()
    assert allow.is_enabled()
    assert deny.is_visible()
    assert deny.is_enabled()
    assert json.loads(waiting.locator(".nbstream-tool-args").inner_text()) == {"city": "Oslo"}
    page.wait_for_timeout(500)
    assert marker_files(lab.root, "ok") == []
    assert waiting.get_attribute("data-status") == "waiting"
    assert waiting.locator(".nbstream-tool-output").inner_text() == ""
    allow.click()
    wait_idle(page)
    assert waiting.get_attribute("data-status") == "done"
    assert waiting.locator(".nbstream-tool-approve button").count() == 0
    assert marker_files(lab.root, "ok") == ["ok-Oslo.done", "ok-Oslo.started"]
    assert "Sunny in Oslo" in assistant(page).locator(".nbstream-body").inner_text()
    statuses = [e["cards"][0] for e in seen(page) if e["cards"]]
    order = [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]
    assert order[-3:] == ["waiting", "running", "done"], statuses

    # 2. Deny: the tool does not run, the card says denied, the answer still completes.
    ask(page, "Get weather in Paris")
    wait_card(page, "waiting")
    page.get_by_role("button", name="Deny get_weather").click()
    wait_idle(page)
    denied = card(page)
    assert denied.get_attribute("data-status") == "denied"
    assert denied.locator(".nbstream-tool-status").inner_text() == "denied"
    assert "denied by the user" in denied.locator(".nbstream-tool-output").text_content()
    answer = assistant(page)
    assert answer.get_attribute("data-status") == "done"
    assert answer.locator(CARD).count() == 0
    assert "denied by the user" in answer.inner_text()
    page.wait_for_timeout(300)
    assert not any("Paris" in name for name in marker_files(lab.root, "ok"))

    # 3. The keyboard: Shift+Tab back from the message box to Allow, then Enter.
    ask(page, "Get weather in Rome")
    wait_card(page, "waiting")
    page.locator(".nbstream-chat-input").focus()
    for _ in range(20):
        page.keyboard.press("Shift+Tab")
        label = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
        if label == "Allow get_weather":
            break
    else:
        raise AssertionError("Shift+Tab never reached the Allow button")
    assert not any("Rome" in n for n in marker_files(lab.root, "ok"))
    page.keyboard.press("Enter")
    wait_idle(page)
    assert card(page).get_attribute("data-status") == "done"
    assert [n for n in marker_files(lab.root, "ok") if "Rome" in n] == [
        "ok-Rome.done",
        "ok-Rome.started",
    ]
    assert "Sunny in Rome" in assistant(page).locator(".nbstream-body").inner_text()


@pytest.mark.timeout(60)
def test_stop_during_a_slow_tool_shows_within_100ms_and_drops_its_result(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    open_chat(page, lab, "tools-stop.ipynb", [weather_cell("slow", FAST, seconds=1.5)])
    ask(page, "Get weather in Oslo")
    wait_card(page, "running")
    page.wait_for_timeout(200)  # well into the tool's sleep

    latency = time_stop(page, "cancelled")
    print(f"stop latency during a running tool: {latency:.1f} ms")
    assert latency < 100, f"Stop took {latency:.0f} ms to show"
    stopped = card(page)
    assert stopped.locator(".nbstream-tool-status").inner_text() == "cancelled"
    assert stopped.locator(".nbstream-tool-note").inner_text() == DROPPED
    assert (
        "stopped while this tool was running"
        in stopped.locator(".nbstream-tool-output").text_content()
    )
    assert marker_files(lab.root, "slow") == ["slow-Oslo.started"]

    # The tool cannot be killed: it returns later, and its result goes nowhere.
    deadline = time.monotonic() + 5
    while not (lab.root / "slow-Oslo.done").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (lab.root / "slow-Oslo.done").exists(), "the tool never returned"
    page.wait_for_timeout(500)
    assert stopped.get_attribute("data-status") == "cancelled"
    assert "Sunny" not in page.locator(".nbstream-chat").inner_text()
    assert page.locator('.nbstream-msg[data-role="assistant"]').count() == 1
    assert assistant(page).locator(".nbstream-body").inner_text().strip() == ""
    assert page.locator(".nbstream-chat").get_attribute("data-streaming") == "false"


@pytest.mark.timeout(60)
def test_stop_during_the_approval_wait_shows_within_100ms_and_nothing_runs(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    open_chat(page, lab, "tools-stop-wait.ipynb", [weather_cell("wait", f", approve=True{FAST}")])
    ask(page, "Get weather in Oslo")
    wait_card(page, "waiting")
    page.get_by_role("button", name="Allow get_weather").wait_for()

    latency = time_stop(page, "cancelled")
    print(f"stop latency during the approval wait: {latency:.1f} ms")
    assert latency < 100, f"Stop took {latency:.0f} ms to show"
    stopped = card(page)
    assert stopped.locator(".nbstream-tool-status").inner_text() == "cancelled"
    assert "stopped before this tool ran" in stopped.locator(".nbstream-tool-output").text_content()
    assert page.get_by_role("button", name="Allow get_weather").count() == 0
    page.wait_for_timeout(500)
    assert marker_files(lab.root, "wait") == []
    # The answer that asked for the call shows that it was stopped there, and says so.
    message = assistant(page)
    assert page.locator('.nbstream-msg[data-role="assistant"]').count() == 1
    assert message.get_attribute("data-status") == "stopped"
    assert message.locator('.nbstream-flag[data-flag="stopped"]').is_visible()
    assert page.locator(".nbstream-status").text_content() == "Answer stopped."


@pytest.mark.timeout(60)
def test_cards_appearing_and_updating_neither_scroll_the_page_nor_take_the_focus(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    tall = "print('\\n'.join(f'line {i}' for i in range(80)))"
    open_chat(page, lab, "tools-scroll.ipynb", [tall, weather_cell("scroll", "", 1), tall])
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                   .every(p => /\\[\\d+\\]/.test(p.textContent))""",
        timeout=30_000,
    )
    # The notebook scrolled part way, with the chat in view: there is room to move.
    page.locator(".nbstream-chat").evaluate(
        "el => el.scrollIntoView({block: 'center', behavior: 'instant'})"
    )
    notebook = page.evaluate("() => document.querySelector('.jp-WindowedPanel-outer').scrollTop")
    assert notebook > 100, notebook
    record(page)
    ask(page, "Get weather in Oslo")
    wait_card(page, "running")
    wait_idle(page)
    page.wait_for_timeout(300)

    log = seen(page)
    assert any(e["cards"] == ["running"] for e in log), log
    assert log[-1]["cards"] == ["done"], log
    assert log[-1]["answer"] > 0
    positions = {(e["notebook"], e["document"], e["window"]) for e in log}
    assert positions == {(notebook, 0, 0)}, log
    # Focus stayed in the message box the user typed in, from the send until the card
    # was done and the answer under it streaming (the end of the answer: see below).
    streaming = next(i for i, e in enumerate(log) if e["answer"] > 0)
    during = [e["focus"] for e in log[1 : streaming + 1]]
    assert any(e["cards"] for e in log[1 : streaming + 1]), log
    assert during, log
    assert all(f == "nbstream-chat-input" for f in during), log
    assert (
        page.evaluate("() => document.querySelector('.jp-WindowedPanel-outer').scrollTop")
        == notebook
    )


@pytest.mark.timeout(60)
def test_the_focus_stays_in_the_message_box_after_the_answer_ends(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    open_chat(page, lab, "tools-focus.ipynb", [weather_cell("focus", FAST)])
    ask(page, "Get weather in Oslo")
    wait_idle(page)
    assert card(page).get_attribute("data-status") == "done"
    page.wait_for_timeout(300)
    assert page.evaluate("() => document.activeElement.className") == "nbstream-chat-input"


@pytest.mark.timeout(60)
def test_an_untrusted_tool_result_and_arguments_show_as_inert_text(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    setup = (
        "from nbstream import Chat\n"
        f"PAYLOAD = {PAYLOAD!r}\n"
        "def fetch_page(url: str) -> str:\n"
        '    "Fetch a web page."\n'
        "    return PAYLOAD\n"
        f"chat = Chat(tools=[fetch_page]{FAST})\nchat"
    )
    open_chat(page, lab, "tools-inert.ipynb", [setup])
    argument = '<img src=x onerror="window.__pwned=3"><b>big</b>'
    ask(page, f"Use fetch_page on '{argument}'")
    wait_idle(page)
    shown = page.locator(CARD).first
    assert shown.get_attribute("data-status") == "done"
    assert json.loads(shown.locator(".nbstream-tool-args").inner_text()) == {"url": argument}
    shown.locator("details.nbstream-tool-fold", has_text="Result").locator("summary").click()
    output = shown.locator(".nbstream-tool-output")
    assert output.is_visible()
    assert output.inner_text() == PAYLOAD
    assert shown.locator("img, script, b, strong").count() == 0
    # The answer quotes the result; it is markdown, sanitized: still no markup from it.
    assert PAYLOAD in assistant(page).locator(".nbstream-body").inner_text()
    chat = page.locator(".nbstream-chat")
    assert chat.locator("img, script, [onerror]").count() == 0
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__pwned") is None
