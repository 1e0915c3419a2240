//! The problems the policy service answers with beyond kit's own.

nfip_kit::problem_response!(
    /// `404`: no policy has the id.
    NoPolicy,
    404,
    "No policy has this id"
);

/// The 404 for a policy id nothing has.
pub fn no_policy(id: uuid::Uuid) -> nfip_kit::Problem {
    nfip_kit::Problem::not_found(format!("no policy with id {id}"))
}
