"""Chat in real JupyterLab and Debian's Chromium: what a user does and sees.

Everything is driven through the widget's own controls (typing, Enter, buttons), and
checked in the DOM; the kernel is the real one, the model the local one over HTTP.
"""

from __future__ import annotations

import json
import shutil
import time
from typing import Any

import pytest

from nbstream.local.model import answer
from tests.browser_fixtures import open_and_run_all
from tests.browser_harness import CHROMIUM, JupyterServer, write_notebook

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]
pytest.importorskip("playwright.sync_api")

QUESTION = "What is nbstream?"


def chat_cell(arguments: str = "") -> str:
    return f"from nbstream import Chat\nimport nbstream.local\nchat = Chat({arguments})\nchat"


def ask(page: Any, text: str) -> None:
    """Type a question into the chat and press Enter, as a user does; wait for its turn."""
    users = page.locator('.nbstream-msg[data-role="user"]')
    before = users.count()
    box = page.locator(".nbstream-chat-input")
    box.click()
    box.fill(text)
    box.press("Enter")
    page.wait_for_function(
        f"""() => document.querySelectorAll('.nbstream-msg[data-role="user"]').length > {before}
                  && [...document.querySelectorAll('.nbstream-msg')].pop().dataset.role
                     === 'assistant'""",
        timeout=20_000,
    )


def assistant(page: Any, index: int = -1) -> Any:
    messages = page.locator('.nbstream-msg[data-role="assistant"]')
    return messages.nth(index) if index >= 0 else messages.last


def wait_status(page: Any, status: str, timeout: int = 30_000) -> None:
    page.wait_for_selector(
        f'.nbstream-msg[data-role="assistant"]:last-child[data-status="{status}"]',
        timeout=timeout,
    )


def last_status(page: Any) -> str:
    status: str = assistant(page).get_attribute("data-status")
    return status


def wait_done(page: Any, timeout: int = 30_000) -> None:
    page.wait_for_function(
        """() => {
          const all = document.querySelectorAll('.nbstream-msg[data-role="assistant"]');
          const last = all[all.length - 1];
          return last && last.dataset.status !== 'streaming';
        }""",
        timeout=timeout,
    )


