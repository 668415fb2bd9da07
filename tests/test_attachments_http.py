"""Attachments over real HTTP: the real ``openai`` SDK (sync and async twins) sends a
Chat's question with its attachments to the local server on 127.0.0.1; the request
body the server received holds the exact parts (the image's bytes, decoded, are the
ones attached), and the local model describes what it got. The Responses API's
``input_text`` / ``input_image`` parts reach it too.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from typing import Any

import openai
import pandas as pd
import pytest
from PIL import Image

from nbstream import Chat
from nbstream.attachments import attach, responses_content
from nbstream.local import API_KEY, MODEL, LocalServer

pytestmark = pytest.mark.timeout(60)


def picture() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 255, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def clients(server: LocalServer, sent: list[dict[str, Any]]) -> dict[str, object]:
    def record(request: Any) -> None:
        sent.append(json.loads(request.content))

    async def arecord(request: Any) -> None:
        sent.append(json.loads(request.content))

    return {
        "sync": openai.OpenAI(
            base_url=server.base_url,
            api_key=API_KEY,
            http_client=openai.DefaultHttpxClient(event_hooks={"request": [record]}),
        ),
        "async": openai.AsyncOpenAI(
            base_url=server.base_url,
            api_key=API_KEY,
            http_client=openai.DefaultAsyncHttpxClient(event_hooks={"request": [arecord]}),
        ),
    }


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_the_request_body_holds_the_exact_parts(server: LocalServer, mode: str) -> None:
    sent: list[dict[str, Any]] = []
    chat = Chat(clients(server, sent)[mode], MODEL)
    data = picture()
    table = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    attachments = {"green.png": data, "t": table}
    if mode == "sync":
        # ask() blocks, so it waits in a worker thread, as a script would.
        text = await asyncio.to_thread(chat.ask, "What are these?", attachments)
    else:
        text = await chat.asend("What are these?", attachments)
    [body] = sent
    content = body["messages"][-1]["content"]
    assert content == chat.messages[-2]["content"]
    assert [part["type"] for part in content] == ["text", "text", "image_url", "text"]
    head, _, encoded = content[2]["image_url"]["url"].partition(";base64,")
    assert head == "data:image/png"
    assert base64.b64decode(encoded) == data  # the very bytes attached
    assert content[3]["text"] == attach(table, name="t").text
    assert text == (
        "You attached 2 things:\n\n"
        "- Image `green.png`: PNG, 30 × 20 px, mean colour #00ff00.\n"
        "- Table `t`: 2 rows × 2 columns; columns `a`, `b`."
    )


async def test_the_responses_api_takes_the_same_attachments(server: LocalServer) -> None:
    sent: list[dict[str, Any]] = []
    made = clients(server, sent)
    content = responses_content("Look", [attach(picture(), name="g.png")])
    for mode in ("sync", "async"):
        client: Any = made[mode]
        request = {
            "model": MODEL,
            "input": [{"role": "user", "content": content}],
            "stream": True,
        }
        text = ""
        if mode == "sync":
            for event in client.responses.create(**request):
                if event.type == "response.output_text.delta":
                    text += event.delta
        else:
            async for event in await client.responses.create(**request):
                if event.type == "response.output_text.delta":
                    text += event.delta
        assert sent[-1]["input"][0]["content"] == content
        assert (
            text
            == "You attached 1 thing:\n\n- Image `g.png`: PNG, 30 × 20 px, mean colour #00ff00."
        )
