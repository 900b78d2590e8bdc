"""A safe parser for the command line's expressions: text in, a graph of ``Value``s out, never ``eval``.

``evaluate("tanh(w*x + b)", {"w": -3.0, "x": 2.0, "b": 6.88})`` parses the text with
Python's ``ast`` module (``mode="eval"``, which only builds a syntax tree and runs
nothing) and walks that tree against an explicit whitelist:

- numbers (``int`` and ``float`` literals; not ``bool``, ``complex`` or strings),
- names bound by ``--at`` (see ``parse_bindings``),
- ``+ - * / **``, unary ``-`` and ``+``, parentheses,
- calls by plain name of the engine's functions ``FUNCTIONS`` (``exp(x)``, ``leaky_relu(x, 0.1)``, ...).

Anything else (attributes, subscripts, lambdas, comprehensions, comparisons, other
calls, unbound names, ...) raises ``ExprError`` with one line naming what is not
allowed. Absurd input is refused before or while parsing: the text's length, its
bracket depth and its number of operators are checked before ``ast.parse`` sees it,
and the tree's size after. Numbers are floats from the start and every operation
goes through the engine, so ``9**9**9**9`` is an instant overflow error, never a huge
Python integer.

Sub-expressions without variables are folded to one float with the engine's own
arithmetic (``x * (1/2)`` draws as ``x * 0.5``); everything touching a variable
becomes graph nodes, one leaf ``Value`` per variable (label = its name).
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, Union

from .engine import Value, cos, exp, log, relu, sigmoid, sin, softplus, sqrt, tanh

MAX_LENGTH = 10_000  # characters of EXPR (or of the --at text)
MAX_BRACKET_DEPTH = 100  # nested ( [ { at any point
MAX_OPERATORS = 1_000  # + - * / ** , tokens: bounds the parser's recursion depth
MAX_NODES = 5_000  # syntax-tree nodes

# What the expression language may call, by plain name; each takes one argument
# except leaky_relu, which takes an optional numeric slope alpha.
_UNARY: dict[str, Callable[[Any], Any]] = {
    "exp": exp,
    "log": log,
    "sqrt": sqrt,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "relu": relu,
    "softplus": softplus,
    "sin": sin,
    "cos": cos,
    "abs": abs,
}
FUNCTIONS: tuple[str, ...] = tuple(sorted([*_UNARY, "leaky_relu"]))

Operand = Union[Value, float]  # a constant sub-expression stays a float until it meets a variable


class ExprError(ValueError):
    """An expression or a ``--at`` binding that stepgrad refuses; the message is one line."""


# --------------------------------------------------------------------------- bindings


def parse_bindings(text: str) -> dict[str, float]:
    """Parse ``"x=1,w=-3"`` into ``{"x": 1.0, "w": -3.0}``; an empty text gives ``{}``.

    >>> parse_bindings("x=1, w=-3e-1")
    {'x': 1.0, 'w': -0.3}

    Names must be identifiers that are neither keywords nor function names, each bound
    once; values must be finite numbers.
    """
    if not isinstance(text, str):
        raise ExprError(f"--at needs text like 'x=1,w=-3', got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"--at is {len(text)} characters long; the limit is {MAX_LENGTH}")
    bindings: dict[str, float] = {}
    if not text.strip():
        return bindings
    for entry in text.split(","):
        shown = _short(entry.strip())
        if not entry.strip():
            raise ExprError(f"empty entry in --at {_short(text)!r}: write name=value pairs separated by commas")
        if entry.count("=") != 1:
            raise ExprError(f"--at entry {shown!r} is not of the form name=value (e.g. x=1.5)")
        raw_name, raw_value = (part.strip() for part in entry.split("="))
        name = unicodedata.normalize("NFKC", raw_name)  # as Python's parser normalizes identifiers
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ExprError(f"--at entry {shown!r}: {_short(raw_name)!r} is not a valid variable name")
        if name in FUNCTIONS:
            raise ExprError(f"--at entry {shown!r}: {name!r} is a function name; pick another variable name")
        if name in bindings:
            raise ExprError(f"--at binds {name!r} twice")
        try:
            number = float(raw_value)
        except ValueError:
            message = f"--at entry {shown!r}: the value of {name!r} must be a number, got {_short(raw_value)!r}"
            raise ExprError(message) from None
        if not math.isfinite(number):
            raise ExprError(f"--at entry {shown!r}: the value of {name!r} must be finite, got {number}")
        bindings[name] = number
    return bindings


# --------------------------------------------------------------------------- parsing

_OPERATOR_TOKEN = re.compile(r"\*\*|[-+*/,]")
_BINARY_SYMBOLS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
}
_ALLOWED_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
# What to call the constructs a learner might try, for the "... is not allowed" message.
_CONSTRUCT_NAMES: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Slice: "slice",
    ast.Lambda: "lambda expression",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator expression",
    ast.Compare: "comparison",
    ast.BoolOp: "boolean operator",
    ast.IfExp: "conditional expression",
    ast.NamedExpr: "assignment expression",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Set: "set",
    ast.Dict: "dictionary",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.Starred: "starred argument",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


def _short(text: str, limit: int = 40) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _source(expr: str, node: ast.AST) -> str:
    """The text of ``node`` inside ``expr``, shortened for a one-line message."""
    segment = ast.get_source_segment(expr, node)
    return _short(segment if segment is not None else ast.dump(node))


def _precheck(expr: str) -> None:
    """Refuse absurd text cheaply, before the parser (which recurses) sees it."""
    if not isinstance(expr, str):
        raise ExprError(f"the expression must be text, got {type(expr).__name__}")
    if len(expr) > MAX_LENGTH:
        raise ExprError(f"the expression is {len(expr)} characters long; the limit is {MAX_LENGTH}")
    if not expr.strip():
        raise ExprError("the expression is empty")
    if "\x00" in expr:
        raise ExprError("the expression contains a NUL character")
    depth = deepest = 0
    for char in expr:
        if char in "([{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif char in ")]}":
            depth -= 1
    if deepest > MAX_BRACKET_DEPTH:
        raise ExprError(f"the expression nests brackets {deepest} deep; the limit is {MAX_BRACKET_DEPTH}")
    operators = len(_OPERATOR_TOKEN.findall(expr))
    if operators > MAX_OPERATORS:
        raise ExprError(f"the expression has {operators} operators; the limit is {MAX_OPERATORS}")


def parse(expr: str) -> ast.Expression:
    """Parse ``expr`` into a syntax tree that uses only the whitelisted constructs, or raise ``ExprError``.

    Names are not checked here (``evaluate`` checks them against the bindings).
    """
    _precheck(expr)
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        detail = "" if error.msg == "invalid syntax" else f": {error.msg}"
        raise ExprError(f"invalid syntax{where} in {_short(expr)!r}{detail}") from None
    except (RecursionError, MemoryError):
        raise ExprError("the expression is too deeply nested to parse") from None
    except ValueError as error:  # e.g. a NUL byte or an over-long integer literal
        raise ExprError(f"invalid expression: {_short(str(error), 80)}") from None
    _check_tree(expr.strip(), tree)
    return tree


def _check_tree(expr: str, tree: ast.Expression) -> None:
    """Walk the tree (iteratively, in source order) and refuse the first construct outside the whitelist."""
    stack: list[ast.AST] = [tree.body]
    count = 0
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExprError(f"the expression has more than {MAX_NODES} parts; the limit is {MAX_NODES}")
        children: list[ast.AST]
        if isinstance(node, ast.Constant):
            _literal(expr, node)
            children = []
        elif isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise ExprError(f"{node.id!r} is a function: call it, as in {node.id}(x)")
            children = []
        elif isinstance(node, ast.BinOp):
            if not isinstance(node.op, _ALLOWED_BINARY):
                symbol = _BINARY_SYMBOLS.get(type(node.op), type(node.op).__name__)
                raise ExprError(f"operator {symbol!r} in {_source(expr, node)!r} is not allowed: use + - * / **")
            children = [node.left, node.right]
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                symbol = "not" if isinstance(node.op, ast.Not) else "~"
                raise ExprError(f"operator {symbol!r} in {_source(expr, node)!r} is not allowed: use + - * / **")
            children = [node.operand]
        elif isinstance(node, ast.Call):
            children = _check_call(expr, node)
        else:
            what = _CONSTRUCT_NAMES.get(type(node), f"{type(node).__name__} expression")
            raise ExprError(f"{what} {_source(expr, node)!r} is not allowed")
        stack.extend(reversed(children))  # leftmost child is examined first


def _literal(expr: str, node: ast.Constant) -> float:
    """A number literal as a finite float, or an ExprError naming what the constant is."""
    value = node.value
    shown = _source(expr, node)
    if isinstance(value, bool):
        raise ExprError(f"booleans ({shown}) are not allowed: use numbers")
    if isinstance(value, (str, bytes)):
        raise ExprError(f"strings ({shown}) are not allowed")
    if isinstance(value, complex):
        raise ExprError(f"complex numbers ({shown}) are not allowed")
    if not isinstance(value, (int, float)):
        raise ExprError(f"{shown!r} is not allowed: use numbers")
    try:
        number = float(value)
    except OverflowError:
        raise ExprError(f"the number {shown} is too large for a float") from None
    if not math.isfinite(number):
        raise ExprError(f"the number {shown} is too large for a float")
    return number


def _check_call(expr: str, node: ast.Call) -> list[ast.AST]:
    """Check a call's shape (plain function name, positional arguments, arity); return its arguments."""
    if not isinstance(node.func, ast.Name):
        return [node.func]  # the walk reports what the callee is (an attribute, a lambda, ...)
    name = node.func.id
    if name not in FUNCTIONS:
        raise ExprError(f"calling {name!r} is not allowed: the functions are {', '.join(FUNCTIONS)}")
    if node.keywords:
        keyword_arg = node.keywords[0]
        shown = f"{keyword_arg.arg}=..." if keyword_arg.arg else "**..."
        raise ExprError(f"keyword arguments ({shown} in {_source(expr, node)!r}) are not allowed")
    for argument in node.args:
        if isinstance(argument, ast.Starred):
            raise ExprError(f"starred arguments {_source(expr, argument)!r} are not allowed")
    count = len(node.args)
    if name == "leaky_relu":
        if count not in (1, 2):
            raise ExprError(f"leaky_relu takes x and an optional slope alpha, got {count} arguments")
    elif count != 1:
        raise ExprError(f"{name}() takes exactly one argument, got {count}")
    return list(node.args)


