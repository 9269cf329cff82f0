//! The 34 operations of the EZNAS paper's Table 5, with their shape rules and numeric
//! semantics.
//!
//! Every operation maps tensors to a tensor. Shapes follow `PyTorch`, which the reference
//! implementation used: element-wise binary operations broadcast (numpy rules), reductions
//! give a 0-d tensor. An operation that cannot be applied (shapes that do not broadcast, a
//! matrix operation on a non-square or low-rank tensor, a result above
//! [`MAX_ELEMENTS`](super::tensor::MAX_ELEMENTS)) fails with an [`OpError`]; in a program this
//! makes the program invalid on that instance. NaN and infinities propagate as IEEE arithmetic
//! says unless stated otherwise; a program whose final value is not finite is invalid.
//!
//! | op | definition | notes |
//! |---|---|---|
//! | `Add`, `Sub`, `Mul` | `A+B`, `A-B`, `A*B` | broadcast |
//! | `MatMul` | `A @ B` | `torch.matmul` rules (1-d operands, broadcast batch dims); 0-d fails |
//! | `Lt`, `Gt`, `Eq` | `(A<B)`, `(A>B)`, `(A==B)` as 0/1 | NaN compares false |
//! | `Log` | `log(A)` after `A[A<=0] = 1` | NaN stays NaN |
//! | `AbsLog` | `log|A|` after `A[A==0] = 1` | |
//! | `Abs`, `Square`, `Exp` | `|A|`, `A²`, `exp(A)` | `exp` may overflow to inf |
//! | `Normalize` | `(A - mean) / std`, NaN → 0 | `std` unbiased (n-1) as torch; 1 element or constant → 0 |
//! | `Relu`, `Sign` | `max(A,0)`, `sign(A)` | NaN stays NaN |
//! | `Heaviside` | 1 if `A>0`, 0 if `A<=0` | `torch.heaviside(A, 0)`; NaN stays NaN |
//! | `Invert` | `1/A` | `1/0 = inf` |
//! | `FrobeniusNorm` | `sqrt(Σ A²)` | 0-d |
//! | `Det` | `det` of each trailing `n x n` matrix | shape `(..., n, n)` → `(...)`; singular (an LU pivot `<= 1e-9 max|a|`) → 0 |
//! | `LogDet` | `log det` of each trailing matrix | singular → -inf; negative det or NaN → 0 (table: `C[C!=C]=0`) |
//! | `SymEigRatio` | `e_max/e_min` of `M + Mᵀ`, `M = A Aᵀ`, `A = A.reshape(A.shape[0], -1)` | eigenvalues below 1e-9 `max|e|` are 0, so `x/0 = inf` (invalid) |
//! | `EigRatio` | the same of `A Aᵀ` | the reference used `torch.eig` (unsorted); sorted ascending here, so it equals `SymEigRatio` mathematically |
//! | `NormalizedSum` | `Σ A / numel` | 0-d; empty → NaN |
//! | `L1Norm` | `Σ|A| / numel` | 0-d |
//! | `Hamming` | `Σ (heaviside(A) != heaviside(B))` | broadcast; NaN counts as different |
//! | `KLDiv` | `Σ (xlogy(B,B) - B·A) / A.shape[0]` | `KLDivLoss('batchmean')(A, B)`; broadcast; 0-d `A` not divided |
//! | `CosineSimilarity` | `Σ_rows cos(A_r, B_r)` of the `(shape[0], -1)` reshapes | `eps = 1e-8` on each norm; rows and columns broadcast |
//! | `Softmax` | `softmax(A, dim)` | torch's implicit dim: 0 for 0-, 1- and 3-d, else 1 |
//! | `Sigmoid` | `1/(1+exp(-A))` | |
//! | `OnesLike`, `ZerosLike` | ones, zeros | same shape |
//! | `GtZero`, `LtZero` | `A>0`, `A<0` as 0/1 | NaN → 0 |
//! | `Numel` | `[numel(A)]` | shape `(1,)` as `torch.Tensor([A.numel()])` |

use super::fused::{
    heaviside, map_block, map_tensor, zip_tensor, Arg, Bin, Recent, Reduce, Un, BLOCK,
};
use super::linalg::{batched_square, gram_eig_ratio, lu_slogdet};
use super::tensor::{
    broadcast_shapes, for_each_broadcast, numel_checked, OpError, OpResult, Tensor, MAX_WORK,
};

