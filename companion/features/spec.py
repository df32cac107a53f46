"""Feature specifications: what each registered feature is, in one place.

A :class:`FeatureSpec` names a feature and states its formula, trailing window, unit, reference and
group (the numba state machine in :mod:`companion.features.kernels` that computes it). The order of
:data:`SPECS` within a group is the column order of that group's kernel output.

Notation: ``P^a_k, Q^a_k`` (``P^b_k, Q^b_k``) price and size of the k-th occupied ask (bid) level
after the last event with ``ts <= T``; ``D^a_k = sum_{j<=k} Q^a_j``; ``M = (P^a_1 + P^b_1)/2``;
``tick`` the instrument's tick; a window ``W`` at a clock sample ``T`` holds the events with
``T - W < ts <= T``.
"""
from __future__ import annotations

from dataclasses import dataclass

CKS = "Cont, Kukanov & Stoikov (2014), J. Financial Econometrics 12(1), eq. 10"
CCZ = "Cont, Cucuringu & Zhang (2023), Quantitative Finance 23(1), eq. 1; Xu, Gould & Howison (2018)"
CAO = "Cao, Hansch & Wang (2009), J. Futures Markets 29(1): order-book imbalance beyond the best"
EHO = "Easley, Lopez de Prado & O'Hara (2012), Review of Financial Studies 25(5)"
STO = "Stoikov (2018), Quantitative Finance 18(12): weighted mid"
ABDL = "Andersen, Bollerslev, Diebold & Labys (2003), Econometrica 71(2): realised volatility"
PARK = "Parkinson (1980), J. Business 53(1), eq. 2"
LIB = "companion feature library (construction documented in the formula)"


@dataclass(frozen=True)
class FeatureSpec:
    """One registered feature.

    name: column name. formula: plain-text / LaTeX-ish definition. window: trailing window
    (``"10s"``, ``"5min"``) or ``"instant"`` for a function of the current state. unit: unit of the
    value. reference: paper or construction. group: the kernel (state machine) that computes it.

    Attributes
    ----------
    name : str
        Column name.
    formula : str
        Plain-text / LaTeX-ish definition.
    window : str
        Trailing window (``"10s"``, ``"5min"``) or ``"instant"``.
    unit : str
        Unit of the value.
    reference : str
        Paper or construction.
    group : str
        The kernel (state machine) that computes it.
    """

    name: str
    formula: str
    window: str
    unit: str
    reference: str
    group: str

    def complete(self) -> bool:
        """Every field is a non-empty string."""
        return all(isinstance(getattr(self, f), str) and getattr(self, f).strip()
                   for f in ("name", "formula", "window", "unit", "reference", "group"))


def _ofi() -> list[FeatureSpec]:
    e = ("e_n = Q^b_n 1{P^b_n>=P^b_{n-1}} - Q^b_{n-1} 1{P^b_n<=P^b_{n-1}} - Q^a_n 1{P^a_n<=P^a_{n-1}} "
         "+ Q^a_{n-1} 1{P^a_n>=P^a_{n-1}}")
    out = [FeatureSpec(f"ofi_{w}", f"OFI = sum_{{T-W < t_n <= T}} e_n (level 1), {e}", w, "shares", CKS, "ofi")
           for w in ("1s", "10s", "1min", "5min")]
    out += [FeatureSpec(f"ofi_l{m}_10s", f"OFI^{m} = sum_{{T-10s < t_n <= T}} e^{m}_n, e^m_n = CKS eq. 10 on the "
                        f"{m}-th occupied level", "10s", "shares", CCZ, "ofi") for m in range(2, 6)]
    out.append(FeatureSpec("ofi_sum5_10s", "sum_{m=1..5} OFI^m over (T-10s, T] (equal-weight multi-level OFI)",
                           "10s", "shares", CCZ, "ofi"))
    return out


