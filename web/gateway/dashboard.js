// The gateway's dashboard ("/"; server/gateway/dashboard.cpp serves it). Its figures come
// from the gateway's event stream (/v1/events): a "history" of samples when it connects,
// then a "status" (the JSON of /v1/status) each second. Media URLs are set as text only.
'use strict';

(() => {
  const { duration, bytes, rate, rates, draw, addSample, listen } = window.Alluvium;
  const $ = (id) => document.getElementById(id);
  const setText = (id, text) => window.Alluvium.setText($(id), text);
  const keepMs = 10 * 60 * 1000;
  const samples = [];

  function sampleOf(s) {
    const t = s.totals || {};
    return {
      t: Date.parse(s.now),
      listeners: t.listeners || 0,
      served: t.bytes_served || 0,
      rescued: t.bytes_rescued || 0,
      origin: t.origin_bytes || 0,
      seed_limit: t.seed_upload_limit || 0,
    };
  }

  function copies(n, size) {
    return size > 0 ? (n / size).toFixed(2) : '–';
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function renderItems(s) {
    const rows = (s.items || []).map((item) => {
      const tr = document.createElement('tr');
      const swarm = `${item.seeds + item.leechers} (${item.seeds} seeds)`;
      const lastAsked = new Date(Date.parse(item.last_access)).toLocaleString();
      tr.append(
        cell(item.url, 'url'),
        cell(bytes(item.size), 'num'),
        cell(swarm, 'num'),
        cell(copies((item.uploaded || 0) + (item.rescued || 0), item.size), 'num'),
        cell(copies(item.origin_bytes || 0, item.size), 'num'),
        cell(lastAsked),
      );
      return tr;
    });
    $('item-rows').replaceChildren(...rows);
    const jobs = (s.jobs || []).map((job) => {
      const li = document.createElement('li');
      const share = job.total > 0 ? ` (${((100 * job.received) / job.total).toFixed(0)} %)` : '';
      li.textContent = `${job.state} ${job.url}: ${bytes(job.received)} of ${bytes(job.total)}${share}`;
      return li;
    });
    $('jobs').replaceChildren(...jobs);
  }

  function renderCharts() {
    const span = samples.length > 0
      ? Math.max(60 * 1000, samples[samples.length - 1].t - samples[0].t) : 60 * 1000;
    for (const el of document.querySelectorAll('.chart-span')) {
      window.Alluvium.setText(el, duration(span));
    }
    const count = (n) => String(Math.round(n));
    draw($('chart-listeners'), samples, [{ key: 'listeners', className: 'peers' }], count, span,
      true);
    const flows = rates(samples, ['served', 'rescued', 'origin']);
    draw($('chart-bytes'), flows,
      [{ key: 'served', className: 'gateway' }, { key: 'origin', className: 'origin' }], rate, span);
    // The seed's own upload is what went to listeners less the ranges over HTTP; its limit
    // is a level, not a counter (none drawn when there is no limit).
    const seed = flows.map((p) => ({
      t: p.t,
      seed: Math.max(0, p.served - p.rescued),
      rescued: p.rescued,
      limit: p.seed_limit > 0 ? p.seed_limit : null,
    }));
    draw($('chart-seed'), seed, [
      { key: 'seed', className: 'peers' },
      { key: 'rescued', className: 'up' },
      { key: 'limit', className: 'origin' },
    ], rate, span);
  }

  function render(s) {
    const t = s.totals || {};
    setText('summary', `Tracker: ${s.tracker || 'none'}${s.dht ? ', DHT on' : ''}; BitTorrent port ${s.bt_port}.`);
    setText('listeners', String(t.listeners || 0));
    setText('items', String(t.items || 0));
    setText('served', bytes(t.bytes_served));
    setText('origin', bytes(t.origin_bytes));
    setText('ratio', t.origin_bytes > 0 ? `${(t.bytes_served / t.origin_bytes).toFixed(2)} ×` : '–');
    setText('cache', `${bytes(t.cache_bytes)} of ${bytes(t.cache_limit)}`);
    setText('uptime', duration((s.uptime_s || 0) * 1000));
    renderItems(s);
    renderCharts();
  }

  listen('/v1/events', $('connection'), {
    history: (list) => {
      samples.length = 0;
      for (const x of list) addSample(samples, x, keepMs);
    },
    status: (s) => {
      addSample(samples, sampleOf(s), keepMs);
      render(s);
    },
  });
})();
