// What every e2e test file shares: the demo's URL and the system's Chromium, launched
// headless with the flags this machine needs.
import { chromium } from 'playwright-core';

export const url = process.env.DEMO_URL ?? 'http://127.0.0.1:8080';

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
