//! Who may call: a registry of named callers, each with one or more keys, kept only as SHA-256
//! hashes. The gateway uses it for its clients (`GATEWAY_API_KEYS`), every service for the
//! callers it trusts (`API_CALLERS`, in practice the gateway).
//!
//! An entry is `<name>:sha256:<64 hex digits>`; entries are separated by commas (in an
//! environment variable) or lines (in a file, where `#` starts a comment). A name may have
//! several keys, so a key is rotated without downtime: add the new hash, move the caller over,
//! remove the old one. Keys themselves are never configured, stored or logged. The entry for a
//! key: `echo "web:sha256:$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)"`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::problem::{Problem, ProblemType};

pub const API_KEY_HEADER: &str = "x-api-key";

/// The caller a request was authenticated as: a request extension set by [`require`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller(pub Arc<str>);

impl Caller {
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// A service's trusted callers, from flags or the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct CallerArgs {
    /// Callers this service trusts: `<name>:sha256:<hex of the key>`, comma-separated (the
    /// gateway's entry, in a deployment). Unset: every /api call is refused.
    #[arg(long, env = "API_CALLERS", hide_env_values = true)]
    pub api_callers: Option<String>,

    /// The same, from a file (one entry a line; `#` comments), e.g. a mounted secret.
    #[arg(long, env = "API_CALLERS_FILE")]
    pub api_callers_file: Option<std::path::PathBuf>,
}

impl CallerArgs {
    pub fn load(&self) -> Result<Callers, String> {
        Callers::load(
            self.api_callers.as_deref(),
            self.api_callers_file.as_deref(),
        )
        .map_err(|error| format!("API_CALLERS: {error}"))
    }
}

/// The registry: names and the hashes of their keys.
#[derive(Clone, Default)]
pub struct Callers(Arc<[(Caller, [u8; 32])]>);

impl std::fmt::Debug for Callers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Callers({:?}, keys redacted)", self.names())
    }
}

impl Callers {
    /// Parses entries separated by commas or newlines; `source` names where they came from in
    /// an error.
    pub fn parse(text: &str, source: &str) -> Result<Callers, String> {
        let mut entries = Vec::new();
        let lines = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default());
        for (number, entry) in lines
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .enumerate()
        {
            let parsed = entry
                .split_once(":sha256:")
                .and_then(|(name, hex)| Some((valid_name(name)?, decode_hex(hex)?)));
            let Some((name, hash)) = parsed else {
                return Err(format!(
                    "{source}: entry {} is not `<name>:sha256:<64 hex digits>` (a name of letters, \
                     digits, `-`, `_` or `.`); make one with `printf %s \"$KEY\" | sha256sum`",
                    number + 1
                ));
            };
            entries.push((Caller(name.into()), hash));
        }
        Ok(Callers(entries.into()))
    }

    /// The registry from an inline value and a file, either or both.
    pub fn load(inline: Option<&str>, file: Option<&std::path::Path>) -> Result<Callers, String> {
        let mut entries: Vec<_> = match inline {
            Some(text) => Callers::parse(text, "the inline list")?.0.to_vec(),
            None => Vec::new(),
        };
        if let Some(file) = file {
            let text = std::fs::read_to_string(file)
                .map_err(|error| format!("cannot read {}: {error}", file.display()))?;
            entries.extend(
                Callers::parse(&text, &file.display().to_string())?
                    .0
                    .iter()
                    .cloned(),
            );
        }
        Ok(Callers(entries.into()))
    }

    /// A registry of one caller with one key (tests, development).
    pub fn single(name: &str, key: &str) -> Callers {
        Callers(vec![(Caller(name.into()), digest(key))].into())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The distinct names, for logs.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.0.iter().map(|(caller, _)| caller.name()).collect();
        names.dedup();
        names
    }

    /// Who holds `key`, if anyone. Every hash is compared in full, so timing tells nothing.
    pub fn identify(&self, key: &str) -> Option<&Caller> {
        let presented = digest(key);
        self.0.iter().fold(None, |found, (caller, hash)| {
            let same = hash
                .iter()
                .zip(&presented)
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0;
            if same { Some(caller) } else { found }
        })
    }
}

