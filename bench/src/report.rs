//! Aggregation (medians over rounds), wirehub/peer ratios, the targets, and
//! the written report: `results.md` (tables) and `chart.svg` (plotters).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::load::{Better, Figure};
use crate::servers::Peer;
use crate::suite::Scenario;
use crate::Res;

/// How a scenario went on one server.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Median figures over the rounds.
    Ok(Vec<Figure>),
    /// The first error (a correctness failure, a crash, a stall).
    Failed(String),
}

/// One scenario's outcome on every server.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    /// The scenario.
    pub(crate) scenario: Scenario,
    /// Per server, in the scenario's order (wirehub first).
    pub(crate) outcomes: Vec<(Peer, Outcome)>,
    /// Every round's figures per server (round `r` of two servers ran
    /// back to back), for ratios taken round by round.
    pub(crate) rounds: Vec<(Peer, Vec<Vec<Figure>>)>,
}

impl Summary {
    /// The median over rounds of `a`'s figure ÷ `b`'s in the same round:
    /// steadier than a ratio of medians when the machine's speed drifts
    /// during a run.
    fn paired(&self, a: Peer, b: Peer, key: &str) -> Option<f64> {
        let rounds_of = |peer: Peer| self.rounds.iter().find(|(p, _)| *p == peer).map(|(_, r)| r);
        let value = |round: &Vec<Figure>| round.iter().find(|f| f.key == key).map(|f| f.value);
        let (ra, rb) = (rounds_of(a)?, rounds_of(b)?);
        let mut ratios: Vec<f64> =
            ra.iter().zip(rb).filter_map(|(x, y)| Some(value(x)? / value(y)?)).filter(|r| r.is_finite()).collect();
        if ratios.is_empty() {
            return None;
        }
        ratios.sort_by(f64::total_cmp);
        let mid = ratios.len() / 2;
        Some(if ratios.len() % 2 == 1 { ratios[mid] } else { (ratios[mid - 1] + ratios[mid]) / 2.0 })
    }

    fn figure(&self, peer: Peer, key: &str) -> Option<f64> {
        self.outcomes.iter().find(|(p, _)| *p == peer).and_then(|(_, o)| match o {
            Outcome::Ok(figures) => figures.iter().find(|f| f.key == key).map(|f| f.value),
            Outcome::Failed(_) => None,
        })
    }
}

/// Facts about the run, for the report's header.
#[derive(Debug)]
pub(crate) struct Meta {
    /// `/proc/loadavg` when the run started.
    pub(crate) load_at_start: String,
    /// How long the run took.
    pub(crate) elapsed: Duration,
    /// Why Node was skipped, if it was.
    pub(crate) node_missing: Option<String>,
}

/// The per-figure median of several rounds (same keys in the same order).
pub(crate) fn median(rounds: &[Vec<Figure>]) -> Vec<Figure> {
    let Some(first) = rounds.first() else { return Vec::new() };
    first
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut values: Vec<f64> = rounds.iter().filter_map(|r| r.get(i)).map(|f| f.value).collect();
            values.sort_by(f64::total_cmp);
            let mid = values.len() / 2;
            let value = if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 };
            Figure { value, ..f.clone() }
        })
        .collect()
}

