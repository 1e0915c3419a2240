//! The HTTP surface: handlers and the wire types they speak.

use axum::extract::State;
use nfip_kit::BadId;
use nfip_kit::{Created, IdempotencyKey, IdempotencyKeyHeader, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::domain::{self, Invalid, Message};
use crate::error::{NoNotification, no_notification};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

/// A message to a policy holder.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "channel": "email",
    "to": "ada@example.org",
    "subject": "Your flood insurance policy",
    "body": "Your policy 019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b is active. Amount due: $1,080.00.",
    "policy_id": "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b"
}))]
pub struct CreateNotification {
    pub channel: Channel,
    /// An email address for `email`, an E.164 phone number (`+15555550123`) for `sms`.
    #[schema(min_length = 1, max_length = 254)]
    pub to: String,
    /// Required for `email`, absent for `sms`; at most 200 characters.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub subject: Option<String>,
    /// Plain text: at most 20,000 characters for email, 1,600 for SMS.
    #[schema(min_length = 1, max_length = 20000)]
    pub body: String,
    /// The policy the message is about, if any.
    #[serde(default)]
    pub policy_id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for, or in, a delivery attempt.
    Queued,
    Sent,
    /// Given up on: the channel refused it for good, or every attempt failed.
    Failed,
}

/// A notification and how its delivery is going.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "019a7b50-0000-7000-8000-000000000002",
    "channel": "email",
    "to": "ada@example.org",
    "subject": "Your flood insurance policy",
    "body": "Your policy is active.",
    "status": "sent",
    "attempts": 1,
    "created_at": "2026-11-25T10:00:00.000000Z",
    "sent_at": "2026-11-25T10:00:00.120000Z"
}))]
pub struct Notification {
    pub id: Uuid,
    pub channel: Channel,
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub subject: Option<String>,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub policy_id: Option<Uuid>,
    pub status: DeliveryStatus,
    /// Delivery attempts made so far.
    pub attempts: u32,
    /// Why the last attempt failed, while retrying or after giving up.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub last_error: Option<String>,
    /// While queued after a failed attempt: when the next attempt is due.
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none",
        default
    )]
    #[schema(nullable = false)]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none",
        default
    )]
    #[schema(nullable = false)]
    pub sent_at: Option<OffsetDateTime>,
}

impl From<domain::Notification> for Notification {
    fn from(n: domain::Notification) -> Notification {
        let retrying = n.status == domain::Status::Queued && n.attempts > 0;
        Notification {
            id: n.id,
            channel: match n.message.channel {
                domain::Channel::Email => Channel::Email,
                domain::Channel::Sms => Channel::Sms,
            },
            to: n.message.to,
            subject: n.message.subject,
            body: n.message.body,
            policy_id: n.message.policy_id,
            status: match n.status {
                domain::Status::Queued => DeliveryStatus::Queued,
                domain::Status::Sent => DeliveryStatus::Sent,
                domain::Status::Failed => DeliveryStatus::Failed,
            },
            attempts: n.attempts,
            last_error: n.last_error,
            next_attempt_at: retrying.then_some(n.next_attempt_at),
            created_at: n.created_at,
            sent_at: n.sent_at,
        }
    }
}

/// Send a notification
///
/// Stores the message and queues it for delivery, answering 202 at once: follow `Location`
/// to see it move from `queued` to `sent` (or `failed`). Transient delivery failures are
/// retried with exponential backoff; the queue survives a restart. With an `Idempotency-Key`,
/// a retry of the same request answers the same notification instead of queueing another.
#[utoipa::path(
    post,
    path = "/api/notifications",
    operation_id = "create_notification",
    tag = "notifications",
    params(
        IdempotencyKeyHeader,
    ),
    request_body = CreateNotification,
    responses(
        (status = 202, description = "Queued for delivery (or replayed for a repeated key)",
         body = Notification,
         links(
             ("get_notification" = (operation_id = "get_notification", parameters(("id" = "$response.body#/id")))),
         ),
         headers(
             ("Location" = String, description = "The notification's URL, to follow its delivery"),
             ("Idempotent-Replayed" = String, description = "`true` when this answers an earlier request with the same key"),
         )),
        (status = 422, description = "A field is invalid (e.g. an SMS to an email address), or the idempotency key was used for another request",
         body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_notification(
    State(state): State<AppState>,
    idempotency_key: IdempotencyKey,
    Json(request): Json<CreateNotification>,
) -> Result<Created<Notification>, Problem> {
    let channel = match request.channel {
        Channel::Email => domain::Channel::Email,
        Channel::Sms => domain::Channel::Sms,
    };
    let message = Message::validate(
        channel,
        &request.to,
        request.subject.as_deref(),
        &request.body,
        request.policy_id,
    )
    .map_err(Invalid::problem)?;
    let canonical = serde_json::to_string(&request).expect("a request serializes");
    let idempotency = idempotency_key.0.map(|key| (key, canonical));
    let inserted = state
        .handoff
        .queue(&state.notifications, message, idempotency)
        .await?;
    let (notification, replayed) = inserted.into_parts();
    let location = format!("/api/notifications/{}", notification.id);
    Ok(Created::at(location, Notification::from(notification))
        .accepted()
        .replayed(replayed))
}

/// Read a notification and its delivery status
///
/// `queued` until delivered (`sent`) or given up on (`failed`), with the attempts made and,
/// while retrying, the last error and when the next attempt is due.
#[utoipa::path(
    get,
    path = "/api/notifications/{id}",
    operation_id = "get_notification",
    tag = "notifications",
    params(("id" = Uuid, Path, description = "The notification id")),
    responses(
        (status = 200, description = "The notification", body = Notification),
        BadId,
        NoNotification,
    )
)]
pub async fn get_notification(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<Notification>, Problem> {
    let notification = state
        .notifications
        .get(id)
        .await?
        .ok_or_else(|| no_notification(id))?;
    Ok(Json(notification.into()))
}
