//! `--change` instructions of `docker import`: a subset of Dockerfile instructions that edit the
//! new image's config (<https://docs.docker.com/reference/cli/docker/image/import/>).
//!
//! Instructions are parsed first ([`parse_changes`]) so a typo is reported before any work is
//! done, then applied to an OCI [`Config`] ([`apply_changes`]). Supported: `CMD`,
//! `ENTRYPOINT` (JSON or shell form), `ENV`, `WORKDIR`, `USER`, `EXPOSE`, `LABEL`,
//! `STOPSIGNAL` and `VOLUME`.

use std::collections::HashMap;

use oci_spec::image::Config;
use thiserror::Error;

/// Why a `--change` instruction was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChangeError {
    /// The first word is not a Dockerfile instruction this store knows.
    #[error("unknown --change instruction: {0}")]
    UnknownInstruction(String),
    /// A Dockerfile instruction that `import --change` does not support.
    #[error("--change instruction {0} is not supported by import")]
    Unsupported(String),
    /// The instruction needs arguments and has none.
    #[error("--change instruction {0} requires at least one argument")]
    MissingArgument(String),
    /// The arguments do not have the form the instruction needs.
    #[error("invalid --change {instruction} arguments {args:?}: {reason}")]
    InvalidArguments {
        instruction: String,
        args: String,
        reason: &'static str,
    },
}

/// One parsed `--change` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Cmd(Vec<String>),
    Entrypoint(Vec<String>),
    /// `KEY=VALUE` pairs, in order.
    Env(Vec<(String, String)>),
    Workdir(String),
    User(String),
    /// Ports normalized to `port[/proto]` with `tcp` as the default protocol.
    Expose(Vec<String>),
    Label(Vec<(String, String)>),
    StopSignal(String),
    Volume(Vec<String>),
}

/// Parses every instruction, failing on the first bad one.
pub fn parse_changes(changes: &[String]) -> Result<Vec<Change>, ChangeError> {
    changes.iter().map(|c| parse_change(c)).collect()
}

/// Applies parsed instructions in order to `config`.
pub fn apply_changes(config: &mut Config, changes: &[Change]) {
    for change in changes {
        apply_change(config, change);
    }
}

fn parse_change(line: &str) -> Result<Change, ChangeError> {
    let line = line.trim();
    let (word, args) = line
        .split_once(char::is_whitespace)
        .map_or((line, ""), |(w, a)| (w, a.trim()));
    let instruction = word.to_ascii_uppercase();
    let known = [
        "CMD",
        "ENTRYPOINT",
        "ENV",
        "WORKDIR",
        "USER",
        "EXPOSE",
        "LABEL",
        "STOPSIGNAL",
        "VOLUME",
    ];
    let unsupported = [
        "ADD",
        "ARG",
        "COPY",
        "FROM",
        "HEALTHCHECK",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
    ];
    if unsupported.contains(&instruction.as_str()) {
        return Err(ChangeError::Unsupported(instruction));
    }
    if !known.contains(&instruction.as_str()) {
        return Err(ChangeError::UnknownInstruction(word.to_owned()));
    }
    if args.is_empty() && instruction != "CMD" && instruction != "ENTRYPOINT" {
        return Err(ChangeError::MissingArgument(instruction));
    }
    let invalid = |reason| ChangeError::InvalidArguments {
        instruction: instruction.clone(),
        args: args.to_owned(),
        reason,
    };
    let change = match instruction.as_str() {
        "CMD" => Change::Cmd(command_form(args)),
        "ENTRYPOINT" => Change::Entrypoint(command_form(args)),
        "ENV" => Change::Env(key_values(args).ok_or_else(|| invalid("expected KEY=VALUE"))?),
        "LABEL" => Change::Label(key_values(args).ok_or_else(|| invalid("expected KEY=VALUE"))?),
        "WORKDIR" => Change::Workdir(args.to_owned()),
        "USER" => Change::User(args.to_owned()),
        "STOPSIGNAL" => Change::StopSignal(args.to_owned()),
        "EXPOSE" => Change::Expose(
            args.split_whitespace()
                .map(normalize_port)
                .collect::<Option<_>>()
                .ok_or_else(|| invalid("expected PORT[-PORT][/tcp|udp|sctp]"))?,
        ),
        "VOLUME" => Change::Volume(match json_array(args) {
            Some(list) => list,
            None => args.split_whitespace().map(str::to_owned).collect(),
        }),
        _ => return Err(ChangeError::UnknownInstruction(word.to_owned())),
    };
    Ok(change)
}

fn apply_change(config: &mut Config, change: &Change) {
    match change {
        Change::Cmd(cmd) => {
            config.set_cmd(Some(cmd.clone()));
        }
        Change::Entrypoint(entrypoint) => {
            config.set_entrypoint(Some(entrypoint.clone()));
        }
        Change::Env(pairs) => {
            let mut env = config.env().clone().unwrap_or_default();
            for (key, value) in pairs {
                let prefix = format!("{key}=");
                env.retain(|entry| !entry.starts_with(&prefix) && entry != key);
                env.push(format!("{key}={value}"));
            }
            config.set_env(Some(env));
        }
        Change::Workdir(dir) => {
            let dir = if dir.starts_with('/') {
                dir.clone()
            } else {
                let base = config.working_dir().clone().unwrap_or_else(|| "/".into());
                format!("{}/{dir}", base.trim_end_matches('/'))
            };
            config.set_working_dir(Some(dir));
        }
        Change::User(user) => {
            config.set_user(Some(user.clone()));
        }
        Change::Expose(ports) => {
            let mut exposed = config.exposed_ports().clone().unwrap_or_default();
            for port in ports {
                if !exposed.contains(port) {
                    exposed.push(port.clone());
                }
            }
            config.set_exposed_ports(Some(exposed));
        }
        Change::Label(pairs) => {
            let labels = config.labels_mut().get_or_insert_with(HashMap::new);
            for (key, value) in pairs {
                labels.insert(key.clone(), value.clone());
            }
        }
        Change::StopSignal(signal) => {
            config.set_stop_signal(Some(signal.clone()));
        }
        Change::Volume(volumes) => {
            let mut all = config.volumes().clone().unwrap_or_default();
            for volume in volumes {
                if !all.contains(volume) {
                    all.push(volume.clone());
                }
            }
            config.set_volumes(Some(all));
        }
    }
}

