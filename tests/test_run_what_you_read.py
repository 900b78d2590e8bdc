"""Run what you read: an edit to ``autograd/engine.py`` runs with the default settings.

The accelerator (``autograd/_fast.py``) keeps a fingerprint of each reference definition its
copies stand in for and leaves out any copy whose definitions were edited, saying so in one line
on stderr. These tests copy the package into a temporary folder, edit the copy's ``engine.py``
as a learner would, and run it in a fresh interpreter with that copy first on ``sys.path``.
The expected numbers are worked out by hand in each test, never taken from the engine.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import autograd
from autograd import _fast

PACKAGE = pathlib.Path(autograd.__file__).parent
NOTICE = "stepgrad: autograd/engine.py's "


def run_copy(tmp_path, edits, code, pure=False, file="engine.py"):
    """Copy the package to ``tmp_path``, apply ``edits`` ([(old, new)], each old text found once)
    to its ``file`` (engine.py), run ``code`` there in a fresh interpreter; returns (stdout, stderr)."""
    copy = tmp_path / "autograd"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    engine = copy / file
    source = engine.read_text(encoding="utf-8")
    for old, new in edits:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    engine.write_text(source, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key not in ("STEPGRAD_PURE", "PYTHONPATH")}
    if pure:
        env["STEPGRAD_PURE"] = "1"
    check = f"import autograd; assert autograd.__file__ == {str(copy / '__init__.py')!r}, autograd.__file__\n"
    result = subprocess.run(
        [sys.executable, "-c", check + code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


ADD_METHOD = """    def __add__(self, other: Operand) -> Value:  # self + other
        return ADD(self, _checked(other, "+"))
"""
BACKWARD_BODY = """        if create_graph:
            _backward_with_graph(self, gradient)
            return
        order = topological_order(self)
