//! The book's spelling of flags: its CLI library took `-name` as well as `--name`, so its
//! readers type `mydocker run -ti -name web -mem 100m -cpushare 512 -cpuset 1 -net br0 ...`.
//! clap would read `-name` as `-n -a -m -e`, so before parsing, each such word that stands
//! before the image is rewritten to Docker's long flag. Words after the image belong to
//! the container's command and are never touched.

use clap::{ArgAction, Command};
use std::ffi::OsString;

/// The book's single-dash words and the Docker flags they mean.
const BOOK_ALIASES: [(&str, &str); 7] = [
    ("-name", "--name"),
    ("-mem", "--memory"),
    ("-cpushare", "--cpu-shares"),
    ("-cpuset", "--cpuset-cpus"),
    ("-net", "--network"),
    ("-env", "--env"),
    ("-volume", "--volume"),
];

/// Does this flag word take the next word as its value?
fn takes_value(cmd: &Command, word: &str) -> bool {
    if word.contains('=') {
        return false;
    }
    let arg = if let Some(long) = word.strip_prefix("--") {
        cmd.get_arguments().find(|a| {
            a.get_long() == Some(long) || a.get_all_aliases().is_some_and(|al| al.contains(&long))
        })
    } else if let Some(shorts) = word.strip_prefix('-') {
        // In a cluster like `-it` or `-dm`, only the last letter can take a value, and only
        // when nothing follows it.
        let last = shorts.chars().last();
        cmd.get_arguments()
            .find(|a| a.get_short().is_some() && a.get_short() == last)
    } else {
        None
    };
    arg.is_some_and(|a| matches!(a.get_action(), ArgAction::Set | ArgAction::Append))
}

/// Rewrites the book's flags in `argv` for the subcommand that `root` defines.
pub fn rewrite(argv: Vec<OsString>, root: &Command) -> Vec<OsString> {
    let mut out = Vec::with_capacity(argv.len());
    let mut iter = argv.into_iter();
    if let Some(prog) = iter.next() {
        out.push(prog);
    }
    // Global flags, up to the subcommand.
    let mut sub: Option<&Command> = None;
    while let Some(word) = iter.next() {
        let s = word.to_string_lossy().into_owned();
        out.push(word);
        if s.starts_with('-') {
            if takes_value(root, &s) {
                if let Some(v) = iter.next() {
                    out.push(v);
                }
            }
            continue;
        }
        sub = root.find_subcommand(&s);
        break;
    }
    let Some(sub) = sub else {
        out.extend(iter);
        return out;
    };
    while let Some(word) = iter.next() {
        let s = word.to_string_lossy().into_owned();
        if s == "--" || !s.starts_with('-') || s == "-" {
            out.push(word);
            break; // the first positional: the rest is not ours to touch
        }
        let (flag, value) = match s.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (s.clone(), None),
        };
        let flag = BOOK_ALIASES
            .iter()
            .find(|(book, _)| *book == flag)
            .map(|(_, docker)| docker.to_string())
            .unwrap_or(flag);
        let word = match &value {
            Some(v) => format!("{flag}={v}"),
            None => flag.clone(),
        };
        let needs_value = value.is_none() && takes_value(sub, &flag);
        out.push(word.into());
        if needs_value {
            if let Some(v) = iter.next() {
                out.push(v);
            }
        }
    }
    out.extend(iter);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Arg;

    fn cli() -> Command {
        Command::new("mydocker")
            .arg(Arg::new("root").long("root").global(true))
            .subcommand(
                Command::new("run")
                    .arg(Arg::new("tty").short('t').action(ArgAction::SetTrue))
                    .arg(
                        Arg::new("interactive")
                            .short('i')
                            .action(ArgAction::SetTrue),
                    )
                    .arg(Arg::new("name").long("name"))
                    .arg(Arg::new("memory").short('m').long("memory"))
                    .arg(Arg::new("cpu-shares").long("cpu-shares"))
                    .arg(Arg::new("cpuset-cpus").long("cpuset-cpus")),
            )
    }

    fn words(s: &str) -> Vec<OsString> {
        s.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn book_flags_before_the_image_become_docker_flags() {
        let got = rewrite(
            words("mydocker --root /r run -ti -name web -mem 100m -cpushare=512 -cpuset 1 busybox stress -m 1 -name x"),
            &cli(),
        );
        assert_eq!(
            got,
            words("mydocker --root /r run -ti --name web --memory 100m --cpu-shares=512 --cpuset-cpus 1 busybox stress -m 1 -name x")
        );
    }

    #[test]
    fn values_that_look_like_book_flags_are_left_alone() {
        let got = rewrite(words("mydocker run -m -name busybox sh"), &cli());
        assert_eq!(got, words("mydocker run -m -name busybox sh"));
    }
}
