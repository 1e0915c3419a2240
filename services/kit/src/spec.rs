//! The OpenAPI document: what each service says about itself ([`About`]), and the document as
//! a committed file (the drift check is `nfip_kit_test::assert_committed`).

use utoipa::openapi::info::{ContactBuilder, InfoBuilder, LicenseBuilder};
use utoipa::openapi::server::ServerBuilder;
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{OpenApi, OpenApiBuilder};
use utoipa_axum::router::OpenApiRouter;

/// What a service's OpenAPI document says about the service, besides its operations.
#[derive(Debug, Clone, Copy)]
pub struct About {
    pub title: &'static str,
    /// The spec's version, raised by the rules in the README's "Versioning" section.
    pub version: &'static str,
    pub description: &'static str,
    /// The port the service listens on in the local stack (`just up`).
    pub local_port: u16,
    /// The tags its operations use: name and description.
    pub tags: &'static [(&'static str, &'static str)],
}

impl About {
    /// The document's head: info (the maintainers as contact, the license), servers (where the docs are
    /// served, and the local stack), tags.
    pub fn openapi(&self) -> OpenApi {
        let info = InfoBuilder::new()
            .title(self.title)
            .version(self.version)
            .description(Some(self.description))
            .contact(Some(
                ContactBuilder::new().name(Some("nfip maintainers")).build(),
            ))
            .license(Some(
                // The workspace's license, which every crate shares.
                LicenseBuilder::new()
                    .name(env!("CARGO_PKG_LICENSE"))
                    .identifier(Some(env!("CARGO_PKG_LICENSE")))
                    .build(),
            ));
        let servers = [
            ("/".to_owned(), "Where these docs are served"),
            (
                format!("http://127.0.0.1:{}", self.local_port),
                "The local stack (`just up`)",
            ),
        ]
        .map(|(url, description)| {
            ServerBuilder::new()
                .url(url)
                .description(Some(description))
                .build()
        });
        let tags = self.tags.iter().map(|(name, description)| {
            TagBuilder::new()
                .name(*name)
                .description(Some(*description))
                .build()
        });
        OpenApiBuilder::new()
            .info(info)
            .servers(Some(servers))
            .tags(Some(tags.collect::<Vec<_>>()))
            .build()
    }

    /// A router to add the service's operations to, starting from [`About::openapi`].
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> OpenApiRouter<S> {
        OpenApiRouter::with_openapi(self.openapi())
    }
}

/// The document as committed under `openapi/` and served at `/openapi.json`: pretty JSON,
/// ending in a newline.
pub fn to_json(openapi: &OpenApi) -> String {
    let mut json = serde_json::to_string_pretty(openapi).expect("an OpenAPI document serializes");
    json.push('\n');
    json
}