macro_rules! ops {
    ($($v:ident = $name:literal, $arity:literal;)*) => {
        /// One of the 34 operations (see the module documentation for their semantics).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(missing_docs)]
        pub enum Op { $($v),* }

        impl Op {
            /// Every operation, in Table 5 order.
            pub const ALL: &'static [Op] = &[$(Op::$v),*];

            /// The canonical name (used in formulas and JSON).
            pub fn name(self) -> &'static str {
                match self { $(Op::$v => $name),* }
            }

            /// Number of arguments (1 or 2).
            pub fn arity(self) -> usize {
                match self { $(Op::$v => $arity),* }
            }
        }
    };
}

ops! {
    Add = "Add", 2;
    Sub = "Sub", 2;
    Mul = "Mul", 2;
    MatMul = "MatMul", 2;
    Lt = "Lt", 2;
    Gt = "Gt", 2;
    Eq = "Eq", 2;
    Log = "Log", 1;
    AbsLog = "AbsLog", 1;
    Abs = "Abs", 1;
    Square = "Square", 1;
    Exp = "Exp", 1;
    Normalize = "Normalize", 1;
    Relu = "Relu", 1;
    Sign = "Sign", 1;
    Heaviside = "Heaviside", 1;
    Invert = "Invert", 1;
    FrobeniusNorm = "FrobeniusNorm", 1;
    Det = "Det", 1;
    LogDet = "LogDet", 1;
    SymEigRatio = "SymEigRatio", 1;
    EigRatio = "EigRatio", 1;
    NormalizedSum = "NormalizedSum", 1;
    L1Norm = "L1Norm", 1;
    Hamming = "Hamming", 2;
    KLDiv = "KLDiv", 2;
    CosineSimilarity = "CosineSimilarity", 2;
    Softmax = "Softmax", 1;
    Sigmoid = "Sigmoid", 1;
    OnesLike = "OnesLike", 1;
    ZerosLike = "ZerosLike", 1;
    GtZero = "GtZero", 1;
    LtZero = "LtZero", 1;
    Numel = "Numel", 1;
}

impl Op {
    /// The operation with this canonical name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|op| op.name() == name)
    }

    /// Apply a unary operation.
    pub fn apply1(self, a: &Tensor) -> OpResult<Tensor> {
        if let Some(u) = Un::of(self) {
            return Ok(map_tensor(u, a));
        }
        Ok(match self {
            Self::Normalize => normalize(a),
            Self::FrobeniusNorm => Tensor::scalar(Reduce::Norm2.apply(&a.data)),
            Self::Det => batched_square(a, "Det", |m, n| {
                let (s, l, singular) = lu_slogdet(m, n);
                if singular {
                    0.0
                } else {
                    s * l.exp()
                }
            })?,
            Self::LogDet => batched_square(a, "LogDet", |m, n| {
                let (s, l, singular) = lu_slogdet(m, n);
                if singular {
                    f64::NEG_INFINITY
                } else if s.is_nan() || s < 0.0 {
                    0.0
                } else {
                    l
                }
            })?,
            Self::SymEigRatio => gram_eig_ratio(a, "SymEigRatio")?,
            Self::EigRatio => gram_eig_ratio(a, "EigRatio")?,
            Self::NormalizedSum => Tensor::scalar(Reduce::Mean.apply(&a.data)),
            Self::L1Norm => Tensor::scalar(Reduce::MeanAbs.apply(&a.data)),
            Self::Softmax => softmax(a),
            Self::Numel => Tensor {
                shape: vec![1],
                data: vec![a.numel() as f64],
            },
            _ => return Err(OpError(format!("{} takes two arguments", self.name()))),
        })
    }

    /// [`apply1`](Self::apply1) on a tensor the caller gives up: element-wise maps, `Normalize`
    /// and `Softmax` reuse its buffer (the same values as `apply1`).
    pub(crate) fn apply1_owned(self, a: Tensor) -> OpResult<Tensor> {
        if let Some(u) = Un::of(self) {
            let mut t = a;
            for d in t.data.chunks_mut(BLOCK) {
                map_block(u, d, Arg::Dst);
            }
            return Ok(t);
        }
        match self {
            Self::Normalize => Ok(normalize_owned(a)),
            Self::Softmax => Ok(softmax_owned(a)),
            _ => self.apply1(&a),
        }
    }

    /// Apply a binary operation.
    pub fn apply2(self, a: &Tensor, b: &Tensor) -> OpResult<Tensor> {
        if let Some(op) = Bin::of(self) {
            return zip_tensor(op, a, b);
        }
        match self {
            Self::MatMul => matmul(a, b),
            Self::Hamming if a.shape == b.shape => {
                // heaviside(x) != heaviside(y), without branches: NaN differs from anything.
                let count: u64 = a
                    .data
                    .iter()
                    .zip(&b.data)
                    .map(|(&x, &y)| u64::from(((x > 0.0) != (y > 0.0)) | x.is_nan() | y.is_nan()))
                    .sum();
                Ok(Tensor::scalar(count as f64))
            }
            Self::Hamming => {
                let out = broadcast_shapes(&a.shape, &b.shape)?;
                let mut count = 0usize;
                for_each_broadcast(&a.shape, &b.shape, &out, |i, j| {
                    let (x, y) = (heaviside(a.data[i]), heaviside(b.data[j]));
                    count += usize::from(x != y);
                });
                Ok(Tensor::scalar(count as f64))
            }
            Self::KLDiv => {
                let mut sum = 0.0;
                if a.shape == b.shape {
                    // The same order as the broadcasting loop below.
                    for (&x, &t) in a.data.iter().zip(&b.data) {
                        sum += xlogy(t, t) - t * x;
                    }
                } else {
                    let out = broadcast_shapes(&a.shape, &b.shape)?;
                    for_each_broadcast(&a.shape, &b.shape, &out, |i, j| {
                        let (x, t) = (a.data[i], b.data[j]);
                        sum += xlogy(t, t) - t * x;
                    });
                }
                if a.ndim() > 0 {
                    sum /= a.shape[0] as f64;
                }
                Ok(Tensor::scalar(sum))
            }
            Self::CosineSimilarity => cosine(a, b),
            _ => Err(OpError(format!("{} takes one argument", self.name()))),
        }
    }
}

