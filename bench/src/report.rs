//! Aggregation (medians over rounds), wirehub/peer ratios, the targets, and
//! the written report: `results.md` (tables) and `chart.svg` (plotters).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::load::{Better, Figure, CPU_PER_DELIVERY, CPU_PER_MSG};
use crate::servers::Peer;
use crate::suite::Scenario;
use crate::targets::Target;
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
    pub(crate) fn paired(&self, a: Peer, b: Peer, key: &str) -> Option<f64> {
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

    /// `peer`'s median `key` figure.
    pub(crate) fn figure(&self, peer: Peer, key: &str) -> Option<f64> {
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

/// `wirehub ÷ peer` for each figure both have (the median of the per-round
/// ratios), and whether that is more than 5% in the peer's favour.
fn ratios(summary: &Summary, peer: Peer) -> Vec<(&'static str, f64, bool)> {
    let Some((_, Outcome::Ok(figures))) = summary.outcomes.iter().find(|(p, _)| *p == peer) else {
        return Vec::new();
    };
    figures
        .iter()
        .filter_map(|f| {
            let ratio = summary.paired(Peer::Wirehub, peer, f.key)?;
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
    println!("  -- medians, and ratios wirehub/peer (median of the per-round ratios):");
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
         medians over the rounds. Ratio = wirehub ÷ peer, the median of the ratios within each round (so that \
         the machine's drift during a run cancels): above 1 means wirehub's figure is bigger, which is better \
         for throughput (msgs/s, deliveries/s, handshakes/s) and worse for latency (µs), server CPU time (µs \
         per message, delivery or handshake) and memory (KiB/conn, MiB); ratios more than 5% in the peer's \
         favour are in bold.\n"
    );
    if let Some(why) = &meta.node_missing {
        let _ = writeln!(md, "node-ws was skipped: {why}.\n");
    }

    let _ = writeln!(
        md,
        "## Targets\n\nRatios are a ÷ b, the median over the rounds of the ratio within each round (the two servers \
         ran back to back); `a (median)` and `b (median)` are each server's median figure."
    );
    crate::targets::markdown(&mut md, targets);
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
         unbounded. peak RSS MiB = `VmHWM` of the server process (fresh for every run) once the run is over.\n\
         - **broadcast-paced**: the same room and checks, the publisher sending at a fixed rate (20 msg/s) instead \
         of as fast as it can; the first second's messages are delivered and checked but not counted.\n\
         - **broadcast-redis**: two `bench_server` instances sharing `/room` through a `redis-server` the bench \
         starts (`--save \"\" --appendonly no`, fresh every run): the publisher on instance A, every subscriber on \
         instance B, so that every delivery crosses Redis (a split would let part of them skip it); in-process \
         wirehub (one instance) runs alongside, round by round. CPU is the sum of both instances.\n\
         - **server CPU**: `utime + stime` of the server process(es) from `/proc/<pid>/stat`, read at the start and \
         the end of the measured window (broadcasts: when the first counted message is sent and when the last \
         subscriber gets the end marker), divided by the round trips, messages, deliveries or handshakes counted. \
         **server user CPU** (broadcasts) is `utime` alone: on loopback the system share includes the receiving \
         side's TCP work and the wake-up of the reading client, which the sender's system call does.\n\
         - The load generator's clients read in 8 KiB chunks (same client for every server).\n\
         - **connrate**: workers connect, complete the upgrade, close with a close handshake, and start over.\n\
         - **idle**: server RSS (`VmRSS` of `/proc/<pid>/status`) after one warm-up round trip, then after N idle \
         connections are open (each reading settled to 0.5%); KiB/conn = delta ÷ N, RSS MiB = the total with N \
         open. The baseline uses tungstenite's default `WebSocketConfig` (128 KiB read buffer); wirehub uses its \
         production defaults (4 KiB read chunk on the stack, heartbeat on).\n\
         - Servers: **wirehub** = `examples/bench_server.rs`; **tokio-tungstenite** = `wirehub-bench serve-baseline` \
         (accept_hdr_async, default config, a task per connection, `/room` = shared `Vec` of unbounded mpsc \
         senders, a writer task per connection); **tokio-tungstenite-4k** (issue 19's \"tuned\") and \
         **tokio-tungstenite-2k** = the same server with `read_buffer_size` 4 KiB and 2 KiB (tungstenite \
         zero-fills its whole read chunk, 128 KiB by default, before every socket read); **fastwebsockets** = \
         `wirehub-bench serve-fastws` (hyper 1 upgrade, `FragmentCollector` echo, the same naive room over split \
         halves); **axum** = `wirehub-bench serve-axum` (echo only); **node-ws** = `bench/node/server.js` (ws 8, \
         one process); **wirehub-history** = `bench_server`'s `/hroom` (`history = 100`: each message gets a \
         position and is kept) in the broadcast scenarios; **wirehub-redis** = two instances on Redis (above). \
         All set TCP_NODELAY."
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
        Peer::WirehubRedis => RGBColor(0x6e, 0x1d, 0x08),
        Peer::Baseline4k => RGBColor(0x5a, 0x92, 0xd0),
        Peer::Baseline2k => RGBColor(0x8f, 0xb8, 0xe6),
        Peer::Fastws => RGBColor(0xe0, 0xa8, 0x1e),
        Peer::Axum => RGBColor(0x8a, 0x5c, 0xc2),
        Peer::Node => RGBColor(0x3b, 0x9a, 0x4a),
    }
}

/// A group of bars: a label and, per server, (value ÷ wirehub's, median label).
type Group = (String, Vec<(Peer, f64, String)>);

fn short(v: f64, unit: &str) -> String {
    if unit == "µs" {
        return match v {
            v if v >= 1e6 => format!("{:.2}s", v / 1e6),
            v if v >= 1e4 => format!("{:.0}ms", v / 1e3),
            v if v >= 1e3 => format!("{:.1}ms", v / 1e3),
            v if v >= 100.0 => format!("{v:.0}µs"),
            v if v >= 10.0 => format!("{v:.1}µs"),
            v => format!("{v:.2}µs"),
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
        // Heights are the median of the per-round ratios, like the tables;
        // labels are the medians themselves.
        let bars: Vec<_> = s
            .outcomes
            .iter()
            .filter_map(|(peer, _)| {
                let v = s.figure(*peer, key)?;
                let height = s.paired(*peer, Peer::Wirehub, key).unwrap_or(v / base);
                Some((*peer, height, short(v, unit)))
            })
            .collect();
        out.push((format!("{scenario} {key}"), bars));
    }
    out
}

/// Width of the chart, in pixels.
const CHART_WIDTH: u32 = 1400;

fn chart(path: &Path, summaries: &[Summary]) -> Res<()> {
    let top = groups(
        summaries,
        &[
            ("echo", "msgs/s", "/s"),
            ("pipelined", "msgs/s", "/s"),
            ("broadcast-100", "deliveries/s", "/s"),
            ("broadcast-1000", "deliveries/s", "/s"),
            ("broadcast-redis", "deliveries/s", "/s"),
            ("connrate", "handshakes/s", "/s"),
        ],
    );
    let middle = groups(
        summaries,
        &[
            ("echo", "p99 µs", "µs"),
            ("pipelined", "p99 µs", "µs"),
            ("broadcast-100", "p99 µs", "µs"),
            ("broadcast-1000", "p99 µs", "µs"),
            ("broadcast-paced", "p99 µs", "µs"),
        ],
    );
    let bottom = groups(
        summaries,
        &[
            ("echo", CPU_PER_MSG, "µs"),
            ("pipelined", CPU_PER_MSG, "µs"),
            ("broadcast-1000", CPU_PER_DELIVERY, "µs"),
            ("broadcast-paced", CPU_PER_DELIVERY, "µs"),
            ("idle", "KiB/conn", "KiB"),
            ("broadcast-1000", "peak RSS MiB", "MiB"),
        ],
    );
    let root = SVGBackend::new(path, (CHART_WIDTH, 1380)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (key, panels) = root.split_vertically(50);
    legend(&key, summaries).map_err(|e| e.to_string())?;
    let (upper, rest) = panels.split_vertically(450);
    let (mid, low) = rest.split_vertically(440);
    panel(&upper, "Throughput, relative to wirehub (higher is better)", &top).map_err(|e| e.to_string())?;
    panel(&mid, "p99 latency, relative to wirehub (lower is better)", &middle).map_err(|e| e.to_string())?;
    panel(&low, "Server CPU per message or delivery, and memory, relative to wirehub (lower is better)", &bottom)
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

/// Rows naming the servers and their colours, above both panels (a
/// legend inside a panel would hide bars).
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    summaries: &[Summary],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let shown: Vec<Peer> =
        Peer::ALL.into_iter().filter(|p| summaries.iter().any(|s| s.outcomes.iter().any(|(q, _)| q == p))).collect();
    let style = TextStyle::from(("sans-serif", 13)).pos(Pos::new(HPos::Left, VPos::Center));
    let (mut x, mut y) = (80, 10);
    for peer in shown {
        let width = 36 + 7 * peer.name().len() as i32;
        if x + width > CHART_WIDTH as i32 - 20 {
            (x, y) = (80, y + 20);
        }
        area.draw(&Rectangle::new([(x, y), (x + 14, y + 14)], color(peer).filled()))?;
        area.draw(&Text::new(peer.name(), (x + 20, y + 7), style.clone()))?;
        x += width;
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
