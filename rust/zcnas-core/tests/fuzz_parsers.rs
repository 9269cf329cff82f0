//! Fuzz targets (proptest, stable Rust) for every parser of untrusted bytes in the core:
//! safetensors shard headers and offsets, `manifest.json`, program formulas, and the EZNAS
//! configuration / checkpoint JSON. Each input must end in a named error or a correct result:
//! never a panic, an abort, a hang or a value read from the wrong bytes.
//!
//! Short run (the default 256 cases per target, part of `cargo test -p zcnas-core`):
//!     cargo test -p zcnas-core --test `fuzz_parsers`
//! Longer run (documented in benches/RESULTS.md):
//!     `PROPTEST_CASES=20000` cargo test --release -p zcnas-core --test `fuzz_parsers`

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use zcnas_core::gp::{EvolveConfig, EvolveState, Tree, TERMINALS};
use zcnas_core::shards::{Shard, TaskDataset};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system temporary directory (removed by [`Scratch`]'s drop).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("zcnas-fuzz-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

/// A safetensors file: 8-byte little-endian header length, the header, then `data`.
fn shard_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..64,
        Just(u64::MAX),
        Just(u64::MAX - 7),
        (u64::MAX - 64)..=u64::MAX,
        any::<u64>(),
    ]
}

fn dim() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..5, Just(1 << 32), Just(u64::MAX / 2), any::<u64>()]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary bytes as a shard: an error or a header, never a panic.
    #[test]
    fn shard_from_raw_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let s = Scratch::new();
        let p = s.0.join("x.safetensors");
        write(&p, &bytes);
        if let Ok(shard) = Shard::open(&p, 1) {
            let _ = shard.read("000/T1D");
        }
    }

    /// Headers with hostile dtypes, shapes and offsets (near 2**64, reversed, past the end):
    /// either refused when opened, or every tensor read is exactly the bytes placed for it.
    #[test]
    fn shard_offsets_are_checked(
        dtype in prop_oneof![Just("F64"), Just("F32"), Just("F16"), Just("I8"), Just("")],
        shape in proptest::collection::vec(dim(), 0..4),
        lo in offset(),
        hi in offset(),
        n_data in 0usize..64,
    ) {
        let header = format!(
            r#"{{"__metadata__":{{"a":"b"}},"000/T1D":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[{lo},{hi}]}}}}"#
        );
        let data: Vec<u8> = (0..n_data).map(|i| i as u8).collect();
        let s = Scratch::new();
        let p = s.0.join("x.safetensors");
        write(&p, &shard_bytes(&header, &data));
        if let Ok(shard) = Shard::open(&p, 1) {
            let t = shard.read("000/T1D").expect("an accepted tensor reads");
            let size = match dtype { "F64" => 8, "F32" => 4, _ => 2 };
            let numel: u64 = shape.iter().product();
            prop_assert_eq!(t.data.len() as u64, numel);
            prop_assert_eq!(numel * size, hi - lo);
            prop_assert!(hi as usize <= data.len(), "read past the data");
            if dtype == "F64" && numel > 0 {
                let lo = lo as usize;
                let want = f64::from_le_bytes(data[lo..lo + 8].try_into().unwrap());
                prop_assert!(t.data[0].to_bits() == want.to_bits());
            }
        }
    }

    /// Arbitrary manifest text: an error or a dataset whose every shard name stays inside.
    #[test]
    fn manifest_from_raw_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let s = Scratch::new();
        write(&s.0.join("manifest.json"), &bytes);
        if let Ok(ds) = TaskDataset::open(&s.0) {
            for j in 0..ds.len() {
                let _ = ds.shard(j);
            }
        }
    }

    /// Manifest shard names: `..`, absolute and odd names are refused; plain names open.
    #[test]
    fn manifest_names_stay_inside(
        name in prop_oneof![
            Just("../x".to_string()),
            Just("/etc/passwd".to_string()),
            Just("a/../../x".to_string()),
            Just("./".to_string()),
            Just(String::new()),
            "[a-z./]{0,12}",
        ],
        n_instances in prop_oneof![Just(0usize), Just(1), Just(usize::MAX)],
    ) {
        let s = Scratch::new();
        let terms: Vec<String> = TERMINALS.iter().map(|t| format!("{t:?}")).collect();
        let manifest = format!(
            r#"{{"format":"zcnas-eznas-stats","version":1,"target":"y","terminals":[{}],
                "networks":[{{"file":{name:?},"n_instances":{n_instances},"ground_truth":{{"y":1.0}}}}]}}"#,
            terms.join(",")
        );
        write(&s.0.join("manifest.json"), manifest.as_bytes());
        let escapes = name.is_empty()
            || name.starts_with('/')
            || Path::new(&name).components().any(|c| c == std::path::Component::ParentDir);
        match TaskDataset::open(&s.0) {
            Ok(ds) => {
                prop_assert!(!escapes, "accepted {name:?}");
                let _ = ds.shard(0);
            }
            Err(e) => prop_assert!(e.to_string().contains("manifest"), "{e}"),
        }
    }

    /// Program formulas: arbitrary text parses or errs; what parses prints and re-parses.
    #[test]
    fn formula_from_text(text in prop_oneof![
        "\\PC{0,60}",
        "[A-Za-z0-9(), ]{0,80}",
        (1usize..400).prop_map(|n| format!("{}T1D{}", "Abs(".repeat(n), ")".repeat(n))),
    ]) {
        if let Ok(t) = Tree::parse(&text) {
            prop_assert_eq!(Tree::parse(&t.to_string()).ok(), Some(t));
        }
    }

    /// Evolver configuration and checkpoint JSON: a serde error, a validation error, or a
    /// configuration within bounds.
    #[test]
    fn evolve_config_from_text(text in prop_oneof![
        "\\PC{0,40}",
        (any::<u64>(), "[a-z_]{1,12}").prop_map(|(v, k)| format!(r#"{{"{k}": {v}}}"#)),
    ]) {
        if let Ok(c) = serde_json::from_str::<EvolveConfig>(&text) {
            if c.validate().is_ok() {
                prop_assert!(c.population <= 100_000 && c.generations <= 1_000_000);
            }
        }
        let _ = serde_json::from_str::<EvolveState>(&text);
    }
}

#[test]
fn wrapping_offsets_are_refused() {
    // issue 14: offsets near 2**64 made `data_start + hi` wrap and the tensor was read from
    // inside the JSON header (a NaN score instead of an error).
    let s = Scratch::new();
    let p = s.0.join("x.safetensors");
    let header_for = |lo: u64, hi: u64| {
        format!(r#"{{"000/T1D":{{"dtype":"F64","shape":[1],"data_offsets":[{lo},{hi}]}}}}"#)
    };
    // Offsets near 2**64 all print with 20 digits, so the header length is known first.
    let n = header_for(u64::MAX, u64::MAX).len() as u64;
    let data_start = 8 + n;
    let hi = 0u64.wrapping_sub(data_start) + 8; // data_start + hi wraps around to 8
    let lo = hi - 8;
    assert_eq!(data_start.wrapping_add(hi), 8);
    let header = header_for(lo, hi);
    assert_eq!(header.len() as u64, n);
    write(&p, &shard_bytes(&header, &[0u8; 8]));
    let err = Shard::open(&p, 1).unwrap_err().to_string();
    assert!(err.contains("inconsistent offsets"), "{err}");
}

#[test]
fn escaping_shard_names_are_refused() {
    let outer = Scratch::new();
    let s = outer.0.join("task");
    std::fs::create_dir_all(&s).unwrap();
    let terms: Vec<String> = TERMINALS.iter().map(|t| format!("{t:?}")).collect();
    for name in ["../x.safetensors", "/tmp/x.safetensors", "a/../../x"] {
        let manifest = format!(
            r#"{{"format":"zcnas-eznas-stats","version":1,"target":"y","terminals":[{}],
                "networks":[{{"file":{name:?},"n_instances":1}}]}}"#,
            terms.join(",")
        );
        write(&s.join("manifest.json"), manifest.as_bytes());
        let err = TaskDataset::open(&s).unwrap_err().to_string();
        assert!(err.contains("unsafe shard name"), "{name}: {err}");
    }
    // A symbolic link inside the directory that leads outside it is refused when opened.
    write(&outer.0.join("secret.safetensors"), &shard_bytes("{}", &[]));
    std::os::unix::fs::symlink(
        outer.0.join("secret.safetensors"),
        s.join("link.safetensors"),
    )
    .unwrap();
    let manifest = format!(
        r#"{{"format":"zcnas-eznas-stats","version":1,"target":"y","terminals":[{}],
            "networks":[{{"file":"link.safetensors","n_instances":1}}]}}"#,
        terms.join(",")
    );
    write(&s.join("manifest.json"), manifest.as_bytes());
    let ds = TaskDataset::open(&s).unwrap();
    let err = ds.shard(0).unwrap_err().to_string();
    assert!(err.contains("outside"), "{err}");
}

#[test]
fn unknown_config_keys_are_refused() {
    let err = serde_json::from_str::<EvolveConfig>(r#"{"populaton": 5}"#).unwrap_err();
    assert!(
        err.to_string().contains("unknown field `populaton`"),
        "{err}"
    );
    let c: EvolveConfig = serde_json::from_str(r#"{"population": 5}"#).unwrap();
    assert_eq!(c.population, 5);
    let c: EvolveConfig = serde_json::from_str(r#"{"population": 200000}"#).unwrap();
    assert!(c.validate().unwrap_err().to_string().contains("population"));
}
