//! Image references: `[registry[:port]/]path[:tag]`, as Docker parses them.
//!
//! The grammar follows the distribution reference package used by Docker
//! (<https://github.com/distribution/reference/blob/main/reference.go>): path components are
//! lower-case `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*` joined by `/`, the first component is a
//! registry host when it contains `.` or `:` or is `localhost`, and the tag is
//! `[\w][\w.-]{0,127}` (default `latest`). Names on Docker Hub are shown in their familiar form:
//! `docker.io/library/busybox` is `busybox`. Digest references (`@sha256:..`) are refused for now.

use std::fmt;

use thiserror::Error;

/// The tag used when a reference names none.
pub const DEFAULT_TAG: &str = "latest";

const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

/// Why a reference was refused; messages follow Docker's wording.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReferenceError {
    /// The string does not match the reference grammar.
    #[error("invalid reference format")]
    Format,
    /// The repository path has upper-case letters.
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
    /// The repository path is longer than 255 characters.
    #[error("invalid reference format: repository name must not be more than 255 characters")]
    NameTooLong,
    /// The name is a 64-digit hex string, which would be confused with an image id.
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexName(String),
    /// `name@sha256:..` references are not supported yet.
    #[error("invalid reference format: digest references are not supported yet")]
    DigestUnsupported,
}

/// A parsed `repository:tag`, with the repository in Docker's familiar (short) form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// Familiar repository name, e.g. `busybox`, `foo/bar`, `localhost:5000/x`.
    pub repository: String,
    /// Tag, `latest` when none was given.
    pub tag: String,
}

impl Reference {
    /// Parses and normalizes a reference such as `busybox`, `docker.io/library/busybox:1.36` or
    /// `localhost:5000/team/app:v1`.
    pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
        if input.contains('@') {
            return Err(ReferenceError::DigestUnsupported);
        }
        let (name, tag) = split_tag(input);
        let tag = match tag {
            Some(tag) if is_valid_tag(tag) => tag,
            Some(_) => return Err(ReferenceError::Format),
            None => DEFAULT_TAG,
        };
        if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ReferenceError::HexName(name.to_owned()));
        }
        let (domain, remainder) = split_domain(name);
        if let Some(domain) = domain {
            if !is_valid_domain(domain) {
                return Err(ReferenceError::Format);
            }
        }
        let domain = match domain {
            None | Some(LEGACY_DEFAULT_DOMAIN) => DEFAULT_DOMAIN,
            Some(domain) => domain,
        };
        let remainder = if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
            format!("{OFFICIAL_REPO_PREFIX}{remainder}")
        } else {
            remainder.to_owned()
        };
        check_path(&remainder)?;
        if domain.len() + 1 + remainder.len() > MAX_NAME_LEN {
            return Err(ReferenceError::NameTooLong);
        }
        Ok(Reference {
            repository: familiar_name(domain, &remainder),
            tag: tag.to_owned(),
        })
    }
}

