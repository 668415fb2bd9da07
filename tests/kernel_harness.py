"""Run cells in a real ipykernel and account for every byte it puts on iopub.

A raw ZMQ SUB socket sits beside the client, so the byte counts are the frames as they
travel (envelope, signature and content), not a re-serialisation of parsed messages.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import zmq
from jupyter_client.jsonutil import parse_date
from jupyter_client.manager import KernelManager
from jupyter_client.session import Session

# Sample answer tokens, defined once as code so the kernel under test and the test itself
# build the same list: ~4.5 characters a token (longer than the measured 20,000-token / 67 kB
# answer), with multi-byte and astral characters so UTF-16 offsets are exercised.
SAMPLE_TOKENS_CODE = """
_words = ["stream", " the", " answer", "—", " 🚀", " é", "\\n", " **bold**", " `code`", " a"]
def make_tokens(n):
    return [_words[(i * 7) % len(_words)] + ("" if i % 5 else " x") for i in range(n)]
"""


def sample_tokens(n: int) -> list[str]:
    """The tokens ``make_tokens(n)`` builds in a kernel that ran SAMPLE_TOKENS_CODE."""
    scope: dict[str, Any] = {}
    exec(SAMPLE_TOKENS_CODE, scope)
    tokens: list[str] = scope["make_tokens"](n)
    return tokens


@dataclass
class Traffic:
    """What one cell put on iopub."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)  # wire bytes of each message, in order
    nbytes: int = 0
    stdout: str = ""
    error: str | None = None

    def bytes_of(self, msg_type: str) -> int:
        """Wire bytes of this cell's messages of one type."""
        return sum(
            n
            for m, n in zip(self.messages, self.sizes, strict=True)
            if m["header"]["msg_type"] == msg_type
        )

    def comm_msgs(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["header"]["msg_type"] == "comm_msg"]

    def custom(self) -> list[dict[str, Any]]:
        return [
            m["content"]["data"]["content"]
            for m in self.comm_msgs()
            if m["content"]["data"].get("method") == "custom"
        ]

    def updates(self) -> list[dict[str, Any]]:
        return [
            m["content"]["data"]["state"]
            for m in self.comm_msgs()
            if m["content"]["data"].get("method") == "update"
        ]


@dataclass
class WireMessage:
    """One iopub message as it travelled: its size and header; the content on demand.

    For cells whose traffic is too large to keep parsed (hundreds of MB of trait syncs).
    """

    msg_type: str
    date: datetime
    parent_id: str | None
    nbytes: int  # all frames, as counted on the wire
    parts: list[bytes]  # after the identities: signature, header, parent, metadata, content
    session: Session

    def content(self) -> dict[str, Any]:
        content: dict[str, Any] = self.session.unpack(self.parts[4])
        return content


