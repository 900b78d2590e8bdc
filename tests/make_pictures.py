"""Remake the README's drawing and stepper pictures in notebooks/images/ (needs dot and chromium).

    .venv/bin/python tests/make_pictures.py

- ``neuron_graph.svg``  the tanh neuron after ``backward()`` (``save_svg``: fits any width);
- ``stepper.png``       the neuron's stepper page at step 4, headless Chromium at 1280 × 700;
- ``grouped_step.png``  micrograd's demo step (38,000+ values) grouped by scope, its stepper page at
                        step 3 ("backward through Layer 3 ×100"), 1200 × 620;
- ``check_report.svg``  ``check_backward``'s drawing of a learner's micrograd graph with the lecture's
                        ``=`` slip: f = (a·b)·(a + b), the first wrong gradient in red (tests/learners.py);
- ``gpt_step.svg``      one training step of microgpt's GPT on "emma" drawn as its parts, attention
                        opened into its heads and head 0 into its stages (``nn.gpt.named_step``);
- ``forward_step.png``  the neuron's forward pass (``forward_steps``) at step 4, n computed and o still
                        ``data ?``, headless Chromium at 1200 × 520;
- ``live_training.png`` ``stepgrad demo``'s training.html (``fit(live=...)``'s view), scrubbed back to the
                        snapshot nearest step 30, headless Chromium at 960 × 420.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent
IMAGES = TESTS.parent / "notebooks" / "images"
sys.path.insert(0, str(TESTS))

import scoped  # noqa: E402
from browser import chromium_page  # noqa: E402

from autograd.examples import tanh_neuron  # noqa: E402
from autograd.stepper import backward_steps  # noqa: E402
from autograd.viz import save_svg  # noqa: E402


def screenshot(page_path: Path, step: int, out: Path, width: int, height: int) -> None:
    with chromium_page(Path(tempfile.mkdtemp()) / "profile", width, height) as page:
        page.goto(f"{page_path.as_uri()}#step-{step}")
        page.wait_for_function(f"() => document.getElementById('player').getAttribute('data-step') === '{step}'")
        page.screenshot(path=str(out))


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    neuron = tanh_neuron().o
    neuron.backward()
    save_svg(neuron, IMAGES / "neuron_graph.svg")
    page = backward_steps(tanh_neuron().o).save_html(
        folder / "neuron.html", title="stepgrad: the backward pass of o = tanh(x1·w1 + x2·w2 + b)"
    )
    screenshot(page, 4, IMAGES / "stepper.png", 1280, 700)
    loss, _ = scoped.micrograd_demo_step()
    page = backward_steps(loss).save_html(folder / "demo.html", title="stepgrad: micrograd's demo step, grouped")
    screenshot(page, 3, IMAGES / "grouped_step.png", 1200, 620)
    from nn.gpt import GPT, named_step
    from nn.text import CharTokenizer, load_names

    tokenizer = CharTokenizer.from_documents(load_names())
    step = named_step(GPT(seed=42), tokenizer.encode("emma"), head=0)
    step.loss.backward()
    save_svg(step.draw(), IMAGES / "gpt_step.svg")
    from learners import micrograd_class

    from autograd.check import check_backward

    Learners = micrograd_class("assign")
    a, b = Learners(-2.0, label="a"), Learners(3.0, label="b")
    d, e = a * b, a + b
    d.label, e.label = "d", "e"
    f = d * e
    f.label = "f"
    f.backward()
    save_svg(check_backward(f).draw(), IMAGES / "check_report.svg")
    live_picture(folder)
    forward_picture(folder)
    made = ["neuron_graph.svg", "stepper.png", "grouped_step.png", "check_report.svg", "gpt_step.svg"]
    for name in [*made, "live_training.png", "forward_step.png"]:
        print("wrote", IMAGES / name)


def forward_picture(folder: Path) -> None:
    """The tanh neuron's forward pass at step 4: n = x1*w1 + x2*w2 + b just computed, o not yet."""
    from autograd import forward_steps

    page = forward_steps(tanh_neuron().o).save_html(folder / "forward.html", title="stepgrad: the forward pass of o")
    screenshot(page, 4, IMAGES / "forward_step.png", 1200, 520)


def live_picture(folder: Path) -> None:
    """The demo's training, watched: its page at the snapshot nearest step 30 (the boundary half formed)."""
    from nn.demo import train_moons
    from nn.live import LiveTraining

    watch = LiveTraining(show=False, title="stepgrad demo: MLP(2, [16, 16, 1]) learning two moons")
    train_moons(live=watch, progress=False)
    page = watch.save_html(folder / "training.html")
    nearest = min(range(len(watch.snapshots)), key=lambda k: abs(watch.snapshots[k]["step"] - 30))
    with chromium_page(Path(tempfile.mkdtemp()) / "profile", 960, 420) as browser:
        browser.goto(page.as_uri())
        browser.evaluate(
            f"() => {{ const s = document.querySelector('.sg-live-slider'); s.value = '{nearest}';"
            " s.dispatchEvent(new Event('input')); }"
        )
        browser.screenshot(path=str(IMAGES / "live_training.png"))


if __name__ == "__main__":
    main()
