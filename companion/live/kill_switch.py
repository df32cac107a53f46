"""The kill switch of the live executor: when to stop trading, and stopping.

Rules (checked by :meth:`KillSwitch.poll` before each feed chunk, on the feed's clock):

* **stale feed**: no chunk for ``feed.stale_after_s`` seconds of feed-clock time (``STALE_FEED``);
* **manual**: :meth:`KillSwitch.request_kill` (safe from a signal handler: SIGUSR1 gives
  ``MANUAL_SIGNAL``), or the kill file appearing (``MANUAL_FILE``; polled every ``POLL_CHUNKS``
  chunks and at least every ``POLL_NS`` of feed clock, so a quiet feed still sees it).

The session max loss is the venue's risk manager (its DAILY_LOSS halt is journaled by
:class:`companion.live.recorder.JournalRecorder`). A request trips the switch at the venue's next
wake-up (:meth:`KillSwitch.trip_at_next_wakeup`, run by the wake-up loop of
:class:`companion.live.drive.LiveDrive`); a dead feed trips it at once (:meth:`KillSwitch.trip_now`).
Tripping = :meth:`companion.live.venue.PaperVenue.kill` (cancel every order, flatten the position
with a market order, halt the strategy), ``summary.killed = reason`` and a ``KILL_<reason>`` risk
event journaled with the flatten order's client id.
"""
from __future__ import annotations

from pathlib import Path

from companion.events import NS

__all__ = ["KillSwitch", "POLL_NS", "POLL_CHUNKS"]

#: the kill file is polled every ``POLL_CHUNKS`` chunks and at least every ``POLL_NS`` of feed clock
POLL_NS = 100_000_000
POLL_CHUNKS = 64


class KillSwitch:
    """The kill switch's state and rules (see the module docstring).

    Parameters
    ----------
    venue : companion.live.venue.PaperVenue
        The venue to stop (``kill``, ``next_wakeup``, ``wake_time`` / ``wake_event``, ``halted``).
    recorder : companion.live.recorder.JournalRecorder
        Journals the ``KILL_*`` risk event and the flatten order.
    summary : companion.live.metrics.LiveSummary
        Its ``killed`` holds the reason once tripped (None before).
    file : str or pathlib.Path, optional
        The kill file (None: not polled).
    stale_after_s : float, optional
        The stale-feed rule's gap in seconds of feed clock (None: off).

    Attributes
    ----------
    request : str or None
        The pending request's reason (tripped at the next wake-up).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ks = KillSwitch(venue=None, recorder=None, summary=SimpleNamespace(killed=None), stale_after_s=2.0)
    >>> ks.poll(0, chunks=1); ks.request is None
    True
    >>> ks.poll(3_000_000_000, chunks=2); ks.request
    'STALE_FEED'
    >>> ks.request_kill("MANUAL"); ks.request  # the first request stands
    'STALE_FEED'
    """

    def __init__(self, venue, recorder, summary, file=None, stale_after_s: float | None = None):
        self.venue = venue
        self.rec = recorder
        self.summary = summary
        self.file = Path(file) if file else None
        self.stale_ns = None if stale_after_s is None else int(stale_after_s * NS)
        self.request: str | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the feed clock (at the start of a run)."""
        self.last_now: int | None = None
        self.last_poll = -POLL_NS

    def request_kill(self, reason: str = "MANUAL") -> None:
        """Trip the kill switch at the next wake-up (safe from a signal handler)."""
        if self.request is None and self.summary.killed is None:
            self.request = reason

    def poll(self, now_ns: int, chunks: int) -> None:
        """Before a chunk arriving at feed time ``now_ns`` (``chunks`` processed so far): the
        stale-feed rule and the kill-file poll (each may make a request)."""
        if self.stale_ns is not None and self.last_now is not None and now_ns - self.last_now > self.stale_ns \
                and self.summary.killed is None:
            self.request_kill("STALE_FEED")
        self.last_now = now_ns
        if chunks % POLL_CHUNKS == 0 or now_ns - self.last_poll >= POLL_NS:
            self.last_poll = now_ns
            if self.file is not None and self.file.exists():
                self.request_kill("MANUAL_FILE")

    def trip_at_next_wakeup(self, until_ns: int) -> bool:
        """Step the venue to its next wake-up before ``until_ns`` (no strategy call) and trip the
        pending request there; False (request kept) when there is none before ``until_ns``."""
        v = self.venue
        self.request, reason = None, self.request
        w = v.next_wakeup(until_ns)
        self.rec.new_orders()
        if w is None:  # no wake-up before the next chunk: keep the request
            self.request = reason
            return False
        self._trip(reason, *w)
        self.rec.new_orders()
        return True

    def trip_now(self, reason: str) -> None:
        """Trip at the venue's last wake-up, without waiting for market data (a dead feed); a
        no-op once tripped or halted."""
        v = self.venue
        if self.summary.killed is not None or v.halted:
            return
        self.request = None
        self._trip(reason, v.wake_time, v.wake_event)
        if not self.rec.on and self.rec.journal is not None:
            self.rec.on = True
        self.rec.new_orders()

    def _trip(self, reason: str, t: int, k: int) -> None:
        oid = self.venue.kill()
        self.summary.killed = reason
        self.rec.risk_event(t, f"KILL_{reason}", {"event": k, "position": self.venue.position,
                                                 "flatten_order": self.rec.client_id(oid) if oid >= 0 else None})