def test_type_send_and_stop_within_100ms_while_another_cell_sleeps(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    name = write_notebook(
        lab.root,
        "chat-stop.ipynb",
        [
            chat_cell("extra_body={'nbstream': {'tokens_per_second': 25}}"),
            "import time\ntime.sleep(30)",
        ],
    )
    open_and_run_all(page, lab, name)
    page.wait_for_selector(".nbstream-chat", timeout=60_000)
    # The second cell is busy sleeping from here on.
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                   .some(p => p.textContent.includes('[*]'))""",
        timeout=15_000,
    )
    ask(page, QUESTION)
    user = page.locator('.nbstream-msg[data-role="user"]').last
    user.wait_for(timeout=10_000)
    assert QUESTION in user.inner_text()
    # The answer streams (cursor, aria-busy) although a cell is busy.
    page.wait_for_selector(
        '.nbstream-msg[data-role="assistant"][data-status="streaming"][aria-busy="true"] '
        ".nbstream-cursor",
        timeout=20_000,
    )
    page.wait_for_function(
        """() => {
          const body = [...document.querySelectorAll('.nbstream-msg[data-role="assistant"]')]
            .pop()?.querySelector('.nbstream-body');
          return body && body.textContent.length > 80;
        }""",
        timeout=20_000,
    )
    assert page.locator(".jp-CodeCell .jp-InputPrompt", has_text="[*]").count() == 1

    # Click Stop and time, in the page, until the answer shows as stopped.
    latency = page.evaluate(
        """() => new Promise((resolve) => {
          const msg = [...document.querySelectorAll('.nbstream-msg[data-role="assistant"]')].pop();
          const stop = document.querySelector('button.nbstream-stop');
          const observer = new MutationObserver(() => {
            if (msg.dataset.status === 'stopped') {
              observer.disconnect();
              resolve(performance.now() - started);
            }
          });
          observer.observe(msg, {attributes: true, subtree: true, childList: true});
          const started = performance.now();
          stop.click();
        })"""
    )
    print(f"stop latency: {latency:.1f} ms")
    assert latency < 100, f"Stop took {latency:.0f} ms to show"
    message = assistant(page)
    partial = message.locator(".nbstream-body").inner_text()
    assert len(partial) > 40
    assert message.locator(".nbstream-cursor").count() == 0
    assert message.locator('.nbstream-flag[data-flag="stopped"]').count() == 1
    page.wait_for_timeout(500)
    assert message.locator(".nbstream-body").inner_text() == partial  # nothing after Stop
    # The sleeping cell was busy the whole time.
    assert page.locator(".jp-CodeCell .jp-InputPrompt", has_text="[*]").count() == 1
    page.screenshot(path=str(lab.root.parent / "chat-stopped.png"), animations="disabled")


def test_keys_stay_in_the_chat_and_the_page_does_not_scroll(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    name = write_notebook(
        lab.root,
        "chat-scroll.ipynb",
        [
            "x = 1",
            chat_cell("extra_body={'nbstream': {'tokens_per_second': 400, 'answer_tokens': 1500}}"),
        ],
    )
    open_and_run_all(page, lab, name)
    page.wait_for_selector(".nbstream-chat", timeout=60_000)
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                   .every(p => /\\[\\d+\\]/.test(p.textContent))""",
        timeout=30_000,
    )
    prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
    cells = page.locator(".jp-Cell").count()

    box = page.locator(".nbstream-chat-input")
    box.click()
    box.type("first line")
    box.press("Shift+Enter")  # a new line in the box, not "run cell"
    box.type("second line")
    assert box.input_value() == "first line\nsecond line"
    box.fill("")
    box.press("Enter")  # empty: nothing is sent
    assert page.locator(".nbstream-msg").count() == 0

    scroller = ".jp-WindowedPanel-outer"
    page_scroll = page.evaluate(f"() => document.querySelector('{scroller}').scrollTop")
    ask(page, "Tell me about markdown")
    page.wait_for_selector('.nbstream-msg[data-status="streaming"]', timeout=20_000)
    log = page.locator(".nbstream-chat-log")
    samples = []
    for _ in range(8):
        page.wait_for_timeout(250)
        samples.append(
            page.evaluate(
                f"""() => {{
              const log = document.querySelector('.nbstream-chat-log');
              return {{
                page: document.querySelector('{scroller}').scrollTop,
                window: window.scrollY,
                gap: log.scrollHeight - log.clientHeight - log.scrollTop,
                overflow: log.scrollHeight > log.clientHeight,
              }};
            }}"""
            )
        )
    # The notebook never moved; the chat followed its own growing answer.
    assert all(s["page"] == page_scroll and s["window"] == 0 for s in samples), samples
    assert any(s["overflow"] for s in samples), "the answer never overflowed the chat"
    assert all(s["gap"] < 40 for s in samples if s["overflow"]), samples
    # Pressing keys in the chat ran no cell and made no cell.
    assert page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts() == prompts
    assert page.locator(".jp-Cell").count() == cells

    # Scrolled up, the chat stops following and offers a way back.
    log.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    jump = page.get_by_role("button", name="Jump to latest")
    jump.wait_for(timeout=5_000)
    page.wait_for_timeout(400)
    assert log.evaluate("el => el.scrollTop") < 50
    jump.click()
    page.wait_for_function(
        """() => { const l = document.querySelector('.nbstream-chat-log');
                   return l.scrollHeight - l.clientHeight - l.scrollTop < 40; }""",
        timeout=5_000,
    )
    wait_done(page, timeout=60_000)
    assert page.evaluate(f"() => document.querySelector('{scroller}').scrollTop") == page_scroll


