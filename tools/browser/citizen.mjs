// The citizen's journey on the gateway's page, in headless Chromium (Debian's) driven by
// playwright-core, against a fresh stack (`just browser-test`): a ZIP code that is none, the risk
// of a real one, a purchase whose answer the network loses (the retry gets the same policy), a
// field error from the API, a declined and an approved card, the status by id (and another
// client's policy not found), and the retry messages for 429 and 503. axe-core checks each state
// for serious or critical violations; the keyboard alone drives the first steps. Screenshots go
// to target/browser/citizen-*.png.
import { launch, shots } from "./chromium.mjs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const axe = require.resolve("axe-core/axe.min.js");
const base = process.env.NFIP_GATEWAY_URL ?? "http://127.0.0.1:8080";
const browser = await launch();

let failed = false;
function check(condition, message) {
  if (condition) {
    console.log(`ok   ${message}`);
  } else {
    console.error(`FAIL ${message}`);
    failed = true;
  }
}

const text = (page, selector) => page.locator(selector).innerText();
const shot = (page, name) => page.screenshot({ path: `${shots}citizen-${name}.png`, fullPage: true });

async function accessible(page, state) {
  await page.addScriptTag({ path: axe });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  check(violations.length === 0, `axe: no serious or critical violation ${state}${violations.length ? `: ${violations.join("; ")}` : ""}`);
}

// The page as served, under its own content security policy: it must run without a violation.
{
  const page = await browser.newPage();
  const refused = [];
  page.on("console", (m) => m.text().includes("Content Security Policy") && refused.push(m.text()));
  page.on("pageerror", (e) => refused.push(e.message));
  const response = await page.goto(`${base}/`);
  check(response.status() === 200, "GET / answers the page");
  check((response.headers()["content-security-policy"] ?? "").startsWith("default-src 'self'"), "the page is served with a content security policy");
  await page.locator("#zipcode").fill("33139");
  await page.locator("#risk-form button").click();
  await page.locator("#risk h3").waitFor();
  check(refused.length === 0, `the page runs under its policy${refused.length ? `: ${refused.join("; ")}` : ""}`);
  await page.close();
}

// The journey, with the policy bypassed only so that axe-core can be injected.
const context = await browser.newContext({ bypassCSP: true });
const page = await context.newPage();
page.on("pageerror", (e) => check(false, `no script error: ${e.message}`));
await page.goto(`${base}/`);
await accessible(page, "on arrival");

// 1. Keyboard only: Tab reaches the ZIP code with a visible focus; Enter submits.
await page.keyboard.press("Tab");
const focus = await page.evaluate(() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return { id: el.id, outline: style.outlineStyle, width: style.outlineWidth };
});
check(focus.id === "zipcode" && focus.outline !== "none" && focus.width !== "0px", `Tab focuses the ZIP code, visibly (${JSON.stringify(focus)})`);
await page.keyboard.type("00000");
await page.keyboard.press("Enter");
await page.locator("#zipcode-error").waitFor();
check((await text(page, "#zipcode-error")).includes("00000 is not a U.S. ZIP code in use"), "a ZIP code that is none is an error at its field");
check((await page.locator("#zipcode").getAttribute("aria-invalid")) === "true", "the field is marked invalid");
await shot(page, "1-unknown-zip");
await accessible(page, "with a field error");

await page.locator("#zipcode").fill("20740");
await page.keyboard.press("Enter");
await page.locator("#risk h3").waitFor();
const risk = await text(page, "#risk");
check(risk.includes("ZIP code 20740") && risk.includes("Flood zone") && risk.includes("illustrative model"), "the risk of 20740: zone, score, factors, and that a model rated it");
check(await page.locator("#zipcode-error").isHidden(), "the earlier error is gone");
await shot(page, "2-risk");

// 2. A purchase. The API's field errors land at their fields.
await page.locator("#base_rate").fill("1200");
await page.locator("#buy-form button").click();
await page.locator("#user-error").waitFor();
check((await text(page, "#user-error")).length > 0, `an empty name is the API's error at the name field: "${await text(page, "#user-error")}"`);