def _imbalance() -> list[FeatureSpec]:
    out = [FeatureSpec(f"vol_imb_{k}", f"(D^b_{k} - D^a_{k}) / (D^b_{k} + D^a_{k}), D_k = cumulative depth to level {k}",
                       "instant", "ratio in [-1, 1]", CAO, "imbalance") for k in range(1, 11)]
    out.append(FeatureSpec("dw_imb", "(sum_k w^b_k Q^b_k - sum_k w^a_k Q^a_k) / (sum_k w^b_k Q^b_k + sum_k w^a_k Q^a_k), "
                           "w_k = 1 / (1 + |P_k - M| / tick), k = 1..10", "instant", "ratio in [-1, 1]",
                           CAO + "; distance weights: " + LIB, "imbalance"))
    out.append(FeatureSpec("ocount_imb_1", "(N^b_1 - N^a_1) / (N^b_1 + N^a_1), N_1 = number of resting orders at the "
                           "best price (per-order map from add / cancel / delete / execute)", "instant",
                           "ratio in [-1, 1]", LIB, "imbalance"))
    out.append(FeatureSpec("ocount_imb_5", "(N^b - N^a) / (N^b + N^a), N = resting orders on levels 1..5", "instant",
                           "ratio in [-1, 1]", LIB, "imbalance"))
    out.append(FeatureSpec("composite_imb", "(0.7 vol_imb_1 + 0.2 dw_imb + 0.1 ocount_imb_1) / (sum of the weights of "
                           "the non-NaN parts)", "instant", "ratio in [-1, 1]", LIB, "imbalance"))
    return out


def _book() -> list[FeatureSpec]:
    g = "book"
    return [
        FeatureSpec("spread_ticks", "(P^a_1 - P^b_1) / tick", "instant", "ticks", LIB, g),
        FeatureSpec("spread_bps", "1e4 (P^a_1 - P^b_1) / M", "instant", "bps", LIB, g),
        FeatureSpec("spread_z_5min", "(S_T - mean(S)) / std(S), S = spread (ticks) at the close of each bin in "
                    "(T-5min, T] (population std)", "5min", "z-score", LIB, g),
        FeatureSpec("depth_total_1", "Q^a_1 + Q^b_1", "instant", "shares", LIB, g),
        FeatureSpec("depth_total_5", "D^a_5 + D^b_5", "instant", "shares", LIB, g),
        FeatureSpec("depth_total_10", "D^a_10 + D^b_10", "instant", "shares", LIB, g),
        FeatureSpec("depth_ratio_5", "D^b_5 / D^a_5", "instant", "ratio", LIB, g),
        FeatureSpec("log_depth_ratio_10", "ln(D^b_10 / D^a_10)", "instant", "log ratio", LIB, g),
        FeatureSpec("slope_bid_10", "D^b_10 / ((M - P^b_K) / tick), K = deepest occupied bid level <= 10", "instant",
                    "shares per tick", "Naes & Skjeltorp (2006), J. Financial Markets 9(4): order-book slope", g),
        FeatureSpec("slope_ask_10", "D^a_10 / ((P^a_K - M) / tick), K = deepest occupied ask level <= 10", "instant",
                    "shares per tick", "Naes & Skjeltorp (2006), J. Financial Markets 9(4): order-book slope", g),
        FeatureSpec("microprice_dev_ticks", "(W - M) / tick, W = I P^a_1 + (1 - I) P^b_1, I = Q^b_1 / (Q^a_1 + Q^b_1)",
                    "instant", "ticks", STO, g),
    ]


def _trades() -> list[FeatureSpec]:
    g = "trades"
    agg = "aggressor = -direction for LOBSTER executions (4, 5), the trade side for TRADE (11)"
    out = [FeatureSpec(f"{s}_vol_{w}", f"sum of fill sizes with aggressor {'+1' if s == 'buy' else '-1'} in (T-W, T]; {agg}",
                       w, "shares", LIB, g) for w in ("10s", "1min") for s in ("buy", "sell")]
    out += [FeatureSpec(f"trade_imb_{w}", "(V^B - V^S) / (V^B + V^S) over (T-W, T]", w, "ratio in [-1, 1]",
                        "Chordia & Subrahmanyam (2004), J. Financial Economics 72(3)", g) for w in ("10s", "1min", "5min")]
    out += [
        FeatureSpec("trade_count_1min", "number of trades in (T-1min, T]; a trade = a maximal run of consecutive "
                    "fills with the same timestamp and aggressor", "1min", "trades", LIB, g),
        FeatureSpec("large_trade_10s", "1{some trade in (T-10s, T] has size >= large_trade_size}", "10s",
                    "indicator {0, 1}", LIB, g),
        FeatureSpec("large_trade_count_5min", "number of trades of size >= large_trade_size in (T-5min, T]", "5min",
                    "trades", LIB, g),
        FeatureSpec("vwap_dist_1min", "(M - VWAP) / tick, VWAP = sum p q / sum q over fills in (T-1min, T]", "1min",
                    "ticks", LIB, g),
        FeatureSpec("vwap_dist_5min", "(M - VWAP) / tick, VWAP over fills in (T-5min, T]", "5min", "ticks", LIB, g),
    ]
    return out


