// Training, watched: the record of nn.live.LiveTraining drawn in a browser — the decision boundary of a
// snapshot (2-D data), the loss of every step and the accuracy of every epoch, and a slider over the
// snapshots. Used by the notebook widget (updated while fit runs) and the HTML page (training.html).
//
// record = {
//   title, status: "training" | "done" | "stopped at step k: ...", total: planned steps or null,
//   losses: [loss of step 1, step 2, ...], epochs: [[last step, mean loss, accuracy or null], ...],
//   snapshots: [{step, loss, cells: [per grid cell, row by row from the top]}],
//   frame: {bounds: [x0, x1, y0, y1], resolution, points: [[x, y, class], ...], labels, binary} or {},
// }
// A cell of a one-output model is round(100·tanh(score − threshold)): its sign is the class, its size the
// confidence; of a k-output model, 1000·class + round(100·p) with p the winner's softmax probability.
function stepgradLive(el, record) {
  "use strict";
  var doc = el.ownerDocument;
  // class 0 (label −1 or 0) red, class 1 (+1) blue, as in nn.plots' decision_boundary.png; then more classes
  var COLOURS = ["#b2182b", "#2166ac", "#1b7837", "#762a83", "#e08214", "#35978f", "#8c510a", "#4d4d4d"];
  var REGIONS = ["#f4a582", "#92c5de", "#a6dba0", "#c2a5cf", "#fdb863", "#80cdc1", "#dfc27d", "#bababa"];
  var LOSS = "#2166ac", ACCURACY = "#1b7837"; // nn.plots' loss_curve.png
  var SIZE = 300; // px: the boundary panel; the curves panel is as tall
  var following = true; // the slider follows the newest snapshot until a person moves it
  var shown = 0;

  function make(tag, cls, text) {
    var node = doc.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function canvas(width, height) {
    var c = make("canvas", "sg-live-canvas");
    var ratio = (doc.defaultView && doc.defaultView.devicePixelRatio) || 1;
    c.width = Math.round(width * ratio);
    c.height = Math.round(height * ratio);
    c.style.width = width + "px";
    c.style.height = height + "px";
    var g = c.getContext("2d");
    g.scale(ratio, ratio);
    return { node: c, g: g, width: width, height: height };
  }

  el.classList.add("sg-live");
  var panels = make("div", "sg-live-panels");
  var boundary = null;
  var curves = canvas(2 * SIZE - 40, SIZE);
  var controls = make("div", "sg-live-controls");
  var slider = make("input", "sg-live-slider");
  slider.type = "range";
  slider.min = "0";
  slider.step = "1";
  slider.setAttribute("aria-label", "snapshot");
  var text = make("div", "sg-live-text");
  controls.appendChild(slider);
  controls.appendChild(text);
  el.appendChild(panels);
  el.appendChild(controls);

  slider.addEventListener("input", function () {
    shown = parseInt(slider.value, 10);
    following = shown === record.snapshots.length - 1;
    draw();
  });

  function fmt(x) {
    if (x === null || x === undefined) { return "?"; }
    var a = Math.abs(x);
    return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(2) : x.toFixed(4);
  }

  function accuracyAt(step) {
    var acc = null;
    for (var i = 0; i < record.epochs.length; i++) {
      if (record.epochs[i][0] <= step && record.epochs[i][2] !== null) { acc = record.epochs[i][2]; }
    }
    return acc;
  }

  function cellClass(v) {
    return record.frame.binary ? (v > 0 ? 1 : 0) : Math.floor(v / 1000);
  }
  function cellConfidence(v) {
    return record.frame.binary ? Math.abs(v) / 100 : (v % 1000) / 100;
  }

  function drawBoundary(snapshot) {
    var f = record.frame;
    var g = boundary.g, n = f.resolution, w = boundary.width, h = boundary.height;
    var b = f.bounds;
    g.clearRect(0, 0, w, h);
    if (!snapshot || !snapshot.cells) { return; }
    var cw = w / n, ch = h / n, cells = snapshot.cells;
    for (var j = 0; j < n; j++) {
      for (var i = 0; i < n; i++) {
        var v = cells[j * n + i];
        g.globalAlpha = 0.35 + 0.6 * cellConfidence(v);
        g.fillStyle = REGIONS[cellClass(v) % REGIONS.length];
        g.fillRect(i * cw, j * ch, cw + 0.5, ch + 0.5);
      }
    }
    g.globalAlpha = 1;
    g.strokeStyle = "#000";
    g.lineWidth = 1.5;
    g.beginPath(); // the boundary: the edges between cells of different classes
    for (j = 0; j < n; j++) {
      for (i = 0; i < n; i++) {
        var c = cellClass(cells[j * n + i]);
        if (i + 1 < n && cellClass(cells[j * n + i + 1]) !== c) { g.moveTo((i + 1) * cw, j * ch); g.lineTo((i + 1) * cw, (j + 1) * ch); }
        if (j + 1 < n && cellClass(cells[(j + 1) * n + i]) !== c) { g.moveTo(i * cw, (j + 1) * ch); g.lineTo((i + 1) * cw, (j + 1) * ch); }
      }
    }
    g.stroke();
    g.lineWidth = 0.8;
    g.strokeStyle = "#fff";
    for (var k = 0; k < f.points.length; k++) {
      var p = f.points[k];
      var x = (p[0] - b[0]) / (b[1] - b[0]) * w, y = (b[3] - p[1]) / (b[3] - b[2]) * h;
      g.fillStyle = COLOURS[p[2] % COLOURS.length];
      g.beginPath();
      g.arc(x, y, 3.5, 0, 2 * Math.PI);
      g.fill();
      g.stroke();
    }
  }

  function drawCurves(step) {
    var g = curves.g, w = curves.width, h = curves.height;
    var left = 64, right = 52, top = 12, bottom = 34;
    var pw = w - left - right, ph = h - top - bottom;
    var losses = record.losses, total = Math.max(record.total || 0, losses.length, 1);
    g.clearRect(0, 0, w, h);
    g.font = "13px Helvetica, Arial, sans-serif";
    g.strokeStyle = "#999";
    g.lineWidth = 1;
    g.strokeRect(left, top, pw, ph);
    var positive = losses.length > 0 && losses.every(function (v) { return v > 0 && isFinite(v); });
    var ys = losses.map(function (v) { return positive ? Math.log10(v) : v; }).filter(isFinite);
    var lo = Math.min.apply(null, ys.length ? ys : [0]), hi = Math.max.apply(null, ys.length ? ys : [1]);
    if (hi - lo < 1e-12) { hi = lo + 1; }
    function sx(s) { return left + (total > 1 ? (s - 1) / (total - 1) : 0.5) * pw; }
    function sy(v) { return top + (hi - (positive ? Math.log10(v) : v)) / (hi - lo) * ph; }
    g.strokeStyle = LOSS;
    g.lineWidth = 1.6;
    g.beginPath();
    for (var s = 1; s <= losses.length; s++) {
      if (s === 1) { g.moveTo(sx(s), sy(losses[0])); } else { g.lineTo(sx(s), sy(losses[s - 1])); }
    }
    g.stroke();
    g.strokeStyle = ACCURACY;
    g.beginPath();
    var started = false;
    record.epochs.forEach(function (e) {
      if (e[2] === null) { return; }
      var x = sx(e[0]), y = top + (1 - e[2]) * ph;
      if (!started) { g.moveTo(x, y); started = true; } else { g.lineTo(x, y); }
    });
    g.stroke();
    if (step > 0) { // the snapshot shown
      g.strokeStyle = "#444";
      g.setLineDash([4, 3]);
      g.beginPath();
      g.moveTo(sx(step), top);
      g.lineTo(sx(step), top + ph);
      g.stroke();
      g.setLineDash([]);
    }
    g.fillStyle = LOSS;
    g.textAlign = "right";
    var hiText = positive ? fmt(Math.pow(10, hi)) : fmt(hi), loText = positive ? fmt(Math.pow(10, lo)) : fmt(lo);
    g.fillText(hiText, left - 4, top + 11);
    g.fillText(loText, left - 4, top + ph);
    g.save();
    g.translate(14, top + ph / 2);
    g.rotate(-Math.PI / 2);
    g.textAlign = "center";
    g.fillText(positive ? "loss (log scale)" : "loss", 0, 0);
    g.restore();
    g.fillStyle = ACCURACY;
    g.textAlign = "left";
    g.fillText("100 %", left + pw + 4, top + 11);
    g.fillText("0 %", left + pw + 4, top + ph);
    g.save();
    g.translate(w - 8, top + ph / 2);
    g.rotate(Math.PI / 2);
    g.textAlign = "center";
    g.fillText("accuracy", 0, 0);
    g.restore();
    g.fillStyle = "#222";
    g.textAlign = "center";
    g.fillText("step", left + pw / 2, h - 6);
    g.textAlign = "left";
    g.fillText("1", left, top + ph + 16);
    g.textAlign = "right";
    g.fillText(String(total), left + pw, top + ph + 16);
  }

  function draw() {
    var snapshots = record.snapshots;
    el.setAttribute("data-steps", String(record.losses.length));
    el.setAttribute("data-status", record.status);
    if (!snapshots.length) { text.textContent = record.status; return; }
    shown = Math.max(0, Math.min(shown, snapshots.length - 1));
    var snapshot = snapshots[shown];
    if (boundary) { drawBoundary(snapshot); }
    drawCurves(snapshot.step);
    var acc = accuracyAt(snapshot.step);
    var parts = [
      "step " + snapshot.step + (record.total ? " / " + record.total : ""),
      "loss " + fmt(snapshot.step > 0 ? record.losses[snapshot.step - 1] : null),
    ];
    if (acc !== null) { parts.push("accuracy " + (100 * acc).toFixed(1) + " %"); }
    parts.push(record.status === "training" ? "training\u2026" : record.status);
    text.textContent = parts.join(" \u00b7 ");
    el.setAttribute("data-step", String(snapshot.step));
  }

  function update(next) {
    record = next;
    if (!boundary && record.frame && record.frame.resolution) {
      boundary = canvas(SIZE, SIZE);
      panels.insertBefore(boundary.node, panels.firstChild);
    }
    slider.max = String(Math.max(0, record.snapshots.length - 1));
    if (following) { shown = record.snapshots.length - 1; }
    slider.value = String(shown);
    draw();
  }

  panels.appendChild(curves.node);
  update(record);
  return { update: update, show: function (k) { shown = k; following = false; slider.value = String(k); draw(); } };
}
