//! The final table per backend: every figure, its target (if it has one) and whether the target was
//! met, and by how much.

use std::time::Duration;

use crate::procfs::{DISTURBANCE_THRESHOLD_CORES, Memory, megabytes};
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
        let rows = self.rows();
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
        let mut text = format!(
            "== {} (image definition document: {} bytes) ==\n",
            self.backend, self.document_bytes
        );
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
            "{} of {with_target} targets met on {}\n",
            with_target - missed,
            self.backend
        ));
        text
    }
}
