// The web console in headless Chromium (Debian's, driven by playwright-core; no browser is ever
// downloaded). Run by `tests/tests/it/console.rs`, which starts a real beibao-server with seeded
// tablets' work, as: node ui/e2e/console.mjs <phase> <base-url> <out-dir> [<json args>].
// Each phase prints one JSON line of what it saw and exits non-zero on the first failed check;
// screenshots go to <out-dir>.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [phase, base, out, rawArgs] = process.argv.slice(2);
const args = rawArgs ? JSON.parse(rawArgs) : {};
mkdirSync(out, { recursive: true });

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.BEIBAO_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', acceptDownloads: true });
const page = await context.newPage();
const outside = [];
page.on('request', (r) => { if (!r.url().startsWith(base)) outside.push(r.url()); });
page.setDefaultTimeout(15_000);

async function login(user, password) {
  await page.goto(`${base}/console/${args.hash ?? ''}`);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
}

const seen = {};
try {
  if (phase === 'supervisor') {
    // A wrong password is said so, in Chinese.
    await login('chief', 'not-the-password');
    const err = await page.locator('[data-testid=login-error]').textContent();
    check(err.includes('账号或密码错误'), `wrong password message: ${err}`);
    await page.fill('#password', args.password);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=report] tbody tr');
    seen.period = await page.locator('[data-testid=period]').textContent();
    await page.screenshot({ path: join(out, 'console-dashboard.png'), fullPage: true });
    // The coverage map: every village of the district drawn; the officer's visited village tapped.
    await page.waitForSelector('[data-testid=coverage] path');
    seen.villages_drawn = await page.locator('[data-testid=coverage] path').count();
    await page.locator(`[data-testid="village-${args.village}"]`).dispatchEvent('click');
    seen.picked = (await page.locator('[data-testid=coverage-picked]').textContent()).replace(/\s+/g, ' ').trim();
    await page.locator('[data-testid=coverage]').screenshot({ path: join(out, 'console-coverage.png') });
    // The mediation deadlines: the officer's agreement, its follow-up due within the week.
    await page.waitForSelector('[data-testid=due-cases] tbody tr');
    const cells = async (row) => (await row.locator('th, td').allTextContents()).map((c) => c.trim()).join(' | ');
    seen.due_village = await cells(page.locator('[data-testid=due-villages] tbody tr').first());
    seen.due_case = await cells(page.locator('[data-testid=due-cases] tbody tr').first());
    await page.locator('[data-testid=mediation-due]').screenshot({ path: join(out, 'console-mediations.png') });
    // Drill down: the station, its town, a village with visits, its officers.
    await page.click(`[data-testid="row-${args.station}"] button.drill`);
    await page.waitForFunction(() => document.querySelector('[data-testid=report] thead th')?.textContent?.includes('镇街'));
    const town = page.locator('[data-testid=report] tbody tr button.drill').first();
    await town.click();
    await page.waitForFunction(() => document.querySelector('[data-testid=report] thead th')?.textContent?.includes('村'));
    await page.click(`[data-testid="row-${args.village}"] button.drill`);
    await page.waitForSelector(`[data-testid="row-${args.officer}"]`);
    seen.crumbs = (await page.locator('[data-testid=crumbs]').textContent()).replace(/\s+/g, ' ').trim();
    seen.officer_households = await page.locator(`[data-testid="row-${args.officer}"] td[data-code=households_visited]`).textContent();
    await page.screenshot({ path: join(out, 'console-drilldown.png'), fullPage: true });
    // Back up to the district, then the workbook of every level.
    await page.locator('[data-testid=crumbs] button').first().click();
    await page.waitForSelector(`[data-testid="row-${args.station}"] button.drill`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-xlsx]')]);
    const file = join(out, download.suggestedFilename());
    await download.saveAs(file);
    await page.waitForSelector('[data-testid=exported]');
    seen.xlsx = file;
    // The visits of the month line by line, masked.
    await page.selectOption('[data-testid=detail-kind]', 'visits');
    const [detail] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=detail-xlsx]')]);
    seen.detail_xlsx = join(out, detail.suggestedFilename());
    await detail.saveAs(seen.detail_xlsx);
    await page.waitForSelector('[data-testid=detail-done]');
    await page.locator('[data-testid=detail-export]').screenshot({ path: join(out, 'console-detail.png') });
    seen.total_households = await page.locator('[data-testid=row-total] td[data-code=households_visited]').textContent();
    // English on demand.
    await page.click('header .lang');
    await page.waitForFunction(() => document.querySelector('[data-testid=report] thead th')?.textContent === 'Station');
    await page.click('header .lang');
    await page.click('[data-testid=logout]');
    await page.waitForSelector('[data-testid=login]');
  } else if (phase === 'desk') {
    await login('desk', args.password);
    await page.waitForSelector('[data-testid=inbox]');
    seen.who = (await page.locator('[data-testid=who]').textContent()).replace(/\s+/g, ' ').trim();
    const item = page.locator(`[data-testid="request-${args.request}"]`);
    await item.click();
    await page.waitForSelector('[data-testid=timeline]');
    seen.applicant = await page.locator('[data-testid=applicant]').textContent();
    seen.timeline = (await page.locator('[data-testid=timeline]').textContent()).replace(/\s+/g, ' ').trim();
    await page.screenshot({ path: join(out, 'console-desk.png'), fullPage: true });
    await page.click('[data-testid=move-submitted]');
    const said = await page.locator('[data-testid=outcome]').textContent();
    check(said.includes('已提交'), `the move's outcome: ${said}`);
    seen.outcome = said;
    // Refusing needs a reason.
    await page.click('[data-testid=move-rejected]');
    check((await page.locator('[data-testid=invalid]').textContent()).includes('理由'), 'a refusal needs a reason');
    // A desk account is refused the supervisor's API, and shown no dashboard.
    check((await page.locator('[data-testid=dashboard]').count()) === 0, 'no dashboard for a desk');
    const token = JSON.parse(await page.evaluate(() => sessionStorage.getItem('beibao.console.session'))).token;
    seen.supervisor_status = await page.evaluate(async (t) => {
      const r = await fetch('/api/v1/supervisor/report?period=2026-11', { headers: { authorization: `Bearer ${t}` } });
      return `${r.status} ${(await r.json()).code}`;
    }, token);
    await page.screenshot({ path: join(out, 'console-desk-moved.png'), fullPage: true });
    // A resident phones in: the household found by a fragment of its address, the service and
    // the applicant picked, handed to the village's officer; the call is listed as waiting.
    await page.click('[data-testid=tab-phone]');
    await page.fill('[data-testid=household-query]', args.address);
    await page.click('[data-testid=household-search]');
    await page.locator('[data-testid=household-hit]').first().click();
    await page.selectOption('[data-testid=phone-service]', args.service);
    await page.selectOption('[data-testid=phone-applicant]', { index: 1 });
    await page.fill('[data-testid=phone-note]', '下午三点后在家，户口簿已备好');
    await page.screenshot({ path: join(out, 'console-phone-form.png'), fullPage: true });
    await page.click('[data-testid=phone-submit]');
    seen.phoned = await page.locator('[data-testid=phone-done]').textContent();
    await page.waitForSelector('[data-testid=phone-call]');
    seen.calls = (await page.locator('[data-testid=phone-calls]').textContent()).replace(/\s+/g, ' ').trim();
    await page.screenshot({ path: join(out, 'console-phone.png'), fullPage: true });
  } else if (phase === 'expired') {
    // A session that ends while the page is open (the test moves the server's clock past the
    // shift when told READY) comes back to the login, saying why.
    await login('chief', args.password);
    await page.waitForSelector('[data-testid=report] tbody tr');
    console.log('READY');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.pause();
    await page.click('.period button:first-child');
    const notice = await page.locator('[data-testid=notice]').textContent();
    check(notice.includes('登录已过期'), `the login says the session expired: ${notice}`);
    seen.notice = notice;
    await page.screenshot({ path: join(out, 'console-expired.png'), fullPage: true });
  } else if (phase === 'admin') {
    // The administrator issues a code (the test enrolls a tablet with it and answers with the
    // device id), then revokes that device.
    await login('root', args.password);
    await page.waitForSelector('[data-testid=devices]');
    await page.click('[data-testid=tab-code]');
    await page.waitForSelector(`#officer option[value="${args.officer}"]`, { state: 'attached' });
    await page.selectOption('#officer', args.officer);
    await page.click('[data-testid=issue]');
    const code = (await page.locator('[data-testid=code]').textContent()).trim();
    check(await page.locator('[data-testid=qr]').evaluate((img) => img.complete && img.naturalWidth > 100), 'the QR image');
    await page.screenshot({ path: join(out, 'console-admin-code.png'), fullPage: true });
    console.log(`CODE ${code}`);
    const device = await new Promise((resolve) => process.stdin.once('data', (d) => resolve(String(d).trim())));
    await page.click('[data-testid=tab-devices]');
    await page.waitForSelector(`[data-testid="device-${device}"]`);
    await page.click(`[data-testid="device-${device}"] [data-testid=revoke]`);
    await page.click(`[data-testid="device-${device}"] [data-testid=confirm-revoke]`);
    await page.waitForSelector('[data-testid=admin-done]');
    // The list is read again after the answer: wait for the row to show the revocation.
    await page.waitForSelector(`tr.revoked[data-testid="device-${device}"]`);
    seen.row = (await page.locator(`[data-testid="device-${device}"]`).textContent()).replace(/\s+/g, ' ').trim();
    await page.screenshot({ path: join(out, 'console-admin-devices.png'), fullPage: true });
    // A village given to the officer while serving, then taken back.
    await page.click('[data-testid=tab-assign]');
    await page.selectOption('[data-testid=assign-officer]', args.officer);
    await page.waitForSelector('[data-testid=assigned]');
    await page.selectOption('[data-testid=assign-village]', args.village);
    await page.click('[data-testid=assign]');
    await page.waitForSelector(`[data-testid=assigned-village][data-code="${args.village}"]`);
    seen.assigned = await page.locator('[data-testid=admin-done]').textContent();
    await page.screenshot({ path: join(out, 'console-admin-assign.png'), fullPage: true });
    console.log('ASSIGNED');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    await page.click(`[data-testid=assigned-village][data-code="${args.village}"] [data-testid=unassign]`);
    await page.click(`[data-testid=assigned-village][data-code="${args.village}"] [data-testid=confirm-unassign]`);
    await page.waitForFunction((code) => !document.querySelector(`[data-testid=assigned-village][data-code="${code}"]`), args.village);
    seen.unassigned = await page.locator('[data-testid=admin-done]').textContent();
    process.stdin.pause();
    // A new catalog version published from a file.
    await page.click('[data-testid=tab-catalog]');
    await page.waitForSelector('[data-testid=catalogs] tbody tr');
    await page.setInputFiles('[data-testid=catalog-file]', args.catalog);
    seen.published = await page.locator('[data-testid=admin-done]').textContent();
    await page.screenshot({ path: join(out, 'console-admin-catalog.png'), fullPage: true });
    // The month's visits unmasked: refused without a reason, then given one.
    await page.click('[data-testid=tab-exports]');
    await page.fill('[data-testid=export-month]', '2026-11');
    await page.check('[data-testid=detail-unmasked]');
    await page.click('[data-testid=detail-csv]');
    seen.no_reason = await page.locator('[data-testid=detail-error]').textContent();
    await page.fill('[data-testid=detail-reason]', args.reason);
    const [detail] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=detail-csv]')]);
    seen.detail_csv = join(out, detail.suggestedFilename());
    await detail.saveAs(seen.detail_csv);
    await page.waitForSelector('[data-testid=detail-done]');
    await page.screenshot({ path: join(out, 'console-admin-exports.png'), fullPage: true });
  } else if (phase === 'tour') {
    // `make demo`: the pages as the demo accounts see them, for the README and the reader.
    await login(args.supervisor, args.password);
    await page.waitForSelector('[data-testid=report] tbody tr');
    await page.screenshot({ path: join(out, 'console-dashboard.png'), fullPage: true });
    await page.waitForSelector('[data-testid=coverage] path');
    await page.locator('[data-testid=coverage]').screenshot({ path: join(out, 'console-coverage.png') });
    await page.click(`[data-testid="row-${args.station}"] button.drill`);
    await page.waitForFunction(() => document.querySelector('[data-testid=report] thead th')?.textContent?.includes('镇街'));
    await page.locator('[data-testid=report] tbody tr button.drill').first().click();
    await page.waitForFunction(() => document.querySelector('[data-testid=report] thead th')?.textContent?.includes('村'));
    await page.screenshot({ path: join(out, 'console-villages.png'), fullPage: true });
    await page.click('[data-testid=logout]');
    await login(args.desk, args.password);
    await page.waitForSelector('[data-testid=inbox]');
    const first = page.locator('[data-testid=inbox] button.item').first();
    if (await first.count()) {
      await first.click();
      await page.waitForSelector('[data-testid=timeline]');
    }
    await page.screenshot({ path: join(out, 'console-desk.png'), fullPage: true });
    seen.shots = ['console-dashboard.png', 'console-coverage.png', 'console-villages.png', 'console-desk.png'];
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
  check(outside.length === 0, `requests outside the server: ${outside.join(', ')}`);
  console.log(JSON.stringify(seen));
} catch (e) {
  await page.screenshot({ path: join(out, `console-${phase}-failure.png`), fullPage: true }).catch(() => undefined);
  console.error(String(e?.stack ?? e));
  process.exitCode = 1;
} finally {
  await browser.close();
}
