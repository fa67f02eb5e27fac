//! Benchmark: requests through the outbound engine versus the same requests made directly
//! with a plain reqwest client, against a loopback upstream, in the same run.
//!
//! ```text
//! bench_outbound serve [--port 9300]          # the upstream (a tiny axum server)
//! bench_outbound [--upstream URL] [--candidate-url URL] [--rounds 7] [--requests 2000]
//!                [--concurrency 8] [--throughput-requests 8000]
//! bench_outbound profile --upstream URL --candidate direct|engine|engine+connection
//!                [--requests N]               # one candidate, sequential, one thread
//! ```
//! `profile` is for `valgrind --tool=callgrind` or `perf record`: run it with two request
//! counts and divide the difference in instructions by the difference in requests to get the
//! client's instructions per request, free of start-up costs and of machine load
//! (scripts/bench-outbound.sh --instructions does this).
//!
//! Without `--upstream` an upstream runs inside this process. Candidates measured against the
//! direct baseline:
//! - `engine`: `OutboundEngine::send` without a connection (SSRF guard on, loopback allowed
//!   through `egress.allow`);
//! - `engine+connection`: with a credential, host allow-list, a stand-in route from a service
//!   host to the upstream, and response redaction;
//! - `direct+authorization`: direct again, with the same Authorization header as the
//!   connection candidate (its fair baseline: the header costs client and upstream alike);
//! - `url` (with `--candidate-url`): a plain GET of another URL, e.g. the server's proxy
//!   endpoint forwarding to the same upstream.
//!
//! Latency is measured one request at a time; throughput with `--concurrency` requests in
//! flight. Rounds alternate baseline and candidates; the report gives per-round figures and
//! their medians.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use trestle_outbound::{
    CredentialAttachment, EgressContext, EgressPolicy, HostRoutes, OutboundConfig, OutboundEngine,
    OutboundRequest, RetryPolicy, StaticHostList,
};

const BODY: &str = r#"{"data":[{"id":"4876876000000624001","Last_Name":"Doe","First_Name":"Jane","Email":"jane@example.com"}],"info":{"more_records":false}}"#;

struct Options {
    upstream: Option<String>,
    candidate_url: Option<String>,
    candidate: Option<String>,
    rounds: usize,
    requests: usize,
    concurrency: usize,
    throughput_requests: usize,
    upstream_pid: Option<u32>,
}

fn parse_options(arguments: &[String]) -> Options {
    let mut options = Options {
        upstream: None,
        candidate_url: None,
        candidate: None,
        rounds: 7,
        requests: 2000,
        concurrency: 8,
        throughput_requests: 8000,
        upstream_pid: None,
    };
    let mut index = 0;
    while index < arguments.len() {
        let value = arguments.get(index + 1).cloned().unwrap_or_default();
        match arguments[index].as_str() {
            "--upstream" => options.upstream = Some(value),
            "--candidate-url" => options.candidate_url = Some(value),
            "--candidate" => options.candidate = Some(value),
            "--rounds" => options.rounds = value.parse().expect("--rounds N"),
            "--requests" => options.requests = value.parse().expect("--requests N"),
            "--concurrency" => options.concurrency = value.parse().expect("--concurrency N"),
            "--throughput-requests" => {
                options.throughput_requests = value.parse().expect("--throughput-requests N")
            }
            "--upstream-pid" => {
                options.upstream_pid = Some(value.parse().expect("--upstream-pid N"))
            }
            other => panic!("unknown option {other}"),
        }
        index += 2;
    }
    options
}

async fn serve(listener: tokio::net::TcpListener) {
    let app = axum::Router::new().fallback(|| async {
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            BODY,
        )
    });
    axum::serve(listener, app).await.unwrap();
}

#[derive(Clone)]
enum Candidate {
    Direct(reqwest::Client, String),
    /// Direct, sending the same Authorization header the connection candidate attaches.
    DirectWithAuthorization(reqwest::Client, String, String),
    Engine(OutboundEngine, String),
    EngineWithConnection(
        OutboundEngine,
        Arc<CredentialAttachment>,
        Arc<EgressContext>,
        String,
    ),
}