/// JSON (exec) form when the arguments are a JSON array of strings, else shell form.
fn command_form(args: &str) -> Vec<String> {
    match json_array(args) {
        Some(list) => list,
        None if args.is_empty() => Vec::new(),
        None => vec!["/bin/sh".into(), "-c".into(), args.to_owned()],
    }
}

fn json_array(args: &str) -> Option<Vec<String>> {
    if !args.starts_with('[') {
        return None;
    }
    serde_json::from_str(args).ok()
}

/// `K=V K2="v 2"` pairs, or the legacy single pair `K V with spaces`.
fn key_values(args: &str) -> Option<Vec<(String, String)>> {
    let words = split_words(args)?;
    let first = words.first()?;
    if !first.contains('=') {
        let (key, value) = args.split_once(char::is_whitespace)?;
        return Some(vec![(key.to_owned(), value.trim().to_owned())]);
    }
    words
        .into_iter()
        .map(|word| {
            let (key, value) = word.split_once('=')?;
            (!key.is_empty()).then(|| (key.to_owned(), value.to_owned()))
        })
        .collect()
}

/// Splits on unquoted white space, removing quotes and backslash escapes like a Dockerfile.
fn split_words(args: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = args.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => word.push(c),
            (_, '\\') => {
                word.push(chars.next()?);
                in_word = true;
            }
            (_, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

fn normalize_port(spec: &str) -> Option<String> {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return None;
    }
    let valid = |p: &str| p.parse::<u16>().is_ok();
    let ports_ok = match ports.split_once('-') {
        Some((start, end)) => valid(start) && valid(end),
        None => valid(ports),
    };
    ports_ok.then(|| format!("{ports}/{proto}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(lines: &[&str]) -> Config {
        let lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        let mut config = Config::default();
        apply_changes(&mut config, &parse_changes(&lines).unwrap());
        config
    }

    #[test]
    fn cmd_and_entrypoint_json_and_shell_forms() {
        let c = apply(&[r#"CMD ["a", "b"]"#, "ENTRYPOINT echo hi"]);
        assert_eq!(c.cmd().clone().unwrap(), vec!["a", "b"]);
        assert_eq!(
            c.entrypoint().clone().unwrap(),
            vec!["/bin/sh", "-c", "echo hi"]
        );
        let c = apply(&["cmd [not json"]);
        assert_eq!(c.cmd().clone().unwrap(), vec!["/bin/sh", "-c", "[not json"]);
    }

    #[test]
    fn env_forms_and_replacement() {
        let c = apply(&[
            "ENV A=1 B=\"two words\"",
            "ENV C legacy value here",
            "ENV A=3",
        ]);
        assert_eq!(
            c.env().clone().unwrap(),
            vec!["B=two words", "C=legacy value here", "A=3"]
        );
    }

    #[test]
    fn other_instructions() {
        let c = apply(&[
            "WORKDIR /srv",
            "WORKDIR app",
            "USER nobody:nogroup",
            "EXPOSE 80 53/udp 8000-8010",
            "EXPOSE 80/tcp",
            "LABEL a=b c=\"d e\"",
            "STOPSIGNAL SIGINT",
            r#"VOLUME ["/data"]"#,
            "VOLUME /logs /cache",
        ]);
        assert_eq!(c.working_dir().as_deref(), Some("/srv/app"));
        assert_eq!(c.user().as_deref(), Some("nobody:nogroup"));
        assert_eq!(
            c.exposed_ports().clone().unwrap(),
            vec!["80/tcp", "53/udp", "8000-8010/tcp"]
        );
        let labels = c.labels().clone().unwrap();
        assert_eq!(labels["a"], "b");
        assert_eq!(labels["c"], "d e");
        assert_eq!(c.stop_signal().as_deref(), Some("SIGINT"));
        assert_eq!(
            c.volumes().clone().unwrap(),
            vec!["/data", "/logs", "/cache"]
        );
        assert_eq!(c.env(), &None, "no PATH is invented");
    }

    #[test]
    fn bad_instructions_are_refused() {
        let err = parse_changes(&["FOO bar".into()]).unwrap_err();
        assert_eq!(err.to_string(), "unknown --change instruction: FOO");
        assert!(matches!(
            parse_changes(&["RUN make".into()]),
            Err(ChangeError::Unsupported(_))
        ));
        assert!(matches!(
            parse_changes(&["ENV".into()]),
            Err(ChangeError::MissingArgument(_))
        ));
        assert!(matches!(
            parse_changes(&["EXPOSE http".into()]),
            Err(ChangeError::InvalidArguments { .. })
        ));
        assert!(matches!(
            parse_changes(&["ENV A=\"open".into()]),
            Err(ChangeError::InvalidArguments { .. })
        ));
    }
}
