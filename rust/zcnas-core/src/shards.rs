//! Task datasets on disk: a `manifest.json` and one safetensors shard per network, as written
//! by `zcnas.eznas.shards` (format `zcnas-eznas-stats`, version 1).
//!
//! A shard holds tensors named `"<instance:03d>/<terminal>"` (F32, F16 or F64, row-major).
//! A shard is **memory-mapped** when it is opened (read-only, [`crate::mapped`], the crate's
//! one audited module with `unsafe`) and only its header is parsed; each tensor is converted
//! to `f64` straight from the mapped bytes when the interpreter needs it. The operating
//! system's page cache keeps hot shards in memory; the process maps only the pages it touches
//! (counted in its RSS as file-backed, reclaimable pages while the shard is open) and holds
//! the `f64` tensors of the instances being evaluated, so resident memory stays far below the
//! data size. Every size and offset in a header is checked against the file's length before
//! any byte is read, so malformed files give errors, not panics.

use crate::error::{CoreError, Result};
use crate::gp::interp::InstanceSource;
use crate::gp::tensor::Tensor;
use crate::gp::tree::TERMINALS;
use crate::mapped::Mapped;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Value of the manifest's `format` field.
pub const FORMAT: &str = "zcnas-eznas-stats";

/// Largest safetensors header accepted (bytes).
const MAX_HEADER: u64 = 100 << 20;

/// Tensors of at least this many bytes have their pages mapped in one call before reading.
const PREFAULT_BYTES: usize = 4 << 12;

/// Instances whose byte spans are tracked (for releasing mapped pages); the manifest's count
/// is not trusted beyond it.
const MAX_SPANS: usize = 1 << 16;

fn io_err(path: &Path, what: &str, e: impl std::fmt::Display) -> CoreError {
    CoreError::InvalidParameter {
        name: "stats_dir",
        reason: format!("{what} {}: {e}", path.display()),
    }
}

/// One network of a task dataset.
#[derive(Debug, Clone, Deserialize)]
pub struct NetworkEntry {
    /// Shard file name, relative to the dataset directory (no `..`, not absolute; checked by
    /// [`TaskDataset::open`], and the opened file must resolve inside the directory).
    pub file: String,
    /// Architecture string.
    #[serde(default)]
    pub arch: String,
    /// Index in the search space's benchmark.
    #[serde(default)]
    pub index: Option<i64>,
    /// Ground-truth values by key (e.g. `cifar10_test`).
    #[serde(default)]
    pub ground_truth: BTreeMap<String, Option<f64>>,
    /// Number of instances in the shard.
    pub n_instances: usize,
}

/// The parts of `manifest.json` the core reads (other fields are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// Must be [`FORMAT`].
    pub format: String,
    /// Must be 1.
    pub version: u32,
    /// Key of `ground_truth` used as the fitness target.
    pub target: String,
    /// Terminal names; must be the canonical 22.
    pub terminals: Vec<String>,
    /// The networks written so far.
    pub networks: Vec<NetworkEntry>,
}

/// A task dataset directory with its manifest.
#[derive(Debug, Clone)]
pub struct TaskDataset {
    /// The directory.
    pub dir: PathBuf,
    /// The parsed manifest.
    pub manifest: Manifest,
}

impl TaskDataset {
    /// Read and check `dir/manifest.json`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path).map_err(|e| io_err(&path, "cannot read", e))?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| io_err(&path, "invalid manifest", e))?;
        if manifest.format != FORMAT || manifest.version != 1 {
            return Err(io_err(
                &path,
                "unsupported manifest",
                format!(
                    "format {:?} version {} (expected {FORMAT:?} version 1)",
                    manifest.format, manifest.version
                ),
            ));
        }
        if manifest.terminals.iter().map(String::as_str).ne(TERMINALS) {
            return Err(io_err(
                &path,
                "unexpected terminals in",
                format!("{:?}; expected {TERMINALS:?}", manifest.terminals),
            ));
        }
        for (j, n) in manifest.networks.iter().enumerate() {
            check_relative(&n.file).map_err(|why| {
                io_err(
                    &path,
                    "unsafe shard name in",
                    format!("network {j} has file {:?}: {why}", n.file),
                )
            })?;
        }
        Ok(Self { dir, manifest })
    }

    /// Number of networks.
    pub fn len(&self) -> usize {
        self.manifest.networks.len()
    }

    /// Whether there are no networks.
    pub fn is_empty(&self) -> bool {
        self.manifest.networks.is_empty()
    }

    /// Ground truth of every network under the manifest's `target` key; an error names the
    /// first network without a finite value.
    pub fn targets(&self) -> Result<Vec<f64>> {
        let key = &self.manifest.target;
        self.manifest
            .networks
            .iter()
            .map(|n| match n.ground_truth.get(key) {
                Some(Some(v)) if v.is_finite() => Ok(*v),
                _ => Err(CoreError::InvalidParameter {
                    name: "stats_dir",
                    reason: format!(
                        "network {} ({}) of {} has no finite ground truth {key:?}",
                        n.file,
                        n.arch,
                        self.dir.display()
                    ),
                }),
            })
            .collect()
    }

    /// Open the shard of network `j`.
    pub fn shard(&self, j: usize) -> Result<Shard> {
        let entry = self.manifest.networks.get(j).ok_or(CoreError::UnknownId {
            name: "network",
            id: j,
        })?;
        check_relative(&entry.file).map_err(|why| {
            io_err(
                &self.dir,
                &format!("unsafe shard name {:?} in", entry.file),
                why,
            )
        })?;
        let path = self.dir.join(&entry.file);
        // A symbolic link may still lead out of the directory: compare the resolved paths.
        let (real_dir, real) = (self.dir.canonicalize(), path.canonicalize());
        if let (Ok(d), Ok(f)) = (real_dir, real) {
            if !f.starts_with(&d) {
                return Err(io_err(
                    &self.dir,
                    &format!("shard {:?} resolves to {} outside", entry.file, f.display()),
                    "refused",
                ));
            }
        }
        Shard::open(path, entry.n_instances)
    }
}

