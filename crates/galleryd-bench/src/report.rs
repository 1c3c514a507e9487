//! The final tables (one per backend, one for replication): every figure, its target (if it has
//! one) and whether the target was met, and by how much.

use std::time::Duration;

use crate::procfs::{CpuUsage, DISTURBANCE_THRESHOLD_CORES, Memory, megabytes};
use crate::stats::{PhaseResult, milliseconds};

/// Everything measured on one backend.
pub struct BackendFigures {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Whether the startup target applies (it is stated for SQLite).
    pub startup_target_applies: bool,
    /// Spawn → ready on an empty data directory / fresh database (includes migrations and, on the
    /// first start, generating the TLS certificate).
    pub first_start: Duration,
    /// Spawn → ready on the data directory / database the first start initialised.
    pub second_start: Duration,
    pub memory_after_ready: Memory,
    /// After the load stopped and the settle time passed (`peak_kib` is the high-water mark).
    pub memory_idle: Memory,
    /// Bytes of the image definition document the GET load fetched.
    pub document_bytes: usize,
    pub galleryd_get: PhaseResult,
    pub bare_get: PhaseResult,
    pub galleryd_create: PhaseResult,
    pub raw_insert: PhaseResult,
}

/// What a figure is held to.
enum Target {
    /// Informational.
    None,
    /// Milliseconds, at most (`strict`: below).
    MillisecondsAtMost { limit: f64, strict: bool },
    /// Decimal megabytes, below.
    MegabytesBelow(f64),
    /// A percentage, at least.
    PercentAtLeast(f64),
    /// Cores other processes used during a phase: not a target, a warning that figures are disturbed.
    OtherJobsCores,
}

struct Row {
    metric: String,
    value: String,
    target: Target,
    measured: f64,
}

impl Row {
    fn info(metric: impl Into<String>, value: impl Into<String>) -> Row {
        Row {
            metric: metric.into(),
            value: value.into(),
            target: Target::None,
            measured: 0.0,
        }
    }

    fn target_text(&self) -> String {
        match self.target {
            Target::None => "—".to_string(),
            Target::MillisecondsAtMost { limit, strict } => {
                format!("{} {limit} ms", if strict { "<" } else { "≤" })
            }
            Target::MegabytesBelow(limit) => format!("< {limit} MB"),
            Target::PercentAtLeast(limit) => format!("≥ {limit} %"),
            Target::OtherJobsCores => format!("≤ {DISTURBANCE_THRESHOLD_CORES} (quiet)"),
        }
    }

    fn verdict(&self) -> String {
        let value = self.measured;
        match self.target {
            Target::None => String::new(),
            Target::MillisecondsAtMost { limit, strict } => {
                let met = if strict {
                    value < limit
                } else {
                    value <= limit
                };
                if met {
                    format!("met ({:.1} ms to spare)", limit - value)
                } else {
                    format!(
                        "MISSED by {:.1} ms (+{:.0} %)",
                        value - limit,
                        (value / limit - 1.0) * 100.0
                    )
                }
            }
            Target::MegabytesBelow(limit) => {
                if value < limit {
                    format!("met ({:.1} MB to spare)", limit - value)
                } else {
                    format!(
                        "MISSED by {:.1} MB (+{:.0} %)",
                        value - limit,
                        (value / limit - 1.0) * 100.0
                    )
                }
            }
            Target::PercentAtLeast(limit) => {
                if value >= limit {
                    format!("met (+{:.1} points)", value - limit)
                } else {
                    format!("MISSED by {:.1} points", limit - value)
                }
            }
            Target::OtherJobsCores => {
                if value <= DISTURBANCE_THRESHOLD_CORES {
                    "quiet machine".to_string()
                } else {
                    "DISTURBED: other jobs shared the CPUs".to_string()
                }
            }
        }
    }
}

