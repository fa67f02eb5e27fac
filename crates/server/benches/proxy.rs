//! Added latency and throughput of the proxy API and of invokeurl through `functions/run`,
//! against a loopback upstream, compared with calling the upstream directly in the same run.
//! Needs oidc-provider (TRESTLE_TEST_OIDC_ISSUER) to authorize the connection. With
//! `BENCH_STORE=postgres` and TRESTLE_TEST_POSTGRES_URL the server's store is a fresh
//! PostgreSQL database instead of a SQLite file.
//! Run with scripts/bench-proxy.sh, which starts the peer and repeats the run.
//!
//! The upstream is a minimal axum server answering one JSON document (no request recording,
//! no matching), the same for the direct and the proxied path. Client, Trestle and upstream
//! share this process and the machine's cores, so the CPU time per request (getrusage of the
//! whole process during the throughput phase) is printed beside the ratio: the proxied path
//! does a second HTTP server and client hop on the same cores.
//!
//! A reference proxy runs beside Trestle: a bare axum handler forwarding to the same upstream
//! with a plain reqwest client and streaming the body back, nothing else (no auth, no policy,
//! no redaction). It marks the cheapest plausible hop on this machine.
//!
//! With `BENCH_PROXY_INSTRUCTIONS=N` the bench instead sends N sequential requests per
//! candidate (direct, reference proxy, Trestle proxy, invokeurl) after a warm-up, calling
//! [`callgrind_phase_boundary`] between candidates: under
//! `valgrind --tool=callgrind --dump-before='*callgrind_phase_boundary*'` each candidate's
//! instructions land in their own dump (`scripts/bench-proxy.sh --instructions`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The same global allocator as the `trestle` binary, so the bench measures what `trestle serve`
// runs (the server, the client and the upstream all share this process).
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/functions_support/mod.rs"]
mod functions_support;

use std::time::{Duration, Instant};

use functions_support::*;
use serde_json::json;
use trestle_store::EnvironmentKind;

const WARMUP: usize = 300;
const SAMPLES: usize = 3000;
const CONCURRENCY: usize = 8;
const THROUGHPUT_WINDOW: Duration = Duration::from_secs(3);

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

/// User plus system CPU time of this whole process so far (from /proc, in clock ticks of
/// 10 ms; the windows below are long enough for that).
fn process_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

async fn latencies(client: &reqwest::Client, url: &str, token: Option<&str>) -> Vec<Duration> {
    let send = || {
        let mut request = client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    for _ in 0..WARMUP {
        let response = send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
    }
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let response = send().await.unwrap();
        response.bytes().await.unwrap();
        samples.push(started.elapsed());
    }
    samples.sort();
    samples
}

/// Requests per second with CONCURRENCY clients, and the process CPU time per request.
async fn throughput(client: &reqwest::Client, url: &str, token: Option<&str>) -> (f64, Duration) {
    let cpu_before = process_cpu_time();
    let deadline = Instant::now() + THROUGHPUT_WINDOW;
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let client = client.clone();
        let url = url.to_owned();
        let token = token.map(str::to_owned);
        workers.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                let mut request = client.get(&url);
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for worker in workers {
        total += worker.await.unwrap();
    }
    let cpu = process_cpu_time().saturating_sub(cpu_before);
    (
        total as f64 / THROUGHPUT_WINDOW.as_secs_f64(),
        cpu / (total.max(1) as u32),
    )
}

fn report(
    name: &str,
    direct: &[Duration],
    through: &[Duration],
    (direct_rps, direct_cpu): (f64, Duration),
    (through_rps, through_cpu): (f64, Duration),
) {
    let added = |fraction| {
        percentile(through, fraction).as_micros() as i128
            - percentile(direct, fraction).as_micros() as i128
    };
    println!(
        "{name}: direct p50 {} us p99 {} us; through p50 {} us p99 {} us; added p50 {} us p99 {} us; throughput direct {:.0}/s through {:.0}/s ratio {:.3}; cpu per request direct {} us through {} us",
        percentile(direct, 0.5).as_micros(),
        percentile(direct, 0.99).as_micros(),
        percentile(through, 0.5).as_micros(),
        percentile(through, 0.99).as_micros(),
        added(0.5),
        added(0.99),
        direct_rps,
        through_rps,
        through_rps / direct_rps,
        direct_cpu.as_micros(),
        through_cpu.as_micros(),
    );
}

