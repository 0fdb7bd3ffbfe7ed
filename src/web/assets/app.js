/* app.js - moat's dashboard: the REST snapshot (/api/*) kept live by the WebSocket stream
 * (/ws, docs/api.md "The live stream").
 *
 * Security: every string the API returns may come from a hostile container (names, argv,
 * domains, log lines). It reaches the page only through textContent / createTextNode (the
 * el() helper below); never innerHTML, never an attribute that is a URL or a style. The page
 * has no inline script, style or event handler, so a strict Content-Security-Policy holds:
 *   default-src 'self'; connect-src 'self'; img-src 'self' data:
 * Mutations are POST with Content-Type: application/json and X-Moat-CSRF: 1 (the token is in
 * the HttpOnly cookie the server set at /?token=...). */
'use strict';

(function () {
	const MAX_ALERTS = 1000; /* alerts kept in the page */
	const MAX_LOG = 60; /* access-log records shown */
	const SPARK_POINTS = 60; /* stats samples per sparkline */
	const SEVERITIES = ['INFO', 'WARNING', 'CRITICAL'];
	const CHOICES = ['allow-once', 'deny-once', 'allow-domain', 'deny-domain', 'allow-ip', 'deny-ip'];
	const EGRESS_MODES = ['monitor', 'enforce', 'interactive'];

	const $ = (id) => document.getElementById(id);

	/* ---- DOM: text only -------------------------------------------------------------- */

	/* el('td', {class: 'num'}, 'text', childNode, ...): attributes are set with setAttribute
	 * (callers pass only constant names; values are class names, ids, types, titles or
	 * data-*), children that are not nodes become text nodes. */
	function el(tag, attrs) {
		const e = document.createElement(tag);
		if (attrs)
			for (const k of Object.keys(attrs))
				if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, String(attrs[k]));
		for (let i = 2; i < arguments.length; i++) {
			const c = arguments[i];
			if (c === undefined || c === null) continue;
			e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
		}
		return e;
	}
	function clear(node) {
		while (node.firstChild) node.removeChild(node.firstChild);
	}
	function setText(id, v) {
		$(id).textContent = v === undefined || v === null ? '-' : String(v);
	}
	function str(v) {
		return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
	}
	/* A class name from data: only known values, so data never chooses arbitrary classes. */
	function sevClass(s) {
		return 'sev-' + (SEVERITIES.includes(s) ? s : 'INFO');
	}
	function verdictClass(v) {
		return ['allow', 'deny', 'would_deny', 'pending'].includes(v) ? 'verdict-' + v : '';
	}
	function stateClass(s) {
		return ['running', 'paused'].includes(s) ? 'state-' + s : '';
	}

	function banner(text, kind) {
		const b = $('banner');
		if (!text) {
			b.hidden = true;
			return;
		}
		b.className = 'banner' + (kind ? ' ' + kind : '');
		b.textContent = text;
		b.title = 'click to dismiss';
		b.hidden = false;
		clearTimeout(bannerTimer);
		if (kind === 'info') bannerTimer = setTimeout(() => (b.hidden = true), 6000);
	}
	let bannerTimer = 0;

	/* ---- the API ----------------------------------------------------------------------- */

	let refused = false;

	/* GET (body undefined) or POST JSON; resolves to the parsed answer (or text), rejects
	 * with an Error carrying the server's {"error"} message. */
	async function api(path, body, asText) {
		const opt = { credentials: 'same-origin', cache: 'no-store', headers: {} };
		if (body !== undefined) {
			opt.method = 'POST';
			opt.headers['Content-Type'] = 'application/json';
			opt.headers['X-Moat-CSRF'] = '1';
			opt.body = JSON.stringify(body);
		}
		const r = await fetch(path, opt);
		if (r.status === 401) {
			refused = true;
			setConn('refused');
			banner('Token required: open the URL moat run printed (http://127.0.0.1:9876/?token=...); ' +
				'the token is in web.token next to moat run\'s control socket (default /run/moat/web.token).');
			throw new Error('401: token required');
		}
		const ct = r.headers.get('Content-Type') || '';
		const data = asText || !ct.includes('json') ? await r.text() : await r.json().catch(() => null);
		if (!r.ok) {
			const msg = data && data.error ? data.error : r.status + ' ' + r.statusText;
			throw new Error(msg);
		}
		return data;
	}

	function report(what) {
		return (e) => banner(what + ': ' + e.message);
	}

	/* ---- state ------------------------------------------------------------------------- */

	const st = {
		status: null,
		statusAt: 0,
		alerts: [], /* newest first */
		alertKeys: new Set(),
		alertsNext: null,
		containers: new Map(), /* id -> container */
		spark: new Map(), /* id -> {cpu: [], mem: [], limit} */
		domains: new Map(), /* domain -> {allowed, denied, prompted} */
		egressContainers: new Map(),
		log: [], /* newest first */
		prompts: new Map(), /* id -> prompt */
		rules: null,
		lastSeq: 0,
	};

	function alertKey(a) {
		return [str(a.time), str(a.rule), str(a.trace_id), str(a.message)].join('\u0000');
	}

	/* ---- alerts ------------------------------------------------------------------------ */

	function addAlert(a, live) {
		if (!a || typeof a !== 'object') return;
		const k = alertKey(a);
		if (st.alertKeys.has(k)) return;
		st.alertKeys.add(k);
		if (live) st.alerts.unshift(a);
		else st.alerts.push(a);
		while (st.alerts.length > MAX_ALERTS) st.alertKeys.delete(alertKey(st.alerts.pop()));
		noteOption('f-rule', str(a.rule));
		if (a.container && a.container.name) noteOption('f-container', str(a.container.name));
		if (live) {
			const li = alertRow(a);
			if (matches(a)) {
				li.classList.add('new');
				$('alerts').insertBefore(li, $('alerts').firstChild);
				trimFeed();
			}
			$('alerts-count').textContent = String(st.alerts.length);
			if (st.status && st.status.alerts && SEVERITIES.includes(a.severity)) {
				st.status.alerts[a.severity] = (st.status.alerts[a.severity] || 0) + 1;
				renderStatus();
			}
		}
	}

	function noteOption(selectId, value) {
		if (!value) return;
		const s = $(selectId);
		for (const o of s.options) if (o.value === value) return;
		const o = el('option', null, value);
		o.value = value;
		s.appendChild(o);
	}

	function matches(a) {
		const sev = $('f-severity').value;
		const rule = $('f-rule').value;
		const ctr = $('f-container').value;
		const text = $('f-text').value.trim().toLowerCase();
		if (sev === 'CRITICAL' && a.severity !== 'CRITICAL') return false;
		if (sev === 'WARNING' && a.severity === 'INFO') return false;
		if (sev === 'INFO' && a.severity !== 'INFO') return false;
		if (rule && a.rule !== rule) return false;
		if (ctr && !(a.container && a.container.name === ctr)) return false;
		if (text && !JSON.stringify(a).toLowerCase().includes(text)) return false;
		return true;
	}

	function shortTime(t) {
		const s = str(t);
		const m = /T(\d\d:\d\d:\d\d)/.exec(s);
		if (!m) return s;
		const d = new Date(s);
		return isNaN(d) ? m[1] : d.toLocaleTimeString([], { hour12: false });
	}

	function alertRow(a) {
		const who = a.container ? str(a.container.name) || str(a.container.id).slice(0, 12) : '';
		const li = el('li', { class: sevClass(a.severity), tabindex: 0 },
			el('span', { class: 'time' }, shortTime(a.time)),
			el('span', { class: 'sev' }, str(a.severity)),
			el('span', { class: 'msg' }, str(a.rule) + ': ' + str(a.message),
				who ? el('span', { class: 'who' }, ' (' + who + ')') : null));
		li.addEventListener('click', () => showDetail('alert ' + str(a.rule), a));
		li.addEventListener('keydown', (e) => {
			if (e.key === 'Enter') showDetail('alert ' + str(a.rule), a);
		});
		return li;
	}

	function trimFeed() {
		const ol = $('alerts');
		while (ol.children.length > MAX_ALERTS) ol.removeChild(ol.lastChild);
	}

	function renderAlerts() {
		const ol = $('alerts');
		clear(ol);
		for (const a of st.alerts) if (matches(a)) ol.appendChild(alertRow(a));
		$('alerts-count').textContent = String(st.alerts.length);
		$('alerts-older').hidden = !st.alertsNext;
	}

	async function loadAlerts() {
		const r = await api('/api/alerts?limit=200');
		st.alerts = [];
		st.alertKeys.clear();
		for (const a of (r && r.alerts) || []) addAlert(a, false);
		st.alertsNext = r && r.next ? String(r.next) : null;
		renderAlerts();
	}

	async function olderAlerts() {
		if (!st.alertsNext) return;
		const r = await api('/api/alerts?limit=200&cursor=' + encodeURIComponent(st.alertsNext));
		for (const a of (r && r.alerts) || []) addAlert(a, false);
		st.alertsNext = r && r.next ? String(r.next) : null;
		renderAlerts();
	}

	function showDetail(title, obj) {
		$('detail-title').textContent = title;
		$('detail-json').textContent = JSON.stringify(obj, null, 2);
		$('detail').hidden = false;
		$('detail-close').focus();
	}

	/* ---- status ------------------------------------------------------------------------ */

	function fmtDuration(s) {
		s = Math.max(0, Math.floor(s));
		const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
		const m = Math.floor((s % 3600) / 60), sec = s % 60;
		if (d) return d + 'd ' + h + 'h';
		if (h) return h + 'h ' + m + 'm';
		return m + 'm ' + sec + 's';
	}

	function renderStatus() {
		const s = st.status;
		if (!s) return;
		setText('st-mode', s.mode);
		const up = typeof s.uptime_s === 'number' ? s.uptime_s + (Date.now() - st.statusAt) / 1000 : null;
		setText('st-uptime', up === null ? null : fmtDuration(up));
		setText('st-containers', st.containers.size);
		setText('st-events', s.events);
		setText('st-drops', s.kernel_drops);
		const al = s.alerts || {};
		setText('st-critical', al.CRITICAL);
		setText('st-warning', al.WARNING);
		setText('st-info', al.INFO);
	}

	async function loadStatus() {
		const r = await api('/api/status');
		st.status = r && r.status ? r.status : r; /* the control answer, or its status object */
		st.statusAt = Date.now();
		renderStatus();
	}

	/* ---- the stream state --------------------------------------------------------------- */

	function setConn(state) {
		const c = $('conn');
		c.className = 'conn conn-' + state;
		c.textContent = state;
		document.body.dataset.stream = state;
	}

	/* ---- containers ---------------------------------------------------------------------- */

	function egressName(v) {
		return typeof v === 'number' ? EGRESS_MODES[v] || String(v) : str(v);
	}

	function sparkFor(id) {
		let s = st.spark.get(id);
		if (!s) {
			s = { cpu: [], mem: [], limit: 0 };
			st.spark.set(id, s);
		}
		return s;
	}

	function pushSample(id, x) {
		if (!x || x.gone) return;
		const s = sparkFor(id);
		const cpu = Number(x.cpu_percent !== undefined ? x.cpu_percent : x.cpu);
		const mem = Number(x.memory_bytes !== undefined ? x.memory_bytes : x.memory);
		s.cpu.push(isFinite(cpu) ? cpu : 0);
		s.mem.push(isFinite(mem) ? mem : 0);
		if (s.cpu.length > SPARK_POINTS) s.cpu.shift();
		if (s.mem.length > SPARK_POINTS) s.mem.shift();
		const lim = Number(x.memory_limit);
		s.limit = isFinite(lim) && lim > 0 && lim < 2 ** 60 ? lim : 0;
		s.last = x;
	}

	/* An inline SVG polyline of values, the top being the largest value or max if larger. */
	function sparkline(kind, values, max, title) {
		const NS = 'http://www.w3.org/2000/svg';
		const w = 110, h = 26;
		const svg = document.createElementNS(NS, 'svg');
		svg.setAttribute('class', 'spark ' + kind);
		svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
		const t = document.createElementNS(NS, 'title');
		t.textContent = title;
		svg.appendChild(t);
		const base = document.createElementNS(NS, 'line');
		base.setAttribute('x1', '0');
		base.setAttribute('x2', String(w));
		base.setAttribute('y1', String(h - 1));
		base.setAttribute('y2', String(h - 1));
		svg.appendChild(base);
		if (values.length) {
			const top = Math.max(max || 0, ...values, 1e-9);
			const step = w / (Math.max(values.length, 20) - 1); /* short histories fill the width sooner */
			const x0 = w - step * (values.length - 1);
			const pts = values.map((v, i) =>
				(x0 + i * step).toFixed(1) + ',' + (h - 2 - (v / top) * (h - 4)).toFixed(1));
			const pl = document.createElementNS(NS, 'polyline');
			pl.setAttribute('points', pts.join(' '));
			svg.appendChild(pl);
		}
		return svg;
	}

	function fmtBytes(n) {
		n = Number(n);
		if (!isFinite(n)) return '-';
		const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
		let i = 0;
		while (n >= 1024 && i < u.length - 1) {
			n /= 1024;
			i++;
		}
		return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
	}

	/* The CPU and memory cells' contents: a sparkline and the last figure. */
	function sparkCells(id) {
		const s = sparkFor(id);
		const last = s.last;
		const cpuTxt = last ? Number(last.cpu_percent || 0).toFixed(1) + ' %' : '-';
		const memTxt = last ? fmtBytes(last.memory_bytes) + (s.limit ? ' / ' + fmtBytes(s.limit) : '') : '-';
		return [
			/* scaled to the data (CPU: at least 5 %), so a trend shows; the figures say how much */
			[sparkline('cpu', s.cpu, 5, 'CPU % (last ' + s.cpu.length + ' samples)'), el('span', { class: 'sub' }, cpuTxt)],
			[sparkline('mem', s.mem, 0, 'memory (last ' + s.mem.length + ' samples)'), el('span', { class: 'sub' }, memTxt)],
		];
	}

	function containerRow(c) {
		const id = str(c.id);
		const state = str(c.state);
		const [cpuCell, memCell] = sparkCells(id);
		const btn = state === 'paused'
			? el('button', { type: 'button', class: 'small resume', 'data-action': 'resume' }, 'Resume')
			: el('button', { type: 'button', class: 'small pause', 'data-action': 'pause' }, 'Pause');
		if (state !== 'paused' && state !== 'running') btn.disabled = true;
		btn.addEventListener('click', () => pauseResume(btn, btn.dataset.action, c));
		const tr = el('tr', { 'data-id': id },
			el('td', null, str(c.name) || id.slice(0, 12), el('span', { class: 'sub' }, str(c.image))),
			el('td', { class: stateClass(state) }, state,
				c.paused_by_moat ? el('span', { class: 'badge moat', title: 'paused by moat' }, 'by moat') : null),
			el('td', null, str(c.policy) || 'default',
				el('span', { class: 'sub' }, 'egress ' + egressName(c.egress) + (c.kill_exec ? ', kill-exec' : ''))),
			el('td', { class: 'cpu' }, ...cpuCell),
			el('td', { class: 'mem' }, ...memCell),
			el('td', null, btn));
		tr.dataset.name = str(c.name);
		tr.dataset.state = state;
		return tr;
	}

	function renderContainers() {
		const tb = $('containers');
		clear(tb);
		const list = [...st.containers.values()].sort((a, b) => str(a.name).localeCompare(str(b.name)));
		for (const c of list) tb.appendChild(containerRow(c));
		$('containers-count').textContent = String(list.length);
		$('containers-empty').hidden = list.length > 0;
		renderStatus();
	}

	/* Redraw one container's row (stats arrive every few seconds per container). */
	function renderContainer(id) {
		const c = st.containers.get(id);
		const old = [...$('containers').children].find((tr) => tr.dataset.id === id);
		if (!c || !old) return renderContainers();
		old.replaceWith(containerRow(c));
	}

	async function loadContainers() {
		const r = await api('/api/containers');
		st.containers.clear();
		for (const c of (r && r.containers) || []) {
			if (!c || typeof c !== 'object') continue;
			const id = str(c.id);
			st.containers.set(id, c);
			const x = c.resources && (c.resources.latest || c.resources);
			const s = sparkFor(id);
			if (x && typeof x === 'object' && !s.cpu.length) pushSample(id, x);
		}
		renderContainers();
	}

	let containersTimer = 0;
	function reloadContainersSoon() {
		clearTimeout(containersTimer);
		containersTimer = setTimeout(() => loadContainers().catch(report('containers')), 300);
	}

	async function pauseResume(btn, action, c) {
		btn.disabled = true;
		try {
			await api('/api/containers/' + action, { container: str(c.name) || str(c.id) });
			banner(null);
		} catch (e) {
			banner(action + ' ' + str(c.name) + ' failed: ' + e.message);
		}
		await loadContainers().catch(report('containers'));
	}

	function onContainerEvent(d) {
		const id = str(d.id);
		const c = st.containers.get(id);
		if (d.event === 'destroy') {
			st.containers.delete(id);
			st.spark.delete(id);
			renderContainers();
			return;
		}
		if (c && d.state) {
			c.state = str(d.state);
			renderContainer(id);
		}
		reloadContainersSoon(); /* policy, paused_by_moat, new containers */
	}

	/* A stats sample redraws the two cells only: the row and its button stay under the mouse. */
	function onStats(d) {
		const id = str(d.id);
		pushSample(id, d);
		const tr = [...$('containers').children].find((x) => x.dataset.id === id);
		if (!tr) return;
		const [cpuCell, memCell] = sparkCells(id);
		const cpu = tr.querySelector('td.cpu'), mem = tr.querySelector('td.mem');
		clear(cpu);
		clear(mem);
		for (const n of cpuCell) cpu.appendChild(n);
		for (const n of memCell) mem.appendChild(n);
	}

	/* ---- egress ----------------------------------------------------------------------------- */

	function counterOf(map, key) {
		let c = map.get(key);
		if (!c) {
			c = { allowed: 0, denied: 0, prompted: 0 };
			map.set(key, c);
		}
		return c;
	}

	function logAddress(r) {
		if (Array.isArray(r.addresses)) return r.addresses.map(str).join(' ');
		return str(r.address) + (r.port ? ':' + r.port : '');
	}

	/* an access-log record's container: {id, name}, a name, or null (the host) */
	function logWho(r) {
		const c = r.container;
		if (!c) return 'host';
		if (typeof c !== 'object') return str(c);
		return str(c.name) || str(c.id).slice(0, 12) || 'host';
	}

	function logRow(r) {
		const who = logWho(r);
		const tr = el('tr', null,
			el('td', null, shortTime(r.time)),
			el('td', null, who),
			el('td', null, str(r.kind)),
			el('td', null, str(r.domain)),
			el('td', null, logAddress(r)),
			el('td', { class: verdictClass(str(r.verdict)) }, str(r.verdict)),
			el('td', null, str(r.rule)));
		tr.addEventListener('click', () => showDetail('decision', r));
		return tr;
	}

	function renderEgress() {
		const pending = new Map();
		for (const p of st.prompts.values()) pending.set(str(p.domain), (pending.get(str(p.domain)) || 0) + 1);
		const names = new Set([...st.domains.keys(), ...pending.keys()]);
		const rows = [...names].map((d) => [d, st.domains.get(d) || { allowed: 0, denied: 0 }])
			.sort((a, b) => (b[1].allowed + b[1].denied) - (a[1].allowed + a[1].denied) || a[0].localeCompare(b[0]));
		const tb = $('egress-domains');
		clear(tb);
		for (const [d, c] of rows.slice(0, 200)) {
			const p = pending.get(d) || 0;
			tb.appendChild(el('tr', null, el('td', null, d),
				el('td', { class: 'num verdict-allow' }, c.allowed),
				el('td', { class: 'num verdict-deny' }, c.denied),
				el('td', { class: 'num' + (p ? ' verdict-pending' : '') }, p)));
		}
		const tc = $('egress-containers');
		clear(tc);
		for (const [n, c] of [...st.egressContainers.entries()].sort((a, b) => a[0].localeCompare(b[0])))
			tc.appendChild(el('tr', null, el('td', null, n),
				el('td', { class: 'num verdict-allow' }, c.allowed),
				el('td', { class: 'num verdict-deny' }, c.denied)));
		const tl = $('egress-log');
		clear(tl);
		for (const r of st.log) tl.appendChild(logRow(r));
	}

	function countDecision(r) {
		const v = str(r.verdict);
		const allowed = v === 'allow';
		const denied = v === 'deny' || v === 'would_deny';
		if (!allowed && !denied) return;
		const d = counterOf(st.domains, str(r.domain) || '(no name)');
		const c = counterOf(st.egressContainers, logWho(r));
		if (allowed) d.allowed++, c.allowed++;
		else d.denied++, c.denied++;
	}

	async function loadEgress() {
		const r = (await api('/api/egress')) || {};
		st.domains.clear();
		st.egressContainers.clear();
		for (const d of r.domains || [])
			st.domains.set(str(d.domain || d.name), { allowed: Number(d.allowed) || 0, denied: Number(d.denied) || 0 });
		for (const c of r.containers || [])
			st.egressContainers.set(str(c.container || c.name), { allowed: Number(c.allowed) || 0, denied: Number(c.denied) || 0 });
		/* the log tail: newest first whatever order the server used */
		const log = (r.log || r.recent || []).filter((x) => x && typeof x === 'object');
		log.sort((a, b) => str(b.time).localeCompare(str(a.time)));
		st.log = log.slice(0, MAX_LOG);
		renderEgress();
	}

	function onDecision(r) {
		if (!r || typeof r !== 'object') return;
		countDecision(r);
		st.log.unshift(r);
		if (st.log.length > MAX_LOG) st.log.pop();
		renderEgress();
	}

	/* ---- prompts ------------------------------------------------------------------------------ */

	function promptCard(p) {
		const id = p.id;
		const addrs = Array.isArray(p.addresses) ? p.addresses.map(str).join(', ') : str(p.addresses);
		const exp = el('span', { class: 'expires' });
		const choices = el('div', { class: 'choices' });
		for (const ch of CHOICES) {
			const b = el('button', { type: 'button', class: 'small ' + (ch.startsWith('allow') ? 'allow' : 'deny'), 'data-choice': ch }, ch);
			b.addEventListener('click', () => decide(id, ch, card));
			choices.appendChild(b);
		}
		const card = el('div', { class: 'prompt', 'data-id': String(id), 'data-domain': str(p.domain) },
			el('div', { class: 'q' }, 'Container ', el('b', null, str(p.container)), ' (', str(p.comm),
				', pid ', str(p.pid), ') resolves ', el('b', null, str(p.domain)),
				addrs ? ' \u2192 ' + addrs : '', exp),
			choices);
		card._exp = exp;
		card._deadline = Date.now() + (Number(p.expires_in_s) || 0) * 1000;
		return card;
	}

	function renderPrompts() {
		const box = $('prompts');
		clear(box);
		for (const p of [...st.prompts.values()].sort((a, b) => Number(a.id) - Number(b.id))) box.appendChild(promptCard(p));
		$('prompts-count').textContent = String(st.prompts.size);
		$('prompts-empty').hidden = st.prompts.size > 0;
		$('prompts-panel').classList.toggle('active', st.prompts.size > 0);
		tickPrompts();
		renderEgress();
	}

	function tickPrompts() {
		for (const card of $('prompts').children) {
			const left = Math.max(0, Math.round((card._deadline - Date.now()) / 1000));
			card._exp.textContent = ' \u00b7 expires in ' + left + ' s';
		}
	}

	async function decide(id, choice, card) {
		for (const b of card.querySelectorAll('button')) b.disabled = true;
		try {
			await api('/api/prompts/decide', { id: Number(id), choice });
			st.prompts.delete(String(id));
			renderPrompts();
			banner(null);
			if (choice.endsWith('-domain') || choice.endsWith('-ip')) loadRules().catch(report('rules'));
		} catch (e) {
			banner('decision on request ' + id + ' failed: ' + e.message);
			for (const b of card.querySelectorAll('button')) b.disabled = false;
		}
	}

	async function loadPrompts() {
		const r = await api('/api/prompts');
		st.prompts.clear();
		for (const p of (r && r.pending) || []) if (p && p.id !== undefined) st.prompts.set(String(p.id), p);
		renderPrompts();
	}

	/* ---- rules ----------------------------------------------------------------------------------- */

	function renderRules() {
		const r = st.rules || {};
		setText('rules-file', r.file);
		if (r.default === 'allow' || r.default === 'deny') $('rules-default').value = r.default;
		const tb = $('rules');
		clear(tb);
		const list = Array.isArray(r.rules) ? r.rules : [];
		for (const x of list) {
			const rm = el('button', { type: 'button', class: 'small deny' }, 'remove');
			rm.addEventListener('click', () => {
				rm.disabled = true;
				api('/api/rules/remove', { rule: String(x.id !== undefined ? x.id : x.match) })
					.then(loadRules, report('remove rule'));
			});
			const kind = str(x.kind);
			tb.appendChild(el('tr', null, el('td', { class: 'num' }, str(x.id)),
				el('td', { class: kind.startsWith('allow') ? 'verdict-allow' : kind.startsWith('deny') ? 'verdict-deny' : '' }, kind),
				el('td', null, str(x.match)), el('td', null, str(x.comment)), el('td', null, rm)));
		}
		$('rules-count').textContent = String(list.length);
	}

	async function loadRules() {
		st.rules = await api('/api/rules');
		renderRules();
	}

	/* ---- the live stream ---------------------------------------------------------------------- */

	let ws = null;
	let backoff = 500;
	let snapshotSeq = -1; /* first connection: messages up to the hello's last_seq are in the REST snapshot */
	let buffered = null; /* messages that came while the snapshot loads */

	function wsURL() {
		const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
		return proto + '//' + location.host + '/ws' + (st.lastSeq ? '?after=' + st.lastSeq : '');
	}

	function connect() {
		if (refused) return;
		setConn(st.lastSeq ? 'reconnecting' : 'connecting');
		let sock;
		try {
			sock = new WebSocket(wsURL());
		} catch (e) {
			return retry();
		}
		ws = sock;
		sock.onmessage = (ev) => {
			let m;
			try {
				m = JSON.parse(ev.data);
			} catch (e) {
				return;
			}
			if (!m || typeof m !== 'object') return;
			if (buffered && m.type !== 'hello') buffered.push(m);
			else handle(m);
		};
		sock.onclose = () => {
			if (ws !== sock) return;
			ws = null;
			retry();
		};
		sock.onerror = () => {};
	}

	let loaded = false;

	function retry() {
		if (refused) return;
		setConn('reconnecting');
		if (!loaded) resync(); /* the stream is down: show the snapshot meanwhile */
		/* a 401 on the upgrade looks like a plain close: ask the API once whether the token is still good */
		api('/api/status').then((s) => {
			st.status = s && s.status ? s.status : s;
			st.statusAt = Date.now();
			renderStatus();
		}, () => {});
		setTimeout(connect, backoff);
		backoff = Math.min(backoff * 2, 10000);
	}

	async function handleHello(d) {
		backoff = 500;
		setConn('live');
		const last = Number(d.last_seq) || 0;
		const oldest = Number(d.oldest_seq) || 0;
		if (!st.lastSeq) {
			/* first connection: the snapshot covers everything up to last_seq */
			snapshotSeq = last;
			st.lastSeq = last;
			await resync();
		} else if (oldest > st.lastSeq + 1 || last < st.lastSeq) {
			/* messages we never saw were dropped (or moat run restarted): reload */
			st.lastSeq = last;
			snapshotSeq = last;
			await resync();
		}
	}

	/* Reload everything by REST while buffering the stream, then apply what came meanwhile. */
	async function resync() {
		buffered = buffered || [];
		try {
			await Promise.all([loadStatus(), loadContainers(), loadAlerts(), loadEgress(), loadPrompts(), loadRules()]);
			loaded = true;
			banner(null);
		} catch (e) {
			if (!refused) banner('loading the dashboard failed: ' + e.message);
		}
		const q = buffered;
		buffered = null;
		for (const m of q || []) handle(m);
	}

	function handle(m) {
		const seq = Number(m.seq) || 0;
		if (m.type === 'hello') return handleHello(m.data || {});
		if (seq && seq <= snapshotSeq) return; /* already in the snapshot */
		if (seq && seq <= st.lastSeq && m.type !== 'gap') return; /* a replay we have */
		if (seq) st.lastSeq = seq;
		const d = m.data && typeof m.data === 'object' ? m.data : {};
		switch (m.type) {
		case 'alert':
			addAlert(d, true);
			break;
		case 'decision':
			onDecision(d);
			break;
		case 'prompt':
			if (d.id !== undefined) {
				st.prompts.set(String(d.id), d);
				renderPrompts();
			}
			break;
		case 'prompt-closed':
			if (st.prompts.delete(String(d.id))) renderPrompts();
			if (d.choice && d.choice !== 'timeout' && d.choice !== 'allow-once' && d.choice !== 'deny-once')
				loadRules().catch(report('rules'));
			break;
		case 'container':
			onContainerEvent(d);
			break;
		case 'stats':
			onStats(d);
			break;
		case 'gap':
			st.lastSeq = Math.max(st.lastSeq, Number(d.to) || 0);
			snapshotSeq = st.lastSeq;
			buffered = buffered || [];
			resync();
			break;
		default:
			break;
		}
	}

	/* ---- wiring ----------------------------------------------------------------------------- */

	function wire() {
		for (const id of ['f-severity', 'f-rule', 'f-container']) $(id).addEventListener('change', renderAlerts);
		$('f-text').addEventListener('input', renderAlerts);
		$('alert-filters').addEventListener('submit', (e) => e.preventDefault());
		$('alerts-older').addEventListener('click', () => olderAlerts().catch(report('older alerts')));
		$('banner').addEventListener('click', () => {
			if (!refused) $('banner').hidden = true;
		});
		$('detail-close').addEventListener('click', () => ($('detail').hidden = true));
		$('detail').addEventListener('click', (e) => {
			if (e.target === $('detail')) $('detail').hidden = true;
		});
		document.addEventListener('keydown', (e) => {
			if (e.key === 'Escape') $('detail').hidden = true;
		});
		$('rule-add').addEventListener('submit', (e) => {
			e.preventDefault();
			const body = { verdict: $('rule-verdict').value, match: $('rule-match').value.trim(), comment: $('rule-comment').value };
			api('/api/rules', body).then(() => {
				$('rule-match').value = '';
				$('rule-comment').value = '';
				banner(null);
				return loadRules();
			}, report('add rule'));
		});
		$('rules-default-set').addEventListener('click', () => {
			api('/api/rules/default', { default: $('rules-default').value }).then(loadRules, report('default verdict'));
		});
		$('rules-import').addEventListener('change', async (e) => {
			const f = e.target.files && e.target.files[0];
			e.target.value = '';
			if (!f) return;
			try {
				const r = await api('/api/rules/import', { text: await f.text() });
				banner('imported ' + str(r && r.imported) + ' rules from ' + f.name, 'info');
				await loadRules();
			} catch (err) {
				banner('import of ' + f.name + ' failed: ' + err.message);
			}
		});
		setInterval(() => {
			tickPrompts();
			renderStatus();
		}, 1000);
		setInterval(() => {
			if (!refused) loadStatus().catch(() => {});
		}, 15000);
	}

	function start() {
		wire();
		connect();
	}

	if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
	else start();
})();
