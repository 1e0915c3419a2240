//! Smoke test of the Rust client progenitor generates from the gateway's OpenAPI 3.0 edition:
//! buy a policy, read it back, pay its invoice, and get two declared errors with their own
//! status (a 409 and a 422, never folded into a 400) and a problem body. Run by
//! `just clients-smoke` against a fresh stack (NFIP_GATEWAY_URL, NFIP_API_KEY).

use nfip_gateway_client::{Client, Error, types};
use reqwest::header::{HeaderMap, HeaderValue};

type Result<T> = std::result::Result<T, String>;

fn parse<T: std::str::FromStr>(text: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| format!("{text:?}: {e}"))
}

/// The status and problem of a refused call; anything else is a failure of the smoke test.
async fn refusal<T: std::fmt::Debug>(
    answer: std::result::Result<T, Error<progenitor_client::ByteStream>>,
) -> Result<(u16, types::Problem)> {
    let Err(Error::ErrorResponse(response)) = answer else {
        return Err(format!("expected a refusal, got {answer:?}"));
    };
    let status = response.status().as_u16();
    let mut body = Vec::new();
    let mut stream = response.into_inner().into_inner();
    while let Some(chunk) = futures_next(&mut stream).await {
        body.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
    }
    let problem = serde_json::from_slice(&body).map_err(|e| format!("not a problem: {e}"))?;
    Ok((status, problem))
}

async fn futures_next<S>(stream: &mut S) -> Option<S::Item>
where
    S: futures_core::Stream + Unpin,
{
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *stream).poll_next(cx)).await
}

#[tokio::main]
async fn main() -> Result<()> {
    let base = std::env::var("NFIP_GATEWAY_URL").map_err(|_| "NFIP_GATEWAY_URL is not set")?;
    let key = std::env::var("NFIP_API_KEY").map_err(|_| "NFIP_API_KEY is not set")?;
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-api-key",
        HeaderValue::from_str(&key).map_err(|e| e.to_string())?,
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .map_err(|e| e.to_string())?;
    let client = Client::new_with_client(&base, http);

    let order = |user: &str| -> Result<types::PurchaseRequest> {
        Ok(types::PurchaseRequest {
            base_rate: 1200.0,
            contact: Some(types::Contact {
                email: Some(parse("rust@example.org")?),
                phone: None,
            }),
            user: user.try_into().map_err(|e| format!("{e}"))?,
            zipcode: parse("33139")?,
        })
    };
    let purchase_key: types::PurchaseIdempotencyKey =
        parse(&format!("rs-{}", uuid::Uuid::new_v4()))?;
    let receipt = client
        .purchase(Some(&purchase_key), &order("Rust Smoke")?)
        .await
        .map_err(|e| format!("purchase: {e}"))?
        .into_inner();
    assert_eq!(
        (receipt.amount_cents, receipt.amount.as_str()),
        (108_000, "1080.00")
    );

    let policy = client
        .get_policy(&receipt.policy_id, None)
        .await
        .map_err(|e| format!("read: {e}"))?
        .into_inner();
    assert_eq!(policy.status, types::PolicyStatus::Active);

    let card = types::PayInvoice {
        card_number: parse("4242424242424242")?,
    };
    let payment = client
        .pay_invoice(
            &receipt.invoice_id,
            &parse(&format!("rs-pay-{}", uuid::Uuid::new_v4()))?,
            &card,
        )
        .await
        .map_err(|e| format!("pay: {e}"))?
        .into_inner();
    assert_eq!(payment.card_last4.as_str(), "4242");

    // Paying again, under another key: the invoice is paid, a 409.
    let again = client
        .pay_invoice(
            &receipt.invoice_id,
            &parse(&format!("rs-pay-{}", uuid::Uuid::new_v4()))?,
            &card,
        )
        .await;
    let (status, problem) = refusal(again).await?;
    assert_eq!(
        (status, problem.type_.as_str()),
        (409, "urn:nfip:problem:conflict")
    );

    // The purchase's key with another order: a 422.
    let reused = client
        .purchase(Some(&purchase_key), &order("Someone Else")?)
        .await;
    let (status, problem) = refusal(reused).await?;
    assert_eq!(
        (status, problem.type_.as_str()),
        (422, "urn:nfip:problem:idempotency-key-reused")
    );

    println!(
        "rust client (progenitor, OpenAPI 3.0): bought policy {} for ${}, read it back ({}), paid it; a 409 and a 422 kept their status",
        receipt.policy_id, receipt.amount, policy.status
    );
    Ok(())
}
