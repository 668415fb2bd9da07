"""The OpenAI-compatible HTTP server, on 127.0.0.1, in a background thread.

Standard library only: ``http.server`` with one daemon thread per connection. Streams are
sent as HTTP/1.1 chunked server-sent events, exactly as OpenAI sends them, and paced by
a schedule (first-token delay, then tokens per second) rather than by sleeping per token,
so pacing does not drift. A write that fails means the client went away: the stream stops
at once and :attr:`LocalServer.stats` counts it. Sockets have ``TCP_NODELAY``, so every
event leaves as soon as it is written.

Two APIs are served: chat completions (``POST /v1/chat/completions``) and the Responses
API (``POST /v1/responses``; see :mod:`nbstream.local.responses`). Each token of the plan
is one chunk (one delta event), whether it is reasoning (in ``reasoning_content``,
``reasoning`` or ``<think>`` content; a reasoning summary in the Responses API), answer
text or a piece of a tool call; see :mod:`nbstream.local.options` for how they are chosen.

Either endpoint can instead replay a recorded provider transcript, byte for byte and cut
where the request says (see :mod:`nbstream.local.replay`): a test and demo feature for
everything the local model itself never sends.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import socketserver
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from nbstream.local import wire
from nbstream.local.faults import MALFORMED_BODY, MALFORMED_EVENT, http_fault, injected_error
from nbstream.local.model import MODEL
from nbstream.local.options import (
    ChatRequest,
    Plan,
    RequestError,
    make_plan,
    parse_request,
    parse_responses_request,
)
from nbstream.local.replay import Replay
from nbstream.local.responses import ResponseBuilder, event_sse, response_usage
from nbstream.local.stats import ServerStats

__all__ = ["DEFAULT_FIRST_TOKEN_DELAY", "DEFAULT_TOKENS_PER_SECOND", "LocalServer", "ServerError"]

DEFAULT_TOKENS_PER_SECOND = 60.0
"""Roughly a fast hosted model: quick enough for demos, slow enough to watch it stream."""

DEFAULT_FIRST_TOKEN_DELAY = 0.3
"""Seconds before the first token, like a hosted model's time to first token."""

_MAX_BODY = 16 * 1024 * 1024  # a request body larger than this is refused (HTTP 413)
_IDLE_TIMEOUT = 60.0  # seconds a connection may sit idle (or blocked) before it is closed
_JOIN_TIMEOUT = 5.0  # seconds stop() waits for threads before giving up on them

_log = logging.getLogger(__name__)


class ServerError(RuntimeError):
    """The local server was used in a way its state does not allow (e.g. not started).

    Example:
        >>> from nbstream.local import LocalServer
        >>> LocalServer().base_url
        Traceback (most recent call last):
          ...
        nbstream.local.server.ServerError: the local server is not running; call start() first
    """


class _ClientGone(Exception):
    """A write failed: the client closed the connection."""


class _Stopping(Exception):
    """The server is shutting down; abandon the response."""


