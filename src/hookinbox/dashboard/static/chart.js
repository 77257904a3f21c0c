// The overview's per-minute chart: reads the JSON the page embeds, draws three lines on a canvas.
(function () {
  "use strict";
  var data = document.getElementById("chart-data");
  var canvas = document.getElementById("chart");
  if (!data || !canvas || !canvas.getContext) return;
  var d = JSON.parse(data.textContent);
  var series = [["received", "#2457c5"], ["handled", "#1b7f3b"], ["failed", "#b3261e"]];
  var n = d.received.length;
  var ctx = canvas.getContext("2d");
  var W = canvas.width, H = canvas.height, left = 44, right = 10, top = 10, bottom = 26;
  var max = 1;
  series.forEach(function (s) { d[s[0]].forEach(function (v) { if (v > max) max = v; }); });
  var x = function (i) { return left + (W - left - right) * (n > 1 ? i / (n - 1) : 0); };
  var y = function (v) { return H - bottom - (H - top - bottom) * v / max; };
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#5d6778";
  ctx.strokeStyle = "#d9dee7";
  ctx.lineWidth = 1;
  [0, 0.5, 1].forEach(function (f) {
    var v = Math.round(max * f), yy = Math.round(y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(left, yy); ctx.lineTo(W - right, yy); ctx.stroke();
    ctx.fillText(String(v), 4, yy + 4);
  });
  var step = Math.max(1, Math.round(n / 6 / 30) * 30);
  for (var i = 0; i < n; i += step) {
    var t = new Date((d.since + i * d.bucket) * 1000);
    var label = ("0" + t.getUTCHours()).slice(-2) + ":" + ("0" + t.getUTCMinutes()).slice(-2);
    ctx.fillText(label, x(i) - 14, H - 8);
  }
  series.forEach(function (s) {
    var values = d[s[0]];
    ctx.strokeStyle = s[1];
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    values.forEach(function (v, i) { if (i === 0) ctx.moveTo(x(i), y(v)); else ctx.lineTo(x(i), y(v)); });
    ctx.stroke();
  });
  canvas.setAttribute("data-drawn", "true");
})();
