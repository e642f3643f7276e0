//! The json-file log driver, as Docker writes it: one JSON object per line,
//! `{"log":"tick\n","stream":"stdout","time":"2026-11-27T20:40:00.123456789Z"}`,
//! with rotation to `<file>.1`, `<file>.2`, ... when `max-size` is reached.

use crate::options::LogOptions;
use mydocker_image::timestamp::now_rfc3339;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A partial line longer than this is written as it is (Docker uses 16 KiB too).
const MAX_PARTIAL: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of the log file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub log: String,
    pub stream: Stream,
    pub time: String,
}

pub struct JsonLog {
    path: PathBuf,
    file: File,
    size: u64,
    opts: LogOptions,
    partial: [Vec<u8>; 2],
}

/// The path of rotated file `n` (0 is the live file).
pub fn rotated_path(path: &Path, n: u32) -> PathBuf {
    if n == 0 {
        path.to_path_buf()
    } else {
        PathBuf::from(format!("{}.{n}", path.display()))
    }
}

impl JsonLog {
    pub fn open(path: &Path, opts: LogOptions) -> std::io::Result<JsonLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let size = file.metadata()?.len();
        Ok(JsonLog {
            path: path.to_path_buf(),
            file,
            size,
            opts,
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Logs output of the container: each complete line is one entry.
    pub fn write(&mut self, stream: Stream, data: &[u8]) {
        let idx = stream as usize;
        let mut buf = std::mem::take(&mut self.partial[idx]);
        buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(pos) = buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + pos + 1;
            self.entry(stream, &buf[start..end]);
            start = end;
        }
        let rest = buf[start..].to_vec();
        if rest.len() >= MAX_PARTIAL {
            self.entry(stream, &rest);
        } else {
            self.partial[idx] = rest;
        }
    }

    /// Writes what is left of unfinished lines (the container exited).
    pub fn flush_partial(&mut self) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let rest = std::mem::take(&mut self.partial[stream as usize]);
            if !rest.is_empty() {
                self.entry(stream, &rest);
            }
        }
    }

    fn entry(&mut self, stream: Stream, line: &[u8]) {
        let entry = Entry {
            log: String::from_utf8_lossy(line).into_owned(),
            stream,
            time: now_rfc3339(),
        };
        let Ok(mut json) = serde_json::to_vec(&entry) else {
            return;
        };
        json.push(b'\n');
        if let Some(max) = self.opts.max_size {
            if self.size > 0 && self.size + json.len() as u64 > max {
                self.rotate();
            }
        }
        // A full disk must not stop the container: the entry is lost, the container runs on.
        if self.file.write_all(&json).is_ok() {
            self.size += json.len() as u64;
        }
    }

    fn rotate(&mut self) {
        let keep = self.opts.max_file.max(1);
        if keep == 1 {
            let _ = self.file.set_len(0);
            self.size = 0;
            return;
        }
        for n in (1..keep).rev() {
            let _ = std::fs::rename(rotated_path(&self.path, n - 1), rotated_path(&self.path, n));
        }
        if let Ok(f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
        {
            self.file = f;
            self.size = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(path: &Path) -> Vec<Entry> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn lines_become_entries_and_partials_wait_for_their_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut log = JsonLog::open(&path, LogOptions::default()).unwrap();
        log.write(Stream::Stdout, b"a\nb");
        log.write(Stream::Stderr, b"err\n");
        log.write(Stream::Stdout, b"c\nd");
        log.flush_partial();
        let got: Vec<(String, Stream)> = entries(&path)
            .into_iter()
            .map(|e| (e.log, e.stream))
            .collect();
        assert_eq!(
            got,
            [
                ("a\n".into(), Stream::Stdout),
                ("err\n".into(), Stream::Stderr),
                ("bc\n".into(), Stream::Stdout),
                ("d".into(), Stream::Stdout)
            ]
        );
    }

    #[test]
    fn rotation_keeps_max_file_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let opts = LogOptions {
            max_size: Some(200),
            max_file: 3,
        };
        let mut log = JsonLog::open(&path, opts).unwrap();
        for i in 0..50 {
            log.write(Stream::Stdout, format!("line {i}\n").as_bytes());
        }
        assert!(rotated_path(&path, 1).exists());
        assert!(rotated_path(&path, 2).exists());
        assert!(!rotated_path(&path, 3).exists());
        assert!(std::fs::metadata(&path).unwrap().len() <= 200);
        let last = entries(&path);
        assert_eq!(last.last().unwrap().log, "line 49\n");
    }
}
