/* relay Listen Live page: live updates (Server-Sent Events on /api/events,
 * polling /api/status as a fallback) and a player that recovers by itself.
 * Where the browser cannot play Ogg (Safari, iOS) the player plays the same
 * mount through icecast-metadata-player (/vendor/, loaded only there).
 * The server renders the first state, so the page works without this. */
(function () {
	'use strict';

	var doc = document;
	var body = doc.body;
	var $ = function (id) { return doc.getElementById(id); };
	var tz = body.getAttribute('data-tz') || undefined;
	var POLL_MS = 5000;

	/* ---- Times, in the station's time zone when one is set. ---- */

	var timeFmt = null, dateFmt = null;
	var tzNote = 'Times in ' + (tz || 'your local time');
	/* With the date for <time data-date> (operator notes, which can be
	 * days old). */
	function makeFormat(zone, withDate) {
		var o = { hour: '2-digit', minute: '2-digit', timeZone: zone };
		if (withDate) {
			o.month = 'short';
			o.day = 'numeric';
		}
		return new Intl.DateTimeFormat(undefined, o);
	}
	try {
		timeFmt = makeFormat(tz);
		dateFmt = makeFormat(tz, true);
	} catch (e) {
		/* An unknown zone name: the listener's own time. */
		tzNote = 'Times in your local time';
		try {
			timeFmt = makeFormat(undefined);
			dateFmt = makeFormat(undefined, true);
		} catch (e2) { timeFmt = dateFmt = null; }
	}
	/* Rounded to the minute shown, as relay rounds every time (its
	 * first paint too): 09:45:31 is 09:46. */
	function fmtTime(iso, withDate) {
		var ms = Date.parse(iso);
		var f = withDate ? dateFmt : timeFmt;
		if (!iso || isNaN(ms))
			return '';
		return f ? f.format(new Date(Math.round(ms / 60000) * 60000)) : iso;
	}
	function setTime(el, iso) {
		if (!el)
			return;
		el.setAttribute('datetime', iso || '');
		el.textContent = fmtTime(iso, el.hasAttribute('data-date'));
	}
	function localizeTimes() {
		if (timeFmt)
			setText('tz-note', tzNote.replace(/_/g, ' '));
		var list = doc.querySelectorAll('time[datetime]');
		for (var i = 0; i < list.length; i++) {
			var t = list[i].getAttribute('datetime');
			if (t)
				list[i].textContent = fmtTime(t,
				    list[i].hasAttribute('data-date'));
		}
	}

	function setText(id, text) {
		var el = $(id);
		if (el && el.textContent !== text)
			el.textContent = text;
		return el;
	}
	function show(el, yes) {
		if (el)
			el.hidden = !yes;
	}

	/* ---- Rendering a status document. ---- */

	var current = {
		title: ($('now-title') || {}).textContent || '',
		artist: ($('now-artist') || {}).textContent || '',
		station: ($('station-name') || {}).textContent || ''
	};

	function render(s) {
		if (!s || typeof s !== 'object')
			return;
		var st = s.station || {};
		var now = s.now || {};
		var badge = $('badge');
		var cls = 'off', text = 'OFF AIR';

		if (s.on_air) {
			cls = s.state === 'fallback' ? 'fallback' : 'on';
			text = s.state === 'fallback' ? 'Back shortly' : 'ON AIR';
		}
		body.setAttribute('data-on-air', s.on_air ? 'true' : 'false');
		body.setAttribute('data-state', s.state || '');
		if (badge)
			badge.className = 'badge ' + cls;
		setText('badge-text', text);
		show($('off-note'), !s.on_air);

		var name = st.name || 'relay';
		setText('station-name', name);
		show(setText('station-description', st.description || ''),
		    !!st.description);
		if (doc.title.indexOf(name) !== 0)
			doc.title = name + ' · Listen Live';

		show(setText('now-segment', now.segment || ''), !!now.segment);
		setText('now-title', now.title || name);
		show(setText('now-artist', now.artist || ''), !!now.artist);
		setTime($('now-since-time'), now.started_at);
		show($('now-since'), !!now.started_at);
		setTime($('now-ends-time'), now.ends_at);
		show($('now-ends'), !!now.ends_at);

		var list = $('next');
		if (list) {
			var next = Array.isArray(s.next) ? s.next : [];
			list.textContent = '';
			next.forEach(function (n) {
				var li = doc.createElement('li');
				var tm = doc.createElement('time');
				var sp = doc.createElement('span');
				setTime(tm, n.starts_at);
				sp.dir = 'auto';
				sp.textContent = n.title || n.segment || '';
				li.appendChild(tm);
				li.appendChild(doc.createTextNode(' '));
				li.appendChild(sp);
				list.appendChild(li);
			});
			show($('next-section'), next.length > 0);
		}
		var n = typeof s.listeners === 'number' ? s.listeners : 0;
		setText('listeners', n + ' listening');
		setTime($('updated-time'), s.time);
		renderOps(s);

		body.setAttribute('data-feed', feed);
		current.title = now.title || name;
		current.artist = now.artist || '';
		current.station = name;
		updateMediaSession();
	}

	/* Operator notes: a rejected last reload, dead air (now or the
	 * last one) and the last programme error, as text (never markup). */
	function renderOps(s) {
		var r = s.reload && typeof s.reload === 'object' ? s.reload : null;
		var pe = s.programme_error && typeof s.programme_error ===
		    'object' ? s.programme_error : null;
		var fb = s.fallback && typeof s.fallback === 'object' ?
		    s.fallback : null;
		var dead = !!(fb && (fb.active || fb.activations > 0));
		var bad = !!(r && r.ok === false);

		if (dead) {
			setText('ops-dead-air-label', fb.active ?
			    'Dead air: filler on air since' : 'Dead air over at');
			setTime($('ops-dead-air-time'), fb.since);
			setText('ops-dead-air-text', fb.why || '');
		}
		show($('ops-dead-air'), dead);

		if (bad) {
			setTime($('ops-reload-time'), r.at);
			setText('ops-reload-detail', r.detail || '');
		}
		show($('ops-reload'), bad);
		if (pe) {
			setTime($('ops-programme-time'), pe.at);
			setText('ops-programme-text', (pe.segment ?
			    pe.segment + ': ' : '') + (pe.text || ''));
		}
		show($('ops-programme'), !!pe);
		var lb = listenbackText(s);
		setText('ops-listenback-text', lb);
		show($('ops-listenback'), lb !== '');
		var cors = corsProblem(s);
		setText('ops-cors-text', cors);
		show($('ops-cors'), !!cors);
		var tlsOut = null;
		(Array.isArray(s.outputs) ? s.outputs : []).forEach(function (o) {
			var c = o && o.tls_certificate;
			if (!tlsOut && c && typeof c === 'object' &&
			    c.expires_soon === true)
				tlsOut = o;
		});
		if (tlsOut) {
			var c = tlsOut.tls_certificate;
			setText('ops-tls-text', 'output ' + (tlsOut.name || '') +
			    ': the server\'s certificate (' + (c.subject || '') +
			    ') ' + ((c.expires_in_s || 0) < 0 ? 'expired ' :
			    'expires ') + (c.not_after || ''));
		}
		show($('ops-tls'), !!tlsOut);
		show($('ops'), bad || !!pe || dead || lb !== '' || !!cors ||
		    !!tlsOut);
	}

	/* What relay's own listener hears on each mount (status_page.c
	 * builds the same text for the first paint). */
	function listenbackText(s) {
		var out = [];
		(Array.isArray(s.outputs) ? s.outputs : []).forEach(function (o) {
			var lb = o && o.listenback;
			var what;
			if (!lb || typeof lb !== 'object')
				return;
			if (lb.state === 'ok' && typeof lb.rms_dbfs !== 'number')
				what = 'heard (level not decoded)';
			else if (lb.state === 'ok')
				what = typeof lb.lag_ms === 'number' ?
				    'heard (lag ' + lb.lag_ms + ' ms, RMS ' +
				    Math.round(Math.max(lb.rms_dbfs, -120)) +
				    ' dBFS)' : 'heard';
			else if (lb.state === 'no_audio')
				what = 'NO AUDIO reaches listeners';
			else if (lb.state === 'foreign')
				what = 'listeners hear ANOTHER STREAM';
			else if (lb.state === 'silent')
				what = 'listeners hear SILENCE (' +
				    Math.round(lb.silent_s) + ' s)';
			else
				what = 'connecting';
			out.push(o.name + ': ' + what);
		});
		return out.join('; ');
	}

	/* Browsers without Ogg play the page's mounts through fetch(), which
	 * needs Icecast's Access-Control-Allow-Origin to name this page (or
	 * be *). relay reads the header (outputs[].cors_allow_origin: null
	 * until it has); only this page knows its own origin. */
	function corsProblem(s) {
		var a = $('audio');
		var mine = a ? [a.getAttribute('data-main'),
		    a.getAttribute('data-low')] : [];
		var outs = Array.isArray(s.outputs) ? s.outputs : [];
		var here = window.location.origin;
		for (var i = 0; i < outs.length; i++) {
			var o = outs[i] || {};
			var v = o.cors_allow_origin;
			if (typeof v !== 'string' || !o.url ||
			    mine.indexOf(o.url) < 0 || v === '*' || v === here)
				continue;
			return (v ? 'Icecast allows only ' + v + ', not ' + here +
			    ', to fetch ' : 'Icecast sends no ' +
			    'Access-Control-Allow-Origin with ') + o.url +
			    ', so browsers without Ogg cannot play it here. ' +
			    'Add it to icecast.xml (<http-headers>, see ' +
			    'docs/operations.md).';
		}
		return '';
	}

	/* ---- Live updates: SSE, then polling if SSE is not available. ---- */

	var pollTimer = null;
	var pollCount = 0;
	var feed = 'none';	/* where the last update came from */

	function poll() {
		pollTimer = null;
		fetch('/api/status', { cache: 'no-store' })
		    .then(function (r) {
			if (!r.ok)
				throw new Error('HTTP ' + r.status);
			return r.json();
		    })
		    .then(function (s) {
			feed = 'poll';
			render(s);
		    })
		    .catch(function () { body.classList.add('stale'); })
		    .then(function () {
			pollCount++;
			/* Try the event stream again now and then. */
			if (pollCount % 12 === 0 && window.EventSource)
				startEvents();
			else
				pollTimer = setTimeout(poll, POLL_MS);
		    });
	}

	function startPolling() {
		if (!pollTimer)
			pollTimer = setTimeout(poll, 0);
	}

	function startEvents() {
		if (!window.EventSource || !window.JSON) {
			startPolling();
			return;
		}
		var es = new EventSource('/api/events');
		var failures = 0;
		var got = false;
		/* The server sends the state at once; silence means a proxy
		 * that buffers event streams, or a server out of slots that
		 * could not even answer: poll instead. */
		var firstTimer = setTimeout(function () {
			if (!got) {
				es.close();
				startPolling();
			}
		}, 6000);
		es.onmessage = function (e) {
			got = true;
			clearTimeout(firstTimer);
			failures = 0;
			body.classList.remove('stale');
			feed = 'events';
			try { render(JSON.parse(e.data)); } catch (err) { /* keep */ }
		};
		es.onerror = function () {
			failures++;
			/* Closed (503: too many streams) or failing: poll. */
			if (es.readyState === 2 || failures >= 3) {
				clearTimeout(firstTimer);
				es.close();
				startPolling();
			}
		};
	}

	/* ---- The player. ---- */

	var audio = $('audio');
	var controls = $('controls');
	var playBtn = $('play');
	var stateEl = $('player-state');
	var want = false;	/* the listener wants sound */
	var lowData = false;
	var retries = 0;
	var retryTimer = null;
	var stableTimer = null;
	var lastTime = -1;
	var lastProgress = 0;
	var loading = false;	/* between connect() and 'playing' */
	var gen = 0;		/* which connect() a play() promise belongs to */

	/* Whether the browser may play a stream of this type (Ogg Opus or
	 * Vorbis); unknown types and old browsers get the benefit of the
	 * doubt. Without native Ogg every Ogg stream goes through the
	 * fallback player, which decodes Vorbis and Opus alike. */
	function playable(type) {
		return !type || !audio.canPlayType ||
		    audio.canPlayType(type) !== '' ||
		    (!native && /^audio\/ogg/i.test(type));
	}

	/* Edge servers ([status] listen_urls): each visitor starts on one
	 * picked at random, which spreads the audience, and moves to the
	 * next one after a failure. */
	var edges = (audio && audio.getAttribute('data-edges') || '')
	    .split(' ').filter(function (u) { return u !== ''; });
	var edge = Math.floor(Math.random() * edges.length);

	/* Ogg natively (Chrome, Firefox), or through icecast-metadata-player:
	 * it fetch()es the mount, decodes in WASM where it must and feeds
	 * <audio> (MediaSource, or Web Audio through a MediaStream). */
	var OGG = 'audio/ogg; codecs="vorbis"';
	var native = !audio || !audio.canPlayType || audio.canPlayType(OGG) !== '';
	var fallback = null;	/* the library's player for the current connect() */
	var fallbackLib = null;	/* Promise of the IcecastMetadataPlayer class */
	var fallbackBytes = 0;	/* stream bytes it received: the watchdog's clock */
	var libQuery = (function () {
		var sc = doc.currentScript;
		var m = sc && /\?[^#]*/.exec(sc.src);
		return m ? m[0] : '';
	}());

	/* Loads the library once (again after a failure). Its main script
	 * loads its decoders from next to its own URL. */
	function loadFallback() {
		if (!fallbackLib) {
			fallbackLib = new Promise(function (resolve, reject) {
				var sc = doc.createElement('script');
				sc.src = '/vendor/icecast-metadata-player.min.js' + libQuery;
				sc.onload = function () {
					if (window.IcecastMetadataPlayer)
						resolve(window.IcecastMetadataPlayer);
					else
						reject(new Error('no player'));
				};
				sc.onerror = function () { reject(new Error('load')); };
				doc.head.appendChild(sc);
			});
			fallbackLib.catch(function () { fallbackLib = null; });
		}
		return fallbackLib;
	}

	/* Ends the library's player of an earlier connect() (its callbacks
	 * then belong to an old generation and do nothing). The promise
	 * resolves once it has let go of <audio>. */
	function dropFallback() {
		var p = fallback;
		fallback = null;
		if (!p)
			return Promise.resolve();
		return p.detachAudioElement().catch(function () { /* gone */ });
	}

	/* The now-playing title from the stream itself (Vorbis comments),
	 * in step with what the listener hears. */
	function streamTitle(m) {
		if (!m || typeof m.TITLE !== 'string' || !m.TITLE)
			return;
		body.setAttribute('data-stream-title', m.TITLE);
		current.title = m.TITLE;
		current.artist = typeof m.ARTIST === 'string' ? m.ARTIST : '';
		setText('now-title', current.title);
		show(setText('now-artist', current.artist), !!current.artist);
		updateMediaSession();
	}

	function connectFallback(my, url) {
		var gone = dropFallback();
		Promise.all([loadFallback(), gone]).then(function (got) {
			var Player = got[0];

			if (my !== gen)
				return undefined;
			fallback = new Player(url, {
				audioElement: audio,
				/* In-stream Vorbis comments, not ICY: an
				 * Icy-MetaData header would need a CORS
				 * preflight, which Icecast 2.4 does not answer. */
				metadataTypes: ['ogg'],
				/* Reconnecting is this page's job, as natively. */
				retryTimeout: 0,
				onPlay: function () {
					if (my === gen)
						nowPlaying();
				},
				onStream: function (chunk) {
					if (my === gen)
						fallbackBytes += chunk && chunk.length ?
						    chunk.length : 1;
				},
				onMetadata: function (m) {
					if (my === gen)
						streamTitle(m);
				},
				onError: function () {
					if (my === gen && want)
						retry('The stream dropped');
				},
				onStop: function () {
					if (my === gen && want)
						retry('The stream ended');
				}
			});
			body.setAttribute('data-fallback', 'loaded');
			return fallback.play();
		}).then(function () {
			if (my === gen && fallback)
				body.setAttribute('data-fallback',
				    fallback.playbackMethod || 'loaded');
		}).catch(function () {
			if (my === gen && want)
				retry('Could not start the stream');
		});
	}

	function streamUrl() {
		var low = audio.getAttribute('data-low');
		if (low && !playable(audio.getAttribute('data-low-type')))
			low = '';
		var main = edges.length ? edges[edge % edges.length] :
		    audio.getAttribute('data-main');
		/* The main stream in a codec this browser lacks: the other one. */
		var useLow = lowData || (low && !playable(audio.getAttribute('data-main-type')));
		var url = useLow && low ? low : main;
		/* A fresh URL each time: no cached or half-finished response. */
		return url + (url.indexOf('?') < 0 ? '?' : '&') + '_=' + Date.now();
	}

	/* State for tests and styling: data-player on <body> is idle,
	 * connecting, playing, buffering, reconnecting or paused;
	 * data-reconnects counts automatic reconnections. */
	var reconnects = 0;
	function mark(state) {
		body.setAttribute('data-player', state);
		body.setAttribute('data-reconnects', String(reconnects));
	}

	function say(text, busy) {
		if (stateEl) {
			stateEl.hidden = false;
			if (stateEl.textContent !== text)
				stateEl.textContent = text;
		}
		body.classList.toggle('busy', !!busy);
	}

	function setPlaying(on) {
		body.classList.toggle('playing', on);
		if (playBtn)
			playBtn.setAttribute('aria-label', on ? 'Pause' : 'Play');
		if ('mediaSession' in navigator)
			navigator.mediaSession.playbackState = on ? 'playing' : 'paused';
	}

	function nowPlaying() {
		loading = false;
		setPlaying(true);
		say('Playing live');
		mark('playing');
		clearTimeout(stableTimer);
		stableTimer = setTimeout(function () { retries = 0; }, 10000);
	}

	function connect() {
		var my = ++gen;

		clearTimeout(retryTimer);
		retryTimer = null;
		loading = true;
		lastTime = -1;
		lastProgress = Date.now();
		if (!native) {
			connectFallback(my, streamUrl());
			return;
		}
		audio.src = streamUrl();
		audio.load();
		var p = audio.play();
		if (p && p.catch) {
			p.catch(function (err) {
				/* AbortError: a newer connect() replaced this one. */
				if (my !== gen || (err && err.name === 'AbortError'))
					return;
				if (err && err.name === 'NotAllowedError') {
					want = false;
					setPlaying(false);
					say('Press play to listen');
					mark('idle');
				} else if (want) {
					retry('Could not start the stream');
				}
			});
		}
	}

	function retry(why) {
		if (!want || retryTimer)
			return;
		clearTimeout(stableTimer);
		var delay = Math.min(10000, 500 * Math.pow(2, retries));
		delay += Math.floor(Math.random() * 300);
		retries++;
		reconnects++;
		edge++;
		mark('reconnecting');
		say(why + '. Reconnecting in ' + Math.ceil(delay / 1000) + ' s…',
		    true);
		retryTimer = setTimeout(connect, delay);
	}

	function play() {
		want = true;
		retries = 0;
		setPlaying(true);
		say('Connecting…', true);
		mark('connecting');
		connect();
	}

	function stop() {
		want = false;
		loading = false;
		gen++;
		clearTimeout(retryTimer);
		retryTimer = null;
		dropFallback();
		audio.pause();
		/* Drop the connection: a paused live stream would keep
		 * downloading and play stale audio on resume. */
		audio.removeAttribute('src');
		audio.load();
		setPlaying(false);
		say('Paused');
		mark('paused');
	}

	function updateMediaSession() {
		if (!('mediaSession' in navigator) || !window.MediaMetadata)
			return;
		try {
			navigator.mediaSession.metadata = new MediaMetadata({
				title: current.title,
				artist: current.artist || current.station,
				album: current.station,
				artwork: [{ src: '/icon.svg', sizes: 'any',
				    type: 'image/svg+xml' }]
			});
		} catch (e) { /* old browsers */ }
	}

	function setupPlayer() {
		if (!audio || !controls || !playBtn || !audio.getAttribute('data-main'))
			return;
		audio.controls = false;
		audio.hidden = true;
		audio.removeAttribute('src');
		audio.preload = 'none';
		controls.hidden = false;
		mark('idle');
		/* Loaded now, not on the first tap: the library unlocks Web
		 * Audio on iOS from that tap, so it must be listening by then. */
		if (!native) {
			body.setAttribute('data-fallback', 'loading');
			loadFallback().catch(function () { /* again on play */ });
		}

		playBtn.addEventListener('click', function () {
			if (want)
				stop();
			else
				play();
		});

		/* Through the library, its callbacks say when the stream
		 * starts or ends: the element first plays a silent clip (to
		 * unlock audio on iOS), then the library's own sources; once
		 * started, 'playing' after 'waiting' means the same either way. */
		audio.addEventListener('playing', function () {
			if (native || !loading)
				nowPlaying();
		});
		audio.addEventListener('waiting', function () {
			if (want) {
				say('Buffering…', true);
				mark('buffering');
			}
		});
		/* Chrome ends at an Ogg chain boundary; a dropped stream ends or
		 * errors; reconnect quickly the first time. */
		audio.addEventListener('ended', function () {
			if (want && native)
				retry('The stream ended');
		});
		audio.addEventListener('error', function () {
			if (want && native)
				retry('The stream dropped');
		});
		audio.addEventListener('stalled', function () {
			if (want)
				say('Waiting for the stream…', true);
		});
		audio.addEventListener('pause', function () {
			/* Paused from outside (headset, system media controls);
			 * not the pause that comes with 'ended' or a reload. */
			if (want && !loading && !retryTimer && !audio.ended &&
			    !audio.error) {
				want = false;
				setPlaying(false);
				say('Paused');
				mark('paused');
			}
		});

		/* Watchdog: playing but no progress for 10 s means stuck
		 * (through the library: no stream data for 10 s, as the
		 * element's clock runs on over an empty MediaStream). */
		setInterval(function () {
			if (!want || retryTimer)
				return;
			var t = native ? audio.currentTime : fallbackBytes;
			if (t !== lastTime) {
				lastTime = t;
				lastProgress = Date.now();
			} else if (Date.now() - lastProgress > 10000) {
				retry('The stream stalled');
			}
		}, 2000);

		var vol = $('volume');
		var mute = $('mute');
		if (vol) {
			vol.addEventListener('input', function () {
				audio.volume = Number(vol.value);
				if (audio.muted && audio.volume > 0) {
					audio.muted = false;
					mute.setAttribute('aria-pressed', 'false');
				}
			});
		}
		if (mute) {
			mute.addEventListener('click', function () {
				audio.muted = !audio.muted;
				mute.setAttribute('aria-pressed',
				    audio.muted ? 'true' : 'false');
			});
		}

		var low = $('low');
		var lowLink = $('low-link');
		if (low && audio.getAttribute('data-low') &&
		    playable(audio.getAttribute('data-low-type'))) {
			low.hidden = false;
			if (lowLink)
				lowLink.hidden = true;
			low.addEventListener('click', function () {
				lowData = !lowData;
				low.setAttribute('aria-pressed', lowData ? 'true' : 'false');
				if (want) {
					say('Switching…', true);
					connect();
				}
			});
		}

		if ('mediaSession' in navigator) {
			try {
				navigator.mediaSession.setActionHandler('play', play);
				navigator.mediaSession.setActionHandler('pause', stop);
				navigator.mediaSession.setActionHandler('stop', stop);
			} catch (e) { /* unsupported action */ }
		}
		updateMediaSession();
	}

	localizeTimes();
	setupPlayer();
	startEvents();
}());
