// dashboard.js - moat's dashboard in a real browser: Debian's Chromium (/usr/bin/chromium,
// never a downloaded build) driven by playwright-core, against a real `moat run --http`.
// Run by tests/integration/test_web_browser.sh, which starts moat run and the containers and
// passes what to do through the environment:
//   MOAT_WEB_URL      http://127.0.0.1:PORT (no trailing slash)
//   MOAT_WEB_TOKEN    the token (web.token next to the control socket)
//   MOAT_SHOT_DIR     where the screenshots go (docs/img); "" for none
//   MOAT_T_SHELL      a command that makes container MOAT_T_PAUSED run a shell (moat pauses it)
//   MOAT_T_PAUSED     that container's name
//   MOAT_T_STATE      a command printing its Docker state (running, paused)
//   MOAT_T_PROMPTED   the container in interactive egress
//   MOAT_T_DOMAIN     the name it looks up
//   MOAT_T_LOOKUP     a command that starts its lookup (in the background)
//   MOAT_T_LOOKUP_RC  a command printing the lookup's exit status ("" while it runs)
//   MOAT_T_RULES      the egress rules file moat run uses (checked after the page's changes)
//   MOAT_T_BUSY       a container using some CPU: the screenshot waits for its sparkline
// Prints "ok - ..." / "not ok - ..." lines (tests/run.sh); exits 1 if any check failed.
'use strict';

const { chromium } = require('playwright-core');
const { execFileSync } = require('child_process');
const path = require('path');

const env = (k) => {
	const v = process.env[k];
	if (v === undefined) {
		console.log(`not ok - dashboard.js: environment variable ${k} is not set (run it through tests/integration/test_web_browser.sh)`);
		process.exit(1);
	}
	return v;
};
const URL0 = env('MOAT_WEB_URL');
const TOKEN = env('MOAT_WEB_TOKEN');
const SHOTS = process.env.MOAT_SHOT_DIR || '';
const PAUSED = env('MOAT_T_PAUSED');
const PROMPTED = env('MOAT_T_PROMPTED');
const DOMAIN = env('MOAT_T_DOMAIN');

