// Smoke test of the generated TypeScript types with openapi-fetch: buy a policy through the
// gateway, read it back. Type-checked by tsc in `just clients`; run by `just clients-smoke`
// against a fresh stack (NFIP_GATEWAY_URL, NFIP_API_KEY).
import createClient from "openapi-fetch";
import type { paths } from "./gateway.js";

const baseUrl = process.env.NFIP_GATEWAY_URL ?? "http://127.0.0.1:8080";
const client = createClient<paths>({
  baseUrl,
  headers: { "x-api-key": process.env.NFIP_API_KEY ?? "" },
});

const bought = await client.POST("/purchase", {
  params: { header: { "Idempotency-Key": `ts-${crypto.randomUUID()}` } },
  body: {
    zipcode: "70112",
    base_rate: 950.5,
    user: "TypeScript Smoke",
    contact: { phone: "+15555550123" },
  },
});
if (!bought.data) {
  throw new Error(`purchase failed: ${bought.response.status} ${JSON.stringify(bought.error)}`);
}
const receipt = bought.data;

const read = await client.GET("/policies/{id}", { params: { path: { id: receipt.policy_id } } });
if (read.data?.status !== "active" || read.data.holder !== "TypeScript Smoke") {
  throw new Error(`reading the policy back failed: ${read.response.status} ${JSON.stringify(read.error)}`);
}

const anonymous = createClient<paths>({ baseUrl });
const refused = await anonymous.GET("/risk/{zipcode}", { params: { path: { zipcode: "33139" } } });
if (refused.response.status !== 401 || refused.error?.type !== "urn:nfip:problem:unauthorized") {
  throw new Error(`an unauthenticated call was not refused: ${refused.response.status}`);
}

console.log(
  `typescript client: bought policy ${receipt.policy_id} for $${receipt.amount}, read it back (${read.data.status})`,
);
