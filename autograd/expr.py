"""A safe parser for the command line's expressions: text in, a graph of ``Value``s out, never ``eval``.

``evaluate("tanh(w*x + b)", {"w": -3.0, "x": 2.0, "b": 6.88})`` parses the text with Python's
``ast`` module (``mode="eval"`` only builds a syntax tree; nothing in it runs) and evaluates that
tree in one walk, refusing as it goes anything outside this language:

- numbers (``int`` and ``float`` literals), names bound by ``--at`` (see ``parse_bindings``),
- ``+ - * / **``, unary ``-`` and ``+``, parentheses,
- calls by plain name of the engine's functions ``FUNCTIONS`` (``exp(x)``, ``leaky_relu(x, 0.1)``).

A refusal is an ``ExprError`` whose one-line message quotes the part of the text at fault. Absurd
input is refused before Python's parser (which recurses) sees it: the text's length, its bracket
depth and its number of operators; the walk counts the tree's nodes.

Sub-expressions without variables are folded to one float with float arithmetic (``x * (1/2)``
draws as ``x * 0.5``); everything touching a variable goes through the engine, with one leaf
``Value`` per variable, labelled with its name. Numbers are floats from the start, so
``9**9**9**9`` is an instant overflow error, never a huge Python integer.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import math
import operator
import re
import unicodedata
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

from .engine import FUNCTIONS as _ENGINE_FUNCTIONS
from .engine import PRIMITIVES, Value

MAX_LENGTH = 10_000  # characters of EXPR; also of all --at texts together
MAX_VARIABLES = 1_000  # names bound by --at
MAX_BRACKET_DEPTH = 100  # nested ( [ { at any point
MAX_OPERATORS = 1_000  # + - * / ** , tokens: bounds the parser's recursion depth
MAX_NODES = 5_000  # syntax-tree nodes

# What the language may call, by plain name: the function of every named op of the rule table (each takes
# floats or Values: exp, log, ..., abs; maximum is written max, as in Python), with the op's number of inputs
# (None: one or more), and leaky_relu with an optional numeric slope alpha.
_WRITTEN = {"maximum": "max"}
_CALLS: dict[str, tuple[Callable[..., Any], int | None]] = {
    _WRITTEN.get(name, name): (_ENGINE_FUNCTIONS[name], op.arity) for name, op in PRIMITIVES.items()
}
FUNCTIONS: tuple[str, ...] = tuple(sorted([*_CALLS, "leaky_relu"]))
_OPERATORS: dict[type, tuple[str, Callable[..., Any]]] = {
    ast.USub: ("-", operator.neg),
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.Pow: ("**", operator.pow),
}
_OPERATOR_TOKEN = re.compile(r"\*\*|[-+*/,]")
# a function name followed by a space and an operand: 'sin x', 'exp 2.5' (an error for Python's parser)
_UNCALLED = re.compile(rf"(?<![\w.])({'|'.join(FUNCTIONS)})\s+([A-Za-z_]\w*|\d+(?:\.\d*)?(?:e-?\d+)?)")
_ALLOWED = "use numbers, variables, + - * / **, parentheses and the functions " + ", ".join(FUNCTIONS)

Operand = Union[Value, float]  # a constant sub-expression stays a float until it meets a variable


class ExprError(ValueError):
    """An expression or a ``--at`` binding that stepgrad refuses; the message is one line."""


def _short(text: str, limit: int = 40) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- bindings


def parse_bindings(texts: str | Sequence[str]) -> dict[str, float]:
    """Parse ``"x=1,w=-3"`` (or several such texts, one per ``--at`` flag) into ``{"x": 1.0, "w": -3.0}``.

    >>> parse_bindings(["x=1, w=-3e-1", "y=2"])
    {'x': 1.0, 'w': -0.3, 'y': 2.0}

    Names are identifiers that are neither keywords nor function names, each bound once across
    all the texts; values are finite numbers. ``MAX_LENGTH`` bounds the texts together and
    ``MAX_VARIABLES`` the number of names.
    """
    chunks = [texts] if isinstance(texts, str) else texts
    if isinstance(chunks, (bytes, Mapping)) or not isinstance(chunks, Sequence):
        raise ExprError(f"--at needs text like 'x=1,w=-3', got {type(texts).__name__}")
    for chunk in chunks:
        if not isinstance(chunk, str):
            raise ExprError(f"--at needs text like 'x=1,w=-3', got {type(chunk).__name__}")
    length = sum(len(chunk) for chunk in chunks)
    if length > MAX_LENGTH:
        raise ExprError(f"--at is {length} characters long in all; the limit is {MAX_LENGTH}")
    bindings: dict[str, float] = {}
    for chunk in chunks:
        if not chunk.strip():
            continue
        for entry in chunk.split(","):
            name, number = _binding(entry, chunk)
            if name in bindings:
                raise ExprError(f"--at binds {name!r} twice")
            if len(bindings) == MAX_VARIABLES:
                raise ExprError(f"--at binds more than {MAX_VARIABLES} variables; the limit is {MAX_VARIABLES}")
            bindings[name] = number
    return bindings


def _binding(entry: str, chunk: str) -> tuple[str, float]:
    """One ``name=value`` entry of an ``--at`` text, checked."""
    shown = _short(entry.strip())
    if not entry.strip():
        raise ExprError(f"empty entry in --at {_short(chunk)!r}: write name=value pairs separated by commas")
    if entry.count("=") != 1:
        raise ExprError(f"--at entry {shown!r} is not of the form name=value (e.g. x=1.5)")
    raw_name, raw_value = (part.strip() for part in entry.split("="))
    name = unicodedata.normalize("NFKC", raw_name)  # as Python's parser normalizes identifiers
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ExprError(f"--at entry {shown!r}: {_short(raw_name)!r} is not a valid variable name")
    if name in FUNCTIONS:
        raise ExprError(f"--at entry {shown!r}: {name!r} is a function name; pick another variable name")
    try:
        number = float(raw_value)
    except ValueError:
        raise ExprError(
            f"--at entry {shown!r}: the value of {name!r} must be a number, got {_short(raw_value)!r}"
        ) from None
    if not math.isfinite(number):
        raise ExprError(f"--at entry {shown!r}: the value of {name!r} must be finite, got {number}")
    return name, number


# --------------------------------------------------------------------------- evaluation


def evaluate(expr: str, bindings: Mapping[str, float], root_label: str = "f") -> tuple[Value, dict[str, Value]]:
    """Build the graph of ``expr`` at the point ``bindings``: ``(root, {name: leaf})``.

    >>> root, leaves = evaluate("x*y + sin(x)", {"x": 2.0, "y": -3.0})
    >>> root.backward(); leaves["y"].grad      # ∂(xy + sin x)/∂y = x
    2.0

    Every binding gets a leaf (labelled with its name), used or not. The root is labelled
    ``root_label`` unless it is itself a variable or ``root_label`` is a variable's name.
    Errors (syntax, names, constructs, domain, overflow) raise ``ExprError``.
    """
    text, body = _parse(expr)
    for name, number in bindings.items():
        if not isinstance(number, (int, float)) or isinstance(number, bool) or not math.isfinite(number):
            raise ExprError(f"the value of {name!r} must be a finite number, got {number!r}")
    leaves = {name: Value(float(number), label=name) for name, number in bindings.items()}
    # One post-order walk with an explicit stack (depth never meets Python's recursion limit): each
    # node is checked and computed once its operands are, so nothing outside the language is computed.
    results: list[Operand] = []
    stack: list[tuple[ast.expr, bool]] = [(body, False)]
    visited = 0
    while stack:
        node, operands_done = stack.pop()
        operands = _operands(node)
        if not operands_done:
            visited += 1
            if visited > MAX_NODES:
                raise ExprError(f"the expression has more than {MAX_NODES} parts; the limit is {MAX_NODES}")
            stack.append((node, True))
            stack.extend((operand, False) for operand in reversed(operands))
            continue
        values = results[len(results) - len(operands) :]
        del results[len(results) - len(operands) :]
        results.append(_value(text, node, values, leaves))
    root = results[0] if isinstance(results[0], Value) else Value(results[0])
    if not root.label and root_label not in leaves:
        root.label = root_label
    return root, leaves


def _parse(expr: str) -> tuple[str, ast.expr]:
    """Check the text cheaply, then parse it into a syntax tree (no code runs): ``(stripped text, body)``."""
    if not isinstance(expr, str):
        raise ExprError(f"the expression must be text, got {type(expr).__name__}")
    if len(expr) > MAX_LENGTH:
        raise ExprError(f"the expression is {len(expr)} characters long; the limit is {MAX_LENGTH}")
    text = expr.strip()
    if not text:
        raise ExprError("the expression is empty")
    if "\x00" in text:
        raise ExprError("the expression contains a NUL character")
    depth = deepest = 0
    for char in text:
        depth += 1 if char in "([{" else -1 if char in ")]}" else 0
        deepest = max(deepest, depth)
    if deepest > MAX_BRACKET_DEPTH:
        raise ExprError(f"the expression nests brackets {deepest} deep; the limit is {MAX_BRACKET_DEPTH}")
    operators = len(_OPERATOR_TOKEN.findall(text))
    if operators > MAX_OPERATORS:
        raise ExprError(f"the expression has {operators} operators; the limit is {MAX_OPERATORS}")
    try:
        with warnings.catch_warnings():  # e.g. a SyntaxWarning for '1if x else 2', refused below in one line
            warnings.simplefilter("ignore")
            return text, ast.parse(text, mode="eval").body
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        detail = "" if error.msg == "invalid syntax" else f": {_short(error.msg, 80)}"
        called = _UNCALLED.search(text)  # 'sin x': a function written as in maths, without brackets
        if called:
            detail += f"; functions need parentheses: {called[1]}({called[2]})"
        raise ExprError(f"invalid syntax{where} in {_short(text)!r}{detail}") from None
    except (RecursionError, MemoryError):
        raise ExprError("the expression is too deeply nested to parse") from None
    except ValueError as error:  # e.g. an integer literal beyond Python's digit limit
        raise ExprError(f"invalid expression: {_short(str(error), 80)}") from None


def _operands(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
        return [argument for argument in node.args if not isinstance(argument, ast.Starred)]
    return []


def _value(text: str, node: ast.expr, operands: list[Operand], leaves: Mapping[str, Value]) -> Operand:
    """Check one node against the language and compute it from its operands' values."""
    shown = _short(ast.get_source_segment(text, node) or ast.dump(node))
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExprError(f"{shown!r} is not allowed: use numbers")
        try:
            number = float(node.value)
        except OverflowError:  # an int literal beyond the float range (1e999 is parsed as inf)
            number = math.inf
        if not math.isfinite(number):
            raise ExprError(f"the number {shown} is too large for a float")
        return number
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExprError(f"{node.id!r} is a function: call it, as in {node.id}(x)")
        if node.id not in leaves:
            raise ExprError(f"unknown name {node.id!r}: bind it with --at {node.id}=...")
        return leaves[node.id]
    if isinstance(node, (ast.UnaryOp, ast.BinOp)):
        if isinstance(node.op, ast.UAdd):
            return operands[0]
        symbol, operation = _OPERATORS.get(type(node.op), ("", None))
        if operation is None:
            raise ExprError(f"the operator in {shown!r} is not allowed: use + - * / **")
        right = operands[-1]
        if symbol == "**" and isinstance(right, float) and right.is_integer() and abs(right) <= 2**53:
            operands = [operands[0], int(right)]  # x**2 keeps micrograd's op symbol '**2'
        return _apply(shown, symbol, operation, operands)
    if not isinstance(node, ast.Call):
        raise ExprError(f"{shown!r} is not allowed: {_ALLOWED}")
    callee = node.func
    if isinstance(callee, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.Call)) or (
        isinstance(callee, ast.Name) and callee.id in leaves
    ):
        raise ExprError(f"calling an expression is not allowed (did you mean {_short(_times(text, node))}?)")
    if not isinstance(callee, ast.Name):  # an attribute, a lambda, a subscript...
        raise ExprError(f"{_short(ast.get_source_segment(text, callee) or '')!r} is not allowed: {_ALLOWED}")
    if callee.id not in FUNCTIONS:
        close = difflib.get_close_matches(callee.id, FUNCTIONS, n=1, cutoff=0.6)  # 'tahn' → tanh
        guess = f" (did you mean {close[0]}?)" if close else ""
        raise ExprError(f"calling {callee.id!r} is not allowed{guess}: the functions are {', '.join(FUNCTIONS)}")
    if node.keywords:
        named = f"{node.keywords[0].arg}=..." if node.keywords[0].arg else "**..."
        raise ExprError(f"keyword arguments ({named} in {shown!r}) are not allowed")
    if len(operands) < len(node.args):
        raise ExprError(f"starred arguments are not allowed in {shown!r}")
    if callee.id in _CALLS:
        function, arity = _CALLS[callee.id]
        if arity is None and not operands:
            raise ExprError(f"{callee.id}() takes one or more arguments, got none")
        if arity is not None and len(operands) != arity:
            wanted = "one argument" if arity == 1 else f"{arity} arguments"
            raise ExprError(f"{callee.id}() takes exactly {wanted}, got {len(operands)}")
        return _apply(shown, callee.id, function, operands)
    if len(operands) not in (1, 2):
        raise ExprError(f"leaky_relu takes x and an optional slope alpha, got {len(operands)} arguments")
    alpha = operands[1] if len(operands) == 2 else 0.01
    if isinstance(alpha, Value):
        raise ExprError(f"leaky_relu's slope alpha must be a number, not an expression of variables: {shown!r}")
    leaky = lambda x: x.leaky_relu(alpha) if isinstance(x, Value) else (x if x > 0 else alpha * x)  # noqa: E731
    return _apply(shown, "leaky_relu", leaky, operands[:1])