# --------------------------------------------------------------------------- evaluation


def evaluate(expr: str, bindings: Mapping[str, float], root_label: str = "f") -> tuple[Value, dict[str, Value]]:
    """Build the graph of ``expr`` at the point ``bindings``: ``(root, {name: leaf})``.

    >>> root, leaves = evaluate("x*y + sin(x)", {"x": 2.0, "y": -3.0})
    >>> root.backward(); leaves["y"].grad      # ∂(xy + sin x)/∂y = x
    2.0

    Every binding gets a leaf (labelled with its name), used or not. The root is
    labelled ``root_label`` unless it is itself a variable or ``root_label`` is a
    variable's name. Errors (syntax, names, domain, overflow) raise ``ExprError``.
    """
    tree = parse(expr)
    source = expr.strip()
    for name, number in bindings.items():
        if not isinstance(number, (int, float)) or isinstance(number, bool) or not math.isfinite(number):
            raise ExprError(f"the value of {name!r} must be a finite number, got {number!r}")
    leaves = {name: Value(float(number), label=name) for name, number in bindings.items()}
    result = _evaluate_tree(source, tree.body, leaves)
    root = result if isinstance(result, Value) else Value(result)
    if not root.label and root_label not in leaves:
        root.label = root_label
    return root, leaves


