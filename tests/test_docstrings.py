"""The public docstrings' examples use only public names, and the ``Op`` docstring runs as a doctest.

A learner copies a docstring's example into a notebook with ``from autograd import *``: every library
name an example reads must then exist. The check reads each example's syntax tree (skipped examples too,
without running them): a name it reads that the library defines somewhere (a function, class or module of
any ``autograd`` module) must be public, unless an earlier example of the same docstring defines or
imports it (the import must work). Other names are the reader's own (``model``, ``X``). The functions a
docstring lists as "``autograd``'s functions" must be public too.
"""

from __future__ import annotations

import ast
import builtins
import doctest
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from typing import Any

import pytest

import autograd

PUBLIC = set(autograd.__all__)


def public_modules() -> list[Any]:
    """``autograd`` and its modules whose names do not start with ``_``."""
    names = [info.name for info in pkgutil.iter_modules(autograd.__path__) if not info.name.startswith("_")]
    return [autograd, *(importlib.import_module(f"autograd.{name}") for name in names)]


def public_docstrings() -> Iterator[tuple[str, str]]:
    """(where, docstring) for the public modules, the public names and their public methods."""
    seen: set[int] = set()

    def of(obj: Any, where: str) -> Iterator[tuple[str, str]]:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        doc = inspect.getdoc(obj) if not inspect.ismodule(obj) else obj.__doc__
        if doc:
            yield where, doc
        if inspect.isclass(obj):
            for name, member in vars(obj).items():
                if not name.startswith("_") and (callable(member) or isinstance(member, property)):
                    yield from of(member.fget if isinstance(member, property) else member, f"{where}.{name}")

    for module in public_modules():
        yield from of(module, module.__name__)
    for name in sorted(PUBLIC):
        yield from of(getattr(autograd, name), f"autograd.{name}")


DOCSTRINGS = list(public_docstrings())
LIBRARY = {  # the names the library defines: what a reader may take for something to import
    name
    for module in public_modules() + [importlib.import_module("autograd.engine")]
    for name, value in vars(module).items()
    if not name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value) or inspect.ismodule(value))
}


def names_defined_and_read(source: str) -> tuple[set[str], set[str], list[ast.stmt]]:
    """The names an example binds, the names it reads, and its import statements."""
    tree = ast.parse(source)
    defined: set[str] = set()
    read: set[str] = set()
    imports: list[ast.stmt] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else defined).add(node.id)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(node)
            defined.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return defined, read, imports


@pytest.mark.parametrize("where, doc", DOCSTRINGS, ids=[where for where, _ in DOCSTRINGS])
def test_every_name_an_example_reads_is_public_or_defined_by_the_example(where, doc):
    defined: set[str] = set()
    unknown: list[str] = []
    for example in doctest.DocTestParser().get_examples(doc):
        new, read, imports = names_defined_and_read(example.source)
        for statement in imports:  # the example's own imports must work
            if isinstance(statement, ast.ImportFrom):
                module = importlib.import_module(statement.module or "")
                for alias in statement.names:
                    assert hasattr(module, alias.name), (where, statement.module, alias.name)
            else:
                for alias in statement.names:
                    importlib.import_module(alias.name)
        defined |= new
        unknown += sorted(name for name in read - defined - PUBLIC if name in LIBRARY and not hasattr(builtins, name))
    assert not unknown, f"{where}: its examples use {unknown}, which `from autograd import *` does not give"


LISTED = re.compile(r"``autograd``'s functions\s*\(([^)]*)\)")


def test_the_functions_a_docstring_lists_as_autograds_are_public():
    listed = {
        (where, name)
        for where, doc in DOCSTRINGS
        for match in LISTED.finditer(doc)
        for name in re.findall(r"``(\w+)``", match.group(1))
    }
    assert ("autograd.Op", "where") in listed  # the check reads the Op docstring's list
    assert not [(where, name) for where, name in listed if name not in PUBLIC]


def test_the_op_docstring_runs_as_a_doctest_with_the_public_names_only():
    globs = {name: getattr(autograd, name) for name in autograd.__all__}
    (test,) = doctest.DocTestFinder(recurse=False).find(autograd.Op, "Op", globs=globs)
    assert len(test.examples) >= 4
    result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test)
    assert result.failed == 0, result
