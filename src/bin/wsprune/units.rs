//! Human durations and sizes: what the options accept and what the output shows.
//!
//! Durations are one or more `<number><unit>` pairs with no spaces (`24h`,
//! `1.5h`, `3d4h`, `90s`), units `ms`, `s`, `m`, `h`, `d`, `w`. Sizes are a number
//! and a unit, case-insensitive: `B`, then `K`/`KB`/`KiB`, `M`/`MB`/`MiB`,
//! `G`/`GB`/`GiB`, `T`/`TB`/`TiB`, `P`/`PB`/`PiB`, every one a power of 1024
//! (as wsprune prints sizes: `1.4 MB` is 1.4 x 1024^2 bytes). A bare number
//! is rejected for both (but a duration of `0`): conventions differ (find counts days, systemd
//! seconds, tmpwatch hours; du blocks) and a prune should not guess.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The duration units and their length in seconds.
const DURATION_UNITS: [(&str, f64); 6] = [
    ("ms", 0.001),
    ("s", 1.0),
    ("m", 60.0),
    ("h", 3600.0),
    ("d", 86_400.0),
    ("w", 604_800.0),
];

/// The size units (lower case) and their multiplier.
const SIZE_UNITS: [(&str, u64); 16] = [
    ("b", 1),
    ("k", 1 << 10),
    ("kb", 1 << 10),
    ("kib", 1 << 10),
    ("m", 1 << 20),
    ("mb", 1 << 20),
    ("mib", 1 << 20),
    ("g", 1 << 30),
    ("gb", 1 << 30),
    ("gib", 1 << 30),
    ("t", 1 << 40),
    ("tb", 1 << 40),
    ("tib", 1 << 40),
    ("p", 1 << 50),
    ("pb", 1 << 50),
    ("pib", 1 << 50),
];

/// Splits `s` at the end of a leading decimal number (`12`, `1.5`, `.5`);
/// `None` if it does not start with one.
fn split_number(s: &str) -> Option<(&str, &str)> {
    let end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let num = &s[..end];
    if num.bytes().filter(|&b| b == b'.').count() > 1 || !num.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((num, &s[end..]))
}

/// A size or count limit must be at least 1: 0 would read as "no limit" to
/// some and "delete everything" to others (docs/contract.md).
fn nonzero(n: u64) -> Result<u64, String> {
    if n == 0 {
        Err("0 is not allowed; leave the option out to turn the rule off".into())
    } else {
        Ok(n)
    }
}

/// Parses a size limit (`--max-total-size`, `--min-free`): a size of at least 1 B.
pub fn parse_cap_size(input: &str) -> Result<u64, String> {
    nonzero(parse_size(input)?)
}

/// Parses a percentage of a filesystem (`--high-watermark 85%`): a number
/// and `%`, in (0, 100]. 0% is refused like a size of 0 (docs/contract.md).
pub fn parse_percent(input: &str) -> Result<f64, String> {
    let s = input.trim();
    let num = s
        .strip_suffix('%')
        .ok_or_else(|| format!("no %: write {s}% (a percentage of the filesystem, e.g. 85%)"))?;
    let p: f64 = num
        .parse()
        .map_err(|_| format!("expected a percentage such as 85% or 12.5%, got '{s}'"))?;
    if p == 0.0 {
        return Err("0% is not allowed; leave the option out to turn the rule off".into());
    }
    if !(p.is_finite() && p > 0.0 && p <= 100.0) {
        return Err(format!("{s} is not a percentage in (0%, 100%]"));
    }
    Ok(p)
}

/// `--min-free`: a size, or a percentage of the filesystem's size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FreeTarget {
    Bytes(u64),
    Percent(f64),
}

/// Parses `--min-free`: `10G` or `15%`.
pub fn parse_free_target(input: &str) -> Result<FreeTarget, String> {
    if input.trim().ends_with('%') {
        parse_percent(input).map(FreeTarget::Percent)
    } else {
        parse_cap_size(input).map(FreeTarget::Bytes)
    }
}

/// Parses a count limit (`--max-sessions`, `--max-deletions`): an integer of at least 1.
pub fn parse_cap_count(input: &str) -> Result<u64, String> {
    let n: u64 = input.trim().parse().map_err(|e| format!("not a whole number ({e})"))?;
    nonzero(n)
}