def _queue() -> list[FeatureSpec]:
    g = "queue"
    best = "at the best quote of its side as it stood before the event"
    ref = "Cont, Stoikov & Talreja (2010), Operations Research 58(3): order-flow rates at the best quotes"
    return [
        FeatureSpec("add_rate_best_10s", f"number of limit-order adds {best} (or improving it) in (T-10s, T] / 10",
                    "10s", "events per second", ref, g),
        FeatureSpec("cancel_rate_best_10s", f"number of cancels and deletes {best} in (T-10s, T] / 10", "10s",
                    "events per second", ref, g),
        FeatureSpec("exec_rate_best_10s", f"number of visible executions {best} in (T-10s, T] / 10", "10s",
                    "events per second", ref, g),
        FeatureSpec("cancel_ratio_best_1min", "N_cancel / N_add at the best over (T-1min, T]", "1min", "ratio", ref, g),
    ]


def _volatility() -> list[FeatureSpec]:
    g = "volatility"
    out = [FeatureSpec(f"rv_{w}", "1e4 sqrt(sum_k r_k^2), r_k = ln(M_k / M_{k-1}) between closes of the bins "
                       f"(default 1 s) in (T-{w}, T]", w, "bps", ABDL, g) for w in ("1min", "5min")]
    out += [FeatureSpec(f"parkinson_{w}", f"1e4 ln(H / L) / sqrt(4 ln 2), H, L = max, min of the mid over [T-{w}, T]",
                        w, "bps", PARK, g) for w in ("1min", "5min")]
    out += [FeatureSpec(f"mom_{w}", f"1e4 ln(M_T / M_(T-{w}))", w, "bps",
                        "Jegadeesh & Titman (1993) for the momentum construction; " + LIB, g)
            for w in ("10s", "1min", "5min")]
    return out


def _vpin() -> list[FeatureSpec]:
    g = "vpin"
    return [
        FeatureSpec("vpin", "mean of |V^S_tau - V^B_tau| / V over the last n = 50 complete volume buckets "
                    "(bucket volume V, exact aggressor signs)", "50 buckets", "fraction in [0, 1]", EHO, g),
        FeatureSpec("vpin_oi_last", "|V^S - V^B| / V of the last complete bucket (exact signs)", "1 bucket",
                    "fraction in [0, 1]", EHO, g),
        FeatureSpec("vpin_bvc", "mean of |2 Z(dP_tau / sigma) - 1| over the last 50 buckets, dP = change of the last "
                    "trade price over the bucket, sigma = expanding std of dP over completed buckets", "50 buckets",
                    "fraction in [0, 1]", EHO + "; expanding sigma: " + LIB, g),
    ]


def _time() -> list[FeatureSpec]:
    g = "time"
    return [
        FeatureSpec("tod_frac", "(T - open) / (close - open)", "instant", "fraction of session", LIB, g),
        FeatureSpec("tod_sin", "sin(2 pi tod_frac)", "instant", "unitless", LIB, g),
        FeatureSpec("tod_cos", "cos(2 pi tod_frac)", "instant", "unitless", LIB, g),
    ]


GROUPS: tuple[str, ...] = ("ofi", "imbalance", "book", "trades", "queue", "volatility", "vpin", "time")

SPECS: tuple[FeatureSpec, ...] = tuple(_ofi() + _imbalance() + _book() + _trades() + _queue() + _volatility()
                                       + _vpin() + _time())
