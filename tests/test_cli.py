"""Tests for the command line (autograd.cli, ``python -m autograd``), run end to end in subprocesses.

Printed values and gradients are checked against sympy's exact derivatives; SVG files are
parsed as XML; every refusal is checked for its one-line message, its exit status, the
absence of a traceback and the absence of the output file. Graphviz's real ``dot`` is used,
and hidden from PATH for the missing-Graphviz case.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from oracles import close, sympy_derivative, sympy_module, sympy_value

from autograd import cli

sp = sympy_module()
SVG = "{http://www.w3.org/2000/svg}"
NEURON = "tanh(x1*w1 + x2*w2 + b)"
NEURON_AT = "x1=2,w1=-3,x2=0,w2=1,b=6.8813735870195432"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


def stepgrad(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m autograd ARGS`` in ``cwd`` and return the finished process (text, UTF-8)."""
    environment = dict(os.environ if env is None else env)
    environment["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "autograd", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def printed_numbers(stdout: str) -> tuple[float, dict[str, float]]:
    """The value line ``f = v`` and the gradient lines ``∂f/∂name = g`` of the output."""
    value = float(re.search(r"^f = (\S+)$", stdout, re.M).group(1))
    grads = {name: float(number) for name, number in re.findall(r"^∂f/∂(\w+) = (\S+)$", stdout, re.M)}
    return value, grads


def sympy_reference(formula, names: list[str], point: list[float]) -> tuple[float, dict[str, float]]:
    symbols = [sp.Symbol(name, real=True) for name in names]
    expression = formula(*symbols)
    value = sympy_value(expression, symbols, point)
    grads = {name: sympy_derivative(expression, [s], symbols, point) for name, s in zip(names, symbols)}
    return value, grads


def neuron_reference() -> tuple[float, dict[str, float]]:
    return sympy_reference(
        lambda x1, w1, x2, w2, b: sp.tanh(x1 * w1 + x2 * w2 + b),
        ["x1", "w1", "x2", "w2", "b"],
        [2.0, -3.0, 0.0, 1.0, 6.8813735870195432],
    )


def svg_texts(path: Path) -> list[str]:
    """All text elements of an SVG file, parsed as XML, in document order."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return [(element.text or "").strip() for element in root.iter(f"{SVG}text")]


def svg_size(path: Path) -> tuple[float, float]:
    """The drawing's natural width and height (its viewBox: saved SVGs are width="100%", fitting the window)."""
    _, _, width, height = (float(v) for v in ET.parse(path).getroot().get("viewBox").split())
    return width, height


def assert_refused(result: subprocess.CompletedProcess, message: str, status: int = 2) -> None:
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("stepgrad: error: ")
    assert message in result.stderr
    assert result.stdout == ""


# --------------------------------------------------------------------------- stepgrad graph


@needs_dot
def test_graph_prints_sympy_gradients_and_writes_svg_with_the_labels(tmp_path):
    result = stepgrad("graph", NEURON, "--at", NEURON_AT, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    value, grads = printed_numbers(result.stdout)
    expected_value, expected_grads = neuron_reference()
    assert close(value, expected_value, rel=1e-12)
    assert set(grads) == set(expected_grads)
    for name, expected in expected_grads.items():
        assert close(grads[name], expected, rel=1e-12, abs_=1e-13), (name, grads[name], expected)
    assert "wrote graph.svg" in result.stdout  # the default file, in the current folder

    texts = svg_texts(tmp_path / "graph.svg")
    for name in ["x1", "w1", "x2", "w2", "b", "f"]:
        i = texts.index(name)  # a record: label | data | grad
        assert texts[i + 1].startswith("data ") and texts[i + 2].startswith("grad ")
    # the drawn gradients are the sympy ones, to the 4 decimals the drawing shows
    assert texts[texts.index("x1") + 2] == f"grad {expected_grads['x1']:.4f}"  # -1.5000
    assert texts[texts.index("w1") + 2] == f"grad {expected_grads['w1']:.4f}"  # 1.0000
    assert texts[texts.index("f") + 1] == f"data {expected_value:.4f}"  # 0.7071
    assert "tanh" in texts


@needs_dot
def test_graph_output_file_and_rankdir(tmp_path):
    chain = "exp(sin(cos(x)))"  # a chain: long along the layout direction
    wide = stepgrad("graph", chain, "--at", "x=0.5", "-o", "lr.svg", cwd=tmp_path)
    assert wide.returncode == 0, wide.stderr
    (tmp_path / "sub").mkdir()
    target = tmp_path / "sub" / "tb.svg"
    tall = stepgrad("graph", chain, "--at", "x=0.5", "--output", str(target), "--rankdir", "tb", cwd=tmp_path)
    assert tall.returncode == 0, tall.stderr
    assert f"wrote {tmp_path / 'sub' / 'tb.svg'}" in tall.stdout
    width, height = svg_size(tmp_path / "lr.svg")
    assert width > 2 * height  # left to right
    width, height = svg_size(tmp_path / "sub" / "tb.svg")
    assert height > 1.5 * width  # top to bottom
    assert "x" in svg_texts(tmp_path / "sub" / "tb.svg")


@needs_dot
def test_graph_of_several_operations_matches_sympy(tmp_path):
    text = "x*y + sin(x)/exp(y) + sqrt(x**2 + y**2) - 2**x + leaky_relu(0 - x, 0.2) + abs(y)"
    result = stepgrad("graph", text, "--at", "x=1.3", "--at", "y=-0.7", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    value, grads = printed_numbers(result.stdout)
    expected_value, expected_grads = sympy_reference(
        lambda x, y: (
            x * y
            + sp.sin(x) / sp.exp(y)
            + sp.sqrt(x**2 + y**2)
            - 2**x
            + sp.Piecewise((-x, -x > 0), (sp.Rational(1, 5) * -x, True))
            + sp.Abs(y)
        ),
        ["x", "y"],
        [1.3, -0.7],
    )
    assert close(value, expected_value, rel=1e-12)
    for name, expected in expected_grads.items():
        assert close(grads[name], expected, rel=1e-12), (name, grads[name], expected)


# --------------------------------------------------------------------------- stepgrad steps


@needs_dot
def test_steps_prints_the_chain_rule_trace_and_writes_the_html_page(tmp_path):
    result = stepgrad("steps", NEURON, "--at", NEURON_AT, "--html", "steps.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    value, grads = printed_numbers(out)
    expected_value, expected_grads = neuron_reference()
    assert close(value, expected_value, rel=1e-12)
    for name, expected in expected_grads.items():
        assert close(grads[name], expected, rel=1e-12, abs_=1e-13)
    # value first, then the trace, then the gradients
    assert out.index("f = ") < out.index("step 1/") < out.index("gradients:") < out.index("∂f/∂x1 = ")
    # tanh, +, +, *, * : five non-leaf nodes, each one step
    assert re.findall(r"^step (\d+)/(\d+):", out, re.M) == [(str(k), "5") for k in range(1, 6)]
    # hand-computed chain rule: ∂f/∂n = 1 - tanh²(n) = 0.5; ∂f/∂w1 = 0.5 · x1 = 1; ∂f/∂x1 = 0.5 · w1 = -1.5
    assert re.search(r"^step 1/5: f = tanh\(\w+\), ∂f/∂f = 1\.0000$", out, re.M)
    assert re.search(r"^  ∂f/∂w1 \+= ∂f/∂\w+ · ∂\w+/∂w1 = 0\.5000 × 2\.0000 = 1\.0000 .*→ 1\.0000\)$", out, re.M)
    assert re.search(r"^  ∂f/∂x1 \+= ∂f/∂\w+ · ∂\w+/∂x1 = 0\.5000 × -3\.0000 = -1\.5000 .*→ -1\.5000\)$", out, re.M)
    assert "wrote steps.html" in out

    page = (tmp_path / "steps.html").read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
    assert '"count":5,' in page and page.count("<svg") == 1  # one drawing, five steps applied to it
    assert "∂f/∂w1 += " in page


def test_steps_without_html_needs_no_graphviz(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path / "empty-bin"))
    result = stepgrad("steps", "x*x*x", "--at", "x=3", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    _, grads = printed_numbers(result.stdout)
    assert grads == {"x": 27.0}  # d(x³)/dx = 3x² = 27
    assert list(tmp_path.iterdir()) == []


def test_the_output_is_renamed_when_a_variable_is_called_f(tmp_path):
    result = stepgrad("steps", "f*f1*2", "--at", "f=3,f1=5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("f2 = 30.0\n")
    assert "∂f2/∂f = 10.0\n∂f2/∂f1 = 6.0" in result.stdout  # ∂(2 f f1)/∂f = 2 f1, ∂/∂f1 = 2 f


def test_constant_expression(tmp_path):
    result = stepgrad("steps", "2*3 - 1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("f = 5.0\n")
    assert "(no variables: EXPR is a constant)" in result.stdout


# --------------------------------------------------------------------------- refusals


HOSTILE = [
    ("__import__('os').system('touch pwned')", "attribute access \"__import__('os').system\" is not allowed"),
    ("x.__class__", "attribute access 'x.__class__' is not allowed"),
    ("(lambda: 1)()", "lambda expression 'lambda: 1' is not allowed"),
    ("[x][0]", "subscript '[x][0]' is not allowed"),
    ("open('pwned', 'w')", "calling 'open' is not allowed"),
    ("9**9**9**9", "cannot evaluate '9**9**9': '**' overflows to inf"),
    ("(" * 5000 + "x" + ")" * 5000, "the expression is 10001 characters long; the limit is 10000"),
    ("(" * 150 + "x" + ")" * 150, "the expression nests brackets 150 deep; the limit is 100"),
    ("+" * 3000 + "x", "the expression has 3000 operators; the limit is 1000"),
    # one command-line argument is at most 128 KiB on Linux; the 1 MB case is in test_expr.py
    ("x" * 100_000, "the expression is 100000 characters long; the limit is 10000"),
    ("x + y", "unknown name 'y': bind it with --at y=..."),
    ("log(0 - x)", "cannot evaluate 'log(0 - x)': log() of -2.0 is undefined"),
    ("x / (x - 2)", "cannot evaluate 'x / (x - 2)': division by zero"),
    ("x +", "invalid syntax in 'x +'"),
]


@pytest.mark.parametrize("command", ["graph", "steps"])
@pytest.mark.parametrize("text, message", HOSTILE, ids=[repr(case[0])[:24] for case in HOSTILE])
def test_hostile_and_absurd_expressions_are_refused_without_writing(tmp_path, command, text, message):
    output = ["-o", "out.svg"] if command == "graph" else ["--html", "out.html"]
    result = stepgrad(command, text, "--at", "x=2", *output, cwd=tmp_path)
    assert_refused(result, message)
    assert result.stderr.count("\n") == 1  # one line
    assert list(tmp_path.iterdir()) == []  # no output file, no 'pwned'


@pytest.mark.parametrize(
    "at, message",
    [
        ("x=abc", "--at entry 'x=abc': the value of 'x' must be a number, got 'abc'"),
        ("x=1,x=2", "--at binds 'x' twice"),
        ("x=inf", "the value of 'x' must be finite, got inf"),
        ("exp=1", "'exp' is a function name; pick another variable name"),
        ("x", "--at entry 'x' is not of the form name=value"),
        ("1x=1", "'1x' is not a valid variable name"),
    ],
)
def test_bad_bindings_are_refused(tmp_path, at, message):
    result = stepgrad("graph", "x", "--at", at, "-o", "out.svg", cwd=tmp_path)
    assert_refused(result, message)
    assert not (tmp_path / "out.svg").exists()


def test_the_same_name_in_two_at_flags_is_refused(tmp_path):
    result = stepgrad("steps", "x", "--at", "x=1", "--at", "y=2,x=3", cwd=tmp_path)
    assert_refused(result, "--at binds 'x' twice")


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "the following arguments are required: COMMAND"),
        (["draw", "x"], "argument COMMAND: invalid choice: 'draw'"),
        (["graph"], "the following arguments are required: EXPR"),
        (["graph", "-x*y", "--at", "x=1,y=2"], "an EXPR that starts with '-' needs parentheses or a leading space"),
        (["graph", "x", "--at", "x=1", "--rankdir", "XY"], "argument --rankdir: invalid choice: 'XY'"),
        (["steps", "x", "--bogus"], "unrecognized arguments: --bogus"),
        (["demo"], "the demo lives in the nn package: run `stepgrad demo` instead"),
    ],
)
def test_usage_errors_are_one_line(tmp_path, args, message):
    result = stepgrad(*args, cwd=tmp_path)
    assert_refused(result, message)
    assert result.stderr.count("\n") == 1


def test_expression_starting_with_minus_works_with_a_leading_space(tmp_path):
    result = stepgrad("steps", " -x*y", "--at", "x=1.5,y=2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    value, grads = printed_numbers(result.stdout)
    assert value == -3.0 and grads == {"x": -2.0, "y": -1.5}  # ∂(-xy)/∂x = -y, ∂/∂y = -x


def test_output_path_errors(tmp_path):
    (tmp_path / "folder").mkdir()
    result = stepgrad("graph", "x*2", "--at", "x=1", "-o", "folder", cwd=tmp_path)
    assert_refused(result, "-o/--output 'folder' is a folder; give a file name")
    result = stepgrad("steps", "x*2", "--at", "x=1", "--html", "missing/steps.html", cwd=tmp_path)
    assert_refused(result, "--html 'missing/steps.html': the folder 'missing' does not exist")
    result = stepgrad("graph", "x*2", "--at", "x=1", "-o", "", cwd=tmp_path)
    assert_refused(result, "-o/--output needs a file name")
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]
    assert list((tmp_path / "folder").iterdir()) == []


def test_too_big_to_draw_is_refused_before_graphviz(tmp_path):
    text = "x" + "+1" * 600  # 600 additions, each with its own constant leaf: 1201 values
    result = stepgrad("graph", text, "--at", "x=1", cwd=tmp_path)
    assert_refused(result, "the graph of EXPR has 1201 values, more than the 1000 a drawing allows")
    assert not (tmp_path / "graph.svg").exists()
    text = "x" + "*x" * 201  # 201 multiplications: 201 steps
    result = stepgrad("steps", text, "--at", "x=1", "--html", "s.html", cwd=tmp_path)
    assert_refused(result, "--html draws one graph per step; this expression has 201 steps, the limit is 200")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- Graphviz missing


def path_without_dot(tmp_path: Path) -> dict[str, str]:
    """The environment with every PATH directory that holds a ``dot`` program left out."""
    folders = [folder for folder in os.environ.get("PATH", "").split(os.pathsep) if folder]
    kept = [folder for folder in folders if not (Path(folder) / "dot").exists()]
    kept.append(str(tmp_path / "no-dot-here"))
    return dict(os.environ, PATH=os.pathsep.join(kept))


@needs_dot
@pytest.mark.parametrize("command", [["graph", "x*2", "-o", "g.svg"], ["steps", "x*2", "--html", "s.html"]])
def test_missing_graphviz_gives_install_instructions_and_writes_nothing(tmp_path, command):
    env = path_without_dot(tmp_path)
    assert shutil.which("dot", path=env["PATH"]) is None
    result = subprocess.run(
        [sys.executable, "-m", "autograd", *command, "--at", "x=1"],
        cwd=tmp_path,
        env=dict(env, PYTHONIOENCODING="utf-8"),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("stepgrad: error: Graphviz's `dot` program was not found on PATH")
    assert "apt-get install graphviz" in result.stderr and "brew install graphviz" in result.stderr
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- extending the parser (nn's demo)


def test_another_package_can_add_a_subcommand(capsys):
    parser, subcommands = cli.build_parser()
    demo = subcommands.add_parser("demo", help="train and draw")
    demo.add_argument("--steps", type=int, default=3)
    calls = []

    def run_demo(args: argparse.Namespace) -> int:
        calls.append(args.steps)
        if args.steps < 0:
            raise cli.CommandError(f"--steps must be >= 0, got {args.steps}")
        return 0

    demo.set_defaults(handler=run_demo)
    assert cli.run(parser.parse_args(["demo", "--steps", "7"])) == 0
    assert calls == [7]
    assert cli.run(parser.parse_args(["demo", "--steps", "-1"])) == 2
    assert capsys.readouterr().err == "stepgrad: error: --steps must be >= 0, got -1\n"
    # the graph and steps commands still dispatch through the same run()
    assert cli.run(parser.parse_args(["steps", "x*3", "--at", "x=2"])) == 0
    assert "∂f/∂x = 3.0" in capsys.readouterr().out


def test_main_returns_exit_statuses(capsys):
    assert cli.main(["steps", "x**2", "--at", "x=3"]) == 0
    assert "∂f/∂x = 6.0" in capsys.readouterr().out  # d(x²)/dx = 2x
    assert cli.main(["steps", "x.y", "--at", "x=3"]) == 2
    assert capsys.readouterr().err == "stepgrad: error: attribute access 'x.y' is not allowed\n"
    assert cli.main(["--help"]) == 0
    assert "graph" in capsys.readouterr().out
    assert cli.main(["graph"]) == 2


def test_run_without_a_handler(capsys):
    assert cli.run(argparse.Namespace()) == 2
    assert capsys.readouterr().err == "stepgrad: error: no command given: use graph or steps (see 'stepgrad --help')\n"


def test_a_closed_output_pipe_ends_quietly():
    # what `stepgrad steps ... | head -1` raises once head has gone: exit 1, no traceback
    code = (
        "import argparse, sys\nfrom autograd import cli\n"
        "def closed(args): raise BrokenPipeError(32, 'Broken pipe')\n"
        "sys.exit(cli.run(argparse.Namespace(handler=closed)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and result.stderr == ""


def test_interrupt_is_one_line(capsys):
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    assert cli.run(argparse.Namespace(handler=interrupted)) == 130
    assert capsys.readouterr().err == "stepgrad: error: interrupted\n"


def test_cli_module_imports_only_the_standard_library_and_autograd():
    code = (
        "import sys; import autograd.cli; "
        "heavy = ('graphviz', 'nn', 'numpy', 'torch', 'ipywidgets', 'matplotlib', 'tqdm', 'sympy'); "
        "bad = sorted(m for m in heavy if m in sys.modules); "
        "print(bad)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "[]", result.stderr
