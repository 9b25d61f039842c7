//! Pure parsers for the literals of `#[ws_route]` options: durations and
//! sizes. They return the value or a message saying what to write instead.

/// Parses a duration literal such as `"30s"`, `"250ms"`, `"5m"` or `"1h"`
/// into milliseconds.
pub(crate) fn parse_duration(text: &str) -> Result<u64, String> {
    let help = "write a whole number followed by `ms`, `s`, `m` or `h`, such as `\"30s\"`";
    let (digits, unit) = split_number(text);
    let scale: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("invalid duration `\"{text}\"`: {help}")),
    };
    let n: u64 = digits.parse().map_err(|_| format!("invalid duration `\"{text}\"`: {help}"))?;
    if n == 0 {
        return Err(format!("invalid duration `\"{text}\"`: it must be greater than zero, such as `\"30s\"`"));
    }
    n.checked_mul(scale).ok_or_else(|| {
        format!("duration `\"{text}\"` is too large: write a smaller one, such as `\"24h\"` or `\"90m\"`")
    })
}

/// Parses a size literal such as `"1MiB"`, `"64KiB"`, `"512B"` or `"2GiB"`
/// (also `KB`/`MB`/`GB` for powers of ten) into bytes.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let help = "write a whole number followed by `B`, `KiB`, `MiB` or `GiB`, such as `\"1MiB\"`";
    let (digits, unit) = split_number(text);
    let scale: u64 = match unit {
        "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return Err(format!("invalid size `\"{text}\"`: {help}")),
    };
    let n: u64 = digits.parse().map_err(|_| format!("invalid size `\"{text}\"`: {help}"))?;
    if n == 0 {
        return Err(format!("invalid size `\"{text}\"`: it must be greater than zero, such as `\"1MiB\"`"));
    }
    n.checked_mul(scale).ok_or_else(|| {
        format!("size `\"{text}\"` is too large: write a smaller one, such as `\"1GiB\"` or `\"64MiB\"`")
    })
}

/// Parses a rate literal such as `"50/s"`, `"600/m"` or `"10000/h"` into
/// (messages, period in milliseconds).
pub(crate) fn parse_rate(text: &str) -> Result<(u32, u64), String> {
    let help = "write a number of messages per `s`, `m` or `h`, such as `\"50/s\"`";
    let Some((count, per)) = text.split_once('/') else {
        return Err(format!("invalid rate `\"{text}\"`: {help}"));
    };
    let count: u32 = match count.parse() {
        Ok(0) => return Err(format!("invalid rate `\"{text}\"`: it must be greater than zero, such as `\"50/s\"`")),
        Ok(n) if count.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => return Err(format!("invalid rate `\"{text}\"`: {help}")),
    };
    let per = match per {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("invalid rate `\"{text}\"`: {help}")),
    };
    Ok((count, per))
}

/// Splits `"30s"` into `("30", "s")`: the leading ASCII digits and the rest.
fn split_number(text: &str) -> (&str, &str) {
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    text.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [("30s", 30_000), ("250ms", 250), ("5m", 300_000), ("1h", 3_600_000), ("1ms", 1)];
        for (text, ms) in ok {
            assert_eq!(parse_duration(text), Ok(ms), "{text}");
        }
        for bad in ["30 seconds", "-1s", "", "s", "10", "1.5s", "0s", " 1s", "1S", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("50/s"), Ok((50, 1000)));
        assert_eq!(parse_rate("600/m"), Ok((600, 60_000)));
        assert_eq!(parse_rate("1/h"), Ok((1, 3_600_000)));
        for bad in ["50", "0/s", "-1/s", "50/sec", "/s", "5 /s", "1.5/s", "50/ s"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        let ok = [("1MiB", 1 << 20), ("64KiB", 65_536), ("512B", 512), ("2GiB", 2 << 30), ("1KB", 1000)];
        for (text, bytes) in ok {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        for bad in ["1 MiB", "1mb", "MiB", "0B", "-1KiB", "1.5MiB", "", "12"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
