//! The value type of the interpreter: a dense row-major `f64` array of any rank.

use std::fmt;

/// Largest number of elements any intermediate value may have (128 MiB of `f64`); larger
/// results make the operation fail instead of exhausting memory.
pub const MAX_ELEMENTS: usize = 1 << 24;

/// Largest amount of multiply-adds one matrix operation (`MatMul`, `Det`, the eigen ratios)
/// may take; a larger one fails (the program is then invalid on that instance).
pub const MAX_WORK: usize = 1 << 31;

/// Largest side of a matrix whose eigenvalues are computed (`SymEigRatio`, `EigRatio`).
pub const MAX_EIG_SIDE: usize = 512;

/// Why an operation could not be applied (shape mismatch, wrong rank, too large). Inside a
/// program this makes the program invalid on the instance; it is not a user error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError(pub String);

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Result of an operation.
pub type OpResult<T> = std::result::Result<T, OpError>;

/// A dense row-major array; a scalar has the empty shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values, row-major.
    pub data: Vec<f64>,
}

impl Tensor {
    /// A tensor from its shape and data; fails if they disagree.
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> OpResult<Self> {
        let n = numel_checked(&shape)?;
        if n != data.len() {
            return Err(OpError(format!(
                "shape {shape:?} needs {n} values, got {}",
                data.len()
            )));
        }
        Ok(Self { shape, data })
    }

    /// A 0-d tensor.
    pub fn scalar(v: f64) -> Self {
        Self {
            shape: Vec::new(),
            data: vec![v],
        }
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The same shape with every element mapped by `f`.
    #[must_use]
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Self {
        Self {
            shape: self.shape.clone(),
            data: self.data.iter().map(|&v| f(v)).collect(),
        }
    }
}

/// Product of the dimensions, failing above [`MAX_ELEMENTS`].
pub fn numel_checked(shape: &[usize]) -> OpResult<usize> {
    let mut n: usize = 1;
    for &d in shape {
        n = n
            .checked_mul(d)
            .filter(|&n| n <= MAX_ELEMENTS)
            .ok_or_else(|| OpError(format!("shape {shape:?} exceeds {MAX_ELEMENTS} elements")))?;
    }
    Ok(n)
}

/// The numpy/torch broadcast shape of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> OpResult<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(OpError(format!(
                "shapes {a:?} and {b:?} cannot be broadcast together"
            )));
        };
    }
    numel_checked(&out)?;
    Ok(out)
}

/// Row-major strides of `shape` seen through the broadcast `out` shape (0 where broadcast).
fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; out.len()];
    let off = out.len() - shape.len();
    let mut s = 1;
    for i in (0..shape.len()).rev() {
        strides[off + i] = if shape[i] == 1 { 0 } else { s };
        s *= shape[i];
    }
    strides
}

/// Visit the flat positions in `a` and `b` of every element of the broadcast shape `out`, in
/// row-major order.
pub fn for_each_broadcast(
    a: &[usize],
    b: &[usize],
    out: &[usize],
    mut f: impl FnMut(usize, usize),
) {
    let sa = broadcast_strides(a, out);
    let sb = broadcast_strides(b, out);
    let total: usize = out.iter().product();
    if total == 0 {
        return;
    }
    let nd = out.len();
    let mut idx = vec![0usize; nd];
    let (mut ia, mut ib) = (0usize, 0usize);
    for _ in 0..total {
        f(ia, ib);
        for d in (0..nd).rev() {
            idx[d] += 1;
            ia += sa[d];
            ib += sb[d];
            if idx[d] < out[d] {
                break;
            }
            ia -= sa[d] * out[d];
            ib -= sb[d] * out[d];
            idx[d] = 0;
        }
    }
}

/// Element-wise binary operation with broadcasting.
pub fn zip_broadcast(a: &Tensor, b: &Tensor, f: impl Fn(f64, f64) -> f64) -> OpResult<Tensor> {
    if a.shape == b.shape {
        return Ok(Tensor {
            shape: a.shape.clone(),
            data: a.data.iter().zip(&b.data).map(|(&x, &y)| f(x, y)).collect(),
        });
    }
    let out = broadcast_shapes(&a.shape, &b.shape)?;
    if b.numel() == 1 && out == a.shape {
        let y = b.data[0];
        return Ok(a.map(|x| f(x, y)));
    }
    if a.numel() == 1 && out == b.shape {
        let x = a.data[0];
        return Ok(b.map(|y| f(x, y)));
    }
    let mut data = Vec::with_capacity(out.iter().product());
    for_each_broadcast(&a.shape, &b.shape, &out, |i, j| {
        data.push(f(a.data[i], b.data[j]));
    });
    Ok(Tensor { shape: out, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting() {
        let a = Tensor::new(vec![2, 1, 3], (0..6).map(f64::from).collect()).unwrap();
        let b = Tensor::new(vec![4, 1], (0..4).map(|v| f64::from(v) * 10.0).collect()).unwrap();
        let c = zip_broadcast(&a, &b, |x, y| x + y).unwrap();
        assert_eq!(c.shape, vec![2, 4, 3]);
        assert_eq!(c.data[0..6], [0.0, 1.0, 2.0, 10.0, 11.0, 12.0]);
        assert_eq!(c.data[12..15], [3.0, 4.0, 5.0]);
        assert!(broadcast_shapes(&[2, 3], &[3, 2]).is_err());
        assert_eq!(broadcast_shapes(&[], &[0, 2]).unwrap(), vec![0, 2]);
        assert!(Tensor::new(vec![2], vec![1.0]).is_err());
        assert!(numel_checked(&[1 << 20, 1 << 20]).is_err());
    }
}
