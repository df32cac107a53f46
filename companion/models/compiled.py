"""A fitted LightGBM model compiled to flat arrays and evaluated by numba kernels.

Why: ``Booster.predict`` on one row costs tens of microseconds of Python / C-API plumbing
(argument checks, a ``Predictor`` set-up, output conversion); a live executor that scores every
book event needs the same numbers in well under a microsecond, callable from inside its own
``@njit`` loop. :class:`CompiledModel` reads the model's trees (LightGBM's text format, exactly
what :func:`companion.models.io.save_model` writes, or ``Booster.dump_model()`` JSON) into flat
arrays, and :func:`predict_raw_nb` / :func:`predict_row_nb` walk them (the reference walk);
:func:`predict_row_flat_into_nb` walks a flat copy (:meth:`CompiledModel.flat`) eight trees at a
time with no branches on the data, to the same floats, ~2-3x faster (the live executor's walk).

Semantics reproduced from LightGBM 4 (``include/LightGBM/tree.h``, ``Tree::NumericalDecision``;
``src/c_api.cpp``, dense-row conversion), so the compiled raw score equals
``Booster.predict(X, raw_score=True)``:

1. input conversion: a value with ``|x| <= kZeroThreshold`` (``1e-35f`` = 1.0000000180025095e-35)
   is read as exactly ``0.0`` (LightGBM passes dense rows as sparse (index, value) pairs and drops
   such values); NaN is kept;
2. at split node ``j`` with ``missing_type`` m (bits 2-3 of LightGBM's ``decision_type``: 0 None,
   1 Zero, 2 NaN) and ``default_left`` d (bit 1):
   - NaN and ``m != NaN``: x := 0.0;
   - ``m == Zero`` and x == 0, or ``m == NaN`` and x is NaN: go left iff d (the learned default);
   - otherwise go left iff ``x <= threshold_j`` (so x == threshold goes left);
3. raw score of class k: the sum, in tree order, of the leaves reached in trees ``t`` with
   ``t % num_tree_per_iteration == k`` (LightGBM ``GBDT::PredictRaw``). There is no separate
   base score: ``boost_from_average`` is folded into the first trees' leaf values, and a
   Dataset ``init_score`` is never part of the model;
4. output (``GBDT::Predict``): random forests (``average_output``) first divide the raw sum by
   the number of iterations (``raw_score=True`` returns the undivided sum, and so does
   :func:`predict_raw_nb`), then ``ObjectiveFunction::ConvertOutput``: binary / cross-entropy
   ``1 / (1 + exp(-sigmoid * raw))``; multiclass softmax over the ``num_class`` raw scores;
   multiclassova a per-class sigmoid; poisson / gamma / tweedie ``exp(raw)``; ``regression``
   with ``reg_sqrt`` ``sign(raw) * raw**2``; every other regression / ranking objective the
   identity.

Categorical splits and linear trees are rejected (ValueError): the course's features are numeric.

Reference: Ke et al. 2017, "LightGBM: A highly efficient gradient boosting decision tree",
NeurIPS; the LightGBM documentation, "Missing Value Handle" (``use_missing``,
``zero_as_missing``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from companion.models.sidecar import model_stem, read_metadata

#: LightGBM's ``kZeroThreshold`` (``1e-35f``, a float literal widened to double).
K_ZERO_THRESHOLD = float(np.float32(1e-35))

MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2
_MISSING_CODE = {"None": MISSING_NONE, "Zero": MISSING_ZERO, "NaN": MISSING_NAN}
_DEFAULT_LEFT_MASK = 2
_CATEGORICAL_MASK = 1

# output conversions (the ``out_kind`` of :func:`convert_output_nb`)
OUT_IDENTITY, OUT_SIGMOID, OUT_SOFTMAX, OUT_EXP, OUT_OVA_SIGMOID, OUT_SQUARE = 0, 1, 2, 3, 4, 5
_L2_OBJECTIVES = {"regression", "regression_l2", "l2", "mean_squared_error", "mse"}
_IDENTITY_OBJECTIVES = _L2_OBJECTIVES | {"regression_l1", "l1", "huber", "fair", "quantile", "mape",
                                         "lambdarank", "rank_xendcg", "custom", "none"}
_EXP_OBJECTIVES = {"poisson", "gamma", "tweedie"}


# ------------------------------------------------------------------ kernels
@njit(cache=True, inline="always")
def _leaf_nb(x, node, feature, threshold, decision_type, left, right, kzero):
    """Index of the leaf reached from ``node`` (``>= 0`` a split node, ``< 0`` the leaf ``~node``)."""
    while node >= 0:
        v = x[feature[node]]
        if abs(v) <= kzero:  # dense rows reach LightGBM as sparse pairs: tiny values are 0
            v = 0.0
        dt = decision_type[node]
        missing = (dt >> 2) & 3
        if v != v:  # NaN
            if missing == 2:
                node = left[node] if (dt & 2) != 0 else right[node]
                continue
            v = 0.0
        if missing == 1 and v == 0.0:
            node = left[node] if (dt & 2) != 0 else right[node]
        elif v <= threshold[node]:
            node = left[node]
        else:
            node = right[node]
    return ~node


@njit(cache=True)
def predict_row_into_nb(x, out, roots, feature, threshold, decision_type, left, right,
                        leaf_value):
    """Raw scores of one row ``x`` (``(n_features,)`` float64) written into ``out``
    (``(num_class,)`` float64, overwritten): ``out[k] = sum_t leaf_value[leaf_t(x)]`` over trees
    ``t % num_class == k`` in tree order. Allocates nothing; callable from other kernels."""
    k = out.shape[0]
    for c in range(k):
        out[c] = 0.0
    n_trees = roots.shape[0]
    for t in range(n_trees):
        out[t % k] += leaf_value[_leaf_nb(x, roots[t], feature, threshold, decision_type,
                                          left, right, 1.0000000180025095e-35)]
    return out


@njit(cache=True)
def predict_row_nb(x, roots, feature, threshold, decision_type, left, right, leaf_value,
                   num_class):
    """Raw scores ``(num_class,)`` of one row ``x`` (``(n_features,)`` float64); see
    :func:`predict_row_into_nb`."""
    out = np.empty(num_class, dtype=np.float64)
    return predict_row_into_nb(x, out, roots, feature, threshold, decision_type, left, right,
                               leaf_value)


@njit(cache=True)
def predict_raw_nb(X, roots, feature, threshold, decision_type, left, right, leaf_value,
                   num_class):
    """Raw scores ``(n, num_class)`` of the rows of ``X`` (``(n, n_features)`` float64), equal to
    LightGBM's ``predict(X, raw_score=True)``; see the module docstring for the rules."""
    n = X.shape[0]
    out = np.empty((n, num_class), dtype=np.float64)
    for i in range(n):
        predict_row_into_nb(X[i], out[i], roots, feature, threshold, decision_type, left, right,
                            leaf_value)
    return out


