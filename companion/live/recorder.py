"""The journal stage of the live executor: every order, venue report, risk event and checkpoint of a
run, numbered and written to the :class:`companion.live.journal.Journal` (or only numbered).

:class:`JournalRecorder` holds the message sequence (one number per order, report and risk event:
the journal's idempotency keys), the client order ids, the write-ahead record of each order the
strategy sends (written between its decision and its send), the pre-trade reject checks and the
checkpoints. During a crash *catch-up* (the replay up to the journal's last checkpoint) it numbers
everything exactly as the original run did but writes nothing (:attr:`JournalRecorder.on` False),
then :meth:`JournalRecorder.verify_catch_up` checks the replay reproduced the checkpoint; at the end
:meth:`JournalRecorder.reconcile` compares the journal's position with the venue's.
:func:`run_identity` is what a journal is bound to (:meth:`companion.live.journal.Journal.bind`).
"""
from __future__ import annotations

import hashlib
import json
import time

import numpy as np

from companion.sim.orders import ORDER_TYPE_NAMES
from companion.sim.risk import ACTION_HALT, RISK_ACTION_NAMES, RULE_DAILY_LOSS, RULE_NAMES

__all__ = ["JournalRecorder", "run_identity"]


def run_identity(config, dataset: str | None, model=None) -> dict:
    """What a journal is bound to (:meth:`companion.live.journal.Journal.bind`): the dataset (the
    caller's string), the sha256 of the config (a ``LiveConfig``; without the ``latency`` targets,
    ``kill_switch`` and ``journal`` sections, which do not change a decision), the sha256 of the
    model's arrays (a ``CompiledModel``; None for the scalper) and the companion version.

    Examples
    --------
    >>> from companion.live.config import LiveConfig
    >>> a = run_identity(LiveConfig.from_dict({}), "day1")
    >>> b = run_identity(LiveConfig.from_dict({"journal": {"checkpoint_every": 7}}), "day1")
    >>> a["config_sha256"] == b["config_sha256"], a["model_sha256"], len(a["config_sha256"])
    (True, None, 64)
    """
    import companion

    cfg = {k: v for k, v in config.to_dict().items() if k not in ("latency", "kill_switch", "journal")}
    text = json.dumps(cfg, sort_keys=True, default=str)
    mh = None
    if model is not None:
        h = hashlib.sha256()
        for a in model.arrays:
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(f"{model.num_class}|{model.n_features}|{model.objective}|{model.average_output}".encode())
        mh = h.hexdigest()
    return {"dataset": dataset, "config_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "config": json.loads(text), "model_sha256": mh, "companion_version": companion.__version__}


class JournalRecorder:
    """Numbers and journals what a venue did (see the module docstring).

    Parameters
    ----------
    journal : companion.live.journal.Journal or None
        None: everything is numbered, nothing is written.
    venue : companion.live.venue.PaperVenue
        The venue whose orders / reports / risk log are recorded.
    symbol : str
        The instrument's symbol (journal rows).
    price_scale : float
        Price units per currency unit (fees and equities are journaled in currency).
    summary : object
        The run's summary (``fees``, ``risk_events``, ``killed``, ``checkpoint`` are updated).
    id_prefix : str
        Client order id prefix (``""`` in a journal's segment 1, ``"S<k>."`` in segment k).
    tag : str
        The strategy tag of the orders the strategy sends (risk-manager orders are tagged ``risk``).

    Attributes
    ----------
    on : bool
        Journal writes enabled (False during a catch-up replay and without a journal).
    msg_seq : int
        The last message sequence number used.
    n_orders : int
        Venue orders recorded so far.
    write_ns : int
        Time spent writing order records since the caller last reset it (ns; the write-ahead
        records made inside the strategy stage).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> rec = JournalRecorder(None, venue=None, symbol="X", price_scale=1.0,
    ...                       summary=SimpleNamespace(risk_events=0))
    >>> rec.client_id(7), rec.next_seq(), rec.next_seq()
    ('O7', 1, 2)
    """

    def __init__(self, journal, venue, symbol: str, price_scale: float, summary, id_prefix: str = "",
                 tag: str = "strategy"):
        self.journal = journal
        self.tag = tag
        self.venue = venue
        self.symbol = symbol
        self.scale = float(price_scale)
        self.summary = summary
        self.id_prefix = id_prefix
        self.on = False
        self.msg_seq = 0
        self.n_orders = 0
        self.write_ns = 0
        self._to_check: list[int] = []
        self._n_risk_seen = 0

    def next_seq(self) -> int:
        """The next message sequence number."""
        self.msg_seq += 1
        return self.msg_seq

    def client_id(self, order_id: int) -> str:
        """Our client order id: ``O<n>`` (segment 1), ``S<k>.O<n>`` in a journal's segment k > 1."""
        return f"{self.id_prefix}O{order_id}"

    def order(self, oid: int, t: int, side: int, price: int, qty: float, otype: int, tag: str) -> None:
        """Record venue order ``oid`` (sent at ``t``), before it is sent (the write-ahead record)."""
        seq = self.next_seq()
        if self.on:
            t0 = time.perf_counter_ns()
            self.journal.record_order(self.client_id(oid), self.symbol, t, side, price, qty,
                                      order_type=ORDER_TYPE_NAMES[otype], strategy=tag, seq=seq)
            self.write_ns += time.perf_counter_ns() - t0
        self.n_orders = max(self.n_orders, oid + 1)
        self._to_check.append(oid)

    def new_orders(self, tag: str | None = None) -> None:
        """Record the orders the venue created that are not recorded yet (risk-manager orders are
        tagged ``risk``, the others ``tag``, default the recorder's ``tag``)."""
        tag = self.tag if tag is None else tag
        v = self.venue
        n = v.n_orders
        if not self.on:  # nothing is written: the same sequence numbers and reject checks, in bulk
            j0 = self.n_orders
            if n > j0:
                self.msg_seq += n - j0
                self._to_check.extend(range(j0, n))
                self.n_orders = n
            return
        while self.n_orders < n:
            j = self.n_orders
            o = v.orders[j]
            self.order(j, int(o["ts_submit"]), int(o["side"]), int(o["price"]), float(o["qty"]), int(o["otype"]),
                       "risk" if o["by_risk"] else tag)

    def _pretrade_rejects(self) -> None:
        v = self.venue
        for j in self._to_check:
            if v.rejected_by_risk(j):
                seq = self.next_seq()
                if self.on:
                    self.journal.update_order(self.client_id(j), "REJECTED", int(v.orders[j]["ts_submit"]),
                                              reason="RISK", seq=seq)
        self._to_check = [j for j in self._to_check if j >= v.n_orders]

    def reports(self) -> None:
        """Record the venue's pre-trade rejects, delivered reports (acks, fills, cancels, rejects,
        expiries) and risk decisions since the last call; a DAILY_LOSS halt sets ``summary.killed``."""
        v = self.venue
        self._pretrade_rejects()
        pre = self.id_prefix
        for r in v.reports():
            seq = self.next_seq()
            if r.kind == "fill":
                self.summary.fees += r.fee / self.scale
            if not self.on:
                continue
            cid = self.client_id(r.order_id)
            if r.kind == "ack":
                self.journal.update_order(cid, "ACK", r.t_local, venue_order_id=f"{pre}{r.order_id}", seq=seq)
            elif r.kind == "fill":
                self.journal.record_fill(f"{pre}F{r.fill_id}", cid, r.t_exchange, int(round(r.price)), r.qty,
                                         r.side, liquidity=r.liquidity, fee=r.fee, seq=seq)
            else:
                status = "REJECTED" if r.status == "REJECTED" else "CANCELLED"
                reason = r.reason or (r.status if r.status == "EXPIRED" else "")
                self.journal.update_order(cid, status, r.t_local, reason=reason, seq=seq)
        rk = v.risk_events
        while self._n_risk_seen < len(rk):
            e = rk[self._n_risk_seen]
            self._n_risk_seen += 1
            rule, action = RULE_NAMES.get(int(e["rule"]), str(e["rule"])), RISK_ACTION_NAMES.get(int(e["action"]), "")
            if int(e["rule"]) == RULE_DAILY_LOSS and int(e["action"]) == ACTION_HALT and self.summary.killed is None:
                self.summary.killed = "MAX_LOSS"
            self.risk_event(int(e["ts"]), f"{rule}_{action}",
                            {"event": int(e["event_idx"]), "position": float(e["position"]),
                             "equity": float(e["equity"]) / self.scale if e["equity"] == e["equity"] else None,
                             "value": float(e["value"])})

    def risk_event(self, ts: int, kind: str, detail: dict) -> None:
        """Record a risk event (a risk rule's decision or a kill switch)."""
        seq = self.next_seq()
        self.summary.risk_events += 1
        if self.on:
            self.journal.record_risk_event(ts, kind, detail, seq=seq)

    def counts(self) -> dict:
        """What a checkpoint stores: message sequence, venue orders, fills, position."""
        v = self.venue
        return {"msg_seq": self.msg_seq, "orders": v.n_orders, "fills": v.n_fills, "position": v.position}

    def checkpoint(self, seq: int, ts: int) -> None:
        """Checkpoint: every effect of the inputs up to ``seq`` is journaled."""
        self.journal.checkpoint(seq, ts=ts, state=self.counts())
        self.summary.checkpoint = seq

    def reconcile(self) -> None:
        """At the end of a run (with a journal): ``summary.reconciled`` -- the journal's position and
        this segment's cash equal the venue's -- and ``summary.checkpoint`` the journal's last one."""
        if self.journal is None:
            return
        v = self.venue
        pos = self.journal.position(self.symbol)
        cash = pos.cash - self.journal.base_cash  # this segment's cash
        self.summary.reconciled = bool(abs(pos.qty - v.position) < 1e-9
                                       and abs(cash - v.cash) <= 1e-6 * max(1.0, abs(v.cash)))
        self.summary.checkpoint = self.journal.recover(verify=False).checkpoint

    def verify_catch_up(self, state) -> None:
        """After the catch-up replay: the pipeline must have reproduced the checkpoint's counts
        (:class:`companion.live.journal.JournalMismatchError` otherwise)."""
        if not state:
            return
        got = self.counts()
        want = {k: state.get(k) for k in got}
        if got != want:
            from companion.live.journal import JournalMismatchError

            raise JournalMismatchError(f"journal {self.journal.path}: the replay up to the checkpoint does not "
                                       f"reproduce the journal: {got} != {want} (another dataset, config or "
                                       "code version?)")
