//! Read-only memory maps of files: the crate's **only** module with `unsafe` code (one call,
//! audited below). Everything else reads the mapped bytes through a safe `&[u8]`, with
//! bounds-checked slicing (`get`), so a malformed file gives an error, never a panic or an
//! out-of-bounds read.
//!
//! Used by [`crate::shards`] for the EZNAS statistics shards: a tensor is converted to `f64`
//! straight from the page cache, without a read buffer, and the process maps (and, as RSS,
//! counts) only the pages of the tensors it touches, while the shard is open.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;

/// A read-only memory map of a whole file (an empty file maps to an empty slice).
#[derive(Debug)]
pub(crate) struct Mapped {
    map: Option<memmap2::Mmap>,
}

impl Mapped {
    /// Map `file` (opened for reading) read-only.
    pub(crate) fn open(file: &File) -> io::Result<Self> {
        if file.metadata()?.len() == 0 {
            return Ok(Self { map: None }); // mmap(2) refuses a zero length
        }
        // SAFETY: `Mmap::map` is unsafe because the bytes behind the returned `&[u8]` must not
        // change while the map lives: if the file were modified in place, safe code would see
        // memory change under a shared reference, and if it were truncated, touching the
        // lost pages would raise SIGBUS. Why that does not happen here:
        // * the files mapped are task-dataset shards, which zcnas writes once to a temporary
        //   file and then renames into place (`zcnas.eznas.shards.collect_task`); they are
        //   never written in place afterwards, and replacing a shard (a rerun, a rename over
        //   it) gives the name a new inode and leaves the mapped one intact;
        // * the map is read-only (PROT_READ), private to one `Shard`, and lives only while
        //   that network is evaluated; nothing in zcnas writes through it or to the file;
        // * the length is taken from the map itself, and every offset read from the file's
        //   header is checked against it before slicing (`shards.rs`), so hostile headers
        //   cannot read outside the mapping.
        // The one remaining requirement, not checkable here, is documented on
        // `zcnas_core::shards::Shard` and in the Python docs: do not truncate or rewrite a
        // shard in place while an evaluation reads it.
        let map = unsafe { memmap2::Mmap::map(file)? };
        Ok(Self { map: Some(map) })
    }

    /// The mapped bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    /// Map the pages of `range` in one system call (Linux `MADV_POPULATE_READ`) instead of
    /// one page fault per page when they are first read. A hint: errors (older kernels, other
    /// systems) are ignored, and a range outside the map is ignored.
    pub(crate) fn prefault(&self, range: std::ops::Range<usize>) {
        #[cfg(target_os = "linux")]
        if let Some(map) = &self.map {
            if range.start < range.end && range.end <= map.len() {
                let _ = map.advise_range(
                    memmap2::Advice::PopulateRead,
                    range.start,
                    range.end - range.start,
                );
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = range;
    }

    /// Let the kernel drop this process's mappings of the pages of `range` (bytes of the map
    /// that will not be read again soon), so that they leave the resident set; they stay in
    /// the page cache, and a later read maps them again. A range outside the map is ignored.
    pub(crate) fn release(&self, range: std::ops::Range<usize>) {
        let Some(map) = &self.map else { return };
        if range.start >= range.end || range.end > map.len() {
            return;
        }
        // SAFETY: `unchecked_advise_range` is unsafe because some advice values change memory
        // contents. MADV_DONTNEED on a read-only *shared file* mapping (what `Mmap::map`
        // creates) only removes page-table entries: the next access maps the same page-cache
        // page again, with the same bytes (the file is not modified, see `open`), so no
        // reference into the map ever sees different contents. The range lies inside the
        // map (checked above; memmap2 only widens its start down to the page boundary,
        // which is still inside the map), so no other mapping is touched. Errors (e.g. an
        // unusual page size) only mean the pages stay resident, so they are ignored.
        let _ = unsafe {
            map.unchecked_advise_range(
                memmap2::UncheckedAdvice::DontNeed,
                range.start,
                range.end - range.start,
            )
        };
    }
}
