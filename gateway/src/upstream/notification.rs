//! The gateway's view of the notification service (`openapi/notification.json`).

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Call, Deadline, Upstream, UpstreamError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

/// `CreateNotification` in the notification spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewNotification {
    pub channel: Channel,
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub body: String,
    pub policy_id: Uuid,
}

/// The part of `Notification` the gateway reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Queued {
    pub id: Uuid,
}

#[derive(Debug)]
pub struct NotificationService(pub Upstream);

impl NotificationService {
    /// `create_notification`: POST /api/notifications, keyed so a retry queues nothing new.
    pub async fn send(
        &self,
        notification: &NewNotification,
        idempotency_key: &str,
        deadline: Deadline,
    ) -> Result<Queued, UpstreamError> {
        let call = Call::keyed(
            "create_notification",
            "/api/notifications",
            notification,
            idempotency_key,
        )
        .answered(StatusCode::ACCEPTED);
        self.0.call(call, deadline).await
    }
}
