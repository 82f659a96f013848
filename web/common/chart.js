// What the listener's page and the gateway's dashboard share: human units and a line chart
// drawn as SVG elements (no library, nothing loaded from elsewhere). Text is only ever set
// as text. Loaded before each page's own script.
'use strict';

window.Alluvium = (() => {
  const svgNs = 'http://www.w3.org/2000/svg';

  // 75 -> "1:15", 3725 s -> "1:02:05".
  function duration(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = String(s % 60).padStart(2, '0');
    return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
  }

  // 1234567 -> "1.2 MB" (SI units, as network figures are counted).
  function bytes(n) {
    const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
    let v = Number(n) || 0;
    let i = 0;
    while (Math.abs(v) >= 1000 && i < units.length - 1) {
      v /= 1000;
      i += 1;
    }
    return `${Math.abs(v) >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
  }

  const rate = (n) => `${bytes(n)}/s`;

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  function svg(name, attributes, text) {
    const el = document.createElementNS(svgNs, name);
    for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // Per-second rates of counters between consecutive samples: for each sample after the
  // first, a copy of it with each of `keys` replaced by (b[key] - a[key]) / seconds (a
  // counter that went back counts 0).
  function rates(samples, keys) {
    const out = [];
    for (let i = 1; i < samples.length; i += 1) {
      const a = samples[i - 1];
      const b = samples[i];
      const seconds = (b.t - a.t) / 1000;
      if (seconds <= 0) continue;
      const point = { ...b };
      for (const key of keys) point[key] = Math.max(0, (b[key] - a[key]) / seconds);
      out.push(point);
    }
    return out;
  }

  // Draws `points` ({t, ...}) into the <svg> `chart` (viewBox 640 x 180): one polyline per
  // series ({key, className}), the y axis labelled by `format`, the x axis the last `span`
  // ms up to the newest point; `integer` for counts (the axis in whole steps). Sets
  // data-points to the number of points drawn.
  function draw(chart, points, series, format, span, integer = false) {
    const w = 640;
    const h = 180;
    const left = 62;
    const top = 8;
    const bottom = 20;
    const plotW = w - left - 8;
    const plotH = h - top - bottom;
    const newest = points.length > 0 ? points[points.length - 1].t : Date.now();
    let peak = 0;
    for (const p of points) {
      for (const { key } of series) peak = Math.max(peak, p[key]);
    }
    peak = integer ? Math.max(3, Math.ceil(peak / 3) * 3) : (peak > 0 ? peak * 1.1 : 1);
    const parts = [];
    for (let i = 0; i <= 3; i += 1) {
      const y = top + plotH - (plotH * i) / 3;
      parts.push(svg('line', { class: 'grid', x1: left, x2: w - 8, y1: y, y2: y }));
      parts.push(svg('text', { class: 'label', x: left - 6, y: y + 4, 'text-anchor': 'end' },
        format((peak * i) / 3)));
    }
    parts.push(svg('text', { class: 'label', x: left, y: h - 4 }, `−${duration(span)}`));
    parts.push(svg('text', { class: 'label', x: w - 8, y: h - 4, 'text-anchor': 'end' }, 'now'));
    for (const { key, className } of series) {
      const line = [];
      for (const p of points) {
        if (p[key] === undefined || p[key] === null) continue;
        const x = left + (plotW * (p.t - (newest - span))) / span;
        const y = top + plotH - (plotH * Math.min(p[key], peak)) / peak;
        line.push(`${x.toFixed(1)},${y.toFixed(1)}`);
      }
      parts.push(svg('polyline', { class: className, points: line.join(' ') }));
    }
    chart.replaceChildren(...parts);
    chart.setAttribute('data-points', String(points.length));
  }

  // Keeps `samples` (sorted by t) to the last `keepMs` after adding `sample`; a sample not
  // newer than the last is dropped.
  function addSample(samples, sample, keepMs) {
    if (Number.isNaN(sample.t)) return;
    if (samples.length > 0 && sample.t <= samples[samples.length - 1].t) return;
    samples.push(sample);
    while (samples.length > 0 && samples[0].t < sample.t - keepMs) samples.shift();
  }

  // An EventSource on `url` whose open/error states show in `stateEl`; `handlers` maps
  // event names to functions of the parsed JSON data.
  function listen(url, stateEl, handlers) {
    const events = new EventSource(url);
    events.addEventListener('open', () => setText(stateEl, 'live'));
    events.addEventListener('error', () => setText(stateEl, 'reconnecting…'));
    for (const [name, handler] of Object.entries(handlers)) {
      events.addEventListener(name, (e) => handler(JSON.parse(e.data)));
    }
    return events;
  }

  return { duration, bytes, rate, setText, rates, draw, addSample, listen };
})();