@njit(cache=True)
def convert_output_nb(raw, out_kind, sigmoid, n_average):
    """LightGBM's output of raw scores ``(n, num_class)``, as a new array: ``r / n_average``
    (random forest: the number of iterations; else 1), then ``ConvertOutput``: identity;
    sigmoid ``1/(1+exp(-sigmoid*r))``; softmax ``exp(r_k - max r) / sum``; ``exp(r)``; per-class
    sigmoid (one-vs-all); ``sign(r) r^2`` (``reg_sqrt``)."""
    n, k = raw.shape
    out = np.empty_like(raw)
    if n_average != 1:
        raw = raw / n_average
    for i in range(n):
        if out_kind == 2:
            m = raw[i, 0]
            for c in range(1, k):
                m = max(m, raw[i, c])
            s = 0.0
            for c in range(k):
                out[i, c] = math.exp(raw[i, c] - m)
                s += out[i, c]
            for c in range(k):
                out[i, c] /= s
            continue
        for c in range(k):
            r = raw[i, c]
            if out_kind == 1 or out_kind == 4:
                out[i, c] = 1.0 / (1.0 + math.exp(-sigmoid * r))
            elif out_kind == 3:
                out[i, c] = math.exp(r)
            elif out_kind == 5:
                out[i, c] = (1.0 if r > 0 else (-1.0 if r < 0 else 0.0)) * r * r
            else:
                out[i, c] = r
    return out


# ------------------------------------------------------------------ the flat (branch-free) layout
#: trees walked side by side by :func:`predict_row_flat_into_nb`
FLAT_GROUP = 8


@njit(cache=True, inline="always")
def _flat_step_nb(x, n, feature, threshold, children, dirs):
    """One step of a flat walk: the child of node ``n`` for row ``x`` (rules 1-2 of the module
    docstring, as data: ``dirs`` bit 0 = the direction of x == 0, bit 1 = of NaN)."""
    v = x[feature[n]]
    dd = dirs[n]
    z = np.int64(abs(v) <= 1.0000000180025095e-35)  # read as 0 (NaN: False)
    q = np.int64(v != v)                            # NaN
    g = np.int64(v > threshold[n])                  # the plain split (False for NaN)
    d = (1 - z - q) * g + z * (dd & 1) + q * ((dd >> 1) & 1)  # arithmetic, not branches: no mispredictions
    return children[2 * n + d]


@njit(cache=True, inline="always")
def _plain_step_nb(x, n, feature, threshold, children):
    """One step when no missing-value rule applies: right iff ``x > threshold``."""
    return children[2 * n + np.int64(x[feature[n]] > threshold[n])]


