//! `history` and `image inspect`: an image described from its config, in Docker's shapes
//! (<https://docs.docker.com/reference/cli/docker/image/history/>,
//! <https://docs.docker.com/reference/cli/docker/image/inspect/>).
//!
//! Config fields are taken from the raw config JSON, so fields this store does not model
//! (Docker's `container_config`, `variant`, ...) still show.

use serde_json::{json, Map, Value};

use crate::digest::{chain_ids, hex_part};
use crate::error::Result;
use crate::layer::LayerRecord;
use crate::layout::{layer_diff, Layout};

/// One row of `mydocker history`, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The image id on the newest row, `None` (Docker's `<missing>`) below it.
    pub id: Option<String>,
    /// RFC 3339 time of the step.
    pub created: Option<String>,
    /// CREATED BY.
    pub created_by: String,
    /// Bytes the step added (0 for a step that made no layer).
    pub size: u64,
    /// COMMENT.
    pub comment: String,
    /// True when the step made no layer (`ENV`, `CMD`, ...).
    pub empty_layer: bool,
}

/// History rows of the image `id` with raw config `config`. Steps with `empty_layer` take no
/// layer; the others take the image's layers in order. Layers without a history step (an
/// image built without history) get a row of their own.
pub fn history(layout: &Layout, id: &str, config: &Value) -> Result<Vec<HistoryEntry>> {
    let sizes = layer_sizes(layout, config)?;
    let mut layers = sizes.into_iter();
    let mut rows = Vec::new();
    for step in config["history"].as_array().into_iter().flatten() {
        let empty_layer = step["empty_layer"].as_bool().unwrap_or(false);
        let size = if empty_layer {
            0
        } else {
            layers.next().unwrap_or(0)
        };
        rows.push(HistoryEntry {
            id: None,
            created: step["created"].as_str().map(str::to_owned),
            created_by: step["created_by"].as_str().unwrap_or_default().to_owned(),
            size,
            comment: step["comment"].as_str().unwrap_or_default().to_owned(),
            empty_layer,
        });
    }
    for size in layers {
        rows.push(HistoryEntry {
            id: None,
            created: None,
            created_by: String::new(),
            size,
            comment: String::new(),
            empty_layer: false,
        });
    }
    rows.reverse();
    if let Some(top) = rows.first_mut() {
        top.id = Some(id.to_owned());
    }
    Ok(rows)
}

/// Unpacked sizes of the image's layers, lowest first.
fn layer_sizes(layout: &Layout, config: &Value) -> Result<Vec<u64>> {
    chain_ids(&diff_ids(config))
        .iter()
        .map(|chain| LayerRecord::read(layout, hex_part(chain)).map(|r| r.size))
        .collect()
}

fn diff_ids(config: &Value) -> Vec<String> {
    config["rootfs"]["diff_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str().map(str::to_owned))
        .collect()
}

/// What `inspect` needs besides the config.
pub struct InspectInput<'a> {
    pub id: &'a str,
    pub repo_tags: &'a [String],
    /// Digest of the manifest the image was loaded with.
    pub manifest: Option<&'a str>,
    pub config: &'a Value,
}

/// Docker's `image inspect` object.
pub fn inspect(layout: &Layout, input: &InspectInput<'_>) -> Result<Value> {
    let config = input.config;
    let diff_ids = diff_ids(config);
    let size: u64 = layer_sizes(layout, config)?.iter().sum();
    let repo_digests: Vec<String> = match input.manifest {
        Some(digest) => {
            let mut repos: Vec<&str> = input
                .repo_tags
                .iter()
                .filter_map(|t| t.rsplit_once(':').map(|(r, _)| r))
                .collect();
            repos.dedup();
            repos.iter().map(|r| format!("{r}@{digest}")).collect()
        }
        None => Vec::new(),
    };
    let comment = config["history"]
        .as_array()
        .and_then(|h| h.last())
        .and_then(|h| h["comment"].as_str())
        .unwrap_or_default();
    let mut dirs: Vec<String> = chain_ids(&diff_ids)
        .iter()
        .map(|c| {
            layer_diff(&layout.layer_dir(hex_part(c)))
                .display()
                .to_string()
        })
        .collect();
    dirs.reverse();
    let mut graph = Map::new();
    if let Some((top, lower)) = dirs.split_first() {
        graph.insert("UpperDir".into(), json!(top));
        if !lower.is_empty() {
            graph.insert("LowerDir".into(), json!(lower.join(":")));
        }
    }
    let mut out = json!({
        "Id": input.id,
        "RepoTags": input.repo_tags,
        "RepoDigests": repo_digests,
        "Parent": "",
        "Comment": comment,
        "Created": config["created"].as_str().unwrap_or_default(),
        "DockerVersion": config["docker_version"].as_str().unwrap_or_default(),
        "Author": config["author"].as_str().unwrap_or_default(),
        "Config": config.get("config").cloned().unwrap_or(Value::Null),
        "Architecture": config["architecture"].as_str().unwrap_or_default(),
        "Os": config["os"].as_str().unwrap_or_default(),
        "Size": size,
        "GraphDriver": {"Name": "overlay2", "Data": graph},
        "RootFS": {"Type": config["rootfs"]["type"].as_str().unwrap_or("layers"), "Layers": diff_ids},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    });
    if let Some(variant) = config["variant"].as_str() {
        out["Variant"] = json!(variant);
    }
    Ok(out)
}
