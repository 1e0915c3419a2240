//! The problems the notification service answers with beyond kit's own.

nfip_kit::problem_response!(
    /// `404`: no notification has the id.
    NoNotification,
    404,
    "No notification has this id"
);

/// The 404 for a notification id nothing has.
pub fn no_notification(id: uuid::Uuid) -> nfip_kit::Problem {
    nfip_kit::Problem::not_found(format!("no notification with id {id}"))
}