fn milliseconds_value(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn ratio_percent(numerator: &PhaseResult, denominator: &PhaseResult) -> f64 {
    let base = denominator.per_second();
    if base > 0.0 {
        numerator.per_second() / base * 100.0
    } else {
        0.0
    }
}

fn phase_rows(rows: &mut Vec<Row>, label: &str, unit: &str, phase: &PhaseResult) {
    let failures = if phase.failed > 0 {
        format!(" ({} failed)", phase.failed)
    } else {
        String::new()
    };
    rows.push(Row::info(
        format!("{label}: throughput"),
        format!("{:.0} {unit}{failures}", phase.per_second()),
    ));
    rows.push(Row::info(
        format!("{label}: p50 / p99 / max"),
        format!(
            "{} / {} / {}",
            milliseconds(phase.latency.p50),
            milliseconds(phase.latency.p99),
            milliseconds(phase.latency.max)
        ),
    ));
}

impl BackendFigures {
    fn rows(&self) -> Vec<Row> {
        let mut rows = vec![
            Row {
                metric: "startup, initialised data (2nd start)".to_string(),
                value: milliseconds(self.second_start),
                target: if self.startup_target_applies {
                    Target::MillisecondsAtMost {
                        limit: 150.0,
                        strict: true,
                    }
                } else {
                    Target::None
                },
                measured: milliseconds_value(self.second_start),
            },
            Row::info(
                "startup, empty data (1st start)",
                milliseconds(self.first_start),
            ),
            Row::info(
                "RSS right after ready",
                format!("{:.1} MB", megabytes(self.memory_after_ready.resident_kib)),
            ),
            Row {
                metric: "RSS idle after load".to_string(),
                value: format!("{:.1} MB", megabytes(self.memory_idle.resident_kib)),
                target: Target::MegabytesBelow(40.0),
                measured: megabytes(self.memory_idle.resident_kib),
            },
            Row::info(
                "RSS peak (VmHWM)",
                format!("{:.1} MB", megabytes(self.memory_idle.peak_kib)),
            ),
        ];
        phase_rows(&mut rows, "GET galleryd", "req/s", &self.galleryd_get);
        phase_rows(&mut rows, "GET bare axum", "req/s", &self.bare_get);
        let get_ratio = ratio_percent(&self.galleryd_get, &self.bare_get);
        rows.push(Row {
            metric: "GET ratio galleryd / bare".to_string(),
            value: format!("{get_ratio:.1} %"),
            target: Target::PercentAtLeast(50.0),
            measured: get_ratio,
        });
        rows.push(Row {
            metric: "GET galleryd p99".to_string(),
            value: milliseconds(self.galleryd_get.latency.p99),
            target: Target::MillisecondsAtMost {
                limit: 5.0,
                strict: false,
            },
            measured: milliseconds_value(self.galleryd_get.latency.p99),
        });
        phase_rows(
            &mut rows,
            "create galleryd",
            "creates/s",
            &self.galleryd_create,
        );
        phase_rows(&mut rows, "raw INSERT+COMMIT", "rows/s", &self.raw_insert);
        let create_ratio = ratio_percent(&self.galleryd_create, &self.raw_insert);
        rows.push(Row {
            metric: "create ratio galleryd / raw".to_string(),
            value: format!("{create_ratio:.1} %"),
            target: Target::PercentAtLeast(50.0),
            measured: create_ratio,
        });
        let other_jobs = [
            &self.galleryd_get,
            &self.bare_get,
            &self.galleryd_create,
            &self.raw_insert,
        ]
        .iter()
        .map(|phase| phase.cpu.other_cores)
        .fold(0.0, f64::max);
        rows.push(Row {
            metric: "CPU of other processes (worst phase)".to_string(),
            value: format!("{other_jobs:.2} cores"),
            target: Target::OtherJobsCores,
            measured: other_jobs,
        });
        rows
    }

    /// The table, ready to print.
    pub fn table(&self) -> String {
        render_table(
            &format!(
                "== {} (image definition document: {} bytes) ==",
                self.backend, self.document_bytes
            ),
            &self.rows(),
            self.backend,
        )
    }
}

/// Bytes in a mebibyte, the unit image sizes and copy throughputs are given in.
const MEBIBYTE: f64 = 1024.0 * 1024.0;

/// The image size the peak-memory target of replication is stated for.
pub const MEMORY_TARGET_IMAGE_MEBIBYTES: u64 = 4096;

/// The highest resident memory of galleryd while it replicated.
pub struct PeakMemory {
    /// `VmHWM` read when the replication was done, after resetting it just before the version was
    /// created: the exact peak. `None` when the kernel refused the reset.
    pub high_water_kib: Option<u64>,
    /// The highest `VmRSS` of the samples taken during the replication.
    pub sampled_kib: u64,
    /// How many samples were taken.
    pub samples: usize,
}

impl PeakMemory {
    /// The exact peak if there is one, else the sampled one.
    fn best_kib(&self) -> u64 {
        self.high_water_kib.unwrap_or(self.sampled_kib)
    }
}

/// Everything the replication benchmark measured.
pub struct ReplicationFigures {
    /// Bytes written into the snapshot, and so copied into each replica.
    pub image_bytes: u64,
    /// The regions of the replicas, one replica each.
    pub replica_regions: &'static [&'static str],
    /// Put Page of the whole image (not a target: the setup).
    pub upload: Duration,
    pub upload_connections: usize,
    /// `endGetAccess`, which seals the pages into extents.
    pub seal: Duration,
    /// From the PUT of the version until the first poll that read `Succeeded`.
    pub galleryd_copy: Duration,
    /// The `sync` right after galleryd's copy (writing its dirty pages back).
    pub galleryd_sync: Duration,
    /// The `cp` baseline, measured once before galleryd's copy and once after it.
    pub cp_rounds: Vec<CpRound>,
    /// How often the version was polled.
    pub poll_interval: Duration,
    pub memory_idle_before: Memory,
    pub memory_peak: PeakMemory,
    pub memory_idle_after: Memory,
    /// How long after the replication the idle memory was read.
    pub settle: Duration,
    /// CPU during galleryd's copy.
    pub galleryd_cpu: CpuUsage,
    /// Context switches of galleryd's threads during its copy (every hand-off of a read or write to
    /// a blocking thread and back costs a few).
    pub galleryd_context_switches: u64,
}

