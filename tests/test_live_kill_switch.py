"""The kill switch stage (companion.live.kill_switch) on its own: rules, poll cadence, tripping."""
from __future__ import annotations

from types import SimpleNamespace

from companion.live.kill_switch import POLL_CHUNKS, POLL_NS, KillSwitch


class FakeVenue:
    """The venue calls the kill switch makes, recorded."""

    def __init__(self, wakeups=()):
        self.wakeups = list(wakeups)
        self.halted = False
        self.position = 3.0
        self.wake_time, self.wake_event = 111, 7
        self.calls = []

    def next_wakeup(self, until_ns):
        self.calls.append(("next_wakeup", until_ns))
        return self.wakeups.pop(0) if self.wakeups else None

    def kill(self):
        self.calls.append(("kill",))
        self.halted = True
        return 5


class FakeRecorder:
    def __init__(self):
        self.on, self.journal = False, object()
        self.events, self.new = [], 0

    def risk_event(self, ts, kind, detail):
        self.events.append((ts, kind, detail))

    def new_orders(self):
        self.new += 1

    def client_id(self, oid):
        return f"O{oid}"


def _switch(tmp_path=None, stale_after_s=None, wakeups=()):
    v, rec, summ = FakeVenue(wakeups), FakeRecorder(), SimpleNamespace(killed=None)
    f = None if tmp_path is None else tmp_path / "KILL"
    return KillSwitch(v, rec, summ, file=f, stale_after_s=stale_after_s), v, rec, summ


def test_stale_feed_rule_uses_the_feed_clock():
    ks, *_ = _switch(stale_after_s=1.0)
    ks.poll(0, 1)
    ks.poll(1_000_000_000, 2)  # exactly the gap: not stale
    assert ks.request is None
    ks.poll(2_000_000_001, 3)
    assert ks.request == "STALE_FEED"


def test_kill_file_polled_every_64_chunks_or_100ms(tmp_path):
    ks, *_ = _switch(tmp_path)
    ks.poll(0, 1)  # first poll (the clock starts long ago)
    (tmp_path / "KILL").touch()
    ks.poll(POLL_NS - 1, 2)  # neither 64 chunks nor 100 ms since the last poll: not seen
    assert ks.request is None
    ks.poll(POLL_NS - 1, POLL_CHUNKS)  # the 64th chunk
    assert ks.request == "MANUAL_FILE"
    ks2, *_ = _switch(tmp_path)
    ks2.poll(0, 1)
    ks2.poll(POLL_NS, 2)  # 100 ms of feed clock
    assert ks2.request == "MANUAL_FILE"


def test_trip_at_next_wakeup_keeps_the_request_without_one():
    ks, v, rec, summ = _switch(wakeups=[None, (500, 9)])
    ks.request_kill("MANUAL")
    assert not ks.trip_at_next_wakeup(400) and ks.request == "MANUAL" and summ.killed is None
    assert ks.trip_at_next_wakeup(600)
    assert ks.request is None and summ.killed == "MANUAL" and ("kill",) in v.calls
    assert rec.events == [(500, "KILL_MANUAL", {"event": 9, "position": 3.0, "flatten_order": "O5"})]
    ks.request_kill("OTHER")  # once tripped, no new request
    assert ks.request is None


def test_trip_now_once_and_turns_the_journal_on():
    ks, v, rec, summ = _switch()
    ks.trip_now("FEED_ERROR")
    assert summ.killed == "FEED_ERROR" and rec.on and rec.new == 1
    assert rec.events == [(111, "KILL_FEED_ERROR", {"event": 7, "position": 3.0, "flatten_order": "O5"})]
    ks.trip_now("STALE_FEED")  # already tripped: nothing more
    assert len(rec.events) == 1 and v.calls.count(("kill",)) == 1
