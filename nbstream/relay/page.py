"""The relay's chat page (``GET /``): the seed's client, done right.

A standalone page (no framework, no CDN) whose script (``js/src/relay/page.ts``, built
to ``nbstream/relay/static/relay.js``) renders each answer with nbstream's own StreamView:
sanitized incremental markdown with the cursor, Stop (which aborts the fetch, so the
relay closes its upstream), and the error kept under the partial text. It reads the
stream with buffered line parsing and streaming UTF-8 decoding. Its Content Security
Policy allows only its own script and styles.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

__all__ = ["PAGE_FILES", "page_routes"]

_HERE = Path(__file__).resolve().parent

PAGE_FILES = {
    "relay.js": (_HERE / "static", "text/javascript; charset=utf-8"),
    "relay.css": (_HERE / "static", "text/css; charset=utf-8"),
    # The answers' styles are the widgets' own.
    "widget.css": (_HERE.parent / "static", "text/css; charset=utf-8"),
}
"""The files the page loads, by name: the folder each is built into, and its media type."""

_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nbstream chat</title>
<link rel="stylesheet" href="static/widget.css">
<link rel="stylesheet" href="static/relay.css">
<script type="module" src="static/relay.js"></script>
</head>
<body>
<main class="relay-page">
  <header class="relay-header"><h1>nbstream chat</h1>
    <label class="relay-model">Model <select name="model"></select></label></header>
  <section class="relay-log" aria-live="off"></section>
  <form class="relay-composer">
    <textarea name="question" rows="3" placeholder="Ask anything (Enter sends, Shift+Enter
for a new line)" aria-label="Your message" required></textarea>
    <div class="relay-buttons">
      <button type="submit" class="relay-send">Send</button>
      <button type="button" class="relay-stop" hidden>Stop</button>
    </div>
  </form>
</main>
</body>
</html>
"""


def page_routes() -> list[Route]:
    """``GET /`` and the files it loads."""
    return [
        Route("/", _page, methods=["GET"]),
        Route("/static/{name}", _static, methods=["GET"]),
    ]


async def _page(request: Request) -> Response:
    return HTMLResponse(_PAGE, headers=_headers())


async def _static(request: Request) -> Response:
    name = request.path_params["name"]
    folder, media_type = PAGE_FILES.get(name, (None, ""))
    path = folder / name if folder is not None else None
    if path is None or not path.is_file():
        return PlainTextResponse(
            f"{name} is not here; build the frontend first (npm run build in js/)",
            status_code=404,
        )
    return Response(path.read_bytes(), media_type=media_type, headers=_headers())


def _headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": _POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