@njit(cache=True)
def predict_row_flat_into_nb(x, out, roots, feature, threshold, children, dirs, leaf_value, group_depth,
                             n_internal, plain):
    """:func:`predict_row_into_nb` on the flat layout of :meth:`CompiledModel.flat` (same leaves,
    same additions in tree order, so the same floats), walking ``FLAT_GROUP`` trees side by side.

    Layout: nodes ``0..n_internal-1`` are the splits, ``n_internal + j`` is leaf ``j`` and loops to
    itself, so a group of trees takes ``group_depth[g]`` steps (its deepest leaf) with no test for
    the end of a walk; ``children[2n + d]`` is the child in direction ``d`` (0 left, 1 right). The
    walks of a group are independent chains of loads, which the CPU overlaps (~2-3x faster than
    one walk at a time on a 200-tree model). When the model has no Zero / NaN missing-value rule
    (``plain``), or the row holds no 0 / NaN, the row is first read as LightGBM does (rule 1 and
    NaN := 0) and each step is one comparison; otherwise every step applies rule 2 (``dirs``: bit 0
    the direction of x == 0, bit 1 of NaN) with arithmetic instead of branches.
    """
    k = out.shape[0]
    for c in range(k):
        out[c] = 0.0
    m = x.shape[0]
    xr = np.empty(m)
    special = False
    for f in range(m):
        v = x[f]
        if v != v or abs(v) <= 1.0000000180025095e-35:
            v = 0.0
            special = True
        xr[f] = v
    general = special and not plain
    T = roots.shape[0]
    N = n_internal
    t = 0
    g = 0
    while t + 8 <= T:
        n0, n1, n2, n3 = roots[t], roots[t + 1], roots[t + 2], roots[t + 3]
        n4, n5, n6, n7 = roots[t + 4], roots[t + 5], roots[t + 6], roots[t + 7]
        if general:
            for _ in range(group_depth[g]):
                n0 = _flat_step_nb(x, n0, feature, threshold, children, dirs)
                n1 = _flat_step_nb(x, n1, feature, threshold, children, dirs)
                n2 = _flat_step_nb(x, n2, feature, threshold, children, dirs)
                n3 = _flat_step_nb(x, n3, feature, threshold, children, dirs)
                n4 = _flat_step_nb(x, n4, feature, threshold, children, dirs)
                n5 = _flat_step_nb(x, n5, feature, threshold, children, dirs)
                n6 = _flat_step_nb(x, n6, feature, threshold, children, dirs)
                n7 = _flat_step_nb(x, n7, feature, threshold, children, dirs)
        else:
            for _ in range(group_depth[g]):
                n0 = _plain_step_nb(xr, n0, feature, threshold, children)
                n1 = _plain_step_nb(xr, n1, feature, threshold, children)
                n2 = _plain_step_nb(xr, n2, feature, threshold, children)
                n3 = _plain_step_nb(xr, n3, feature, threshold, children)
                n4 = _plain_step_nb(xr, n4, feature, threshold, children)
                n5 = _plain_step_nb(xr, n5, feature, threshold, children)
                n6 = _plain_step_nb(xr, n6, feature, threshold, children)
                n7 = _plain_step_nb(xr, n7, feature, threshold, children)
        out[t % k] += leaf_value[n0 - N]
        out[(t + 1) % k] += leaf_value[n1 - N]
        out[(t + 2) % k] += leaf_value[n2 - N]
        out[(t + 3) % k] += leaf_value[n3 - N]
        out[(t + 4) % k] += leaf_value[n4 - N]
        out[(t + 5) % k] += leaf_value[n5 - N]
        out[(t + 6) % k] += leaf_value[n6 - N]
        out[(t + 7) % k] += leaf_value[n7 - N]
        t += 8
        g += 1
    while t < T:
        n0 = roots[t]
        while n0 < N:
            n0 = _flat_step_nb(x, n0, feature, threshold, children, dirs)
        out[t % k] += leaf_value[n0 - N]
        t += 1
    return out


@njit(cache=True)
def predict_raw_flat_nb(X, roots, feature, threshold, children, dirs, leaf_value, group_depth, n_internal,
                        plain, num_class):
    """:func:`predict_raw_nb` on the flat layout (:func:`predict_row_flat_into_nb` per row)."""
    n = X.shape[0]
    out = np.empty((n, num_class), dtype=np.float64)
    for i in range(n):
        predict_row_flat_into_nb(X[i], out[i], roots, feature, threshold, children, dirs, leaf_value,
                                 group_depth, n_internal, plain)
    return out