impl Candidate {
    async fn once(&self) {
        match self {
            Candidate::Direct(client, url) => {
                let response = client.get(url).send().await.unwrap();
                assert!(response.status().is_success());
                let body = response.bytes().await.unwrap();
                assert!(!body.is_empty());
            }
            Candidate::DirectWithAuthorization(client, url, authorization) => {
                let response = client
                    .get(url)
                    .header(reqwest::header::AUTHORIZATION, authorization)
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
                let body = response.bytes().await.unwrap();
                assert!(!body.is_empty());
            }
            Candidate::Engine(engine, url) => {
                let response = engine
                    .send(OutboundRequest::get(url), None, &EgressContext::new())
                    .await
                    .unwrap();
                assert_eq!(response.status, 200);
            }
            Candidate::EngineWithConnection(engine, credential, context, url) => {
                let response = engine
                    .send(OutboundRequest::get(url), Some(credential), context)
                    .await
                    .unwrap();
                assert_eq!(response.status, 200);
            }
        }
    }
}

struct LatencyRound {
    p50: Duration,
    p99: Duration,
}

async fn latency_round(candidate: &Candidate, requests: usize) -> LatencyRound {
    let mut samples = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        candidate.once().await;
        samples.push(started.elapsed());
    }
    samples.sort();
    LatencyRound {
        p50: samples[samples.len() / 2],
        p99: samples[(samples.len() * 99 / 100).min(samples.len() - 1)],
    }
}

