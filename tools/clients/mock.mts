// The generated TypeScript types with openapi-fetch, contract-tested in their own language
// against the gateway's validating mock (`contract-tests mock gateway`, scripted by
// tools/contract/gateway-answers.json): purchase, read, pay, and a declared error. The mock
// checks every request against openapi/gateway.json; tools/contract/any_language.py reads its
// report. NFIP_GATEWAY_URL is the mock's.
import createClient from "openapi-fetch";
import type { paths } from "./gateway.js";

const client = createClient<paths>({
  baseUrl: process.env.NFIP_GATEWAY_URL,
  headers: { "x-api-key": "any-key-the-mock-accepts" },
});

const bought = await client.POST("/purchase", {
  params: { header: { "Idempotency-Key": "ts-mock-1" } },
  body: { zipcode: "33139", base_rate: 1200, user: "TypeScript Mock", contact: { email: "ts@example.org" } },
});
if (bought.response.status !== 201 || !bought.data) throw new Error(`purchase: ${bought.response.status}`);

const read = await client.GET("/policies/{id}", { params: { path: { id: bought.data.policy_id } } });
if (read.data?.status !== "active") throw new Error(`read: ${read.response.status}`);

const paid = await client.POST("/invoices/{id}/payments", {
  params: { path: { id: bought.data.invoice_id }, header: { "Idempotency-Key": "ts-mock-2" } },
  body: { card_number: "4242424242424242" },
});
if (paid.response.status !== 201 || paid.data?.card_last4 === undefined) throw new Error(`pay: ${paid.response.status}`);

const missing = await client.GET("/policies/{id}", {
  params: { path: { id: "00000000-0000-4000-8000-000000000404" } },
});
if (missing.response.status !== 404 || missing.error?.type !== "urn:nfip:problem:not-found") {
  throw new Error(`a declared 404: ${missing.response.status}`);
}

console.log("typescript client against the gateway mock: purchase, read, pay and a 404 as declared");
