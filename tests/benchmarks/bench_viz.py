"""Speed of stepgrad's drawings and stepper pages, measured in one run (wall time, seconds).

    .venv/bin/python tests/benchmarks/bench_viz.py

Rows (issues 10 and 11):
  layout x^80 / x+..+x  ``to_svg`` of x*x*…*x and x+x+…+x with 80 factors (minutes before the
                        network-simplex bound; the bound is in autograd/views/layout.py)
  refuse 10^6           ``draw_dot`` of a 1,000,000-node chain: the refusal, and with depth=3
  save_html refusal     ``save_html`` of that chain (refused before the backward pass)
  page 1,000 nodes      ``save_html`` of a 952-value graph (744 steps), its size, and how long
                        headless Chromium takes to load it and show the first step
  grouped demo / GPT    ``draw_dot`` of micrograd's 38,718-node demo graph and of a microgpt step,
                        grouped by scope (when the engine has scopes)
This is not part of the test suite: timings are never asserted in tests.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from autograd import Value  # noqa: E402
from autograd.views.drawing import draw_dot, to_svg  # noqa: E402
from autograd.views.stepper import backward_steps  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def row(name: str, seconds: float, note: str = "") -> None:
    print(f"{name:<34} {seconds:8.3f} s  {note}")


def chain(length: int) -> Value:
    x = Value(0.5, label="x")
    for _ in range(length):
        x = x * 1.0000001
    return x


def main() -> None:
    for op in "*+":
        x = Value(1.01, label="x")
        y = x
        for _ in range(79):
            y = y * x if op == "*" else y + x
        y.backward()
        row(f"layout x{op}x{op}…{op}x (80 factors)", timed(lambda: to_svg(y))[0])

    big = chain(1_000_000)

    def attempt(call):
        try:
            call()
        except ValueError:
            return "refused"
        return "drawn"

    folder = Path(tempfile.mkdtemp())
    for name, call in (
        ("refuse 10^6 nodes", lambda: draw_dot(big)),
        ("refuse 10^6 nodes, depth=3", lambda: draw_dot(big, depth=3, max_nodes=5)),
        ("save_html 10^6 nodes", lambda: backward_steps(big).save_html(folder / "p.html")),
    ):
        seconds, outcome = timed(lambda call=call: attempt(call))
        row(name, seconds, outcome)

    from test_pages_in_browser import thousand_node_loss

    loss = thousand_node_loss()
    seconds, path = timed(lambda: backward_steps(loss).save_html(folder / "big.html"))
    row("save_html 952 values, 744 steps", seconds, f"{path.stat().st_size / 1e6:.2f} MB")
    from browser import CHROMIUM, chromium_page

    if CHROMIUM is None:
        print("(no chromium: page load not measured)")
    else:
        # the page's own clock: from the start of navigation to the first frame painted after step 1 is shown
        timed_page = folder / "timed.html"
        timed_page.write_text(
            path.read_text(encoding="utf-8").replace(
                "  player.start(wanted());",
                "  player.start(wanted());\n  requestAnimationFrame(function () { requestAnimationFrame(function () {"
                " document.documentElement.dataset.shown = performance.now(); }); });",
            ),
            encoding="utf-8",
        )
        with chromium_page(folder / "profile") as page:
            page.goto(timed_page.as_uri())
            page.wait_for_function("() => document.documentElement.dataset.shown")
            shown = float(page.evaluate("() => document.documentElement.dataset.shown")) / 1000
            row("  open in Chromium: step 1 painted", shown)
            start = time.perf_counter()
            page.evaluate("() => { location.hash = '#step-744'; }")
            page.wait_for_function("() => document.getElementById('player').getAttribute('data-step') === '744'")
            row("  jump to the last step", time.perf_counter() - start)

    import scoped

    loss, _ = scoped.micrograd_demo_step()
    loss.backward()
    row("draw_dot micrograd demo, grouped", timed(lambda: to_svg(loss))[0], "41,718 values")
    seconds, steps = timed(lambda: backward_steps(scoped.micrograd_demo_step()[0]).drawing())
    row("  its stepper, box by box", seconds, f"{len(steps.frames)} frames")
    gpt = scoped.gpt_step([0] + [(7 * i) % 26 + 1 for i in range(15)] + [0])
    gpt.backward()
    row("draw_dot microgpt step, grouped", timed(lambda: to_svg(gpt))[0], "139,027 values")
    seconds, steps = timed(
        lambda: backward_steps(scoped.gpt_step([0] + [(7 * i) % 26 + 1 for i in range(15)] + [0])).drawing()
    )
    row("  its stepper, box by box", seconds, f"{len(steps.frames)} frames (includes building the graph)")


if __name__ == "__main__":
    main()
