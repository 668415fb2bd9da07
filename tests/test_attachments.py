"""Attachments, as their specification: each kind of object becomes its content parts,
the limits hold (downscaling keeps the aspect ratio), every bad input fails with a
clear error before anything is sent, and the Chat keeps, sends, shows and copies them.

Real pandas, polars, pillow and matplotlib objects (the ``test`` extra has them); the
Chat's answers come from plain functions (what they receive is what was sent) and from
the local model, which describes what it got.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import polars as pl
import pytest
from PIL import Image

from nbstream import AttachmentError, Chat
from nbstream.attachments import (
    Attachment,
    AttachmentLimits,
    attach,
    attach_all,
    images,
    responses_content,
    user_content,
)
from nbstream.attachments.headers import parse_columns, parse_header
from nbstream.attachments.read_back import read_back
from tests.recording import Recorder
from tests.test_chat import wait_until

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the headless backend


def png(width: int, height: int, colour: tuple[int, int, int] = (200, 30, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def encoded(data: bytes, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buffer, format=fmt)
    return buffer.getvalue()


def sent_image(attachment: Attachment) -> Image.Image:
    """The image as the model gets it: decoded from the data URL of its part."""
    url = attachment.parts()[1]["image_url"]["url"]
    head, _, body = url.partition(";base64,")
    assert head.startswith("data:image/")
    return Image.open(io.BytesIO(base64.b64decode(body)))


# -- tables ---------------------------------------------------------------------------


def test_a_pandas_dataframe_is_its_shape_columns_and_rows_as_text() -> None:
    df = pd.DataFrame({"city": ["Oslo", "Pa|ris"], "temp": [3.5, 12.0]})
    attachment = attach(df, name="df")
    assert (attachment.kind, attachment.name, attachment.detail) == (
        "table",
        "df",
        "2 rows × 2 columns",
    )
    [part] = attachment.parts()
    assert part["type"] == "text"
    text = part["text"]
    assert text.splitlines()[:4] == [
        "Attached table `df` (2 rows × 2 columns):",
        "Columns:",
        f"- `city`: {df.dtypes['city']}",  # object, or str from pandas 3 on
        "- `temp`: float64",
    ]
    assert "All 2 rows:" in text
    assert "| Oslo | 3.5 |" in text
    assert "| Pa\\|ris | 12.0 |" in text  # a pipe in a cell does not split it
    assert parse_columns(text) == ["city", "temp"]


def test_only_the_first_rows_are_shown_and_the_count_is_configurable() -> None:
    df = pd.DataFrame({"n": range(100)})
    text = attach(df, limits=AttachmentLimits(table_rows=5)).text
    assert "First 5 rows:" in text
    assert "| 4 |" in text
    assert "| 5 |" not in text
    assert parse_header(text) is not None
    assert parse_header(text).detail == "100 rows × 1 column"  # type: ignore[union-attr]


def test_a_series_and_a_polars_dataframe_are_tables_too() -> None:
    series = pd.Series([1, 2, 3], name="counts")
    assert attach(series).name == "counts"
    assert attach(series).detail == "3 rows × 1 column"
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    text = attach(frame, name="frame").text
    assert "- `a`: Int64" in text
    assert "- `b`: String" in text
    assert "| 2 | y |" in text


# -- images ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_image_bytes_of_each_format_become_a_data_url_part(fmt: str) -> None:
    data = encoded(png(40, 30), fmt)
    attachment = attach(data, name=f"pic.{fmt.lower()}")
    header, image_part = attachment.parts()
    assert header == {
        "type": "text",
        "text": f"Attached image `pic.{fmt.lower()}` (40 × 30 px {fmt}):",
    }
    mime = {"PNG": "png", "JPEG": "jpeg", "GIF": "gif", "WEBP": "webp"}[fmt]
    assert image_part["image_url"]["url"] == (
        f"data:image/{mime};base64," + base64.b64encode(data).decode()
    )
    assert attachment.size == len(data)
    assert attachment.detail == f"40 × 30 px {fmt}"


def test_pil_images_figures_and_repr_png_objects_are_images(tmp_path: Path) -> None:
    image = Image.new("RGB", (64, 48), (10, 20, 30))
    assert sent_image(attach(image)).size == (64, 48)
    assert attach(image).name == "image.png"

    figure, axes = plt.subplots(figsize=(2, 1), dpi=100)
    axes.plot([1, 2, 3])
    sent = sent_image(attach(figure))
    plt.close(figure)
    assert (sent.format, sent.size) == ("PNG", (200, 100))

    class Plot:
        def _repr_png_(self) -> bytes:
            return png(7, 5)

    class Photo:
        def _repr_jpeg_(self) -> str:  # base64 text, as IPython.display.Image gives
            return base64.b64encode(encoded(png(9, 3), "JPEG")).decode()

    assert attach(Plot()).detail == "7 × 5 px PNG"
    assert attach(Photo()).detail == "9 × 3 px JPEG"
    path = tmp_path / "dot.png"
    path.write_bytes(png(3, 2))
    assert (attach(path).name, attach(str(path)).detail) == ("dot.png", "3 × 2 px PNG")


def test_a_large_image_is_downscaled_keeping_its_aspect_ratio() -> None:
    attachment = attach(png(3000, 1000), limits=AttachmentLimits(max_image_side=600))
    assert sent_image(attachment).size == (600, 200)
    assert attachment.detail == "600 × 200 px PNG, from 3000 × 1000"
    # The thumbnail is small, whatever the image.
    thumb = attachment.view()["thumbnail"]
    assert thumb.startswith("data:image/")
    decoded = Image.open(io.BytesIO(base64.b64decode(thumb.split(",", 1)[1])))
    assert max(decoded.size) == images.THUMBNAIL_SIDE
    assert len(thumb) < 10_000


def test_without_pillow_a_large_image_gets_an_error_that_states_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(images, "_pillow", lambda: None)
    small = attach(png(20, 10))  # the header alone says what it is
    assert small.detail == "20 × 10 px PNG"
    assert small.view()["thumbnail"].startswith("data:image/png;base64,")
    with pytest.raises(AttachmentError, match=r"3000 × 1000 px, more than the limit of 2048 px"):
        attach(png(3000, 1000))


# -- texts ----------------------------------------------------------------------------


def test_text_files_are_fenced_with_their_name_and_line_count(tmp_path: Path) -> None:
    code = tmp_path / "model.py"
    code.write_text("x = 1\nprint('```')\n")
    attachment = attach(code)
    size = len(code.read_bytes())
    assert (attachment.kind, attachment.detail, attachment.size) == ("text", "2 lines", size)
    assert attachment.text == (
        "Attached file `model.py` (2 lines):\n````py\nx = 1\nprint('```')\n````"
    )
    for suffix in (".txt", ".md", ".csv", ".json"):
        path = tmp_path / f"data{suffix}"
        path.write_text("a,b\n1,2\n")
        assert attach(path).text.startswith(f"Attached file `data{suffix}` (2 lines):\n```")


def test_a_notebook_is_its_cells_sources(tmp_path: Path) -> None:
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# Title\n", "Some prose"]},
            {"cell_type": "code", "source": "df.describe()", "outputs": [{"text": "HIDDEN"}]},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "analysis.ipynb"
    path.write_text(json.dumps(notebook))
    attachment = attach(path)
    assert attachment.detail == "2 cells"
    assert attachment.text == (
        "Attached file `analysis.ipynb` (2 cells):\n# Title\nSome prose\n\n"
        "```python\ndf.describe()\n```"
    )


def test_text_of_your_own_and_markdown_reprs_and_long_texts_cut() -> None:
    class Report:
        def _repr_markdown_(self) -> str:
            return "**bold** claim"

    assert attach(Report()).text == "Attached text `Report` (1 line):\n```\n**bold** claim\n```"
    long = Attachment.from_text("x" * 50, name="long.txt", limits=AttachmentLimits(text_chars=10))
    assert long.text.endswith(
        "```\nxxxxxxxxxx\n```\n[cut: only the first 10 of 50 characters are shown; "
        "40 characters were left out]"
    )
    named = attach_all({"notes": Attachment.from_text("hi", name="n.txt"), "t": pd.Series([1])})
    assert [a.name for a in named] == ["n.txt", "t"]


# -- errors ---------------------------------------------------------------------------


def test_an_unsupported_object_names_the_accepted_kinds() -> None:
    with pytest.raises(AttachmentError) as caught:
        attach({"a": 1})
    message = str(caught.value)
    assert message.startswith("cannot attach a dict: attach an image (PIL.Image")
    for kind in ("DataFrame", ".ipynb", "_repr_markdown_", "Attachment.from_text"):
        assert kind in message


def test_files_that_are_missing_folders_of_wrong_kind_or_not_text(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError, match=r"no file '.*missing\.csv'"):
        attach(tmp_path / "missing.csv")
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    with pytest.raises(AttachmentError, match="is a folder, not a file"):
        attach(folder)
    (tmp_path / "data.parquet").write_bytes(b"PAR1")
    with pytest.raises(AttachmentError, match=r"a file must be an image \(.png"):
        attach(tmp_path / "data.parquet")
    (tmp_path / "latin.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(AttachmentError, match=r"latin\.txt is not UTF-8 text \(byte 3 is 0xe9\)"):
        attach(tmp_path / "latin.txt")
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(AttachmentError, match=r"broken\.ipynb is not a readable notebook"):
        attach(tmp_path / "broken.ipynb")


def test_corrupt_images_are_refused() -> None:
    whole = png(50, 50)
    with pytest.raises(AttachmentError, match=r"cut\.png is a corrupt image"):
        attach(whole[: len(whole) // 2], name="cut.png")  # header fine, pixels cut
    with pytest.raises(AttachmentError, match=r"short\.png is a corrupt PNG image: its header"):
        attach(whole[:14], name="short.png")
    with pytest.raises(AttachmentError, match="noise is not a PNG, JPEG, GIF or WebP image"):
        attach(b"\x00" * 40, name="noise")


def test_limits_on_size_and_count_say_which_attachment_and_which_limit() -> None:
    limits = AttachmentLimits(max_bytes=1000, max_count=2)
    with pytest.raises(AttachmentError) as caught:
        attach_all([pd.Series([1]), png(300, 300, (1, 2, 3)) + bytes(2000)], limits)
    assert str(caught.value).startswith("attachment 2 of 2: image is 2.")
    assert "more than the limit of 1.0 kB per attachment" in str(caught.value)
    assert caught.value.index == 1
    with pytest.raises(
        AttachmentError, match=r"too many attachments: 3, and a question may carry 2"
    ):
        attach_all([pd.Series([1])] * 3, limits)
    with pytest.raises(TypeError, match="attachments must be a list"):
        attach_all("notes.txt")
    with pytest.raises(ValueError, match="max_count must be a positive int"):
        AttachmentLimits(max_count=0)


# -- message content --------------------------------------------------------------------


def test_message_content_for_both_apis() -> None:
    table = attach(pd.DataFrame({"a": [1]}), name="t")
    picture = attach(png(4, 4), name="p.png")
    content = user_content("Compare", [table, picture])
    assert isinstance(content, list)
    assert [part["type"] for part in content] == ["text", "text", "text", "image_url"]
    assert content[0] == {"type": "text", "text": "Compare"}
    responses = responses_content("Compare", [table, picture])
    assert [part["type"] for part in responses] == [
        "input_text",
        "input_text",
        "input_text",
        "input_image",
    ]
    assert responses[3]["image_url"] == picture.url
    # Read back, they are the same attachments again, whichever API's form.
    for form in (content, responses):
        found = read_back(form)
        assert found.question == "Compare"
        assert [(v["kind"], v["name"], v["detail"]) for v in found.views] == [
            ("table", "t", "1 row × 1 column"),
            ("image", "p.png", "4 × 4 px PNG"),
        ]


# -- the Chat ---------------------------------------------------------------------------


class Model:
    """A function backend that keeps what it was sent and answers "ok"."""

    def __init__(self) -> None:
        self.requests: list[list[dict[str, Any]]] = []

    def __call__(self, messages: list[dict[str, Any]]) -> list[str]:
        self.requests.append(messages)
        return ["ok"]


def test_the_chat_sends_exactly_what_chat_messages_holds(recorder: Recorder) -> None:
    model = Model()
    chat = Chat(model)
    df = pd.DataFrame({"a": [1, 2]})
    assert chat.ask("Look", attachments={"df": df, "dot.png": png(5, 5)}) == "ok"
    [sent] = model.requests
    assert sent == chat.messages[:-1]
    content = chat.messages[0]["content"]
    assert content == user_content(
        "Look", [attach(df, name="df"), attach(png(5, 5), name="dot.png")]
    )
    # Nothing but the question: a plain string, as before.
    chat.ask("Thanks")
    assert chat.messages[-2] == {"role": "user", "content": "Thanks"}


def test_a_bad_attachment_raises_before_anything_is_sent(recorder: Recorder) -> None:
    model = Model()
    chat = Chat(model)
    chat.ask("First")
    before = chat.messages
    with pytest.raises(AttachmentError, match="attachment 2 of 2: cannot attach a float"):
        chat.send("Second", attachments=[pd.Series([1]), 2.5])
    assert chat.messages == before
    assert len(model.requests) == 1
    assert not chat.is_streaming
    with pytest.raises(ValueError, match="nothing to send"):
        chat.send("  ")
    assert chat.ask("", attachments=[pd.Series([1], name="s")]) == "ok"  # attachments alone
    assert model.requests[-1][-1]["content"][0]["text"].startswith("Attached table `s`")


async def test_asend_takes_attachments_too(recorder: Recorder) -> None:
    async def model(messages: list[dict[str, Any]]) -> Any:
        yield f"{len(messages[-1]['content'])} parts"

    chat = Chat(model)
    assert await chat.asend("Which?", attachments=[png(2, 2)]) == "3 parts"
    with pytest.raises(AttachmentError, match="cannot attach a set"):
        await chat.asend("Which?", attachments=[{1}])
    assert len(chat.messages) == 2


def test_the_browser_gets_chips_and_thumbnails_never_the_image(recorder: Recorder) -> None:
    chat = Chat(Model())
    big = png(1200, 900, (0, 128, 255))
    chat.ask("Describe", attachments={"photo.png": big, "t": pd.Series([1, 2])})
    comm = recorder.comm_of(chat)
    sent = json.dumps([data for _, data in comm.published])
    image_data = base64.b64encode(big).decode()
    assert image_data[:200] not in sent  # not in any message to the browser
    state = chat.get_state()
    saved = json.dumps(state["_turns"])
    assert image_data[:200] not in saved  # nor in saved widget state
    user = state["_turns"][0]
    assert "parts" not in user
    photo, table = user["attachments"]
    assert (photo["kind"], photo["name"], photo["size"], photo["detail"]) == (
        "image",
        "photo.png",
        len(big),
        "1200 × 900 px PNG",
    )
    assert photo["thumbnail"].startswith("data:image/")
    assert len(photo["thumbnail"]) < 8_000
    assert (table["kind"], table["thumbnail"]) == ("table", "")


def test_copies_show_a_placeholder_line_per_attachment(recorder: Recorder) -> None:
    chat = Chat(Model())
    chat.ask("See", attachments={"plot.png": png(64, 48), "df": pd.DataFrame({"a": [1]})})
    markdown = chat.export()
    assert "See\n\n🖼 *image* `plot.png` (64 × 48 px PNG," in markdown
    assert "📊 *table* `df` (1 row × 1 column)" in markdown
    html = chat._static_html()
    assert html is not None
    assert "<p>🖼 image plot.png (64 × 48 px PNG, " in html  # as typed: plain text
    assert "base64" not in html
    assert "Columns:" not in html  # the table's text is for the model only


def test_messages_set_back_show_the_same_chips_and_send_the_same_parts(recorder: Recorder) -> None:
    chat = Chat(Model())
    chat.ask("See", attachments={"plot.png": png(6, 4), "df": pd.DataFrame({"a": [1]})})
    messages = chat.messages
    views = chat.get_state()["_turns"][0]["attachments"]
    other = Chat(Model())
    other.messages = messages
    assert other.messages == messages
    assert other.get_state()["_turns"][0]["attachments"] == views
    with pytest.raises(ValueError, match=r"messages\[0\]\['content'\]\[1\] must be a content part"):
        other.messages = [{"role": "user", "content": [{"type": "text", "text": "a"}, {"x": 1}]}]


def test_an_edit_keeps_the_attachments_and_regenerate_resends_them(recorder: Recorder) -> None:
    model = Model()
    chat = Chat(model)
    chat.ask("Old question", attachments={"t": pd.Series([1])})
    parts = chat.messages[0]["content"][1:]
    user_id = chat.get_state()["_turns"][0]["id"]
    recorder.comm_of(chat).from_browser({"kind": "edit", "id": user_id, "text": "New question"})
    _wait_idle(chat)
    assert chat.messages[0]["content"] == [{"type": "text", "text": "New question"}, *parts]
    chat.regenerate()
    _wait_idle(chat)
    assert model.requests[-1][0]["content"][1:] == parts


def _wait_idle(chat: Chat) -> None:
    import time

    deadline = time.monotonic() + 10
    while chat.is_streaming and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not chat.is_streaming


# -- the local model --------------------------------------------------------------------


def test_the_local_model_describes_exactly_what_was_attached(
    recorder: Recorder, tmp_path: Path
) -> None:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
    picture = Image.fromarray(pixels)
    mean = "#" + "".join(f"{round(float(c)):02x}" for c in pixels.reshape(-1, 3).mean(axis=0))
    notes = tmp_path / "notes.md"
    notes.write_text("one\ntwo\nthree\nfour\n")
    df = pd.DataFrame({"city": ["Oslo", "Rome", "Lima"], "rain": [1, 2, 3]})
    chat = Chat()
    answer = chat.ask("What are these?", attachments={"df": df, "pic": picture, "n": notes})
    assert answer == (
        "You attached 3 things:\n\n"
        "- Table `df`: 3 rows × 2 columns; columns `city`, `rain`.\n"
        f"- Image `pic`: PNG, 40 × 30 px, mean colour {mean}.\n"
        "- File `n`: 4 lines."
    )
    # A question with nothing attached is answered as before.
    assert chat.ask("What is nbstream?").startswith("## What is nbstream?")


def test_three_1_mb_images_weigh_little_in_a_saved_notebook(recorder: Recorder) -> None:
    # Noise does not compress: each PNG is about 1 MB, as a photo would be.
    rng = np.random.default_rng(3)
    photos = {}
    for index in range(3):
        pixels = rng.integers(0, 256, size=(580, 580, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        photos[f"photo{index}.png"] = buffer.getvalue()
    assert all(len(data) > 1_000_000 for data in photos.values())
    chat = Chat(Model())
    chat.ask("Compare these", attachments=photos)
    # What a saved notebook stores of this Chat: its widget state (the bundle aside,
    # which every widget carries), and the static copy in its output.
    state = chat.get_state()
    saved = {k: v for k, v in state.items() if k not in ("_esm", "_css")}
    weight = len(json.dumps(saved))
    html = chat._static_html() or ""
    print(f"three 1 MB images: {weight} B of widget state, {len(html)} B of static copy")
    assert weight < 3 * 20_000  # thumbnails only: well under 2% of the 3 MB attached
    assert len(html) < 2_000


def test_files_dropped_in_the_browser_arrive_once_as_buffers_and_are_attached(
    recorder: Recorder,
) -> None:
    chat = Chat()
    comm = recorder.comm_of(chat)
    picture = png(40, 30)
    comm.from_browser(
        {
            "kind": "send",
            "text": "What are these?",
            "files": [{"name": "red.png", "type": "image/png"}, {"name": "notes.md", "type": ""}],
        },
        [picture, b"one\ntwo\nthree\n"],
    )
    wait_until(lambda: not chat.is_streaming)
    user, answer = chat._turns
    assert [(a["kind"], a["name"]) for a in user["attachments"]] == [
        ("image", "red.png"),
        ("text", "notes.md"),
    ]
    assert user["attachments"][0]["thumbnail"].startswith("data:image/")
    assert "Image `red.png`: PNG, 40 × 30 px" in answer["content"]
    assert "File `notes.md`: 3 lines." in answer["content"]
    # The model got the image itself; the browser never gets it back.
    content = chat.messages[0]["content"]
    assert any(part["type"] == "image_url" for part in content)
    assert base64.b64encode(picture).decode()[:100] not in json.dumps(comm.published)


def test_a_dropped_file_of_no_accepted_kind_is_refused_and_the_words_given_back(
    recorder: Recorder,
) -> None:
    chat = Chat()
    comm = recorder.comm_of(chat)
    comm.from_browser(
        {"kind": "send", "text": "Look", "files": [{"name": "tool.exe", "type": ""}]}, [b"MZ"]
    )
    notice = comm.custom_messages()[-1]
    assert notice["kind"] == "notice"
    assert notice["text"].startswith("cannot attach tool.exe: a file must be an image")
    assert notice["draft"] == "Look"
    assert chat._turns == []
    comm.from_browser({"kind": "send", "text": "Look", "files": [{"name": "a.txt"}]}, [])
    assert comm.custom_messages()[-1]["text"] == "1 files were attached but 0 arrived"
    assert chat._turns == []
