"""A minimal, bounded Chrome DevTools Protocol client for the book's browser test.

One websocket to the *browser* endpoint (``ws://127.0.0.1:<port>/devtools/browser/<id>``);
pages are driven through flattened target sessions (``Target.attachToTarget`` with
``flatten=True``), so every command and event carries a ``sessionId``.

Everything is bounded: opening the socket, every command and every event wait has a timeout and
raises :class:`CDPTimeout` instead of hanging. Events that arrive while waiting for a command's
reply are buffered, in order, and handed out by :meth:`CDPConnection.wait_event` /
:meth:`CDPConnection.drain_events`.

Chromium is launched and stopped by :class:`Chromium`: headless, in its own process group, with
a throw-away profile, and networking pinned to 127.0.0.1 (DNS for every other host fails and any
other connection goes to a dead proxy on 127.0.0.1:9).
"""
from __future__ import annotations

import collections
import contextlib
import functools
import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

ENSURE_HINT = "run tools/ensure_chromium.sh (installs Debian's chromium package) and try again"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium", "chromium",
                       "chromium-browser", "google-chrome", "google-chrome-stable")


class CDPError(RuntimeError):
    """A DevTools command returned an error object."""


class CDPTimeout(TimeoutError):
    """A DevTools command or event wait exceeded its time limit."""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None.

    ``$CHROMIUM`` (a path or a command name), when set, is the only candidate.
    """
    env = os.environ.get("CHROMIUM")
    for cand in (env,) if env else CHROMIUM_CANDIDATES:
        if os.path.isabs(cand):
            if os.path.isfile(cand) and os.access(cand, os.X_OK):
                return cand
        elif path := shutil.which(cand):
            return path
    return None


class CDPConnection:
    """Request/response + event buffer over one DevTools websocket (sync, single-threaded)."""

    def __init__(self, ws_url: str, open_timeout: float = 10.0) -> None:
        # proxy=None: never route the DevTools socket through an environment proxy.
        # Entered as a context manager: the direct-connection style websockets>=17 expects.
        self._ws = connect(ws_url, open_timeout=open_timeout, max_size=None, proxy=None,
                           ping_interval=None, compression=None, close_timeout=2).__enter__()
        self._next_id = 0
        self._events: collections.deque[dict[str, Any]] = collections.deque()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # best effort at teardown
            self._ws.close()

    def _recv(self, deadline: float, what: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CDPTimeout(f"timed out waiting for {what}")
        try:
            raw = self._ws.recv(timeout=remaining)
        except TimeoutError as exc:
            raise CDPTimeout(f"timed out waiting for {what}") from exc
        return json.loads(raw)

    def send(self, method: str, params: dict[str, Any] | None = None, *,
             session_id: str | None = None, timeout: float = 15.0) -> dict[str, Any]:
        """Send one command and return its ``result`` (raise CDPError / CDPTimeout)."""
        self._next_id += 1
        msg_id = self._next_id
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session_id is not None:
            msg["sessionId"] = session_id
        self._ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            reply = self._recv(deadline, f"the reply to {method}")
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def wait_event(self, predicate: Callable[[dict[str, Any]], bool], *, timeout: float,
                   what: str = "an event") -> dict[str, Any]:
        """Return (and consume) the first buffered or incoming event matching ``predicate``.

        Non-matching events stay buffered in arrival order.
        """
        for i, ev in enumerate(self._events):
            if predicate(ev):
                del self._events[i]
                return ev
        deadline = time.monotonic() + timeout
        while True:
            msg = self._recv(deadline, what)
            if "method" not in msg:
                continue  # a late reply to a command that already timed out
            if predicate(msg):
                return msg
            self._events.append(msg)

    def drain_events(self) -> list[dict[str, Any]]:
        """All buffered events (oldest first); the buffer is emptied."""
        out = list(self._events)
        self._events.clear()
        return out


class Chromium:
    """Headless Chromium with a temporary profile; :meth:`stop` always kills it."""

    FLAGS = (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-default-browser-check", "--disable-dev-shm-usage", "--hide-scrollbars",
        "--mute-audio", "--disable-extensions", "--disable-domain-reliability",
        "--disable-breakpad", "--disable-features=MediaRouter,OptimizationHints,Translate",
        # Pin all networking to 127.0.0.1: other host names never resolve, and any connection
        # that is not to 127.0.0.1 goes to a dead proxy on 127.0.0.1:9 (and fails).
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1",
        "--remote-debugging-port=0",
    )

    def __init__(self, executable: str, *, window: tuple[int, int] = (1280, 900),
                 start_timeout: float = 30.0) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="book-browser-"))
        self._log = open(self.profile / "chromium.log", "wb")  # noqa: SIM115 - closed in stop()
        args = [executable, *self.FLAGS, f"--user-data-dir={self.profile}",
                f"--window-size={window[0]},{window[1]}", "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.ws_url = self._read_devtools_url(start_timeout)
        except BaseException:
            self.stop()
            raise

    def _read_devtools_url(self, timeout: float) -> str:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self.proc.returncode} at start-up; "
                                   f"log:\n{self.log_tail()}")
            try:
                lines = port_file.read_text().split()
            except FileNotFoundError:
                lines = []
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{int(lines[0])}{lines[1]}"
            time.sleep(0.05)
        raise CDPTimeout(f"chromium wrote no DevToolsActivePort within {timeout:.0f} s; "
                         f"log:\n{self.log_tail()}")

    def log_tail(self, n: int = 2000) -> str:
        try:
            return (self.profile / "chromium.log").read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Kill Chromium's process group (by our own child's pid) and remove the profile."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:  # helpers (renderer, zygote) share the group; make sure none survive
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve ``root`` over HTTP on a free loopback port from a thread; yields the base URL
    (``http://127.0.0.1:<port>/``) and stops the server on exit."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="book-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
