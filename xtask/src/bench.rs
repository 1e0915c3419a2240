//! `cargo xtask bench`: the purchase benchmark, against its floor.
//!
//! Builds release binaries. First the floor (`xtask/floor`: the same five processes on the same
//! ports and paths, answering fixed JSON, with a gateway making the same four calls), then the
//! stack on fresh SQLite files (the durable default) with warnings-only logs: each warmed up,
//! then driven with the same wrk load (`POST /purchase`, a fresh Idempotency-Key each). Prints
//! both side by side: throughput, p50, p99, p99.9, errors, the stack's throughput as a fraction
//! of the floor's, and each process's CPU per purchase and RSS.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::process::Command;

use crate::{
    Running, SERVICES, binary, build, run_to_end, spawn, start_fresh, stop, wait_until_ready,
    workspace_root,
};

pub async fn run(
    connections: u32,
    duration: &str,
    threads: u32,
    postgres: Option<&str>,
) -> Result<(), String> {
    ensure_wrk().await?;
    let root = workspace_root();
    build(&root, true, &["nfip-floor"]).await?;
    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let load = Load {
        connections,
        duration,
        threads,
        run_id,
    };

    let mut floor = start_floor(&root)?;
    let measured = load.measure(&root, &mut floor, "floor").await;
    stop(&mut floor).await;
    let floor = measured?;

    let databases = match postgres {
        Some(server) => Some(fresh_postgres(server).await?),
        None => None,
    };
    let (mut running, data) = start_fresh(&root, true, "warn", databases.as_deref())?;
    let measured = load.measure(&root, &mut running, "nfip").await;
    stop(&mut running).await;
    let _ = std::fs::remove_dir_all(&data);
    if let Some(server) = postgres {
        drop_postgres(server).await?;
    }
    let ours = measured?;

    let store = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    load.report(&floor, &ours, store);
    Ok(())
}

/// Fresh PostgreSQL databases for the stack (`nfip_bench_<service>`, made anew), one URL per
/// service in `SERVICES`' order.
async fn fresh_postgres(server: &str) -> Result<Vec<String>, String> {
    drop_postgres(server).await?;
    let server = server.trim_end_matches('/');
    let mut urls = Vec::new();
    for service in &SERVICES {
        let database = format!("nfip_bench_{}", service.name);
        psql(server, &format!("CREATE DATABASE {database}")).await?;
        urls.push(format!("{server}/{database}"));
    }
    Ok(urls)
}

async fn drop_postgres(server: &str) -> Result<(), String> {
    let server = server.trim_end_matches('/');
    for service in &SERVICES {
        let sql = format!(
            "DROP DATABASE IF EXISTS nfip_bench_{} WITH (FORCE)",
            service.name
        );
        psql(server, &sql).await?;
    }
    Ok(())
}

