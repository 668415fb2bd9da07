# marimo's notebook format: imports live in cells, and every cell ends in a `return`.
# ruff: noqa: PLC0415, PLR1711

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo

    import nbstream
    import nbstream.local

    return mo, nbstream


@app.cell(hide_code=True)
def _(mo):
    mo.md("""
    # nbstream in marimo

    Wrap a widget in `mo.ui.anywidget` to show it, then stream into it from another cell.
    This app uses nbstream's built-in local model: no API key, no network.
    Run it with `marimo run quickstart.py`, or open it with `marimo edit quickstart.py`.
    """)
    return


@app.cell
def _(mo, nbstream):
    view = nbstream.StreamView()
    mo.ui.anywidget(view)
    return (view,)


@app.cell
def _(nbstream, view):
    # A cell's output shows when the cell ends, so the view is shown by the cell above
    # and the answer streams into it from this one.
    client = nbstream.local.client()  # a real openai.OpenAI; or OpenAI(), any base_url
    question = "What is nbstream?"
    text = view.stream(
        client.chat.completions.create(
            model=nbstream.local.MODEL,
            messages=[{"role": "user", "content": question}],
            stream=True,
        )
    )
    return (text,)


@app.cell
def _(mo, text):
    mo.md(f"The answer has {len(text)} characters.")
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md("""
    ## Chat

    A whole conversation: type below and press Enter. The answer streams in the
    background, so Stop works while it does.
    """)
    return


@app.cell
def _(mo, nbstream):
    chat = nbstream.Chat()  # the local model; or Chat(OpenAI(), model="gpt-4o-mini")
    mo.ui.anywidget(chat)
    return (chat,)


if __name__ == "__main__":
    app.run()