def flat_layout(roots, feature, threshold, decision_type, left, right, leaf_value) -> tuple:
    """The flat layout of a model's arrays (see :func:`predict_row_flat_into_nb`).

    Nodes ``0..N-1`` are the splits and ``N + j`` is leaf ``j`` (a leaf's two children are
    itself); ``children[2n + d]`` is node ``n``'s child in direction ``d`` (0 left, 1 right).

    Parameters
    ----------
    roots, feature, threshold, decision_type, left, right, leaf_value : numpy.ndarray
        The arrays of :class:`CompiledModel` (children ``>= 0`` are nodes, ``~leaf`` are leaves).

    Returns
    -------
    tuple
        ``(roots, feature, threshold, children, dirs, leaf_value, group_depth, n_internal,
        plain)``: ``dirs`` bit 0 the direction of x == 0, bit 1 of NaN; ``group_depth[g]`` the
        deepest leaf of trees ``8g .. 8g+7`` (whole groups only); ``plain``: no split has a Zero /
        NaN missing-value rule (NaN and 0 then simply compare as 0).

    Examples
    --------
    One stump, ``x <= 9.5`` -> leaf 0 (value 0), else leaf 1 (value 1):

    >>> lay = flat_layout(np.array([0]), np.array([0]), np.array([9.5]), np.array([0]),
    ...                   np.array([~0]), np.array([~1]), np.array([0.0, 1.0]))
    >>> roots, feature, threshold, children, dirs, leaves, group_depth, n_internal, plain = lay
    >>> children.tolist(), n_internal, plain, group_depth.size
    ([1, 2, 1, 1, 2, 2], 1, True, 0)
    """
    N, L = int(feature.shape[0]), int(leaf_value.shape[0])

    def node(c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype=np.int64)
        return np.where(c >= 0, c, N + ~c)

    children = np.empty(2 * (N + L), dtype=np.int32)
    children[0:2 * N:2], children[1:2 * N:2] = node(left), node(right)
    children[2 * N::2] = children[2 * N + 1::2] = np.arange(N, N + L, dtype=np.int32)
    f2 = np.zeros(N + L, dtype=np.int32)
    f2[:N] = feature
    t2 = np.zeros(N + L)
    t2[:N] = threshold
    dt = np.asarray(decision_type, dtype=np.int64)
    missing = (dt >> 2) & 3
    dflt = np.where((dt & _DEFAULT_LEFT_MASK) != 0, 0, 1)  # the learned default direction
    zero_dir = np.where(missing == MISSING_ZERO, dflt, (0.0 > np.asarray(threshold)).astype(np.int64))
    nan_dir = np.where(missing == MISSING_NAN, dflt, zero_dir)  # NaN reads as 0 unless NaN is "missing"
    dirs = np.zeros(N + L, dtype=np.int8)
    dirs[:N] = zero_dir | (nan_dir << 1)
    r2 = node(roots).astype(np.int32)
    depth = np.zeros(N + L, dtype=np.int64)  # steps from each node to its deepest leaf (leaves 0)
    ch = children[: 2 * N].reshape(N, 2)
    for _ in range(N + 1):  # relax to the fixed point (tree height + 1 sweeps)
        new = 1 + np.maximum(depth[ch[:, 0]], depth[ch[:, 1]])
        if N == 0 or np.array_equal(new, depth[:N]):
            break
        depth[:N] = new
    T = r2.shape[0]
    gd = np.array([depth[r2[g:g + FLAT_GROUP]].max() for g in range(0, T - T % FLAT_GROUP, FLAT_GROUP)],
                  dtype=np.int64)
    plain = bool(np.all(missing == MISSING_NONE))
    return (r2, f2, t2, children, dirs, np.asarray(leaf_value, dtype=np.float64), gd, N, plain)


# ------------------------------------------------------------------ parsing
@dataclass
class _Tree:
    feature: list[int]
    threshold: list[float]
    decision_type: list[int]
    left: list[int]
    right: list[int]
    leaf_value: list[float]


def _output_kind(objective: str) -> tuple[int, float]:
    """(out_kind, sigmoid) of a LightGBM objective string such as ``'binary sigmoid:1'``."""
    parts = objective.split()
    name = parts[0] if parts else "none"
    opts = dict(p.split(":", 1) for p in parts[1:] if ":" in p)
    flags = {p for p in parts[1:] if ":" not in p}
    sigmoid = float(opts.get("sigmoid", 1.0))
    if name == "binary":
        return OUT_SIGMOID, sigmoid
    if name in ("cross_entropy", "xentropy"):
        return OUT_SIGMOID, 1.0
    if name in ("multiclass", "softmax"):
        return OUT_SOFTMAX, 1.0
    if name in ("multiclassova", "multiclass_ova", "ova", "ovr"):
        return OUT_OVA_SIGMOID, sigmoid
    if name in _EXP_OBJECTIVES:
        return OUT_EXP, 1.0
    if name in _L2_OBJECTIVES and "sqrt" in flags:
        return OUT_SQUARE, 1.0
    if name in _IDENTITY_OBJECTIVES:
        return OUT_IDENTITY, 1.0
    raise ValueError(f"objective {objective!r}: output conversion not supported by the compiled model")


def _check_tree(i: int, num_cat: int, is_linear: bool, decision_type: list[int]) -> None:
    if is_linear:
        raise ValueError(f"tree {i} is a linear tree (linear_tree=True): not supported by the compiled model")
    if num_cat or any(d & _CATEGORICAL_MASK for d in decision_type):
        raise ValueError(f"tree {i} has categorical splits: not supported by the compiled model "
                         "(encode categories as numeric features)")


def _parse_text(text: str) -> tuple[dict, list[_Tree]]:
    """Header fields and trees of a LightGBM text model (``Booster.model_to_string()``)."""
    header: dict = {}
    trees: list[_Tree] = []
    blocks = text.split("\nTree=")
    if not blocks[0].lstrip().startswith("tree"):
        raise ValueError("not a LightGBM text model (no 'tree' header)")
    for line in blocks[0].splitlines():
        key, sep, val = line.partition("=")
        header[key.strip()] = val.strip() if sep else True
    for k, block in enumerate(blocks[1:]):
        try:
            trees.append(_parse_tree_block(block))
        except (KeyError, ValueError, IndexError) as exc:
            msg = f"missing field {exc.args[0]}" if isinstance(exc, KeyError) else str(exc)
            raise ValueError(f"tree block {k}: {msg}") from None
    return header, trees


