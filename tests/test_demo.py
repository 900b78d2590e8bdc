"""``stepgrad demo`` end to end in a subprocess, its files opened for real, and its error paths.

The demo runs once (module fixture) with the default steps and seed, exactly as a newcomer runs it.
Its numbers are checked against micrograd 0.1.0 running its own demo loop on the same 100 points
from the same initial weights (the ``micrograd_moons`` fixture, computed while the demo runs), never
against numbers the engine produced.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from browser import run_chromium
from conftest import require_tool

REPO = Path(__file__).resolve().parents[1]
SVG_NS = "{http://www.w3.org/2000/svg}"
DEMO_FILES = ["decision_boundary.png", "loss_curve.png", "neuron_graph.svg", "backprop_steps.html", "training.html"]


def stepgrad(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m nn ARGS`` (what the ``stepgrad`` console script runs) from the repository."""
    return subprocess.run(
        [sys.executable, "-m", "nn", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env
    )


def assert_one_line_error(result: subprocess.CompletedProcess, status: int, *fragments: str) -> None:
    assert result.returncode == status, (result.returncode, result.stderr)
    message = result.stderr.strip()
    assert "Traceback" not in result.stderr
    assert "\n" not in message, f"expected one line on stderr, got:\n{result.stderr}"
    assert message.startswith("stepgrad: error: "), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    """The demo's finished process and output folder; micrograd's oracle run is computed while it trains."""
    require_tool("dot")
    out = tmp_path_factory.mktemp("demo") / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "nn", "demo", "--out", str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        request.getfixturevalue("micrograd_moons")  # the other core's work meanwhile
        stdout, stderr = process.communicate(timeout=600)
    finally:
        process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), out


# --------------------------------------------------------------------------- the happy path


def test_demo_prints_micrographs_final_loss_and_accuracy(demo_run, micrograd_moons):
    result, _ = demo_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    their_losses, their_accuracies = micrograd_moons
    printed = re.search(r"^final loss (\S+) \(step 100's forward pass, as on the progress bar\)$", result.stdout, re.M)
    assert printed is not None, result.stdout
    assert abs(float(printed.group(1)) - their_losses[-1]) <= 0.5e-4  # micrograd's last loss, to the 4 decimals shown
    correct = round(their_accuracies[-1] * 100)
    expected = f"training accuracy {their_accuracies[-1] * 100:.1f} % ({correct} of 100 points)"
    assert re.search(rf"^{re.escape(expected)}$", result.stdout, re.M), (expected, result.stdout)


def test_the_progress_bar_ends_on_the_printed_loss_and_accuracy(demo_run):
    result, _ = demo_run
    # tqdm's bar on stderr ends at 100/100 steps with the loss and accuracy of step 100's forward pass
    bar = re.findall(r"100%\|.*\| 100/100 \[[^,]*, *[\d.]+step/s, loss=(\S+), acc=(\S+)%\]", result.stderr)
    assert bar, result.stderr[-500:]
    loss, accuracy = bar[-1]
    assert f"final loss {loss} " in result.stdout
    assert f"training accuracy {accuracy} % " in result.stdout


def test_demo_says_what_it_wrote_and_how_to_open_it(demo_run):
    result, out = demo_run
    assert f"wrote 5 files to {out.resolve()}/" in result.stdout
    for name in DEMO_FILES:
        assert re.search(rf"^  {re.escape(name)}\s+\S", result.stdout, re.M), name
    assert "open them" in result.stdout and (out.resolve() / "backprop_steps.html").as_uri() in result.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(DEMO_FILES)  # no temporary files left behind
    umask = os.umask(0)
    os.umask(umask)
    for name in DEMO_FILES:  # the permissions of a plain open(path, "w"), not a temporary file's 0600
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def _colour_share(image, rgb: tuple[float, float, float], tolerance: float = 0.03) -> float:
    """Fraction of pixels within ``tolerance`` of the colour ``rgb`` (channels in 0..1)."""
    import numpy as np

    distance = np.abs(image[:, :, :3] - np.asarray(rgb)).max(axis=2)
    return float((distance < tolerance).mean())


def test_decision_boundary_png_opens_and_shows_two_regions(demo_run):
    import matplotlib.image
    import numpy as np

    _, out = demo_run
    image = matplotlib.image.imread(out / "decision_boundary.png")
    assert image.shape == (520, 640, 4)  # 6.4 × 5.2 inches at 100 dpi, RGBA
    assert image[:, :, :3].std() > 0.05  # not blank
    # the two regions are the fill colours at alpha 0.8 over white: 0.8·c + 0.2
    orange = tuple(0.8 * c / 255 + 0.2 for c in (0xF4, 0xA5, 0x82))
    blue = tuple(0.8 * c / 255 + 0.2 for c in (0x92, 0xC5, 0xDE))
    assert _colour_share(image, orange) > 0.1
    assert _colour_share(image, blue) > 0.1
    # and the points of both classes are drawn
    assert _colour_share(image, (0xB2 / 255, 0x18 / 255, 0x2B / 255), 0.05) > 0.001
    assert _colour_share(image, (0x21 / 255, 0x66 / 255, 0xAC / 255), 0.05) > 0.001
    assert np.isfinite(image).all()