/// One round of the `cp` baseline: as many copies of the same extent files on the same disk as
/// galleryd makes replicas, one after the other.
pub struct CpRound {
    /// When it ran: `before galleryd` or `after galleryd`.
    pub when: &'static str,
    /// Every copy of the round.
    pub copy: Duration,
    /// The `sync` right after the copies.
    pub sync: Duration,
    /// Cores `cp` itself used during the copies.
    pub cp_cores: f64,
    /// Cores other processes (not `cp`, not this benchmark) used during the copies.
    pub other_cores: f64,
}

/// Rounds of `cp` whose throughputs differ by more than this fraction of the slower are flagged.
const CP_ROUND_SPREAD_WARNING: f64 = 0.25;

/// `2048 MiB in 1.23 s = 1665 MiB/s`.
fn throughput_text(bytes: u64, elapsed: Duration) -> String {
    format!(
        "{:.0} MiB in {:.3} s = {:.0} MiB/s",
        bytes as f64 / MEBIBYTE,
        elapsed.as_secs_f64(),
        mebibytes_per_second(bytes, elapsed)
    )
}

fn mebibytes_per_second(bytes: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        bytes as f64 / MEBIBYTE / seconds
    } else {
        0.0
    }
}

impl ReplicationFigures {
    /// Bytes copied by each side: every replica holds the whole image.
    pub fn copied_bytes(&self) -> u64 {
        self.image_bytes * self.replica_regions.len() as u64
    }

    /// The mean time of a `cp` round's copies and of its sync.
    fn cp_mean(&self) -> (Duration, Duration) {
        let rounds = u32::try_from(self.cp_rounds.len().max(1)).unwrap_or(u32::MAX);
        let copy: Duration = self.cp_rounds.iter().map(|round| round.copy).sum();
        let sync: Duration = self.cp_rounds.iter().map(|round| round.sync).sum();
        (copy / rounds, sync / rounds)
    }