def _parse_tree_block(block: str) -> _Tree:
    """One ``Tree=`` block; checks its own array lengths and child ranges (tree-local)."""
    block = block.split("end of trees", 1)[0]
    lines = block.splitlines()
    index = int(lines[0])
    kv = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
    num_leaves = int(kv["num_leaves"])
    if num_leaves < 1:
        raise ValueError(f"tree {index}: num_leaves={num_leaves}")
    leaf_value = [float(v) for v in kv["leaf_value"].split()]
    if len(leaf_value) != num_leaves:
        raise ValueError(f"tree {index}: {len(leaf_value)} leaf values for num_leaves={num_leaves}")
    if num_leaves == 1:
        return _Tree([], [], [], [], [], leaf_value)
    dt = [int(v) for v in kv["decision_type"].split()]
    _check_tree(index, int(kv.get("num_cat", 0)), kv.get("is_linear", "0").strip() == "1", dt)
    t = _Tree(
        feature=[int(v) for v in kv["split_feature"].split()],
        threshold=[float(v) for v in kv["threshold"].split()],
        decision_type=dt,
        left=[int(v) for v in kv["left_child"].split()],
        right=[int(v) for v in kv["right_child"].split()],
        leaf_value=leaf_value,
    )
    n = num_leaves - 1
    for name in ("feature", "threshold", "decision_type", "left", "right"):
        if len(getattr(t, name)) != n:
            raise ValueError(f"tree {index}: {name} has {len(getattr(t, name))} entries, "
                             f"num_leaves={num_leaves} needs {n}")
    for name in ("left", "right"):
        for j, c in enumerate(getattr(t, name)):
            if not (j < c < n or -num_leaves <= c < 0):
                raise ValueError(f"tree {index}: split {j} has {name} child {c} out of range "
                                 f"(a later split < {n} or a leaf -1..-{num_leaves})")
    return t


def _parse_dump(dump: dict) -> tuple[dict, list[_Tree]]:
    """Header fields and trees of ``Booster.dump_model()``; nodes and leaves keep LightGBM's
    ``split_index`` / ``leaf_index`` numbering, so the arrays equal the text format's."""
    header = {
        "num_class": dump["num_class"],
        "num_tree_per_iteration": dump["num_tree_per_iteration"],
        "max_feature_idx": dump["max_feature_idx"],
        "objective": dump.get("objective", "none"),
        "feature_names": " ".join(dump.get("feature_names", [])),
    }
    if dump.get("average_output"):
        header["average_output"] = True
    trees = []
    for info in dump["tree_info"]:
        n_leaves = int(info["num_leaves"])
        n_nodes = n_leaves - 1
        t = _Tree([0] * n_nodes, [0.0] * n_nodes, [0] * n_nodes, [0] * n_nodes, [0] * n_nodes,
                  [0.0] * n_leaves)
        root = info["tree_structure"]
        if "split_index" not in root:
            t.leaf_value[0] = float(root["leaf_value"])
            trees.append(t)
            continue
        if info.get("num_cat", 0):
            _check_tree(info["tree_index"], info["num_cat"], False, [])

        def code(child: dict) -> int:
            return child["split_index"] if "split_index" in child else ~int(child["leaf_index"])

        stack = [root]
        while stack:
            nd = stack.pop()
            if "split_index" not in nd:
                t.leaf_value[nd["leaf_index"]] = float(nd["leaf_value"])
                continue
            j = nd["split_index"]
            if nd["decision_type"] != "<=":
                _check_tree(info["tree_index"], 1, False, [])
            t.feature[j] = int(nd["split_feature"])
            t.threshold[j] = float(nd["threshold"])
            t.decision_type[j] = (_DEFAULT_LEFT_MASK if nd["default_left"] else 0) | (
                _MISSING_CODE[nd["missing_type"]] << 2)
            t.left[j], t.right[j] = code(nd["left_child"]), code(nd["right_child"])
            stack += [nd["left_child"], nd["right_child"]]
        trees.append(t)
    return header, trees


