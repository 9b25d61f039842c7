//! The targets the issues set, evaluated on one run: most are the median of
//! per-round ratios of two servers (they ran back to back, so the machine's
//! drift cancels), a few are absolute figures or only reported.

use std::fmt::Write as _;

use crate::load::{CPU_PER_DELIVERY, CPU_PER_MSG};
use crate::report::{num, Summary};
use crate::servers::{Peer, TUNED};

/// What a target asks of its value.
#[derive(Debug, Clone, Copy)]
enum Goal {
    AtLeast(f64),
    AtMost(f64),
    Below(f64),
    /// Shown, no bound.
    Reported,
}

impl Goal {
    fn text(self) -> String {
        match self {
            Goal::AtLeast(b) => format!(">= {b:.2}"),
            Goal::AtMost(b) => format!("<= {b:.2}"),
            Goal::Below(b) => format!("< {b:.2}"),
            Goal::Reported => "reported".to_owned(),
        }
    }

    fn met(self, value: f64) -> Option<bool> {
        match self {
            Goal::AtLeast(b) => Some(value >= b),
            Goal::AtMost(b) => Some(value <= b),
            Goal::Below(b) => Some(value < b),
            Goal::Reported => None,
        }
    }
}

/// One target, evaluated.
#[derive(Debug)]
pub(crate) struct Target {
    /// The issue (or earlier round) that set it.
    group: &'static str,
    what: String,
    /// Median figure of the first server (or the absolute figure).
    a: Option<f64>,
    /// Median figure of the server it is compared with.
    b: Option<f64>,
    value: Option<f64>,
    goal: Goal,
}

impl Target {
    fn met_text(&self) -> &'static str {
        match (self.value.and_then(|v| self.goal.met(v)), self.value) {
            (Some(true), _) => "met",
            (Some(false), _) => "MISSED",
            (None, Some(_)) => "",
            (None, None) => "not measured",
        }
    }
}

/// The targets' rows, built from the summaries of one run.
struct Rows<'a> {
    summaries: &'a [Summary],
    group: &'static str,
    out: Vec<Target>,
}

impl Rows<'_> {
    fn find(&self, scenario: &str) -> Option<&Summary> {
        self.summaries.iter().find(|s| s.scenario.key == scenario)
    }

    /// `a`'s figure ÷ `b`'s, the median of the per-round ratios.
    fn ratio(&mut self, scenario: &str, figure: &str, (a, b): (Peer, Peer), goal: Goal) {
        let s = self.find(scenario);
        let target = Target {
            group: self.group,
            what: format!("{scenario} {figure}: {} / {}", a.name(), b.name()),
            a: s.and_then(|s| s.figure(a, figure)),
            b: s.and_then(|s| s.figure(b, figure)),
            value: s.and_then(|s| s.paired(a, b, figure)),
            goal,
        };
        self.out.push(target);
    }

    /// `peer`'s median figure itself.
    fn absolute(&mut self, scenario: &str, figure: &str, peer: Peer, goal: Goal) {
        let value = self.find(scenario).and_then(|s| s.figure(peer, figure));
        let what = format!("{scenario} {figure}: {}", peer.name());
        self.out.push(Target { group: self.group, what, a: value, b: None, value, goal });
    }
}

