// The citizen's journey: the risk of a ZIP code, a purchase, its payment, and the status of both.
// Every request goes through the generated client (api.ts); every answer is shown where it
// belongs: a problem's `errors[].pointer` at its field, a retry message in the section's result.
import "./style.css";
import {
  type Invoice,
  type Outcome,
  type Policy,
  type Problem,
  type PurchaseRequest,
  type Receipt,
  type RiskAssessment,
  api,
  isTransient,
  plain,
  retryMessage,
  send,
} from "./api";

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}
const input = (id: string) => element<HTMLInputElement>(id);

/** Builds an element from a tag, text and children: never HTML from the API. */
function h(tag: string, text?: string | null, ...children: Node[]): HTMLElement {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  node.append(...children);
  return node;
}

function terms(rows: [string, string][]): HTMLElement {
  const list = h("dl");
  for (const [term, value] of rows) list.append(h("dt", term), h("dd", value));
  return list;
}

function show(regionId: string, ...nodes: Node[]): void {
  element(regionId).replaceChildren(...nodes);
}

function say(regionId: string, message: string, kind: "ok" | "bad" | "retry"): void {
  const paragraph = h("p", message);
  paragraph.className = `message ${kind}`;
  show(regionId, paragraph);
}

/** Shows (or clears) a field's error, and marks the field invalid for assistive technology. */
function fieldError(id: string, message: string | null): void {
  const field = input(id);
  const error = element(`${id}-error`);
  error.textContent = message ?? "";
  error.hidden = message === null;
  if (message === null) field.removeAttribute("aria-invalid");
  else field.setAttribute("aria-invalid", "true");
}

function clearErrors(form: HTMLFormElement): void {
  for (const field of form.querySelectorAll("input")) fieldError(field.id, null);
}

/** Where a problem's `errors[].pointer` is shown (JSON pointers into bodies, or parameter names). */
const FIELDS: Record<string, string> = {
  "/zipcode": "zipcode",
  zipcode: "zipcode",
  "/base_rate": "base_rate",
  "/user": "user",
  "/contact": "email",
  "/contact/email": "email",
  "/card_number": "card_number",
};

type Failure = Extract<Outcome<unknown>, { ok: false }>;

/**
 * Shows a failure: a retry message in the region, each field error at its field (the first one
 * focused), and anything else in the region.
 */
function showFailure(outcome: Failure, regionId: string): void {
  const retry = retryMessage(outcome);
  if (retry) {
    say(regionId, retry, "retry");
    return;
  }
  const problem: Problem = outcome.problem;
  let first: string | null = null;
  const unplaced: string[] = [];
  for (const error of problem.errors ?? []) {
    const id = FIELDS[error.pointer];
    if (id && document.getElementById(id)) {
      fieldError(id, plain(error.detail));
      first ??= id;
    } else {
      unplaced.push(plain(error.detail));
    }
  }
  if (first) input(first).focus();
  if (!first || unplaced.length > 0) {
    say(regionId, unplaced.join("; ") || plain(problem.detail) || problem.title, "bad");
  } else {
    show(regionId);
  }
}

function busy(form: HTMLFormElement, on: boolean): void {
  const button = form.querySelector("button");
  if (button) {
    button.disabled = on;
    button.setAttribute("aria-busy", String(on));
  }
}

function dollars(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}

// 1. The risk of a ZIP code.

let zipcode: string | null = null;

const SOURCES: Record<RiskAssessment["source"] | string, string> = {
  table: "from the program's rating table",
  imported: "from the rating table the program imported",
  model: "estimated by an illustrative model (not FEMA's flood maps)",
};

function showRisk(risk: RiskAssessment): void {
  const factors = h("ul");
  for (const factor of risk.factors) {
    factors.append(h("li", `${factor.explanation}: +${factor.contribution.toFixed(4)}`));
  }
  show(
    "risk",
    h("h3", `ZIP code ${risk.zipcode}`),
    terms([
      ["Flood zone", risk.flood_zone],
      ["Risk score", `${risk.risk_score} (0 is lowest, 1 highest)`],
      ["Rated", `${SOURCES[risk.source] ?? risk.source} · ${risk.data_version}`],
    ]),
    h("p", "What the score is made of:"),
    factors,
  );
}

const riskForm = element<HTMLFormElement>("risk-form");
riskForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(riskForm);
  const wanted = input("zipcode").value.trim();
  if (!/^[0-9]{5}$/.test(wanted)) {
    fieldError("zipcode", "Enter the five digits of a U.S. ZIP code.");
    input("zipcode").focus();
    return;
  }
  busy(riskForm, true);
  const outcome = await send(() =>
    api.GET("/risk/{zipcode}", { params: { path: { zipcode: wanted } } }),
  );
  busy(riskForm, false);
  if (outcome.ok) {
    zipcode = wanted;
    purchaseKey = null;
    showRisk(outcome.data);
    element("buy").hidden = false;
  } else if (outcome.response?.status === 404) {
    show("risk");
    fieldError("zipcode", `${wanted} is not a U.S. ZIP code in use. Check it and try again.`);
    input("zipcode").focus();
  } else {
    showFailure(outcome, "risk");
  }
});

// 2. The purchase. One idempotency key per purchase attempt, kept until a definite answer comes
// back, so a double click or a retry after a failure never buys twice.

let purchaseKey: string | null = null;
let invoiceId: string | null = null;

const NOTIFICATION: Record<Receipt["notification"] | string, string> = {
  queued: "accepted for delivery to your e-mail",
  pending: "will be sent to your e-mail shortly",
  not_requested: "none (no e-mail given)",
};