/// `x * ln(y)`, 0 where `x == 0` (unless `y` is NaN), as `torch.xlogy`.
fn xlogy(x: f64, y: f64) -> f64 {
    if y.is_nan() {
        f64::NAN
    } else if x == 0.0 {
        0.0
    } else {
        x * y.ln()
    }
}

fn normalize(a: &Tensor) -> Tensor {
    normalize_owned(a.clone())
}

fn normalize_owned(mut t: Tensor) -> Tensor {
    let n = t.numel() as f64;
    let mean = t.data.iter().sum::<f64>() / n;
    let var = t.data.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    let std = var.sqrt();
    for x in &mut t.data {
        let v = (*x - mean) / std;
        *x = if v.is_nan() { 0.0 } else { v };
    }
    t
}

fn softmax(a: &Tensor) -> Tensor {
    softmax_owned(a.clone())
}

/// Softmax over torch's implicit dim, in place. The rows along `dim` are visited contiguously
/// (all `inner` positions at once); each position's max, sum and quotients are computed in
/// the same order as one position at a time would, so the values do not depend on the loop
/// order.
fn softmax_owned(mut t: Tensor) -> Tensor {
    let nd = t.ndim();
    if nd == 0 {
        for x in &mut t.data {
            if !x.is_nan() {
                *x = 1.0;
            }
        }
        return t;
    }
    let dim = usize::from(!matches!(nd, 1 | 3));
    let len = t.shape[dim];
    let inner: usize = t.shape[dim + 1..].iter().product();
    if len == 0 || inner == 0 {
        return t;
    }
    let mut m = vec![0.0; inner];
    let mut s = vec![0.0; inner];
    let mut nan = vec![false; inner];
    for block in t.data.chunks_mut(len * inner) {
        m.fill(f64::NEG_INFINITY);
        nan.fill(false);
        for row in block.chunks(inner) {
            for ((m, nan), &x) in m.iter_mut().zip(nan.iter_mut()).zip(row) {
                *m = m.max(x);
                *nan |= x.is_nan();
            }
        }
        for (m, &nan) in m.iter_mut().zip(&nan) {
            if nan {
                *m = f64::NAN;
            }
        }
        s.fill(0.0);
        let mut recent = Recent::new();
        for row in block.chunks_mut(inner) {
            for ((x, &m), s) in row.iter_mut().zip(&m).zip(s.iter_mut()) {
                let e = recent.get(*x - m, f64::exp);
                *x = e;
                *s += e;
            }
        }
        for row in block.chunks_mut(inner) {
            for (x, &s) in row.iter_mut().zip(&s) {
                *x /= s;
            }
        }
    }
    t
}

