"""The ``nbstream`` command line.

``nbstream demo`` opens the tutorials in JupyterLab on 127.0.0.1, on the chat tutorial,
ready to chat with the local model. ``nbstream serve`` runs the local model as a
standalone OpenAI-compatible server, for notebooks in another kernel, other tools, or
``curl``, with the ``/api/chat/stream`` relay and its chat page on the same port (or
relays to another OpenAI-compatible server with ``--upstream``).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from nbstream import demo
from nbstream._version import __version__
from nbstream.arguments import number
from nbstream.local import API_KEY, MODEL
from nbstream.local.server import (
    DEFAULT_FIRST_TOKEN_DELAY,
    DEFAULT_TOKENS_PER_SECOND,
    LocalServer,
)

__all__ = ["main"]

Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    ``serve`` and ``demo`` install SIGINT/SIGTERM handlers, so call it from the main thread.
    """
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # Refused with the command's own usage, which lists the options it does have.
        command_parser: argparse.ArgumentParser = args.parser
        command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    command: Command = args.run
    return command(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbstream",
        description="Stream LLM output into Jupyter notebooks.",
        epilog=(
            "examples:\n"
            "  nbstream demo                # chat with the local model in JupyterLab\n"
            "  nbstream serve --port 8000   # the local model at http://127.0.0.1:8000/v1\n"
            "  nbstream demo --help         # a command's options"
        ),
        # Keeps the examples' lines as written (the descriptions are wrapped by hand).
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nbstream {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    # First: the README's "run the demo" command.
    demo_parser = commands.add_parser(
        "demo",
        help="open the tutorials in JupyterLab on 127.0.0.1, ready to chat with the local model",
        description=(
            "Copy the tutorials into a folder of yours and open the chat tutorial in\n"
            "JupyterLab on 127.0.0.1, behind a fresh token, until Ctrl-C. Needs JupyterLab:\n"
            'pip install "nbstream[lab]".'
        ),
        epilog=(
            "examples:\n"
            "  nbstream demo                            # tutorials in ~/nbstream-demo\n"
            "  nbstream demo --no-browser --port 8888   # headless; open the printed URL\n"
            "  nbstream demo --dir ~/try-it --reset     # fresh copies, in another folder"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_port(demo_parser)
    demo_parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="where the tutorials are copied and served (default: ~/nbstream-demo)",
    )
    demo_parser.add_argument(
        "--no-browser",
        action="store_true",
        help="do not open a browser (headless); open the printed URL yourself",
    )
    demo_parser.add_argument(
        "--reset",
        action="store_true",
        help="replace tutorials already in the folder with this version's (losing your edits)",
    )
    demo_parser.set_defaults(run=_demo, parser=demo_parser)

    serve = commands.add_parser(
        "serve",
        help="run the local model and the /api/chat/stream relay on 127.0.0.1",
        description=(
            "Run nbstream's deterministic local model as an OpenAI-compatible server, with\n"
            "the /api/chat/stream relay and its chat page on the same port, until Ctrl-C.\n"
            "With --upstream, relay to another OpenAI-compatible server instead (the relay\n"
            'needs pip install "nbstream[serve]").'
        ),
        epilog=(
            "examples:\n"
            "  nbstream serve --port 8000\n"
            '      # OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="nbstream-local")\n'
            "      # the chat page at http://127.0.0.1:8000/\n"
            "  nbstream serve --tokens-per-second 0 --first-token-delay 0\n"
            "      # no pacing: answers as fast as possible (for tests)\n"
            "  nbstream serve --upstream https://api.openai.com/v1 \\\n"
            "      --api-key-env OPENAI_API_KEY --model gpt-4o-mini --models gpt-4o-mini,gpt-4o"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_port(serve)
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only)",
    )
    serve.add_argument(
        "--tokens-per-second",
        type=number(minimum=0),
        default=DEFAULT_TOKENS_PER_SECOND,
        metavar="X",
        help=f"streaming pace; 0 = as fast as possible (default: {DEFAULT_TOKENS_PER_SECOND:g})",
    )
    serve.add_argument(
        "--first-token-delay",
        type=number(minimum=0, what="a number of seconds"),
        default=DEFAULT_FIRST_TOKEN_DELAY,
        metavar="S",
        help=f"seconds before the first token (default: {DEFAULT_FIRST_TOKEN_DELAY:g})",
    )
    serve.add_argument(
        "--upstream",
        metavar="URL",
        help="relay to this OpenAI-compatible base URL instead of the local model",
    )
    serve.add_argument("--model", help="the model the relay asks by default")
    serve.add_argument(
        "--models",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=[],
        metavar="A,B",
        help="the models a browser may ask for (default: just --model)",
    )
    serve.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="the environment variable holding the upstream's API key (read here only)",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let pages from this origin call the relay (repeatable; default: CORS off)",
    )
    serve.set_defaults(run=_serve, parser=serve)
    return parser


def _add_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        type=number(int, minimum=0, maximum=65535, what="a port number"),
        default=0,
        help="port to listen on (default: a free port)",
    )


def _serve(args: argparse.Namespace) -> int:
    problem = _serve_problem(args)
    if problem is not None:
        print(f"nbstream serve: {problem}", file=sys.stderr)
        return 2
    try:
        import uvicorn  # noqa: PLC0415 - the relay is an optional extra

        from nbstream.relay.serve import relay_server_app, upstream_client  # noqa: PLC0415
    except ImportError:
        print('nbstream serve: the relay needs pip install "nbstream[serve]"', file=sys.stderr)
        return 1
    api_key = os.environ.get(args.api_key_env) if args.api_key_env else None
    if args.api_key_env and not api_key:
        print(f"nbstream serve: ${args.api_key_env} is not set", file=sys.stderr)
        return 1
    try:
        sock = socket.create_server((args.host, args.port))
    except OSError as exc:
        print(f"nbstream: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    local: LocalServer | None = None
    if args.upstream is None:
        local = LocalServer(
            tokens_per_second=args.tokens_per_second, first_token_delay=args.first_token_delay
        ).start()
    app = relay_server_app(
        local_url=local.url if local else None,
        client=upstream_client(local.base_url if local else args.upstream, api_key or API_KEY),
        model=MODEL if local else args.model,
        models=args.models,
        cors_origins=args.cors_origin,
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3))
    # Handlers go in before the URL is printed: whoever reads the URL may signal at once.
    with _signals_stop():
        try:
            _print_serving(args, sock, local is not None)
            server.run(sockets=[sock])  # until a signal (uvicorn's, then ours: _Stop)
        except _Stop:
            pass
        finally:
            sock.close()
            if local is not None:
                local.stop()
    print("nbstream local model stopped." if local else "nbstream relay stopped.", flush=True)
    return 0


def _serve_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with ``serve``'s options together, if anything."""
    if args.upstream is None and (args.api_key_env or (args.model and args.model != MODEL)):
        return "--model and --api-key-env go with --upstream"
    if args.upstream is not None and not args.model:
        return "--upstream needs --model (the model to ask)"
    return None


def _print_serving(args: argparse.Namespace, sock: socket.socket, local: bool) -> None:
    host, port = sock.getsockname()[:2]
    base = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    # The first line is the contract: scripts and tests read the URL from it.
    if local:
        print(f"nbstream local model at {base}/v1", flush=True)
        print(f'  OpenAI(base_url="{base}/v1", api_key="{API_KEY}"), model="{MODEL}"')
    else:
        print(f"nbstream relay at {base}/api/chat/stream", flush=True)
        print(f"  relaying to {args.upstream}, model {args.model!r}")
    print(f"  relay: POST {base}/api/chat/stream   chat page: {base}/\n  Press Ctrl-C to stop.")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"  warning: listening on {args.host}, reachable from other machines")
    sys.stdout.flush()


