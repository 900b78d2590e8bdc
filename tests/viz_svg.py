"""Test helpers for reading Graphviz SVG as XML (used by test_viz.py and test_stepper.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def parse_svg(svg: str) -> ET.Element:
    """The parsed <svg> root element (raises if the text is not well-formed XML)."""
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == SVG + "svg"
    return root


def groups(svg: str, kind: str) -> dict[str, ET.Element]:
    """The <g class=kind> groups ("node" or "edge") by their <title> (the DOT node name or "a->b")."""
    out = {}
    for g in parse_svg(svg).iter(SVG + "g"):
        if g.get("class") == kind:
            out[g.find(SVG + "title").text] = g
    return out


def texts(element: ET.Element) -> list[str]:
    """The text of every <text> element inside ``element``, in document order."""
    return [(t.text or "").strip() for t in element.iter(SVG + "text")]


def node_texts(svg: str) -> dict[str, list[str]]:
    """For each drawn node, its texts, keyed by the first text (the value's label / short name, or the op).

    A value named again beside a far use (a box with its name alone) never hides its record."""
    out: dict[str, list[str]] = {}
    for g in groups(svg, "node").values():
        found = texts(g)
        if found and len(found) > len(out.get(found[0], [])):
            out[found[0]] = found
    return out


def node_fill(svg: str, first_text: str) -> str:
    """The fill colour of the node whose first text is ``first_text``."""
    for g in groups(svg, "node").values():
        if texts(g) and texts(g)[0] == first_text:
            shapes = [e for e in g.iter() if e.tag in (SVG + "polygon", SVG + "ellipse", SVG + "path")]
            return shapes[0].get("fill")  # the node's outline (a path for a rounded box, maybe inside a link)
    raise AssertionError(f"no node {first_text!r} in the SVG")
