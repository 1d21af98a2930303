"""Safe evaluation of probability statements (``"mu > 0"``, ``"beta[ablat] < 0"``) over posterior draws."""

from __future__ import annotations

import ast
import re

import numpy as np

from bayesma.errors import InputError

_SUBSCRIPT = re.compile(r"([A-Za-z_]\w*)\[([^\]]+)\]")
_FUNCS = {"abs": np.abs, "exp": np.exp, "log": np.log, "sqrt": np.sqrt}


def _eval_expr(expr: str, lookup) -> np.ndarray:
    """Evaluate a comparison such as ``"mu > 0"`` over posterior draws, safely (AST walk)."""
    names: dict[str, np.ndarray] = {}

    def sub(m: re.Match) -> str:
        key = f"__v{len(names)}"
        raw = m.group(2)
        try:  # the label exactly as written (labels may have spaces or quotes) ...
            names[key] = lookup(m.group(1), raw)
        except KeyError:  # ... else written with spaces or quotes around it: beta['x'], beta[ x ]
            label = raw.strip().strip("'\"")
            if label == raw:
                raise
            names[key] = lookup(m.group(1), label)
        return key

    text = _SUBSCRIPT.sub(sub, expr.strip())
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise InputError(f"cannot parse {expr!r}: write e.g. 'mu > 0', 'tau < 0.1', 'beta[ablat] < 0'") from exc

    binops = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
              ast.Pow: np.power, ast.BitAnd: np.logical_and, ast.BitOr: np.logical_or}
    cmps = {ast.Gt: np.greater, ast.GtE: np.greater_equal, ast.Lt: np.less, ast.LtE: np.less_equal,
            ast.Eq: np.equal, ast.NotEq: np.not_equal}

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in names:
                return names[node.id]
            return lookup(node.id, None)
        if isinstance(node, ast.UnaryOp):
            val = ev(node.operand)
            if isinstance(node.op, ast.USub):
                return -val
            if isinstance(node.op, ast.UAdd):
                return val
            if isinstance(node.op, (ast.Invert, ast.Not)):
                return np.logical_not(val)
        if isinstance(node, ast.BoolOp):
            vals = [ev(v) for v in node.values]
            fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = vals[0]
            for v in vals[1:]:
                out = fn(out, v)
            return out
        if isinstance(node, ast.BinOp) and type(node.op) in binops:
            return binops[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Compare):
            left, out = ev(node.left), None
            for op, comp in zip(node.ops, node.comparators):
                right = ev(comp)
                res = cmps[type(op)](left, right)
                out = res if out is None else np.logical_and(out, res)
                left = right
            return out
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS:
            return _FUNCS[node.func.id](*[ev(a) for a in node.args])
        raise InputError(f"unsupported expression in {expr!r}: {ast.dump(node)[:60]}")

    return np.asarray(ev(tree))

