//! `mydocker logs`.

use crate::cli::LogsArgs;
use mydocker_engine::logs::{parse_time, LogsOptions, Stream};
use mydocker_engine::Engine;
use std::io::Write;

pub fn logs(engine: &Engine, args: LogsArgs) -> anyhow::Result<i32> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0);
    let tail = match args.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse()
                .map_err(|_| anyhow::anyhow!("invalid value for --tail: {n}"))?,
        ),
    };
    let opts = LogsOptions {
        follow: args.follow,
        tail,
        since: args
            .since
            .as_deref()
            .map(|s| parse_time(s, now))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|s| parse_time(s, now))
            .transpose()?,
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    engine.logs(&args.container, &opts, &mut |e| {
        let line = if args.timestamps {
            format!("{} {}", e.time, e.log)
        } else {
            e.log.clone()
        };
        let _ = match e.stream {
            Stream::Stdout => stdout.lock().write_all(line.as_bytes()),
            Stream::Stderr => stderr.lock().write_all(line.as_bytes()),
        };
    })?;
    Ok(0)
}
