//! `passerelle-load`: a load harness for a Passerelle server on this machine.
//!
//! It runs two phases one after the other in the same process, with the same settings:
//! `RecommendPathways` on real profiles (the occupations of the embedded ROME 4.0 v460
//! export, each as a profile made of its own items, in a seeded random order) and the health
//! check (`grpc.health.v1.Health/Check`, the cost of gRPC alone). Each phase is bounded by a
//! number of requests and a duration, and is preceded by an unmeasured warm-up. It reports
//! throughput (requests per second) and p50/p90/p99/max latency (milliseconds,
//! `hdrhistogram`, 3 significant digits), and the ratio of the two throughputs.
//!
//! Closed loop by default (`--concurrency` workers, each sending its next request when the
//! previous one is answered: throughput at saturation). With `--rate R` it is open loop:
//! request `n` is due at `n / R` seconds and its latency is counted from that due time, so a
//! server that falls behind shows it in the percentiles (no coordinated omission).
//!
//! Loopback only: the address must be `127.0.0.0/8` or `::1`.
//!
//! ```sh
//! cargo run --release -p passerelle-load -- --addr 127.0.0.1:50051 --concurrency 32 --rate 1000
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use passerelle_service::proto::v1::pathway_service_client::PathwayServiceClient;
use passerelle_service::proto::v1::{Profile, RecommendPathwaysRequest, TargetSet};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// The same allocator as the server, so the client's share of the CPU stays small.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Latencies above this are recorded as this, in microseconds (60 s).
const MAX_LATENCY_US: u64 = 60_000_000;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(name = "passerelle-load", version, about = "Load harness for a Passerelle server on loopback")]
struct Args {
    /// Server address; must be a loopback address.
    #[arg(long, default_value = "127.0.0.1:50051")]
    addr: SocketAddr,
    /// Requests in flight at once (workers), 1..=4096.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=4096))]
    concurrency: u64,
    /// HTTP/2 connections the workers share, 1..=64.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    connections: u64,
    /// Most requests per phase (warm-up excluded), 1..=10,000,000.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    requests: u64,
    /// Longest duration of a phase, seconds (0 < d <= 3600).
    #[arg(long, default_value_t = 20.0, value_parser = parse_duration)]
    duration: f64,
    /// Target rate, requests per second (open loop). Absent: as fast as the server answers.
    #[arg(long, value_parser = parse_rate)]
    rate: Option<f64>,
    /// Unmeasured requests before each phase, closed loop, 0..=100,000.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(0..=100_000))]
    warmup: u64,
    /// Target set of the RecommendPathways requests.
    #[arg(long, value_enum, default_value_t = SetArg::DigitalInfrastructure)]
    target_set: SetArg,
    /// `top_k` of the RecommendPathways requests (1..=100).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
    top_k: u32,
    /// `max_other_skills` of the requests (0..=1000); absent: the server's default (10).
    /// 1000 asks for every optional skill of each gap (answers of about 40 KB).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=1000))]
    max_other_skills: Option<u32>,
    /// Which phases to run.
    #[arg(long, value_enum, default_value_t = Phases::Both)]
    phases: Phases,
    /// Client runtime threads (1 leaves the other core of a 2-core machine to the server).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    client_threads: u64,
    /// Seed of the profile order.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Process id of the server (Linux): also report the CPU time it used per request,
    /// which does not depend on how busy the machine is.
    #[arg(long)]
    server_pid: Option<u32>,
}

/// CPU time (user + system) used so far by process `pid` (`None`: this process), in seconds,
/// from `/proc/PID/stat` (Linux; clock ticks of 1/100 s, the kernel's fixed USER_HZ).
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// `--target-set` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SetArg {
    /// Every ROME occupation (1,584).
    All,
    /// The `DIGITAL_INFRASTRUCTURE` set (41 occupations in v460).
    DigitalInfrastructure,
}

/// `--phases` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Phases {
    /// RecommendPathways, then health.
    Both,
    /// RecommendPathways only.
    Recommend,
    /// Health check only.
    Health,
}

fn parse_duration(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(d) if d > 0.0 && d <= 3600.0 => Ok(d),
        _ => Err(format!("`{s}`: a number of seconds in (0, 3600]")),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r > 0.0 && r <= 1_000_000.0 => Ok(r),
        _ => Err(format!("`{s}`: requests per second in (0, 1000000]")),
    }
}

