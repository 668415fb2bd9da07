"""The relay's chat page in Debian's Chromium: type, watch the answer stream with the
cursor, Stop it (the upstream closes), and see an error kept under the partial text.

The page is served by the relay itself (a real uvicorn), in front of the local model.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from nbstream import relay
from nbstream.local import MODEL, LocalServer
from nbstream.local.model import answer, tokenize
from tests.relay_servers import serving

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

QUESTION = "How do I stream with the async client?"
ASKED = [{"role": "user", "content": QUESTION}]
KEY = "sk-browser-secret-123456"  # the upstream's: it must never reach the page


def letters(text: str) -> str:
    """Letters and digits only: what a rendered answer and its markdown share (a code
    fence's language names it, but is not shown)."""
    return "".join(ch for ch in re.sub(r"```[\w+-]+", "", text) if ch.isalnum())


@pytest.fixture(scope="module")
def paced() -> Iterator[LocalServer]:
    # Slow enough to see the stream (and stop it), quick enough for a test.
    with LocalServer(tokens_per_second=60, first_token_delay=0) as running:
        yield running


def relay_app(server: LocalServer, **params: Any) -> Any:
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
    return relay.create_app(client, MODEL, **params)


@pytest.fixture
def chat_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def ask(page: Any, url: str, question: str = QUESTION) -> None:
    page.goto(url)
    page.wait_for_selector("select[name=model] option", state="attached")
    page.fill("textarea[name=question]", question)
    page.keyboard.press("Enter")


def test_an_answer_streams_with_the_cursor_and_ends_whole(
    chat_page: Any, paced: LocalServer
) -> None:
    with serving(relay_app(paced)) as url:
        ask(chat_page, f"{url}/")
        view = chat_page.locator(".relay-assistant .nbstream-view")
        view.locator(".nbstream-cursor").wait_for()  # streaming: the cursor shows
        assert view.get_attribute("data-streaming") == "true"
        assert chat_page.locator(".relay-stop").is_visible()
        chat_page.wait_for_selector(".relay-assistant .nbstream-view[data-streaming=false]")
        assert view.locator(".nbstream-cursor").count() == 0
        body = view.locator(".nbstream-body")
        assert letters(body.inner_text()) == letters(answer(ASKED))
        assert body.locator("pre code").count() >= 1  # markdown rendered, not shown raw
        assert chat_page.locator(".relay-user").inner_text() == QUESTION
        # The second question carries the first exchange: the answer is the model's to it.
        chat_page.fill("textarea[name=question]", "What is nbstream?")
        chat_page.click(".relay-send")
        second = chat_page.locator(".relay-assistant .nbstream-view").nth(1)
        # Locators, not wait_for_function: the page's policy forbids evaluating strings.
        chat_page.locator(".relay-assistant .nbstream-view[data-streaming=false]").nth(1).wait_for()
        assert letters(second.locator(".nbstream-body").inner_text()) == letters(
            answer(
                [
                    *ASKED,
                    {"role": "assistant", "content": answer(ASKED)},
                    {"role": "user", "content": "What is nbstream?"},
                ]
            )
        )


def test_stop_aborts_the_fetch_and_the_upstream_closes(chat_page: Any, paced: LocalServer) -> None:
    before = paced.stats.snapshot()
    with serving(relay_app(paced)) as url:
        ask(chat_page, f"{url}/")
        view = chat_page.locator(".relay-assistant .nbstream-view")
        view.locator(".nbstream-body p").first.wait_for()  # some text is in
        chat_page.click(".relay-stop")
        chat_page.wait_for_selector(".relay-note")
        assert chat_page.locator(".relay-note").inner_text() == "Stopped."
        assert view.get_attribute("data-streaming") == "false"
        assert view.locator(".nbstream-error").count() == 0
        shown = letters(view.locator(".nbstream-body").inner_text())
        assert shown
        assert letters(answer(ASKED)).startswith(shown)
        assert shown != letters(answer(ASKED))
        stopped = time.monotonic()
        while paced.stats.snapshot().active_streams:
            assert time.monotonic() - stopped < 1.0, "the upstream is still streaming"
            time.sleep(0.02)
    after = paced.stats.snapshot()
    assert after.streams_disconnected == before.streams_disconnected + 1
    assert chat_page.locator(".relay-send").is_visible()


def test_an_error_is_shown_under_the_partial_text(chat_page: Any, paced: LocalServer) -> None:
    app = relay_app(paced, extra_body={"nbstream": {"fault": "error", "fault_after": 9}})
    with serving(app) as url:
        ask(chat_page, f"{url}/")
        error = chat_page.locator(".relay-assistant .nbstream-error")
        error.wait_for()
        assert "The nbstream local model failed mid-stream" in error.inner_text()
        body = chat_page.locator(".relay-assistant .nbstream-body")
        assert letters(body.inner_text()) == letters("".join(tokenize(answer(ASKED))[:9]))
        assert KEY not in chat_page.content()


def test_a_refused_question_says_why(chat_page: Any, paced: LocalServer) -> None:
    app = relay_app(paced, limits=relay.RelayLimits(max_message_chars=10))
    with serving(app) as url:
        ask(chat_page, f"{url}/", "A question far longer than ten characters")
        error = chat_page.locator(".relay-assistant .nbstream-error")
        error.wait_for()
        assert "HTTP 413" in error.inner_text()
        assert "the limit is 10" in error.inner_text()
