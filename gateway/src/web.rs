//! The citizen's page (`web/`, built by `just web`), served at `/`: the files of a folder, read
//! once at start, with the key of the gateway's public web client written into the page.
//!
//! The key is public by design: whoever loads the page can read it. It belongs to a client of
//! its own (`web` in development), so it is rate-limited apart from every other client, and it
//! reaches only what any web visitor may: the purchases made through the page, each by its id.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use nfip_kit::Problem;

/// Where the page's `index.html` takes the key; the gateway fills in its `content`.
const KEY_SLOT: &str = r#"<meta name="nfip-api-key" content="" />"#;
/// More than a page needs; a folder that holds more is probably not the page.
const MOST_BYTES: u64 = 16 * 1024 * 1024;

/// What every answer of the page carries: no other origin's scripts, styles, frames or forms.
const SECURITY: [(HeaderName, &str); 4] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

#[derive(Debug)]
struct File {
    body: Bytes,
    content_type: &'static str,
}

/// The page's files by URL path (`/` for `index.html`).
#[derive(Debug)]
pub struct Site {
    files: HashMap<String, File>,
}

impl Site {
    /// Reads `index.html` and `assets/` of `dir`, writing `key` into the page.
    pub fn load(dir: &Path, key: &str) -> Result<Site, String> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        let index = String::from_utf8(read(&dir.join("index.html"))?)
            .map_err(|_| format!("{}/index.html is not UTF-8", dir.display()))?;
        if !index.contains(KEY_SLOT) {
            return Err(format!(
                "{}/index.html has no `{KEY_SLOT}` for the key: is it the page `just web` builds?",
                dir.display()
            ));
        }
        let slot = format!(
            r#"<meta name="nfip-api-key" content="{}" />"#,
            attribute(key)
        );
        let mut files = HashMap::from([(
            String::from("/"),
            File {
                body: Bytes::from(index.replacen(KEY_SLOT, &slot, 1)),
                content_type: "text/html; charset=utf-8",
            },
        )]);
        let assets = dir.join("assets");
        let mut total = 0;
        let entries = std::fs::read_dir(&assets)
            .map_err(|e| format!("cannot read {}: {e}", assets.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !path.is_file() || name.starts_with('.') {
                continue;
            }
            let body = Bytes::from(read(&path)?);
            total += body.len() as u64;
            if total > MOST_BYTES {
                return Err(format!("{} holds more than 16 MiB", assets.display()));
            }
            let content_type = content_type(name);
            files.insert(format!("/assets/{name}"), File { body, content_type });
        }
        Ok(Site { files })
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

fn attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "json" | "map" => "application/json",
        _ => "application/octet-stream",
    }
}

fn serve(site: Option<&Site>, path: &str) -> Response {
    let Some(file) = site.and_then(|site| site.files.get(path)) else {
        return Problem::not_found(format!("no route for {path}")).into_response();
    };
    // The page is small and names its assets by their hash: the page is always revalidated, an
    // asset never changes.
    let cache = if path == "/" {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, file.content_type),
            (header::CACHE_CONTROL, cache),
        ],
        file.body.clone(),
    )
        .into_response();
    for (name, value) in SECURITY {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    response
}

/// `GET /`: the page.
pub async fn page(State(site): State<Option<Arc<Site>>>) -> Response {
    serve(site.as_deref(), "/")
}

/// `GET /assets/{file}`: its scripts and styles.
pub async fn asset(
    State(site): State<Option<Arc<Site>>>,
    UrlPath(file): UrlPath<String>,
) -> Response {
    serve(site.as_deref(), &format!("/assets/{file}"))
}

/// The site a gateway serves, if any: checks that the key is one of a client's.
pub fn site(
    dir: Option<&Path>,
    key: Option<&str>,
    clients: &nfip_kit::auth::Callers,
) -> Result<Option<Arc<Site>>, String> {
    match (dir, key) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(String::from(
            "WEB_DIR is set but WEB_API_KEY is not: the page needs the key of a client",
        )),
        (None, Some(_)) => Err(String::from(
            "WEB_API_KEY is set but WEB_DIR is not: where is the page (`just web` builds web/dist)?",
        )),
        (Some(dir), Some(key)) => {
            let Some(client) = clients.identify(key) else {
                return Err(String::from(
                    "WEB_API_KEY is not the key of any client in GATEWAY_API_KEYS",
                ));
            };
            let site = Site::load(dir, key)?;
            tracing::info!(
                "serving the citizen's page from {} at / ({} files) as client {}",
                dir.display(),
                site.len(),
                client.name()
            );
            Ok(Some(Arc::new(site)))
        }
    }
}