function showReceipt(receipt: Receipt): void {
  show(
    "receipt",
    h("h3", "Your policy is bought"),
    terms([
      ["Policy id", receipt.policy_id],
      ["Invoice id", receipt.invoice_id],
      ["Premium due", `$${receipt.amount} ${receipt.currency === "USD" ? "" : receipt.currency}`.trim()],
      ["Flood zone and risk score", `${receipt.flood_zone}, ${receipt.risk_score}`],
      ["Confirmation", NOTIFICATION[receipt.notification] ?? receipt.notification],
    ]),
  );
}

const buyForm = element<HTMLFormElement>("buy-form");
buyForm.addEventListener("input", () => {
  purchaseKey = null;
});
buyForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(buyForm);
  const rate = input("base_rate").value.trim().replace(/^\$/, "").replaceAll(",", "");
  if (!/^[0-9]+(\.[0-9]{1,2})?$/.test(rate)) {
    fieldError("base_rate", "Enter an amount in dollars, like 1200 or 1200.50.");
    input("base_rate").focus();
    return;
  }
  if (!zipcode) return;
  const order: PurchaseRequest = {
    zipcode,
    base_rate: Number(rate),
    user: input("user").value.trim(),
  };
  const email = input("email").value.trim();
  if (email) order.contact = { email };
  purchaseKey ??= crypto.randomUUID();
  const key = purchaseKey;
  busy(buyForm, true);
  const outcome = await send(() =>
    api.POST("/purchase", { params: { header: { "Idempotency-Key": key } }, body: order }),
  );
  busy(buyForm, false);
  if (outcome.ok) {
    purchaseKey = null;
    invoiceId = outcome.data.invoice_id;
    showReceipt(outcome.data);
    input("policy_id").value = outcome.data.policy_id;
    input("invoice_id").value = outcome.data.invoice_id;
    element("pay").hidden = false;
    show("payment");
    return;
  }
  if (!isTransient(outcome)) purchaseKey = null;
  showFailure(outcome, "receipt");
});

// 3. The payment, with its own idempotency key per attempt.

let paymentKey: string | null = null;

const DECLINES: Record<string, string> = {
  card_declined: "The card was declined. Try another card.",
  insufficient_funds: "The card was declined for insufficient funds. Try another card.",
  expired_card: "The card has expired. Try another card.",
};

const payForm = element<HTMLFormElement>("pay-form");
payForm.addEventListener("input", () => {
  paymentKey = null;
});
payForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(payForm);
  const card = input("card_number").value.replace(/[\s-]/g, "");
  if (!invoiceId) return;
  const id = invoiceId;
  paymentKey ??= crypto.randomUUID();
  const key = paymentKey;
  busy(payForm, true);
  const outcome = await send(() =>
    api.POST("/invoices/{id}/payments", {
      params: { path: { id }, header: { "Idempotency-Key": key } },
      body: { card_number: card },
    }),
  );
  busy(payForm, false);
  if (outcome.ok) {
    paymentKey = null;
    const paid = outcome.data;
    say("payment", `Payment approved: ${dollars(paid.amount_cents)} charged to the card ending in ${paid.card_last4}.`, "ok");
    return;
  }
  if (!isTransient(outcome)) paymentKey = null;
  if (outcome.response?.status === 402) {
    const code = outcome.problem.detail?.split(": ").pop() ?? "";
    fieldError("card_number", DECLINES[code] ?? plain(outcome.problem.detail));
    say("payment", "The payment was declined; nothing was charged.", "bad");
    input("card_number").focus();
    return;
  }
  showFailure(outcome, "payment");
});

// 4. The status of a policy and an invoice, by id.

const POLICY_STATUS: Record<Policy["status"] | string, string> = {
  active: "active",
  cancelled: "cancelled",
};
const INVOICE_STATUS: Record<Invoice["status"] | string, string> = {
  open: "open: waiting for payment",
  paid: "paid",
  void: "void: nothing is due",
};

const statusForm = element<HTMLFormElement>("status-form");
statusForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(statusForm);
  const policyId = input("policy_id").value.trim();
  const invoiceWanted = input("invoice_id").value.trim();
  if (!policyId && !invoiceWanted) {
    fieldError("policy_id", "Enter a policy id, an invoice id, or both.");
    input("policy_id").focus();
    return;
  }
  busy(statusForm, true);
  const [policy, invoice] = await Promise.all([
    policyId ? send(() => api.GET("/policies/{id}", { params: { path: { id: policyId } } })) : null,
    invoiceWanted ? send(() => api.GET("/invoices/{id}", { params: { path: { id: invoiceWanted } } })) : null,
  ]);
  busy(statusForm, false);
  const rows: [string, string][] = [];
  // A malformed or unknown id is an error at its field; anything else is shown as a failure.
  const missing = (outcome: Failure, field: string, message: string): boolean => {
    const status = outcome.response?.status;
    if (status === 400 || status === 404) {
      fieldError(field, message);
      return true;
    }
    showFailure(outcome, "status");
    return false;
  };
  if (policy?.ok) {
    const p = policy.data;
    rows.push(["Policy", `${POLICY_STATUS[p.status] ?? p.status}, holder ${p.holder}, ZIP code ${p.zipcode}`]);
  } else if (policy && !missing(policy, "policy_id", "No policy has this id.")) {
    return;
  }
  if (invoice?.ok) {
    const i = invoice.data;
    rows.push(["Invoice", `${INVOICE_STATUS[i.status] ?? i.status}, ${dollars(i.amount_cents)}`]);
  } else if (invoice && !missing(invoice, "invoice_id", "No invoice has this id.")) {
    return;
  }
  show("status", ...(rows.length ? [terms(rows)] : []));
});
