// The gateway, through the client generated from its published spec (openapi/gateway.json):
// every path, parameter and body below is checked by tsc against that spec.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/gateway";

export type Problem = components["schemas"]["Problem"];
export type RiskAssessment = components["schemas"]["RiskAssessment"];
export type PurchaseRequest = components["schemas"]["PurchaseRequest"];
export type Receipt = components["schemas"]["Receipt"];
export type Payment = components["schemas"]["Payment"];
export type Policy = components["schemas"]["Policy"];
export type Invoice = components["schemas"]["Invoice"];

/** The key of the gateway's public "web" client, which the gateway writes into the page. */
function apiKey(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="nfip-api-key"]')?.content ?? "";
}

export const api = createClient<paths>({
  baseUrl: window.location.origin,
  headers: { "x-api-key": apiKey() },
});

/** An answer: the typed body of a success, or the problem (none at all if the network failed). */
export type Outcome<T> =
  | { ok: true; data: T }
  | { ok: false; problem: Problem; response: Response | undefined };

/** Sends a request and sorts its answer; a network failure is a problem without a response. */
export async function send<T>(
  request: () => Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<Outcome<T>> {
  let answer;
  try {
    answer = await request();
  } catch {
    const problem = { type: "about:blank", title: "No answer", status: 0 };
    return { ok: false, problem, response: undefined };
  }
  const { data, error, response } = answer;
  if (response.ok && data !== undefined) {
    return { ok: true, data };
  }
  const problem = isProblem(error)
    ? error
    : { type: "about:blank", title: response.statusText || "Error", status: response.status };
  return { ok: false, problem, response };
}

function isProblem(body: unknown): body is Problem {
  return typeof body === "object" && body !== null && "status" in body && "type" in body;
}

/** Whether trying the same request again (with the same idempotency key) may succeed. */
export function isTransient(outcome: { problem: Problem; response: Response | undefined }): boolean {
  const status = outcome.response?.status ?? 0;
  return status === 0 || status === 409 || status === 429 || status >= 500;
}

/** What to tell the citizen about a failure worth retrying, or null if it is not one. */
export function retryMessage(outcome: { problem: Problem; response: Response | undefined }): string | null {
  const { problem, response } = outcome;
  const safe = "Trying again is safe: nothing is bought or charged twice.";
  const service = problem.upstream ? `The ${problem.upstream} service` : "The service";
  switch (response?.status ?? 0) {
    case 0:
      return `The connection failed before an answer came back. ${safe}`;
    case 409:
      return `The same request is still being processed. Try again in a moment. ${safe}`;
    case 429: {
      const seconds = response?.headers.get("retry-after") ?? "a few";
      return `Too many requests are coming from this page right now. Try again in ${seconds} seconds.`;
    }
    case 503:
      return `${service} is unavailable right now. Try again in a moment. ${safe}`;
    case 504:
      return `${service} did not answer in time. Try again in a moment. ${safe}`;
    default:
      if ((response?.status ?? 0) >= 500) {
        const id = problem.request_id ? ` (reference ${problem.request_id})` : "";
        return `Something went wrong on our side${id}. Try again later. ${safe}`;
      }
      return null;
  }
}

/** A problem's detail, for a person: without the backticks that mark values in the API's text. */
export function plain(text: string | undefined | null): string {
  return (text ?? "").replaceAll("`", "");
}