def _apply(shown: str, symbol: str, operation: Callable[..., Any], operands: list[Any]) -> Operand:
    """One operation: float arithmetic when every operand is a constant, else the engine's node.

    Errors (domain, division by zero, overflow) become an ``ExprError`` quoting the sub-expression.
    """
    try:
        if any(isinstance(operand, Value) for operand in operands):
            result: Operand = operation(*operands)
            number = result.data  # type: ignore[union-attr]
        else:
            result = number = _fold(symbol, operation, operands)
    except (ArithmeticError, ValueError) as error:
        raise ExprError(f"cannot evaluate {shown!r}: {error}") from None
    if not math.isfinite(number):
        raise ExprError(f"cannot evaluate {shown!r}: {symbol!r} overflows to {number}")
    return result


def _fold(symbol: str, operation: Callable[..., Any], operands: list[float]) -> float:
    """A constant operation in Python's float arithmetic, as the engine computes it: an overflow is ±inf
    (Python raises for ``**``), a division by zero and a complex power are errors that say the numbers."""
    numbers = [f"({n!r})" if n < 0 else repr(n) for n in map(float, operands)]
    shown = f" {symbol} ".join(numbers)
    try:
        result = operation(*operands)
    except ZeroDivisionError:
        raise ZeroDivisionError(f"{shown} divides by zero") from None
    except OverflowError:  # only ** raises; the result's sign is the base's for an odd integer exponent
        base, exponent = operands
        odd = float(exponent).is_integer() and int(exponent) % 2 == 1
        return math.copysign(math.inf, base) if odd else math.inf
    if isinstance(result, complex):  # what Python gives for (-8) ** (1/3)
        raise ValueError(f"{shown} is not a real number: a negative base needs an integer exponent")
    return float(result)


def _times(text: str, call: ast.Call) -> str:
    """``2(x+1)`` written as the product it probably meant, ``2*(x+1)``: a '*' before the call's brackets."""
    written = ast.get_source_segment(text, call) or ""
    depth = 0
    for position in range(len(written) - 1, -1, -1):  # from the closing bracket back to the one it closes
        depth += {")": 1, "(": -1}.get(written[position], 0)
        if depth == 0:
            return written[:position] + "*" + written[position:]
    return written