/// Why the harness could not run.
#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("--addr {0}: only loopback addresses (127.0.0.0/8, ::1) are allowed")]
    NotLoopback(SocketAddr),
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: SocketAddr, source: tonic::transport::Error },
    #[error("health check of {addr}: {detail}")]
    NotServing { addr: SocketAddr, detail: String },
    #[error("embedded ROME data: {0}")]
    Data(#[from] passerelle_model::error::DataError),
    #[error("client runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// What one phase measured.
#[derive(Debug)]
struct Report {
    name: &'static str,
    ok: u64,
    errors: BTreeMap<String, u64>,
    elapsed: Duration,
    latency_us: Histogram<u64>,
    /// CPU seconds used by the server and by this client during the measured phase.
    server_cpu: Option<f64>,
    client_cpu: Option<f64>,
}

impl Report {
    fn throughput(&self) -> f64 {
        let done = self.ok + self.errors.values().sum::<u64>();
        done as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn ms(&self, quantile: f64) -> f64 {
        self.latency_us.value_at_quantile(quantile) as f64 / 1000.0
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::try_from(args.client_threads).unwrap_or(1))
        .enable_all()
        .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(run(args)),
        Err(e) => Err(LoadError::Runtime(e)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), LoadError> {
    if !args.addr.ip().is_loopback() {
        return Err(LoadError::NotLoopback(args.addr));
    }
    let mut channels = Vec::new();
    for _ in 0..args.connections {
        let endpoint = Endpoint::from_shared(format!("http://{}", args.addr))
            .map_err(|source| LoadError::Connect { addr: args.addr, source })?
            .tcp_nodelay(true)
            // Grow HTTP/2 flow-control windows with the measured bandwidth-delay product, as
            // the gRPC C, Java and Go clients do; the fixed 64 KiB default would throttle
            // 40 KB answers (10 pathways with their gaps) multiplexed on one connection.
            .http2_adaptive_window(true);
        channels.push(endpoint.connect().await.map_err(|source| LoadError::Connect { addr: args.addr, source })?);
    }
    let status = HealthClient::new(channels[0].clone())
        .check(HealthCheckRequest { service: String::new() })
        .await
        .map_err(|s| LoadError::NotServing { addr: args.addr, detail: s.to_string() })?
        .into_inner()
        .status;
    if status != ServingStatus::Serving as i32 {
        return Err(LoadError::NotServing { addr: args.addr, detail: format!("status {status}, not SERVING yet") });
    }

    // Real profiles: every ROME occupation, each as the profile of its own items.
    let catalogue = passerelle_model::embedded::catalogue()?;
    let mut codes: Vec<String> = catalogue.occupations.iter().map(|o| o.code.clone()).collect();
    codes.shuffle(&mut rand::rngs::StdRng::seed_from_u64(args.seed));
    let target_set = match args.target_set {
        SetArg::All => TargetSet::All,
        SetArg::DigitalInfrastructure => TargetSet::DigitalInfrastructure,
    };
    let requests: Arc<Vec<RecommendPathwaysRequest>> = Arc::new(
        codes
            .into_iter()
            .map(|code| RecommendPathwaysRequest {
                profile: Some(Profile { occupation_code: code, ..Default::default() }),
                top_k: Some(args.top_k),
                target_set: target_set as i32,
                max_other_skills: args.max_other_skills,
                ..Default::default()
            })
            .collect(),
    );

    println!(
        "passerelle-load → {}: concurrency {}, {} connection(s), {} client thread(s), {}, at most {} requests or {} s per phase, warm-up {}; RecommendPathways over {} ROME occupations, target set {:?}, top_k {}, max_other_skills {}",
        args.addr,
        args.concurrency,
        args.connections,
        args.client_threads,
        match args.rate {
            Some(r) => format!("open loop at {r} req/s"),
            None => "closed loop (saturation)".to_string(),
        },
        args.requests,
        args.duration,
        args.warmup,
        requests.len(),
        args.target_set,
        args.top_k,
        args.max_other_skills.map_or("default".to_string(), |m| m.to_string()),
    );

    let mut reports = Vec::new();
    if args.phases != Phases::Health {
        let shared = Arc::clone(&requests);
        let recommend = move |channel: Channel, n: u64| {
            let requests = Arc::clone(&shared);
            async move {
                let index = usize::try_from(n).unwrap_or(0) % requests.len().max(1);
                let request = requests.get(index).cloned().unwrap_or_default();
                PathwayServiceClient::new(channel).recommend_pathways(request).await.map(|_| ())
            }
        };
        reports.push(phase("RecommendPathways", &args, &channels, recommend).await);
    }
    if args.phases != Phases::Recommend {
        let health = |channel: Channel, _n: u64| async move {
            HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await.map(|_| ())
        };
        reports.push(phase("Health/Check", &args, &channels, health).await);
    }

    println!(
        "{:<18} {:>9} {:>7} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "phase", "requests", "errors", "seconds", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for r in &reports {
        println!(
            "{:<18} {:>9} {:>7} {:>8.2} {:>9.0} {:>8.3} {:>8.3} {:>8.3} {:>8.3}",
            r.name,
            r.ok + r.errors.values().sum::<u64>(),
            r.errors.values().sum::<u64>(),
            r.elapsed.as_secs_f64(),
            r.throughput(),
            r.ms(0.50),
            r.ms(0.90),
            r.ms(0.99),
            r.latency_us.max() as f64 / 1000.0,
        );
        let done = (r.ok + r.errors.values().sum::<u64>()).max(1) as f64;
        let per_request = |cpu: Option<f64>| cpu.map_or("n/a".to_string(), |s| format!("{:.3} ms", 1000.0 * s / done));
        println!("  CPU per request: server {}, client {}", per_request(r.server_cpu), per_request(r.client_cpu));
        for (code, count) in &r.errors {
            println!("  {count} × {code}");
        }
    }
    if let [recommend, health] = reports.as_slice() {
        println!(
            "RecommendPathways throughput = {:.1} % of health-check throughput",
            100.0 * recommend.throughput() / health.throughput().max(1e-9)
        );
    }
    Ok(())
}

/// Runs an unmeasured warm-up, then the measured phase, with `args.concurrency` workers
/// spread over `channels`.
async fn phase<F, Fut>(name: &'static str, args: &Args, channels: &[Channel], call: F) -> Report
where
    F: Fn(Channel, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), tonic::Status>> + Send,
{
    if args.warmup > 0 {
        let _ = drive(name, args.concurrency, channels, call.clone(), args.warmup, 60.0, None).await;
    }
    let (server_before, client_before) = (cpu_seconds(args.server_pid), cpu_seconds(None));
    let mut report = drive(name, args.concurrency, channels, call, args.requests, args.duration, args.rate).await;
    if args.server_pid.is_some() {
        report.server_cpu = server_before.zip(cpu_seconds(args.server_pid)).map(|(a, b)| b - a);
    }
    report.client_cpu = client_before.zip(cpu_seconds(None)).map(|(a, b)| b - a);
    report
}

async fn drive<F, Fut>(
    name: &'static str,
    concurrency: u64,
    channels: &[Channel],
    call: F,
    max_requests: u64,
    duration_secs: f64,
    rate: Option<f64>,
) -> Report
where
    F: Fn(Channel, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), tonic::Status>> + Send,
{
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(duration_secs);
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let channel = channels[usize::try_from(w).unwrap_or(0) % channels.len()].clone();
        let issued = Arc::clone(&issued);
        let call = call.clone();
        workers.push(tokio::spawn(async move {
            let mut latency = new_histogram();
            let mut ok = 0u64;
            let mut errors: BTreeMap<String, u64> = BTreeMap::new();
            let mut last = start;
            loop {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= max_requests {
                    break;
                }
                let due = match rate {
                    Some(r) => start + Duration::from_secs_f64(n as f64 / r),
                    None => Instant::now(),
                };
                if due >= deadline {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let result = call(channel.clone(), n).await;
                last = Instant::now();
                let us = u64::try_from(last.duration_since(due).as_micros()).unwrap_or(MAX_LATENCY_US);
                latency.saturating_record(us.clamp(1, MAX_LATENCY_US));
                match result {
                    Ok(()) => ok += 1,
                    Err(status) => *errors.entry(format!("{:?}", status.code())).or_default() += 1,
                }
                if last >= deadline {
                    break;
                }
            }
            (latency, ok, errors, last)
        }));
    }
    let mut report = Report {
        name,
        ok: 0,
        errors: BTreeMap::new(),
        elapsed: Duration::ZERO,
        latency_us: new_histogram(),
        server_cpu: None,
        client_cpu: None,
    };
    let mut end = start;
    for worker in workers {
        match worker.await {
            Ok((latency, ok, errors, last)) => {
                let _ = report.latency_us.add(&latency);
                report.ok += ok;
                for (code, count) in errors {
                    *report.errors.entry(code).or_default() += count;
                }
                end = end.max(last);
            }
            Err(e) => *report.errors.entry(format!("worker failed: {e}")).or_default() += 1,
        }
    }
    report.elapsed = end.duration_since(start);
    report
}

#[allow(clippy::expect_used)]
fn new_histogram() -> Histogram<u64> {
    // Constant bounds (1 µs to 60 s, 3 significant digits) that hdrhistogram accepts.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}