/// A manifest's shard name must be a plain relative path below the dataset directory: not
/// empty, not absolute, no `..`, `.`-only or root components.
fn check_relative(file: &str) -> std::result::Result<(), &'static str> {
    use std::path::Component;
    if file.is_empty() {
        return Err("the name is empty");
    }
    let mut normal = 0usize;
    for c in Path::new(file).components() {
        match c {
            Component::Normal(_) => normal += 1,
            Component::CurDir => {}
            Component::ParentDir => return Err("`..` leaves the dataset directory"),
            Component::RootDir | Component::Prefix(_) => {
                return Err("an absolute path leaves the dataset directory")
            }
        }
    }
    if normal == 0 {
        return Err("the name is not a file");
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    F16,
    F32,
    F64,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Self::F16 => 2,
            Self::F32 => 4,
            Self::F64 => 8,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct RawEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [u64; 2],
}

#[derive(Debug, Clone)]
struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,
    start: u64,
    len: usize,
}

/// An open, memory-mapped safetensors shard of one network; tensors are converted on demand.
///
/// The file must not be truncated or rewritten in place while the shard is open (zcnas never
/// does: shards are written to a temporary file and renamed into place); replacing it by a
/// rename is fine.
#[derive(Debug)]
pub struct Shard {
    path: PathBuf,
    map: Mapped,
    n_instances: usize,
    entries: HashMap<String, Entry>,
    /// Per instance, the byte range spanning its tensors (empty if it has none).
    spans: Vec<std::ops::Range<usize>>,
}