async fn psql(server: &str, sql: &str) -> Result<(), String> {
    let output = Command::new("psql")
        .args([&format!("{server}/postgres"), "-qc", sql])
        .output()
        .await
        .map_err(|e| format!("psql is needed to make the databases: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{sql}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// The floor's five processes, on the stack's ports.
fn start_floor(root: &Path) -> Result<Vec<Running>, String> {
    SERVICES
        .iter()
        .map(|service| {
            let mut command = Command::new(binary(root, true, "floor"));
            command
                .args(["--role", service.name, "--listen"])
                .arg(format!("127.0.0.1:{}", service.port));
            spawn(service.name, command)
        })
        .collect()
}

/// The wrk load both sides get.
struct Load<'a> {
    connections: u32,
    duration: &'a str,
    threads: u32,
    run_id: u64,
}

/// What one side measured.
struct Measured {
    throughput: f64,
    p50: String,
    p99: String,
    p999: String,
    errors: String,
    /// Per process: name, idle RSS and loaded RSS in MB, CPU µs per purchase.
    processes: Vec<(&'static str, f64, f64, f64)>,
}

impl Load<'_> {
    async fn measure(
        &self,
        root: &Path,
        running: &mut [Running],
        label: &str,
    ) -> Result<Measured, String> {
        wait_until_ready(running).await?;
        let idle = rss(running);
        let script = root.join("xtask").join("bench").join("purchase.lua");
        let wrk = |duration: &str, tag: String| {
            let mut command = Command::new("wrk");
            command
                .args(["--latency", "-t", &self.threads.to_string()])
                .args(["-c", &self.connections.to_string(), "-d", duration, "-s"])
                .arg(&script)
                .arg("http://127.0.0.1:8080")
                .args(["--", &tag]);
            command
        };
        println!("{label}: warming up (5s)…");
        wrk("5s", format!("{label}-{}w", self.run_id))
            .output()
            .await
            .map_err(|e| format!("wrk: {e}"))?;
        println!(
            "{label}: measuring POST /purchase at {} connections for {}…",
            self.connections, self.duration
        );
        let cpu_before = cpu(running);
        let output = wrk(self.duration, format!("{label}-{}", self.run_id))
            .output()
            .await
            .map_err(|e| format!("wrk: {e}"))?;
        let cpu_after = cpu(running);
        let report = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            return Err(format!(
                "wrk failed:\n{report}{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let loaded = rss(running);
        println!("\n{label}:\n{report}");
        let field = |prefix: &str| {
            report
                .lines()
                .map(str::trim)
                .find_map(|line| line.strip_prefix(prefix))
                .map_or_else(|| String::from("?"), |rest| rest.trim().to_owned())
        };
        let requests: f64 = report
            .lines()
            .find_map(|line| line.trim().split_once(" requests in "))
            .and_then(|(n, _)| n.trim().parse().ok())
            .unwrap_or(f64::NAN);
        let errors = field("Non-2xx or 3xx responses:");
        let processes = idle
            .iter()
            .zip(&loaded)
            .zip(cpu_before.iter().zip(&cpu_after))
            .map(|(((name, before), (_, after)), (start, end))| {
                (*name, *before, *after, (end - start) * 1e6 / requests)
            })
            .collect();
        Ok(Measured {
            throughput: field("Requests/sec:").parse().unwrap_or(f64::NAN),
            p50: field("50%"),
            p99: field("99%"),
            p999: field("99.9%"),
            errors: if errors == "?" {
                String::from("0")
            } else {
                errors
            },
            processes,
        })
    }

    fn report(&self, floor: &Measured, ours: &Measured, store: &str) {
        println!("┌──────────────────────────────────────────────────────────────");
        println!("│ nfip on {store}");
        println!(
            "│ POST /purchase, {} connections, {}, {} cores      floor       nfip",
            self.connections,
            self.duration,
            cores()
        );
        println!(
            "│ throughput (purchases/s)               {:>10.0} {:>10.0}",
            floor.throughput, ours.throughput
        );
        println!(
            "│ nfip as a fraction of the floor        {:>21.2}×",
            ours.throughput / floor.throughput
        );
        for (name, a, b) in [
            ("latency p50", &floor.p50, &ours.p50),
            ("latency p99", &floor.p99, &ours.p99),
            ("latency p99.9", &floor.p999, &ours.p999),
            ("errors", &floor.errors, &ours.errors),
        ] {
            println!("│ {name:<38} {a:>10} {b:>10}");
        }
        println!("│ CPU per purchase (µs), RSS idle → loaded (MB, nfip)");
        for ((name, _, _, floor_cpu), (_, idle, loaded, cpu)) in
            floor.processes.iter().zip(&ours.processes)
        {
            println!("│   {name:<13} {floor_cpu:>9.0} {cpu:>10.0}   {idle:>5.1} → {loaded:>5.1}");
        }
        println!("└──────────────────────────────────────────────────────────────");
    }
}

/// Resident set size of each process, in MB, from /proc.
fn rss(running: &[Running]) -> Vec<(&'static str, f64)> {
    running
        .iter()
        .map(|process| {
            let kb = process
                .child
                .id()
                .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
                .and_then(|status| {
                    status
                        .lines()
                        .find_map(|line| line.strip_prefix("VmRSS:"))
                        .and_then(|rest| {
                            rest.trim()
                                .trim_end_matches("kB")
                                .trim()
                                .parse::<f64>()
                                .ok()
                        })
                })
                .unwrap_or(f64::NAN);
            (process.name, kb / 1024.0)
        })
        .collect()
}

/// CPU time (user + system) each process has used, in seconds, from /proc.
fn cpu(running: &[Running]) -> Vec<f64> {
    running
        .iter()
        .map(|process| {
            process
                .child
                .id()
                .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
                .and_then(|stat| {
                    // Fields after the command name (which is in parentheses): utime is the
                    // 12th, stime the 13th, in clock ticks of 1/100 s.
                    let rest = stat.rsplit_once(')')?.1;
                    let fields: Vec<&str> = rest.split_whitespace().collect();
                    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()?
                        + fields.get(12)?.parse::<f64>().ok()?;
                    Some(ticks / 100.0)
                })
                .unwrap_or(f64::NAN)
        })
        .collect()
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

async fn ensure_wrk() -> Result<(), String> {
    if Command::new("wrk").arg("--version").output().await.is_ok() {
        return Ok(());
    }
    println!("installing wrk (Debian package)…");
    let mut install = Command::new("apt-get");
    install.args(["install", "-y", "-q", "wrk"]);
    let failed = "wrk is missing and `apt-get install wrk` failed; install wrk";
    run_to_end(
        &mut install,
        "wrk is missing and apt-get cannot run",
        failed,
    )
    .await
}
