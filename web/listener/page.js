// The listener's page (alluvium-tune's "/"; core/src/tuner/page.cpp serves it). Every
// figure comes from the local server's event stream (/events): a "history" of samples when
// the page connects, then a "status" (the same JSON as /status) each second and whenever
// the item on air changes. Text from the playlist is only ever set as text (textContent).
'use strict';

(() => {
  const { duration, bytes, rate, rates, draw, addSample, listen } = window.Alluvium;
  const $ = (id) => document.getElementById(id);
  const setText = (id, text) => window.Alluvium.setText($(id), text);
  const keepMs = 10 * 60 * 1000; // the chart's span

  let status = null;
  const samples = [];
  let skewMs = 0; // the station's clock minus this browser's

  function clock(iso) {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return '';
    // When it airs by this browser's clock, in the viewer's time zone.
    return new Date(t - skewMs).toLocaleTimeString([], {
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
  }

  // ---- what is on air now ---------------------------------------------------------------

  // The airing at the station's time `t`: the one playing, or the next once it has begun
  // (the page changes the title at the boundary itself, not when the next status comes).
  function airing(t) {
    if (!status) return null;
    const playing = status.playing;
    if (playing && t < Date.parse(playing.end)) return playing;
    const next = status.next || [];
    for (let i = next.length - 1; i >= 0; i -= 1) {
      if (Date.parse(next[i].start) <= t) {
        const end = i + 1 < next.length ? next[i + 1].start : null;
        return { ...next[i], end };
      }
    }
    return playing;
  }

  function renderNow() {
    const t = Date.now() + skewMs;
    const a = airing(t);
    if (!a) {
      setText('now-title', 'Nothing on air');
      setText('elapsed', '');
      setText('length', '');
      $('progress-bar').style.width = '0';
      return;
    }
    setText('now-title', a.title || '(untitled)');
    const start = Date.parse(a.start);
    const end = a.end ? Date.parse(a.end) : NaN;
    setText('elapsed', duration(t - start));
    if (Number.isNaN(end)) {
      setText('length', '');
      $('progress-bar').style.width = '0';
    } else {
      setText('length', duration(end - start));
      const share = Math.min(1, Math.max(0, (t - start) / (end - start)));
      $('progress-bar').style.width = `${(share * 100).toFixed(2)}%`;
    }
  }

  // ---- the schedule ---------------------------------------------------------------------

  function scheduleRow(item, kind) {
    const li = document.createElement('li');
    li.className = kind;
    const time = document.createElement('time');
    time.dateTime = item.start;
    time.textContent = clock(item.start);
    const title = document.createElement('span');
    title.textContent = item.title || '(untitled)';
    const tag = document.createElement('span');
    tag.className = 'tag';
    tag.textContent = kind === 'next' ? '' : kind;
    li.append(time, title, tag);
    return li;
  }

  function renderSchedule() {
    const rows = [];
    for (const item of status.previous || []) rows.push(scheduleRow(item, 'played'));
    if (status.playing) rows.push(scheduleRow(status.playing, 'now'));
    for (const item of status.next || []) rows.push(scheduleRow(item, 'next'));
    $('schedule').replaceChildren(...rows);
  }

  // ---- the swarm ------------------------------------------------------------------------

  const sources = ['peers', 'gateway', 'origin'];
  // The chart's series: bytes a second from each source, and uploaded.
  const series = [
    { key: 'peers', className: 'peers' },
    { key: 'gateway', className: 'gateway' },
    { key: 'origin', className: 'origin' },
    { key: 'uploaded', className: 'up' },
  ];

  function sampleOf(s) {
    const b = s.bytes || {};
    return {
      t: Date.parse(s.now),
      peers: b.peers || 0,
      gateway: b.gateway || 0,
      origin: b.origin || 0,
      uploaded: b.uploaded || 0,
    };
  }

  // Bytes a second of `keys` together over the last five seconds of samples (libtorrent's
  // own rate leaves out the ranges read over HTTP); null before two samples.
  function recent(keys) {
    if (samples.length < 2) return null;
    const last = samples[samples.length - 1];
    let first = samples[samples.length - 2];
    for (let i = samples.length - 2; i >= 0 && last.t - samples[i].t <= 5000; i -= 1) {
      first = samples[i];
    }
    let n = 0;
    for (const key of keys) n += Math.max(0, last[key] - first[key]);
    return (n * 1000) / Math.max(1, last.t - first.t);
  }

  function renderSwarm() {
    const s = status;
    setText('peers', String(s.peers));
    const received = recent(sources);
    setText('download', rate(received === null ? s.download_rate : received));
    const sent = recent(['uploaded']);
    setText('upload', rate(sent === null ? s.upload_rate : sent));
    setText('buffer', `${(s.buffer_ms / 1000).toFixed(1)} s`);
    setText('stalls', String(s.stalls));
    const b = s.bytes || {};
    const total = sources.reduce((sum, k) => sum + (b[k] || 0), 0);
    for (const source of sources) {
      const share = total > 0 ? (b[source] || 0) / total : 0;
      $(`share-${source}`).style.width = `${(share * 100).toFixed(2)}%`;
      setText(`pct-${source}`, `${(share * 100).toFixed(0)} % (${bytes(b[source] || 0)})`);
    }
    const span = samples.length > 0
      ? Math.max(60 * 1000, samples[samples.length - 1].t - samples[0].t) : 60 * 1000;
    draw($('chart'), rates(samples, series.map((x) => x.key)), series, rate, span);
    setText('chart-span', duration(span));
  }

  // ---- the page as a whole --------------------------------------------------------------

  function render() {
    setText('station', status.station || 'Alluvium');
    setText('description', status.description || '');
    document.title = `${status.station || 'Alluvium'} · Alluvium`;
    const video = (status.content_type || '').startsWith('video/');
    $('player').hidden = video;
    $('video-note').hidden = !video;
    setText('video-command', `mpv ${new URL('/stream', window.location.href).href}`);
    const warning = status.warning || status.swarm_error || status.playlist_error || '';
    $('warning').hidden = warning === '';
    setText('warning', warning);
    renderNow();
    renderSchedule();
    renderSwarm();
  }

  listen('/events', $('connection'), {
    history: (list) => {
      samples.length = 0;
      for (const s of list) addSample(samples, s, keepMs);
    },
    status: (s) => {
      status = s;
      const t = Date.parse(s.now);
      if (!Number.isNaN(t)) skewMs = t - Date.now();
      addSample(samples, sampleOf(s), keepMs);
      render();
    },
  });
  // The progress bar moves, and the title changes at an item's end, between statuses.
  setInterval(renderNow, 250);
})();