    /// galleryd's throughput as a percentage of `cp`'s (both to the page cache, no sync; `cp`
    /// averaged over its rounds).
    pub fn ratio_percent(&self) -> f64 {
        let baseline = mebibytes_per_second(self.copied_bytes(), self.cp_mean().0);
        if baseline > 0.0 {
            mebibytes_per_second(self.copied_bytes(), self.galleryd_copy) / baseline * 100.0
        } else {
            0.0
        }
    }

    /// How much the fastest `cp` round outran the slowest, as a fraction of the slowest.
    fn cp_spread(&self) -> f64 {
        let speeds: Vec<f64> = self
            .cp_rounds
            .iter()
            .map(|round| mebibytes_per_second(self.copied_bytes(), round.copy))
            .collect();
        let fastest = speeds.iter().copied().fold(0.0, f64::max);
        let slowest = speeds.iter().copied().fold(f64::INFINITY, f64::min);
        if slowest > 0.0 && slowest.is_finite() {
            fastest / slowest - 1.0
        } else {
            0.0
        }
    }

    /// A warning when the `cp` rounds disagree (the machine's own variance), else nothing.
    pub fn cp_spread_warning(&self) -> Option<String> {
        let spread = self.cp_spread();
        (spread > CP_ROUND_SPREAD_WARNING).then(|| {
            format!(
                "WARNING: the cp rounds differ by {:.0} %: the machine's copy speed varied during the run \
                 (on a VM, first touches of memory the host took back are slow); compare several runs",
                spread * 100.0
            )
        })
    }

    fn rows(&self) -> Vec<Row> {
        let copied = self.copied_bytes();
        let copies = self.replica_regions.len();
        let regions = self.replica_regions.join(" + ");
        let galleryd_durable = self.galleryd_copy + self.galleryd_sync;
        let (cp_copy, cp_sync) = self.cp_mean();
        let cp_durable = cp_copy + cp_sync;
        let durable_ratio = mebibytes_per_second(copied, galleryd_durable)
            / mebibytes_per_second(copied, cp_durable).max(f64::MIN_POSITIVE)
            * 100.0;
        let ratio = self.ratio_percent();
        let image_mebibytes = self.image_bytes as f64 / MEBIBYTE;
        let peak_label = if self.memory_peak.high_water_kib.is_some() {
            "RSS peak during replication (VmHWM, reset before)"
        } else {
            "RSS peak during replication (sampled; VmHWM reset refused)"
        };
        let peak_label = if image_mebibytes < MEMORY_TARGET_IMAGE_MEBIBYTES as f64 {
            format!("{peak_label}; target stated for {MEMORY_TARGET_IMAGE_MEBIBYTES} MiB")
        } else {
            peak_label.to_string()
        };
        let peak = megabytes(self.memory_peak.best_kib());
        let cpu = &self.galleryd_cpu;
        let other_jobs = self
            .cp_rounds
            .iter()
            .map(|round| round.other_cores)
            .fold(cpu.other_cores, f64::max);
        let mut rows = vec![
            Row::info(
                "image (bytes written into the snapshot)",
                format!("{image_mebibytes:.0} MiB ({} B)", self.image_bytes),
            ),
            Row::info(
                format!(
                    "upload: Put Page of 4 MiB pages, {} connections",
                    self.upload_connections
                ),
                throughput_text(self.image_bytes, self.upload),
            ),
            Row::info(
                "seal (endGetAccess)",
                format!("{:.3} s", self.seal.as_secs_f64()),
            ),
            Row::info(
                format!("galleryd replication, {copies} replicas ({regions})"),
                throughput_text(copied, self.galleryd_copy),
            ),
        ];
        for round in &self.cp_rounds {
            rows.push(Row::info(
                format!("cp baseline {}, {copies} copies, same disk", round.when),
                format!(
                    "{}; cp {:.2} cores",
                    throughput_text(copied, round.copy),
                    round.cp_cores
                ),
            ));
        }
        rows.push(Row::info(
            format!("cp baseline, mean of {} rounds", self.cp_rounds.len()),
            throughput_text(copied, cp_copy),
        ));
        rows.extend([
            Row {
                metric: "replication ratio galleryd / cp mean (no sync either side)".to_string(),
                value: format!("{ratio:.1} %"),
                target: Target::PercentAtLeast(80.0),
                measured: ratio,
            },
            Row::info(
                "galleryd replication + sync",
                format!(
                    "{} (sync {:.3} s)",
                    throughput_text(copied, galleryd_durable),
                    self.galleryd_sync.as_secs_f64()
                ),
            ),
            Row::info(
                "cp baseline + sync",
                format!(
                    "{} (sync {:.3} s)",
                    throughput_text(copied, cp_durable),
                    cp_sync.as_secs_f64()
                ),
            ),
            Row::info(
                "ratio galleryd / cp mean, each followed by sync",
                format!("{durable_ratio:.1} %"),
            ),
            Row::info(
                "RSS idle before replication",
                format!("{:.1} MB", megabytes(self.memory_idle_before.resident_kib)),
            ),
            Row {
                metric: peak_label,
                value: format!("{peak:.1} MB"),
                target: Target::MegabytesBelow(100.0),
                measured: peak,
            },
            Row::info(
                format!(
                    "RSS peak sampled every 20 ms ({} samples)",
                    self.memory_peak.samples
                ),
                format!("{:.1} MB", megabytes(self.memory_peak.sampled_kib)),
            ),
            Row::info(
                format!(
                    "RSS idle {:.0} s after replication",
                    self.settle.as_secs_f64()
                ),
                format!("{:.1} MB", megabytes(self.memory_idle_after.resident_kib)),
            ),
            Row::info(
                "CPU during replication: galleryd / bench",
                format!(
                    "{:.2} / {:.2} cores",
                    cpu.server_cores.unwrap_or(0.0),
                    cpu.bench_cores
                ),
            ),
            Row::info(
                "galleryd context switches during replication",
                format!(
                    "{} ({:.0} per MiB copied)",
                    self.galleryd_context_switches,
                    self.galleryd_context_switches as f64 / (copied as f64 / MEBIBYTE)
                ),
            ),
            Row {
                metric: "CPU of other processes (worst phase)".to_string(),
                value: format!("{other_jobs:.2} cores"),
                target: Target::OtherJobsCores,
                measured: other_jobs,
            },
        ]);
        rows
    }

