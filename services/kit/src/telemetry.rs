//! Logging and tracing.
//!
//! Logs: one line per event on stderr, filtered by `--log` or `RUST_LOG` (default
//! `info,sqlx=warn,hyper=warn`; e.g. `RUST_LOG=debug,sqlx=warn`): for a person to read, or with
//! `LOG_FORMAT=json` one JSON object a line for a log pipeline, with the request's id, trace id
//! and span id.
//!
//! Traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` set (e.g. `http://127.0.0.1:4318`), spans go over
//! OTLP/HTTP (protobuf) to that collector: a server span per request, a client span per call to
//! another service, a span per database transaction. The other standard `OTEL_*` variables
//! apply (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_SERVICE_NAME`, `OTEL_BSP_SCHEDULE_DELAY`, ...). Without it, nothing is exported and
//! trace ids still travel in `traceparent` and the logs.

use std::io::IsTerminal;
use std::sync::OnceLock;

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider,
};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer};

use crate::context::Traceparent;

/// What to log, from a flag or `RUST_LOG`; every binary takes it.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// What to log: a level, or a filter per module (tracing's syntax), e.g. `debug,sqlx=warn`.
    #[arg(long = "log", env = "RUST_LOG", default_value = DEFAULT_FILTER)]
    pub filter: String,

    /// How to write each line: `text` for people, `json` for a log pipeline.
    #[arg(long = "log-format", env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub format: LogFormat,

    /// Send spans over OTLP/HTTP to this collector, e.g. `http://127.0.0.1:4318` (the other
    /// standard `OTEL_*` variables apply: `OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_HEADERS`, ...).
    /// Unset: no spans are exported.
    #[arg(long = "otlp-endpoint", env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

const DEFAULT_FILTER: &str = "info,sqlx=warn,hyper=warn";

/// The exporter, while spans are exported; flushed by [`Telemetry::shutdown`].
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// What [`init`] started; [`Telemetry::shutdown`] sends the spans not yet exported.
#[must_use = "shut it down on exit, or the last spans are lost"]
pub struct Telemetry(());

impl Telemetry {
    /// Exports what is left, waiting for the collector (briefly: the exporter's timeout).
    pub fn shutdown(self) {
        if let Some(provider) = PROVIDER.get()
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!("could not send the last spans to the OTLP collector: {error}");
        }
    }
}

/// Whether spans are being exported (`OTEL_EXPORTER_OTLP_ENDPOINT` was set).
pub fn exporting() -> bool {
    PROVIDER.get().is_some()
}

/// Starts logging with `log`'s filter (one that does not parse falls back to the default,
/// saying so) and, when a collector is configured, exporting `service`'s spans to it.
pub fn init(log: &LogArgs, service: &'static str) -> Telemetry {
    let (filter, bad) = match EnvFilter::try_new(&log.filter) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new(DEFAULT_FILTER), Some(error)),
    };
    let lines = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_writer(std::io::stderr);
    let lines = match log.format {
        LogFormat::Text => lines
            .with_ansi(std::io::stderr().is_terminal())
            .with_filter(filter)
            .boxed(),
        // The request's span (id, trace, span) on every line, flattened beside the message.
        LogFormat::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed(),
    };
    let (provider, failed) = match exporter(log, service) {
        Ok(provider) => (provider, None),
        Err(error) => (None, Some(error)),
    };
    // Whatever RUST_LOG says (it chooses the lines, not the traces): spans at info and above,
    // and nfip's own at debug and above. The client and database spans are at debug, so that
    // a logged line's span stays the request's, with its id.
    let spans = provider.as_ref().map(|provider| {
        let levels = Targets::new()
            .with_default(LevelFilter::INFO)
            .with_target("nfip", LevelFilter::DEBUG);
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(service))
            .with_filter(levels)
    });
    let _ = tracing_subscriber::registry()
        .with(lines)
        .with(spans)
        .try_init();
    if let Some(provider) = provider {
        let _ = PROVIDER.set(provider);
    }
    if let Some(error) = bad {
        tracing::warn!(
            "RUST_LOG `{}` is not a filter ({error}); logging at info",
            log.filter
        );
    }
    if let Some(error) = failed {
        tracing::warn!("spans are not exported: {error}");
    }
    Telemetry(())
}