/// A number for humans: thousands grouped, two decimals below 10.
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_owned();
    }
    if v.abs() < 10.0 {
        return format!("{v:.2}");
    }
    if v.abs() < 100.0 {
        return format!("{v:.1}");
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// `msgs/s 41,203 · p50 µs 812 · ...`
pub(crate) fn inline(figures: &[Figure]) -> String {
    figures.iter().map(|f| format!("{} {}", f.key, num(f.value))).collect::<Vec<_>>().join(" · ")
}

/// `wirehub ÷ peer` for each figure both have, and whether that is more
/// than 5% in the peer's favour.
fn ratios(summary: &Summary, peer: Peer) -> Vec<(&'static str, f64, bool)> {
    let Some((_, Outcome::Ok(figures))) = summary.outcomes.iter().find(|(p, _)| *p == peer) else {
        return Vec::new();
    };
    figures
        .iter()
        .filter_map(|f| {
            let ratio = summary.figure(Peer::Wirehub, f.key)? / f.value;
            let worse = match f.better {
                Better::Higher => ratio < 0.95,
                Better::Lower => ratio > 1.05,
            };
            Some((f.key, ratio, worse))
        })
        .collect()
}

/// The ratios as text; `flag` marks those more than 5% in the peer's favour.
fn ratio_text(summary: &Summary, peer: Peer, flag: (&str, &str)) -> String {
    ratios(summary, peer)
        .iter()
        .map(|(k, r, worse)| if *worse { format!("{k} {}{r:.2}{}", flag.0, flag.1) } else { format!("{k} {r:.2}") })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Prints a scenario's medians and its wirehub/peer ratios.
pub(crate) fn print_ratios(summary: &Summary) {
    println!("  -- medians, and ratios wirehub/peer:");
    for (peer, outcome) in &summary.outcomes {
        match outcome {
            Outcome::Ok(figures) => {
                let ratio = if *peer == Peer::Wirehub { String::new() } else { ratio_text(summary, *peer, ("!", "")) };
                println!("  {:<18} {}", peer.name(), inline(figures));
                if !ratio.is_empty() {
                    println!("  {:<18}   wirehub/{}: {ratio}", "", peer.name());
                }
            }
            Outcome::Failed(e) => println!("  {:<18} FAILED: {e}", peer.name()),
        }
    }
}

/// One target of the brief, evaluated.
#[derive(Debug)]
pub(crate) struct Target {
    what: String,
    wirehub: Option<f64>,
    baseline: Option<f64>,
    value: Option<f64>,
    goal: String,
    met: Option<bool>,
}

/// The targets (wirehub vs plain tokio-tungstenite, same run).
pub(crate) fn targets(summaries: &[Summary]) -> Vec<Target> {
    let find = |key: &str| summaries.iter().find(|s| s.scenario.key == key);
    let mut out = Vec::new();
    let mut ratio_target = |scenario: &str, figure: &str, at_least: bool, bound: f64| {
        let s = find(scenario);
        let w = s.and_then(|s| s.figure(Peer::Wirehub, figure));
        let b = s.and_then(|s| s.figure(Peer::Baseline, figure));
        let value = w.zip(b).map(|(w, b)| w / b);
        out.push(Target {
            what: format!("{scenario} {figure}: wirehub / tokio-tungstenite"),
            wirehub: w,
            baseline: b,
            value,
            goal: format!("{} {bound:.2}", if at_least { ">=" } else { "<=" }),
            met: value.map(|v| if at_least { v >= bound } else { v <= bound }),
        });
    };
    ratio_target("echo", "msgs/s", true, 0.95);
    ratio_target("echo", "p99 µs", false, 1.10);
    ratio_target("broadcast-100", "deliveries/s", true, 1.0);
    ratio_target("broadcast-100", "p99 µs", false, 1.0);
    ratio_target("broadcast-1000", "deliveries/s", true, 1.0);
    ratio_target("broadcast-1000", "p99 µs", false, 1.0);
    ratio_target("idle", "KiB/conn", false, 0.5);
    // Metrics cost: wirehub (metrics on) ÷ the same server with metrics off;
    // and, where per-message cost shows (pipelined), without the histogram.
    for (scenario, with, what, goal) in [
        ("echo", Peer::Wirehub, "echo msgs/s: metrics on / metrics off (per-round median)", Some(0.97)),
        ("pipelined", Peer::Wirehub, "pipelined msgs/s: metrics on / metrics off (per-round median)", None),
        (
            "pipelined",
            Peer::WirehubNoTiming,
            "pipelined msgs/s: handler_timing off / metrics off (per-round median)",
            Some(0.97),
        ),
    ] {
        let s = find(scenario);
        let on = s.and_then(|s| s.figure(with, "msgs/s"));
        let off = s.and_then(|s| s.figure(Peer::WirehubNoMetrics, "msgs/s"));
        // A cost of a few percent is within run-to-run drift: compare the
        // two servers round by round.
        let value = s.and_then(|s| s.paired(with, Peer::WirehubNoMetrics, "msgs/s"));
        out.push(Target {
            what: what.to_owned(),
            wirehub: on,
            baseline: off,
            value,
            goal: goal.map_or_else(|| "reported".to_owned(), |g| format!(">= {g}")),
            met: goal.and_then(|g| value.map(|v| v >= g)),
        });
    }
    // Embedding cost (issue 15): mounted in axum ÷ standalone, round by round.
    for (scenario, figure, at_least, bound) in
        [("echo", "msgs/s", true, 0.95), ("connrate", "handshakes/s", true, 0.90), ("idle", "KiB/conn", false, 1.10)]
    {
        let s = find(scenario);
        let value = s.and_then(|s| s.paired(Peer::WirehubAxum, Peer::Wirehub, figure));
        out.push(Target {
            what: format!("{scenario} {figure}: wirehub mounted in axum / standalone (per-round median)"),
            wirehub: s.and_then(|s| s.figure(Peer::WirehubAxum, figure)),
            baseline: s.and_then(|s| s.figure(Peer::Wirehub, figure)),
            value,
            goal: format!("{} {bound:.2}", if at_least { ">=" } else { "<=" }),
            met: value.map(|v| if at_least { v >= bound } else { v <= bound }),
        });
    }
    history_targets(summaries, &mut out);
    let absolute = find("idle").and_then(|s| s.figure(Peer::Wirehub, "KiB/conn"));
    out.push(Target {
        what: "idle KiB/conn: wirehub absolute".to_owned(),
        wirehub: absolute,
        baseline: None,
        value: absolute,
        goal: "< 16 KiB".to_owned(),
        met: absolute.map(|v| v < 16.0),
    });
    out
}

/// What room history costs a broadcast (issue 20): history on ÷ off,
/// round by round, at most 15 % fewer deliveries/s.
fn history_targets(summaries: &[Summary], out: &mut Vec<Target>) {
    for scenario in ["broadcast-100", "broadcast-1000"] {
        let s = summaries.iter().find(|s| s.scenario.key == scenario);
        let value = s.and_then(|s| s.paired(Peer::WirehubHistory, Peer::Wirehub, "deliveries/s"));
        out.push(Target {
            what: format!("{scenario} deliveries/s: history on / off (per-round median)"),
            wirehub: s.and_then(|s| s.figure(Peer::WirehubHistory, "deliveries/s")),
            baseline: s.and_then(|s| s.figure(Peer::Wirehub, "deliveries/s")),
            value,
            goal: ">= 0.85".to_owned(),
            met: value.map(|v| v >= 0.85),
        });
    }
}

fn met_text(t: &Target) -> &'static str {
    match (t.met, t.value) {
        (Some(true), _) => "met",
        (Some(false), _) => "MISSED",
        (None, Some(_)) => "",
        (None, None) => "not measured",
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), num)
}

