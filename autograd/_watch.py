"""Run what you read: how the accelerator sees that a reference definition was edited.

A fingerprint is a hash of a definition's syntax tree, so comments, blank lines, layout and docstrings do
not count and any code edit does. ``_fast.FINGERPRINTS`` holds them for the definitions the copies stand in
for, in ``engine.py`` and ``OTHER_FILES``; ``python -m autograd._fingerprints --write`` regenerates them.
"""

from __future__ import annotations

import hashlib
from typing import Any

# Fields of the syntax tree that are not code, or that some Python versions lack or fill differently.
_NOT_CODE = frozenset({"type_comment", "type_params", "kind"})


def _shape(node: Any) -> str:
    """A syntax tree as text: node types and fields, without positions, docstrings or empty fields.

    The same on every Python from 3.9 on (an empty field is absent in some versions' trees, None or
    [] in others; an f-string's literal parts are joined, 3.12.1 adds empty ones)."""
    import ast

    if isinstance(node, ast.AST):
        parts = [type(node).__name__]
        for field in node._fields:
            value = getattr(node, field, None)
            if field in _NOT_CODE or value is None or value == []:
                continue
            if field == "body" and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if isinstance(value[0], ast.Expr) and isinstance(value[0].value, ast.Constant):
                    if isinstance(value[0].value.value, str):
                        value = value[1:]  # the docstring
            elif field == "values" and isinstance(node, ast.JoinedStr):
                value = _joined(value)
            parts.append(f"{field}={_shape(value)}")
        return "(" + " ".join(parts) + ")"
    if isinstance(node, list):
        return "[" + ", ".join(_shape(item) for item in node) + "]"
    return repr(node)


def _joined(values: list[Any]) -> list[Any]:
    """An f-string's parts with adjacent literal text joined and empty text dropped."""
    import ast

    out: list[Any] = []
    for value in values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            if out and isinstance(out[-1], ast.Constant) and isinstance(out[-1].value, str):
                out[-1] = ast.Constant(out[-1].value + value.value)
            elif value.value:
                out.append(value)
        else:
            out.append(value)
    return out


def fingerprints(source: str | bytes, names: Any = None) -> dict[str, str]:
    """{name: fingerprint} of the module-level definitions in ``source`` (functions, classes,
    ``Class.method`` and ``NAME = ...`` assignments; the last one of a name counts), or of ``names``."""
    import ast

    found: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] = node
            if isinstance(node, ast.ClassDef):
                for member in node.body:
                    if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        found[f"{node.name}.{member.name}"] = member
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                found[targets[0].id] = node
    wanted = found if names is None else [name for name in names if name in found]
    return {name: hashlib.sha256(_shape(found[name]).encode()).hexdigest()[:16] for name in wanted}


# Reference files besides engine.py whose definitions are watched: Op.__call__ is in op.py, _checked and
# _partials_at in limits.py, _left_sum and step in cases.py, sum_values and dot in sums.py, topological_order
# (backward's walk) in graph.py. They are read after engine.py, as one source (ENGINE_SHA256 is its hash).
OTHER_FILES = ("op.py", "limits.py", "cases.py", "sums.py", "graph.py")


def homes(folder: str, names: list[str]) -> dict[str, str]:
    """{name: the reference file that defines it} for ``names`` (engine.py or one of ``OTHER_FILES``)."""
    import os

    found: dict[str, str] = {}
    for file_name in ("engine.py", *OTHER_FILES):
        try:
            with open(os.path.join(folder, file_name), "rb") as file:
                defined = fingerprints(file.read(), names)
        except (OSError, SyntaxError):
            continue
        for name in defined:
            found.setdefault(name, file_name)
    return found


def notice(changed: list[str], off: list[str], folder: str) -> str:
    """The one line that says which reference definitions were edited and which copies step aside."""
    where = homes(folder, changed)
    by_file: dict[str, list[str]] = {}
    for name in changed:
        by_file.setdefault(where.get(name, "engine.py"), []).append(name)
    edits = " and ".join(f"autograd/{file_name}'s {', '.join(names)}" for file_name, names in by_file.items())
    return (
        f"stepgrad: {edits} {'was' if len(changed) == 1 else 'were'} edited; running engine.py's {', '.join(off)} "
        f"instead of the accelerated {'copy' if len(off) == 1 else 'copies'} (STEPGRAD_PURE=1 runs engine.py alone)\n"
    )


def with_other_files(engine_source: bytes, folder: str) -> bytes:
    """engine.py's source followed by ``OTHER_FILES``' (read from ``folder``; a missing one adds nothing)."""
    import os

    parts = [engine_source]
    for name in OTHER_FILES:
        try:
            with open(os.path.join(folder, name), "rb") as file:
                parts.append(file.read())
        except OSError:
            pass
    return b"\n".join(parts)
