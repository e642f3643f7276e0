//! Reading a container's json-file log: `mydocker logs` with `--tail`, `--since`,
//! `--until` and `-f` (follow ends when the container has exited and its monitor has
//! written everything).

use crate::error::{io_err, EngineError, Result};
use crate::monitor::logger::{rotated_path, Entry};
use crate::Engine;
use mydocker_image::timestamp::parse_rfc3339;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::monitor::logger::Stream;

#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    pub follow: bool,
    /// Only the last N lines.
    pub tail: Option<usize>,
    /// Only entries at or after / before these times (ns since the epoch).
    pub since: Option<i128>,
    pub until: Option<i128>,
}

/// Parses `--since`/`--until`: an RFC 3339 time, a unix timestamp (`1700000000[.5]`), or a
/// duration back from now (`10m`, `1h30m`, `45s`).
pub fn parse_time(s: &str, now_ns: i128) -> Result<i128> {
    if let Some(t) = parse_rfc3339(s) {
        return Ok(t);
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Ok((secs * 1e9) as i128);
    }
    let bad =
        || EngineError::InvalidArgument(format!("invalid value for \"since\"/\"until\": {s}"));
    let mut total: i128 = 0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit: i64 = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            1_000_000
        } else {
            match c {
                'h' => 3_600_000_000_000,
                'm' => 60_000_000_000,
                's' => 1_000_000_000,
                _ => return Err(bad()),
            }
        };
        let v: f64 = num.parse().map_err(|_| bad())?;
        total += (v * unit as f64) as i128;
        num.clear();
    }
    if !num.is_empty() || s.is_empty() {
        return Err(bad());
    }
    Ok(now_ns - total)
}

impl Engine {
    /// Calls `out` for each log entry, oldest first.
    pub fn logs(
        &self,
        name_or_id: &str,
        opts: &LogsOptions,
        out: &mut dyn FnMut(&Entry),
    ) -> Result<()> {
        let rec = self.find_container(name_or_id)?;
        let live = self
            .layout
            .container_dir(&rec.id)
            .join(format!("{}-json.log", rec.id));
        let keep = |e: &Entry| {
            let t = parse_rfc3339(&e.time).unwrap_or(0);
            opts.since.is_none_or(|s| t >= s) && opts.until.is_none_or(|u| t < u)
        };
        // Rotated files first, oldest (highest number) first.
        let mut files: Vec<PathBuf> = (1..100)
            .map(|n| rotated_path(&live, n))
            .take_while(|p| p.exists())
            .collect();
        files.reverse();
        files.push(live.clone());
        let mut entries = Vec::new();
        for f in &files {
            if let Ok(file) = std::fs::File::open(f) {
                for line in BufReader::new(file).lines().map_while(|l| l.ok()) {
                    if let Ok(e) = serde_json::from_str::<Entry>(&line) {
                        if keep(&e) {
                            entries.push(e);
                        }
                    }
                }
            }
        }
        let skip = opts
            .tail
            .map(|n| entries.len().saturating_sub(n))
            .unwrap_or(0);
        for e in &entries[skip..] {
            out(e);
        }
        if !opts.follow {
            return Ok(());
        }
        self.follow(&rec.id, &live, out, &keep)
    }

    fn follow(
        &self,
        id: &str,
        live: &PathBuf,
        out: &mut dyn FnMut(&Entry),
        keep: &dyn Fn(&Entry) -> bool,
    ) -> Result<()> {
        let open = || -> Result<(std::fs::File, u64)> {
            let f = std::fs::File::open(live).map_err(io_err("open", live))?;
            let ino = f.metadata().map_err(io_err("stat", live))?.ino();
            Ok((f, ino))
        };
        let (mut file, mut ino) = open()?;
        let mut offset = file.seek(SeekFrom::End(0)).map_err(io_err("seek", live))?;
        let mut partial = String::new();
        loop {
            // Decide before reading, so the last entries written before the exit are read.
            let done = match self.find_container(id) {
                Ok(r) => !r.state.status.is_active(),
                Err(_) => true,
            };
            let meta = std::fs::metadata(live).ok();
            if meta
                .as_ref()
                .is_some_and(|m| m.ino() != ino || m.len() < offset)
            {
                // Rotated: the rest of the old file is in `<log>.1`, which we skip; go on
                // with the new file from its start.
                if let Ok((f, i)) = open() {
                    file = f;
                    ino = i;
                    offset = 0;
                }
            }
            file.seek(SeekFrom::Start(offset))
                .map_err(io_err("seek", live))?;
            let mut reader = BufReader::new(&file);
            loop {
                let mut line = String::new();
                let n = reader.read_line(&mut line).map_err(io_err("read", live))?;
                if n == 0 {
                    break;
                }
                offset += n as u64;
                partial.push_str(&line);
                if partial.ends_with('\n') {
                    if let Ok(e) = serde_json::from_str::<Entry>(partial.trim_end()) {
                        if keep(&e) {
                            out(&e);
                        }
                    }
                    partial.clear();
                }
            }
            if done {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_like_docker() {
        let now = 1_000_000 * 1_000_000_000i128;
        assert_eq!(parse_time("10m", now).unwrap(), now - 600_000_000_000);
        assert_eq!(parse_time("1h30m", now).unwrap(), now - 5_400_000_000_000);
        assert_eq!(
            parse_time("1700000000", now).unwrap(),
            1_700_000_000_000_000_000
        );
        assert_eq!(
            parse_time("2026-01-01T00:00:00Z", now).unwrap(),
            parse_rfc3339("2026-01-01T00:00:00Z").unwrap()
        );
        assert!(parse_time("soon", now).is_err());
    }
}
