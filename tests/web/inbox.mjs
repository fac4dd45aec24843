// Drives Debian's chromium through playwright-core against a running openum:
// signs in as a subscriber, reads the inbox, plays the first message to its
// end, deletes it, signs out; then enters wrong PINs for another mailbox until
// it locks and tries the right one. Prints what it saw as one JSON object.
//
// usage: node inbox.mjs BASE_URL OUT_DIR MAILBOX PIN LOCK_MAILBOX LOCK_PIN
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [base, out, mailbox, pin, lockBox, lockPin] = process.argv.slice(2);
const seen = {};
const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'openum-chromium-')), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--no-first-run', '--disable-sync',
         '--autoplay-policy=no-user-gesture-required'],
});
try {
  const page = await context.newPage();
  await page.goto(base + '/');
  await page.getByLabel('Extension').fill(mailbox);
  await page.getByLabel('PIN').fill(pin);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(base + '/inbox');
  seen.counts_before = await page.locator('#counts').textContent();
  const row = page.locator('li.message').first();
  seen.rows = await page.locator('li.message').count();
  seen.name = await row.locator('.name').textContent();
  seen.number = await row.locator('.number').textContent();
  seen.state = await row.locator('.state').textContent();
  seen.received = await row.locator('dd').first().textContent();
  // Search by number, then by a name no caller has.
  await page.getByLabel('Caller name or number').fill('555 1234');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForLoadState();
  seen.search_hit = await page.locator('#shown').textContent();
  await page.getByLabel('Caller name or number').fill('nobody');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForLoadState();
  seen.search_miss = await page.locator('#shown').textContent();
  await page.goto(base + '/inbox');
  seen.played = await row.locator('audio').evaluate(async (a) => {
    a.muted = true;
    const ended = new Promise((resolve, reject) => {
      a.addEventListener('ended', resolve, { once: true });
      a.addEventListener('error', () => reject(new Error('audio error ' + (a.error && a.error.code))), { once: true });
      setTimeout(() => reject(new Error('not ended within 60 s')), 60000);
    });
    await a.play();
    await ended;
    return { duration: a.duration, src: a.currentSrc, ended: a.ended };
  });
  await page.screenshot({ path: join(out, 'inbox.png'), fullPage: true });
  await row.getByRole('button', { name: 'Delete' }).click();
  await page.waitForURL(base + '/inbox');
  seen.counts_after_delete = await page.locator('#counts').textContent();
  seen.state_after_delete = await page.locator('li.message').first().locator('.state').textContent();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(base + '/');
  const after = await context.request.get(base + '/inbox', { maxRedirects: 0 });
  seen.inbox_after_sign_out = after.status();

  // Wrong PINs until the policy locks the mailbox, then the right one.
  seen.lock = [];
  for (let i = 0; i < 6; i++) {
    await page.goto(base + '/');
    await page.getByLabel('Extension').fill(lockBox);
    await page.getByLabel('PIN').fill(i < 5 ? '000000' : lockPin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState();
    seen.lock.push({ url: page.url(), alert: await page.getByRole('alert').textContent() });
  }
  // French labels when the browser asks for French.
  const fr = await context.newPage();
  await fr.setExtraHTTPHeaders({ 'Accept-Language': 'fr-FR,fr;q=0.9' });
  await fr.goto(base + '/');
  seen.french = {
    extension: await fr.getByLabel('Poste').count(),
    pin: await fr.getByLabel('Code PIN').count(),
    button: await fr.getByRole('button', { name: 'Se connecter' }).count(),
  };
} catch (e) {
  seen.error = String(e && e.stack || e);
} finally {
  await context.close();
}
console.log(JSON.stringify(seen));
