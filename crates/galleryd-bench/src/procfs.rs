//! Readings from `/proc` (Linux): resident memory of a process (and resetting its high-water mark),
//! CPU time spent by galleryd, by the benchmark itself, by the children it waited for (`cp`) and by
//! Postgres during a phase, galleryd's context switches, and whether other heavy jobs (compilers)
//! share the machine.

use std::time::{Duration, Instant};

/// Resident memory of a process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// `VmRSS`: resident now, in KiB.
    pub resident_kib: u64,
    /// `VmHWM`: the most it was ever resident, in KiB.
    pub peak_kib: u64,
}

impl Memory {
    /// Reads the memory of process `pid`.
    pub fn of(pid: u32) -> Result<Memory, String> {
        let path = format!("/proc/{pid}/status");
        let status = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {path}: {error}"))?;
        let field = |name: &str| -> Result<u64, String> {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                .ok_or_else(|| format!("{path} has no readable {name}"))
        };
        Ok(Memory {
            resident_kib: field("VmRSS:")?,
            peak_kib: field("VmHWM:")?,
        })
    }
}

/// Resets the `VmHWM` high-water mark of process `pid` to its current resident size (writing `5` to
/// `/proc/<pid>/clear_refs`, Linux 4.0 and later), so a later [`Memory::of`] shows the peak of what
/// happened in between. Fails on kernels without it or without permission.
pub fn reset_peak_memory(pid: u32) -> Result<(), String> {
    let path = format!("/proc/{pid}/clear_refs");
    std::fs::write(&path, "5").map_err(|error| format!("cannot write {path}: {error}"))
}

/// KiB as decimal megabytes (10^6 bytes), the unit the memory target is stated in.
pub fn megabytes(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1_000_000.0
}

/// Clock ticks per second of the `/proc/*/stat` CPU counters.
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|ticks| *ticks > 0.0)
        .unwrap_or(100.0)
}

/// `(command name, user + system ticks of all its threads)` of `/proc/<pid>/stat`, or `None` when the
/// process is gone.
fn process_ticks(stat_path: &str) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    let name_start = stat.find('(')?;
    let name_end = stat.rfind(')')?;
    let name = stat[name_start + 1..name_end].to_string();
    // After the name: state is field 3; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat[name_end + 1..].split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some((name, user + system))
}

/// Context switches (voluntary and involuntary) of every thread of process `pid` so far, from
/// `/proc/<pid>/task/*/status`; threads that already exited are not counted.
pub fn context_switches(pid: u32) -> u64 {
    let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    threads
        .filter_map(|thread| std::fs::read_to_string(thread.ok()?.path().join("status")).ok())
        .map(|status| {
            status
                .lines()
                .filter_map(|line| {
                    line.strip_prefix("voluntary_ctxt_switches:")
                        .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
                })
                .filter_map(|count| count.trim().parse::<u64>().ok())
                .sum::<u64>()
        })
        .sum()
}

/// CPU seconds (user + system) of the children this process has waited for, from the `cutime` and
/// `cstime` fields of `/proc/self/stat`: the difference across a `cp` run is what `cp` spent.
pub fn waited_children_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some(name_end) = stat.rfind(')') else {
        return 0.0;
    };
    // After the name: cutime and cstime are fields 16 and 17.
    let fields: Vec<&str> = stat[name_end + 1..].split_whitespace().collect();
    let field = |index: usize| -> u64 {
        fields
            .get(index)
            .and_then(|text| text.parse().ok())
            .unwrap_or(0)
    };
    (field(13) + field(14)) as f64 / clock_ticks_per_second()
}

/// Process ids whose command name is `name`.
fn processes_named(name: &str) -> Vec<(u32, u64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let (command, ticks) = process_ticks(&format!("/proc/{pid}/stat"))?;
            (command == name).then_some((pid, ticks))
        })
        .collect()
}

/// CPU spent during a phase, in cores (1.0 = one core busy for the whole phase).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUsage {
    /// The server under test (galleryd or the bare server); `None` when there is no server process.
    pub server_cores: Option<f64>,
    /// This process: the load generator (and, for the raw-insert baseline, the database client).
    pub bench_cores: f64,
    /// Every `postgres` process (approximate: backends that exit mid-phase are not counted).
    pub postgres_cores: Option<f64>,
    /// Everything else the machine ran meanwhile (busy CPU of `/proc/stat` minus the above): other
    /// people's builds and tests. Near 0 when the figures are undisturbed.
    pub other_cores: f64,
}