def _demo(args: argparse.Namespace) -> int:
    directory: Path = (args.dir or demo.default_directory()).expanduser().resolve()
    try:
        demo.require_jupyterlab()
        notes = demo.prepare_directory(directory, reset=args.reset)
        port = demo.choose_port(args.port)
        warning = demo.kernel_warning()
    except demo.DemoError as exc:
        print(f"nbstream demo: {exc}", file=sys.stderr)
        return 1
    for note in notes:
        print(f"nbstream demo: {note}", flush=True)
    if warning:
        print(f"nbstream demo: warning: {warning}", file=sys.stderr, flush=True)
    lab = demo.Lab(directory, port, open_browser=not args.no_browser)
    code = 0
    # Handlers go in before JupyterLab starts, so a signal at any point stops it.
    with _signals_stop():
        try:
            with lab:
                lab.wait_ready()
                # One line with the whole URL: scripts and tests read it, people click it.
                print(f"nbstream demo: JupyterLab is running at {lab.url}", flush=True)
                print(
                    "  Run the cells (Shift+Enter), then type in the chat box."
                    " Press Ctrl-C to stop.\n"
                    f"  Tutorials: {directory}   JupyterLab's log: {lab.log_path}",
                    flush=True,
                )
                code = lab.wait()  # until a signal raises _Stop, or File > Shut Down
        except _Stop:
            pass
        except demo.DemoError as exc:
            print(f"nbstream demo: {exc}", file=sys.stderr)
            return 1
    print("nbstream demo: JupyterLab stopped.", flush=True)
    return code


class _Stop(Exception):
    """Raised in the main thread by SIGINT or SIGTERM to end ``serve`` or ``demo``."""


@contextmanager
def _signals_stop() -> Iterator[None]:
    """Make SIGINT and SIGTERM raise :class:`_Stop`; restore the old handlers afterwards.

    Raising from the handler (rather than setting an event) never touches a lock the
    interrupted main thread might hold. Must run in the main thread.
    """

    def handle(signum: int, frame: FrameType | None) -> None:
        raise _Stop

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
