// What every browser test starts from: Debian's Chromium, headless, with nothing reaching out to
// the network on its own (this machine's network is closed), and the folder for screenshots.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

export const shots = new URL("../../target/browser/", import.meta.url).pathname;
mkdirSync(shots, { recursive: true });

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
