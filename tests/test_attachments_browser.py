"""Attachments in real JupyterLab (Chromium): a question's chips, with the kernel's
thumbnail for an image, show in the history, and the local model's answer describes
exactly what was attached."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from tests.browser_fixtures import open_and_run_all, wait_all_cells_done
from tests.browser_harness import CHROMIUM, JupyterServer, write_notebook

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]
pytest.importorskip("playwright.sync_api")
pytest.importorskip("PIL")
pytest.importorskip("pandas")

CELL = """
import pandas as pd
from PIL import Image
from nbstream import Chat
picture = Image.new("RGB", (40, 30), (200, 30, 30))
df = pd.DataFrame({"city": ["Oslo", "Rome", "Lima"], "rain": [1, 2, 3]})
chat = Chat(extra_body={"nbstream": {"tokens_per_second": 0, "first_token_delay": 0}})
display(chat)
reply = chat.ask("What are these?", attachments={"df": df, "pic": picture})
"""


def test_chips_with_thumbnails_show_in_the_history_and_the_answer_describes_them(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    name = write_notebook(lab_notebooks.root, "attached.ipynb", [CELL])
    open_and_run_all(page, lab_notebooks, name)
    wait_all_cells_done(page)
    question = page.locator('.nbstream-msg[data-role="user"]').first
    chips = question.locator(".nbstream-attachment")
    chips.first.wait_for(timeout=30_000)
    assert chips.count() == 2
    assert [chips.nth(i).get_attribute("data-kind") for i in range(2)] == ["table", "image"]
    assert "df" in chips.nth(0).inner_text()
    assert "3 rows" in chips.nth(0).inner_text()
    thumb = chips.nth(1).locator("img.nbstream-attachment-thumb")
    assert thumb.get_attribute("src").startswith("data:image/")
    # The thumbnail decoded and is drawn (not a broken image), at chip size.
    size = thumb.evaluate(
        "img => [img.naturalWidth, img.complete, img.getBoundingClientRect().width]"
    )
    assert size[0] > 0
    assert size[1] is True
    assert 0 < size[2] <= 40
    answer = page.locator('.nbstream-msg[data-role="assistant"] .nbstream-body').first
    page.wait_for_function(
        "el => el.textContent.includes('You attached 2 things')",
        arg=answer.element_handle(),
        timeout=30_000,
    )
    text = answer.inner_text()
    assert "Table df: 3 rows × 2 columns" in text
    assert "Image pic: PNG, 40 × 30 px" in text


# In the page: a 40 × 30 red PNG pasted into the message box, two text files dropped on
# the composer, as the browser delivers a paste and a drop.
PASTE_AND_DROP = """async () => {
  const canvas = document.createElement('canvas');
  canvas.width = 40; canvas.height = 30;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#c81e1e'; ctx.fillRect(0, 0, 40, 30);
  const blob = await new Promise(resolve => canvas.toBlob(resolve, 'image/png'));
  const pasted = new DataTransfer();
  pasted.items.add(new File([blob], 'red.png', {type: 'image/png'}));
  const input = document.querySelector('.nbstream-chat-input');
  const how = {bubbles: true, cancelable: true};
  input.dispatchEvent(new ClipboardEvent('paste', {clipboardData: pasted, ...how}));
  const dropped = new DataTransfer();
  dropped.items.add(new File(['one\\ntwo\\nthree\\n'], 'notes.md', {type: 'text/markdown'}));
  dropped.items.add(new File(['unwanted'], 'other.txt', {type: 'text/plain'}));
  const composer = document.querySelector('.nbstream-chat-compose');
  composer.dispatchEvent(new DragEvent('dragover', {dataTransfer: dropped, ...how}));
  composer.dispatchEvent(new DragEvent('drop', {dataTransfer: dropped, ...how}));
}"""


def test_paste_an_image_drop_files_remove_one_and_send(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    cell = (
        "from nbstream import Chat\n"
        "chat = Chat(extra_body={'nbstream': {'tokens_per_second': 0, 'first_token_delay': 0}})\n"
        "chat"
    )
    name = write_notebook(lab_notebooks.root, "dropped.ipynb", [cell])
    open_and_run_all(page, lab_notebooks, name)
    wait_all_cells_done(page)
    page.locator(".nbstream-chat-input").wait_for(timeout=30_000)
    page.evaluate(PASTE_AND_DROP)
    pending = page.locator(".nbstream-pending .nbstream-attachment")
    assert [pending.nth(i).get_attribute("data-kind") for i in range(pending.count())] == [
        "image",
        "text",
        "text",
    ]
    # The pasted image previews from the reader's own file (a blob: URL), not the kernel.
    assert pending.nth(0).locator("img").get_attribute("src").startswith("blob:")
    page.get_by_role("button", name="Remove other.txt").click()
    assert pending.count() == 2
    page.locator(".nbstream-chat-input").fill("What are these?")
    page.keyboard.press("Enter")

    answer = page.locator('.nbstream-msg[data-role="assistant"] .nbstream-body').first
    answer.wait_for(timeout=30_000)
    page.wait_for_function(
        "el => el.textContent.includes('You attached 2 things')",
        arg=answer.element_handle(),
        timeout=30_000,
    )
    text = answer.inner_text()
    assert "Image red.png: PNG, 40 × 30 px, mean colour #c81e1e" in text
    assert "File notes.md: 3 lines." in text
    assert "other.txt" not in text
    assert page.locator(".nbstream-pending .nbstream-attachment").count() == 0
    history = page.locator('.nbstream-msg[data-role="user"] .nbstream-attachment')
    assert history.count() == 2
    thumb = history.nth(0).locator("img")
    assert thumb.get_attribute("src").startswith("data:image/")
    assert thumb.evaluate("img => img.complete && img.naturalWidth > 0")
