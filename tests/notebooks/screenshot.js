// Open a notebook in JupyterLab (headless Debian Chromium), run all its cells,
// wait for the theseus-nb dashboard to show live tasks, and save a screenshot.
// usage: node screenshot.js URL OUT.png   (PLAYWRIGHT_DIR: where playwright-core is installed)
const path = require('path');
const { chromium } = require(path.join(process.env.PLAYWRIGHT_DIR, 'node_modules', 'playwright-core'));

const [url, out] = process.argv.slice(2);

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    // No sandbox as root; no background networking: this machine has no network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1050 } });
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60000 });
    await page.waitForSelector('.jp-NotebookPanel .jp-Cell', { timeout: 60000 });
    await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', { timeout: 60000 });
    // Run > Run All Cells. The command does nothing until the kernel is connected,
    // so repeat it until the first cell shows it has run ([*] or [1]).
    for (let attempt = 0; ; attempt++) {
      await page.click('.lm-MenuBar-item:has-text("Run")');
      await page.click('.lm-Menu-item:has-text("Run All Cells")');
      const started = await page.waitForFunction(
        () => /\[(\*|\d+)\]/.test(document.querySelector('.jp-InputPrompt')?.textContent || ''),
        null, { timeout: 10000 }).then(() => true, () => false);
      if (started) break;
      if (attempt === 5) throw new Error('the notebook never started running');
      await page.keyboard.press('Escape');
    }
    // The dashboard is the last output; wait until its task table lists the demo tasks.
    const board = page.locator('.jp-OutputArea-output > .widget-vbox:has-text("section graph")').first();
    try {
      await board.waitFor({ timeout: 90000 });
    } catch (err) {
      // Leave evidence: what the page showed (a failed cell's traceback is in its text).
      await page.screenshot({ path: out + '.failed.png' });
      console.error((await page.locator('.jp-Notebook').innerText()).slice(-4000));
      throw err;
    }
    await page.waitForFunction(() => document.body.innerText.includes('tickloop::run')
                                      && document.body.innerText.includes('faulted'),
                               null, { timeout: 60000 });
    await page.waitForTimeout(2500);  // one more refresh, and the graph's SVG laid out
    // Dismiss JupyterLab's "get notified about news?" toast if it shows.
    await page.locator('.jp-toast-button:has-text("No"), button:has-text("No")').first()
      .click({ timeout: 2000 }).catch(() => {});
    await board.scrollIntoViewIfNeeded();
    // Collapse the left sidebar so the notebook gets the width.
    await page.keyboard.press('Control+b').catch(() => {});
    await page.waitForTimeout(800);
    await board.screenshot({ path: out });
    console.log('saved ' + out);
  } finally {
    await browser.close();
  }
})().catch((err) => { console.error(err); process.exit(1); });
