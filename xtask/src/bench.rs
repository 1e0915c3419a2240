//! `cargo xtask bench`: the purchase benchmark.
//!
//! Builds release binaries, starts the stack on fresh SQLite files (the durable default) with
//! warnings-only logs, records each process's idle RSS, warms up, drives `POST /purchase` with
//! wrk (Debian's package, installed if missing), and prints throughput, p50, p99, errors and
//! each process's RSS after the load.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::process::Command;

use crate::{Running, build, start_fresh, stop, wait_until_ready, workspace_root};

pub async fn run(connections: u32, duration: &str, threads: u32) -> Result<(), String> {
    ensure_wrk().await?;
    let root = workspace_root();
    build(&root, true).await?;

    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (mut running, data) = start_fresh(&root, true, "warn")?;
    let outcome = measure(&root, &mut running, connections, duration, threads, run_id).await;
    stop(&mut running).await;
    let _ = std::fs::remove_dir_all(&data);
    outcome
}

async fn measure(
    root: &Path,
    running: &mut [Running],
    connections: u32,
    duration: &str,
    threads: u32,
    run_id: u64,
) -> Result<(), String> {
    wait_until_ready(running).await?;
    let idle = rss(running);
    let script = root.join("xtask").join("bench").join("purchase.lua");
    let wrk = |duration: &str, tag: String| {
        let mut command = Command::new("wrk");
        command
            .args([
                "--latency",
                "-t",
                &threads.to_string(),
                "-c",
                &connections.to_string(),
            ])
            .args(["-d", duration, "-s"])
            .arg(&script)
            .arg("http://127.0.0.1:8080")
            .args(["--", &tag]);
        command
    };
    println!("warming up (5s)…");
    wrk("5s", format!("{run_id}w"))
        .output()
        .await
        .map_err(|e| format!("wrk: {e}"))?;
    println!("measuring POST /purchase at {connections} connections for {duration}…");
    let cpu_before = cpu(running);
    let output = wrk(duration, run_id.to_string())
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

    println!("\n{report}");
    let field = |prefix: &str| {
        report
            .lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix))
            .map_or_else(|| String::from("?"), |rest| rest.trim().to_owned())
    };
    let errors = field("Non-2xx or 3xx responses:");
    let requests: f64 = report
        .lines()
        .find_map(|line| line.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or(f64::NAN);
    println!("┌──────────────────────────────────────────────────────────");
    println!(
        "│ POST /purchase, {connections} connections, {duration}, {} cores",
        cores()
    );
    println!("│ throughput   {} purchases/s", field("Requests/sec:"));
    println!("│ latency p50  {}", field("50%"));
    println!("│ latency p99  {}", field("99%"));
    println!(
        "│ errors       {}",
        if errors == "?" {
            String::from("0")
        } else {
            errors
        }
    );
    println!("│ per process  RSS idle  RSS loaded  CPU per purchase");
    for (((name, before), (_, after)), (start, end)) in idle
        .iter()
        .zip(&loaded)
        .zip(cpu_before.iter().zip(&cpu_after))
    {
        let micros = (end - start) * 1e6 / requests;
        println!("│   {name:<13}{before:>5.1} MB  {after:>7.1} MB  {micros:>9.0} µs");
    }
    println!("└──────────────────────────────────────────────────────────");
    Ok(())
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
    let installed = Command::new("apt-get")
        .args(["install", "-y", "-q", "wrk"])
        .status()
        .await
        .map_err(|e| format!("wrk is missing and apt-get cannot run ({e}); install wrk"))?;
    if installed.success() {
        Ok(())
    } else {
        Err(String::from(
            "wrk is missing and `apt-get install wrk` failed; install wrk",
        ))
    }
}