/// Parses a duration such as `24h`, `1.5h`, `3d4h` or `30s`.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("empty duration (examples: 24h, 7d, 1.5h, 30s)".into());
    }
    // Zero is zero in every unit (`--min-age 0`), so it needs none.
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.parse::<f64>().is_ok() {
        return Err(format!(
            "no unit: write {s}s, {s}m, {s}h or {s}d (units: ms, s, m, h, d, w)"
        ));
    }
    let mut secs = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let (num, after) =
            split_number(rest).ok_or_else(|| "expected a number and a unit such as 24h, 7d, 1.5h, 3d4h".to_owned())?;
        let unit_len = after.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(after.len());
        let unit = &after[..unit_len];
        if unit.is_empty() {
            return Err(format!("'{num}' has no unit (units: ms, s, m, h, d, w)"));
        }
        let per = DURATION_UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|&(_, per)| per)
            .ok_or_else(|| format!("unknown unit '{unit}' (units: ms, s, m, h, d, w)"))?;
        let n: f64 = num.parse().map_err(|_| format!("bad number '{num}'"))?;
        secs += n * per;
        rest = &after[unit_len..];
    }
    Duration::try_from_secs_f64(secs).map_err(|_| "too long".to_owned())
}

/// The longest `--interval` / `--age-every`: a year.
const MAX_INTERVAL: Duration = Duration::from_secs(365 * 86_400);

/// Parses a period of `watch` (`--interval`, `--age-every`): a duration of
/// at least 100 ms (0 would be a busy loop) and at most a year.
pub fn parse_interval(input: &str) -> Result<Duration, String> {
    let d = parse_duration(input)?;
    if d < Duration::from_millis(100) {
        return Err("must be at least 100ms".into());
    }
    // A bound that keeps `now + interval` representable; a longer period is
    // no watch at all.
    if d > MAX_INTERVAL {
        return Err("must be at most 365d".into());
    }
    Ok(d)
}

/// A period for people: `10s`, `15m`, `1.5s`.
pub fn format_interval(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 60.0 && s % 60.0 == 0.0 {
        format_age(s / 3600.0)
    } else {
        format!("{s}s")
    }
}

/// Parses a time: `+DURATION` from now (`+1h`, `+2d`), or an RFC 3339 /
/// ISO 8601 timestamp (`2026-12-24T18:00:00Z`; without an offset: UTC).
/// Either must be a time a record can hold (years 0000 to 9999).
pub fn parse_time(input: &str) -> Result<DateTime<Utc>, String> {
    let s = input.trim();
    if let Some(d) = s.strip_prefix('+') {
        let d = parse_duration(d)?;
        let latest = wsprune::metadata::latest_timestamp();
        return chrono::Duration::from_std(d)
            .ok()
            .and_then(|d| Utc::now().checked_add_signed(d))
            .filter(|t| *t <= latest)
            .ok_or_else(|| {
                format!(
                    "too far in the future: the latest time wsprune can store is {}",
                    format_time(latest)
                )
            });
    }
    wsprune::metadata::parse_timestamp(s).ok_or_else(|| {
        format!("{s:?} is not a time: give +DURATION (+1h, +2d) or a timestamp such as 2026-12-24T18:00:00Z")
    })
}

/// Parses a size such as `50G`, `512MiB`, `1.5T` or `4096B`.
pub fn parse_size(input: &str) -> Result<u64, String> {
    let s = input.trim();
    let units = "B, K, M, G, T, P, also as KB or KiB, ...; all powers of 1024";
    let (num, unit) = split_number(s).ok_or_else(|| {
        if s.is_empty() {
            "empty size (examples: 50G, 512M, 1.5T)".to_owned()
        } else {
            "expected a number and a unit such as 50G, 512M, 1.5T".to_owned()
        }
    })?;
    if unit.is_empty() {
        return Err(format!("no unit: write {s}G, or {s}B for bytes (units: {units})"));
    }
    let mult = SIZE_UNITS
        .iter()
        .find(|(u, _)| u.eq_ignore_ascii_case(unit))
        .map(|&(_, m)| m)
        .ok_or_else(|| format!("unknown unit '{unit}' (units: {units})"))?;
    let too_big = || "too large (at most 16 EiB)".to_owned();
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let int: u128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| too_big())?
    };
    // The fraction exactly, in integers (at most 18 digits, so no overflow), rounded down to whole bytes.
    let frac = &frac[..frac.len().min(18)];
    let frac_bytes = if frac.is_empty() {
        0
    } else {
        let num: u128 = frac.parse().map_err(|_| too_big())?;
        num * u128::from(mult) / 10u128.pow(frac.len() as u32)
    };
    let total = int
        .checked_mul(u128::from(mult))
        .and_then(|b| b.checked_add(frac_bytes))
        .ok_or_else(too_big)?;
    u64::try_from(total).map_err(|_| too_big())
}

