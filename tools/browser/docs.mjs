// Swagger UI in a real browser: headless Chromium (Debian's) driven by playwright-core opens
// /docs of the gateway and of every service, checks that every operation of the process's
// spec is listed, that the gateway's page offers every service's spec, and runs "Try it out"
// on the risk lookup after "Authorize" with the gateway's development key for the services
// (NFIP_SERVICE_TOKEN), expecting a 200 with a score; then, from the gateway's page, "Try it
// out" on one operation of each service against the service itself (another origin, allowed by
// CORS in development). Run by `just browser-test` on a fresh stack.
import { launch, shots } from "./chromium.mjs";

const processes = [
  { name: "gateway", port: 8080 },
  { name: "risk", port: 8081 },
  { name: "policy", port: 8082 },
  { name: "billing", port: 8083 },
  { name: "notification", port: 8084 },
];
const browser = await launch();

let failed = false;
function fail(message) {
  console.error(`FAIL ${message}`);
  failed = true;
}

async function checkOperations(page, name, base) {
  const spec = await (await fetch(`${base}/openapi.json`)).json();
  const expected = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of Object.keys(item)) {
      expected.push({ method, path });
    }
  }
  await page.goto(`${base}/docs/`);
  await page.waitForSelector(".opblock", { timeout: 15000 });
  const listed = await page.locator(".opblock").count();
  if (listed !== expected.length) {
    fail(`${name}: /docs lists ${listed} operations, the spec has ${expected.length}`);
  }
  for (const { method, path } of expected) {
    const block = page.locator(`.opblock-${method} [data-path="${path}"]`);
    if ((await block.count()) === 0) {
      fail(`${name}: /docs does not list ${method.toUpperCase()} ${path}`);
    }
  }
  console.log(`${name}: /docs lists its ${expected.length} operations`);
}

for (const { name, port } of processes) {
  const page = await browser.newPage();
  const base = `http://127.0.0.1:${port}`;
  try {
    await checkOperations(page, name, base);
    if (name === "gateway") {
      const options = await page.locator(".download-url-wrapper select option").allTextContents();
      for (const service of ["risk", "policy", "billing", "notification"]) {
        if (!options.includes(service)) {
          fail(`gateway: the spec selector offers ${JSON.stringify(options)}, not ${service}`);
        }
      }
      console.log(`gateway: /docs offers the specs ${options.join(", ")}`);
    }
    if (name === "risk") {
      await page.locator(".auth-wrapper button.authorize").click();
      const dialog = page.locator(".modal-ux");
      await dialog.locator("input").first().fill(process.env.NFIP_SERVICE_TOKEN);
      await dialog.locator("button.authorize").click();
      await dialog.locator("button.btn-done").click();
      const operation = page.locator("#operations-risk-get_risk");
      await operation.locator(".opblock-summary").click();
      await operation.locator("button.try-out__btn").click();
      await operation.locator('input[placeholder="zipcode"]').fill("33139");
      await operation.locator("button.execute").click();
      const status = operation.locator(".live-responses-table tbody .response-col_status").first();
      await status.waitFor({ timeout: 15000 });
      const code = (await status.textContent()).trim();
      const body = await operation.locator(".live-responses-table tbody .response-col_description").first().textContent();
      await page.screenshot({ path: `${shots}risk-try-it-out.png`, fullPage: true });
      if (code !== "200" || !body.includes("risk_score")) {
        fail(`risk: Try it out answered ${code}: ${body.slice(0, 200)}`);
      } else {
        console.log(`risk: Try it out on GET /api/risk/33139 answered ${code} with a risk_score`);
      }
    }
  } catch (error) {
    await page.screenshot({ path: `${shots}${name}-failure.png`, fullPage: true }).catch(() => {});
    fail(`${name}: ${error.message}`);
  } finally {
    await page.close();
  }
}

// From the gateway's /docs, each service's spec tried against the service itself (another
// origin: the services allow the gateway's in development, CORS_ALLOWED_ORIGINS).
const tries = [
  { name: "risk", port: 8081, tag: "risk", operation: "get_risk", param: "zipcode", value: "33139", expect: "200" },
  { name: "policy", port: 8082, tag: "policies", operation: "get_policy", param: "id", value: "0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11", expect: "404" },
  { name: "billing", port: 8083, tag: "invoices", operation: "get_invoice", param: "id", value: "0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11", expect: "404" },
  { name: "notification", port: 8084, tag: "notifications", operation: "get_notification", param: "id", value: "0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11", expect: "404" },
];
for (const { name, port, tag, operation: id, param, value, expect } of tries) {
  const page = await browser.newPage();
  try {
    await page.goto("http://127.0.0.1:8080/docs/");
    await page.locator(".download-url-wrapper select").selectOption({ label: name });
    const operation = page.locator(`#operations-${tag}-${id}`);
    await operation.waitFor({ timeout: 15000 });
    await page.locator(".servers select").selectOption(`http://127.0.0.1:${port}`);
    await page.locator(".auth-wrapper button.authorize").click();
    const dialog = page.locator(".modal-ux");
    await dialog.locator("input").first().fill(process.env.NFIP_SERVICE_TOKEN);
    await dialog.locator("button.authorize").click();
    await dialog.locator("button.btn-done").click();
    await operation.locator(".opblock-summary").click();
    await operation.locator("button.try-out__btn").click();
    await operation.locator(`input[placeholder="${param}"]`).fill(value);
    await operation.locator("button.execute").click();
    const status = operation.locator(".live-responses-table tbody .response-col_status").first();
    await status.waitFor({ timeout: 15000 });
    const code = (await status.textContent()).trim();
    if (code !== expect) {
      const body = await operation.locator(".live-responses-table tbody .response-col_description").first().textContent();
      await page.screenshot({ path: `${shots}gateway-docs-${name}.png`, fullPage: true });
      fail(`gateway /docs → ${name}: Try it out answered ${code}, expected ${expect}: ${body.slice(0, 200)}`);
    } else {
      console.log(`gateway /docs → ${name}: Try it out on ${id} at :${port} answered ${code}`);
    }
  } catch (error) {
    await page.screenshot({ path: `${shots}gateway-docs-${name}-failure.png`, fullPage: true }).catch(() => {});
    fail(`gateway /docs → ${name}: ${error.message}`);
  } finally {
    await page.close();
  }
}

await browser.close();
if (failed) {
  console.error(`screenshots in ${shots}`);
  process.exit(1);
}
