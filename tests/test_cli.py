"""Tests for the command line's graph and steps (nn.cli, run as ``python -m nn``), end to end in subprocesses.

Printed values and gradients are checked against sympy's exact derivatives; SVG files are
parsed as XML; every refusal is checked for its one-line message, its exit status, the
absence of a traceback and the absence of the output file. Graphviz's real ``dot`` is used,
and hidden from PATH for the missing-Graphviz case. The demo's tests are in test_demo.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from oracles import close, sympy_derivative, sympy_module, sympy_value
from scratch_files import fifo_with_reader

from nn import cli

sp = sympy_module()
SVG = "{http://www.w3.org/2000/svg}"
NEURON = "tanh(x1*w1 + x2*w2 + b)"
NEURON_AT = "x1=2,w1=-3,x2=0,w2=1,b=6.8813735870195432"
needs_dot = pytest.mark.needs("dot")


def stepgrad(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m nn ARGS`` (the ``stepgrad`` command) in ``cwd``; the finished process (text, UTF-8)."""
    environment = dict(os.environ if env is None else env)
    environment["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "nn", *args],
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
def test_edge_labels_show_the_local_derivatives(tmp_path):
    result = stepgrad("graph", "x*y + x", "--at", "x=2,y=-3", "--edge-labels", "-o", "g.svg", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = ET.parse(tmp_path / "g.svg").getroot()
    labels = sorted(
        (text.text or "").strip()
        for group in root.iter(f"{SVG}g")
        if group.get("class") == "edge"
        for text in group.iter(f"{SVG}text")
    )
    # ∂(x·y)/∂x = y = -3, ∂(x·y)/∂y = x = 2, and 1 for each operand of the sum
    assert labels == ["-3.0000", "1.0000", "1.0000", "2.0000"]
    plain = stepgrad("graph", "x*y + x", "--at", "x=2,y=-3", "-o", "plain.svg", cwd=tmp_path)
    assert plain.returncode == 0 and "-3.0000" not in (tmp_path / "plain.svg").read_text()


@needs_dot
@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG\r\n\x1a\n"), (".PDF", b"%PDF-")])
def test_the_output_suffix_chooses_the_format(tmp_path, suffix, magic):
    result = stepgrad("graph", "tanh(x*w + b)", "--at", "x=2,w=-3,b=6.88", "-o", f"g{suffix}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"wrote g{suffix}" in result.stdout
    data = (tmp_path / f"g{suffix}").read_bytes()
    assert data.startswith(magic) and b"<svg" not in data
    if suffix == ".png":
        import matplotlib.image

        image = matplotlib.image.imread(tmp_path / "g.png")
        assert image.shape[1] > 300 and image[:, :, :3].std() > 0.05  # a real picture, not blank


@needs_dot
def test_unknown_suffix_is_refused_before_anything_is_drawn(tmp_path):
    for name in ("g.jpg", "g.svg.txt", "graph"):
        result = stepgrad("graph", "x*2", "--at", "x=1", "-o", name, cwd=tmp_path)
        assert_refused(result, f"-o/--output {name!r}: cannot tell the format from ")
        assert "end the name with .svg, .png, .pdf (or write SVG to stdout with -o -)" in result.stderr
    assert list(tmp_path.iterdir()) == []


@needs_dot
@pytest.mark.parametrize("target", ["-", "stdout-link"])
def test_output_to_stdout_is_the_svg_alone_and_the_numbers_go_to_stderr(tmp_path, target):
    # "stdout-link" points at /proc/self/fd/1 as /dev/stdout does (the tests never touch the real /dev)
    (tmp_path / "stdout-link").symlink_to("/proc/self/fd/1")
    result = stepgrad("graph", "x*y", "--at", "x=2,y=-3", "-o", target, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = ET.fromstring(result.stdout.encode("utf-8"))  # stdout is exactly one SVG document
    assert root.tag == f"{SVG}svg"
    assert result.stderr == "f = -6.0\n∂f/∂x = -3.0\n∂f/∂y = 2.0\n"  # ∂(xy)/∂x = y, ∂/∂y = x; no "wrote"
    assert (tmp_path / "stdout-link").is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["stdout-link"]


@needs_dot
def test_the_steps_page_to_stdout_and_the_trace_to_stderr(tmp_path):
    result = stepgrad("steps", "x*y", "--at", "x=2,y=-3", "--html", "-", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.lstrip().lower().startswith("<!doctype html") and result.stdout.rstrip().endswith("</html>")
    assert result.stderr.startswith("f = -6.0\n\nbackward pass of f") and "wrote" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@needs_dot
def test_a_named_pipe_is_written_directly(tmp_path):
    fifo, received = fifo_with_reader(tmp_path)
    result = stepgrad("graph", "x*2", "--at", "x=1", "-o", str(fifo), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert ET.fromstring(received()).tag == f"{SVG}svg"
    assert f"wrote {fifo}" in result.stdout  # it did reach the pipe
    assert fifo.is_fifo() and sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


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
    assert "<title>stepgrad: the backward pass of f = tanh(x1*w1 + x2*w2 + b)</title>" in page
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
    ("__import__('os').system('touch pwned')", "\"__import__('os').system\" is not allowed"),
    ("x.__class__", "'x.__class__' is not allowed"),
    ("(lambda: 1)()", "'lambda: 1' is not allowed"),
    ("[x][0]", "'[x][0]' is not allowed"),
    ("2(x+1)", "calling an expression is not allowed (did you mean 2*(x+1)?)"),
    ("(x+1)(x-1)", "calling an expression is not allowed (did you mean (x+1)*(x-1)?)"),
    ("sqrt(x)(x)", "calling an expression is not allowed (did you mean sqrt(x)*(x)?)"),
    ("1if x else 2", "'1if x else 2' is not allowed"),  # and Python's SyntaxWarning is not printed
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
    ("tahn(x)", "calling 'tahn' is not allowed (did you mean tanh?): the functions are"),
    ("sin x", "invalid syntax at column 5 in 'sin x'; functions need parentheses: sin(x)"),
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


def test_the_length_limit_is_for_all_at_flags_together(tmp_path):
    # 20 flags of 601 characters, each far under the limit: 12,020 characters in all
    flags = [arg for k in range(20) for arg in ("--at", f"v{k:02d}=" + "1" * 597)]
    result = stepgrad("steps", "v00", *flags, cwd=tmp_path)
    assert_refused(result, "--at is 12020 characters long in all; the limit is 10000")
    many = ",".join(f"v{k}=1" for k in range(1001))  # 1001 variables in 8,891 characters
    result = stepgrad("steps", "v0", "--at", many, cwd=tmp_path)
    assert_refused(result, "--at binds more than 1000 variables; the limit is 1000")


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "the following arguments are required: COMMAND"),
        (["draw", "x"], "argument COMMAND: invalid choice: 'draw'"),
        (["graph"], "the following arguments are required: EXPR"),
        (["graph", "-x*y", "--at", "x=1,y=2"], "an EXPR that starts with '-' needs parentheses or a leading space"),
        (["graph", "x", "--at", "x=1", "--rankdir", "XY"], "argument --rankdir: invalid choice: 'XY'"),
        (["steps", "x", "--bogus"], "unrecognized arguments: --bogus"),
        (
            ["steps", "x*y", "--at", "x=1", "y=2"],
            "unrecognized arguments: y=2; bind the variables with one --at, NAME=VALUE pairs joined by commas "
            "without spaces: --at x=1,y=2",
        ),
        (["steps", "x*y", "--at", "x=1,", "y=2", "--at=z=3", "w=4"], "without spaces: --at x=1,z=3,y=2,w=4"),
        (["graph", "x", "--at", "x=1", "-o", "g.jpg"], "-o/--output 'g.jpg': cannot tell the format from .jpg; end"),
        (["graph", "x", "--at", "x=1", "-o", "graph"], "cannot tell the format from a name without a suffix"),
    ],
)
def test_usage_errors_are_one_line(tmp_path, args, message):
    result = stepgrad(*args, cwd=tmp_path)
    assert_refused(result, message)
    assert result.stderr.count("\n") == 1


def test_a_missing_expr_gets_no_hint_about_a_leading_minus(tmp_path):
    result = stepgrad("graph", "--at", "x=1", "-o", "-", cwd=tmp_path)
    assert (
        result.stderr == "stepgrad: error: the following arguments are required: EXPR (see 'stepgrad graph --help')\n"
    )
    result = stepgrad("steps", "-x", "--at", "x=1", cwd=tmp_path)  # here the hint names what was read as an option
    assert_refused(result, "required: EXPR; '-x' was read as an option: an EXPR that starts with '-' needs paren")


def test_steps_names_intermediates_in_the_order_they_are_computed_and_writes_division_infix(tmp_path):
    result = stepgrad("steps", "x*y + sin(x)", "--at", "x=2,y=-3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    formulas = re.findall(r"^step \d+/\d+: (.*?),", result.stdout, re.M)
    assert formulas == ["f = v1 + v2", "v1 = x * y", "v2 = sin(x)"]  # was f = v3 + v1, v3 = x * y, v1 = sin(x)
    result = stepgrad("steps", "x/y + x", "--at", "x=2,y=-3", cwd=tmp_path)
    assert re.findall(r"^step \d+/\d+: (.*?),", result.stdout, re.M) == ["f = v1 + x", "v1 = x / y"]  # was /(x, y)
    assert "∂f/∂y += ∂f/∂v1 · ∂v1/∂y = 1.0000 × -0.2222 = -0.2222" in result.stdout  # ∂(x/y)/∂y = -x/y² = -2/9


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
    assert_refused(result, "draw_dot: the graph has more than max_nodes=1000 nodes")  # draw_dot's own check
    assert not (tmp_path / "graph.svg").exists()
    assert list(tmp_path.iterdir()) == []


def test_a_page_has_no_step_cap(tmp_path):
    # the page is one drawing and every step's change: 201 steps (once refused over 200) make a small page
    text = "x" + "*x" * 201
    result = stepgrad("steps", text, "--at", "x=1", "--html", "s.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "s.html").read_text(encoding="utf-8")
    assert '"count":201,' in page and page.count("<svg") == 1 and len(page) < 3_000_000


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
        [sys.executable, "-m", "nn", *command, "--at", "x=1"],
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


# --------------------------------------------------------------------------- in process


def test_main_returns_exit_statuses(capsys):
    assert cli.main(["steps", "x**2", "--at", "x=3"]) == 0
    assert "∂f/∂x = 6.0" in capsys.readouterr().out  # d(x²)/dx = 2x
    assert cli.main(["steps", "x.y", "--at", "x=3"]) == 2
    assert capsys.readouterr().err.startswith("stepgrad: error: 'x.y' is not allowed: use numbers")
    assert cli.main(["--help"]) == 0
    shown = capsys.readouterr().out
    assert all(f"    {command} " in shown for command in ("demo", "graph", "steps"))
    assert cli.main(["graph"]) == 2


def test_a_missing_viz_extra_is_one_line_with_the_pip_command(tmp_path):
    # `pip install stepgrad` without extras has no graphviz package: the same hint as the demo's
    code = (
        "import sys; sys.modules['graphviz'] = None\n"  # import graphviz now raises ImportError
        "from nn.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    for args, what in (
        (["graph", "x*2", "--at", "x=1", "-o", "g.svg"], "stepgrad graph"),
        (["steps", "x*2", "--at", "x=1", "--html", "s.html"], "stepgrad steps --html"),
    ):
        result = subprocess.run(
            [sys.executable, "-c", code, *args], cwd=tmp_path, capture_output=True, text=True, timeout=30
        )
        assert_refused(result, f"{what} needs the Python package(s) graphviz: install them with pip install", 1)
        assert result.stderr.rstrip("\n").endswith("pip install 'stepgrad[viz]'")
    result = subprocess.run(
        [sys.executable, "-c", code, "steps", "x*2", "--at", "x=1"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0 and "∂f/∂x = 2.0" in result.stdout  # the text trace needs no graphviz
    assert list(tmp_path.iterdir()) == []


def test_a_closed_output_pipe_ends_quietly():
    # what `stepgrad steps ... | head -1` meets once head has gone: exit 1, no traceback, nothing on stderr
    code = (
        "import sys\nfrom nn import cli\n"
        "def closed(args): raise BrokenPipeError(32, 'Broken pipe')\n"
        "cli.run_steps = closed\n"
        "sys.exit(cli.main(['steps', 'x', '--at', 'x=1']))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and result.stderr == ""


def test_interrupt_is_one_line(capsys, monkeypatch):
    def interrupted(args) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_steps", interrupted)
    assert cli.main(["steps", "x", "--at", "x=1"]) == 130
    assert capsys.readouterr().err == "stepgrad: error: interrupted\n"


def test_graph_and_steps_import_no_optional_package():
    code = (
        "import sys; from nn import cli; cli.main(['steps', 'x*y', '--at', 'x=1,y=2']); "
        "heavy = ('graphviz', 'numpy', 'torch', 'ipywidgets', 'matplotlib', 'tqdm', 'sympy'); "
        "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.stderr.strip() == "[]", result.stderr


# --------------------------------------------------------------------------- a value used all along a chain


@needs_dot
@pytest.mark.parametrize(
    "op, formula",
    [("+", lambda x: 500 * x), ("*", lambda x: x**500), ("**", None)],
    ids=["sum", "product", "tower"],
)
def test_a_value_used_500_times_along_a_chain_is_drawn_fast(tmp_path, op, formula):
    # x+x+…+x (500 terms, 1,000 characters) once ran dot for its whole 60 s and ended in a traceback: each
    # use is now an edge from a small box naming x again, and x is drawn once, with its numbers
    text = op.join(["x"] * 500)
    result = stepgrad("graph", text, "--at", "x=1.0001", "-o", "chain.svg", cwd=tmp_path)  # 30 s subprocess limit
    assert result.returncode == 0, result.stderr
    value, grads = printed_numbers(result.stdout)
    if formula is not None:
        expected_value, expected_grads = sympy_reference(formula, ["x"], [1.0001])
        assert close(value, expected_value, rel=1e-12) and close(grads["x"], expected_grads["x"], rel=1e-10)
    root = ET.parse(tmp_path / "chain.svg").getroot()
    records = [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    named_x = [[(t.text or "").strip() for t in g.iter(f"{SVG}text")] for g in records]
    assert sum(texts[:1] == ["x"] and len(texts) == 3 for texts in named_x) == 1  # x's record, once
    assert sum(texts == ["x"] for texts in named_x) >= 490  # x named again beside its far uses


def test_a_layout_timeout_is_one_line_exit_2(capsys, monkeypatch):
    from autograd.layout import LayoutTimeout
    from autograd.views import drawing as viz

    def too_slow(*args, **kwargs):
        raise LayoutTimeout("Graphviz's dot took more than 60 s to lay out 3 values and was stopped; ...")

    monkeypatch.setattr(viz, "run_dot", too_slow)
    assert cli.main(["graph", "x*y", "--at", "x=1,y=2", "-o", os.devnull]) == 2
    error = capsys.readouterr().err
    assert error.startswith("stepgrad: error: Graphviz's dot took more than 60 s") and error.count("\n") == 1
    assert "draw a smaller expression" in error and "timeout=" not in error
    assert cli.main(["steps", "x*y", "--at", "x=1,y=2", "--html", os.devnull]) == 2
    assert capsys.readouterr().err.startswith("stepgrad: error: Graphviz's dot took more than 60 s")