def test_reasoning_regenerate_and_edit(page: Any, lab_notebooks: JupyterServer) -> None:
    lab = lab_notebooks
    name = write_notebook(
        lab.root,
        "chat-edit.ipynb",
        [chat_cell("extra_body={'nbstream': {'reasoning': True, 'tokens_per_second': 300}}")],
    )
    open_and_run_all(page, lab, name)
    page.wait_for_selector(".nbstream-chat", timeout=60_000)
    ask(page, QUESTION)
    wait_done(page)
    first = assistant(page)
    assert first.get_attribute("data-status") == "done"
    reasoning = first.locator("details.nbstream-reasoning")
    assert reasoning.count() == 1
    assert reasoning.evaluate("el => el.open") is False  # collapsed
    body = first.locator(".nbstream-body:not(.nbstream-reasoning-body)")
    expected = answer([{"role": "user", "content": QUESTION}])
    assert expected.splitlines()[0].lstrip("# ") in body.inner_text()
    thought = reasoning.evaluate("el => el.textContent")
    assert "nbstream" in thought
    assert thought.strip() not in body.inner_text()
    footer = first.locator(".nbstream-msg-footer")
    assert "stop" in footer.inner_text().lower()
    assert "token" in footer.inner_text().lower()

    first_id = first.get_attribute("data-id")
    page.get_by_role("button", name="Regenerate answer").click()
    page.wait_for_function(
        f"""() => {{
          const all = document.querySelectorAll('.nbstream-msg[data-role="assistant"]');
          const last = all[all.length - 1];
          return all.length === 1 && last.dataset.id !== '{first_id}'
                 && last.dataset.status === 'done';
        }}""",
        timeout=30_000,
    )
    assert expected.splitlines()[0].lstrip("# ") in assistant(page).inner_text()

    page.get_by_role("button", name="Edit message").click()
    editor = page.locator(".nbstream-edit-input")
    editor.fill("What is markdown?")
    page.get_by_role("button", name="Send edit").click()
    page.wait_for_function(
        """() => [...document.querySelectorAll('.nbstream-msg[data-role="user"]')]
                   .map(m => m.textContent).join('|').includes('What is markdown?')""",
        timeout=10_000,
    )
    wait_done(page)
    assert page.locator('.nbstream-msg[data-role="user"]').count() == 1
    edited = answer([{"role": "user", "content": "What is markdown?"}])
    assert edited.splitlines()[0].lstrip("# ") in assistant(page).inner_text()
    page.screenshot(path=str(lab.root.parent / "chat-reasoning.png"), animations="disabled")


def test_an_error_shows_retry_and_retry_works(page: Any, lab_notebooks: JupyterServer) -> None:
    lab = lab_notebooks
    setup = (
        "from nbstream import Chat\nimport nbstream.local\n"
        "client = nbstream.local.client(max_retries=0)\ncalls = []\n"
        "def flaky(messages):\n"
        "    calls.append(1)\n"
        "    fault = {'fault': 'error', 'fault_after': 30} if len(calls) == 1 else {}\n"
        "    return client.chat.completions.create(model=nbstream.local.MODEL,\n"
        "        messages=messages, stream=True,\n"
        "        extra_body={'nbstream': {'tokens_per_second': 300, **fault}})\n"
        "chat = Chat(flaky)\nchat"
    )
    name = write_notebook(lab.root, "chat-retry.ipynb", [setup])
    open_and_run_all(page, lab, name)
    page.wait_for_selector(".nbstream-chat", timeout=60_000)
    ask(page, QUESTION)
    wait_status(page, "error")
    failed = assistant(page)
    error = failed.locator(".nbstream-error")
    assert error.get_attribute("role") == "alert"
    assert "APIError" in error.inner_text()
    assert len(failed.locator(".nbstream-body").inner_text()) > 20  # the partial text stays
    page.get_by_role("button", name="Retry").click()
    wait_status(page, "done")
    assert page.locator('.nbstream-msg[data-role="assistant"]').count() == 1
    assert assistant(page).locator(".nbstream-error").count() == 0
    expected = answer([{"role": "user", "content": QUESTION}])
    assert expected.splitlines()[0].lstrip("# ") in assistant(page).inner_text()
    # The chat is still usable: the next question gets its answer.
    ask(page, "What is markdown?")
    page.wait_for_function(
        """() => document.querySelectorAll('.nbstream-msg[data-role="assistant"]').length === 2""",
        timeout=10_000,
    )
    wait_done(page)
    assert last_status(page) == "done"


