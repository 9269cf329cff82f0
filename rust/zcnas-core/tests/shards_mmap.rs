//! Memory-mapped shard reading: the values and bytes of every stored dtype equal what was
//! written; short, empty and inconsistent files are errors, not panics.

use std::path::PathBuf;
use zcnas_core::gp::InstanceSource;
use zcnas_core::shards::Shard;

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("zcnas-mmap-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A safetensors file: 8-byte little-endian header length, JSON header, data.
fn safetensors(entries: &[(&str, &str, &[usize], Vec<u8>)]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut fields = Vec::new();
    for (name, dtype, shape, bytes) in entries {
        let (lo, hi) = (data.len(), data.len() + bytes.len());
        fields.push(format!(
            "\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{lo},{hi}]}}"
        ));
        data.extend_from_slice(bytes);
    }
    let header = format!("{{{}}}", fields.join(","));
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&data);
    out
}

#[test]
fn mapped_values_equal_the_written_ones() {
    let d = Dir::new("values");
    let f64s = [1.5f64, -0.0, f64::INFINITY, 1e-300, -7.25, 3.0];
    let f32s = [0.1f32, -2.5, 65504.0, 1e-40, f32::NEG_INFINITY, 0.0];
    // Half precision: 1, -2, 65504, the smallest subnormal, +inf, 0.5.
    let f16s: [u16; 6] = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3800];
    let b64: Vec<u8> = f64s.iter().flat_map(|v| v.to_le_bytes()).collect();
    let b32: Vec<u8> = f32s.iter().flat_map(|v| v.to_le_bytes()).collect();
    let b16: Vec<u8> = f16s.iter().flat_map(|v| v.to_le_bytes()).collect();
    let bytes = safetensors(&[
        ("000/T1D", "F64", &[2, 3], b64.clone()),
        ("000/T2D", "F32", &[1, 6], b32.clone()),
        ("001/T1D", "F16", &[3, 2], b16.clone()),
        ("001/T2D", "F32", &[0, 4], Vec::new()),
    ]);
    let p = d.0.join("s.safetensors");
    std::fs::write(&p, bytes).unwrap();
    let s = Shard::open(&p, 2).unwrap();
    assert_eq!(s.n_instances(), 2);
    let t = s.read("000/T1D").unwrap();
    assert_eq!(t.shape, vec![2, 3]);
    assert!(t
        .data
        .iter()
        .zip(&f64s)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    let t = s.read("000/T2D").unwrap();
    assert_eq!(t.shape, vec![1, 6]);
    assert!(t.data.iter().zip(&f32s).all(|(&a, &b)| a == f64::from(b)));
    let t = s.read("001/T1D").unwrap();
    let want = [1.0, -2.0, 65504.0, 2f64.powi(-24), f64::INFINITY, 0.5];
    assert_eq!(t.data, want);
    assert_eq!(s.read("001/T2D").unwrap().shape, vec![0, 4]);
    // The raw bytes are the stored ones.
    assert_eq!(
        s.read_raw("000/T1D").unwrap(),
        ("F64", &[2usize, 3][..], &b64[..])
    );
    assert_eq!(s.read_raw("000/T2D").unwrap().2, &b32[..]);
    assert_eq!(s.read_raw("001/T1D").unwrap().2, &b16[..]);
    assert!(s
        .read("002/T1D")
        .unwrap_err()
        .to_string()
        .contains("no tensor"));
    // Released pages are mapped again on the next read, with the same bytes.
    let before = s.load(1, 0).unwrap();
    for inst in [0, 1, 7] {
        s.release(inst);
    }
    assert_eq!(s.load(1, 0).unwrap(), before);
    assert_eq!(s.read_raw("000/T1D").unwrap().2, &b64[..]);
}

#[test]
fn short_and_inconsistent_files_are_errors() {
    let d = Dir::new("bad");
    let good = safetensors(&[("000/T1D", "F32", &[2], vec![0u8; 8])]);
    for (k, bytes) in [
        Vec::new(),
        vec![1, 2, 3],
        good[..good.len() - 1].to_vec(),
        safetensors(&[("000/T1D", "F32", &[3], vec![0u8; 8])]),
    ]
    .into_iter()
    .enumerate()
    {
        let p = d.0.join(format!("{k}.safetensors"));
        std::fs::write(&p, bytes).unwrap();
        assert!(Shard::open(&p, 1).is_err(), "case {k}");
    }
    let p = d.0.join("good.safetensors");
    std::fs::write(&p, good).unwrap();
    assert_eq!(
        Shard::open(&p, 1).unwrap().read("000/T1D").unwrap().data,
        [0.0, 0.0]
    );
}