class LocalServer:
    """An OpenAI-compatible server for the deterministic local model.

    It serves ``POST /v1/chat/completions`` and ``POST /v1/responses`` (streamed or
    not) and ``GET /v1/models``, on 127.0.0.1 only: it has no authentication, so it never
    listens on a network.

    ``start()`` and ``stop()`` are idempotent; a stopped server can be started again
    (with ``port=0`` it may then get another port). ``tokens_per_second`` and
    ``first_token_delay`` can be changed while it runs; they apply to later requests.

    Example:
        >>> import openai
        >>> from nbstream.local import MODEL, LocalServer, answer
        >>> question = [{"role": "user", "content": "What is nbstream?"}]
        >>> with LocalServer(tokens_per_second=0) as server:  # 0: as fast as possible
        ...     client = openai.OpenAI(base_url=server.base_url, api_key="nbstream-local")
        ...     reply = client.chat.completions.create(model=MODEL, messages=question)
        >>> reply.choices[0].message.content == answer(question)  # the same every time
        True
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens_per_second: float = DEFAULT_TOKENS_PER_SECOND,
        first_token_delay: float = DEFAULT_FIRST_TOKEN_DELAY,
    ) -> None:
        """Configure a server; nothing listens until :meth:`start`.

        Args:
            host: A loopback IPv4 address (or ``"localhost"``). Anything else is refused.
            port: The port to listen on; 0 picks a free one.
            tokens_per_second: Pacing of streamed tokens; 0 sends them as fast as possible.
            first_token_delay: Seconds before the first token of each answer.

        Raises:
            ValueError: A non-loopback host, a port out of range or a negative pacing.
        """
        self._host = _loopback(host)
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be in 0..65535, got {port}")
        self._port = port
        self.tokens_per_second = tokens_per_second
        self.first_token_delay = first_token_delay
        self.stats = ServerStats()
        """What the server has done; see :class:`~nbstream.local.stats.ServerStats`."""
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def tokens_per_second(self) -> float:
        """Default pacing of streamed tokens (0: as fast as possible).

        A request can ask for its own: ``extra_body={"nbstream": {"tokens_per_second": 5}}``.

        Example:
            >>> server = LocalServer()
            >>> server.tokens_per_second = 0  # later requests stream as fast as possible
            >>> server.tokens_per_second
            0.0
        """
        return self._tokens_per_second

    @tokens_per_second.setter
    def tokens_per_second(self, value: float) -> None:
        if not value >= 0:  # also refuses NaN
            raise ValueError(f"tokens_per_second must be >= 0, got {value}")
        self._tokens_per_second = float(value)

    @property
    def first_token_delay(self) -> float:
        """Default seconds before the first token.

        Example:
            >>> server = LocalServer(first_token_delay=0)
            >>> server.first_token_delay = 2  # later answers wait 2 s for their first token
            >>> server.first_token_delay
            2.0
        """
        return self._first_token_delay

    @first_token_delay.setter
    def first_token_delay(self, value: float) -> None:
        if not value >= 0:
            raise ValueError(f"first_token_delay must be >= 0, got {value}")
        self._first_token_delay = float(value)

    @property
    def running(self) -> bool:
        """Whether the server is listening.

        Example:
            >>> server = LocalServer()
            >>> server.running
            False
            >>> server.start().running
            True
            >>> server.stop()
        """
        return self._httpd is not None

    @property
    def address(self) -> tuple[str, int]:
        """The ``(host, port)`` it listens on.

        Raises:
            ServerError: The server is not running.

        Example:
            >>> with LocalServer() as server:
            ...     host, port = server.address
            >>> host
            '127.0.0.1'
        """
        httpd = self._httpd
        if httpd is None:
            raise ServerError("the local server is not running; call start() first")
        host, port = httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The server's root URL, e.g. ``http://127.0.0.1:50123``.

        Example:
            >>> import urllib.request
            >>> with LocalServer() as server:
            ...     models = urllib.request.urlopen(f"{server.url}/v1/models").read()
            >>> b"nbstream-local" in models
            True
        """
        host, port = self.address
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url``, e.g. ``http://127.0.0.1:50123/v1``.

        Example:
            >>> with LocalServer() as server:
            ...     print(server.base_url)  # what openai.OpenAI(base_url=...) takes
            http://127.0.0.1:.../v1
        """
        return f"{self.url}/v1"

    def __repr__(self) -> str:
        if self._httpd is None:
            return "LocalServer(stopped)"
        return f"LocalServer({self.base_url}, running)"

    def start(self) -> LocalServer:
        """Listen and serve in a background daemon thread; return self. Idempotent.

        Raises:
            OSError: The port is taken.

        Example:
            >>> server = LocalServer().start()  # or: with LocalServer() as server:
            >>> server.start() is server  # already running: nothing changes
            True
            >>> server.stop()
        """
        with self._lock:
            if self._httpd is not None:
                return self
            httpd = _HTTPServer((self._host, self._port), self)
            thread = threading.Thread(
                target=httpd.serve_forever,
                # A short poll keeps stop() quick; an idle wake-up every 0.1 s costs nothing.
                kwargs={"poll_interval": 0.1},
                name=f"nbstream-local:{httpd.server_address[1]}",
                daemon=True,
            )
            thread.start()
            self._httpd, self._thread = httpd, thread
            _log.debug("nbstream local model listening at %s", self.base_url)
            return self

    def stop(self) -> None:
        """Stop serving: end streams in progress, close every socket, join threads.

        Idempotent.

        Example:
            >>> server = LocalServer().start()
            >>> server.stop()
            >>> server.stop()  # already stopped: nothing happens
            >>> server.running
            False
        """
        with self._lock:
            httpd, thread = self._httpd, self._thread
            if httpd is None or thread is None:
                return
            self._httpd = self._thread = None
            httpd.shutdown()  # returns once serve_forever has stopped accepting
            httpd.close_all()
            httpd.server_close()
            thread.join(_JOIN_TIMEOUT)
            httpd.join_handlers(_JOIN_TIMEOUT)
            _log.debug("nbstream local model stopped")

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _loopback(host: str) -> str:
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or address.version != 4 or not address.is_loopback:
        raise ValueError(
            "the nbstream local model has no authentication, so it only listens on a"
            f" loopback IPv4 address such as 127.0.0.1; got host={host!r}"
        )
    return host


class _HTTPServer(ThreadingHTTPServer):
    """Threads per connection, plus what stop() needs: a stop flag and open connections."""

    daemon_threads = True  # a stuck client must never keep the interpreter alive
    request_queue_size = 128  # benchmarks open many connections at once; the default is 5

    def __init__(self, address: tuple[str, int], app: LocalServer) -> None:
        self.app = app
        self.stopping = threading.Event()
        self._open: dict[socket.socket, threading.Thread] = {}
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (socket.getfqdn), which can
        # wait on DNS for seconds; the name is never used, so skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr, which lands in notebook cells.
        _log.debug("error while handling a request", exc_info=True)

    def track(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open[connection] = threading.current_thread()

    def untrack(self, connection: socket.socket) -> None:
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
    server: _HTTPServer

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
            raise _ClientGone from exc

    def _send_json(
        self, status: int, data: object, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
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
        self.server.app.stats.add(requests=1)
        body = self._read_body()
        if body is None:
            return
        path = urlsplit(self.path).path.rstrip("/")
        parse = _PARSERS.get(path)
        if parse is None:
            self._not_found(path)
            return
        try:
            request = parse(body)
        except RequestError as exc:
            self._send_error(400, exc.message, param=exc.param)
            return
        if request.options.replay is not None:
            self._replay(request.options.replay)
            return
        app = self.server.app
        plan = make_plan(
            request,
            tokens_per_second=app.tokens_per_second,
            first_token_delay=app.first_token_delay,
        )
        if plan.fault is not None:
            app.stats.add(faults_injected=1)
        fault = http_fault(plan.fault, stream=request.stream)
        responses = path == _RESPONSES
        if fault is not None:
            self._send_json(fault.status, fault.body, fault.headers)
        elif request.stream:
            write = self._response_events if responses else self._chat_events
            self._stream(request, plan, write)
        else:
            build = self._whole_response if responses else self._whole_completion
            self._complete(plan, lambda: build(request, plan))

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
            " POST /v1/chat/completions, POST /v1/responses and GET /v1/models.",
            code="not_found",
        )

    # -- completions --------------------------------------------------------------------

    def _wait_until(self, deadline: float) -> None:
        """Sleep until ``deadline`` (monotonic), waking early if the server stops."""
        if self.server.stopping.wait(max(0.0, deadline - time.monotonic())):
            raise _Stopping

    def _abort(self) -> None:
        """Cut the connection without finishing the response."""
        self.close_connection = True
        _shutdown(self.connection)

    def _complete(self, plan: Plan, build: Callable[[], wire.JSON]) -> None:
        """Answer without streaming: wait as long as the stream would take, then send."""
        stats = self.server.app.stats
        try:
            # A real model takes as long to answer without streaming as with it.
            duration = plan.first_token_delay
            if plan.tokens_per_second > 0:
                duration += len(plan.tokens) / plan.tokens_per_second
            self._wait_until(time.monotonic() + duration)
        except _Stopping:
            self._abort()
            return
        if plan.fault == "drop":
            self._abort()
            return
        if plan.fault == "malformed_json":
            self._send_raw(200, "application/json", MALFORMED_BODY)
            return
        self._send_json(200, build())
        stats.add(tokens_sent=len(plan.tokens))

    def _whole_completion(self, request: ChatRequest, plan: Plan) -> wire.JSON:
        return wire.completion(
            completion_id=_completion_id(),
            created=int(time.time()),
            model=request.model,
            message=wire.message(
                plan.tokens, reasoning_field=plan.reasoning_field, null_content=plan.null_content
            ),
            finish_reason=plan.finish_reason,
            usage=_usage(plan),
        )

    def _whole_response(self, request: ChatRequest, plan: Plan) -> wire.JSON:
        incomplete = _INCOMPLETE_REASONS.get(plan.finish_reason)
        return _response_builder(request, plan).whole(
            plan.tokens,
            status="completed" if incomplete is None else "incomplete",
            usage=_response_usage(plan),
            incomplete_reason=incomplete,
        )

    def _send_raw(
        self,
        status: int,
        content_type: str,
        body: bytes,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        try:
            self.end_headers()
            self._write(body)
        except (_ClientGone, OSError):
            self.close_connection = True

    def _stream(
        self,
        request: ChatRequest,
        plan: Plan,
        write_events: Callable[[ChatRequest, Plan], None],
    ) -> None:
        stats = self.server.app.stats
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        stats.add(streams_started=1)
        with self._chunked_body("stream"):
            write_events(request, plan)

    @contextlib.contextmanager
    def _chunked_body(self, what: str) -> Iterator[None]:
        """End the headers, then run the body's writes; a client that leaves, or the
        server stopping, ends it quietly (counted), whichever part was being written."""
        stats = self.server.app.stats
        stats.add(active_streams=1)
        try:
            try:
                self.end_headers()
            except OSError as exc:
                raise _ClientGone from exc
            yield
        except _ClientGone:
            self.close_connection = True
            stats.add(streams_disconnected=1)
            _log.debug("client disconnected mid-%s", what)
        except _Stopping:
            self._abort()
        finally:
            stats.add(active_streams=-1)

    def _event(self, data: bytes) -> None:
        """One SSE event per HTTP chunk, so each arrives whole and at once."""
        self._write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_body(self) -> None:
        """The zero-size chunk that ends a chunked body normally."""
        self._write(b"0\r\n\r\n")

    def _paced_tokens(self, plan: Plan, first: float) -> Iterator[int]:
        """Indexes of the tokens to send before any fault, each at its scheduled time.

        Scheduled from one start time, so pacing does not drift with write costs.
        """
        rate = plan.tokens_per_second
        for index in range(plan.fault_after):
            if rate > 0:
                self._wait_until(first + index / rate)
            elif self.server.stopping.is_set():
                raise _Stopping
            yield index

    def _chat_events(self, request: ChatRequest, plan: Plan) -> None:
        stats = self.server.app.stats
        completion_id, created = _completion_id(), int(time.time())

        def chunk(**fields: Any) -> bytes:
            return wire.sse(
                wire.chunk(
                    completion_id=completion_id, created=created, model=request.model, **fields
                )
            )

        first = time.monotonic() + plan.first_token_delay
        self._wait_until(first)
        self._event(
            chunk(delta={"role": "assistant", "content": None if plan.null_content else ""})
        )
        for index in self._paced_tokens(plan, first):
            token = plan.tokens[index]
            self._event(chunk(delta=wire.delta(token, reasoning_field=plan.reasoning_field)))
            stats.add(tokens_sent=1)

        if self._ended_by_fault(plan, lambda: wire.sse(injected_error())):
            return
        self._event(chunk(delta={}, finish_reason=plan.finish_reason))
        if request.include_usage:
            self._event(chunk(usage=_usage(plan)))
        self._event(wire.DONE)
        self._end_body()
        stats.add(streams_completed=1)

    def _ended_by_fault(self, plan: Plan, error_event: Callable[[], bytes]) -> bool:
        """Send the mid-stream fault the plan asks for, if any; True if it ended the body.

        ``error_event`` makes this wire format's error event (only when it is sent: a
        Responses API event takes the next sequence number).
        """
        if plan.fault == "drop":
            self._abort()
            return True
        if plan.fault in ("error", "malformed_json"):
            self._event(error_event() if plan.fault == "error" else MALFORMED_EVENT)
            self._end_body()
            return True
        return False

    def _response_events(self, request: ChatRequest, plan: Plan) -> None:
        stats = self.server.app.stats
        builder = _response_builder(request, plan)

        def send(events: list[wire.JSON]) -> None:
            for event in events:
                self._event(event_sse(event))

        # OpenAI announces the response at once, then thinks: the delay comes after.
        send(builder.start())
        first = time.monotonic() + plan.first_token_delay
        self._wait_until(first)
        for index in self._paced_tokens(plan, first):
            send(builder.token(plan.tokens[index]))
            stats.add(tokens_sent=1)

        def error_event() -> bytes:
            error = injected_error()["error"]
            return event_sse(builder.error(message=error["message"], code=error["code"]))

        if self._ended_by_fault(plan, error_event):
            return
        # The Responses API has no [DONE]: response.completed (or .incomplete) is the end.
        send(
            builder.finish(
                usage=_response_usage(plan),
                incomplete_reason=_INCOMPLETE_REASONS.get(plan.finish_reason),
            )
        )
        self._end_body()
        stats.add(streams_completed=1)

    # -- replays ------------------------------------------------------------------------

    def _replay(self, replay: Replay) -> None:
        """Send a transcript's exact bytes, one HTTP chunk per piece, then end the body."""
        self.send_response(replay.status)
        # The transcript's own headers only (plus Server and Date, which send_response
        # adds), and the framing, which the server owns.
        for name, value in replay.headers:
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.server.app.stats.add(replays=1)
        with self._chunked_body("replay"):
            for index, piece in enumerate(replay.pieces()):
                if index and replay.split_delay > 0:
                    self._wait_until(time.monotonic() + replay.split_delay)
                elif self.server.stopping.is_set():
                    raise _Stopping
                # Written unframed by SSE, unlike _event: the piece may be half a line.
                self._write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self._end_body()