def test_a_saved_notebook_shows_the_conversation(page: Any, lab_notebooks: JupyterServer) -> None:
    lab = lab_notebooks
    name = write_notebook(
        lab.root,
        "chat-saved.ipynb",
        [chat_cell("extra_body={'nbstream': {'tokens_per_second': 400}}")],
    )
    open_and_run_all(page, lab, name)
    page.wait_for_selector(".nbstream-chat", timeout=60_000)
    ask(page, QUESTION)
    wait_status(page, "done")
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    path = lab.root / name

    def saved_turns() -> list[dict[str, Any]]:
        notebook = json.loads(path.read_text())
        states = notebook.get("metadata", {}).get("widgets", {})
        for model in (
            states.get("application/vnd.jupyter.widget-state+json", {}).get("state", {}).values()
        ):
            if "_turns" in model.get("state", {}):
                turns: list[dict[str, Any]] = model["state"]["_turns"]
                return turns
        return []

    deadline = time.monotonic() + 15
    while not saved_turns() and time.monotonic() < deadline:
        time.sleep(0.2)
    turns = saved_turns()
    expected = answer([{"role": "user", "content": QUESTION}])
    # The state holds the finished turn, not a mid-stream snapshot.
    assert [(t["role"], t["content"]) for t in turns] == [
        ("user", QUESTION),
        ("assistant", expected),
    ]
    assert turns[-1]["status"] == "done"

    # Reopen it without running anything: the conversation is there.
    lab.shutdown_kernels()
    page.goto(lab.url(name))
    chat = page.locator(".nbstream-chat")
    chat.wait_for(timeout=60_000)
    page.wait_for_selector('.nbstream-msg[data-role="assistant"]', timeout=30_000)
    assert QUESTION in page.locator('.nbstream-msg[data-role="user"]').inner_text()
    body = assistant(page).locator(".nbstream-body:not(.nbstream-reasoning-body)")
    assert expected.splitlines()[0].lstrip("# ") in body.inner_text()
    assert body.locator("table").count() >= 1


def test_copy_tool_cards_flags_and_labelled_controls(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    setup = (
        "from nbstream import Chat\nimport nbstream.local\nclient = nbstream.local.client()\n"
        "options = [{'reasoning': True}, {'tool_calls': [{'name': 'get_weather',"
        " 'arguments': {'city': 'Oslo'}}]}, {'finish_reason': 'content_filter'}]\n"
        "def scripted(messages):\n"
        "    turn = sum(m['role'] == 'user' for m in messages) - 1\n"
        "    return client.chat.completions.create(model=nbstream.local.MODEL,\n"
        "        messages=messages, stream=True, stream_options={'include_usage': True},\n"
        "        extra_body={'nbstream': {'tokens_per_second': 400, **options[turn]}})\n"
        "chat = Chat(scripted)\nchat"
    )
    name = write_notebook(lab.root, "chat-controls.ipynb", [setup])
    open_and_run_all(page, lab, name)
    page.wait_for_selector(".nbstream-chat", timeout=60_000)

    # 1. Copy copies the answer's markdown, never its reasoning; code blocks copy code.
    ask(page, "How do I stream with nbstream?")
    wait_status(page, "done")
    expected = answer([{"role": "user", "content": "How do I stream with nbstream?"}])
    message = assistant(page)
    message.get_by_role("button", name="Copy message").click()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == expected
    reasoning = message.locator("details.nbstream-reasoning").evaluate("el => el.textContent")
    assert reasoning.strip()
    assert reasoning.strip() not in copied
    code_button = message.get_by_role("button", name="Copy code").first
    code_button.click()
    code = message.locator("pre code").first.inner_text()
    assert page.evaluate("() => navigator.clipboard.readText()").strip() == code.strip()

    # 2. A tool call shows as a compact card with its name and arguments.
    ask(page, "What's the weather in Oslo?")
    wait_status(page, "done")
    card = assistant(page).locator(".nbstream-tool-call")
    assert card.count() == 1
    assert card.locator(".nbstream-tool-name").inner_text() == "get_weather"
    assert json.loads(card.locator(".nbstream-tool-args").inner_text()) == {"city": "Oslo"}
    assert "tool_calls" in assistant(page).locator(".nbstream-msg-footer").inner_text()

    # 3. A content-filter ending is flagged where the user looks.
    ask(page, "What is markdown?")
    wait_status(page, "done")
    flag = assistant(page).locator('.nbstream-flag[data-flag="content_filter"]')
    assert flag.count() == 1
    assert flag.is_visible()

    # Every control is a labelled button that the keyboard reaches.
    controls = page.evaluate(
        """() => [...document.querySelectorAll('.nbstream-chat button')].map(b => ({
              name: (b.getAttribute('aria-label') || b.textContent).trim(),
              tab: b.tabIndex, type: b.type }))"""
    )
    assert controls
    assert all(c["name"] and c["tab"] >= 0 and c["type"] == "button" for c in controls), controls
    log = page.locator(".nbstream-chat-log")
    assert log.get_attribute("role") == "log"
    page.locator(".nbstream-chat-input").focus()
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate(
        "() => document.activeElement.closest('.nbstream-chat') !== null"
        " && document.activeElement.tagName"
    )
    assert focused in ("BUTTON", "DIV"), focused
    page.screenshot(path=str(lab.root.parent / "chat-controls.png"), animations="disabled")
