"""``stepgrad demo gpt`` end to end in a subprocess, as a newcomer runs it, its files opened for real.

The run is microgpt's: 1,000 compiled steps, one name each. Its pictures are opened in headless
Chromium (Playwright): the grouped SVG of one step must show the pipeline and fit the window, and the
stepper page must show, at the last frame, gradients of one head's scores that agree with the closed
form ∂L/∂zᵢ = pᵢ(gᵢ − Σⱼ pⱼgⱼ) computed from the numbers the page itself displays. How long the run
takes is printed by the test and recorded in the README (a time is a benchmark's job, not an assertion).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser import chromium_page, needs_playwright
from causal import page_frames, violations
from conftest import require_tool
from test_demo import assert_one_line_error, stepgrad

REPO = Path(__file__).resolve().parents[1]
FILES = ["gpt_head_steps.html", "gpt_loss_curve.png", "gpt_step.svg"]


@pytest.fixture(scope="module")
def gpt_demo(tmp_path_factory: pytest.TempPathFactory):
    require_tool("dot")
    out = tmp_path_factory.mktemp("gpt-demo") / "out"
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "nn", "demo", "gpt", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(f"stepgrad demo gpt: {time.perf_counter() - started:.1f} s")
    return result, out


def test_it_trains_microgpts_run_compiled_and_says_so(gpt_demo):
    result, out = gpt_demo
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    text = result.stdout
    assert "4192 parameters, 32033 names, 1000 compiled steps" in text
    first, last = map(float, re.search(r"first 20 steps (\S+), of the last 20 steps (\S+)", text).groups())
    assert first > 3.0 and last < first - 0.5  # from about ln 27 down: it learnt
    assert re.search(r"ms per step \(compiled; \d+ name lengths traced", text)
    assert "1000/1000" in result.stderr  # the progress bar ran to the end
    after = re.search(r"^names after training:  (.+)$", text, re.M).group(1).split(", ")
    assert len(after) == 10 and sum(map(len, after)) / 10 < 8  # names, not 16-letter rambles


def test_the_closed_form_line_reports_agreement(gpt_demo):
    result, _ = gpt_demo
    line = re.search(
        r"^one step on 'emma': ([\d,]+) nodes, ([\d,]+) chain-rule steps; .*difference (\S+)$", result.stdout, re.M
    )
    assert line is not None, result.stdout
    nodes, steps, difference = int(line[1].replace(",", "")), int(line[2].replace(",", "")), float(line[3])
    assert nodes > 20_000 and steps > 15_000 and difference < 1e-12


def test_it_writes_three_files_and_nothing_else(gpt_demo):
    result, out = gpt_demo
    assert sorted(p.name for p in out.iterdir()) == FILES  # no temporary files left behind
    for name in FILES:
        assert f"wrote {out / name}: " in result.stdout
    assert "open them" in result.stdout and (out.resolve() / "gpt_head_steps.html").as_uri() in result.stdout
    umask = os.umask(0)
    os.umask(umask)
    for name in FILES:
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_the_loss_curve_opens(gpt_demo):
    import matplotlib.image
    import numpy as np

    _, out = gpt_demo
    image = matplotlib.image.imread(out / "gpt_loss_curve.png")
    assert image.shape == (420, 750, 4) and image[:, :, :3].std() > 0.05
    running_mean = np.abs(image[:, :, :3] - np.array([0x21, 0x66, 0xAC]) / 255).max(axis=2) < 0.05
    assert running_mean.mean() > 0.002  # the running mean's line is drawn


@needs_playwright
def test_the_grouped_svg_shows_the_pipeline_and_fits_the_window(gpt_demo, tmp_path):
    _, out = gpt_demo
    with chromium_page(tmp_path / "profile", 1400, 900) as page:
        page.goto((out / "gpt_step.svg").as_uri())
        texts = page.evaluate("() => [...document.querySelectorAll('g.node text')].map((t) => t.textContent)")
        for label in ["embedding ×5", "q k v ×5", "head 1 ×5", "scores ×5", "softmax ×5", "mlp ×5", "−log p ×5"]:
            assert label in texts, (label, texts)
        right = page.evaluate(
            "() => Math.max(...[...document.querySelectorAll('g.node')].map((g) => g.getBoundingClientRect().right))"
        )
        assert right <= 1400  # the last box is not cut off
        font = page.evaluate(
            "() => { const t = document.querySelector('g.node text'); const s = t.ownerSVGElement;"
            " return parseFloat(getComputedStyle(t).fontSize) * s.getScreenCTM().a; }"
        )
        assert font >= 9  # readable at 1,400 px
        page.screenshot(path=str(tmp_path / "gpt_step.png"))


READ = """() => {
  const fields = {};
  for (const g of document.querySelectorAll('.sg-viewport g.node')) {
    const texts = [...g.querySelectorAll('text')].map((t) => t.textContent.trim());
    if (texts.length === 3 && /^[zep]\\d+$|^Σe$/.test(texts[0])) fields[texts[0]] = texts.slice(1);
  }
  return {fields, counter: document.querySelector('.sg-counter').textContent,
          explain: document.querySelector('.sg-explain').textContent};
}"""


@needs_playwright
def test_the_stepper_page_shows_the_closed_form_emerge(gpt_demo, tmp_path):
    _, out = gpt_demo
    with chromium_page(tmp_path / "profile", 1400, 900) as page:
        page.goto((out / "gpt_head_steps.html").as_uri())
        first = page.evaluate(READ)
        total = int(re.fullmatch(r"step 1 / (\d+)", first["counter"]).group(1))
        assert 20 < total < 100  # the boxes' frames and the opened head's nodes, not 20,000 frames
        assert all(grad == "grad ?" for name, (_, grad) in first["fields"].items() if name.startswith("z"))
        page.evaluate(f"() => {{ location.hash = '#step-{total}'; }}")
        page.wait_for_function(f"() => document.getElementById('player').getAttribute('data-step') === '{total}'")
        last = page.evaluate(READ)
        page.screenshot(path=str(tmp_path / "gpt_head_steps.png"))
    number = lambda text: float(text.split()[-1])  # noqa: E731 - "data 0.2182" / "grad -0.0227"
    fields = last["fields"]
    n = sum(name.startswith("z") for name in fields)
    assert n == 5 and all(f"{k}{t}" in fields for k in "zep" for t in range(n))  # "emma": 5 positions
    p = [number(fields[f"p{t}"][0]) for t in range(n)]
    g = [number(fields[f"p{t}"][1]) for t in range(n)]
    dz = [number(fields[f"z{t}"][1]) for t in range(n)]
    assert abs(sum(p) - 1) < 5e-4  # the weights as shown, 4 decimals each
    mean = sum(pi * gi for pi, gi in zip(p, g))
    for t in range(n):  # from the page's own rounded numbers: agreement to the rounding shown
        assert abs(dz[t] - p[t] * (g[t] - mean)) < 2e-4, (t, dz[t], p[t], g[t])
    assert any(abs(d) >= 1e-4 for d in dz)


def test_the_stepper_page_reads_in_causal_order(gpt_demo):
    """Issue 18: at frame 7 p0 showed ∂L/∂p0 = 0.0589 (grad ? at frame 6), and only frame 11 said where it
    came from. Read back from the saved page: every gradient shown changes only in a frame that draws its
    value as just updated and says ``∂L/∂p0: before → after``."""
    _, out = gpt_demo
    page = (out / "gpt_head_steps.html").read_text(encoding="utf-8")
    names, root, seed, data, index = page_frames(page)
    assert {f"p{t}" for t in range(5)} <= set(names) and root == "L"
    assert violations(names, root, seed, data, index) == []
    said = next(k for k, text in enumerate(data["texts"]) if "∂L/∂p0: " in text)
    own = next(k for k, text in enumerate(data["texts"]) if text.split(": ")[1].startswith("p0 = "))
    assert said < own and "backward through Σ a·v" in data["texts"][said]


def test_demo_gpt_bad_input_is_one_line(tmp_path):
    out = tmp_path / "out"
    result = stepgrad("demo", "gpt", "--steps", "0", "--out", str(out), timeout=60)
    assert_one_line_error(result, 2, "argument --steps: must be a positive whole number, got '0'")
    result = stepgrad("demo", "gtp", "--out", str(out), timeout=60)
    assert_one_line_error(result, 2, "argument WHICH: invalid choice: 'gtp'")
    assert not out.exists()


def test_help_names_the_gpt_demo():
    result = stepgrad("demo", "--help", timeout=60)
    assert result.returncode == 0 and "gpt" in result.stdout and "gpt_head_steps.html" in result.stdout


CURRENT_IN_VIEW = """() => {
  const box = (e) => e.getBoundingClientRect();
  const player = document.getElementById("player");
  const current = [...player.querySelectorAll("g.node")].find((g) =>
    g.querySelector("polygon, path, ellipse").getAttribute("fill") === "#ffd54f");
  const c = box(current), v = box(player.querySelector(".sg-viewport"));
  return {inside: c.left >= v.left && c.right <= v.right && c.top >= v.top && c.bottom <= v.bottom,
          shape: current.querySelector("polygon, path, ellipse").tagName, current: [c.left, c.top],
          viewport: [v.left, v.right]};
}"""


@needs_playwright
def test_a_page_laid_out_while_hidden_still_brings_the_current_box_into_view(gpt_demo, tmp_path):
    """The player measures node boxes from the SVG's markup, not from the browser's layout, which is empty
    while the drawing is not shown (a notebook cell out of view): shown later, the current box is in view.
    Frame 1 of the GPT page is "backward through mean", a rounded box (an SVG path)."""
    _, out = gpt_demo
    html = (out / "gpt_head_steps.html").read_text(encoding="utf-8")
    assert html.count("</head>") == 1
    hidden = tmp_path / "hidden.html"  # the same page, its player hidden until the test shows it
    hidden.write_text(html.replace("</head>", '<style id="hide">#player { display: none }</style></head>'), "utf-8")
    with chromium_page(tmp_path / "profile", 1280, 720) as page:
        page.goto(hidden.as_uri() + "#step-1")
        page.wait_for_function("() => document.getElementById('player').getAttribute('data-step') === '1'")
        page.evaluate("() => document.getElementById('hide').remove()")
        page.wait_for_timeout(300)  # the player's ResizeObserver: now it has a size
        seen = page.evaluate(CURRENT_IN_VIEW)
        assert seen["shape"] == "path" and seen["inside"], seen