    /// The table, ready to print.
    pub fn table(&self) -> String {
        let mut text = render_table(
            &format!(
                "== replication (sqlite, local-disk blob stores, instant profile; version polled every {} ms) ==",
                self.poll_interval.as_millis()
            ),
            &self.rows(),
            "replication",
        );
        if let Some(warning) = self.cp_spread_warning() {
            text.push_str(&warning);
            text.push('\n');
        }
        text
    }
}

/// The table of `rows` under `title`, closed by how many targets were met on `scope`.
fn render_table(title: &str, rows: &[Row], scope: &str) -> String {
    let header = ["metric", "value", "target", "verdict"];
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|row| {
            [
                row.metric.clone(),
                row.value.clone(),
                row.target_text(),
                row.verdict(),
            ]
        })
        .collect();
    let mut widths = header.map(|title| title.chars().count());
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell}{}", " ".repeat(width - cell.chars().count())))
            .collect();
        format!("| {} |", padded.join(" | ")).trim_end().to_string()
    };
    let rule = format!(
        "|{}|",
        widths
            .iter()
            .map(|width| "-".repeat(width + 2))
            .collect::<Vec<_>>()
            .join("|")
    );
    let mut text = format!("{title}\n");
    text.push_str(&line(header));
    text.push('\n');
    text.push_str(&rule);
    text.push('\n');
    for row in &cells {
        text.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
        text.push('\n');
    }
    let missed = rows
        .iter()
        .filter(|row| row.verdict().starts_with("MISSED"))
        .count();
    let with_target = rows
        .iter()
        .filter(|row| !matches!(row.target, Target::None | Target::OtherJobsCores))
        .count();
    text.push_str(&format!(
        "{} of {with_target} targets met on {scope}\n",
        with_target - missed
    ));
    text
}