impl Shard {
    /// Open a shard and parse its header; `n_instances` comes from the manifest.
    pub fn open(path: impl AsRef<Path>, n_instances: usize) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| io_err(&path, "cannot open", e))?;
        let map = Mapped::open(&file).map_err(|e| io_err(&path, "cannot map", e))?;
        let bytes = map.bytes();
        let file_len = bytes.len() as u64;
        let n8: [u8; 8] = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| io_err(&path, "cannot read the header of", "the file is too short"))?;
        let n = u64::from_le_bytes(n8);
        if n > MAX_HEADER || 8u64.checked_add(n).is_none_or(|end| end > file_len) {
            return Err(io_err(
                &path,
                "corrupt safetensors header in",
                format!("length {n}"),
            ));
        }
        let header = &bytes[8..8 + n as usize]; // 8 + n <= file_len, checked above
        let raw: HashMap<String, serde_json::Value> = serde_json::from_slice(header)
            .map_err(|e| io_err(&path, "invalid safetensors header in", e))?;
        let data_start = 8 + n; // n <= MAX_HEADER: no overflow
        let mut entries = HashMap::with_capacity(raw.len());
        for (name, value) in raw {
            if name == "__metadata__" {
                continue;
            }
            let e: RawEntry = serde_json::from_value(value)
                .map_err(|e| io_err(&path, &format!("invalid entry {name:?} in"), e))?;
            let dtype = match e.dtype.as_str() {
                "F16" => Dtype::F16,
                "F32" => Dtype::F32,
                "F64" => Dtype::F64,
                other => {
                    return Err(io_err(
                        &path,
                        &format!("tensor {name:?} has unsupported dtype {other} in"),
                        "use F16, F32 or F64",
                    ))
                }
            };
            // Every size and offset in checked arithmetic: a header may claim anything (an
            // offset near 2**64 must not wrap around into the header itself).
            let count = e.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            let [lo, hi] = e.data_offsets;
            let bytes = count
                .and_then(|c| c.checked_mul(dtype.size()))
                .and_then(|b| u64::try_from(b).ok());
            let start = data_start.checked_add(lo);
            let end = data_start.checked_add(hi);
            let consistent = matches!(
                (bytes, hi.checked_sub(lo), start, end),
                (Some(b), Some(span), Some(_), Some(end)) if b == span && end <= file_len
            );
            if !consistent {
                return Err(io_err(
                    &path,
                    &format!("tensor {name:?} has inconsistent offsets in"),
                    format!("{:?} for shape {:?}", e.data_offsets, e.shape),
                ));
            }
            entries.insert(
                name,
                Entry {
                    dtype,
                    shape: e.shape,
                    start: data_start + lo, // checked above
                    len: count.unwrap_or(0),
                },
            );
        }
        let mut spans = vec![0..0; n_instances.min(MAX_SPANS)];
        for (name, e) in &entries {
            let inst = name
                .split_once('/')
                .and_then(|(i, _)| i.parse::<usize>().ok());
            let (Some(span), Ok(start)) = (
                inst.and_then(|i| spans.get_mut(i)),
                usize::try_from(e.start),
            ) else {
                continue;
            };
            let end = start + e.len * e.dtype.size(); // inside the file: checked above
            *span = if span.start == span.end {
                start..end
            } else {
                span.start.min(start)..span.end.max(end)
            };
        }
        Ok(Self {
            path,
            map,
            n_instances,
            entries,
            spans,
        })
    }

    /// Read one tensor by name and convert it to `f64`.
    pub fn read(&self, name: &str) -> Result<Tensor> {
        let e = self.entries.get(name).ok_or_else(|| {
            io_err(
                &self.path,
                &format!("no tensor {name:?} in"),
                "the shard is incomplete",
            )
        })?;
        if e.len * e.dtype.size() >= PREFAULT_BYTES {
            if let Ok(start) = usize::try_from(e.start) {
                self.map.prefault(start..start + e.len * e.dtype.size());
            }
        }
        let buf = self.raw(e).ok_or_else(|| {
            io_err(
                &self.path,
                &format!("tensor {name:?} lies outside"),
                "the shard is truncated",
            )
        })?;
        let data: Vec<f64> = match e.dtype {
            Dtype::F16 => buf
                .chunks_exact(2)
                .map(|b| f16_to_f64(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
            Dtype::F32 => buf
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                .collect(),
            Dtype::F64 => buf
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .collect(),
        };
        Ok(Tensor {
            shape: e.shape.clone(),
            data,
        })
    }
}

impl Shard {
    /// The stored bytes of an entry (in the map; `None` if they are not all there, which
    /// [`Shard::open`] has already excluded).
    fn raw(&self, e: &Entry) -> Option<&[u8]> {
        let start = usize::try_from(e.start).ok()?;
        let end = start.checked_add(e.len.checked_mul(e.dtype.size())?)?;
        self.map.bytes().get(start..end)
    }

    /// One tensor by name as stored: `(dtype name, shape, little-endian bytes)`, without
    /// conversion (the bytes are borrowed from the map).
    pub fn read_raw(&self, name: &str) -> Result<(&'static str, &[usize], &[u8])> {
        let e = self.entries.get(name).ok_or_else(|| {
            io_err(
                &self.path,
                &format!("no tensor {name:?} in"),
                "the shard is incomplete",
            )
        })?;
        let bytes = self.raw(e).ok_or_else(|| {
            io_err(
                &self.path,
                &format!("tensor {name:?} lies outside"),
                "the shard is truncated",
            )
        })?;
        let dtype = match e.dtype {
            Dtype::F16 => "F16",
            Dtype::F32 => "F32",
            Dtype::F64 => "F64",
        };
        Ok((dtype, &e.shape, bytes))
    }

    /// Number of instances (from the manifest).
    pub fn n_instances(&self) -> usize {
        self.n_instances
    }
}

impl InstanceSource for Shard {
    fn n_instances(&self) -> usize {
        self.n_instances
    }
    fn load(&self, inst: usize, term: u8) -> Result<Tensor> {
        self.read(&format!("{inst:03}/{}", TERMINALS[usize::from(term)]))
    }
    fn release(&self, inst: usize) {
        if let Some(span) = self.spans.get(inst) {
            self.map.release(span.clone());
        }
    }
}

/// IEEE half precision to `f64` (exact).
pub fn f16_to_f64(h: u16) -> f64 {
    let sign = if h >> 15 == 1 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f64::from(h & 0x3ff);
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert_eq!(f16_to_f64(0x7bff), 65504.0);
        assert_eq!(f16_to_f64(0x7c00), f64::INFINITY);
        assert!(f16_to_f64(0x7e00).is_nan());
    }
}
