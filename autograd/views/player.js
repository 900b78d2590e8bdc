// The stepper's player: one drawing laid out once by Graphviz, and each step of the backward
// pass applied to it as a change of state (fills, border widths, gradient texts).
// Used by the HTML page (autograd.views.stepper.BackwardSteps.to_html) and the notebook widget
// (BackwardSteps.widget, an anywidget); Python computes every state, this file only applies them.
//
// data = {
//   svg: the drawing (Graphviz SVG) in the state of step 1, or svgNode: that drawing as an element,
//   count: number of steps,
//   records: DOT names of the nodes whose state changes,
//   initial: [[fill, penwidth, gradText], ...] per record at step 1,
//   diffs: [[[recordIndex, fill, penwidth, gradText], ...], ...] step k-1 -> k (k = 2..count; diffs[0] is empty),
//   current: recordIndex of each step's node,
//   texts: each step's explanation,
//   markFill: the fill of a just-updated node, maxHeight: the widget's tallest window (px) or null,
// }
function stepgradPlayer(el, data, hooks) {
  "use strict";
  hooks = hooks || {};
  var READABLE = data.readable || 0.9; // user units -> px: 14 pt node text stays >= 12.6 px
  var SMALLEST = data.smallest || 10 / 14; // the least scale a drawing opens at whole: node text >= 10 px
  var doc = el.ownerDocument;

  function make(tag, cls, text) {
    var node = doc.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function button(label, title) {
    var b = make("button", "sg-button", label);
    b.type = "button";
    b.title = title;
    return b;
  }

  // ---- the DOM: controls, viewport with the drawing, explanation
  el.classList.add("sg-player");
  var controls = make("div", "sg-controls");
  var prev = button("\u2190 prev", "previous step (\u2190)");
  var slider = make("input", "sg-slider");
  slider.type = "range";
  slider.min = "1";
  slider.max = String(Math.max(1, data.count));
  slider.step = "1";
  slider.value = "1";
  slider.setAttribute("aria-label", "step");
  if (data.backwardStarts) { // a whole step: a tick on the slider where the backward pass starts
    var marks = make("datalist");
    marks.id = "sg-marks-" + Math.random().toString(36).slice(2);
    var tick = make("option");
    tick.value = String(data.backwardStarts);
    tick.label = "backward";
    marks.appendChild(tick);
    el.appendChild(marks);
    slider.setAttribute("list", marks.id);
    slider.title = "forward pass, then the backward pass from step " + data.backwardStarts;
  }
  var next = button("next \u2192", "next step (\u2192)");
  var play = button("play", "play the steps");
  var counter = make("span", "sg-counter", "step 1 / " + data.count);
  var zoomOut = button("\u2212", "zoom out");
  var zoomIn = button("+", "zoom in");
  var fit = button("fit", "show the whole graph");
  var readable = button("1:1", "readable size, centred on the current node");
  [prev, slider, next, play, counter, zoomOut, zoomIn, fit, readable].forEach(function (c) { controls.appendChild(c); });
  var viewport = make("div", "sg-viewport");
  if (data.svgNode) { viewport.appendChild(data.svgNode); } else { viewport.innerHTML = data.svg; }
  var svg = viewport.querySelector("svg");
  var explain = make("pre", "sg-explain");
  // the explanation's numbers, each in a nowrap span: a line breaks between tokens, never inside a number
  // (JupyterLab's output CSS sets word-break: break-all on <pre>; player.css undoes it, this holds anyway)
  var TOKEN = /[A-Za-z_]\w*|([-\u2212]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)/g;  // a name, or (a number)
  function keepNumbersWhole() {
    var text = explain.textContent, at = 0, m;
    explain.textContent = "";
    TOKEN.lastIndex = 0;
    while ((m = TOKEN.exec(text)) !== null) {
      if (!m[1]) { continue; }  // a name such as x1 or v12: its digits are no number
      if (m.index > at) { explain.appendChild(doc.createTextNode(text.slice(at, m.index))); }
      explain.appendChild(make("span", "sg-number", m[1]));
      at = m.index + m[1].length;
    }
    if (at < text.length) { explain.appendChild(doc.createTextNode(text.slice(at))); }
  }
  el.appendChild(controls);
  el.appendChild(viewport);
  el.appendChild(explain);

  // natural size of the drawing, in user units (Graphviz: points)
  var box = svg.viewBox.baseVal;
  var W = box.width, H = box.height;
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("preserveAspectRatio", "xMinYMin meet");
  svg.style.width = "100%";
  svg.style.height = "100%";
  svg.style.display = "block";

  // ---- the records whose state changes, by DOT name (<title>)
  var byName = {};
  var groups = svg.querySelectorAll("g.node");
  for (var i = 0; i < groups.length; i++) {
    var title = groups[i].querySelector("title");
    if (title) { byName[title.textContent] = groups[i]; }
  }
  var records = data.records.map(function (name) {
    var g = byName[name];
    var texts = g.querySelectorAll("text");
    return {
      g: g, shape: g.querySelector("polygon, path, ellipse"), grad: texts.length ? texts[texts.length - 1] : null,
      data: texts.length > 2 ? texts[texts.length - 2] : null, // a whole step's states also set the data field
    };
  });
  function setRecord(r, fill, pen, text, dataText) {
    var rec = records[r];
    rec.shape.setAttribute("fill", fill);
    rec.shape.setAttribute("stroke-width", pen);
    if (rec.grad && text !== null) { rec.grad.textContent = text; }
    if (rec.data && dataText !== undefined && dataText !== null) { rec.data.textContent = dataText; }
  }

  // ---- the view: a window of the drawing, scale s (px per user unit), top-left (vx, vy)
  var view = { s: 1, vx: 0, vy: 0 };
  // the window's size, measured with the drawing hidden (reading it with a big SVG shown would lay the
  // SVG out once more before the first paint) and kept until the window is resized
  var dims = null;
  function size() {
    if (!dims) {
      var shown = svg.style.display;
      svg.style.display = "none";
      dims = { w: viewport.clientWidth || 800, h: viewport.clientHeight || 480 };
      svg.style.display = shown;
    }
    return dims;
  }
  function applyView() {
    var z = size();
    svg.setAttribute("viewBox", [view.vx, view.vy, z.w / view.s, z.h / view.s].join(" "));
  }
  function fitScale() { var z = size(); return Math.min(z.w / W, z.h / H); }
  function centre(x, y) {
    var z = size();
    view.vx = x - z.w / view.s / 2;
    view.vy = y - z.h / view.s / 2;
    clamp();
    applyView();
  }
  function clamp() {  // keep some of the drawing in the window
    var z = size(), vw = z.w / view.s, vh = z.h / view.s;
    view.vx = vw >= W ? (W - vw) / 2 : Math.max(0, Math.min(W - vw, view.vx));
    view.vy = vh >= H ? (H - vh) / 2 : Math.max(0, Math.min(H - vh, view.vy));
  }
  // node boxes from the shapes' own coordinates (no layout needed), shifted by Graphviz's translate()
  var shift = /translate\(([-\d.]+)[ ,]+([-\d.]+)\)/.exec(svg.querySelector("g.graph").getAttribute("transform") || "");
  var tx = shift ? parseFloat(shift[1]) : 0, ty = shift ? parseFloat(shift[2]) : 0;
  function nodeBox(g) {  // the node's box in user units
    if (g.sgBox) { return g.sgBox; }
    var shape = g.querySelector("polygon, ellipse, path"), b;
    if (shape.tagName === "ellipse") {
      var cx = +shape.getAttribute("cx"), cy = +shape.getAttribute("cy");
      var rx = +shape.getAttribute("rx"), ry = +shape.getAttribute("ry");
      b = { x: cx - rx + tx, y: cy - ry + ty, w: 2 * rx, h: 2 * ry };
    } else {
      // a polygon's points, or a rounded box's path ("M x,y C x,y x,y …": Graphviz writes absolute
      // points, the curves' control points inside the box): read from the markup, never from the
      // browser's layout, which is empty while the drawing is not shown (a notebook cell out of view)
      var numbers = (shape.getAttribute("points") || shape.getAttribute("d")).match(/-?[\d.]+(?:e-?\d+)?/g);
      var xs = [], ys = [];
      for (var n = 0; n + 1 < numbers.length; n += 2) {
        xs.push(+numbers[n]);
        ys.push(+numbers[n + 1]);
      }
      var x0 = Math.min.apply(null, xs), y0 = Math.min.apply(null, ys);
      b = { x: x0 + tx, y: y0 + ty, w: Math.max.apply(null, xs) - x0, h: Math.max.apply(null, ys) - y0 };
    }
    g.sgBox = b;
    return b;
  }
  function union(nodes) {  // the box around some nodes, in user units
    var boxes = nodes.map(nodeBox);
    var x0 = Math.min.apply(null, boxes.map(function (b) { return b.x; }));
    var y0 = Math.min.apply(null, boxes.map(function (b) { return b.y; }));
    var x1 = Math.max.apply(null, boxes.map(function (b) { return b.x + b.w; }));
    var y1 = Math.max.apply(null, boxes.map(function (b) { return b.y + b.h; }));
    return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  }
  function inside(b) {
    var z = size(), vw = z.w / view.s, vh = z.h / view.s;
    return b.x >= view.vx && b.y >= view.vy && b.x + b.w <= view.vx + vw && b.y + b.h <= view.vy + vh;
  }
  function centreOn(nodes) {  // centre the step's nodes: all of them if they fit, else the first
    var all = union(nodes), z = size();
    var fits = all.w <= z.w / view.s && all.h <= z.h / view.s;
    var b = fits ? all : nodeBox(nodes[0]);
    centre(b.x + b.w / 2, b.y + b.h / 2);
  }
  function follow(nodes) {  // bring the step's nodes into view when they are not
    if (nodes.length && !inside(union(nodes))) { centreOn(nodes); }
  }
  var chosen = false;  // the reader zoomed (buttons, ctrl + wheel): a resize keeps their scale
  function zoom(factor) {
    chosen = true;
    var z = size(), cx = view.vx + z.w / view.s / 2, cy = view.vy + z.h / view.s / 2;
    view.s = Math.max(0.05, Math.min(4, view.s * factor));
    centre(cx, cy);
  }
  // the scale a drawing opens at: whole when it fits with node text >= 10 px (at most 1.2), else readable
  function wholeScale(w, h) { return Math.min(1.2, w / W, h / H); }
  // the default view: the whole drawing centred, or at readable scale centred on the step's nodes
  function reset() {
    var z = size(), whole = wholeScale(z.w, z.h), nodes = focus();
    view.s = whole >= SMALLEST ? whole : READABLE;
    centre(W / 2, H / 2);
    if (whole < SMALLEST && nodes.length) { centreOn(nodes); }
  }

  // pan: drag with the mouse, or scroll; zoom: ctrl + wheel
  var drag = null;
  viewport.addEventListener("pointerdown", function (e) {
    drag = { x: e.clientX, y: e.clientY, vx: view.vx, vy: view.vy, target: e.target, moved: false };
    viewport.setPointerCapture(e.pointerId);
  });
  viewport.addEventListener("pointermove", function (e) {
    if (!drag) { return; }
    if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 4) { drag.moved = true; }
    view.vx = drag.vx - (e.clientX - drag.x) / view.s;
    view.vy = drag.vy - (e.clientY - drag.y) / view.s;
    clamp();
    applyView();
  });
  viewport.addEventListener("pointerup", function () {
    if (drag && !drag.moved) { clicked(drag.target); }
    drag = null;
  });
  // a click on a box: the widget opens it (Python lays the graph out again); the page says what it holds
  function clicked(target) {
    var g = target && target.closest ? target.closest("g.node") : null;
    if (!g) { return; }
    for (var r = 0; r < records.length; r++) {
      if (records[r].g === g && data.boxes && data.boxes[r] !== undefined) {
        if (hooks.onOpen) { hooks.onOpen(data.records[r]); return; }
        explain.textContent = data.boxes[r] + ". To step inside it: steps.widget(open=[...]) in a notebook " +
          "(or click it there), or draw it with draw_dot(root, open=[...]).\n\n" + data.texts[step - 1];
        keepNumbersWhole();
        return;
      }
    }
  }
  viewport.addEventListener("wheel", function (e) {
    e.preventDefault();
    if (e.ctrlKey) { zoom(e.deltaY < 0 ? 1.1 : 1 / 1.1); return; }
    view.vx += e.deltaX / view.s;
    view.vy += e.deltaY / view.s;
    clamp();
    applyView();
  }, { passive: false });

  // ---- steps
  var step = 1;
  function currentNode() { var r = records[data.current[step - 1]]; return r ? r.g : null; }
  function focus() {  // the step's node first, then the parents it just updated
    var nodes = currentNode() ? [currentNode()] : [];
    for (var r = 0; r < records.length; r++) {
      if (records[r].shape.getAttribute("fill") === data.markFill) { nodes.push(records[r].g); }
    }
    return nodes;
  }
  // the state shown (the SVG arrives in the state of step 1); only records that differ are touched
  var shown = data.initial.map(function (st) { return st.slice(); });
  function show(k, quiet) {
    k = Math.max(1, Math.min(data.count, k | 0));
    var target = data.initial.map(function (st) { return st; });
    for (var j = 1; j < k; j++) {
      var changes = data.diffs[j];
      for (var c = 0; c < changes.length; c++) { target[changes[c][0]] = changes[c].slice(1); }
    }
    for (var r = 0; r < records.length; r++) {
      var want = target[r], have = shown[r];
      if (want[0] !== have[0] || want[1] !== have[1] || want[2] !== have[2] || want[3] !== have[3]) {
        setRecord(r, want[0], want[1], want[2], want[3]);
        shown[r] = want.slice();
      }
    }
    step = k;
    slider.value = String(k);
    counter.textContent = "step " + k + " / " + data.count +
      (data.backwardStarts ? (k < data.backwardStarts ? " \u00b7 forward" : " \u00b7 backward") : "");
    explain.textContent = data.texts[k - 1];
    el.setAttribute("data-step", String(k));
    keepNumbersWhole();
    follow(focus());
    if (!quiet && hooks.onStep) { hooks.onStep(k); }
  }
  var timer = null;
  function stop() { if (timer) { clearInterval(timer); timer = null; play.textContent = "play"; } }
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  prev.addEventListener("click", function () { stop(); show(step - 1); });
  next.addEventListener("click", function () { stop(); show(step + 1); });
  play.addEventListener("click", function () {
    if (timer) { stop(); return; }
    if (step >= data.count) { show(1); }
    play.textContent = "pause";
    timer = setInterval(function () {
      if (step >= data.count) { stop(); return; }
      show(step + 1);
    }, 1200);
  });
  zoomIn.addEventListener("click", function () { zoom(1.25); });
  zoomOut.addEventListener("click", function () { zoom(0.8); });
  fit.addEventListener("click", function () { chosen = true; view.s = fitScale(); centre(W / 2, H / 2); });
  readable.addEventListener("click", function () {
    chosen = true;
    view.s = 1;
    if (!currentNode()) { centre(W / 2, H / 2); return; }
    var b = nodeBox(currentNode());
    centre(b.x + b.w / 2, b.y + b.h / 2);
  });
  function keydown(e) {
    if (e.target === slider) { return; }  // the focused slider moves itself on arrow keys
    if (e.key === "ArrowRight") { stop(); show(step + 1); e.preventDefault(); }
    if (e.key === "ArrowLeft") { stop(); show(step - 1); e.preventDefault(); }
  }
  el.tabIndex = 0;
  el.addEventListener("keydown", keydown);

  // start whole when the drawing fits readable, else at readable size with the step's nodes in view
  function start(k) {
    if (data.maxHeight) {  // the widget: as tall as the drawing at its starting scale, at most maxHeight
      var w = size().w, whole = wholeScale(w, data.maxHeight - 4);
      var s0 = whole >= SMALLEST ? whole : Math.max(READABLE, Math.min(1.2, w / W));
      viewport.style.height = Math.min(data.maxHeight, Math.ceil(H * s0) + 4) + "px";
      dims = null;
    }
    show(k, true);
    reset();
  }
  var api = {
    show: function (k) { stop(); show(k, true); },
    keydown: keydown,
    step: function () { return step; },
    start: start,
    scale: function () { return view.s; },
  };
  if (window.ResizeObserver) {  // the cell or window changed size: keep the current node in view
    var seen = null;
    new ResizeObserver(function () {
      dims = null;
      var z = size();
      if (seen && seen.w === z.w && seen.h === z.h) { return; }
      var first = seen === null;
      seen = z;
      if (first) { start(step); } else if (chosen) { applyView(); follow(focus()); } else { reset(); }
    }).observe(viewport);
  }
  return api;
}
