//! Provider states, as Pact names them: what must exist at a provider before a recorded
//! interaction can be replayed against it ("a paid invoice exists"). A consumer's test names
//! the state its mock answer assumes with [`MockBuilder::given`](crate::provider::MockBuilder::given);
//! the snapshot records it; the verifier sets it up before replaying, either
//!
//! - through the provider's own public API ([`set_up_through_api`], for nfip's services), or
//! - through a state-setup hook the provider exposes in test mode ([`set_up_through_hook`]),
//!   which is how a provider in any language can take part. The protocol is in the README.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// risk: the rating of ZIP code 33139 is known.
pub const RATED_33139: &str = "ZIP code 33139 is rated";
/// policy: a policy exists; its id goes in the request's path.
pub const POLICY_EXISTS: &str = "a policy exists";
/// policy: the request's idempotency key was already used to create another policy.
pub const POLICY_KEY_USED: &str = "the idempotency key was used for another policy";
/// billing: an open invoice exists; its id goes in the request's path.
pub const OPEN_INVOICE: &str = "an open invoice exists";
/// billing: a paid invoice exists; its id goes in the request's path.
pub const PAID_INVOICE: &str = "a paid invoice exists";
/// billing: the request's idempotency key was already used to create another invoice.
pub const INVOICE_KEY_USED: &str = "the idempotency key was used for another invoice";

/// What the verifier tells the provider along with the state's name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Params {
    /// The id the request will use in its path, unless the setup answers another.
    pub id: String,
    /// The idempotency key the request will send, if it sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// Where the provider under verification is, and how to call it.
#[derive(Debug, Clone)]
pub struct Target {
    /// e.g. `http://127.0.0.1:8082`
    pub base: String,
    /// Sends the credential the provider trusts with every request.
    pub http: reqwest::Client,
}

/// Sets `state` up through the provider's hook: `POST hook {"state", "params"}`, answered
/// with any 2xx; a JSON body's `id`, if any, is the id the request's path will use.
pub async fn set_up_through_hook(
    target: &Target,
    hook: &str,
    state: &str,
    params: &Params,
) -> Result<Option<String>, String> {
    let response = target
        .http
        .post(hook)
        .json(&json!({"state": state, "params": params}))
        .send()
        .await
        .map_err(|e| format!("the state hook {hook} cannot be reached: {e}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!(
            "the state hook answered {status} to {state:?}: {text}"
        ));
    }
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(body["id"].as_str().map(str::to_owned))
}

/// Sets `state` up through the public API of nfip's own `provider`; returns the id of what it
/// made, for the request's path.
pub async fn set_up_through_api(
    target: &Target,
    provider: &str,
    state: &str,
    params: &Params,
) -> Result<Option<String>, String> {
    let key = || uuid::Uuid::new_v4().to_string();
    let reused = || {
        params
            .idempotency_key
            .clone()
            .ok_or_else(|| format!("{state:?}: the request sends no idempotency key"))
    };
    let policy = json!({"holder": "Ada Lovelace", "contact": {"email": "ada@example.org"}, "zipcode": "33139", "risk_score": 0.9});
    let invoice = json!({"policy_id": params.id, "base_rate_cents": 120000, "risk_score": 0.9});
    match (provider, state) {
        // The service ships its ratings.
        ("risk", RATED_33139) => Ok(None),
        ("policy", POLICY_EXISTS) => create(target, "/api/policies", &key(), policy).await,
        ("policy", POLICY_KEY_USED) => {
            let other = json!({"holder": "Someone Else", "zipcode": "10001", "risk_score": 0.1});
            create(target, "/api/policies", &reused()?, other).await?;
            Ok(None)
        }
        ("billing", OPEN_INVOICE) => create(target, "/api/invoices", &key(), invoice).await,
        ("billing", PAID_INVOICE) => {
            let id = create(target, "/api/invoices", &key(), invoice).await?;
            let id = id.unwrap_or_default();
            let card = json!({"card_number": "4242424242424242"});
            create(
                target,
                &format!("/api/invoices/{id}/payments"),
                &key(),
                card,
            )
            .await?;
            Ok(Some(id))
        }
        ("billing", INVOICE_KEY_USED) => {
            let other = json!({"policy_id": params.id, "base_rate_cents": 1, "risk_score": 0.1});
            create(target, "/api/invoices", &reused()?, other).await?;
            Ok(None)
        }
        _ => Err(format!(
            "no way to set up {state:?} through {provider}'s public API: give the provider a state hook (--state-hook)"
        )),
    }
}

/// POSTs JSON with an idempotency key; returns the answer's `id`.
async fn create(
    target: &Target,
    path: &str,
    key: &str,
    body: Value,
) -> Result<Option<String>, String> {
    let response = target
        .http
        .post(format!("{}{path}", target.base))
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("state setup: POST {path} failed: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!(
            "state setup: POST {path} answered {status}: {body}"
        ));
    }
    Ok(body["id"].as_str().map(str::to_owned))
}