fn valid_name(name: &str) -> Option<&str> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    ok.then_some(name)
}

fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// The registry entry for `name` holding `key`: `<name>:sha256:<hex>`.
pub fn entry(name: &str, key: &str) -> String {
    format!("{name}:sha256:{}", hex(&digest(key)))
}

/// How a request may present its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// `Authorization: Bearer <key>` only (the services).
    Bearer,
    /// `x-api-key: <key>` or `Authorization: Bearer <key>` (the gateway).
    ApiKeyOrBearer,
}

/// The key a request presents, if any.
pub fn presented(headers: &HeaderMap, how: Presented) -> Option<&str> {
    if how == Presented::ApiKeyOrBearer
        && let Some(key) = headers.get(API_KEY_HEADER)
    {
        return key.to_str().ok();
    }
    let authorization = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = authorization.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The state of [`require`]: whom to accept, and how they present their keys.
#[derive(Debug, Clone)]
pub struct Authenticator {
    pub callers: Callers,
    pub how: Presented,
}

/// Middleware: lets a request whose key is in the registry through, with its [`Caller`] as an
/// extension; answers 401 otherwise, before any handler runs, so it changes nothing.
pub async fn require(
    State(auth): State<Authenticator>,
    mut request: Request,
    next: Next,
) -> Response {
    let detail = match presented(request.headers(), auth.how) {
        Some(key) => match auth.callers.identify(key) {
            Some(caller) => {
                request.extensions_mut().insert(caller.clone());
                // Also on the answer, for the layers outside (logs, metrics).
                let mut response = next.run(request).await;
                response.extensions_mut().insert(caller.clone());
                return response;
            }
            None if auth.callers.is_empty() => "no caller is configured here, so none is accepted",
            None => "the credential is not valid",
        },
        None if auth.how == Presented::Bearer => {
            "send a credential as `Authorization: Bearer <key>`"
        }
        None => "send an API key as `x-api-key: <key>` or `Authorization: Bearer <key>`",
    };
    let mut response = Problem::new(ProblemType::UNAUTHORIZED)
        .detail(detail)
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"nfip\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_name_callers_and_keep_only_hashes() {
        let text = format!(
            "# clients\n{}, {}\n{}  # rotated\n",
            entry("web", "k1"),
            entry("partner-a", "k2"),
            entry("partner-a", "k3")
        );
        let callers = Callers::parse(&text, "test").unwrap();
        assert_eq!(callers.names(), ["web", "partner-a"]);
        assert_eq!(callers.identify("k1").unwrap().name(), "web");
        assert_eq!(callers.identify("k2").unwrap().name(), "partner-a");
        assert_eq!(callers.identify("k3").unwrap().name(), "partner-a");
        assert!(callers.identify("k4").is_none() && callers.identify("").is_none());
        assert!(!format!("{callers:?}").contains(&hex(&digest("k1"))));
    }

    #[test]
    fn a_plain_key_or_a_bad_hash_is_refused_with_its_place() {
        for bad in [
            "nfip-dev-key",
            "web:sha256:abc",
            "web:md5:00",
            ":sha256:",
            "a b:sha256:00",
        ] {
            let error = Callers::parse(&format!("{},{bad}", entry("ok", "k")), "GATEWAY_API_KEYS")
                .unwrap_err();
            assert!(
                error.starts_with("GATEWAY_API_KEYS: entry 2 is not"),
                "{error}"
            );
            assert!(
                !error.contains("nfip-dev-key"),
                "a plain key is never echoed: {error}"
            );
        }
    }

    #[test]
    fn keys_come_from_either_header() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer k2"));
        assert_eq!(presented(&headers, Presented::Bearer), Some("k2"));
        headers.insert(API_KEY_HEADER, HeaderValue::from_static("k1"));
        assert_eq!(presented(&headers, Presented::ApiKeyOrBearer), Some("k1"));
        assert_eq!(presented(&headers, Presented::Bearer), Some("k2"));
        let mut basic = HeaderMap::new();
        basic.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic azE6"),
        );
        assert_eq!(presented(&basic, Presented::ApiKeyOrBearer), None);
    }
}