/// Every target, in groups: the earlier rounds' first, then issue 19's.
pub(crate) fn targets(summaries: &[Summary]) -> Vec<Target> {
    use Peer::*;
    let mut rows = Rows { summaries, group: "earlier issues", out: Vec::new() };
    rows.ratio("echo", "msgs/s", (Wirehub, Baseline), Goal::AtLeast(0.95));
    rows.ratio("echo", "p99 µs", (Wirehub, Baseline), Goal::AtMost(1.10));
    for scenario in ["broadcast-100", "broadcast-1000"] {
        rows.ratio(scenario, "deliveries/s", (Wirehub, Baseline), Goal::AtLeast(1.0));
        rows.ratio(scenario, "p99 µs", (Wirehub, Baseline), Goal::AtMost(1.0));
    }
    rows.ratio("idle", "KiB/conn", (Wirehub, Baseline), Goal::AtMost(0.5));
    rows.absolute("idle", "KiB/conn", Wirehub, Goal::Below(16.0));
    // Metrics cost: on ÷ off; where per-message cost shows (pipelined), also
    // without the handler histogram.
    rows.ratio("echo", "msgs/s", (Wirehub, WirehubNoMetrics), Goal::AtLeast(0.97));
    rows.ratio("pipelined", "msgs/s", (Wirehub, WirehubNoMetrics), Goal::Reported);
    rows.ratio("pipelined", "msgs/s", (WirehubNoTiming, WirehubNoMetrics), Goal::AtLeast(0.97));
    // Embedding cost (issue 15): mounted in axum ÷ standalone.
    rows.ratio("echo", "msgs/s", (WirehubAxum, Wirehub), Goal::AtLeast(0.95));
    rows.ratio("connrate", "handshakes/s", (WirehubAxum, Wirehub), Goal::AtLeast(0.90));
    rows.ratio("idle", "KiB/conn", (WirehubAxum, Wirehub), Goal::AtMost(1.10));
    // What room history costs a broadcast (issue 20).
    for scenario in ["broadcast-100", "broadcast-1000"] {
        rows.ratio(scenario, "deliveries/s", (WirehubHistory, Wirehub), Goal::AtLeast(0.85));
    }

    rows.group = "issue 19";
    rows.ratio("echo", CPU_PER_MSG, (Wirehub, Fastws), Goal::AtMost(1.0));
    rows.ratio("echo", CPU_PER_MSG, (Wirehub, TUNED), Goal::AtMost(1.0));
    rows.ratio("echo", "p99 µs", (Wirehub, TUNED), Goal::AtMost(1.0));
    rows.absolute("idle", "KiB/conn", Wirehub, Goal::AtMost(4.0));
    for peer in [Fastws, Baseline4k, Baseline2k, Baseline, Axum, Node] {
        rows.ratio("idle", "KiB/conn", (Wirehub, peer), Goal::Below(1.0));
    }
    rows.ratio("broadcast-paced", CPU_PER_DELIVERY, (Wirehub, TUNED), Goal::AtMost(1.0));
    rows.ratio("broadcast-paced", "p99 µs", (Wirehub, TUNED), Goal::AtMost(1.0));
    rows.absolute("broadcast-1000", "deliveries/s", Wirehub, Goal::Reported);
    rows.ratio("connrate", "handshakes/s", (Wirehub, TUNED), Goal::AtLeast(1.1));
    rows.ratio("broadcast-redis", "deliveries/s", (WirehubRedis, Wirehub), Goal::AtLeast(0.5));
    rows.ratio("broadcast-redis", "p99 µs", (WirehubRedis, Wirehub), Goal::Reported);
    let burst: Vec<Peer> = rows.find("broadcast-1000").map(|s| s.scenario.servers.clone()).unwrap_or_default();
    for peer in burst {
        rows.absolute("broadcast-1000", "peak RSS MiB", peer, Goal::Reported);
    }
    rows.out
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), num)
}

fn value_text(t: &Target) -> String {
    t.value.map_or_else(|| "—".to_owned(), |v| if t.b.is_some() { format!("{v:.3}") } else { num(v) })
}

/// Prints the targets, group by group.
pub(crate) fn print(targets: &[Target]) {
    let mut group = "";
    for t in targets {
        if t.group != group {
            group = t.group;
            println!("\n== targets: {group} (ratios: median of per-round ratios)");
        }
        println!("  {:<70} {:>9} (goal {:<8}) {}", t.what, value_text(t), t.goal.text(), t.met_text());
    }
}

/// The targets as markdown tables, one per group.
pub(crate) fn markdown(md: &mut String, targets: &[Target]) {
    let mut group = "";
    for t in targets {
        if t.group != group {
            group = t.group;
            let _ = writeln!(md, "\n### Targets: {group}\n");
            let _ = writeln!(md, "| target | a (median) | b (median) | value | goal | |");
            let _ = writeln!(md, "|---|---:|---:|---:|---|---|");
        }
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            t.what,
            opt(t.a),
            opt(t.b),
            value_text(t),
            t.goal.text(),
            t.met_text()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_hold_at_their_bounds() {
        assert_eq!(Goal::AtLeast(1.1).met(1.1), Some(true));
        assert_eq!(Goal::AtLeast(1.1).met(1.09), Some(false));
        assert_eq!(Goal::AtMost(1.0).met(1.0), Some(true));
        assert_eq!(Goal::Below(1.0).met(1.0), Some(false));
        assert_eq!(Goal::Reported.met(3.0), None);
    }
}