/// The OTLP exporter, if `--otlp-endpoint` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) names a
/// collector.
fn exporter(log: &LogArgs, service: &'static str) -> Result<Option<SdkTracerProvider>, String> {
    let traces_endpoint = std::env::var_os("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .is_some_and(|value| !value.is_empty());
    let mut exporter = opentelemetry_otlp::SpanExporter::builder().with_http();
    match log.otlp_endpoint.as_deref().filter(|url| !url.is_empty()) {
        // The traces-only variable, when set, is the more precise: the SDK reads it itself.
        _ if traces_endpoint => {}
        Some(base) => {
            let url = format!("{}/v1/traces", base.trim_end_matches('/'));
            exporter = exporter.with_endpoint(url);
        }
        None => return Ok(None),
    }
    if let Ok(protocol) = std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL")
        && !protocol.is_empty()
        && protocol != "http/protobuf"
    {
        return Err(format!(
            "OTEL_EXPORTER_OTLP_PROTOCOL is `{protocol}`; only http/protobuf is spoken (point \
             the endpoint at the collector's OTLP/HTTP port, usually 4318)"
        ));
    }
    let exporter = exporter.build().map_err(|error| error.to_string())?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service);
    }
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build(),
    ))
}

/// Names `span` for the trace and says what kind it is (`server`, `client`, `internal`), when
/// spans are exported; the log lines stay without these fields otherwise. `span` must declare
/// `otel.name` and `otel.kind` (as `tracing::field::Empty`), and not be entered yet.
pub fn label(span: &tracing::Span, name: impl FnOnce() -> String, kind: &'static str) {
    if exporting() {
        span.record("otel.name", name());
        span.record("otel.kind", kind);
    }
}

/// Records the HTTP status an exported server or client span ended with; a 5xx marks it as
/// an error.
pub fn outcome(span: &tracing::Span, status: u16) {
    if exporting() {
        span.record("http.response.status_code", status);
        if status >= 500 {
            span.record("otel.status_code", "error");
        }
    }
}

/// Makes `span` (not yet entered) continue the trace its caller sent, and returns the trace
/// context its own children continue: this span's id when spans are exported, else the
/// caller's (or a new trace's).
pub fn continue_trace(span: &tracing::Span, incoming: Option<Traceparent>) -> Traceparent {
    if !exporting() {
        return incoming.unwrap_or_else(Traceparent::new_root);
    }
    if let Some(parent) = incoming.as_ref().and_then(span_context) {
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
    }
    own(span).or(incoming).unwrap_or_else(Traceparent::new_root)
}

/// The `traceparent` a call made within `span` sends: `span`'s own id when spans are exported
/// (so the callee's span hangs under it), else a new id under the current request's trace.
pub fn outgoing(span: &tracing::Span) -> Option<Traceparent> {
    exporting()
        .then(|| own(span))
        .flatten()
        .or_else(|| crate::context::current().map(|c| c.trace.child()))
}

/// `span`'s trace id and span id, if the exporter gave it some.
fn own(span: &tracing::Span) -> Option<Traceparent> {
    let context = span.context();
    let own = context.span().span_context().clone();
    own.is_valid().then(|| Traceparent {
        trace_id: format!("{:032x}", own.trace_id()),
        parent_id: format!("{:016x}", own.span_id()),
        flags: format!("{:02x}", own.trace_flags().to_u8()),
    })
}

fn span_context(trace: &Traceparent) -> Option<SpanContext> {
    let flags = u8::from_str_radix(&trace.flags, 16).ok()?;
    let context = SpanContext::new(
        TraceId::from_hex(&trace.trace_id).ok()?,
        SpanId::from_hex(&trace.parent_id).ok()?,
        TraceFlags::new(flags),
        true,
        TraceState::default(),
    );
    context.is_valid().then_some(context)
}
