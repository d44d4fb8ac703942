// Drives the review UI served by the real `vabot serve` in headless Debian Chromium.
// Run by tests/it/review.rs, which fills the store, starts the server and passes:
//   REVIEW_MODE   review | tampered
//   REVIEW_URL    http://127.0.0.1:<port>      REVIEW_TOKEN  the bearer token
//   INCIDENT_TITLE, APPROVAL, FILTER_USER, PIN_TEXT, SCREENSHOT, DOWNLOADS
//   BROKEN_SEQ    (tampered mode) the seq whose record was edited
//   CHROMIUM      the browser binary (default /usr/bin/chromium)
// Prints one JSON line with what it saw; exits non-zero on the first failed check.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const base = env('REVIEW_URL');
const mode = env('REVIEW_MODE', 'review');

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

// A fresh profile each run; the flags keep Chromium off the network (see polyglot.md).
const profile = mkdtempSync(join(tmpdir(), 'vabot-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  extraHTTPHeaders: { Authorization: `Bearer ${env('REVIEW_TOKEN')}` },
  acceptDownloads: true,
  viewport: { width: 1240, height: 900 },
  deviceScaleFactor: 1,
});
context.setDefaultTimeout(15000);

try {
  const page = await context.newPage();
  const report = mode === 'tampered' ? await tampered(page) : await review(page);
  console.log(JSON.stringify(report));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

async function review(page) {
  const title = env('INCIDENT_TITLE');
  // The index: the chain verifies, and the incident is listed.
  await page.goto(`${base}/review`);
  check(await page.locator('[data-chain="intact"]').isVisible(), 'index shows an intact chain');

  // Load the incident.
  await page.locator('a.inc', { hasText: title }).click();
  await page.waitForURL(/\/review\/timeline\?incident=i-/);
  const incidentUrl = page.url();
  const incident = new URL(incidentUrl).searchParams.get('incident');
  check((await page.locator('h1').innerText()) === `Incident: ${title}`, 'incident heading');
  const rows = await page.locator('ol.tl > li.row').count();
  check(rows >= 5, `the timeline has rows (${rows})`);
  check(await page.getByText(env('PIN_TEXT')).isVisible(), 'a pinned message is in the timeline');
  const users = await page.locator('ol.tl > li.row').evaluateAll(ls => [...new Set(ls.map(l => l.dataset.user))]);
  check(users.includes('alice') && users.includes('bob'), `rows by alice and bob (${users})`);

  // Filter by user: a GET form, so the URL carries the filter.
  const who = env('FILTER_USER');
  await page.selectOption('select[name="user"]', who);
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(new RegExp(`[?&]user=${who}`));
  const filtered = await page.locator('ol.tl > li.row').evaluateAll(ls => ls.map(l => l.dataset.user));
  check(filtered.length > 0 && filtered.length < rows, `filtering by ${who} narrows the rows (${filtered.length}/${rows})`);
  check(filtered.every(u => u === who), `only ${who}'s rows remain (${filtered})`);
  check((await page.locator('[data-filter]').innerText()).includes(`user=${who}`), 'the filter is stated');

  // Open the approval's detail from the filtered view (bob's vote links to it).
  const approval = env('APPROVAL');
  await page.locator(`a[href="/review/approvals/${approval}"]`).first().click();
  await page.waitForURL(new RegExp(`/review/approvals/${approval}$`));
  check((await page.locator('[data-status]').innerText()) === 'executed', 'the approval was executed');
  const plan = await page.locator('table[data-plan]').innerText();
  check(/replicas\s+2\s+→\s+0/.test(plan), `the plan shows before → after (${plan})`);
  const votes = await page.locator('table[data-votes]').innerText();
  check(votes.includes('bob') && votes.includes('approved') && votes.includes('command'), `bob's vote, how and when (${votes})`);
  const facts = await page.locator('dl.facts').first().innerText();
  check(facts.includes('alice') && facts.includes('Expires'), 'requester and expiry');

  // Back to the whole incident: the screenshot, then the Markdown export.
  await page.goto(incidentUrl);
  await page.screenshot({ path: env('SCREENSHOT'), fullPage: true });
  const dir = env('DOWNLOADS');
  mkdirSync(dir, { recursive: true });
  // The page's own Markdown link, fetched with the page's credentials and saved as a
  // reviewer's download would be (headless downloads are cancelled on this machine).
  const link = page.getByRole('link', { name: 'Markdown' });
  const href = new URL(await link.getAttribute('href'), page.url()).toString();
  const res = await page.request.get(href);
  check(res.ok(), `the Markdown export answers (${res.status()})`);
  const disposition = res.headers()['content-disposition'] || '';
  check(disposition.includes('attachment'), `the export is a download (${disposition})`);
  const name = (disposition.match(/filename="?([^";]+)"?/) || [])[1] || 'incident.md';
  const markdown = join(dir, name);
  writeFileSync(markdown, await res.body());
  const md = readFileSync(markdown, 'utf8');
  check(md.startsWith(`# Incident: ${title}\n`), 'the export is the incident');
  check(md.includes('## Pinned messages') && md.includes(env('PIN_TEXT')), 'the export has the pinned messages');
  check(md.includes(`${approval} (executed)`), 'the export has the approval and how it ended');
  check(md.includes('**Audit chain:** intact'), 'the export states the chain');
  return { incident, approval, rows, filtered: filtered.length, markdown, bytes: md.length };
}

async function tampered(page) {
  const seq = Number(env('BROKEN_SEQ'));
  await page.goto(`${base}/review`);
  await page.locator('a.inc', { hasText: env('INCIDENT_TITLE') }).click();
  await page.waitForURL(/\/review\/timeline\?incident=i-/);
  const banner = page.locator('[data-chain="broken"]');
  check(await banner.isVisible(), 'the broken chain is shown');
  const text = await banner.innerText();
  const m = text.match(/broken at seq (\d+)/);
  check(m && Number(m[1]) === seq, `the banner names seq ${seq} (${text})`);
  check(text.includes(`record ${seq} was edited`), `the banner says what is wrong (${text})`);
  return { broken: Number(m[1]) };
}
