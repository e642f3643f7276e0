//! The OCI image config written by `import`
//! (<https://github.com/opencontainers/image-spec/blob/main/config.md>).
//!
//! The image id is the sha256 of the config blob, so the blob is encoded canonically: object
//! keys sorted, no white space. That keeps ids stable even for fields `oci-spec` keeps in hash
//! maps (labels, exposed ports, volumes).

use oci_spec::image::{Arch, Config, History, ImageConfiguration, Os, RootFs};

use crate::change::{apply_changes, Change};

/// Inputs of an imported image's config.
#[derive(Debug, Clone)]
pub struct ImportConfig<'a> {
    pub diff_id: &'a str,
    pub changes: &'a [Change],
    pub message: Option<&'a str>,
    /// RFC 3339 creation time.
    pub created: &'a str,
}

/// Builds the config of a single-layer imported image.
pub fn import_config(input: &ImportConfig<'_>) -> ImageConfiguration {
    let mut config = Config::default();
    apply_changes(&mut config, input.changes);

    let mut history = History::default();
    history.set_created(Some(input.created.to_owned()));
    history.set_created_by(Some("import".to_owned()));
    history.set_comment(input.message.filter(|m| !m.is_empty()).map(str::to_owned));

    let mut rootfs = RootFs::default();
    rootfs.set_typ("layers".to_owned());
    rootfs.set_diff_ids(vec![input.diff_id.to_owned()]);

    let mut image = ImageConfiguration::default();
    image.set_created(Some(input.created.to_owned()));
    image.set_architecture(Arch::from(go_arch()));
    image.set_os(Os::Linux);
    image.set_config(Some(config));
    image.set_rootfs(rootfs);
    image.set_history(Some(vec![history]));
    image
}

/// Canonical JSON bytes of a config: sorted keys, compact.
pub fn encode(config: &ImageConfiguration) -> serde_json::Result<Vec<u8>> {
    let value = serde_json::to_value(config)?;
    serde_json::to_vec(&value)
}

/// This machine's architecture with Go's (GOARCH) spelling, as image configs use.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "loongarch64" => "loong64",
        "mips64" if cfg!(target_endian = "little") => "mips64le",
        "mips" if cfg!(target_endian = "little") => "mipsle",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_canonical() {
        let changes = crate::change::parse_changes(&[
            "LABEL z=1 a=2 m=3".to_owned(),
            "EXPOSE 9 1 5".to_owned(),
        ])
        .unwrap();
        let input = ImportConfig {
            diff_id: "sha256:00",
            changes: &changes,
            message: Some("hi"),
            created: "2024-01-01T00:00:00Z",
        };
        let first = encode(&import_config(&input)).unwrap();
        for _ in 0..5 {
            assert_eq!(encode(&import_config(&input)).unwrap(), first);
        }
        let text = String::from_utf8(first).unwrap();
        assert!(
            text.contains(r#""Labels":{"a":"2","m":"3","z":"1"}"#),
            "{text}"
        );
        assert!(text.contains(r#""os":"linux""#), "{text}");
        assert!(text.contains(r#""created_by":"import""#), "{text}");
    }
}