def _evaluate_tree(expr: str, body: ast.AST, leaves: Mapping[str, Value]) -> Operand:
    """Post-order evaluation with an explicit stack, so depth never meets Python's recursion limit."""
    results: dict[ast.AST, Operand] = {}
    stack: list[tuple[ast.AST, bool]] = [(body, False)]
    while stack:
        node, children_done = stack.pop()
        if not children_done:
            stack.append((node, True))
            for child in reversed(_operands(node)):
                stack.append((child, False))
            continue
        if isinstance(node, ast.Constant):
            results[node] = _literal(expr, node)
        elif isinstance(node, ast.Name):
            if node.id not in leaves:
                raise ExprError(f"unknown name {node.id!r}: bind it with --at {node.id}=...")
            results[node] = leaves[node.id]
        elif isinstance(node, ast.UnaryOp):
            operand = results.pop(node.operand)
            results[node] = _apply(expr, node, "-", lambda v: -v, operand) if isinstance(node.op, ast.USub) else operand
        elif isinstance(node, ast.BinOp):
            left, right = results.pop(node.left), results.pop(node.right)
            results[node] = _binary(expr, node, left, right)
        else:  # ast.Call, checked by parse()
            results[node] = _call(expr, node, [results.pop(argument) for argument in node.args])
    return results[body]