"""


def test_an_edited_add_runs_and_says_so_once(tmp_path):
    # The learner turns + into a printing multiplication.
    edited = ADD_METHOD.replace('return ADD(self, _checked(other, "+"))', 'print("my add"); return self * other')
    out, err = run_copy(
        tmp_path,
        [(ADD_METHOD, edited)],
        "from autograd import Value\n"
        "x = Value(3.0); y = x + 4.0; z = 2.0 + x\n"  # __radd__ goes through the edited __add__ too
        "y.backward(); print(y.data, z.data, x.grad)\n",
    )
    assert out.splitlines() == ["my add", "my add", "12.0 6.0 4.0"]  # 3·4, 3·2, ∂(4x)/∂x = 4
    assert err.count(NOTICE) == 1 and len(err.splitlines()) == 1, err
    assert "Value.__add__ was edited" in err and "instead of the accelerated" in err


def test_an_edited_backward_runs_and_says_so_once(tmp_path):
    edited = '        print("my backward", self.data)\n' + BACKWARD_BODY
    out, err = run_copy(
        tmp_path,
        [(BACKWARD_BODY, edited)],
        "import inspect\n"
        "from autograd import Value\n"
        "x = Value(2.0); y = x * x + x; y.backward(); print(x.grad)\n"
        "print(inspect.getsourcefile(Value.backward).endswith('engine.py'))\n",
    )
    assert out.splitlines() == ["my backward 6.0", "5.0", "True"]  # y = 4 + 2, ∂y/∂x = 2x + 1 = 5
    assert err.count(NOTICE) == 1 and len(err.splitlines()) == 1, err
    assert "Value.backward was edited" in err


def test_two_edits_run_together_under_one_notice(tmp_path):
    add = ADD_METHOD.replace('return ADD(self, _checked(other, "+"))', "return self * other")
    out, err = run_copy(
        tmp_path,
        [(ADD_METHOD, add), (BACKWARD_BODY, '        print("my backward")\n' + BACKWARD_BODY)],
        "from autograd import Value\nx = Value(3.0); y = x + x; y.backward(); print(y.data, x.grad)\n",
    )
    assert out.splitlines() == ["my backward", "9.0 6.0"]  # y = x·x = 9, ∂y/∂x = 2x = 6
    assert err.count(NOTICE) == 1 and len(err.splitlines()) == 1, err
    assert "Value.__add__, Value.backward were edited" in err


def test_an_edited_rule_reaches_the_inlined_copies(tmp_path):
    # ∂(a + b)/∂a made 2 in the table: the copy of + and backward's + shortcut both step aside.
    row = "lambda a, b: a + b,          lambda a, b, out: (1.0, 1.0))"
    out, err = run_copy(
        tmp_path,
        [(row, row.replace("(1.0, 1.0)", "(2.0, 1.0)"))],
        "from autograd import Value, sum_values\n"
        "x = Value(1.5); y = Value(-1.0); s = x + y; s.backward(); print(s.data, x.grad, y.grad)\n",
    )
    assert out.splitlines() == ["0.5 2.0 1.0"]
    assert err.count(NOTICE) == 1 and "ADD was edited" in err
    for copy in ("Value.__add__", "Value.__radd__", "Value.backward"):
        assert copy in err.split("running engine.py's")[1]


def test_an_edit_of_comments_blank_lines_or_docstrings_sets_nothing_aside(tmp_path):
    commented = ADD_METHOD.replace("\n        return", "\n\n        # my note: + is the rule ADD\n        return")
    old_doc = '"""e^x; ∂/∂x = e^x."""'
    out, err = run_copy(
        tmp_path,
        [(ADD_METHOD, commented), (old_doc, '"""e to the x; its own derivative."""')],
        "from autograd import _fast, engine\n"
        "print(engine.ACCELERATED, _fast.SET_ASIDE, engine.Value.__add__ is _fast.__add__)\n",
    )
    assert out.splitlines() == ["True [] True"]
    assert err == ""


def test_an_unedited_copy_prints_nothing_and_runs_every_copy(tmp_path):
    out, err = run_copy(
        tmp_path,
        [],
        "from autograd import _fast, engine\n"
        "V = engine.Value\n"
        "print(_fast.SET_ASIDE, V.__add__ is _fast.__add__, V.backward is _fast.backward, "
        "engine.dot is _fast.dot, engine._accumulate is _fast._accumulate)\n",
    )
    assert out.splitlines() == ["[] True True True True"]
    assert err == ""


def test_pure_runs_the_edited_reference_alone_and_quietly(tmp_path):
    edited = ADD_METHOD.replace('return ADD(self, _checked(other, "+"))', 'print("my add"); return self * other')
    out, err = run_copy(
        tmp_path,
        [(ADD_METHOD, edited)],
        "from autograd import Value, engine\nprint(engine.ACCELERATED, (Value(3.0) + 4).data)\n",
        pure=True,
    )
    assert out.splitlines() == ["my add", "False 12.0"]
    assert err == ""


# ---- the fingerprints themselves

BASE = '''
def f(x, y=2):
    """Add."""
    z = x + y  # sum
    return f"{z!r:>{y}}"
'''


@pytest.mark.parametrize(
    "same",
    [
        BASE.replace("  # sum", ""),  # a comment
        BASE.replace("    z = x + y", "\n    z = x+y\n"),  # blank lines and spacing
        BASE.replace('"""Add."""', '"""Add x and y."""'),  # the docstring
        BASE.replace("z = x + y", "z = (x\n         + y)"),  # layout over two lines
    ],
)
def test_layout_comments_and_docstrings_keep_the_fingerprint(same):
    assert _fast.fingerprints(same) == _fast.fingerprints(BASE)


@pytest.mark.parametrize(
    "edit",
    [
        ("x + y", "x * y"),
        ("y=2", "y=3"),
        ("return", "print(z); return"),
        ("!r", "!s"),
        (":>", ":<"),
        ("z = x + y", "z = y + x"),
    ],
)
def test_any_code_edit_changes_the_fingerprint(edit):
    assert _fast.fingerprints(BASE.replace(*edit))["f"] != _fast.fingerprints(BASE)["f"]


def other_pythons():
    """Other Python interpreters on this machine (each version once), to compare fingerprints across."""
    found = {}
    candidates = [shutil.which(f"python3.{minor}") for minor in range(9, 15)]
    candidates += [str(p) for p in pathlib.Path("/usr/bin").glob("python3.[0-9]*") if p.name.count(".") == 1]
    candidates += [str(p) for p in pathlib.Path.home().glob(".pyenv/versions/3.*/bin/python3")]
    for path in filter(None, candidates):
        result = subprocess.run(
            [path, "-c", "import sys; print(*sys.version_info[:3])"], capture_output=True, text=True, timeout=60
        )
        version = tuple(int(part) for part in result.stdout.split()) if result.returncode == 0 else ()
        if version >= (3, 9) and version != sys.version_info[:3]:
            found.setdefault(".".join(map(str, version)), path)
    return found


def test_fingerprints_are_the_same_on_every_python_here():
    # Debian's 3.11.2 and pyenv's 3.9-3.13 where installed; CI runs the contract test on its own version.
    pythons = other_pythons()
    if not pythons:
        pytest.skip("no other Python version on this machine to compare with")
    code = (
        "import sys, json, pathlib; sys.path.insert(0, sys.argv[1]); from autograd import _fast\n"
        "files = sorted(pathlib.Path(sys.argv[1], 'autograd').glob('*.py'))\n"
        "print(json.dumps({f.name: _fast.fingerprints(f.read_bytes()) for f in files}, sort_keys=True))\n"
    )
    root = str(PACKAGE.parent)
    here = subprocess.run([sys.executable, "-c", code, root], capture_output=True, text=True, timeout=120)
    assert here.returncode == 0, here.stderr
    for version, path in pythons.items():
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        there = subprocess.run([path, "-c", code, root], capture_output=True, text=True, timeout=120, env=env)
        assert there.returncode == 0, (version, there.stderr)
        assert there.stdout == here.stdout, version


def test_an_edit_to_a_helper_a_copy_inlines_runs_too(tmp_path):
    # RELU's partial is cases.step(x); the accelerated relu inlines it. The learner makes relu's slope 2.
    old = "    return 1.0 * (_number(x) > 0)\n"
    out, err = run_copy(
        tmp_path,
        [(old, "    return 2.0 * (_number(x) > 0)\n")],
        "from autograd import Value\nx = Value(3.0); x.relu().backward(); print(x.grad)\n",
        file="cases.py",
    )
    assert out.split() == ["2.0"]  # the edited slope, for x = 3 > 0
    assert err.startswith("stepgrad: autograd/cases.py's step was edited;") and "Value.relu" in err, err


def test_an_edit_to_the_topological_order_runs_in_backward(tmp_path):
    # backward()'s walk is graph.topological_order; the accelerated backward has its own walk, set aside.
    old = "def topological_order(root: Any, leaves: bool = True) -> list[Any]:\n"
    doc_end = '    """Every node ``root`` depends on, parents before children, ``root`` last.\n'
    out, err = run_copy(
        tmp_path,
        [(old + doc_end, old + doc_end.replace("last.\n", 'last."""\n    print("my order")\n    """'))],
        "from autograd import Value\nx = Value(2.0); y = x * x; y.backward(); print(x.grad)\n",
        file="graph.py",
    )
    assert out.splitlines() == ["my order", "4.0"]  # d(x²)/dx = 2x = 4
    assert "autograd/graph.py's topological_order was edited" in err and "Value.backward" in err, err


def test_the_source_shown_for_an_accelerated_method_is_the_reference():
    # inspect.getsource (and Jupyter's ??) follow __wrapped__ to the definition a learner reads and edits.
    import inspect

    from autograd import Value, engine, sum_values

    if not engine.ACCELERATED:
        pytest.skip("the reference alone: there is no copy to see through")
    for shown in (Value.backward, Value.__add__, Value.relu, sum_values):
        assert inspect.getsourcefile(inspect.unwrap(shown)) != inspect.getsourcefile(_fast), shown
        assert inspect.getsource(shown) == inspect.getsource(inspect.unwrap(shown))