/// CPU time (ns) used so far by every live thread of a process, from /proc/<pid>/task/*/schedstat.
/// Machine load changes wall-clock throughput a lot; CPU spent per request does not.
fn process_cpu_ns(pid: Option<u32>) -> Option<u64> {
    let process = pid.map_or_else(|| "self".to_owned(), |pid| pid.to_string());
    let mut total = 0u64;
    for entry in std::fs::read_dir(format!("/proc/{process}/task")).ok()? {
        let path = entry.ok()?.path().join("schedstat");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        total += text
            .split_whitespace()
            .next()
            .and_then(|field| field.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Some(total)
}

struct ThroughputRound {
    requests_per_second: f64,
    client_cpu_us_per_request: Option<f64>,
    upstream_cpu_us_per_request: Option<f64>,
}

async fn throughput_round(
    candidate: &Candidate,
    requests: usize,
    concurrency: usize,
    upstream_pid: Option<u32>,
) -> ThroughputRound {
    let per_task = requests / concurrency;
    let client_before = process_cpu_ns(None);
    let upstream_before = upstream_pid.and_then(|pid| process_cpu_ns(Some(pid)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let candidate = candidate.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_task {
                candidate.once().await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let done = (per_task * concurrency) as f64;
    let per_request = |before: Option<u64>, after: Option<u64>| {
        Some((after?.saturating_sub(before?)) as f64 / 1000.0 / done)
    };
    ThroughputRound {
        requests_per_second: done / elapsed.as_secs_f64(),
        client_cpu_us_per_request: per_request(client_before, process_cpu_ns(None)),
        upstream_cpu_us_per_request: per_request(
            upstream_before,
            upstream_pid.and_then(|pid| process_cpu_ns(Some(pid))),
        ),
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|left, right| left.partial_cmp(right).unwrap());
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let arguments = std::env::args().skip(1).collect::<Vec<_>>();
    match arguments.first().map(String::as_str) {
        Some("serve") => {
            let port = arguments
                .iter()
                .position(|argument| argument == "--port")
                .and_then(|index| arguments.get(index + 1))
                .map_or(9300, |port| port.parse().expect("--port N"));
            multi_thread_runtime().block_on(async {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .unwrap();
                eprintln!("upstream listening on http://127.0.0.1:{port}");
                serve(listener).await;
            });
        }
        Some("profile") => {
            // One thread, so instruction counts do not include work-stealing between workers.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(profile(parse_options(&arguments[1..])));
        }
        _ => multi_thread_runtime().block_on(benchmark(parse_options(&arguments))),
    }
}

fn multi_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The baseline and every candidate against `upstream`, named as the report names them.
fn build_candidates(upstream: &str) -> Vec<(String, Candidate)> {
    let upstream_url = format!("{upstream}/crm/v2/Leads/4876876000000624001");
    let engine = OutboundEngine::new(OutboundConfig {
        egress: EgressPolicy::from_allow_list(["127.0.0.1/32", "::1/128"]).unwrap(),
        retry: RetryPolicy::disabled(),
        ..OutboundConfig::default()
    })
    .unwrap();
    let authorization =
        "Zoho-oauthtoken 1000.0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef";
    let credential = Arc::new(
        CredentialAttachment::new(
            "bench__crm",
            Arc::new(StaticHostList::new(["www.zohoapis.com"])),
        )
        .with_header("Authorization", authorization),
    );
    let context = Arc::new(
        EgressContext::new().with_routes(
            HostRoutes::new()
                .with_route("www.zohoapis.com", upstream)
                .unwrap(),
        ),
    );
    vec![
        (
            "direct".to_owned(),
            Candidate::Direct(reqwest::Client::new(), upstream_url.clone()),
        ),
        (
            "engine".to_owned(),
            Candidate::Engine(engine.clone(), upstream_url.clone()),
        ),
        (
            "engine+connection".to_owned(),
            Candidate::EngineWithConnection(
                engine,
                credential,
                context,
                "https://www.zohoapis.com/crm/v2/Leads/4876876000000624001".to_owned(),
            ),
        ),
        (
            "direct+authorization".to_owned(),
            Candidate::DirectWithAuthorization(
                reqwest::Client::new(),
                upstream_url,
                authorization.to_owned(),
            ),
        ),
    ]
}

async fn profile(options: Options) {
    let upstream = options
        .upstream
        .expect("profile needs --upstream URL (start one with `serve`)");
    let wanted = options
        .candidate
        .expect("profile needs --candidate direct|engine|engine+connection");
    let (_, candidate) = build_candidates(upstream.trim_end_matches('/'))
        .into_iter()
        .find(|(name, _)| *name == wanted)
        .unwrap_or_else(|| panic!("unknown candidate {wanted}"));
    for _ in 0..options.requests {
        candidate.once().await;
    }
}

async fn benchmark(options: Options) {
    let upstream = match &options.upstream {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            tokio::spawn(serve(listener));
            format!("http://{address}")
        }
    };
    let upstream_url = format!("{upstream}/crm/v2/Leads/4876876000000624001");
    let mut named = build_candidates(&upstream);
    let (_, direct) = named.remove(0);
    let (mut candidate_names, mut candidates): (Vec<String>, Vec<Candidate>) =
        named.into_iter().unzip();
    if let Some(url) = &options.candidate_url {
        candidates.push(Candidate::Direct(reqwest::Client::new(), url.clone()));
        candidate_names.push(format!("url {url}"));
    }

    println!("upstream: {upstream_url}");
    println!(
        "rounds: {}, latency requests per round: {} (sequential), throughput requests per round: {} ({} in flight)",
        options.rounds, options.requests, options.throughput_requests, options.concurrency
    );
    // Warm up pools and caches.
    for candidate in std::iter::once(&direct).chain(candidates.iter()) {
        latency_round(candidate, 200).await;
    }

    let mut added_p50 = vec![Vec::new(); candidates.len()];
    let mut added_p99 = vec![Vec::new(); candidates.len()];
    let mut ratio = vec![Vec::new(); candidates.len()];
    let mut cpu_ratio = vec![Vec::new(); candidates.len()];
    let mut client_cpu = vec![Vec::new(); candidates.len()];
    // Per round and candidate: p50, p99, req/s, client + upstream CPU per request.
    let mut figures: Vec<Vec<[f64; 4]>> = vec![Vec::new(); candidates.len()];
    let mut direct_p50 = Vec::new();
    let mut direct_p99 = Vec::new();
    let mut direct_rps = Vec::new();
    let mut direct_client_cpu = Vec::new();
    let mut direct_upstream_cpu = Vec::new();
    for round in 1..=options.rounds {
        let baseline = latency_round(&direct, options.requests).await;
        let baseline_throughput = throughput_round(
            &direct,
            options.throughput_requests,
            options.concurrency,
            options.upstream_pid,
        )
        .await;
        direct_p50.push(micros(baseline.p50));
        direct_p99.push(micros(baseline.p99));
        direct_rps.push(baseline_throughput.requests_per_second);
        let baseline_cpu = baseline_throughput.client_cpu_us_per_request.unwrap_or(0.0)
            + baseline_throughput
                .upstream_cpu_us_per_request
                .unwrap_or(0.0);
        direct_client_cpu.push(baseline_throughput.client_cpu_us_per_request.unwrap_or(0.0));
        direct_upstream_cpu.push(
            baseline_throughput
                .upstream_cpu_us_per_request
                .unwrap_or(0.0),
        );
        print!(
            "round {round}: direct p50 {:.1} us p99 {:.1} us {:.0} req/s cpu {:.1}+{:.1} us/req",
            micros(baseline.p50),
            micros(baseline.p99),
            baseline_throughput.requests_per_second,
            baseline_throughput.client_cpu_us_per_request.unwrap_or(0.0),
            baseline_throughput
                .upstream_cpu_us_per_request
                .unwrap_or(0.0),
        );
        for (index, candidate) in candidates.iter().enumerate() {
            let measured = latency_round(candidate, options.requests).await;
            let throughput = throughput_round(
                candidate,
                options.throughput_requests,
                options.concurrency,
                options.upstream_pid,
            )
            .await;
            let candidate_cpu = throughput.client_cpu_us_per_request.unwrap_or(0.0)
                + throughput.upstream_cpu_us_per_request.unwrap_or(0.0);
            added_p50[index].push(micros(measured.p50) - micros(baseline.p50));
            added_p99[index].push(micros(measured.p99) - micros(baseline.p99));
            ratio[index]
                .push(throughput.requests_per_second / baseline_throughput.requests_per_second);
            client_cpu[index].push(throughput.client_cpu_us_per_request.unwrap_or(0.0));
            figures[index].push([
                micros(measured.p50),
                micros(measured.p99),
                throughput.requests_per_second,
                candidate_cpu,
            ]);
            if candidate_cpu > 0.0 {
                cpu_ratio[index].push(baseline_cpu / candidate_cpu);
            }
            print!(
                " | {} p50 {:.1} us p99 {:.1} us {:.0} req/s cpu {:.1}+{:.1} us/req",
                candidate_names[index],
                micros(measured.p50),
                micros(measured.p99),
                throughput.requests_per_second,
                throughput.client_cpu_us_per_request.unwrap_or(0.0),
                throughput.upstream_cpu_us_per_request.unwrap_or(0.0),
            );
        }
        println!();
    }
    println!();
    println!(
        "direct (median of rounds): p50 {:.1} us, p99 {:.1} us, {:.0} req/s, CPU per request: client {:.1} us, upstream {:.1} us",
        median(&mut direct_p50),
        median(&mut direct_p99),
        median(&mut direct_rps),
        median(&mut direct_client_cpu),
        median(&mut direct_upstream_cpu),
    );
    for (index, name) in candidate_names.iter().enumerate() {
        let cpu_figure = if cpu_ratio[index].is_empty() {
            "n/a".to_owned()
        } else {
            format!("{:.1}%", 100.0 * median(&mut cpu_ratio[index]))
        };
        println!(
            "{name} (median of rounds): added p50 {:+.1} us, added p99 {:+.1} us, wall throughput {:.1}% of direct, client CPU {:.1} us/req, CPU-bound throughput {cpu_figure} of direct",
            median(&mut added_p50[index]),
            median(&mut added_p99[index]),
            100.0 * median(&mut ratio[index]),
            median(&mut client_cpu[index]),
        );
    }
    // The connection candidate sends an Authorization header, which costs client and upstream
    // something whoever sends it: compared with a direct request carrying the same header.
    let position = |name: &str| {
        candidate_names
            .iter()
            .position(|candidate| candidate == name)
    };
    if let (Some(engine_index), Some(direct_index)) = (
        position("engine+connection"),
        position("direct+authorization"),
    ) {
        let pairs = figures[engine_index]
            .iter()
            .zip(&figures[direct_index])
            .collect::<Vec<_>>();
        let mut added_p50 = pairs.iter().map(|(e, d)| e[0] - d[0]).collect::<Vec<_>>();
        let mut added_p99 = pairs.iter().map(|(e, d)| e[1] - d[1]).collect::<Vec<_>>();
        let mut wall = pairs.iter().map(|(e, d)| e[2] / d[2]).collect::<Vec<_>>();
        let mut cpu = pairs
            .iter()
            .filter(|(e, _)| e[3] > 0.0)
            .map(|(e, d)| d[3] / e[3])
            .collect::<Vec<_>>();
        let cpu_figure = if cpu.is_empty() {
            "n/a".to_owned()
        } else {
            format!("{:.1}%", 100.0 * median(&mut cpu))
        };
        println!(
            "engine+connection vs direct+authorization (median of rounds): added p50 {:+.1} us, added p99 {:+.1} us, wall throughput {:.1}%, CPU-bound throughput {cpu_figure}",
            median(&mut added_p50),
            median(&mut added_p99),
            100.0 * median(&mut wall),
        );
    }
}