/// Whether other processes took enough CPU to disturb a phase noticeably.
pub const DISTURBANCE_THRESHOLD_CORES: f64 = 0.15;

impl CpuUsage {
    /// `galleryd 1.20 + bench 0.60 + postgres 0.10 of 2 cores`.
    pub fn describe(&self, server_name: &str, cores: usize) -> String {
        let mut parts = Vec::new();
        if let Some(server) = self.server_cores {
            parts.push(format!("{server_name} {server:.2}"));
        }
        parts.push(format!("bench {:.2}", self.bench_cores));
        if let Some(postgres) = self.postgres_cores {
            parts.push(format!("postgres {postgres:.2}"));
        }
        parts.push(format!("other processes {:.2}", self.other_cores));
        let warning = if self.other_cores > DISTURBANCE_THRESHOLD_CORES {
            " — DISTURBED by other jobs"
        } else {
            ""
        };
        format!(
            "CPU cores used: {} (of {cores}){warning}",
            parts.join(" + ")
        )
    }
}

/// Samples CPU counters at the start of a phase; [`CpuSampler::finish`] turns them into usage.
pub struct CpuSampler {
    started: Instant,
    ticks_per_second: f64,
    server_pid: Option<u32>,
    server_ticks: u64,
    bench_ticks: u64,
    postgres_ticks: Option<Vec<(u32, u64)>>,
    machine_ticks: u64,
}

/// Busy ticks of all CPUs together, from the first line of `/proc/stat`.
fn machine_busy_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return 0;
    };
    let Some(line) = stat.lines().next() else {
        return 0;
    };
    let counters: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …: everything but idle and iowait is busy.
    [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|index| counters.get(*index))
        .sum()
}

impl CpuSampler {
    /// Starts sampling `server_pid` (if any), this process and, if asked, every `postgres` process.
    pub fn start(server_pid: Option<u32>, include_postgres: bool) -> CpuSampler {
        let server_ticks = server_pid
            .and_then(|pid| process_ticks(&format!("/proc/{pid}/stat")))
            .map_or(0, |(_, ticks)| ticks);
        CpuSampler {
            ticks_per_second: clock_ticks_per_second(),
            server_pid,
            server_ticks,
            bench_ticks: process_ticks("/proc/self/stat").map_or(0, |(_, ticks)| ticks),
            postgres_ticks: include_postgres.then(|| processes_named("postgres")),
            machine_ticks: machine_busy_ticks(),
            started: Instant::now(),
        }
    }

    /// The CPU used since [`CpuSampler::start`].
    pub fn finish(&self) -> CpuUsage {
        let wall = self.started.elapsed().max(Duration::from_millis(1));
        let cores = |ticks: u64| ticks as f64 / self.ticks_per_second / wall.as_secs_f64();
        let server_cores = self.server_pid.and_then(|pid| {
            let (_, now) = process_ticks(&format!("/proc/{pid}/stat"))?;
            Some(cores(now.saturating_sub(self.server_ticks)))
        });
        let bench_now = process_ticks("/proc/self/stat").map_or(0, |(_, ticks)| ticks);
        let postgres_cores = self.postgres_ticks.as_ref().map(|before| {
            let spent: u64 = processes_named("postgres")
                .into_iter()
                .map(|(pid, now)| {
                    let then = before
                        .iter()
                        .find(|(old_pid, _)| *old_pid == pid)
                        .map_or(0, |(_, ticks)| *ticks);
                    now.saturating_sub(then)
                })
                .sum();
            cores(spent)
        });
        let bench_cores = cores(bench_now.saturating_sub(self.bench_ticks));
        // Postgres is measured when it takes part; otherwise its (idle) use counts as "other".
        let known = server_cores.unwrap_or(0.0) + bench_cores + postgres_cores.unwrap_or(0.0);
        let machine = cores(machine_busy_ticks().saturating_sub(self.machine_ticks));
        CpuUsage {
            server_cores,
            bench_cores,
            postgres_cores,
            other_cores: (machine - known).max(0.0),
        }
    }
}

/// Number of CPUs this process may run on.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get())
}

/// The 1-minute load average.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Heavy jobs that would distort the figures: running compilers and linkers (an idle `cargo run`
/// waiting for this benchmark is not one).
pub fn competing_jobs() -> Vec<String> {
    let mut found = Vec::new();
    for name in ["rustc", "cc1", "cc1plus", "ld", "lld", "mold"] {
        let count = processes_named(name).len();
        if count > 0 {
            found.push(format!("{count} × {name}"));
        }
    }
    found
}