_RESPONSES = "/v1/responses"

_PARSERS: dict[str, Callable[[bytes], ChatRequest]] = {
    "/v1/chat/completions": parse_request,
    _RESPONSES: parse_responses_request,
}

# How a chat finish reason reads in the Responses API; a reply that is not cut short
# (stop, tool_calls) is "completed" instead.
_INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}


def _response_builder(request: ChatRequest, plan: Plan) -> ResponseBuilder:
    return ResponseBuilder(
        response_id=f"resp_{uuid.uuid4().hex[:24]}",
        created=int(time.time()),
        model=request.model,
        # The <think> format keeps reasoning in the text, whichever API carries it.
        reasoning_in_text=plan.has_reasoning and plan.reasoning_field is None,
        max_output_tokens=request.max_tokens,
    )


def _response_usage(plan: Plan) -> wire.JSON:
    reasoning = plan.reasoning_tokens if plan.reasoning_field is not None else 0
    return response_usage(plan.prompt_tokens, len(plan.tokens), reasoning)


def _usage(plan: Plan) -> wire.JSON:
    """Usage of a whole reply: reasoning and tool call tokens count as completion tokens."""
    reasoning = plan.reasoning_tokens if plan.has_reasoning else None
    return wire.usage(plan.prompt_tokens, len(plan.tokens), reasoning_tokens=reasoning)


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"