/// A duration in hours, as the library takes it.
pub fn hours(d: Duration) -> f64 {
    d.as_secs_f64() / 3600.0
}

/// An age for people: the two largest units, e.g. `3d4h`, `5h12m`, `42m7s`,
/// `9s`; `future` for a negative age (a timestamp ahead of the clock).
pub fn format_age(hours: f64) -> String {
    if !hours.is_finite() || hours < 0.0 {
        return "future".into();
    }
    let secs = (hours * 3600.0).round() as u64;
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let pair = |a: u64, ua: &str, b: u64, ub: &str| {
        if b == 0 {
            format!("{a}{ua}")
        } else {
            format!("{a}{ua}{b}{ub}")
        }
    };
    if d > 0 {
        pair(d, "d", h, "h")
    } else if h > 0 {
        pair(h, "h", m, "m")
    } else if m > 0 {
        pair(m, "m", s, "s")
    } else {
        format!("{s}s")
    }
}

/// A timestamp for tables: RFC 3339 in UTC to the second, e.g. `2026-11-25T01:47:00Z`.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A timestamp for JSON: RFC 3339 in UTC with microseconds, as in `.metadata.json`.
pub fn format_time_json(t: DateTime<Utc>) -> String {
    wsprune::metadata::format_timestamp(t)
}

/// `1 session`, `2 sessions`.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(24 * 3600)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("3d4h"), Ok(Duration::from_secs(3 * 86_400 + 4 * 3600)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0.5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration(".5m"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in [
            "00", "0.0", "", "24", "1.5", "3x", "h", "-1h", "1h-", "1.2.3h", "1 h", "1H", "1hour", "1e3h", "inf",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_duration("24").unwrap_err().contains("24h"));
        assert!(parse_duration("3x").unwrap_err().contains("unknown unit 'x'"));
        assert!(parse_duration("99999999999999999999w").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("50G"), Ok(50 << 30));
        assert_eq!(parse_size("50g"), Ok(50 << 30));
        assert_eq!(parse_size("50GB"), Ok(50 << 30));
        assert_eq!(parse_size("50GiB"), Ok(50 << 30));
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("1kb"), Ok(1024));
        assert_eq!(parse_size("1.5K"), Ok(1536));
        assert_eq!(parse_size("0.1K"), Ok(102));
        assert_eq!(parse_size("4096B"), Ok(4096));
        assert_eq!(parse_size("0B"), Ok(0));
        assert_eq!(parse_size("2T"), Ok(2 << 40));
        assert_eq!(parse_size("1.4MB"), Ok(1_468_006));
        assert_eq!(parse_size("15PiB"), Ok(15 << 50));
        for bad in [
            "",
            "50",
            "G",
            "50Q",
            "-5G",
            "5 G",
            "1.2.3G",
            "50Gb5",
            "16384P",
            "99999999999999999999999B",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_size("50").unwrap_err().contains("50G"));
    }

    #[test]
    fn percentages() {
        assert_eq!(parse_percent("85%"), Ok(85.0));
        assert_eq!(parse_percent("12.5%"), Ok(12.5));
        assert_eq!(parse_percent("100%"), Ok(100.0));
        assert_eq!(parse_percent("1e-9%"), Ok(1e-9));
        for bad in [
            "", "85", "%", "0%", "0.0%", "-5%", "100.1%", "nan%", "inf%", "85 %x", "5G",
        ] {
            assert!(parse_percent(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_percent("0%").unwrap_err().contains("leave the option out"));
        assert_eq!(parse_free_target("15%"), Ok(FreeTarget::Percent(15.0)));
        assert_eq!(parse_free_target("10G"), Ok(FreeTarget::Bytes(10 << 30)));
        assert!(parse_free_target("0B").is_err());
        assert!(parse_free_target("0%").is_err());
    }

    #[test]
    fn ages() {
        assert_eq!(format_age(0.0), "0s");
        assert_eq!(format_age(9.0 / 3600.0), "9s");
        assert_eq!(format_age(0.7), "42m");
        assert_eq!(format_age(1.0 + 12.0 / 60.0), "1h12m");
        assert_eq!(format_age(76.0), "3d4h");
        assert_eq!(format_age(48.0), "2d");
        assert_eq!(format_age(-1.0), "future");
        // What ls prints, prune accepts.
        assert_eq!(parse_duration(&format_age(76.0)).map(hours), Ok(76.0));
    }
}