let failed = 0;
let passed = 0;
function ok(name) {
	passed++;
	console.log(`ok - ${name}`);
}
function notOk(name, why) {
	failed++;
	console.log(`not ok - ${name}: ${String(why).split('\n')[0]}`);
}
// check(name, async fn): ok when fn resolves truthy, not ok with the reason otherwise.
async function check(name, fn) {
	try {
		const r = await fn();
		if (r === false) notOk(name, 'the condition does not hold');
		else ok(name);
		return r !== false;
	} catch (e) {
		notOk(name, e.message);
		return false;
	}
}
function sh(cmd) {
	return execFileSync('bash', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
// Poll sh(cmd) every 200 ms until it prints want, for at most secs seconds.
async function shellUntil(cmd, want, secs) {
	let last = '';
	for (let i = 0; i < secs * 5; i++) {
		try {
			last = sh(cmd);
		} catch (e) {
			last = `(failed: ${e.message.split('\n')[0]})`;
		}
		if (last === want) return true;
		await new Promise((r) => setTimeout(r, 200));
	}
	throw new Error(`'${cmd}' printed '${last}', not '${want}', for ${secs} s`);
}
const attr = (s) => JSON.stringify(s); // a quoted CSS attribute value

(async () => {
	const browser = await chromium.launch({
		executablePath: '/usr/bin/chromium',
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
	});
	const problems = []; // script errors and CSP violations in the dashboard
	try {
		const ctx = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
		const page = await ctx.newPage();
		page.on('pageerror', (e) => problems.push('page error: ' + e.message));
		page.on('console', (m) => {
			if (m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(m.text())) problems.push('console: ' + m.text());
		});

		// a. the token URL sets the cookie and leaves the address bar.
		await check('/?token= lands on / with the token out of the address bar', async () => {
			await page.goto(`${URL0}/?token=${TOKEN}`);
			if (page.url() !== `${URL0}/`) throw new Error(`the page is at ${page.url()}`);
		});
		await check('the token is kept in an HttpOnly SameSite=Strict cookie', async () => {
			const c = (await ctx.cookies()).find((x) => x.name === 'moat_token');
			if (!c) throw new Error('no moat_token cookie');
			if (!c.httpOnly || c.sameSite !== 'Strict') throw new Error(`cookie flags: httpOnly=${c.httpOnly} sameSite=${c.sameSite}`);
		});
		await check('the live stream connects (status strip says live)', async () => {
			await page.waitForSelector('#conn.conn-live', { timeout: 10000 });
		});
		await check('the status strip shows moat run\'s mode', async () => {
			await page.waitForFunction(() => document.getElementById('st-mode').textContent !== '-', null, { timeout: 10000 });
		});
		await check(`the containers table lists ${PAUSED} and ${PROMPTED}`, async () => {
			await page.waitForSelector(`#containers tr[data-name=${attr(PAUSED)}]`, { timeout: 10000 });
			await page.waitForSelector(`#containers tr[data-name=${attr(PROMPTED)}]`, { timeout: 10000 });
		});

		// b. a shell in a container: its alert appears live, without a reload.
		await page.evaluate(() => {
			window.__moatSamePage = 1;
		});
		sh(env('MOAT_T_SHELL'));
		const alertRow = `#alerts li.sev-CRITICAL:has-text("suspicious-exec"):has-text(${attr(PAUSED)})`;
		await check('the shell alert appears live in the feed, coloured CRITICAL', async () => {
			await page.waitForSelector(alertRow, { timeout: 15000 });
		});
		await check('no reload: the same page got it over the WebSocket', async () => {
			return (await page.evaluate(() => window.__moatSamePage)) === 1;
		});
		await check('a click on the alert shows its full JSON', async () => {
			await page.click(alertRow);
			const a = JSON.parse(await page.textContent('#detail-json'));
			if (a.rule !== 'suspicious-exec' || !a.container || a.container.name !== PAUSED) throw new Error('JSON: ' + JSON.stringify(a).slice(0, 200));
			if (!JSON.stringify(a).includes('<img')) throw new Error('the hostile argv is not in the JSON');
			await page.click('#detail-close');
		});
		await check('text from the container is shown as text (no element, no script from its argv)', async () => {
			const r = await page.evaluate(() => ({ imgs: document.querySelectorAll('img').length, pwned: window.__pwned }));
			return r.imgs === 0 && r.pwned === undefined;
		});

		// c. moat paused it; Resume in the page resumes it.
		const pausedRow = `#containers tr[data-name=${attr(PAUSED)}]`;
		await check(`${PAUSED} shows as paused`, async () => {
			await page.waitForSelector(`${pausedRow}[data-state="paused"]`, { timeout: 15000 });
		});
		await check(`a click on Resume resumes ${PAUSED} (docker inspect: running)`, async () => {
			await page.click(`${pausedRow} button[data-action="resume"]`);
			await shellUntil(env('MOAT_T_STATE'), 'running', 10);
		});
		await check(`the page shows ${PAUSED} running again`, async () => {
			await page.waitForSelector(`${pausedRow}[data-state="running"]`, { timeout: 10000 });
		});

		// d. a held DNS answer decided from the page; the container's own lookup then succeeds.
		sh(env('MOAT_T_LOOKUP'));
		const card = `#prompts .prompt[data-domain=${attr(DOMAIN)}]`;
		const prompted = await check(`the prompt for ${DOMAIN} appears in the page`, async () => {
			await page.waitForSelector(card, { timeout: 10000 });
		});
		await check('the prompt offers the six choices', async () => {
			const ch = await page.$$eval(`${card} button`, (bs) => bs.map((b) => b.dataset.choice).join(' '));
			return ch === 'allow-once deny-once allow-domain deny-domain allow-ip deny-ip';
		});
		if (prompted && SHOTS) await page.screenshot({ path: path.join(SHOTS, 'dashboard-prompt.png') });
		await check('the lookup is held while nobody decides', async () => sh(env('MOAT_T_LOOKUP_RC')) === '');
		await check('a click on allow-once decides it (the prompt leaves the page)', async () => {
			await page.click(`${card} button[data-choice="allow-once"]`);
			await page.waitForSelector(card, { state: 'detached', timeout: 10000 });
		});
		await check(`the container's own lookup of ${DOMAIN} then succeeds`, async () => {
			await shellUntil(env('MOAT_T_LOOKUP_RC'), '0', 15);
		});
		await check('the decision appears live in the access-log tail', async () => {
			await page.waitForSelector(`#egress-log tr:has-text(${attr(DOMAIN)})`, { timeout: 10000 });
		});

		// Rules: add, remove, import and export through the page, checked in the rules file.
		const RULES = process.env.MOAT_T_RULES || '';
		const fileHas = (m) => RULES === '' || require('fs').readFileSync(RULES, 'utf8').includes(m);
		await check('a rule added with the form is listed and written to the rules file', async () => {
			await page.selectOption('#rule-verdict', 'allow');
			await page.fill('#rule-match', '*.browser.moat.test');
			await page.fill('#rule-comment', 'added from the browser test');
			await page.click('#rule-add button[type="submit"]');
			await page.waitForSelector('#rules tr:has-text("*.browser.moat.test")', { timeout: 10000 });
			if (!fileHas('*.browser.moat.test')) throw new Error(`${RULES} has no *.browser.moat.test`);
		});
		await check('a rule the API refuses is reported in the page', async () => {
			await page.fill('#rule-match', '10.0.0.0/33');
			await page.click('#rule-add button[type="submit"]');
			await page.waitForSelector('#banner:not([hidden])', { timeout: 10000 });
			await page.fill('#rule-match', '');
		});
		await check('import (file picker, the seed\'s format) adds its rules', async () => {
			await page.setInputFiles('#rules-import', {
				name: 'seed-rules.json', mimeType: 'application/json',
				buffer: Buffer.from('{"import.moat.test": "allow-domain"}'),
			});
			await page.waitForSelector('#rules tr:has-text("import.moat.test")', { timeout: 10000 });
		});
		await check('export downloads the rules file', async () => {
			const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), page.click('#rules-export')]);
			const text = require('fs').readFileSync(await dl.path(), 'utf8');
			if (!text.includes('*.browser.moat.test') || !text.includes('import.moat.test')) throw new Error('export: ' + text.slice(0, 200));
		});
		await check('remove takes a rule out of the list and the file', async () => {
			await page.click('#rules tr:has-text("*.browser.moat.test") button');
			await page.waitForSelector('#rules tr:has-text("*.browser.moat.test")', { state: 'detached', timeout: 10000 });
			if (RULES && fileHas('*.browser.moat.test')) throw new Error(`${RULES} still has it`);
		});

		// Filters: CRITICAL only hides the WARNING prompt alert; text narrows to one container.
		await check('the severity filter shows CRITICAL alerts only', async () => {
			await page.selectOption('#f-severity', 'CRITICAL');
			const sev = await page.$$eval('#alerts li .sev', (xs) => [...new Set(xs.map((x) => x.textContent))].join(','));
			await page.selectOption('#f-severity', '');
			return sev === 'CRITICAL';
		});
		await check(`the text filter narrows the feed to ${PROMPTED}`, async () => {
			await page.fill('#f-text', PROMPTED);
			const n = await page.$$eval('#alerts li', (xs) => xs.length);
			const other = await page.$$eval('#alerts li', (xs, name) => xs.filter((x) => !x.textContent.includes(name)).length, PROMPTED);
			await page.fill('#f-text', '');
			if (n === 0 || other !== 0) throw new Error(`${n} rows, ${other} of another container`);
		});

		// f. the whole dashboard with live data, once stats samples have drawn the sparklines.
		await check('CPU and memory sparklines are drawn from the stats stream', async () => {
			// attached, not visible: an idle container's line is flat (a box of height 0)
			await page.waitForSelector(`${pausedRow} svg.spark.cpu polyline`, { state: 'attached', timeout: 15000 });
			await page.waitForSelector(`${pausedRow} svg.spark.mem polyline`, { state: 'attached', timeout: 15000 });
		});
		if (SHOTS) {
			if (await page.isVisible('#banner')) await page.click('#banner'); // the import's note
			// For the picture only (not a check): a few more stats samples on the sparklines.
			const BUSY = process.env.MOAT_T_BUSY;
			if (BUSY)
				await page.waitForFunction((name) => {
					const pl = document.querySelector(`#containers tr[data-name="${CSS.escape(name)}"] svg.spark.cpu polyline`);
					return pl && pl.getAttribute('points').split(' ').length >= 10;
				}, BUSY, { timeout: 40000 }).catch(() => console.log('# fewer than 10 stats samples for the screenshot'));
			await page.waitForTimeout(1500); // let the last highlight fade out of the picture
			await page.screenshot({ path: path.join(SHOTS, 'dashboard.png'), fullPage: true });
		}
		await check('no script error or Content-Security-Policy violation in the page', async () => {
			if (problems.length) throw new Error(problems.join(' | '));
		});

		// e. a browser without the token: the "token required" page, and 401 from the API.
		const anon = await browser.newContext();
		const p2 = await anon.newPage();
		let resp = null;
		await check('without the token / is refused with 401 and says a token is needed', async () => {
			resp = await p2.goto(`${URL0}/`);
			if (resp.status() !== 401) throw new Error(`status ${resp.status()}`);
			const text = (await p2.textContent('body')) || '';
			if (!/token/i.test(text)) throw new Error(`the page says: ${text.slice(0, 120)}`);
		});
		await check('without the token the API answers 401 (GET and POST)', async () => {
			const r = await p2.evaluate(async () => {
				const g = await fetch('/api/status');
				const p = await fetch('/api/containers/resume', {
					method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Moat-CSRF': '1' },
					body: JSON.stringify({ container: 'x' }),
				});
				return [g.status, p.status];
			});
			if (r[0] !== 401 || r[1] !== 401) throw new Error(`statuses ${r.join(', ')}`);
		});
		await check('without the token the WebSocket is refused', async () => {
			const r = await p2.evaluate(() => new Promise((res) => {
				const ws = new WebSocket(`ws://${location.host}/ws`);
				ws.onopen = () => res('opened');
				ws.onclose = () => res('closed');
				setTimeout(() => res('timeout'), 5000);
			}));
			if (r !== 'closed') throw new Error(r);
		});
		await check('a wrong token is refused too', async () => {
			const r = await p2.goto(`${URL0}/?token=${'0'.repeat(64)}`);
			if (r.status() !== 401) throw new Error(`status ${r.status()}`);
		});
		await anon.close();
		await ctx.close();
	} catch (e) {
		notOk('the browser test ran to its end', e.stack || e.message);
	} finally {
		await browser.close();
	}
	console.log(`# browser: ${passed} passed, ${failed} failed`);
	process.exit(failed ? 1 : 0);
})();
