//! Docker's units: sizes (`64m`, `1.5g`), CPU counts (`0.5`), human-readable sizes and ages.

/// Parses a size the way `docker run -m` does: a number, an optional binary unit
/// (b, k, m, g, t, p; upper or lower case, optional trailing `b`/`ib`).
pub fn parse_size(s: &str) -> Result<i64, String> {
    let bad = || format!("invalid size: '{s}'");
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let mult: i64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        "p" => 1 << 50,
        _ => return Err(bad()),
    };
    Ok((value * mult as f64) as i64)
}

/// `--memory-swap` also takes -1 (unlimited).
pub fn parse_size_or_unlimited(s: &str) -> Result<i64, String> {
    if s.trim() == "-1" {
        return Ok(-1);
    }
    parse_size(s)
}

/// `--cpus 1.5` in billionths of a CPU.
pub fn parse_nano_cpus(s: &str) -> Result<i64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("failed to parse {s} as a rational number"))?;
    Ok((v * 1e9).round() as i64)
}

/// Docker's `units.HumanSizeWithPrecision(size, 3)`: decimal units, 3 significant digits.
pub fn human_size(size: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = size as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", UNITS[i])
}

/// Docker's `units.BytesSize`: binary units, 4 significant digits (`1.449MiB`).
pub fn bytes_size(size: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = size as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    let digits = 4usize.saturating_sub(format!("{}", v.trunc() as u64).len());
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", UNITS[i])
}

/// "5 minutes ago" for an RFC 3339 time (Docker's CREATED columns); "N/A" when unknown.
pub fn ago(rfc3339: Option<&str>) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339
        .and_then(mydocker_engine::image::timestamp::parse_rfc3339)
        .map(|ns| format!("{} ago", human_duration(now - (ns / 1_000_000_000) as i64)))
        .unwrap_or_else(|| "N/A".into())
}

/// Docker's `units.HumanDuration`, as in "2 minutes ago".
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    match () {
        _ if s < 1 => "Less than a second".into(),
        _ if s == 1 => "1 second".into(),
        _ if s < 60 => format!("{s} seconds"),
        _ if m == 1 => "About a minute".into(),
        _ if m < 60 => format!("{m} minutes"),
        _ if h == 1 => "About an hour".into(),
        _ if h < 48 => format!("{h} hours"),
        _ if d < 14 => format!("{d} days"),
        _ if d < 90 => format!("{} weeks", d / 7),
        _ if d < 730 => format!("{} months", d / 30),
        _ => format!("{} years", d / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_docker() {
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("100M"), Ok(100 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("10q"), Err("invalid size: '10q'".into()));
        assert!(parse_size("").is_err());
        assert_eq!(parse_size_or_unlimited("-1"), Ok(-1));
        assert_eq!(parse_nano_cpus("0.5"), Ok(500_000_000));
        assert!(parse_nano_cpus("x").is_err());
    }

    #[test]
    fn humans_read_sizes_and_ages_like_docker() {
        assert_eq!(human_size(4_260_000), "4.26MB");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1_500_000_000), "1.5GB");
        assert_eq!(human_duration(120), "2 minutes");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(3 * 86400), "3 days");
        assert_eq!(bytes_size(1_519_616), "1.449MiB");
        assert_eq!(bytes_size(64 << 20), "64MiB");
    }
}
