//! Provider verification over HTTP: the interactions a consumer's snapshots recorded, replayed
//! against a running implementation of the provider, in any language. Each must get the
//! recorded status, an answer that keeps to the published spec, and, for a success, the
//! recorded shape. The in-process replay and `contract-tests verify` both run this.

use std::fmt::Write as _;

use crate::replay::{self, Interaction};
use crate::spec::{SeenRequest, Spec};
use crate::states::{self, Params, Target};

/// How provider states are set up.
#[derive(Debug, Clone)]
pub enum States {
    /// Through the provider's public API: nfip's own services ([`states::set_up_through_api`]).
    PublicApi,
    /// Through the state-setup hook at this URL ([`states::set_up_through_hook`]).
    Hook(String),
}

/// What became of one interaction.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// `operation status`, e.g. `pay_invoice 409`.
    pub interaction: String,
    pub given: Option<String>,
    /// The snapshot it was recorded in.
    pub source: String,
    /// Why it was not replayed, if it was not.
    pub skipped: Option<&'static str>,
    /// Empty when it passed.
    pub failures: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.skipped.is_none() && self.failures.is_empty()
    }

    pub fn failed(&self) -> bool {
        !self.failures.is_empty()
    }
}

/// Replays each interaction against `target`, in order.
pub async fn verify(
    spec: &Spec,
    interactions: &[Interaction],
    target: &Target,
    states: &States,
) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for interaction in interactions {
        let exchange = &interaction.exchange;
        let mut verdict = Verdict {
            interaction: format!("{} {}", exchange.operation, exchange.status),
            given: exchange.given.clone(),
            source: interaction.source.clone(),
            skipped: None,
            failures: Vec::new(),
        };
        if exchange.status >= 500 {
            // A fault the consumer's test injected: a healthy provider does not give it.
            verdict.skipped = Some("a fault the consumer's test injected");
        } else if let Err(failure) = replay_one(spec, interaction, target, states).await {
            verdict.failures = failure;
        }
        verdicts.push(verdict);
    }
    verdicts
}

async fn replay_one(
    spec: &Spec,
    interaction: &Interaction,
    target: &Target,
    states: &States,
) -> Result<(), Vec<String>> {
    let exchange = &interaction.exchange;
    let fresh = uuid::Uuid::new_v4().to_string();
    // Each interaction is a purchase (or payment) of its own: its own derived key stem.
    let derived = uuid::Uuid::new_v4().simple().to_string();
    let fill = |text: &str| {
        text.replace("[uuid]", &fresh)
            .replace("[derived]", &derived)
    };
    let mut request = SeenRequest {
        method: exchange.request.method.clone(),
        path: exchange.request.path.clone(),
        query: exchange
            .request
            .query
            .iter()
            .map(|(k, v)| (k.clone(), fill(v)))
            .collect(),
        headers: exchange
            .request
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), fill(v)))
            .collect(),
        body: exchange.request.body.as_deref().map(fill),
    };
    let mut path_id = fresh.clone();
    if let Some(state) = &exchange.given {
        let params = Params {
            id: fresh.clone(),
            idempotency_key: request.headers.get("idempotency-key").cloned(),
        };
        let made = match states {
            States::PublicApi => {
                states::set_up_through_api(target, &spec.name, state, &params).await
            }
            States::Hook(hook) => states::set_up_through_hook(target, hook, state, &params).await,
        };
        match made {
            Ok(Some(id)) => path_id = id,
            Ok(None) => {}
            Err(error) => return Err(vec![format!("setting up {state:?}: {error}")]),
        }
    }
    request.path = request.path.replace("[uuid]", &path_id);
    let (status, content_type, body) = send(target, &request).await.map_err(|e| vec![e])?;
    if status != exchange.status {
        return Err(vec![format!(
            "the provider answered {status}, the consumer expects {}: {}",
            exchange.status,
            String::from_utf8_lossy(&body)
        )]);
    }
    let operation = spec
        .find(&request.method, &request.path)
        .map_err(|e| vec![e])?;
    let mut failures: Vec<String> = operation
        .check_response(status, &content_type, &body)
        .into_iter()
        .map(|violation| format!("the answer breaks the spec: {violation}"))
        .collect();
    if (200..300).contains(&status) {
        let real = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        for difference in replay::shape_differences(&exchange.response, &real, "") {
            failures.push(format!("the answer's shape differs at {difference}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

async fn send(target: &Target, request: &SeenRequest) -> Result<(u16, String, Vec<u8>), String> {
    let mut url = reqwest::Url::parse(&format!("{}{}", target.base, request.path))
        .map_err(|e| format!("{}{} is not a URL: {e}", target.base, request.path))?;
    if !request.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&request.query);
    }
    let method = request
        .method
        .parse()
        .map_err(|_| format!("{} is not an HTTP method", request.method))?;
    let mut outgoing = target.http.request(method, url.clone());
    for (name, value) in &request.headers {
        outgoing = outgoing.header(name, value);
    }
    if let Some(body) = &request.body {
        outgoing = outgoing.body(body.clone());
    }
    let response = outgoing
        .send()
        .await
        .map_err(|e| format!("{} {url} failed: {e}", request.method))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    Ok((status, content_type, body.to_vec()))
}

/// One line per interaction (PASS, FAIL or SKIP, with the state it was given and where it was
/// recorded), each failure under its line, and a count.
pub fn table(verdicts: &[Verdict]) -> String {
    let width = verdicts
        .iter()
        .map(|v| v.interaction.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for verdict in verdicts {
        let mark = match (verdict.skipped, verdict.failed()) {
            (Some(_), _) => "SKIP",
            (None, true) => "FAIL",
            (None, false) => "PASS",
        };
        let given = verdict
            .given
            .as_ref()
            .map(|g| format!("given {g:?}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{mark}  {:width$}  {given:<52}  {}",
            verdict.interaction, verdict.source
        );
        if let Some(reason) = verdict.skipped {
            let _ = writeln!(out, "      - {reason}");
        }
        for failure in &verdict.failures {
            let _ = writeln!(out, "      - {failure}");
        }
    }
    let count = |f: fn(&Verdict) -> bool| verdicts.iter().filter(|v| f(v)).count();
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} skipped",
        count(Verdict::passed),
        count(Verdict::failed),
        count(|v| v.skipped.is_some())
    );
    out
}