def _operands(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _binary(expr: str, node: ast.BinOp, left: Operand, right: Operand) -> Operand:
    symbol = _BINARY_SYMBOLS[type(node.op)]
    if isinstance(node.op, ast.Add):
        return _apply(expr, node, symbol, lambda a, b: a + b, left, right)
    if isinstance(node.op, ast.Sub):
        return _apply(expr, node, symbol, lambda a, b: a - b, left, right)
    if isinstance(node.op, ast.Mult):
        return _apply(expr, node, symbol, lambda a, b: a * b, left, right)
    if isinstance(node.op, ast.Div):
        return _apply(expr, node, symbol, lambda a, b: a / b, left, right)
    if isinstance(right, float) and right.is_integer() and abs(right) <= 2**53:
        right = int(right)  # x**2 keeps micrograd's op symbol '**2'; the engine computes with floats
    return _apply(expr, node, symbol, lambda a, b: a**b, left, right)


def _call(expr: str, node: ast.Call, arguments: list[Operand]) -> Operand:
    name = node.func.id  # type: ignore[attr-defined]  # parse() allowed plain names only
    if name == "leaky_relu":
        alpha = arguments[1] if len(arguments) == 2 else 0.01
        if isinstance(alpha, Value):
            shown = _source(expr, node)
            raise ExprError(f"leaky_relu's slope alpha must be a number, not an expression of variables: {shown!r}")
        return _apply(expr, node, name, lambda v: v.leaky_relu(alpha), arguments[0])
    return _apply(expr, node, name, _UNARY[name], arguments[0])


def _apply(expr: str, node: ast.AST, symbol: str, operation: Callable[..., Any], *operands: Operand) -> Operand:
    """Run one operation through the engine; constants are folded with a throw-away ``Value``.

    Engine errors (domain, overflow, division by zero) become ``ExprError``s naming the
    sub-expression; a finite input giving a non-finite result is reported as an overflow.
    """
    constant = not any(isinstance(operand, Value) for operand in operands)
    arguments = [Value(operand) for operand in operands[:1]] + list(operands[1:]) if constant else list(operands)
    try:
        result = operation(*arguments)
    except (ArithmeticError, ValueError) as error:
        raise ExprError(f"cannot evaluate {_source(expr, node)!r}: {error}") from None
    number = result.data if isinstance(result, Value) else float(result)
    if not math.isfinite(number):
        raise ExprError(f"cannot evaluate {_source(expr, node)!r}: {symbol!r} overflows to {number}")
    return number if constant else result