class Kernel:
    """A started ipykernel with a blocking client and a raw iopub byte counter."""

    def __init__(self, extra_env: dict[str, str] | None = None) -> None:
        env = dict(os.environ)
        env.update(extra_env or {})
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(env=env)
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        info = self.manager.get_connection_info()
        self._zmq = zmq.Context()
        self._sub = self._zmq.socket(zmq.SUB)
        self._sub.setsockopt(zmq.SUBSCRIBE, b"")
        self._sub.setsockopt(zmq.RCVHWM, 0)  # never drop on our side
        self._sub.connect(f"{info['transport']}://{info['ip']}:{info['iopub_port']}")
        self._warm_up()

    def _warm_up(self) -> None:
        # SUB sockets miss what is published before the subscription lands ("slow
        # joiner"); run trivial cells until the counter sees their output.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            # A kernel starting while the browser suites run beside it can take over 10 s.
            traffic = self.run("print('ready')", timeout=60)
            if "ready" in traffic.stdout:
                return
        raise RuntimeError("iopub subscriber never caught up")

    def run(self, code: str, timeout: float = 120, cell_id: str | None = None) -> Traffic:
        """Execute ``code``; return everything on iopub up to and including its idle.

        ``cell_id`` is sent as the request's ``cellId`` metadata, as JupyterLab does.
        """
        session = self.client.session
        msg_id = self._execute(code, cell_id)
        traffic = Traffic()
        deadline = time.monotonic() + timeout
        while True:
            frames = self._next_frames(deadline, f"cell did not finish within {timeout} s:\n{code}")
            traffic.sizes.append(sum(len(f) for f in frames))
            traffic.nbytes += traffic.sizes[-1]
            _, parts = session.feed_identities(frames, copy=True)
            msg = session.deserialize(parts, content=True, copy=True)
            traffic.messages.append(msg)
            parent = msg.get("parent_header", {}).get("msg_id")
            kind = msg["header"]["msg_type"]
            if kind == "stream" and parent == msg_id:
                traffic.stdout += msg["content"]["text"]
            elif kind == "error" and parent == msg_id:
                traffic.error = "\n".join(msg["content"]["traceback"])
            elif (
                kind == "status"
                and parent == msg_id
                and msg["content"]["execution_state"] == "idle"
            ):
                break
        self.client.get_shell_msg(timeout=timeout)  # the execute_reply
        return traffic

    def run_each(self, code: str, timeout: float = 120) -> Iterator[WireMessage]:
        """Execute ``code``; yield its iopub messages as they arrive, up to its idle.

        Like :meth:`run`, but nothing is kept and contents are parsed only when asked for.
        Consume the iterator to the end (that also reads the execute_reply).
        """
        session = self.client.session
        msg_id = self.client.execute(code)
        deadline = time.monotonic() + timeout
        while True:
            frames = self._next_frames(deadline, f"cell did not finish within {timeout} s:\n{code}")
            _, parts = session.feed_identities(frames, copy=True)
            header = session.unpack(parts[1])
            parent = session.unpack(parts[2]).get("msg_id")
            date = parse_date(header["date"])
            assert isinstance(date, datetime), header
            msg = WireMessage(
                msg_type=header["msg_type"],
                date=date,
                parent_id=parent,
                nbytes=sum(len(f) for f in frames),
                parts=parts,
                session=session,
            )
            yield msg
            if (
                msg.msg_type == "status"
                and parent == msg_id
                and msg.content()["execution_state"] == "idle"
            ):
                break
        self.client.get_shell_msg(timeout=timeout)  # the execute_reply

    def _execute(self, code: str, cell_id: str | None) -> str:
        if cell_id is None:
            msg_id: str = self.client.execute(code)
            return msg_id
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        msg = self.client.session.msg("execute_request", content, metadata={"cellId": cell_id})
        self.client.shell_channel.send(msg)
        sent: str = msg["header"]["msg_id"]
        return sent

    def check(self, code: str, timeout: float = 120, cell_id: str | None = None) -> Traffic:
        """Like :meth:`run`, but fail on an exception in the cell."""
        traffic = self.run(code, timeout, cell_id)
        assert traffic.error is None, traffic.error
        return traffic

    def interrupt_during(self, code: str, after: float) -> dict[str, Any]:
        """Run ``code``, interrupt the kernel ``after`` seconds in; return the reply."""
        msg_id = self.client.execute(code)
        time.sleep(after)
        self.manager.interrupt_kernel()
        reply: dict[str, Any] = self.client.get_shell_msg(timeout=30)
        assert reply["parent_header"]["msg_id"] == msg_id
        # Drain the cell's iopub output so the next run() starts clean.
        while self._sub.poll(200):
            self._sub.recv_multipart()
        return reply

    def create_subshell(self) -> str:
        """A kernel subshell (JEP 91), as JupyterLab ≥ 4.4 opens one for widget comms."""
        msg = self.client.session.msg("create_subshell_request", {})
        self.client.control_channel.send(msg)
        reply = self.client.control_channel.get_msg(timeout=10)
        assert reply["content"]["status"] == "ok", reply["content"]
        subshell: str = reply["content"]["subshell_id"]
        return subshell

    def send_to_widget(
        self, comm_id: str, content: dict[str, Any], subshell: str | None = None
    ) -> None:
        """Send a custom widget message, as the browser does (on a subshell if given)."""
        msg = self.client.session.msg(
            "comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": content}}
        )
        if subshell is not None:
            msg["header"]["subshell_id"] = subshell
        self.client.shell_channel.send(msg)

    def wait_iopub(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        """Read iopub until a message satisfies ``predicate``; return that message."""
        session = self.client.session
        deadline = time.monotonic() + timeout
        while True:
            frames = self._next_frames(deadline, f"no matching iopub message within {timeout} s")
            _, parts = session.feed_identities(frames, copy=True)
            msg: dict[str, Any] = session.deserialize(parts, content=True, copy=True)
            if predicate(msg):
                return msg

    def _next_frames(self, deadline: float, timeout_message: str) -> list[bytes]:
        """The next iopub message's raw frames; TimeoutError past ``deadline``."""
        while (remaining := deadline - time.monotonic()) > 0:
            if self._sub.poll(int(remaining * 1000)):
                frames: list[bytes] = self._sub.recv_multipart(copy=True)
                return frames
        raise TimeoutError(timeout_message)

    def drain(self, quiet: float = 0.3) -> None:
        """Drop iopub messages until none arrives for ``quiet`` seconds."""
        while self._sub.poll(int(quiet * 1000)):
            self._sub.recv_multipart()

    def is_alive(self) -> bool:
        return bool(self.manager.is_alive())

    def shutdown(self) -> None:
        self._sub.close(linger=0)
        self._zmq.term()
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