// The network loses the answer to the first purchase; the retry, with the same key, gets it.
await page.locator("#user").fill("Ada Lovelace");
await page.locator("#email").fill("ada@example.org");
let lost = null;
await page.route(
  "**/purchase",
  async (route) => {
    const response = await route.fetch();
    lost = await response.json();
    await route.abort("connectionreset");
  },
  { times: 1 },
);
await page.locator("#buy-form button").click();
await page.locator("#receipt .retry").waitFor();
check((await text(page, "#receipt")).includes("Trying again is safe"), "a lost answer asks for a retry, which is safe");
await page.locator("#buy-form button").click();
await page.locator("#receipt h3").waitFor();
const receipt = await text(page, "#receipt");
check(lost && receipt.includes(lost.policy_id), `the retry answers the same purchase (policy ${lost?.policy_id}), not a second one`);
check(receipt.includes("$229.68") && receipt.includes(lost?.invoice_id), "the receipt shows the invoice and the premium in dollars");
await shot(page, "3-receipt");
await accessible(page, "with the receipt");

// 3. Payment: a declined card, then an approved one.
await page.locator("#card_number").fill("4000 0000 0000 0002");
await page.locator("#pay-form button").click();
await page.locator("#card_number-error").waitFor();
check((await text(page, "#card_number-error")).includes("declined"), `a declined card says so: "${await text(page, "#card_number-error")}"`);
await shot(page, "4-declined");
await page.locator("#card_number").fill("4242424242424242");
await page.locator("#pay-form button").click();
await page.locator("#payment .ok").waitFor();
check((await text(page, "#payment")).includes("Payment approved: $229.68"), "an approved card is charged the premium");
await shot(page, "5-paid");

// 4. The status of both, by id.
await page.locator("#status-form button").click();
await page.locator("#status dl").waitFor();
const status = await text(page, "#status");
check(status.includes("active") && status.includes("paid"), "the policy is active and the invoice paid");
await shot(page, "6-status");

// Another client's policy is no more visible through the page than a missing one.
const other = await fetch(`${base}/purchase`, {
  method: "POST",
  headers: { "content-type": "application/json", "x-api-key": process.env.NFIP_OTHER_API_KEY ?? "" },
  body: JSON.stringify({ zipcode: "33139", base_rate: 1200, user: "Someone Else" }),
});
const theirs = await other.json();
check(other.status === 201, `another client buys a policy (${other.status})`);
await page.locator("#policy_id").fill(theirs.policy_id ?? "");
await page.locator("#invoice_id").fill("");
await page.locator("#status-form button").click();
await page.locator("#policy_id-error").waitFor();
check((await text(page, "#policy_id-error")) === "No policy has this id.", "another client's policy is not found through the page");
await accessible(page, "at the end of the journey");

// Retry messages for a busy or missing service.
await page.route("**/risk/*", (route) =>
  route.fulfill({
    status: 503,
    contentType: "application/problem+json",
    body: JSON.stringify({ type: "urn:nfip:problem:upstream-unavailable", title: "Unavailable", status: 503, upstream: "risk" }),
  }),
  { times: 1 },
);
await page.locator("#zipcode").fill("33139");
await page.locator("#risk-form button").click();
await page.locator("#risk .retry").waitFor();
check((await text(page, "#risk")).includes("The risk service is unavailable right now"), "a 503 says which service is away, and to retry");
await page.route("**/risk/*", (route) =>
  route.fulfill({
    status: 429,
    headers: { "retry-after": "3" },
    contentType: "application/problem+json",
    body: JSON.stringify({ type: "urn:nfip:problem:too-many-requests", title: "Too many requests", status: 429 }),
  }),
  { times: 1 },
);
await page.locator("#risk-form button").click();
await page.locator("#risk .retry", { hasText: "seconds" }).waitFor();
check((await text(page, "#risk")).includes("Try again in 3 seconds"), "a 429 says when to retry");
await shot(page, "7-retry");

await browser.close();
if (failed) {
  console.error("citizen's page: FAILED");
  process.exit(1);
}
console.log("citizen's page: the whole journey works, accessibly");