# ------------------------------------------------------------------ the model
@dataclass(eq=False)
class CompiledModel:
    """A LightGBM model as flat arrays (all trees concatenated).

    Per split node ``j``: ``feature[j]`` (int32, column of X), ``threshold[j]`` (float64, go left
    iff ``x <= threshold``), ``decision_type[j]`` (int8, LightGBM's bits: 2 = default_left,
    bits 2-3 = missing type 0 None / 1 Zero / 2 NaN), ``left[j]`` / ``right[j]`` (int32: a node
    index ``>= 0``, or ``~leaf`` ``< 0`` for leaf ``leaf``); ``leaf_value[l]`` (float64);
    ``roots[t]`` (int32): tree ``t``'s root node, or ``~leaf`` for a one-leaf tree. Tree ``t``
    adds to class ``t % num_class``.

    Attributes
    ----------
    roots : numpy.ndarray
        int32, one per tree: its root node index, or ``~leaf`` for a one-leaf tree.
    feature : numpy.ndarray
        int32, per split node: the column of ``X`` it tests.
    threshold : numpy.ndarray
        float64, per split node: go left iff ``x <= threshold``.
    decision_type : numpy.ndarray
        int8, per split node: LightGBM's bits (2 = default left; bits 2-3 = missing type).
    left, right : numpy.ndarray
        int32, per split node: the child node index ``>= 0``, or ``~leaf < 0``.
    leaf_value : numpy.ndarray
        float64, per leaf: its output (raw score).
    num_class : int
        Number of model outputs (1 for binary and regression); tree ``t`` adds to output
        ``t % num_class``.
    n_features : int
        Number of columns the model expects.
    objective : str
        LightGBM's objective string (e.g. ``"binary sigmoid:1"``); sets the output conversion.
    average_output : bool
        True for a random forest: the raw sum is divided by the number of iterations.
    feature_names : list of str or None
        Column names of the training data, when known.
    classes : numpy.ndarray or None
        Class labels of a classifier, in output order (default ``0..num_class-1``).
    is_classifier : bool or None
        Whether outputs are probabilities (derived from the objective when None).
    out_kind : int
        Output conversion code derived from ``objective`` (identity, sigmoid, softmax, ...).
    sigmoid : float
        The sigmoid slope of a binary / one-vs-all objective (1.0 otherwise).
    """

    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    decision_type: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf_value: np.ndarray
    num_class: int
    n_features: int
    objective: str
    average_output: bool = False
    feature_names: list[str] | None = None
    classes: np.ndarray | None = None
    is_classifier: bool | None = None
    out_kind: int = field(init=False)
    sigmoid: float = field(init=False)
    _flat: tuple | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.out_kind, self.sigmoid = _output_kind(self.objective)
        self.validate()
        if self.is_classifier is None:
            self.is_classifier = self.out_kind in (OUT_SIGMOID, OUT_SOFTMAX, OUT_OVA_SIGMOID)
        if self.is_classifier and self.classes is None:
            self.classes = np.arange(max(self.num_class, 2))

    def validate(self) -> None:
        """Check every array before a kernel walks it (raises ValueError naming the first problem).

        Lengths: ``feature``, ``threshold``, ``decision_type``, ``left`` and ``right`` all have
        one entry per split node (N); ``roots`` one per tree, a multiple of ``num_class``;
        feature indices in ``[0, n_features)``; a child of node ``j`` is a split node ``> j`` (so
        every walk moves forward: no cycle, no hang) or a leaf ``~l`` with ``0 <= l < L``;
        a root is a split node or a leaf in range; thresholds are not NaN. A tampered model file
        thus fails here instead of reading out of bounds, looping or segfaulting in a kernel.
        """
        arrs = {"roots": self.roots, "feature": self.feature, "threshold": self.threshold,
                "decision_type": self.decision_type, "left": self.left, "right": self.right,
                "leaf_value": self.leaf_value}
        for name, a in arrs.items():
            if not isinstance(a, np.ndarray) or a.ndim != 1:
                raise ValueError(f"model: {name} must be a 1-d array")
        if not isinstance(self.num_class, (int, np.integer)) or self.num_class < 1:
            raise ValueError(f"model: num_class must be an integer >= 1, got {self.num_class!r}")
        if not isinstance(self.n_features, (int, np.integer)) or self.n_features < 0:
            raise ValueError(f"model: n_features must be an integer >= 0, got {self.n_features!r}")
        if self.feature_names is not None and len(self.feature_names) != self.n_features:
            raise ValueError(f"model: {len(self.feature_names)} feature names for "
                             f"{self.n_features} features (max_feature_idx + 1)")
        N, L, T = self.feature.shape[0], self.leaf_value.shape[0], self.roots.shape[0]
        for name in ("threshold", "decision_type", "left", "right"):
            if arrs[name].shape[0] != N:
                raise ValueError(f"model: {name} has {arrs[name].shape[0]} entries, "
                                 f"split_feature has {N} (one per split node)")
        if T % self.num_class:
            raise ValueError(f"model: {T} trees is not a multiple of num_class={self.num_class}")
        feat = self.feature.astype(np.int64)
        if N and (feat.min() < 0 or feat.max() >= self.n_features):
            j = int(np.flatnonzero((feat < 0) | (feat >= self.n_features))[0])
            raise ValueError(f"model: split node {j} uses feature {int(feat[j])}, "
                             f"the model has {self.n_features} features")
        if np.isnan(self.threshold).any():
            raise ValueError(f"model: split node {int(np.flatnonzero(np.isnan(self.threshold))[0])} "
                             "has a NaN threshold")
        idx = np.arange(N, dtype=np.int64)
        for name in ("left", "right"):
            c = arrs[name].astype(np.int64)
            bad = ((c >= 0) & ((c <= idx) | (c >= N))) | ((c < 0) & (~c >= L))
            if bad.any():
                j = int(np.flatnonzero(bad)[0])
                what = (f"leaf {~int(c[j])} (the model has {L} leaves)" if c[j] < 0 else
                        f"node {int(c[j])} (a child must be a later split node < {N})")
                raise ValueError(f"model: split node {j} has {name} child {what}")
        r = self.roots.astype(np.int64)
        bad = ((r >= 0) & (r >= N)) | ((r < 0) & (~r >= L))
        if bad.any():
            t = int(np.flatnonzero(bad)[0])
            raise ValueError(f"model: tree {t} has root {int(r[t])} out of range "
                             f"({N} split nodes, {L} leaves)")

    # ---- construction
    @classmethod
    def _from_parsed(cls, header: dict, trees: list[_Tree], **kw) -> CompiledModel:
        k = int(header.get("num_tree_per_iteration", header.get("num_class", 1)))
        if len(trees) % k:
            raise ValueError(f"{len(trees)} trees is not a multiple of num_tree_per_iteration={k}")
        roots, feature, threshold, dtype, left, right, leaves = [], [], [], [], [], [], []
        for t in trees:
            n0, l0 = len(feature), len(leaves)

            def shift(c: int, n0: int = n0, l0: int = l0) -> int:
                return c + n0 if c >= 0 else ~(~c + l0)

            roots.append(n0 if t.feature else ~l0)
            feature += t.feature
            threshold += t.threshold
            dtype += t.decision_type
            left += [shift(c) for c in t.left]
            right += [shift(c) for c in t.right]
            leaves += t.leaf_value
        names = header.get("feature_names")
        return cls(
            roots=np.array(roots, dtype=np.int32),
            feature=np.array(feature, dtype=np.int32),
            threshold=np.array(threshold, dtype=np.float64),
            decision_type=np.array(dtype, dtype=np.int8),
            left=np.array(left, dtype=np.int32),
            right=np.array(right, dtype=np.int32),
            leaf_value=np.array(leaves, dtype=np.float64),
            num_class=k,
            n_features=int(header.get("max_feature_idx", -1)) + 1,
            objective=str(header.get("objective", "none")),
            average_output=bool(header.get("average_output", False)),
            feature_names=names.split() if isinstance(names, str) and names else None,
            **kw,
        )

    @classmethod
    def from_string(cls, text: str, **kw) -> CompiledModel:
        """Compile a LightGBM text model (``Booster.model_to_string()`` / a saved ``.txt``)."""
        return cls._from_parsed(*_parse_text(text), **kw)

    @classmethod
    def from_dump(cls, dump: dict, **kw) -> CompiledModel:
        """Compile ``Booster.dump_model()`` (JSON as a dict)."""
        return cls._from_parsed(*_parse_dump(dump), **kw)

    @classmethod
    def from_booster(cls, booster, num_iteration: int | None = None, **kw) -> CompiledModel:
        """Compile a ``lightgbm.Booster``; ``num_iteration`` as in ``Booster.predict`` (None:
        the best iteration if early stopping recorded one, else all)."""
        return cls.from_string(booster.model_to_string(num_iteration=num_iteration), **kw)

    @classmethod
    def from_model(cls, model) -> CompiledModel:
        """Compile a fitted :class:`~companion.models.train.DirectionClassifier` or
        :class:`~companion.models.train.MoveRegressor` (keeps its classes and feature names)."""
        if not hasattr(model, "booster_"):
            raise TypeError("from_model takes a fitted DirectionClassifier or MoveRegressor")
        classes = getattr(model, "classes_", None)
        cm = cls.from_booster(model.booster_, classes=None if classes is None else np.asarray(classes),
                              is_classifier=classes is not None)
        cm.feature_names = [str(f) for f in model.feature_names_in_]
        return cm

    @classmethod
    def from_file(cls, path: str | Path) -> CompiledModel:
        """Compile a saved model without LightGBM: ``save_model``'s ``<stem>`` / ``.json`` /
        ``.txt`` (the metadata's sha256 is checked, classes and feature names kept), or any
        LightGBM text model file."""
        p = Path(path)
        stem = model_stem(p)
        meta_path = stem.with_suffix(".json")
        if meta_path.is_file():  # a sidecar exists: it must be valid, so its hash check always runs
            meta, txt, raw = read_metadata(meta_path)
            classes = meta.get("classes")
            try:
                text = raw.decode()
                cm = cls.from_string(text, classes=None if classes is None else np.array(classes),
                                     is_classifier=meta["estimator"] == "DirectionClassifier")
            except (ValueError, UnicodeDecodeError) as exc:
                raise ValueError(f"{txt}: {exc}") from None
            if cm.n_features != len(meta["feature_names"]):
                raise ValueError(f"{meta_path}: {len(meta['feature_names'])} feature names for a model "
                                 f"of {cm.n_features} features")
            cm.feature_names = list(meta["feature_names"])
            return cm
        txt = p if p.is_file() and p.suffix != ".json" else stem.with_suffix(".txt")
        try:
            return cls.from_string(txt.read_bytes().decode())
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{txt}: {exc}") from None

    # ---- kernels' view
    @property
    def arrays(self) -> tuple:
        """``(roots, feature, threshold, decision_type, left, right, leaf_value)`` for the kernels."""
        return (self.roots, self.feature, self.threshold, self.decision_type, self.left,
                self.right, self.leaf_value)

    @property
    def flat(self) -> tuple:
        """The flat layout for :func:`predict_row_flat_into_nb` (built once, cached)."""
        if self._flat is None:
            self._flat = flat_layout(*self.arrays)
        return self._flat

    @property
    def n_trees(self) -> int:
        """Number of trees (all classes together)."""
        return int(self.roots.shape[0])

    @property
    def n_average(self) -> int:
        """Divisor of the raw sum before the output conversion (the number of iterations for a
        random forest, ``average_output``; else 1)."""
        return max(self.n_trees // self.num_class, 1) if self.average_output else 1

    def _matrix(self, X) -> np.ndarray:
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover
            pd = None
        if pd is not None and isinstance(X, pd.DataFrame):
            if self.feature_names is not None:
                cols = [str(c) for c in X.columns]
                missing = [c for c in self.feature_names if c not in cols]
                if missing:
                    raise ValueError(f"X lacks the features the model was fitted on: {missing}")
                X = X.set_axis(cols, axis=1)[self.feature_names]
            X = X.to_numpy(dtype=np.float64)
        arr = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise ValueError("X must be 2-d")
        if arr.shape[1] != self.n_features:
            raise ValueError(f"X has {arr.shape[1]} features, the model was fitted on {self.n_features}")
        return arr

    # ---- predictions
    def predict_raw(self, X) -> np.ndarray:
        """Raw scores: ``(n,)`` for one class, ``(n, num_class)`` otherwise (as
        ``Booster.predict(X, raw_score=True)``)."""
        raw = predict_raw_nb(self._matrix(X), *self.arrays, self.num_class)
        return raw[:, 0] if self.num_class == 1 else raw

    def predict_output(self, X) -> np.ndarray:
        """Converted output, as ``Booster.predict(X)``: ``(n,)`` or ``(n, num_class)``."""
        raw = predict_raw_nb(self._matrix(X), *self.arrays, self.num_class)
        out = convert_output_nb(raw, self.out_kind, self.sigmoid, self.n_average)
        return out[:, 0] if self.num_class == 1 else out

    def predict_proba(self, X) -> np.ndarray:
        """``(n, n_classes)`` class probabilities in ``classes`` order (classifiers only), as
        ``DirectionClassifier.predict_proba``."""
        if not self.is_classifier:
            raise AttributeError("predict_proba: not a classifier")
        p = self.predict_output(X)
        return np.column_stack([1.0 - p, p]) if p.ndim == 1 else p

    def predict(self, X) -> np.ndarray:
        """Classifier: ``classes[argmax proba]``; regressor: the converted output ``(n,)``."""
        if self.is_classifier:
            return self.classes[np.argmax(self.predict_proba(X), axis=1)]
        return self.predict_output(X)

    def predict_raw_row(self, x, out: np.ndarray | None = None) -> np.ndarray:
        """Raw scores ``(num_class,)`` of one row (float64, length ``n_features``, in the model's
        column order; no DataFrame handling, for latency)."""
        if out is None:
            out = np.empty(self.num_class, dtype=np.float64)
        return predict_row_flat_into_nb(x, out, *self.flat)

    def __repr__(self) -> str:
        return (f"CompiledModel(trees={self.n_trees}, nodes={self.feature.shape[0]}, "
                f"leaves={self.leaf_value.shape[0]}, num_class={self.num_class}, "
                f"n_features={self.n_features}, objective={self.objective!r}"
                f"{', average_output' if self.average_output else ''})")


def compile_model(model_or_booster) -> CompiledModel:
    """:class:`CompiledModel` of a fitted companion estimator or a ``lightgbm.Booster``.

    The compiled model reproduces LightGBM's prediction exactly (same leaves, same additions in
    tree order, same output conversion; see the module docstring and Ke et al. 2017).

    Parameters
    ----------
    model_or_booster : object or lightgbm.Booster
        An object with ``booster_`` (a fitted LightGBM sklearn-style estimator, e.g. from
        :mod:`companion.models.train`) or a ``lightgbm.Booster``.

    Returns
    -------
    CompiledModel

    Raises
    ------
    ValueError
        For categorical splits or linear trees.

    Examples
    --------
    A one-split regression tree on 20 rows:

    >>> import lightgbm as lgb
    >>> X = np.arange(20.0).reshape(-1, 1)
    >>> booster = lgb.train({"objective": "regression", "num_leaves": 2, "min_data_in_leaf": 1,
    ...                      "min_data_in_bin": 1, "learning_rate": 1.0, "verbose": -1},
    ...                     lgb.Dataset(X, (X[:, 0] > 9.5).astype(float)), num_boost_round=1)
    >>> cm = compile_model(booster)
    >>> cm
    CompiledModel(trees=1, nodes=1, leaves=2, num_class=1, n_features=1, objective='regression')
    >>> rows = np.array([[3.0], [15.0], [np.nan]])
    >>> bool((cm.predict(rows) == booster.predict(rows)).all())
    True
    """
    if hasattr(model_or_booster, "booster_"):
        return CompiledModel.from_model(model_or_booster)
    return CompiledModel.from_booster(model_or_booster)


__all__ = ["CompiledModel", "compile_model", "predict_raw_nb", "predict_row_nb",
           "predict_row_into_nb", "predict_row_flat_into_nb", "predict_raw_flat_nb", "flat_layout",
           "convert_output_nb", "K_ZERO_THRESHOLD"]
