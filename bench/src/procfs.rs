//! What `/proc` tells about a server process: resident memory now and at
//! its peak, and the CPU time it has used; and [`Watch`], the processes a
//! run reads them from.

use std::sync::OnceLock;

use crate::Res;

/// Resident set size of process `pid`, in KiB (`VmRSS` of `/proc/<pid>/status`).
pub(crate) fn rss_kib(pid: u32) -> Res<u64> {
    status_kib(pid, "VmRSS:")
}

/// The peak resident set size of process `pid` since it started, in KiB
/// (`VmHWM` of `/proc/<pid>/status`).
pub(crate) fn peak_rss_kib(pid: u32) -> Res<u64> {
    status_kib(pid, "VmHWM:")
}

fn status_kib(pid: u32, field: &str) -> Res<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with(field)).ok_or_else(|| format!("no {field} line"))?;
    let kib = line.trim_start_matches(field).trim().trim_end_matches("kB").trim();
    Ok(kib.parse()?)
}

/// CPU time process `pid` (every thread, live or ended) has used so far,
/// in µs: user (`utime`) and system (`stime`) of `/proc/<pid>/stat`, which
/// count clock ticks (10 ms at the usual 100 Hz, so measured windows are
/// seconds long). On loopback the system share includes the
/// receiving side's TCP work and the wake-up of the reading client, done in
/// the sender's system call.
pub(crate) fn cpu_split_micros(pid: u32) -> Res<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // fields are counted from after its closing one, where field 3 starts.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).ok_or("malformed /proc/<pid>/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks =
        |field: usize| -> Res<u64> { Ok(fields.get(field - 3).ok_or("short /proc/<pid>/stat")?.parse::<u64>()?) };
    let micros = |t: u64| t * 1_000_000 / clock_ticks_per_second();
    Ok((micros(ticks(14)?), micros(ticks(15)?)))
}

/// `getconf CLK_TCK` (100 on every mainstream Linux; asked once).
fn clock_ticks_per_second() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
            .filter(|ticks| *ticks > 0)
            .unwrap_or(100)
    })
}

/// The server processes a run reads: CPU time summed over `cpu` (every
/// process serving the scenario), peak RSS of `rss` (the one the load
/// lands on). Empty when the bench drives a server it did not start and
/// was given no `--pid`: those figures are then left out.
#[derive(Debug, Clone, Default)]
pub(crate) struct Watch {
    /// Processes whose CPU time is summed.
    pub(crate) cpu: Vec<u32>,
    /// The process whose memory is read.
    pub(crate) rss: Option<u32>,
}

impl Watch {
    /// One process for everything.
    pub(crate) fn one(pid: Option<u32>) -> Watch {
        Watch { cpu: pid.into_iter().collect(), rss: pid }
    }

    /// CPU time used so far by the watched processes, in µs (`None`: none watched).
    pub(crate) fn cpu_now(&self) -> Res<Option<u64>> {
        Ok(self.cpu_split_now()?.map(|(user, system)| user + system))
    }

    /// The same, user and system apart, from one read of each process's stat.
    pub(crate) fn cpu_split_now(&self) -> Res<Option<(u64, u64)>> {
        if self.cpu.is_empty() {
            return Ok(None);
        }
        let (mut user, mut system) = (0, 0);
        for pid in &self.cpu {
            let (u, s) = cpu_split_micros(*pid)?;
            user += u;
            system += s;
        }
        Ok(Some((user, system)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_cpu_and_memory() {
        let pid = std::process::id();
        // Burn some CPU so that at least a tick is counted.
        let began = std::time::Instant::now();
        let mut x = 0u64;
        while began.elapsed() < std::time::Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let (user, system) = cpu_split_micros(pid).expect("stat");
        assert!(user + system > 0);
        let (now, peak) = (rss_kib(pid).expect("rss"), peak_rss_kib(pid).expect("hwm"));
        assert!(now > 0 && peak >= now, "rss {now} KiB, peak {peak} KiB");
    }
}