fn matmul(a: &Tensor, b: &Tensor) -> OpResult<Tensor> {
    if a.ndim() == 0 || b.ndim() == 0 {
        return Err(OpError(format!(
            "MatMul needs tensors of at least 1 dimension, got shapes {:?} and {:?}",
            a.shape, b.shape
        )));
    }
    let sa: Vec<usize> = if a.ndim() == 1 {
        vec![1, a.shape[0]]
    } else {
        a.shape.clone()
    };
    let sb: Vec<usize> = if b.ndim() == 1 {
        vec![b.shape[0], 1]
    } else {
        b.shape.clone()
    };
    let (m, k) = (sa[sa.len() - 2], sa[sa.len() - 1]);
    let (k2, n) = (sb[sb.len() - 2], sb[sb.len() - 1]);
    if k != k2 {
        return Err(OpError(format!(
            "MatMul: shapes {:?} and {:?} are not aligned",
            a.shape, b.shape
        )));
    }
    let ba = &sa[..sa.len() - 2];
    let bb = &sb[..sb.len() - 2];
    let bout = broadcast_shapes(ba, bb)?;
    let nb: usize = bout.iter().product();
    let mut shape = bout.clone();
    if a.ndim() > 1 {
        shape.push(m);
    }
    if b.ndim() > 1 {
        shape.push(n);
    }
    numel_checked(&shape)?;
    if nb.saturating_mul(m).saturating_mul(k).saturating_mul(n) > MAX_WORK {
        return Err(OpError(format!(
            "MatMul of shapes {:?} and {:?} is too large",
            a.shape, b.shape
        )));
    }
    let mut data = vec![0.0; nb * m * n];
    let mut block = 0;
    for_each_broadcast(ba, bb, &bout, |ia, ib| {
        let am = &a.data[ia * m * k..(ia + 1) * m * k];
        let bm = &b.data[ib * k * n..(ib + 1) * k * n];
        let cm = &mut data[block * m * n..(block + 1) * m * n];
        for i in 0..m {
            let crow = &mut cm[i * n..(i + 1) * n];
            for p in 0..k {
                let x = am[i * k + p];
                for (c, &y) in crow.iter_mut().zip(&bm[p * n..(p + 1) * n]) {
                    *c += x * y;
                }
            }
        }
        block += 1;
    });
    Ok(Tensor { shape, data })
}

/// `(shape[0], -1)` view of a tensor with at least one dimension.
fn rows2(t: &Tensor) -> OpResult<(usize, usize)> {
    if t.ndim() == 0 {
        return Err(OpError(
            "CosineSimilarity needs tensors of at least 1 dimension".into(),
        ));
    }
    let r = t.shape[0];
    Ok((r, t.numel().checked_div(r).unwrap_or(0)))
}

fn cosine(a: &Tensor, b: &Tensor) -> OpResult<Tensor> {
    const EPS: f64 = 1e-8;
    let (ra, ca) = rows2(a)?;
    let (rb, cb) = rows2(b)?;
    let out = broadcast_shapes(&[ra, ca], &[rb, cb])?;
    let (rows, cols) = (out[0], out[1]);
    let mut total = 0.0;
    for r in 0..rows {
        let (xa, xb) = (if ra == 1 { 0 } else { r }, if rb == 1 { 0 } else { r });
        let (mut dot, mut na, mut nb) = (0.0, 0.0, 0.0);
        for c in 0..cols {
            let x = a.data[xa * ca + if ca == 1 { 0 } else { c }];
            let y = b.data[xb * cb + if cb == 1 { 0 } else { c }];
            dot += x * y;
            na += x * x;
            nb += y * y;
        }
        total += dot / (na.sqrt().max(EPS) * nb.sqrt().max(EPS));
    }
    Ok(Tensor::scalar(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], data: &[f64]) -> Tensor {
        Tensor::new(shape.to_vec(), data.to_vec()).unwrap()
    }

    #[test]
    fn thirty_four_ops_with_unique_names() {
        assert_eq!(Op::ALL.len(), 34);
        for op in Op::ALL {
            assert_eq!(Op::from_name(op.name()), Some(*op));
        }
    }

    #[test]
    fn matmul_rules() {
        let a = t(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let v = t(&[3], &[1.0, 0.0, -1.0]);
        assert_eq!(Op::MatMul.apply2(&a, &v).unwrap(), t(&[2], &[-2.0, -2.0]));
        assert_eq!(Op::MatMul.apply2(&v, &v).unwrap(), Tensor::scalar(2.0));
        assert!(Op::MatMul.apply2(&a, &a).is_err());
        assert!(Op::MatMul.apply2(&Tensor::scalar(1.0), &v).is_err());
    }

    #[test]
    fn singular_and_negative_determinants() {
        let s = t(&[2, 2], &[1.0, 2.0, 2.0, 4.0]);
        assert_eq!(Op::Det.apply1(&s).unwrap(), Tensor::scalar(0.0));
        assert_eq!(
            Op::LogDet.apply1(&s).unwrap(),
            Tensor::scalar(f64::NEG_INFINITY)
        );
        let neg = t(&[2, 2], &[0.0, 1.0, 1.0, 0.0]);
        assert_eq!(Op::LogDet.apply1(&neg).unwrap(), Tensor::scalar(0.0));
        assert!(Op::Det.apply1(&t(&[2, 3], &[0.0; 6])).is_err());
    }
}