/// Prints the targets table.
pub(crate) fn print_targets(targets: &[Target]) {
    println!("\n== targets");
    for t in targets {
        let value = t.value.map_or_else(|| "—".to_owned(), |v| format!("{v:.3}"));
        println!("  {:<55} {:>8} (goal {:<8}) {}", t.what, value, t.goal, met_text(t));
    }
}

fn shell(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .current_dir(crate::servers::workspace_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Writes `results.md` and `chart.svg` into `dir`.
pub(crate) fn write(dir: &Path, summaries: &[Summary], targets: &[Target], meta: &Meta) -> Res<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("results.md"), markdown(summaries, targets, meta))?;
    chart(&dir.join("chart.svg"), summaries)?;
    Ok(())
}

fn markdown(summaries: &[Summary], targets: &[Target], meta: &Meta) -> String {
    let mut md = String::new();
    let date = shell("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let commit = shell("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = if shell("git", &["status", "--porcelain"]).is_empty() { "" } else { " + uncommitted changes" };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let rustc = shell("rustc", &["--version"]);
    let _ = writeln!(md, "# wirehub benchmark results\n");
    let _ = writeln!(
        md,
        "`cargo run --release -p wirehub-bench -- full`, {date}, commit `{commit}`{dirty}; {cores} cores of {cpu}, \
         {}; load average at start `{}`; the run took {:.0} s.\n",
        rustc.trim(),
        meta.load_at_start.trim(),
        meta.elapsed.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "Each server runs as its own child process (fresh for every run) on 127.0.0.1; the load generator \
         (tokio + tokio-tungstenite, one process) shares the same cores, so absolute figures are modest and noisy: \
         **the ratios are what matter**. Within each scenario the servers alternate round by round; figures are \
         medians over the rounds. Ratio = wirehub ÷ peer: above 1 means wirehub's figure is bigger, which is better \
         for throughput (msgs/s, deliveries/s, handshakes/s) and worse for latency (µs) and memory (KiB/conn, MiB); \
         ratios more than 5% in the peer's favour are in bold.\n"
    );
    if let Some(why) = &meta.node_missing {
        let _ = writeln!(md, "node-ws was skipped: {why}.\n");
    }

    let _ = writeln!(md, "## Targets (wirehub vs plain tokio-tungstenite, same run)\n");
    let _ = writeln!(md, "| target | wirehub | tokio-tungstenite | value | goal | |");
    let _ = writeln!(md, "|---|---:|---:|---:|---|---|");
    for t in targets {
        let value = t.value.map_or_else(|| "—".to_owned(), |v| format!("{v:.3}"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {value} | {} | {} |",
            t.what,
            opt(t.wirehub),
            opt(t.baseline),
            t.goal,
            met_text(t)
        );
    }

    let _ = writeln!(md, "\n## Results\n");
    let _ = writeln!(md, "| scenario | server | figures (median) | ratio wirehub ÷ server |");
    let _ = writeln!(md, "|---|---|---|---|");
    for s in summaries {
        for (i, (peer, outcome)) in s.outcomes.iter().enumerate() {
            let scenario =
                if i == 0 { format!("**{}** ({})", s.scenario.key, s.scenario.title) } else { String::new() };
            let (figures, ratio) = match outcome {
                Outcome::Ok(f) => {
                    let ratio =
                        if *peer == Peer::Wirehub { "—".to_owned() } else { ratio_text(s, *peer, ("**", "**")) };
                    (inline(f), ratio)
                }
                Outcome::Failed(e) => {
                    (format!("**FAILED**: {}", e.replace('|', "/").replace('\n', " ")), "—".to_owned())
                }
            };
            let _ = writeln!(md, "| {scenario} | {} | {figures} | {ratio} |", peer.name());
        }
    }

    let _ = writeln!(md, "\n![chart](chart.svg)\n");
    let _ = writeln!(md, "## Scenarios\n");
    let _ = writeln!(
        md,
        "- **echo**: each connection sends a binary message and waits for its echo before the next; msgs/s counts \
         round trips started in the measured window (after a warm-up); latency is the round trip. Every echo is \
         compared byte for byte.\n\
         - **pipelined**: each connection keeps a window of messages in flight (refilled in one flush per read \
         burst); echoes are checked in order, none missing; latency from the timestamp in the payload.\n\
         - **broadcast-N**: N subscribers and 1 publisher on `/room`. The publisher probes until every subscriber \
         is a member, then sends 64-byte binary messages (sequence number, timestamp, pattern) staying at most \
         about a window (64, or 32 for 1000 subscribers) ahead of the slowest subscriber, then a text end marker. \
         Every subscriber checks every delivery (in order, none missing, none duplicated, bytes and frame kind \
         unchanged) and the run fails loudly otherwise; the publisher checks it never receives its own messages. \
         deliveries/s = messages × N ÷ (last delivery − first send); latency is publisher send → subscriber \
         receive. wirehub's `/room` has `queue = 65536` so that a subscriber briefly descheduled on 2 shared cores \
         is not closed as a slow consumer (1013) in the middle of a throughput run; the naive peers' queues are \
         unbounded.\n\
         - The load generator's clients read in 8 KiB chunks (same client for every server).\n\
         - **connrate**: workers connect, complete the upgrade, close with a close handshake, and start over.\n\
         - **idle**: server RSS (`VmRSS` of `/proc/<pid>/status`) after one warm-up round trip, then after N idle \
         connections are open (each reading settled to 0.5%); KiB/conn = delta ÷ N, RSS MiB = the total with N \
         open. The baseline uses tungstenite's default `WebSocketConfig` (128 KiB read buffer); wirehub uses its \
         production defaults (1 KiB read buffer, heartbeat on).\n\
         - Servers: **wirehub** = `examples/bench_server.rs`; **tokio-tungstenite** = `wirehub-bench serve-baseline` \
         (accept_hdr_async, default config, a task per connection, `/room` = shared `Vec` of unbounded mpsc \
         senders, a writer task per connection); **tokio-tungstenite-2k** = the same server with \
         `read_buffer_size = 2 KiB` like wirehub (tungstenite zero-fills its whole read chunk, 128 KiB by default, \
         before every socket read: this variant shows what the buffer size alone changes); **axum** = `wirehub-bench serve-axum` (echo only); **node-ws** = \
         `bench/node/server.js` (ws 8, one process); **wirehub-history** = `bench_server`'s `/hroom` \
         (`history = 100`: each message gets a position and is kept) in the broadcast scenarios. All set TCP_NODELAY."
    );
    md
}

fn color(peer: Peer) -> RGBColor {
    match peer {
        Peer::Wirehub => RGBColor(0xd9, 0x48, 0x1c),
        Peer::WirehubAxum => RGBColor(0xb3, 0x36, 0x0f),
        Peer::WirehubNoMetrics => RGBColor(0xf2, 0xa0, 0x7b),
        Peer::WirehubNoTiming => RGBColor(0xe8, 0x74, 0x4a),
        Peer::WirehubHistory => RGBColor(0x9e, 0x2a, 0x0b),
        Peer::Baseline => RGBColor(0x31, 0x6b, 0xb5),
        Peer::BaselineTuned => RGBColor(0x8f, 0xb8, 0xe6),
        Peer::Axum => RGBColor(0x8a, 0x5c, 0xc2),
        Peer::Node => RGBColor(0x3b, 0x9a, 0x4a),
    }
}

/// A group of bars: a label and, per server, (value ÷ wirehub's, absolute label).
type Group = (String, Vec<(Peer, f64, String)>);

fn short(v: f64, unit: &str) -> String {
    if unit == "µs" {
        return match v {
            v if v >= 1e6 => format!("{:.2}s", v / 1e6),
            v if v >= 1e4 => format!("{:.0}ms", v / 1e3),
            v if v >= 1e3 => format!("{:.1}ms", v / 1e3),
            v => format!("{v:.0}µs"),
        };
    }
    let text = if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    };
    format!("{text}{unit}")
}

fn groups(summaries: &[Summary], picks: &[(&str, &str, &str)]) -> Vec<Group> {
    let mut out = Vec::new();
    for (scenario, key, unit) in picks {
        let Some(s) = summaries.iter().find(|s| s.scenario.key == *scenario) else { continue };
        let Some(base) = s.figure(Peer::Wirehub, key) else { continue };
        let bars: Vec<_> = s
            .outcomes
            .iter()
            .filter_map(|(peer, _)| s.figure(*peer, key).map(|v| (*peer, v / base, short(v, unit))))
            .collect();
        out.push((format!("{scenario} {key}"), bars));
    }
    out
}

fn chart(path: &Path, summaries: &[Summary]) -> Res<()> {
    let top = groups(
        summaries,
        &[
            ("echo", "msgs/s", "/s"),
            ("pipelined", "msgs/s", "/s"),
            ("broadcast-100", "deliveries/s", "/s"),
            ("broadcast-1000", "deliveries/s", "/s"),
            ("connrate", "handshakes/s", "/s"),
        ],
    );
    let bottom = groups(
        summaries,
        &[
            ("echo", "p99 µs", "µs"),
            ("pipelined", "p99 µs", "µs"),
            ("broadcast-100", "p99 µs", "µs"),
            ("broadcast-1000", "p99 µs", "µs"),
            ("idle", "KiB/conn", "KiB"),
        ],
    );
    let root = SVGBackend::new(path, (1200, 930)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (key, panels) = root.split_vertically(30);
    legend(&key, summaries).map_err(|e| e.to_string())?;
    let (upper, lower) = panels.split_vertically(450);
    panel(&upper, "Throughput, relative to wirehub (higher is better)", &top).map_err(|e| e.to_string())?;
    panel(&lower, "p99 latency and memory per idle connection, relative to wirehub (lower is better)", &bottom)
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

/// One row naming the servers and their colours, above both panels (a
/// legend inside a panel would hide bars).
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    summaries: &[Summary],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let shown: Vec<Peer> =
        Peer::ALL.into_iter().filter(|p| summaries.iter().any(|s| s.outcomes.iter().any(|(q, _)| q == p))).collect();
    let style = TextStyle::from(("sans-serif", 13)).pos(Pos::new(HPos::Left, VPos::Center));
    let mut x = 80;
    for peer in shown {
        area.draw(&Rectangle::new([(x, 10), (x + 14, 24)], color(peer).filled()))?;
        area.draw(&Text::new(peer.name(), (x + 20, 17), style.clone()))?;
        x += 36 + 7 * peer.name().len() as i32;
    }
    Ok(())
}

/// Bars are capped at this multiple of wirehub's figure (the label keeps the
/// real value).
const CAP: f64 = 4.0;

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    groups: &[Group],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let n = groups.len().max(1);
    let tallest = groups.iter().flat_map(|(_, bars)| bars.iter().map(|b| b.1)).fold(1.0, f64::max);
    // Headroom above the bars for their labels and the legend.
    let top = (tallest.min(CAP) * 1.15).max(1.3);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(56)
        // `a..b` segmented has one segment per value of a..=b: n groups.
        .build_cartesian_2d((0..n as i32 - 1).into_segmented(), 0f64..top)?
        // Bars are placed within their group on a continuous twin axis.
        .set_secondary_coord(0f64..n as f64, 0f64..top);
    let label_of = |x: &SegmentValue<i32>| match x {
        SegmentValue::CenterOf(i) => groups.get(*i as usize).map(|g| g.0.clone()).unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n + 1)
        .x_label_formatter(&label_of)
        .y_desc("× wirehub")
        .y_label_formatter(&|y| format!("{y:.1}"))
        .label_style(("sans-serif", 12))
        .draw()?;
    chart.draw_secondary_series(std::iter::once(PathElement::new(
        vec![(0.0, 1.0), (n as f64, 1.0)],
        BLACK.stroke_width(1),
    )))?;

    for peer in Peer::ALL {
        let mut bars = Vec::new();
        let mut labels = Vec::new();
        for (i, (_, group)) in groups.iter().enumerate() {
            let Some(slot) = group.iter().position(|b| b.0 == peer) else { continue };
            let (_, value, text) = &group[slot];
            let width = 0.8 / group.len() as f64;
            let x0 = i as f64 + 0.1 + slot as f64 * width;
            let height = value.min(CAP);
            bars.push(Rectangle::new([(x0 + width * 0.08, 0.0), (x0 + width * 0.92, height)], color(peer).filled()));
            let above = TextStyle::from(("sans-serif", 10)).pos(Pos::new(HPos::Center, VPos::Bottom));
            let at = (x0 + width / 2.0, height);
            labels.push(EmptyElement::at(at) + Text::new(text.clone(), (0, -3), above));
            if *value > CAP {
                // A capped bar says inside by how much it goes off the chart.
                let inside = TextStyle::from(("sans-serif", 10)).color(&WHITE).pos(Pos::new(HPos::Center, VPos::Top));
                labels.push(EmptyElement::at(at) + Text::new(format!("×{value:.1}"), (0, 4), inside));
            }
        }
        if bars.is_empty() {
            continue;
        }
        chart.draw_secondary_series(bars)?;
        chart.draw_secondary_series(labels)?;
    }
    Ok(())
}
