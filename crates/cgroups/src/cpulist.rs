//! CPU and memory-node lists, the format of `cpuset.cpus` and `cpuset.mems`: comma-separated
//! numbers and inclusive ranges, such as `0-3,5`. See cpuset(7), "List format".
//!
//! Used to check a requested cpuset against what the parent cgroup may hand out, before
//! the kernel answers with a bare `EINVAL`.

use std::collections::BTreeSet;

/// The largest CPU or node number we accept (the kernel's `NR_CPUS` is at most 8192), so a
/// typo such as `0-4000000000` cannot make us allocate gigabytes.
const MAX_ID: u32 = 65_535;

/// A set of CPU (or memory node) numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CpuList(BTreeSet<u32>);

impl CpuList {
    /// Parses `0-3,5`. Whitespace around items is allowed; an empty string is the empty set.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut ids = BTreeSet::new();
        for item in text
            .trim()
            .split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
        {
            let (first, last) = match item.split_once('-') {
                Some((a, b)) => (parse_id(a)?, parse_id(b)?),
                None => {
                    let id = parse_id(item)?;
                    (id, id)
                }
            };
            if first > last {
                return Err(format!("range {item:?} runs backwards"));
            }
            ids.extend(first..=last);
        }
        Ok(CpuList(ids))
    }

    pub(crate) fn is_subset(&self, other: &CpuList) -> bool {
        self.0.is_subset(&other.0)
    }
}

fn parse_id(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(id) if id <= MAX_ID => Ok(id),
        Ok(id) => Err(format!("{id} is larger than {MAX_ID}")),
        Err(_) => Err(format!("{text:?} is not a number")),
    }
}

/// Checks that `requested` (`cpus` or `mems` of the spec) lies within `available` (the
/// parent's effective list), with Docker's wording for the error.
pub(crate) fn check_available(what: &str, requested: &str, available: &str) -> crate::Result<()> {
    let invalid = |reason: String| crate::CgroupError::InvalidValue {
        what: format!("cpuset {what}"),
        reason,
    };
    let want = CpuList::parse(requested).map_err(invalid)?;
    let have = CpuList::parse(available).map_err(invalid)?;
    if want.is_subset(&have) {
        return Ok(());
    }
    let noun = if what == "cpus" {
        "CPUs"
    } else {
        "memory nodes"
    };
    Err(invalid(format!(
        "requested {noun} are not available - requested {}, available: {}",
        requested.trim(),
        available.trim()
    )))
}

/// Which cpuset limit `r` asks for, if any (for "cannot apply ..." messages); the same on
/// v1 and v2.
pub(crate) fn cpuset_requested(r: &oci_spec::runtime::LinuxResources) -> Option<&'static str> {
    let c = r.cpu().as_ref()?;
    let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    if set(c.cpus()) {
        Some("cpuset cpus")
    } else if set(c.mems()) {
        Some("cpuset mems")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &CpuList) -> Vec<u32> {
        list.0.iter().copied().collect()
    }

    #[test]
    fn parses_numbers_and_ranges() {
        assert_eq!(ids(&CpuList::parse("0-3,5").unwrap()), [0, 1, 2, 3, 5]);
        assert_eq!(ids(&CpuList::parse(" 7 , 2-2\n").unwrap()), [2, 7]);
        assert!(CpuList::parse("").unwrap().0.is_empty());
        assert!(CpuList::parse("\n").unwrap().0.is_empty());
    }

    #[test]
    fn refuses_garbage() {
        for bad in ["a", "3-1", "1-", "-1", "0-4000000000", "1,,x"] {
            assert!(CpuList::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn subset_check_speaks_like_docker() {
        check_available("cpus", "0", "0-1").unwrap();
        check_available("mems", "0,1", "0-1").unwrap();
        let err = check_available("cpus", "99", "0-1\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid cpuset cpus: requested CPUs are not available - requested 99, available: 0-1"
        );
        let err = check_available("mems", "1", "0").unwrap_err();
        assert!(err
            .to_string()
            .contains("requested memory nodes are not available"));
    }
}
