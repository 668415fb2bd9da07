"""The HTTP layer: a threading server that can end its connections, and the handler.

Standard library only: ``http.server`` with one daemon thread per connection. The handler
only does HTTP: it routes, reads the body, picks the status and headers, and writes,
framing streams as HTTP/1.1 chunked bodies of one event per chunk, as OpenAI sends them.
What a reply holds comes from :mod:`nbstream.local.endpoints`, and when each part of it is
sent from :class:`~nbstream.local.pacing.Pacer`, which writes through the handler (it is
the pacer's :class:`~nbstream.local.pacing.Connection`).

A write that fails means the client went away; sockets have ``TCP_NODELAY``, so every
event leaves as soon as it is written.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from nbstream.local import wire
from nbstream.local.endpoints import endpoint_for
from nbstream.local.faults import http_fault
from nbstream.local.model import MODEL
from nbstream.local.pacing import ClientGone, Pacer
from nbstream.local.plan import make_plan
from nbstream.local.stats import ServerStats
from nbstream.local.validation import RequestError

__all__ = ["App", "HTTPServer"]

_MAX_BODY = 16 * 1024 * 1024  # a request body larger than this is refused (HTTP 413)
_IDLE_TIMEOUT = 60.0  # seconds a connection may sit idle (or blocked) before it is closed

_log = logging.getLogger(__name__)

Headers = tuple[tuple[str, str], ...]


class App(Protocol):
    """What the handler reads of its :class:`~nbstream.local.LocalServer` for each request."""

    @property
    def stats(self) -> ServerStats:
        """Where requests and streams are counted."""

    @property
    def tokens_per_second(self) -> float:
        """The default pacing."""

    @property
    def first_token_delay(self) -> float:
        """The default seconds before the first token."""


class HTTPServer(ThreadingHTTPServer):
    """Threads per connection, plus what stopping needs: a stop flag and open connections.

    Args:
        address: The ``(host, port)`` to listen on.
        app: The settings and stats of the server it serves.
    """

    daemon_threads = True  # a stuck client must never keep the interpreter alive
    request_queue_size = 128  # benchmarks open many connections at once; the default is 5

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.stopping = threading.Event()
        self._open: dict[socket.socket, threading.Thread] = {}
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        """Bind without looking the host name up."""
        # HTTPServer.server_bind resolves the host name (socket.getfqdn), which can
        # wait on DNS for seconds; the name is never used, so skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log at debug level."""
        # The default prints a traceback to stderr, which lands in notebook cells.
        _log.debug("error while handling a request", exc_info=True)

    def track(self, connection: socket.socket) -> None:
        """Note an open connection and the thread that serves it."""
        with self._open_lock:
            self._open[connection] = threading.current_thread()

    def untrack(self, connection: socket.socket) -> None:
        """Forget a closed connection."""
        with self._open_lock:
            self._open.pop(connection, None)

    def close_all(self) -> None:
        """Wake every handler: streams see the flag, idle keep-alive reads see EOF."""
        self.stopping.set()
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            _shutdown(connection)

    def join_handlers(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds in all for the handlers' threads to end."""
        deadline = time.monotonic() + timeout
        with self._open_lock:
            threads = list(self._open.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def _shutdown(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the other side
        connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """One connection: routes requests and writes responses."""

    protocol_version = "HTTP/1.1"  # keep-alive, and chunked transfer for streams
    server_version = "nbstream-local"
    timeout = _IDLE_TIMEOUT
    server: HTTPServer

    # -- plumbing -----------------------------------------------------------------------

    def version_string(self) -> str:
        # The Server header: no Python version, nothing a scanner could use.
        return self.server_version

    def setup(self) -> None:
        super().setup()
        # Streams are many small writes; Nagle's algorithm would hold each back until
        # the previous one is acknowledged, bunching tokens and replayed pieces together.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass  # the connection is already gone; nothing left to flush
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        # Only the request line and status reach here, never headers (which carry the
        # API key); and at debug level, so notebooks stay quiet.
        _log.debug("%s - %s", self.address_string(), format % args)

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
        except OSError as exc:  # BrokenPipe, ConnectionReset, a write timeout...
            self.close_connection = True
            raise ClientGone from exc

    def _send_json(self, status: int, data: object, headers: Headers = ()) -> None:
        self._send_raw(status, "application/json", wire.encode_json(data), headers)

    def _send_error(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        body = wire.error_body(message, error_type=error_type, code=code, param=param)
        self._send_json(status, body)

    def _send_raw(self, status: int, content_type: str, body: bytes, headers: Headers = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        try:
            self.end_headers()
            self._write(body)
        except (ClientGone, OSError):
            self.close_connection = True

    def _chunked_head(self, status: int, headers: Headers) -> None:
        """Set the head of a chunked response; :meth:`start_body` sends it."""
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering with an error."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send_error(411, "Chunked request bodies are not supported; send Content-Length.")
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self.close_connection = True  # the body was not read, so the stream is lost
            self._send_error(413, f"The request body must be 0 to {_MAX_BODY} bytes.")
            return None
        return self.rfile.read(length)

    # -- the pacer's connection (see nbstream.local.pacing.Connection) -----------------

    def start_body(self) -> None:
        """Send the head set by :meth:`_chunked_head`."""
        try:
            self.end_headers()
        except OSError as exc:
            self.close_connection = True
            raise ClientGone from exc

    def send_piece(self, piece: bytes) -> None:
        """One HTTP chunk, so each event (or replayed piece) arrives whole and at once."""
        self._write(b"%x\r\n%s\r\n" % (len(piece), piece))

    def end_body(self) -> None:
        """The zero-size chunk that ends a chunked body normally."""
        self._write(b"0\r\n\r\n")

    def cut(self) -> None:
        """Cut the connection without finishing the response."""
        self.close_connection = True
        _shutdown(self.connection)

    def send_whole(self, body: bytes) -> None:
        """A whole ``200`` JSON response."""
        self._send_raw(200, "application/json", body)

    # -- routes -------------------------------------------------------------------------

    def do_GET(self) -> None:
        self.server.app.stats.add(requests=1)
        path = urlsplit(self.path).path.rstrip("/")
        created = int(time.time())
        if path == "/v1/models":
            self._send_json(200, wire.model_list([wire.model_object(MODEL, created)]))
        elif path == f"/v1/models/{MODEL}":
            self._send_json(200, wire.model_object(MODEL, created))
        elif path.startswith("/v1/models/"):
            self._send_error(
                404,
                f"The model {path.rsplit('/', 1)[-1]!r} does not exist.",
                code="model_not_found",
            )
        else:
            self._not_found(path)

    def do_POST(self) -> None:
        app = self.server.app
        app.stats.add(requests=1)
        body = self._read_body()
        if body is None:
            return
        path = urlsplit(self.path).path.rstrip("/")
        endpoint = endpoint_for(path)
        if endpoint is None:
            self._not_found(path)
            return
        try:
            request = endpoint.parse(body)
        except RequestError as exc:
            self._send_json(400, endpoint.invalid(exc.message, exc.param))
            return
        pacer = Pacer(self, stopping=self.server.stopping, stats=app.stats)
        replay = request.options.replay
        if replay is not None:
            # The transcript's own headers only (plus Server and Date, which
            # send_response adds), and the framing, which the server owns.
            self._chunked_head(replay.status, replay.headers)
            pacer.replay(replay)
            return
        plan = make_plan(
            request,
            tokens_per_second=app.tokens_per_second,
            first_token_delay=app.first_token_delay,
        )
        if plan.fault is not None:
            app.stats.add(faults_injected=1)
        fault = http_fault(plan.fault, stream=request.stream)
        if fault is not None:
            self._send_json(fault.status, fault.body, fault.headers)
        elif request.stream:
            self._chunked_head(200, (("Content-Type", endpoint.content_type), _NO_CACHE))
            pacer.stream(plan, endpoint.events(request, plan))
        else:
            pacer.whole(plan, lambda: wire.encode_json(endpoint.whole(request, plan)))

    def do_PUT(self) -> None:
        self._method_not_allowed()

    def do_PATCH(self) -> None:
        self._method_not_allowed()

    def do_DELETE(self) -> None:
        self._method_not_allowed()

    def _method_not_allowed(self) -> None:
        self.server.app.stats.add(requests=1)
        self.close_connection = True  # any body was not read
        self._send_error(405, f"Method {self.command} is not allowed here.")

    def _not_found(self, path: str) -> None:
        self._send_error(
            404,
            f"Unknown path {path!r}: the nbstream local model serves"
            " POST /v1/chat/completions, POST /v1/responses, POST /v1/messages,"
            " POST /api/chat, POST /v1beta/models/{model}:streamGenerateContent"
            " (and :generateContent) and GET /v1/models.",
            code="not_found",
        )


_NO_CACHE = ("Cache-Control", "no-cache")
