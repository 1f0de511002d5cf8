//! Barron's power transform (SPEC.md section 1): squashes metric depth d in [0, inf) into f in [0, 1).
//!
//! ```text
//! f(d; lam, c) = 1 - (1 - d / (lam c)) ^ (lam + 1),     lam < -1, c > 0
//! d(f; lam, c) = lam c (1 - (1 - f) ^ (1 / (lam + 1)))
//! ```

use ndarray::{ArrayD, ArrayViewD, Zip};

use crate::depth::{DecodedSample, DepthSample};
use crate::error::{Error, Result};
use crate::rows::PARALLEL_MIN_PIXELS;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerTransform {
    lam: f64,
    c: f64,
}

impl Default for PowerTransform {
    fn default() -> Self {
        PowerTransform {
            lam: -3.0,
            c: 10.0 / 3.0,
        }
    }
}

impl PowerTransform {
    /// Checks the parameters: the transform maps [0, inf) onto [0, 1) only for lam < -1 and c > 0.
    pub fn new(lam: f64, c: f64) -> Result<Self> {
        if !(lam.is_finite() && lam < -1.0) {
            return Err(Error::new(
                "lam",
                format!("lam must be a finite number below -1, got {lam}"),
            ));
        }
        if !(c.is_finite() && c > 0.0) {
            return Err(Error::new(
                "c",
                format!("c must be a finite number above 0, got {c}"),
            ));
        }
        Ok(PowerTransform { lam, c })
    }

    pub fn lam(&self) -> f64 {
        self.lam
    }

    pub fn c(&self) -> f64 {
        self.c
    }

    /// Depth in metres to the normalised scalar. Written exactly as the formula (and as the
    /// `hilbertmap` reference), so both agree to the last few bits.
    #[inline(always)]
    pub fn forward(&self, d: f64) -> f64 {
        1.0 - (1.0 - d / (self.lam * self.c)).powf(self.lam + 1.0)
    }

    /// Normalised scalar back to depth in metres; f = 1 gives infinity.
    #[inline(always)]
    pub fn inverse(&self, f: f64) -> f64 {
        self.lam * self.c * (1.0 - (1.0 - f).powf(1.0 / (self.lam + 1.0)))
    }

    /// Applies the transform (or its inverse) to every element of an array of any shape.
    pub fn map<T: DepthSample + DecodedSample>(
        &self,
        x: ArrayViewD<T>,
        inverse: bool,
    ) -> ArrayD<T> {
        let mut out = ArrayD::from_elem(x.raw_dim(), T::from_f64(0.0));
        let zip = Zip::from(&mut out).and(&x);
        let apply = |o: &mut T, &v: &T| {
            let v = v.to_f64();
            *o = T::from_f64(if inverse {
                self.inverse(v)
            } else {
                self.forward(v)
            });
        };
        if x.len() >= PARALLEL_MIN_PIXELS {
            zip.par_for_each(apply);
        } else {
            zip.for_each(apply);
        }
        out
    }

    /// True for lam = -3 (the default), where `forward_squared` applies.
    pub fn has_square_exponent(&self) -> bool {
        self.lam == -3.0
    }

    /// `forward` for lam = -3 without the generic `powf`, so that the encoder's inner loop can be
    /// vectorised. Agrees with `forward` to a few ulps; only valid when `has_square_exponent`.
    #[inline(always)]
    pub fn forward_squared(&self, d: f64) -> f64 {
        // A product with the reciprocal, not a division: one division per pixel is enough.
        let x = 1.0 - d * (1.0 / (self.lam * self.c));
        1.0 - 1.0 / (x * x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_closed_form() {
        let t = PowerTransform::default();
        for d in [0.0, 0.5, 1.0, 3.0, 10.0, 80.0, 1000.0] {
            let closed = 1.0 - (1.0 + d / 10.0f64).powi(-2);
            assert!((t.forward(d) - closed).abs() < 1e-15, "d = {d}");
            assert!((t.inverse(t.forward(d)) - d).abs() <= 1e-12 * d.max(1.0));
        }
        assert_eq!(t.inverse(1.0), f64::INFINITY);
        assert_eq!(t.forward(0.0), 0.0);
    }

    #[test]
    fn rejects_bad_parameters() {
        assert_eq!(PowerTransform::new(-1.0, 1.0).unwrap_err().argument, "lam");
        assert_eq!(
            PowerTransform::new(f64::NAN, 1.0).unwrap_err().argument,
            "lam"
        );
        assert_eq!(PowerTransform::new(-3.0, 0.0).unwrap_err().argument, "c");
        assert_eq!(
            PowerTransform::new(-3.0, f64::INFINITY)
                .unwrap_err()
                .argument,
            "c"
        );
        assert!(PowerTransform::new(-1.5, 1e-3).is_ok());
    }

    #[test]
    fn fast_forward_agrees_with_powf() {
        let t = PowerTransform::default();
        assert!(t.has_square_exponent());
        for i in 0..10_000 {
            let d = i as f64 * 0.037;
            assert!((t.forward_squared(d) - t.forward(d)).abs() < 1e-15);
        }
    }
}
