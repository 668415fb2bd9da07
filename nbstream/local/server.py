"""The OpenAI-compatible local server, on 127.0.0.1, in a background thread.

Two APIs are served: chat completions (``POST /v1/chat/completions``) and the Responses
API (``POST /v1/responses``), streamed or not, and ``GET /v1/models``. Each token of the
plan is one chunk (one delta event), whether it is reasoning (in ``reasoning_content``,
``reasoning`` or ``<think>`` content; a reasoning summary in the Responses API), answer
text or a piece of a tool call; see :mod:`nbstream.local.plan` for how they are chosen.

Either endpoint can instead replay a recorded provider transcript, byte for byte and cut
where the request says (see :mod:`nbstream.local.replay`): a test and demo feature for
everything the local model itself never sends.

The work is shared out, one job per module:

- :mod:`nbstream.local.options` validates a request, :mod:`nbstream.local.plan` plans
  the reply;
- :mod:`nbstream.local.chat_chunks` and :mod:`nbstream.local.responses` build each API's
  JSON, purely, and :mod:`nbstream.local.endpoints` encodes it as each API's events;
- :mod:`nbstream.local.pacing` sends them over time: one paced loop for both APIs, with
  the faults, the stats and a client gone;
- :mod:`nbstream.local.http_server` does the HTTP;
- this module starts and stops it all.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from types import TracebackType

from nbstream.local.http_server import HTTPServer
from nbstream.local.stats import ServerStats

__all__ = ["DEFAULT_FIRST_TOKEN_DELAY", "DEFAULT_TOKENS_PER_SECOND", "LocalServer", "ServerError"]

DEFAULT_TOKENS_PER_SECOND = 60.0
"""Roughly a fast hosted model: quick enough for demos, slow enough to watch it stream."""

DEFAULT_FIRST_TOKEN_DELAY = 0.3
"""Seconds before the first token, like a hosted model's time to first token."""

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
        self._httpd: HTTPServer | None = None
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
            httpd = HTTPServer((self._host, self._port), self)
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