impl Reference {
    /// The fully qualified form, `docker.io/library/busybox:latest`, as OCI annotations and
    /// other engines spell it.
    pub fn full_name(&self) -> String {
        let (domain, _) = split_domain(&self.repository);
        let repository = match domain {
            Some(_) => self.repository.clone(),
            None if self.repository.contains('/') => {
                format!("{DEFAULT_DOMAIN}/{}", self.repository)
            }
            None => format!("{DEFAULT_DOMAIN}/{OFFICIAL_REPO_PREFIX}{}", self.repository),
        };
        format!("{repository}:{}", self.tag)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// Splits `name:tag`; a `:` before the last `/` belongs to a registry port, not a tag.
fn split_tag(input: &str) -> (&str, Option<&str>) {
    match input.rfind(':') {
        Some(colon) if !input[colon..].contains('/') => {
            (&input[..colon], Some(&input[colon + 1..]))
        }
        _ => (input, None),
    }
}

/// Splits off the registry host, with Docker's rule: the first component is a host when it
/// contains `.` or `:`, is `localhost`, or has upper-case letters.
fn split_domain(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

fn familiar_name(domain: &str, remainder: &str) -> String {
    if domain != DEFAULT_DOMAIN {
        return format!("{domain}/{remainder}");
    }
    match remainder.strip_prefix(OFFICIAL_REPO_PREFIX) {
        Some(short) if !short.contains('/') => short.to_owned(),
        _ => remainder.to_owned(),
    }
}

fn check_path(path: &str) -> Result<(), ReferenceError> {
    if path.split('/').all(is_path_component) {
        return Ok(());
    }
    let lower = path.to_lowercase();
    if lower != path && lower.split('/').all(is_path_component) {
        return Err(ReferenceError::Uppercase(path.to_owned()));
    }
    Err(ReferenceError::Format)
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
fn is_path_component(component: &str) -> bool {
    let is_alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let (Some(first), Some(last)) = (component.chars().next(), component.chars().next_back())
    else {
        return false;
    };
    if !is_alnum(first) || !is_alnum(last) {
        return false;
    }
    // Every maximal run of non-alphanumerics must be one allowed separator.
    let mut separators = component.split(is_alnum).filter(|run| !run.is_empty());
    separators.all(|sep| sep == "." || sep == "_" || sep == "__" || sep.chars().all(|c| c == '-'))
}

/// `host(.host)*(:port)?` where each label is `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?`.
fn is_valid_domain(domain: &str) -> bool {
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain, None),
    };
    let port_ok = match port {
        Some(port) => !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()),
        None => true,
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    port_ok && host.split('.').all(label_ok)
}

/// `[\w][\w.-]{0,127}`
fn is_valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    match tag.as_bytes().split_first() {
        Some((first, rest)) => {
            tag.len() <= MAX_TAG_LEN
                && word(*first)
                && rest.iter().all(|&b| word(b) || b == b'.' || b == b'-')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_references_normalize() {
        let cases = [
            ("busybox", "busybox", "latest"),
            ("busybox:1.36", "busybox", "1.36"),
            ("docker.io/library/busybox", "busybox", "latest"),
            ("index.docker.io/library/busybox:x", "busybox", "x"),
            ("library/busybox", "busybox", "latest"),
            ("docker.io/foo/bar:v1", "foo/bar", "v1"),
            ("foo/bar/baz", "foo/bar/baz", "latest"),
            ("localhost/app", "localhost/app", "latest"),
            (
                "localhost:5000/team/app:v1.2-rc_3",
                "localhost:5000/team/app",
                "v1.2-rc_3",
            ),
            ("registry.example.com/a", "registry.example.com/a", "latest"),
            ("Registry.Example.com/a", "Registry.Example.com/a", "latest"),
            ("my-app", "my-app", "latest"),
            ("a--b", "a--b", "latest"),
            ("a__b.c_d", "a__b.c_d", "latest"),
            ("localhost:5000", "localhost", "5000"),
            ("x:_tag", "x", "_tag"),
        ];
        for (input, repository, tag) in cases {
            let parsed = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(parsed.repository, repository, "{input}");
            assert_eq!(parsed.tag, tag, "{input}");
        }
    }

    #[test]
    fn bad_references_are_refused() {
        let long_tag = format!("x:{}", "t".repeat(129));
        let long_name = "a".repeat(256);
        let cases = [
            "",
            ":",
            "busybox:",
            ":tag",
            "-busybox",
            "busybox-",
            "a..b",
            "a___b",
            "a/",
            "/a",
            "a//b",
            "busy box",
            "busybox:.tag",
            "busybox:-tag",
            "busybox:ta/g",
            "-host.com/a",
            "host.com:/a",
            long_tag.as_str(),
        ];
        for input in cases {
            assert_eq!(
                Reference::parse(input),
                Err(ReferenceError::Format),
                "{input:?} should be refused"
            );
        }
        assert_eq!(
            Reference::parse(&long_name),
            Err(ReferenceError::NameTooLong)
        );
    }

    #[test]
    fn uppercase_gets_docker_message() {
        let err = Reference::parse("Busybox").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid reference format: repository name (library/Busybox) must be lowercase"
        );
        assert!(matches!(
            Reference::parse("foo/Bar"),
            Err(ReferenceError::Uppercase(_))
        ));
    }

    #[test]
    fn digest_and_hex_names_are_refused() {
        assert_eq!(
            Reference::parse("busybox@sha256:abcd"),
            Err(ReferenceError::DigestUnsupported)
        );
        let hex = "a".repeat(64);
        assert!(matches!(
            Reference::parse(&hex),
            Err(ReferenceError::HexName(_))
        ));
    }

    #[test]
    fn full_name_qualifies_docker_hub_names() {
        let full = |s: &str| Reference::parse(s).unwrap().full_name();
        assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("foo/bar:1"), "docker.io/foo/bar:1");
        assert_eq!(full("localhost:5000/x:y"), "localhost:5000/x:y");
        assert_eq!(full("quay.io/a/b"), "quay.io/a/b:latest");
    }

    #[test]
    fn display_is_repo_colon_tag() {
        let r = Reference::parse("docker.io/library/alpine:3").unwrap();
        assert_eq!(r.to_string(), "alpine:3");
        assert_eq!(
            "alpine".parse::<Reference>().unwrap().to_string(),
            "alpine:latest"
        );
    }
}
