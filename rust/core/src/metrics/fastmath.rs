//! `ln` and `acos` in plain arithmetic, so that LLVM vectorises the metric loops around them
//! (libm calls stay scalar). Both are accurate to a few units in the last place of an f64.

/// 2^52 as an f64: adding it to a small integer's bits turns them into that integer's value.
const TWO_52: f64 = 4_503_599_627_370_496.0;

/// Natural logarithm of a positive, finite, normal `x`.
///
/// x = m 2^e with m in [sqrt(1/2), sqrt(2)), and ln m = 2 atanh(s) with s = (m - 1) / (m + 1),
/// |s| <= 0.172, from its odd series (11 terms reach 1e-17).
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    let exponent_bits = (bits >> 52) & 0x7ff;
    let mantissa = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let high = mantissa > std::f64::consts::SQRT_2;
    let m = if high { mantissa * 0.5 } else { mantissa };
    // The exponent field as a float without an int-to-float conversion (none in AVX2 for i64).
    let e = f64::from_bits(0x4330_0000_0000_0000 | exponent_bits) - TWO_52 - 1023.0
        + if high { 1.0 } else { 0.0 };
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let mut series = 1.0 / 21.0;
    for k in (0..10).rev() {
        series = series * z + 1.0 / (2 * k + 1) as f64;
    }
    e * std::f64::consts::LN_2 + 2.0 * s * series
}

/// Coefficients of asin(t) / t as a series in t^2: (2k)! / (4^k (k!)^2 (2k + 1)).
const ASIN_SERIES: [f64; 20] = {
    let mut c = [0.0; 20];
    let mut central = 1.0; // (2k)! / (4^k (k!)^2)
    let mut k = 0;
    while k < 20 {
        c[k] = central / (2 * k + 1) as f64;
        central *= (2 * k + 1) as f64 / (2 * k + 2) as f64;
        k += 1;
    }
    c
};

/// Arc cosine in degrees of `x` in [-1, 1].
///
/// With u = sin^2(a / 2) = (1 - x) / 2, two halvings sin^2(a / 2^(k+1)) = u / (2 (1 + sqrt(1 - u)))
/// (no cancellation) bring the angle to at most 22.5 degrees, where the asin series converges
/// fast (20 terms reach 1e-17): a = 8 asin(sqrt(u)).
///
/// The loops use [`acos_degrees_lanes`]; this scalar form is the reference in the tests.
#[cfg(test)]
pub fn acos_degrees(x: f64) -> f64 {
    let mut u = (1.0 - x) * 0.5;
    for _ in 0..2 {
        u = u / (2.0 * (1.0 + (1.0 - u).sqrt()));
    }
    let mut series = 0.0;
    for c in ASIN_SERIES.iter().rev() {
        series = series * u + c;
    }
    (8.0 * u.sqrt() * series * (180.0 / std::f64::consts::PI)).min(180.0)
}

/// [`acos_degrees`] of `N` values at once: the loops run over the lanes innermost, so that each
/// step is one vector instruction however long the series (a per-value call inside a loop over the
/// lanes is too big for LLVM to unroll, and stays scalar).
#[inline(always)]
pub fn acos_degrees_lanes<const N: usize>(x: [f64; N]) -> [f64; N] {
    let mut u = x.map(|x| (1.0 - x) * 0.5);
    for _ in 0..2 {
        u = u.map(|u| u / (2.0 * (1.0 + (1.0 - u).sqrt())));
    }
    let mut series = [0.0; N];
    for c in ASIN_SERIES.iter().rev() {
        for (s, u) in series.iter_mut().zip(u) {
            *s = *s * u + c;
        }
    }
    let mut out = [0.0; N];
    for ((o, s), u) in out.iter_mut().zip(series).zip(u) {
        *o = (8.0 * u.sqrt() * s * (180.0 / std::f64::consts::PI)).min(180.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_matches_std() {
        for &x in &[
            1e-300f64,
            1e-3,
            0.5,
            std::f64::consts::FRAC_1_SQRT_2 * 0.999,
            std::f64::consts::FRAC_1_SQRT_2 * 1.001,
            1.0,
            1.0 + 1e-12,
            std::f64::consts::SQRT_2 * 0.999,
            std::f64::consts::SQRT_2 * 1.001,
            2.0,
            3.7,
            1e5,
            1e300,
        ] {
            let want = x.ln();
            assert!(
                (ln(x) - want).abs() <= 4e-16 * want.abs().max(1.0),
                "{x}: {} vs {want}",
                ln(x)
            );
        }
    }

    #[test]
    fn acos_matches_std() {
        for i in 0..=20_000 {
            let x = -1.0 + i as f64 / 10_000.0;
            let want = x.acos().to_degrees();
            assert_eq!(acos_degrees_lanes([x; 4]), [acos_degrees(x); 4]);
            assert!(
                (acos_degrees(x) - want).abs() < 1e-11,
                "{x}: {} vs {want}",
                acos_degrees(x)
            );
        }
        for &x in &[1.0f64 - 1e-15, 1.0 - 1e-9, -1.0 + 1e-12] {
            let want = x.acos().to_degrees();
            assert!(
                (acos_degrees(x) - want).abs() < 1e-9 * want.max(1e-3),
                "{x}"
            );
        }
    }
}