def test_loss_curve_png_opens_and_has_both_curves(demo_run):
    import matplotlib.image

    _, out = demo_run
    image = matplotlib.image.imread(out / "loss_curve.png")
    assert image.shape == (400, 1000, 4)
    assert image[:, :, :3].std() > 0.05
    left, right = image[:, :500], image[:, 500:]
    assert _colour_share(left, (0x21 / 255, 0x66 / 255, 0xAC / 255), 0.08) > 0.001  # the loss line
    assert _colour_share(right, (0x1B / 255, 0x78 / 255, 0x37 / 255), 0.08) > 0.001  # the accuracy line


def _svg_nodes(svg_root: ET.Element) -> list[list[str]]:
    """The text fields of each Graphviz node group (``<g class="node">``)."""
    nodes = []
    for group in svg_root.iter(f"{SVG_NS}g"):
        if group.get("class") == "node":
            nodes.append([(t.text or "").strip() for t in group.iter(f"{SVG_NS}text")])
    return nodes


def test_neuron_svg_parses_and_shows_the_neuron_after_backward(demo_run):
    _, out = demo_run
    root = ET.parse(out / "neuron_graph.svg").getroot()
    assert root.tag == f"{SVG_NS}svg"
    by_label = {fields[0]: fields[1:] for fields in _svg_nodes(root) if len(fields) == 3}
    # o = tanh(x1·w1 + x2·w2 + b) at x1=2, x2=0, w1=-3, w2=1, b=6.8814: by hand, o = 1/√2,
    # ∂o/∂n = 1 − o² = 0.5, ∂o/∂x1 = 0.5·w1, ∂o/∂w1 = 0.5·x1, ∂o/∂x2 = 0.5·w2, ∂o/∂w2 = 0.5·x2
    expected = {
        "o": ["data 0.7071", "grad 1.0000"],
        "n": ["data 0.8814", "grad 0.5000"],
        "b": ["data 6.8814", "grad 0.5000"],
        "x1": ["data 2.0000", "grad -1.5000"],
        "w1": ["data -3.0000", "grad 1.0000"],
        "x2": ["data 0.0000", "grad 0.5000"],
        "w2": ["data 1.0000", "grad 0.0000"],
    }
    for label, fields in expected.items():
        assert by_label.get(label) == fields, (label, by_label.get(label))
    ops = [fields[0] for fields in _svg_nodes(root) if len(fields) == 1]
    assert sorted(ops) == ["*", "*", "+", "+", "tanh"]


def test_stepper_html_has_one_drawing_and_every_backward_step(demo_run):
    _, out = demo_run
    page = (out / "backprop_steps.html").read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
    data = json.loads(re.search(r'<script type="application/json" id="stepgrad-data">(.*?)</script>', page, re.S)[1])
    assert data["count"] == 5  # tanh, +, +, *, * : the neuron's five non-leaf nodes
    assert [text.split(":")[0] for text in data["texts"]] == [f"step {k}/5" for k in range(1, 6)]
    assert page.count("<svg") == 1  # one drawing, laid out once
    assert "∂o/∂w1 += " in page and "= 0.5000 × 2.0000 = 1.0000" in page  # ∂o/∂w1 = ∂o/∂(x1·w1) · x1
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # self-contained: no network


@pytest.mark.needs("chromium")
def test_stepper_html_renders_in_headless_chromium(demo_run, tmp_path):
    import matplotlib.image

    _, out = demo_run
    shot = tmp_path / "page.png"
    page = (out / "backprop_steps.html").resolve().as_uri()
    run_chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,700", page, check=False)
    image = matplotlib.image.imread(shot)
    assert image.shape[:2] == (700, 1200)
    assert image[:, :, :3].std() > 0.05  # something was drawn
    # the first frame highlights the current node (o) in the stepper's yellow, #ffd54f
    assert _colour_share(image, (0xFF / 255, 0xD5 / 255, 0x4F / 255), 0.04) > 0.0005


