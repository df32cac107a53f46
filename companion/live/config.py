"""The live executor's YAML configuration: typed dataclasses, strict validation, clear errors.

Loaded with ``yaml.safe_load``; every section is optional (defaults below), every unknown key is an
error, and every error names the key, the expected type or range and the value found::

    strategy: scalper            # scalper (composite book imbalance) | model (compiled LightGBM + OFI)
    signal:
      depth: 5                   # book levels of the imbalance (1..book levels)
      weak: 0.15                 # |S| >= weak: BUY / SELL
      strong: 0.35               # |S| >= strong: STRONG_BUY / STRONG_SELL (entries)
    model:                       # strategy: model only
      path: models/p_up          # companion.models.io.save_model stem (or a LightGBM text file)
      p_long: 0.55
      p_short: 0.45
      ofi_threshold: 0.0         # shares
      ofi_window_s: 10.0
    execution:
      size: 100                  # shares / contracts per entry
      max_position: 500          # |position| limit (pre-trade check + close)
      timeout_s: 10.0            # exit a position held this long
      entry: market              # market | limit (join our best quote)
      exit_level: 1              # exit on an opposite signal of this strength (0: never)
      entry_ttl_s: 2.0           # cancel an unfilled limit entry after
    risk:
      max_loss: 1000.0           # currency; session loss that trips the kill switch (flatten + halt)
      max_trades_per_minute: 60  # fills in the last 60 s that block new orders
      max_spread: 50             # ticks; wider spreads block new orders
    latency:                     # targets the run is measured against (reported, never enforced)
      signal_us: 20.0            # tick -> signal decision, p99
      features_model_us: 50.0    # streaming features + model, p99
    feed:
      stale_after_s: 5.0         # no market data for this long (feed clock): kill switch
    kill_switch:
      file: KILL                 # trading stops when this file exists (relative to the cwd)
    venue:                       # the paper venue (companion.sim): latency, fees, queue
      feed_latency_ns: 0
      entry_latency_ns: 100000
      response_latency_ns: 100000
      fees: {maker: 0.0, taker: 0.0, unit: bps}
      queue: risk_averse         # risk_averse | power_prob | log_prob | fifo
      flat_before_close_s: 60.0  # flatten and halt this long before the session close (null: off)
      seed: 0
    journal:
      synchronous: NORMAL        # FULL survives power loss; NORMAL survives process crashes
      checkpoint_every: 2000     # events between checkpoints

Money is in currency (dollars for LOBSTER), spreads in ticks; :meth:`LiveConfig.risk_limits` turns
them into the simulator's price units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar

from companion.events import NS, Instrument

__all__ = ["ConfigError", "check_number", "read_yaml", "in_file", "SignalConfig", "ModelConfig", "ExecConfig", "RiskConfig", "LatencyConfig",
           "FeedConfig", "KillSwitchConfig", "VenueConfig", "JournalConfig", "LiveConfig", "load_config"]

STRATEGIES = ("scalper", "model")
QUEUES = ("risk_averse", "power_prob", "log_prob", "fifo")


class ConfigError(ValueError):
    """A bad live config: the message names the key (``section.key``), what was expected and what was found."""


#: the largest int64 (times and latencies are int64 nanoseconds in the kernels)
INT64_MAX = 2**63 - 1
#: the largest latency a config may give (1 hour in ns): more is a unit error, and a latency near
#: int64 would wrap when added to an epoch timestamp
MAX_LATENCY_NS = 3600 * NS


# --------------------------------------------------------------------------------------------- checks
def check_number(where: str, v: Any, *, integer: bool = False, lo: float | None = None,
                 hi: float | None = None, lo_open: bool = False, allow_none: bool = False,
                 allow_inf: bool = False):
    """Validate one config number; returns it as ``int`` / ``float`` (or None) or raises ConfigError.

    NaN is never a number here; +-inf only with ``allow_inf``; an integer field refuses a
    fractional value (``1.5`` is never truncated), a bool, and anything beyond int64. Shared by
    the live config and ``python -m companion backtest``'s config (one loader, one set of rules).

    Examples
    --------
    >>> check_number("risk.max_loss", 5), check_number("venue.seed", 3.0, integer=True)
    (5.0, 3)
    >>> check_number("risk.max_loss", float("nan"))
    Traceback (most recent call last):
        ...
    companion.live.config.ConfigError: config: risk.max_loss must be a number, got nan
    >>> check_number("venue.seed", 1.5, integer=True)
    Traceback (most recent call last):
        ...
    companion.live.config.ConfigError: config: venue.seed must be an integer, got 1.5 (float)
    """
    if v is None and allow_none:
        return None
    kind = "an integer" if integer else "a number"
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and isinstance(v, float) and not v.is_integer()):
        raise ConfigError(f"config: {where} must be {kind}, got {v!r} ({type(v).__name__})")
    if isinstance(v, float) and math.isnan(v):
        raise ConfigError(f"config: {where} must be {kind}, got nan")
    if math.isinf(v) and not allow_inf:
        raise ConfigError(f"config: {where} must be finite, got {v!r}")
    if integer and abs(v) > INT64_MAX:
        raise ConfigError(f"config: {where} must fit in int64 (|v| <= {INT64_MAX}), got {v!r}")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise ConfigError(f"config: {where} must be {'>' if lo_open else '>='} {lo:g}, got {v!r}")
    if hi is not None and v > hi:
        raise ConfigError(f"config: {where} must be <= {hi:g}, got {v!r}")
    return int(v) if integer else float(v)


_num = check_number


def _choice(where: str, v: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(v, str) or v not in choices:
        raise ConfigError(f"config: {where} must be one of {', '.join(choices)}, got {v!r}")
    return v


def _str(where: str, v: Any, allow_none: bool = False) -> str | None:
    if v is None and allow_none:
        return None
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(f"config: {where} must be a non-empty string, got {v!r}")
    return v


def _section(cls, where: str, d: Any):
    """Build dataclass ``cls`` from mapping ``d``, rejecting unknown keys; values checked by ``cls.check``."""
    if d is None:
        d = {}
    if not isinstance(d, dict):
        raise ConfigError(f"config: {where} must be a mapping, got {d!r} ({type(d).__name__})")
    names = [f.name for f in fields(cls)]
    for k in d:
        if k not in names:
            raise ConfigError(f"config: unknown key {where}.{k} (allowed: {', '.join(names)})")
    obj = cls(**d)
    obj.check(where)
    ints = {f.name: int(getattr(obj, f.name)) for f in fields(cls)
            if f.type in ("int", "int | None") and isinstance(getattr(obj, f.name), float)}
    return replace(obj, **ints) if ints else obj  # 5.0 for an integer field is stored as 5


class _Section:
    """A config section: ``_RULES`` maps a field to its check -- keyword arguments of
    :func:`check_number` (plus ``at_least=<field>``: not below that field's value), a tuple of
    allowed strings, or ``str`` (a non-empty string or None) -- run in field order by
    :meth:`check`; then the ``at_least`` orders (every field is valid by then); then
    ``_relations`` (any other check)."""

    _RULES: ClassVar[dict] = {}

    def check(self, w: str) -> None:
        """Validate the section (``w``: its name in messages); raises :class:`ConfigError`."""
        for k, rule in self._RULES.items():
            where, v = f"{w}.{k}", getattr(self, k)
            if rule is str:
                _str(where, v, allow_none=True)
            elif isinstance(rule, tuple):
                _choice(where, v, rule)
            else:
                _num(where, v, **{r: x for r, x in rule.items() if r != "at_least"})
        for b, rule in self._RULES.items():
            a = rule.get("at_least") if isinstance(rule, dict) else None
            if a is not None and getattr(self, a) > getattr(self, b):
                raise ConfigError(f"config: {w}.{a} ({getattr(self, a)}) must be <= {w}.{b} ({getattr(self, b)})")
        self._relations(w)

    def _relations(self, w: str) -> None:
        pass


# --------------------------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class SignalConfig(_Section):
    """Composite-imbalance signal (:mod:`companion.signals`): depth and class thresholds.

    Attributes
    ----------
    depth : int
        Book levels of the imbalance (1 .. the book's levels).
    weak : float
        ``|S| >= weak``: BUY / SELL.
    strong : float
        ``|S| >= strong``: STRONG_BUY / STRONG_SELL (entries); ``weak <= strong``.
    """

    depth: int = 5
    weak: float = 0.15
    strong: float = 0.35

    _RULES = {"depth": dict(integer=True, lo=1, hi=100), "weak": dict(lo=0.0, hi=1.0),
              "strong": dict(lo=0.0, hi=1.0, at_least="weak")}


@dataclass(frozen=True)
class ModelConfig(_Section):
    """Model rule (:func:`companion.signals.model_rule`) on a compiled LightGBM P(up).

    Attributes
    ----------
    path : str or None
        The model: a :func:`companion.models.io.save_model` stem or a LightGBM text file.
    p_long, p_short : float
        Go long when P(up) >= ``p_long``, short when P(up) <= ``p_short``.
    ofi_threshold : float
        The OFI must agree in sign and exceed this size (shares).
    ofi_window_s : float
        Window of the OFI (s).
    ofi_levels : int
        Book levels of the OFI (1 .. 10).
    """

    path: str | None = None
    p_long: float = 0.55
    p_short: float = 0.45
    ofi_threshold: float = 0.0
    ofi_window_s: float = 10.0
    ofi_levels: int = 1

    _RULES = {"path": str, "p_long": dict(lo=0.0, hi=1.0, at_least="p_short"), "p_short": dict(lo=0.0, hi=1.0),
              "ofi_threshold": dict(lo=0.0), "ofi_window_s": dict(lo=0.0, lo_open=True),
              "ofi_levels": dict(integer=True, lo=1, hi=10)}


@dataclass(frozen=True)
class ExecConfig(_Section):
    """Order size, position limit and the strategy's exits (seconds).

    Attributes
    ----------
    size : float
        Shares / contracts per entry.
    max_position : float
        ``|position|`` limit (pre-trade check and close).
    timeout_s : float or None
        Exit a position held this long (None: never).
    entry : str
        ``"market"`` or ``"limit"`` (join our best quote).
    exit_level : int
        Exit on an opposite signal of this strength (0: never).
    entry_ttl_s : float or None
        Cancel an unfilled limit entry after this long.
    """

    size: float = 100.0
    max_position: float = 500.0
    timeout_s: float | None = 10.0
    entry: str = "market"
    exit_level: int = 1
    entry_ttl_s: float | None = 2.0

    _RULES = {"size": dict(lo=0.0, lo_open=True),
              "max_position": dict(lo=0.0, lo_open=True, allow_inf=True, at_least="size"),
              "timeout_s": dict(lo=0.0, lo_open=True, allow_none=True), "entry": ("market", "limit"),
              "exit_level": dict(integer=True, lo=0, hi=2), "entry_ttl_s": dict(lo=0.0, lo_open=True, allow_none=True)}


@dataclass(frozen=True)
class RiskConfig(_Section):
    """Session max loss (currency, kill switch), fill-rate and spread (ticks) blocks; None = off.

    Attributes
    ----------
    max_loss : float or None
        Session loss (currency) that trips the kill switch (flatten and halt).
    max_trades_per_minute : int or None
        Fills in the last 60 s that block new orders.
    max_spread : float or None
        Spreads wider than this (ticks) block new orders.
    """

    max_loss: float | None = 1000.0
    max_trades_per_minute: int | None = 60
    max_spread: float | None = 50.0

    _RULES = {"max_loss": dict(lo=0.0, lo_open=True, allow_none=True),
              "max_trades_per_minute": dict(integer=True, lo=1, allow_none=True),
              "max_spread": dict(lo=0.0, lo_open=True, allow_none=True)}


@dataclass(frozen=True)
class LatencyConfig(_Section):
    """In-process latency targets (µs, p99), reported against the measured histograms.

    Attributes
    ----------
    signal_us : float
        Tick to signal decision, p99 (µs).
    features_model_us : float
        Streaming features plus model, p99 (µs).
    """

    signal_us: float = 20.0
    features_model_us: float = 50.0

    _RULES = {"signal_us": dict(lo=0.0, lo_open=True), "features_model_us": dict(lo=0.0, lo_open=True)}


@dataclass(frozen=True)
class FeedConfig(_Section):
    """Stale-feed kill switch: no chunk for ``stale_after_s`` seconds of the feed clock.

    Attributes
    ----------
    stale_after_s : float or None
        No market data for this long (feed clock, s) trips the kill switch (None: off).
    """

    stale_after_s: float | None = 5.0

    _RULES = {"stale_after_s": dict(lo=0.0, lo_open=True, allow_none=True)}


@dataclass(frozen=True)
class KillSwitchConfig(_Section):
    """Manual kill switch: a file whose existence stops trading (SIGUSR1 does the same).

    Attributes
    ----------
    file : str or None
        Trading stops when this file exists (relative to the working directory; None: off).
    """

    file: str | None = "KILL"

    _RULES = {"file": str}


@dataclass(frozen=True)
class VenueConfig(_Section):
    """The paper venue (:class:`companion.live.venue.PaperVenue`): latency, fees, queue, seed.

    Attributes
    ----------
    feed_latency_ns, entry_latency_ns, response_latency_ns : int
        Constant latencies of the three channels (ns).
    fees : dict
        ``{maker, taker, unit}`` of :class:`companion.sim.fees.Fees` (empty: no fees).
    queue : str
        Queue model: ``risk_averse``, ``power_prob``, ``log_prob`` or ``fifo``.
    queue_n : float
        Exponent ``n`` of the power / log probability queue models (> 0).
    flat_before_close_s : float or None
        Flatten and halt this long before the session close (None: off).
    seed : int
        Seed of the simulator's random draws.
    """

    feed_latency_ns: int = 0
    entry_latency_ns: int = 100_000
    response_latency_ns: int = 100_000
    fees: dict = field(default_factory=dict)
    queue: str = "risk_averse"
    queue_n: float = 2.0
    flat_before_close_s: float | None = 60.0
    seed: int = 0

    _RULES = {**dict.fromkeys(("feed_latency_ns", "entry_latency_ns", "response_latency_ns"),
                              dict(integer=True, lo=0, hi=MAX_LATENCY_NS)),
              "queue": QUEUES, "queue_n": dict(lo=0.0, lo_open=True),
              "flat_before_close_s": dict(lo=0.0, allow_none=True), "seed": dict(integer=True, lo=0)}

    def _relations(self, w: str) -> None:
        if not isinstance(self.fees, dict):
            raise ConfigError(f"config: {w}.fees must be a mapping, got {self.fees!r}")
        for k, v in self.fees.items():
            if k not in ("maker", "taker", "unit"):
                raise ConfigError(f"config: unknown key {w}.fees.{k} (allowed: maker, taker, unit)")
            if k == "unit":
                _choice(f"{w}.fees.unit", v, ("bps", "per_share"))
            else:
                _num(f"{w}.fees.{k}", v)


@dataclass(frozen=True)
class JournalConfig(_Section):
    """SQLite journal durability and checkpoint spacing (events).

    Attributes
    ----------
    synchronous : str
        SQLite ``synchronous``: ``FULL`` survives power loss, ``NORMAL`` process crashes.
    checkpoint_every : int
        Events between checkpoints.
    """

    synchronous: str = "NORMAL"
    checkpoint_every: int = 2000

    _RULES = {"synchronous": ("FULL", "NORMAL", "EXTRA"), "checkpoint_every": dict(integer=True, lo=1)}


_SECTIONS = {"signal": SignalConfig, "model": ModelConfig, "execution": ExecConfig, "risk": RiskConfig,
             "latency": LatencyConfig, "feed": FeedConfig, "kill_switch": KillSwitchConfig,
             "venue": VenueConfig, "journal": JournalConfig}


@dataclass(frozen=True)
class LiveConfig:
    """The whole config (see the module docstring); build it with :func:`load_config` or :meth:`from_dict`.

    Attributes
    ----------
    strategy : str
        ``"scalper"`` (composite book imbalance) or ``"model"`` (compiled LightGBM and OFI).
    signal : SignalConfig
        The imbalance signal.
    model : ModelConfig
        The model rule (strategy ``model`` only).
    execution : ExecConfig
        Size, position limit and exits.
    risk : RiskConfig
        Loss, trade-rate and spread limits.
    latency : LatencyConfig
        Latency targets (reported, never enforced).
    feed : FeedConfig
        The stale-feed kill switch.
    kill_switch : KillSwitchConfig
        The manual kill switch.
    venue : VenueConfig
        The paper venue.
    journal : JournalConfig
        Journal durability and checkpoints.
    """

    strategy: str = "scalper"
    signal: SignalConfig = SignalConfig()
    model: ModelConfig = ModelConfig()
    execution: ExecConfig = ExecConfig()
    risk: RiskConfig = RiskConfig()
    latency: LatencyConfig = LatencyConfig()
    feed: FeedConfig = FeedConfig()
    kill_switch: KillSwitchConfig = KillSwitchConfig()
    venue: VenueConfig = VenueConfig()
    journal: JournalConfig = JournalConfig()

    @classmethod
    def from_dict(cls, d: Any) -> LiveConfig:
        """Validate a mapping (e.g. ``yaml.safe_load`` output); raises :class:`ConfigError`."""
        if d is None:
            d = {}
        if not isinstance(d, dict):
            raise ConfigError(f"config: the top level must be a mapping, got {type(d).__name__}")
        allowed = ["strategy", *_SECTIONS]
        for k in d:
            if k not in allowed:
                raise ConfigError(f"config: unknown key {k} (allowed: {', '.join(allowed)})")
        strategy = _choice("strategy", d.get("strategy", "scalper"), STRATEGIES)
        secs = {name: _section(sc, name, d.get(name)) for name, sc in _SECTIONS.items()}
        return cls(strategy=strategy, **secs)

    def replace(self, **sections: dict) -> LiveConfig:
        """A copy with some sections' keys overridden, validated again: ``cfg.replace(risk={"max_loss": 5})``."""
        d = self.to_dict()
        for name, over in sections.items():
            if name == "strategy":
                d["strategy"] = over
            else:
                d[name] = {**d.get(name, {}), **over}
        return LiveConfig.from_dict(d)

    def to_dict(self) -> dict:
        """The config as nested plain dicts (the YAML layout; :meth:`from_dict` reads it back)."""
        out: dict = {"strategy": self.strategy}
        for name in _SECTIONS:
            sec = getattr(self, name)
            out[name] = {f.name: getattr(sec, f.name) for f in fields(sec)}
        return out

    def check_levels(self, levels: int) -> None:
        """Refuse book depths the feed does not carry: ``signal.depth`` (scalper) and
        ``model.ofi_levels`` (model) must be <= ``levels``, the book's visible levels."""
        if self.strategy == "scalper" and self.signal.depth > levels:
            raise ConfigError(f"config: signal.depth must be <= {levels} (the book's levels), "
                              f"got {self.signal.depth}")
        if self.strategy == "model" and self.model.ofi_levels > levels:
            raise ConfigError(f"config: model.ofi_levels must be <= {levels} (the book's levels), "
                              f"got {self.model.ofi_levels}")

    # ---- translations to the simulator's units
    def risk_limits(self, instrument: Instrument):
        """:class:`companion.sim.risk.RiskLimits` in price units: ``max_position``, ``daily_loss`` (the
        kill switch's max loss x price scale), ``max_spread`` (ticks x tick), ``max_trades_per_min``,
        ``flat_at_ns`` (session close - ``venue.flat_before_close_s``)."""
        from companion.sim import RiskLimits

        r, scale = self.risk, float(instrument.price_scale)
        flat = None
        if self.venue.flat_before_close_s is not None and instrument.session_close_ns:
            flat = int(instrument.session_close_ns - self.venue.flat_before_close_s * NS)
        mp = self.execution.max_position
        return RiskLimits(max_position=None if math.isinf(mp) else mp,
                          daily_loss=None if r.max_loss is None else r.max_loss * scale,
                          max_spread=None if r.max_spread is None else r.max_spread * float(instrument.tick),
                          max_trades_per_min=r.max_trades_per_minute, flat_at_ns=flat)

    def execution_config(self, instrument: Instrument):
        """The :class:`companion.backtest.ExecutionConfig` of the paper venue (same simulator, same
        risk limits): a backtest with it and :meth:`strategy_object` is the executor's twin."""
        from companion.backtest import ExecutionConfig
        from companion.sim import Fees, FIFOQueue, LogProbQueue, PowerProbQueue, RiskAverseQueue

        v = self.venue
        scale = float(instrument.price_scale)
        fees = dict(v.fees)
        unit = fees.get("unit", "bps")
        k = scale if unit == "per_share" else 1.0  # per-share fees are given in currency
        queue = {"risk_averse": RiskAverseQueue(), "power_prob": PowerProbQueue(v.queue_n),
                 "log_prob": LogProbQueue(), "fifo": FIFOQueue()}[v.queue]
        return ExecutionConfig(fees=Fees(maker=float(fees.get("maker", 0.0)) * k,
                                         taker=float(fees.get("taker", 0.0)) * k, unit=unit),
                               feed_latency=v.feed_latency_ns, entry_latency=v.entry_latency_ns,
                               response_latency=v.response_latency_ns, queue=queue,
                               risk=self.risk_limits(instrument), flat_before_close_s=None, seed=v.seed)

    def strategy_object(self, p_up=None, p_ts=None):
        """The backtest strategy the executor runs (:class:`~companion.backtest.ImbalanceScalper` or
        :class:`~companion.backtest.ModelStrategy`) with this config's parameters."""
        from companion.backtest import ImbalanceScalper, ModelStrategy

        e = self.execution
        common = dict(qty=e.size, entry=e.entry, hold_s=e.timeout_s, exit_level=e.exit_level,
                      entry_ttl_s=e.entry_ttl_s)
        if self.strategy == "scalper":
            s = self.signal
            return ImbalanceScalper(levels=s.depth, weak=s.weak, strong=s.strong, **common)
        m = self.model
        return ModelStrategy(p_up=p_up, p_ts=p_ts, p_long=m.p_long, p_short=m.p_short,
                             ofi_threshold=m.ofi_threshold, ofi_window_s=m.ofi_window_s,
                             ofi_levels=m.ofi_levels, **common)


    def signal_stream(self, instrument: Instrument, model=None):
        """The signal stage the executor streams (:mod:`companion.streaming`): a ``ModelStream``
        (``strategy: model``; ``model`` a ``CompiledModel``, default loaded from ``model.path``) or
        an ``ImbalanceStream`` (the scalper's imbalance classes) with this config's parameters."""
        from companion.streaming import ImbalanceStream, ModelStream

        if self.strategy != "model":
            s = self.signal
            return ImbalanceStream(s.depth, s.weak, s.strong, float(instrument.tick))
        if model is None:
            if self.model.path is None:
                raise ValueError("strategy: model needs model.path in the config or a model argument")
            from companion.models.compiled import CompiledModel

            model = CompiledModel.from_file(self.model.path)
        m = self.model
        return ModelStream(model, instrument, m.p_long, m.p_short, m.ofi_threshold, m.ofi_window_s, m.ofi_levels)


def load_config(path: str | Path | None) -> LiveConfig:
    r"""Read and validate a YAML config (``None``: all defaults).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ConfigError
        Not valid YAML, an unknown key, or a value of the wrong type or out of range.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "live.yaml"
    >>> _ = p.write_text("strategy: scalper\nexecution:\n  size: 200\n")
    >>> c = load_config(p)
    >>> c.strategy, c.execution.size, c.signal.weak                 # unset keys keep their defaults
    ('scalper', 200, 0.15)
    >>> _ = p.write_text("execution:\n  sise: 200\n")
    >>> load_config(p)
    Traceback (most recent call last):
        ...
    companion.live.config.ConfigError: config ...live.yaml: unknown key execution.sise (allowed: size, max_position, timeout_s, entry, exit_level, entry_ttl_s)
    """
    if path is None:
        return LiveConfig()
    d = read_yaml(path)
    try:
        return LiveConfig.from_dict(d)
    except ConfigError as exc:
        raise ConfigError(in_file(exc, path)) from None


def in_file(exc: Exception, path: str | Path) -> str:
    """``exc``'s message with the config file named: ``config: x`` -> ``config <path>: x``.

    Examples
    --------
    >>> in_file(ConfigError("config: risk.max_loss must be finite, got inf"), "live.yaml")
    'config live.yaml: risk.max_loss must be finite, got inf'
    >>> in_file(ValueError("strategy: qty must be > 0"), "bt.yaml")
    'config bt.yaml: strategy: qty must be > 0'
    """
    msg = str(exc)
    return msg.replace("config:", f"config {path}:", 1) if msg.startswith("config:") else f"config {path}: {msg}"


def read_yaml(path: str | Path) -> Any:
    r"""The one YAML reader of the course's configs (live and backtest): ``yaml.safe_load`` of a
    UTF-8 file, every failure a one-line error naming the file.

    Raises
    ------
    FileNotFoundError
        The file does not exist (or is a directory).
    ConfigError
        Unreadable, not UTF-8 (the line of the first bad byte is named) or not valid YAML.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.yaml"
    >>> _ = p.write_bytes(b"risk:\n  max_loss: 5\n  # caf\xe9\n")
    >>> try:
    ...     read_yaml(p)
    ... except ConfigError as exc:
    ...     print(str(exc).split("c.yaml")[1])
    : not UTF-8 (byte 0xe9 on line 3)
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"config file {p} does not exist")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"config {p}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"config {p}: not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        one = " ".join(str(exc).split())
        raise ConfigError(f"config {p}: not valid YAML: {one}") from None
