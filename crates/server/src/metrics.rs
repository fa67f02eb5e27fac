//! Prometheus metrics (OpenMetrics text at `/metrics`).
//!
//! HTTP requests are counted and timed by method, **route template** (`/api/v1/organizations/{org_id}`,
//! never the raw path, which may carry ids or secrets) and status. Other parts of Trestle
//! register their own metrics with [`Metrics::register`].

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};

/// The registry and the HTTP metrics. Cheap to clone; every clone shares the same registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    http_requests: Family<HttpLabels, Counter>,
    http_request_duration: Family<HttpLabels, Histogram, fn() -> Histogram>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Metrics")
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

fn request_duration_histogram() -> Histogram {
    // 0.5 ms .. about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The content type of [`Metrics::encode`]'s output.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl Metrics {
    /// A fresh registry with the HTTP metrics registered. Each server gets its own (no global
    /// state), so several servers in one test process never mix their numbers.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("trestle");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_request_duration =
            Family::<HttpLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                request_duration_histogram,
            );
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by method, route template and status",
            http_request_duration.clone(),
        );
        Metrics {
            registry: Arc::new(Mutex::new(registry)),
            http_requests,
            http_request_duration,
        }
    }

    /// Registers another metric (name without the `trestle_` prefix, which is added).
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        if let Ok(mut registry) = self.registry.lock() {
            registry.register(name, help, metric);
        }
    }

    /// Renders every metric in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Ok(registry) = self.registry.lock() {
            // Writing into a String cannot fail.
            let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        }
        text
    }

    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = HttpLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        self.http_requests.get_or_create(&labels).inc();
        self.http_request_duration
            .get_or_create(&labels)
            .observe(seconds);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Middleware (outermost layer) that records every request, under the route template that
/// [`remember_matched_route`] left in the response, or `unmatched`.
pub async fn track_http_metrics(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = known_method_name(request.method());
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    metrics.record(
        method,
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Route layer: routing has happened, so the matched template is known; hand it outwards.
pub async fn remember_matched_route(request: Request, next: Next) -> Response {
    let matched_path = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(matched_path) = matched_path {
        response.extensions_mut().insert(matched_path);
    }
    response
}

/// Label values come from a fixed set so a client cannot grow the label space.
fn known_method_name(method: &axum::http::Method) -> &'static str {
    match *method {
        axum::http::Method::GET => "GET",
        axum::http::Method::POST => "POST",
        axum::http::Method::PUT => "PUT",
        axum::http::Method::PATCH => "PATCH",
        axum::http::Method::DELETE => "DELETE",
        axum::http::Method::HEAD => "HEAD",
        axum::http::Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_by_route_template() {
        let metrics = Metrics::new();
        metrics.record("GET", "/api/v1/organizations/{org_id}", 200, 0.01);
        let text = metrics.encode();
        assert!(text.contains("trestle_http_requests_total{method=\"GET\",route=\"/api/v1/organizations/{org_id}\",status=\"200\"} 1"), "{text}");
        assert!(text.contains("trestle_http_request_duration_seconds_bucket"));
    }
}