@pytest.mark.needs("chromium")
def test_stepper_html_opens_at_a_requested_step_in_headless_chromium(demo_run, tmp_path):
    _, out = demo_run
    result = run_chromium(
        tmp_path / "profile", "--dump-dom", (out / "backprop_steps.html").resolve().as_uri() + "#step-4", check=False
    )
    # after the page's script ran: the player shows step 4, its counter and its explanation
    assert re.search(r'<div id="player"[^>]*data-step="4"', result.stdout), result.stdout[:500]
    assert 'class="sg-counter">step 4 / 5<' in result.stdout
    assert "step 4/5: (x1*w1) = x1 * w1" in result.stdout


@pytest.mark.needs("chromium")
def test_neuron_svg_opened_alone_in_a_browser_is_not_cut_off(demo_run, tmp_path):
    import matplotlib.image

    _, out = demo_run
    shot = tmp_path / "svg.png"
    page = (out / "neuron_graph.svg").as_uri()
    run_chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1000,600", page, check=False)
    image = matplotlib.image.imread(shot)[:, :, :3]
    drawn = (image < 0.9).any(axis=2)  # darker than the white background: lines, text, a scrollbar
    columns = drawn.any(axis=0).nonzero()[0]
    rows = drawn.any(axis=1).nonzero()[0]
    # A drawing wider than the window is cut at its right edge and Chromium adds a horizontal scrollbar
    # along the bottom; a drawing that fits leaves the bottom rows blank. (Seen: o's record cut at "grad"
    # with a scrollbar, before the viz rework; the whole neuron across the window after it.)
    assert rows.max() < image.shape[0] - 16, "a horizontal scrollbar: the drawing is wider than the window"
    assert columns.max() - columns.min() > 0.8 * image.shape[1]  # fitted to the width, not shrunk to a stamp


# --------------------------------------------------------------------------- the command line around it


def test_installed_console_script_lists_demo_graph_and_steps():
    script = Path(sys.executable).parent / "stepgrad"  # made by `pip install -e .` (the README's set-up)
    assert script.exists(), f"{script} is missing: install the package with pip install -e '.[dev]'"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("demo", "graph", "steps"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M), result.stdout


@pytest.mark.parametrize("steps", ["0", "-3"])
def test_non_positive_steps_is_one_line_exit_2(tmp_path, steps):
    out = tmp_path / "out"
    result = stepgrad("demo", "--steps", steps, "--out", str(out), timeout=60)
    assert_one_line_error(result, 2, f"argument --steps: must be a positive whole number, got '{steps}'")
    assert not out.exists()


def test_non_integer_steps_and_seed_are_one_line_exit_2(tmp_path):
    result = stepgrad("demo", "--steps", "ten", "--out", str(tmp_path / "out"), timeout=60)
    assert_one_line_error(result, 2, "argument --steps: must be a positive whole number, got 'ten'")
    result = stepgrad("demo", "--seed", "1.5", "--out", str(tmp_path / "out"), timeout=60)
    assert_one_line_error(result, 2, "argument --seed: invalid int value: '1.5'")
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    result = stepgrad("demo", "--out", str(target), timeout=60)
    assert_one_line_error(result, 2, f"--out {str(target)!r} is a file, not a folder")
    assert target.read_text() == "keep me"


def test_unwritable_out_is_refused_before_training(tmp_path):
    blocker = tmp_path / "plain-file"
    blocker.write_text("")
    result = stepgrad("demo", "--out", str(blocker / "inside"), timeout=60)
    assert_one_line_error(result, 1, f"--out {str(blocker / 'inside')!r} is not writable: Not a directory")
    assert "training" not in result.stdout
    result = stepgrad("demo", "--out", "/proc/stepgrad-demo-test", timeout=60)  # not writable even for root
    assert_one_line_error(result, 1, "--out '/proc/stepgrad-demo-test' is not writable")


def test_missing_matplotlib_names_the_demo_extra(tmp_path):
    out = tmp_path / "out"
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"  # import matplotlib now raises ImportError
        "from nn.cli import main\n"
        f"sys.exit(main(['demo', '--out', {str(out)!r}]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert_one_line_error(
        result, 1, "the demo needs the Python package(s) matplotlib: install them with pip install 'stepgrad[demo]'"
    )
    assert not out.exists()


def test_missing_graphviz_dot_says_how_to_install_it(tmp_path):
    out = tmp_path / "out"
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}  # no `dot` anywhere on PATH
    result = stepgrad("demo", "--out", str(out), env=env, timeout=60)
    # viz's one install hint, joined into one line
    assert_one_line_error(result, 1, "Graphviz's `dot` program was not found", "apt-get install graphviz; macOS:")
    assert not out.exists()


