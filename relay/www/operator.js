/* relay operator view: live meters (/api/events?levels=1, 10 updates a
 * second), the state and the day's programme (the status document; relay
 * renders the state at load into the HTML, and this script replaces it
 * from the first update on), 24 h
 * charts and recent warnings (/api/history, drawn with the embedded uPlot),
 * and, for a token holder, the control API with a confirmation and the
 * API's own answer. Talks to relay's origin only. */
(function () {
	'use strict';

	var doc = document;
	var body = doc.body;
	var $ = function (id) { return doc.getElementById(id); };
	var tz = body.getAttribute('data-tz') || undefined;
	var TOKEN_KEY = 'relay-operator-token';
	var POLL_MS = 5000;
	var METER_FLOOR = -60;

	/* ---- Small helpers. ---- */

	function el(tag, cls, text) {
		var e = doc.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined && text !== null)
			e.textContent = String(text);
		return e;
	}
	function setText(id, text) {
		var e = $(id);
		if (e && e.textContent !== text)
			e.textContent = text;
		return e;
	}
	function clear(e) {
		while (e.firstChild)
			e.removeChild(e.firstChild);
	}
	/* Times: in the page's zone (data-tz: [schedule] timezone, else the
	 * server's; relay's first paint uses the same and states it in
	 * #tz-note), rounded to the second as relay rounds every time, as
	 * "11:17:12" or "2026-12-01 11:17:12": the text relay's first paint
	 * writes, so a time reads the same before and after the script. */
	var partsFmt = null;
	function makeFormat(zone) {
		return new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23',
		    year: 'numeric', month: '2-digit', day: '2-digit',
		    hour: '2-digit', minute: '2-digit', second: '2-digit' });
	}
	try {
		partsFmt = makeFormat(tz);
	} catch (e) {
		/* A zone this browser does not know: UTC, and say so. */
		try {
			partsFmt = makeFormat('UTC');
			setText('tz-note', 'Times in UTC');
		} catch (e2) { partsFmt = null; }
	}
	function fmtTime(iso, withDate) {
		var ms = Date.parse(iso);
		if (!iso || isNaN(ms))
			return '';
		if (!partsFmt)
			return iso;
		var p = {};
		partsFmt.formatToParts(new Date(Math.round(ms / 1000) * 1000)).forEach(function (x) {
			p[x.type] = x.value;
		});
		var t = p.hour + ':' + p.minute + ':' + p.second;
		return withDate ? p.year + '-' + p.month + '-' + p.day + ' ' + t : t;
	}
	function timeEl(iso, withDate) {
		var t = el('time', null, fmtTime(iso, withDate));
		t.setAttribute('datetime', iso || '');
		return t;
	}
	/* As relay writes durations for people (util_format_duration()):
	 * "250 ms", "32.1 s", "1 min 05 s", "2 h 03 min 07 s", "3 d 04 h". */
	function duration(s) {
		function two(n) { return (n < 10 ? '0' : '') + n; }
		s = Math.max(0, s);
		if (s === 0)
			return '0 s';
		if (s < 0.9995)
			return Math.round(s * 1000) + ' ms';
		var t = Math.round(s * 10);
		if (t < 600)
			return (t % 10 ? (t / 10).toFixed(1) : String(t / 10)) + ' s';
		t = Math.round(s);
		var d = Math.floor(t / 86400), h = Math.floor(t % 86400 / 3600);
		var m = Math.floor(t % 3600 / 60), sec = t % 60;
		if (d > 0)
			return d + ' d' + (h || m ? ' ' + two(h) + ' h' : '') + (m ? ' ' + two(m) + ' min' : '');
		if (h > 0)
			return h + ' h' + (m || sec ? ' ' + two(m) + ' min' : '') + (sec ? ' ' + two(sec) + ' s' : '');
		return m + ' min' + (sec ? ' ' + two(sec) + ' s' : '');
	}
	function bytes(n) {
		if (n === null || n === undefined)
			return '–';
		if (n >= 1048576)
			return (n / 1048576).toFixed(1) + ' MB';
		if (n >= 1024)
			return (n / 1024).toFixed(1) + ' kB';
		return n + ' B';
	}
	var dayFmt = null;
	try {
		dayFmt = new Intl.DateTimeFormat('en-CA', { timeZone: partsFmt.resolvedOptions().timeZone,
		    year: 'numeric', month: '2-digit', day: '2-digit' });
	} catch (e) { dayFmt = null; }
	function sameDay(a, b) {
		return !dayFmt || dayFmt.format(a) === dayFmt.format(b);
	}

	/* ---- Meters. ---- */

	var meters = {};
	function meterRow(id, label) {
		var row = $(id);
		if (row)
			return row;
		row = el('div', 'meter');
		row.id = id;
		row.setAttribute('data-peak', '-120');
		row.setAttribute('data-rms', '-120');
		var name = el('span', 'm-name', label);
		name.setAttribute('dir', 'auto');
		row.appendChild(name);
		var bar = el('span', 'm-bar');
		bar.setAttribute('aria-hidden', 'true');
		bar.appendChild(el('span', 'm-rms'));
		bar.appendChild(el('span', 'm-peak'));
		row.appendChild(bar);
		var val = el('span', 'm-val');
		val.appendChild(el('span', 'm-pk', '–'));
		val.appendChild(doc.createTextNode(' / '));
		val.appendChild(el('span', 'm-rm', '–'));
		val.appendChild(doc.createTextNode(' dBFS'));
		row.appendChild(val);
		$('meters').appendChild(row);
		return row;
	}
	function frac(db) {
		if (typeof db !== 'number' || db <= METER_FLOOR)
			return 0;
		return Math.min(1, (db - METER_FLOOR) / -METER_FLOOR);
	}
	function setMeter(row, peak, rms, live) {
		row.setAttribute('data-peak', String(peak));
		row.setAttribute('data-rms', String(rms));
		row.classList.toggle('stale', !live);
		row.classList.toggle('hot', peak > -1);
		row.querySelector('.m-peak').style.transform = 'scaleX(' + frac(peak) + ')';
		row.querySelector('.m-rms').style.transform = 'scaleX(' + frac(rms) + ')';
		row.querySelector('.m-pk').textContent = peak <= -120 ? '−∞' : peak.toFixed(1);
		row.querySelector('.m-rm').textContent = rms <= -120 ? '−∞' : rms.toFixed(1);
	}
	/* Encodings: what each was fed after its own mix and resampling;
	 * bytes now and a second ago give the rate, and one that stopped
	 * producing shows an empty, struck-out meter. */
	var encBytes = {}, encInfo = {};
	var levelCount = 0;
	function onLevels(lv) {
		levelCount++;
		body.setAttribute('data-levels', String(levelCount));
		var live = lv.fresh && lv.flowing;
		setMeter($('meter-programme'), live ? lv.peak_dbfs : -120,
		    live ? lv.rms_dbfs : -120, live);
		setText('st-silent', lv.silent_s > 0 ? duration(lv.silent_s) : 'none');
		var now = Date.now();
		(lv.encodings || []).forEach(function (e) {
			var info = encInfo[e.name] || (encInfo[e.name] = {});
			info.peak = e.peak_dbfs;
			info.rms = e.rms_dbfs;
			info.seen = levelCount;
			if (typeof e.bytes !== 'number')
				return;
			var prev = encBytes[e.name];
			if (prev) {
				var dt = (now - prev.t) / 1000;
				info.kbps = dt > 0 ? (e.bytes - prev.b) * 8 / 1000 / dt : 0;
				info.producing = e.bytes > prev.b;
			}
			encBytes[e.name] = { b: e.bytes, t: now };
		});
		Object.keys(encInfo).forEach(function (name) {
			var info = encInfo[name];
			if (info.seen === undefined)
				return;
			var row = meterRow('meter-enc-' + name.replace(/[^A-Za-z0-9_-]/g, '_'),
			    'Encoding ' + name);
			var on = live && info.seen === levelCount && info.producing !== false;
			setMeter(row, on ? info.peak : -120, on ? info.rms : -120, on);
			var n = row.querySelector('.m-name');
			var label = 'Encoding ' + name + (info.desc ? ' · ' + info.desc : '') +
			    (info.kbps !== undefined ? ' · ' + Math.round(info.kbps) + ' kbit/s' : '');
			if (n.textContent !== label)
				n.textContent = label;
		});
	}

	/* ---- The status document. ---- */

	var status = null;
	function renderStatus(s) {
		status = s;
		body.setAttribute('data-on-air', String(!!s.on_air));
		body.setAttribute('data-state', s.state);
		var badge = $('badge');
		badge.className = 'badge ' + (s.state === 'fallback' ? 'fallback' : s.on_air ? 'on' : 'off');
		setText('badge-text', s.state === 'fallback' ? 'FALLBACK' : s.on_air ? 'ON AIR' : 'OFF AIR');
		setText('station-name', s.station.name);
		setText('st-state', s.state.replace(/_/g, ' '));
		var inp = s.input || {};
		setText('st-input', (inp.type || '?') + (inp.flowing ? ', flowing' : ', NOT flowing') +
		    (inp.xruns ? ', ' + inp.xruns + ' overruns' : ''));
		setText('st-listeners', String(s.listeners));
		setText('st-uptime', duration(s.uptime_s));
		var rl = $('st-reload');
		clear(rl);
		if (s.reload) {
			rl.appendChild(el('span', s.reload.ok ? 'ok' : 'bad',
			    s.reload.ok ? 'applied' : 'REJECTED'));
			rl.appendChild(doc.createTextNode(' '));
			rl.appendChild(timeEl(s.reload.at, true));
			rl.appendChild(el('span', 'detail', s.reload.detail));
			rl.setAttribute('data-ok', String(s.reload.ok));
		} else {
			rl.textContent = 'none since start';
		}
		(s.encodings || []).forEach(function (e) {
			var info = encInfo[e.name] || (encInfo[e.name] = {});
			info.desc = (e.rate / 1000) + ' kHz ' + (e.channels === 1 ? 'mono' : e.channels === 2 ? 'stereo' : e.channels + ' ch');
		});
		renderExtra(s);
		renderOutputs(s);
		renderTimeline();
	}

	/* Parts of the document the panels above do not show: labelled here
	 * for people (the JSON keys stay the API's, docs/status-api.md), and
	 * a part relay grows later is shown as it comes, its label and unit
	 * read from its key ("x_rate_s": "X rate", a duration). */
	var KNOWN = ['station', 'on_air', 'state', 'uptime_s', 'now', 'next', 'input',
	    'encodings', 'outputs', 'listeners', 'requests', 'reload',
	    'programme_error', 'time', 'version'];
	var SECTIONS = {
		on_air_rule: 'On-air rule',
		processing: 'Loudness processing',
		fallback: 'Dead air and filler',
		edges: 'Edge servers'
	};
	var LABELS = {
		'processing.enabled': 'Processing',
		'processing.target_lufs': 'Target',
		'processing.momentary_lufs': 'Momentary loudness (400 ms)',
		'processing.short_term_lufs': 'Short-term loudness (3 s)',
		'processing.integrated_lufs': 'Integrated loudness (since start)',
		'processing.true_peak_dbtp': 'True peak (last second)',
		'processing.gain_db': 'Rider gain',
		'processing.limiter_db': 'Limiter reduction',
		'processing.frozen': 'Gain held (silence)',
		'fallback.enabled': 'Dead-air detection',
		'fallback.active': 'Filler on air now',
		'fallback.since': 'Filler on air since, or last left it',
		'fallback.why': 'Why it went on air',
		'fallback.source': 'Filler',
		'fallback.activations': 'Times on air since start',
		'fallback.dead_air_s': 'Dead air since start',
		'fallback.after_s': 'Silence is dead air after'
	};
	var WORDS = {
		on_air_rule: { listenback: 'listen-back: listeners hear our audio',
		    server: 'the input and Icecast\'s status page' },
		'processing.enabled': { 'true': 'on', 'false': 'off' },
		'fallback.enabled': { 'true': 'on', 'false': 'off' }
	};
	var UNITS = [
		[/_s$/, function (v) { return duration(v); }],
		[/_ms$/, function (v) { return duration(v / 1000); }],
		[/_bytes$/, bytes],
		[/_lufs$/, function (v) { return v.toFixed(1) + ' LUFS'; }],
		[/_dbtp$/, function (v) { return v.toFixed(1) + ' dBTP'; }],
		[/_dbfs$/, function (v) { return v.toFixed(1) + ' dBFS'; }],
		[/_db$/, function (v) { return v.toFixed(1) + ' dB'; }],
		[/_hz$/, function (v) { return v + ' Hz'; }]
	];
	function label(path, key) {
		if (LABELS[path])
			return LABELS[path];
		if (SECTIONS[path])
			return SECTIONS[path];
		var t = key.replace(/_(s|ms|bytes|lufs|dbtp|dbfs|db|hz)$/, '').replace(/_/g, ' ');
		return t.charAt(0).toUpperCase() + t.slice(1);
	}
	/* A value as text, or a <time> for a time. */
	function human(path, key, v) {
		if (v === null || v === undefined)
			return '–';
		var words = WORDS[path];
		if (words && words[String(v)] !== undefined)
			return words[String(v)];
		if (typeof v === 'boolean')
			return v ? 'yes' : 'no';
		if (typeof v === 'number') {
			for (var i = 0; i < UNITS.length; i++) {
				if (UNITS[i][0].test(key))
					return UNITS[i][1](v);
			}
			return String(v);
		}
		if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?(\.\d+)?Z$/.test(v))
			return timeEl(v, true);
		if (typeof v === 'object')
			return JSON.stringify(v);
		return String(v);
	}
	function row(dl, name, value) {
		dl.appendChild(el('dt', null, name));
		var dd = el('dd');
		if (typeof value === 'string')
			dd.textContent = value;
		else
			dd.appendChild(value);
		dl.appendChild(dd);
	}
	/* An edge: "reachable, mount listed, 3 listeners", or what is wrong. */
	function edgeText(e) {
		if (!e.reachable)
			return 'UNREACHABLE';
		return 'reachable, ' + (e.mount_listed ? 'mount listed' : 'mount NOT listed') +
		    (typeof e.listeners === 'number' ? ', ' + e.listeners + ' listening' : '');
	}
	function renderExtra(s) {
		var box = $('extra-state');
		var scalars = el('dl', 'kv');
		clear(box);
		box.appendChild(scalars);
		Object.keys(s).forEach(function (k) {
			if (KNOWN.indexOf(k) >= 0)
				return;
			var v = s[k];
			if (v === null || typeof v !== 'object') {
				row(scalars, label(k, k), human(k, k, v));
				return;
			}
			if (Array.isArray(v) && v.length === 0)
				return;
			var sec = el('div', 'extra');
			sec.id = 'extra-' + k;
			sec.appendChild(el('h3', null, label(k, k)));
			var dl = el('dl', 'kv');
			if (Array.isArray(v)) {
				v.forEach(function (item, i) {
					var name = item && (item.url || item.name);
					row(dl, name ? String(name) : String(i + 1),
					    k === 'edges' ? edgeText(item) : human(k, k, item));
				});
			} else {
				Object.keys(v).forEach(function (kk) {
					row(dl, label(k + '.' + kk, kk), human(k + '.' + kk, kk, v[kk]));
				});
			}
			sec.appendChild(dl);
			box.appendChild(sec);
		});
	}

	/* An output's last error: red while it is its current state; once
	 * the output has connected since (the times compared to the second,
	 * as relay's first paint compares them), history, not red. */
	function lastErrorCell(o) {
		var since = Date.parse(o.since), at = Date.parse(o.last_error_at);
		var past = o.connected && !!o.last_error &&
		    (!o.last_error_at || !o.since || isNaN(since) || isNaN(at) ||
		     Math.round(since / 1000) >= Math.round(at / 1000));
		if (!past)
			return el('td', 'err', o.last_error || '');
		var td = el('td', 'past', 'earlier');
		if (o.last_error_at) {
			td.appendChild(doc.createTextNode(', at '));
			td.appendChild(timeEl(o.last_error_at, true));
		}
		td.appendChild(doc.createTextNode(': ' + o.last_error));
		return td;
	}

	function renderOutputs(s) {
		var tb = $('outputs-body');
		clear(tb);
		(s.outputs || []).forEach(function (o) {
			var tr = el('tr', o.connected ? 'up' : 'down');
			tr.setAttribute('data-output', o.name);
			var name = el('th', null, o.name);
			name.scope = 'row';
			name.appendChild(el('span', 'detail', o.type + (o.url ? ' ' + o.url : '') + ' · ' + o.encoding));
			tr.appendChild(name);
			tr.appendChild(el('td', 'state', o.connected ? 'connected' : 'DOWN'));
			var since = el('td');
			since.appendChild(timeEl(o.since, true));
			tr.appendChild(since);
			tr.appendChild(el('td', 'num', o.listeners === null ? '–' : o.listeners));
			tr.appendChild(el('td', 'num', o.lag_ms === null ? '–' : (o.lag_ms / 1000).toFixed(1) + ' s'));
			tr.appendChild(el('td', 'num', o.reconnects));
			tr.appendChild(el('td', 'num', bytes(o.dropped_bytes)));
			tr.appendChild(lastErrorCell(o));
			tb.appendChild(tr);
		});
	}

	/* The day's programme: what went on air (history events), what is on
	 * air, what comes next, with failed or skipped requests and programme
	 * errors marked with their reason. */
	var history = null;
	function renderTimeline() {
		var s = status;
		if (!s)
			return;
		var list = $('timeline');
		var items = [];
		var now = s.time ? new Date(s.time) : new Date();
		var onAirAt = s.now && s.now.started_at;
		/* A failed request is also a programme error: show it once,
		 * as the request (it has the title). */
		var reasons = {};
		(s.requests || []).forEach(function (r) {
			if (r.state === 'failed' || (r.state === 'done' && r.reason)) {
				/* Done but "never aired" (withdrawn by a skip
				 * before its source had audio): not "played". */
				var kind = r.state === 'failed' ? 'failed'
				    : r.reason.indexOf('never aired') === 0 ? 'withdrawn' : 'past';
				items.push({ at: r.updated_at || r.starts_at, kind: kind,
				    name: r.name + ' (request ' + r.id + ')', title: r.title,
				    reason: r.reason });
				reasons[r.name + '|' + r.reason] = true;
			} else if (r.state === 'pending') {
				items.push({ at: r.starts_at, kind: 'next', name: r.name + ' (request ' + r.id + ')',
				    title: r.title, reason: 'waiting' });
			}
		});
		var errors = history ? history.events.filter(function (ev) {
			return ev.kind === 'error';
		}) : [];
		if (s.programme_error)
			errors.push({ at: s.programme_error.at, kind: 'error',
			    segment: s.programme_error.segment, title: '',
			    text: s.programme_error.text });
		errors.forEach(function (ev) {
			var key = (ev.segment || '') + '|' + ev.text;
			if (reasons[key] || (ev.at && !sameDay(new Date(ev.at), now)))
				return;
			reasons[key] = true;
			items.push({ at: ev.at, kind: 'failed', name: ev.segment || 'programme',
			    title: ev.title, reason: ev.text });
		});
		if (history) {
			history.events.forEach(function (ev) {
				if (ev.kind !== 'on_air' || !ev.at || !sameDay(new Date(ev.at), now))
					return;
				/* The item on air is the "now" row: its start, and a
				 * title change within it (history stamps that when the
				 * title went on air, with milliseconds; started_at is
				 * rounded to the second). */
				if (onAirAt && ev.title === s.now.title &&
				    Date.parse(ev.at) >= Date.parse(onAirAt) - 1000)
					return;
				items.push({ at: ev.at, kind: 'past',
				    name: ev.segment || ev.text, title: ev.title, reason: '' });
			});
		}
		/* Named as history names it once played (status_operator.c's
		 * add_timeline() too): "fallback" for the filler. */
		items.push({ at: s.now.started_at, kind: 'now',
		    name: s.now.segment || (s.state === 'fallback' ? 'fallback' : s.now.source),
		    title: s.now.title + (s.now.artist ? ' – ' + s.now.artist : ''),
		    until: s.now.ends_at });
		(s.next || []).forEach(function (n) {
			items.push({ at: n.starts_at, kind: 'next', name: n.segment, title: n.title });
		});
		items.sort(function (a, b) {
			var ta = a.at ? Date.parse(a.at) : 0, tb = b.at ? Date.parse(b.at) : 0;
			return ta - tb;
		});
		if (items.length > 60)
			items = items.slice(items.length - 60);
		clear(list);
		items.forEach(function (it) {
			var li = el('li', 'tl-' + it.kind);
			li.setAttribute('data-kind', it.kind);
			li.appendChild(timeEl(it.at, false));
			var tag = { past: 'played', withdrawn: 'not aired', now: 'ON AIR', next: 'next',
			    failed: 'FAILED' }[it.kind];
			li.appendChild(el('span', 'tag', tag));
			var n = el('span', 'what', it.name || '');
			n.setAttribute('dir', 'auto');
			li.appendChild(n);
			if (it.title) {
				var t = el('span', 'title', it.title);
				t.setAttribute('dir', 'auto');
				li.appendChild(t);
			}
			if (it.until) {
				li.appendChild(el('span', 'until', 'until '));
				li.lastChild.appendChild(timeEl(it.until, false));
			}
			if (it.reason)
				li.appendChild(el('span', 'reason', it.reason));
			list.appendChild(li);
		});
	}

	/* ---- History: charts and the log. ---- */

	var charts = {};
	var dark = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
	var PALETTE = dark ? ['#8ab4f8', '#f28b82', '#81c995', '#fdd663', '#c58af9', '#78d9ec']
	    : ['#0b57d0', '#b3261e', '#146c2e', '#8a4b00', '#7627bb', '#006a6a'];
	var AXIS = dark ? '#b4b8c3' : '#4a4d57';
	var GRID = dark ? '#33353d' : '#dcdee5';
	function axes(yLabel) {
		return [
			{ stroke: AXIS, grid: { stroke: GRID } },
			{ stroke: AXIS, grid: { stroke: GRID }, label: yLabel, size: 60 }
		];
	}
	function chartWidth(host) {
		return Math.max(260, host.clientWidth || 600);
	}
	/* The x range: the data's, or a minute around a single point. uPlot
	 * widens a one-point time axis by 86400 / ms, which with times in
	 * seconds is 1000 days: a station's first minute drew Jan 2027 - Jul
	 * 2029 under "last 24 hours". */
	function timeRange(u, min, max) {
		var xs = u.data && u.data[0];
		if (!xs || xs.length === 0 || xs[xs.length - 1] - xs[0] >= 1)
			return [min, max];
		return [xs[0] - 30, xs[xs.length - 1] + 30];
	}
	/* Draws (or updates) a chart: data is [xs, ys...]. */
	function chart(id, host, series, data, yLabel, range) {
		if (!window.uPlot)
			return null;
		var c = charts[id];
		if (c && c.series.length !== series.length + 1) {
			c.destroy();
			c = null;
		}
		if (!c) {
			var div = $(id);
			if (!div) {
				div = el('div', 'chart');
				div.id = id;
				host.appendChild(div);
			}
			clear(div);
			var opts = {
				width: chartWidth(div),
				height: 180,
				series: [{}].concat(series.map(function (s, i) {
					return { label: s.label, stroke: s.color || PALETTE[i % PALETTE.length],
					    width: 1.5, spanGaps: false, scale: s.scale || 'y',
					    points: { show: false } };
				})),
				axes: axes(yLabel),
				scales: { x: { time: true, range: timeRange } },
				legend: { show: true },
				hooks: { setScale: [function (u, key) {
					/* For tests: the seconds the x axis spans. */
					if (key === 'x' && u.scales.x.max !== undefined)
						$(id).setAttribute('data-x-span',
						    String(u.scales.x.max - u.scales.x.min));
				}] }
			};
			if (range)
				opts.scales.y = { range: range };
			if (series.some(function (s) { return s.scale === 'r'; })) {
				opts.axes.push({ scale: 'r', side: 1, stroke: AXIS, grid: { show: false }, size: 50 });
			}
			c = new window.uPlot(opts, data, div);
			charts[id] = c;
		} else {
			c.setData(data);
		}
		/* For tests and scrapers: how much the chart carries. */
		var holder = $(id), values = 0, max = null;
		data.slice(1).forEach(function (ys) {
			ys.forEach(function (v) {
				if (v === null || v === undefined)
					return;
				values++;
				if (max === null || v > max)
					max = v;
			});
		});
		holder.setAttribute('data-points', String(data[0].length));
		holder.setAttribute('data-values', String(values));
		holder.setAttribute('data-max', max === null ? '' : String(max));
		return c;
	}
	function renderHistory(h) {
		history = h;
		var m = h.minutes;
		var outs = m.outputs || [];
		chart('chart-listeners', $('panel-outputs'), outs.map(function (o) {
			return { label: o.name };
		}), [m.start].concat(outs.map(function (o) { return o.listeners; })), 'listeners');
		outs.forEach(function (o, i) {
			var id = 'chart-health-' + i;
			chart(id, $('health-charts'), [
				{ label: o.name + ' connected %' },
				{ label: 'reconnects', color: PALETTE[1] },
				{ label: 'drops (kB)', color: PALETTE[3] },
				{ label: 'worst lag (s)', color: PALETTE[2], scale: 'r' }
			], [m.start,
			    o.connected.map(function (v) { return v === null ? null : v * 100; }),
			    o.reconnects,
			    o.dropped_bytes.map(function (v) { return v === null ? null : v / 1024; }),
			    o.lag_ms.map(function (v) { return v === null ? null : v / 1000; })],
			    o.name);
		});
		var sec = h.seconds;
		chart('chart-levels', $('panel-levels'), [
			{ label: 'peak dBFS' }, { label: 'RMS dBFS', color: PALETTE[2] }
		], [sec.start, sec.peak_dbfs, sec.rms_dbfs], 'dBFS', [-60, 0]);
		renderLog(h.log);
		renderTimeline();
	}
	function renderLog(log) {
		var list = $('log-list');
		clear(list);
		var evs = (log.events || []).slice().reverse();
		evs.forEach(function (e) {
			var li = el('li', 'lv-' + e.level);
			li.appendChild(timeEl(e.at, true));
			li.appendChild(el('span', 'tag', e.level));
			li.appendChild(el('span', 'mod', e.module));
			li.appendChild(el('span', 'text', e.text));
			list.appendChild(li);
		});
		if (!evs.length)
			list.appendChild(el('li', 'none', 'No warnings or errors since start.'));
		setText('log-note', log.total > evs.length
		    ? 'The last ' + evs.length + ' of ' + log.total + ' since start.'
		    : log.total + ' since start.');
	}
	var historyTimer = null;
	function loadHistory() {
		fetch('/api/history', { cache: 'no-store' }).then(function (r) {
			if (!r.ok)
				throw new Error('HTTP ' + r.status);
			return r.json();
		}).then(function (h) {
			renderHistory(h);
			body.setAttribute('data-history', String(Date.now()));
			schedule(h.minute_s < 60 ? 3000 : 20000);
		}).catch(function () { schedule(10000); });
		function schedule(ms) {
			clearTimeout(historyTimer);
			historyTimer = setTimeout(loadHistory, ms);
		}
	}

	/* ---- Live feed: events with levels, else polling. ---- */

	var pollTimer = null;
	function poll() {
		fetch('/api/status', { cache: 'no-store' }).then(function (r) {
			return r.json();
		}).then(function (s) {
			body.setAttribute('data-feed', 'poll');
			renderStatus(s);
		}).catch(function () {}).then(function () {
			pollTimer = setTimeout(poll, POLL_MS);
		});
	}
	function connect() {
		if (!window.EventSource) {
			poll();
			return;
		}
		var es = new EventSource('/api/events?levels=1');
		var got = false;
		es.onmessage = function (ev) {
			got = true;
			body.setAttribute('data-feed', 'events');
			try { renderStatus(JSON.parse(ev.data)); } catch (e) { /* a torn event */ }
		};
		es.addEventListener('levels', function (ev) {
			try { onLevels(JSON.parse(ev.data)); } catch (e) { /* ignore */ }
		});
		es.onerror = function () {
			/* Refused (every slot taken): poll, try again later. */
			if (!got || es.readyState === 2) {
				es.close();
				if (!pollTimer)
					poll();
				setTimeout(function () {
					clearTimeout(pollTimer);
					pollTimer = null;
					connect();
				}, 60000);
			}
		};
	}

	/* ---- Control (token holders). ---- */

	var token = null;
	try { token = sessionStorage.getItem(TOKEN_KEY); } catch (e) { token = null; }

	function api(path, payload) {
		return fetch(path, {
			method: 'POST',
			cache: 'no-store',
			credentials: 'omit',
			headers: { 'Authorization': 'Bearer ' + token,
			    'Content-Type': 'application/json' },
			body: payload === undefined ? '{}' : JSON.stringify(payload)
		}).then(function (r) {
			return r.text().then(function (t) {
				var j = null;
				try { j = JSON.parse(t); } catch (e) { j = null; }
				return { code: r.status, json: j, text: t };
			});
		});
	}
	function answerText(a) {
		var j = a.json || {};
		var what = j.error || j.result || j.request || a.text;
		return a.code + ' ' + (j.ok ? 'OK' : j.error ? 'refused' : '') + ': ' + what;
	}
	function showAnswer(id, a) {
		var p = $(id);
		p.textContent = answerText(a);
		p.className = 'answer ' + (a.code < 300 ? 'ok' : 'bad');
		p.setAttribute('data-code', String(a.code));
	}

	/* Unlocking checks the token with a harmless call: POST /api/metadata
	 * with an empty object. relay checks the token before the body, so the
	 * right token gets 400 (title missing) and changes nothing; a wrong one
	 * 403 (and counts toward the lockout, as any guess does). */
	function unlock(t) {
		token = t;
		return api('/api/metadata', {}).then(function (a) {
			if (a.code === 400) {
				try { sessionStorage.setItem(TOKEN_KEY, t); } catch (e) { /* memory only */ }
				showControls(true);
				$('unlock-answer').textContent = 'Controls unlocked.';
				$('unlock-answer').className = 'answer ok';
				return true;
			}
			token = null;
			try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* none */ }
			showControls(false);
			showAnswer('unlock-answer', a);
			return false;
		}, function () {
			token = null;
			$('unlock-answer').textContent = 'relay did not answer.';
		});
	}
	function showControls(on) {
		var slot = $('controls-slot');
		body.setAttribute('data-unlocked', String(on));
		$('lock').hidden = !on;
		$('token').value = '';
		if (!on) {
			clear(slot);
			return;
		}
		if ($('controls'))
			return;
		slot.appendChild(doc.importNode($('controls-tpl').content, true));
		var forms = slot.querySelectorAll('form.ctl');
		for (var i = 0; i < forms.length; i++)
			forms[i].addEventListener('submit', onControl);
		$('confirm-no').addEventListener('click', function () {
			pending = null;
			$('confirm').hidden = true;
		});
		$('confirm-yes').addEventListener('click', confirmed);
	}

	var pending = null;
	function onControl(ev) {
		ev.preventDefault();
		var f = ev.target, action = f.getAttribute('data-action');
		var req = null, text = '';
		if (action === 'segment') {
			req = { path: '/api/segments', body: { source: 'file', path: f.path.value } };
			if (f.title.value)
				req.body.title = f.title.value;
			if (f.duration.value)
				req.body.duration = f.duration.value;
			text = 'Play "' + f.path.value + '" now, on air, for every listener?';
		} else if (action === 'skip') {
			req = { path: '/api/skip' };
			text = 'End "' + (status ? status.now.title : 'the segment') + '" now?';
		} else if (action === 'metadata') {
			req = { path: '/api/metadata', body: { title: f.title.value } };
			if (f.artist.value)
				req.body.artist = f.artist.value;
			text = 'Set the live title to "' + f.title.value + '"?';
		} else if (action === 'reload') {
			req = { path: '/api/reload' };
			text = 'Reload the config and schedule now?';
		}
		pending = req;
		setText('confirm-text', text);
		$('confirm').hidden = false;
		$('confirm-yes').focus();
	}
	function confirmed() {
		var req = pending;
		pending = null;
		$('confirm').hidden = true;
		if (!req)
			return;
		var p = $('control-answer');
		p.textContent = 'Sent; waiting for relay…';
		p.className = 'answer';
		p.removeAttribute('data-code');
		api(req.path, req.body).then(function (a) {
			showAnswer('control-answer', a);
			if (a.code === 401 || (a.code === 403 && a.json && a.json.error === 'wrong token')) {
				token = null;
				showControls(false);
			}
			loadHistory();
		}, function () {
			p.textContent = 'relay did not answer; see the state above.';
			p.className = 'answer bad';
		});
	}

	/* The first paint is relay's (the state, the item on air, the
	 * outputs, the warnings, rendered into the HTML) in the same zone and
	 * form as fmtTime(); written again here only in case this browser
	 * fell back to UTC. */
	(function () {
		var ts = doc.querySelectorAll('main time[datetime]');
		for (var i = 0; i < ts.length; i++) {
			var iso = ts[i].getAttribute('datetime');
			if (iso)
				ts[i].textContent = fmtTime(iso, ts[i].hasAttribute('data-date'));
		}
	}());

	$('unlock').addEventListener('submit', function (ev) {
		ev.preventDefault();
		unlock($('token').value.trim());
	});
	$('lock').addEventListener('click', function () {
		token = null;
		try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* none */ }
		showControls(false);
		setText('unlock-answer', 'Locked.');
	});

	connect();
	loadHistory();
	if (token)
		unlock(token);
	var resizeTimer = null;
	window.addEventListener('resize', function () {
		clearTimeout(resizeTimer);
		resizeTimer = setTimeout(function () {
			Object.keys(charts).forEach(function (id) {
				var c = charts[id];
				c.setSize({ width: chartWidth($(id)), height: 180 });
			});
		}, 200);
	});
}());