/// A minimal upstream: one JSON document for `GET /api/v3/contacts`.
async fn start_upstream() -> String {
    use axum::routing::get;
    let body = json!({ "code": 0, "contacts": [{ "contact_id": "1", "contact_name": "Ada" }] });
    let app = axum::Router::new().route(
        "/api/v3/contacts",
        get(move || {
            let body = body.clone();
            async move { axum::Json(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

/// The cheapest plausible proxy hop: any path forwarded to `upstream` with a plain reqwest
/// client, status, content type and streamed body passed back.
async fn start_reference_proxy(upstream: String) -> String {
    use axum::body::Body;
    use axum::extract::Request;
    use axum::response::Response;
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |request: Request| {
        let client = client.clone();
        let target = format!(
            "{upstream}{}",
            request
                .uri()
                .path_and_query()
                .map(|path| path.as_str())
                .unwrap_or("/")
        );
        async move {
            let upstream_response = client.get(target).send().await.unwrap();
            let mut response = Response::builder().status(upstream_response.status());
            if let Some(content_type) = upstream_response.headers().get("content-type") {
                response = response.header("content-type", content_type.clone());
            }
            response
                .body(Body::from_stream(upstream_response.bytes_stream()))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

/// Callgrind dumps its counters before each call (`--dump-before`), so the instructions
/// between two calls are one candidate's. Does nothing otherwise.
#[inline(never)]
fn callgrind_phase_boundary(phase: &str) {
    eprintln!("phase: {}", std::hint::black_box(phase));
}

/// `count` sequential GETs of `url`, each body read to the end.
async fn sequential_requests(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    count: usize,
) {
    for _ in 0..count {
        let mut request = client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
    }
}

/// The store the bench's server uses: a SQLite file (default) or a new PostgreSQL database.
async fn database_url() -> Option<String> {
    if std::env::var("BENCH_STORE").as_deref() != Ok("postgres") {
        return None;
    }
    let cluster_url = trestle_testkit::variable_or_skip(
        "TRESTLE_TEST_POSTGRES_URL",
        "bench proxy on PostgreSQL",
    )?;
    // A fresh database, so every run starts empty.
    Some(trestle_testkit::postgres::create_database(&cluster_url, "trestle_bench").await)
}

fn main() {
    let Some(issuer) = trestle_testkit::variable_or_skip("TRESTLE_TEST_OIDC_ISSUER", "bench proxy")
    else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let database_url = database_url().await;
        let harness = start_on_database(issuer, database_url).await;
        println!("store: {}", harness.store.backend_name());
        let upstream = start_upstream().await;
        harness
            .runtime
            .set_routes(
                harness.organization,
                EnvironmentKind::Sandbox,
                vec![trestle_runtime::EgressRoute {
                    host: "books.zoho.com".into(),
                    target: upstream.clone(),
                }],
            )
            .await
            .unwrap();
        let client = reqwest::Client::new();
        let direct_url = format!("{upstream}/api/v3/contacts");
        let proxy_url = format!(
            "{}/api/v1/environments/sandbox/proxy/{BOOKS_LINK}/contacts",
            harness.base_url
        );
        let reference_url = format!(
            "{}/api/v3/contacts",
            start_reference_proxy(upstream.clone()).await
        );
        let script = format!(
            "for each i in {{1,2,3,4,5,6,7,8,9,10}} {{ for each j in {{1,2,3,4,5,6,7,8,9,10}} {{ r = invokeurl [ url: \"https://books.zoho.com/api/v3/contacts\" type: GET connection: \"{BOOKS_LINK}\" ]; s = invokeurl [ url: \"https://books.zoho.com/api/v3/contacts\" type: GET connection: \"{BOOKS_LINK}\" ]; }} }}\nreturn 1;"
        );
        // Calls per run of `script`.
        let calls: u32 = 200;

        if let Ok(count) = std::env::var("BENCH_PROXY_INSTRUCTIONS") {
            let count: usize = count.parse().expect("BENCH_PROXY_INSTRUCTIONS is a number");
            // Warm-up: pools, caches and lazily built state of every path.
            sequential_requests(&client, &direct_url, None, 200).await;
            sequential_requests(&client, &reference_url, None, 200).await;
            sequential_requests(&client, &proxy_url, Some(&harness.token), 200).await;
            harness.run(&script, json!({})).await;
            callgrind_phase_boundary("direct");
            sequential_requests(&client, &direct_url, None, count).await;
            callgrind_phase_boundary("reference");
            sequential_requests(&client, &reference_url, None, count).await;
            callgrind_phase_boundary("proxy");
            sequential_requests(&client, &proxy_url, Some(&harness.token), count).await;
            callgrind_phase_boundary("invokeurl");
            for _ in 0..count.div_ceil(calls as usize) {
                let report = harness.run(&script, json!({})).await;
                assert!(report.get("error").is_none(), "{report}");
            }
            callgrind_phase_boundary("end");
            println!(
                "instructions: {count} requests per phase; invokeurl {} runs of {calls} calls",
                count.div_ceil(calls as usize)
            );
            return;
        }

        let direct = latencies(&client, &direct_url, None).await;
        let proxied = latencies(&client, &proxy_url, Some(&harness.token)).await;
        let reference = latencies(&client, &reference_url, None).await;
        let direct_throughput = throughput(&client, &direct_url, None).await;
        let proxied_throughput = throughput(&client, &proxy_url, Some(&harness.token)).await;
        let reference_throughput = throughput(&client, &reference_url, None).await;
        report(
            "proxy",
            &direct,
            &proxied,
            direct_throughput,
            proxied_throughput,
        );
        report(
            "reference proxy",
            &direct,
            &reference,
            direct_throughput,
            reference_throughput,
        );

        // invokeurl: one functions/run doing `calls` calls, per call, against direct calls.
        let mut per_call_run = Vec::new();
        let mut per_call_direct = Vec::new();
        for _ in 0..7 {
            let started = Instant::now();
            let report = harness.run(&script, json!({})).await;
            assert!(report.get("error").is_none(), "{report}");
            per_call_run.push(started.elapsed() / calls);
            let started = Instant::now();
            for _ in 0..calls {
                client
                    .get(&direct_url)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
            }
            per_call_direct.push(started.elapsed() / calls);
        }
        per_call_run.sort();
        per_call_direct.sort();
        let run_median = per_call_run[per_call_run.len() / 2];
        let direct_median = per_call_direct[per_call_direct.len() / 2];
        println!(
            "invokeurl: per call through functions/run {} us, direct {} us, added {} us, throughput ratio {:.3}",
            run_median.as_micros(),
            direct_median.as_micros(),
            run_median.as_micros() as i128 - direct_median.as_micros() as i128,
            direct_median.as_secs_f64() / run_median.as_secs_f64()
        );
    });
}