def test_demo_module_does_not_import_plotting_or_progress_packages_at_import_time():
    code = (
        "import sys, nn.cli, nn.demo; print(sorted(m for m in ('matplotlib', 'tqdm', 'graphviz') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------- outputs that cannot be written


def _blocked(folder: Path, name: str, kind: str) -> None:
    """Put a folder, a FIFO or a read-only file where the demo's output ``name`` goes."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "folder":
        (folder / name).mkdir()
    elif kind == "fifo":
        os.mkfifo(folder / name)
    else:
        (folder / name).write_text("keep me")
        (folder / name).chmod(0o444)


@pytest.mark.parametrize(
    "which, name, kind, status, message",
    [
        ("moons", "loss_curve.png", "folder", 2, "Is a directory"),
        ("moons", "neuron_graph.svg", "fifo", 2, "it is a FIFO (named pipe), not a regular file"),
        ("moons", "backprop_steps.html", "read-only", 1, "Permission denied (the file is read-only)"),
        ("gpt", "gpt_step.svg", "folder", 2, "Is a directory"),
        ("gpt", "gpt_head_steps.html", "read-only", 1, "Permission denied (the file is read-only)"),
    ],
)
def test_an_output_name_that_cannot_be_written_is_refused_before_training(tmp_path, which, name, kind, status, message):
    out = tmp_path / "out"
    _blocked(out, name, kind)
    result = stepgrad("demo", which, "--steps", "1", "--out", str(out), timeout=120)
    assert_one_line_error(result, status, f"--out {str(out)!r}: cannot write {name!r} there: {message}")
    assert "training" not in result.stdout and "parameters" not in result.stdout  # refused before training
    assert os.listdir(out) == [name]  # nothing else written
    if kind == "read-only":
        assert (out / name).read_text() == "keep me"


def test_an_out_name_longer_than_the_file_system_allows_is_one_line_exit_2(tmp_path):
    out = tmp_path / ("y" * 300) / "inside"
    result = stepgrad("demo", "--steps", "1", "--out", str(out), timeout=120)
    assert_one_line_error(result, 2, "--out: a folder name of 300 bytes is longer than the file system allows")
    assert os.listdir(tmp_path) == []


def test_a_dangling_symlink_out_is_one_line_exit_2(tmp_path):
    out = tmp_path / "link"
    out.symlink_to(tmp_path / "nowhere")
    result = stepgrad("demo", "gpt", "--steps", "1", "--out", str(out), timeout=120)
    assert_one_line_error(
        result, 2, f"--out {str(out)!r} is a symbolic link to {str(tmp_path / 'nowhere')!r}, which does not exist"
    )
    assert "File exists" not in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["link"]


@pytest.mark.parametrize("which", ["moons", "gpt"])
def test_a_full_disk_after_training_writes_no_file_and_says_so_in_one_line(tmp_path, which, monkeypatch, capsys):
    # every output is rendered, then written to its temporary; the disk fills up on the second one
    require_tool("dot")
    from autograd import files
    from nn import cli

    real_write = files._write_temporary
    calls = []

    def disk_full_on_the_second(folder, real, raw, existing):
        calls.append(real)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(folder, real, raw, existing)

    monkeypatch.setattr(files, "_write_temporary", disk_full_on_the_second)
    out = tmp_path / "out"
    status = cli.main(["demo", *([which] if which == "gpt" else []), "--steps", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 1, err
    last = err.rstrip("\n").splitlines()[-1]
    second = Path(calls[1]).name
    assert last == f"stepgrad: error: cannot write {str(out / second)!r}: No space left on device; no file was replaced"
    assert "Traceback" not in err
    assert os.listdir(out) == []  # none of the files, no temporary


def test_the_python_api_checks_the_outputs_before_training_too(tmp_path, monkeypatch):
    from nn import demo
    from nn.gpt import run_gpt_demo

    out = tmp_path / "out"
    _blocked(out, "neuron_graph.svg", "fifo")
    monkeypatch.setattr(demo, "train_moons", lambda *a, **k: pytest.fail("trained before checking the outputs"))
    with pytest.raises(OSError, match="FIFO") as info:
        demo.run_demo(out, steps=1)
    assert info.value.filename == str(out / "neuron_graph.svg")
    _blocked(out, "gpt_loss_curve.png", "folder")
    messages: list[str] = []
    with pytest.raises(IsADirectoryError):
        run_gpt_demo(out, steps=1, progress=False, report=messages.append, pictures=False)
    assert messages == []  # refused before the model was even built
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="is a symbolic link to .*, which does not exist"):
        demo.run_demo(link, steps=1)
    with pytest.raises(ValueError, match="cannot be a folder: File name too long"):
        run_gpt_demo(tmp_path / ("y" * 300), steps=1, report=None)
