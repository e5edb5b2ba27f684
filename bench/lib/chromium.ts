/**
 * Headless Chromium with WebGPU (Debian's /usr/bin/chromium, SwiftShader without a GPU) via
 * puppeteer-core 24. `CHROMIUM` overrides the binary; `OSSIFY_CHROMIUM_ADAPTER` the
 * --use-webgpu-adapter value (default swiftshader; 'default' leaves the flag out, for a real GPU).
 * `webgpu: false` launches without the WebGPU flags (the web page's test of its no-WebGPU message).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(
  opts: { unsafeTimestamps?: boolean; webgpu?: boolean } = {},
): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const puppeteer = (await import('puppeteer-core')).default;
  const dir = mkdtempSync(join(tmpdir(), 'ossify-chromium-'));
  const adapter = process.env.OSSIFY_CHROMIUM_ADAPTER ?? 'swiftshader';
  const webgpu =
    opts.webgpu === false
      ? []
      : [
          '--enable-unsafe-webgpu',
          '--enable-features=Vulkan',
          ...(adapter === 'default' ? [] : [`--use-webgpu-adapter=${adapter}`]),
        ];
  const args = [
    ...webgpu,
    '--no-sandbox',
    '--disable-gpu-sandbox',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${dir}`,
    // Software adapters run single dispatches for seconds: keep the GPU watchdog from killing them.
    '--disable-gpu-watchdog',
    '--disable-renderer-backgrounding',
    '--disable-background-timer-throttling',
    // Unquantized timestamp queries (Chrome otherwise rounds them to ~65 us).
    ...(opts.unsafeTimestamps ? ['--enable-dawn-features=allow_unsafe_apis'] : []),
  ];
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args,
    protocolTimeout: 3_600_000,
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
