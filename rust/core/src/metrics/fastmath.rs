//! `ln(p / g)` and `atan2` in plain arithmetic, so that LLVM vectorises the metric loops around them
//! (libm calls stay scalar). Both are accurate to a few units in the last place of an f64.

/// 2^52 as an f64: adding it to a small integer's bits turns them into that integer's value.
const TWO_52: f64 = 4_503_599_627_370_496.0;

/// x = m 2^e for a positive, finite, normal `x`: (m in [1, 2), e as a float, the exponent field).
#[inline(always)]
fn split(x: f64) -> (f64, f64, u64) {
    let bits = x.to_bits();
    let exponent_bits = (bits >> 52) & 0x7ff;
    let mantissa = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    // The exponent field as a float without an int-to-float conversion (none in AVX2 for i64).
    let e = f64::from_bits(0x4330_0000_0000_0000 | exponent_bits) - TWO_52 - 1023.0;
    (mantissa, e, exponent_bits)
}

/// (ln(p / g), 1 / g) for positive, finite, normal `p` and `g`, with a single division.
///
/// p / g = (mp / mg) 2^(ep - eg) with mantissas mp, mg in [1, 2); mp is halved or doubled
/// (exactly) so that m = mp / mg lies in [sqrt(1/2), sqrt(2)), and ln m = 2 atanh(s) with
/// s = (mp - mg) / (mp + mg), |s| <= 0.172, from [`LN_SERIES`]. The one
/// division D = 1 / (mg (mp + mg)) gives both 1 / (mp + mg) = mg D and 1 / mg = (mp + mg) D:
/// divisions are what the depth loop waits on.
#[inline(always)]
pub fn ln_ratio(p: f64, g: f64) -> (f64, f64) {
    let (mp, ep, _) = split(p);
    let (mg, eg, g_exponent_bits) = split(g);
    let high = mp > std::f64::consts::SQRT_2 * mg;
    let low = mp * std::f64::consts::SQRT_2 < mg;
    let mp = if high {
        mp * 0.5
    } else if low {
        mp * 2.0
    } else {
        mp
    };
    let e = ep - eg + if high { 1.0 } else { 0.0 } - if low { 1.0 } else { 0.0 };
    let sum = mp + mg;
    let d = 1.0 / (mg * sum);
    let s = (mp - mg) * (mg * d);
    let ln_m = s * ln_series(s * s);
    // 1 / g = (1 / mg) 2^-eg, as ((1 / mg) 2^(1 - eg)) / 2: 2^(1 - eg) is a normal float for every
    // normal g (exponent field 2047 - field of g, in [1, 2046]).
    let scale = f64::from_bits((2047 - g_exponent_bits) << 52);
    let inv_g = sum * d * scale * 0.5;
    (e * std::f64::consts::LN_2 + ln_m, inv_g)
}

/// The largest |s| of [`ln_ratio`]'s series: m = p / g in [sqrt(1/2), sqrt(2)], s = (m - 1) / (m + 1).
pub const LN_S_MAX: f64 = 0.171_572_875_253_809_9; // 3 - 2 sqrt(2)

/// ln((1 + s) / (1 - s)) = 2 atanh(s) = s P(s^2) for |s| <= [`LN_S_MAX`], to within 2^-58.45
/// relative: P(z) = 2 + z R(z) with fdlibm's minimax `Lg1`..`Lg7` (e_log.c), lowest degree first.
pub const LN_SERIES: [f64; 8] = [
    2.0,
    6.666_666_666_666_735e-1,
    3.999_999_999_940_942e-1,
    2.857_142_874_366_239e-1,
    2.222_219_843_214_978_4e-1,
    1.818_357_216_161_805e-1,
    1.531_383_769_920_937_3e-1,
    1.479_819_860_511_658_6e-1,
];

/// P(z) of [`LN_SERIES`] in Estrin's form: a dependency chain of 4 steps instead of Horner's 7, so
/// that the pixels in flight overlap (the loop is latency-bound otherwise).
#[inline(always)]
fn ln_series(z: f64) -> f64 {
    let c = LN_SERIES;
    let (z2, z4) = (z * z, z * z * (z * z));
    let q = |k: usize| c[k] + c[k + 1] * z;
    (q(0) + q(2) * z2) + (q(4) + q(6) * z2) * z4
}

/// fdlibm's `atan` polynomial (s_atan.c, `aT`): atan(u) = u - u (z S1(w) + w S2(w)), z = u^2,
/// w = z^2, for |u| < 0.4375, to within one ulp; S1 takes the even-indexed coefficients, S2 the
/// odd ones, lowest degree first.
pub const ATAN_SERIES: [f64; 11] = [
    3.333_333_333_333_293e-1,
    -1.999_999_999_987_648_3e-1,
    1.428_571_427_250_346_6e-1,
    -1.111_111_040_546_235_6e-1,
    9.090_887_133_436_507e-2,
    -7.691_876_205_044_83e-2,
    6.661_073_137_387_531e-2,
    -5.833_570_133_790_573_5e-2,
    4.976_877_994_615_932_4e-2,
    -3.653_157_274_421_691_6e-2,
    1.628_582_011_536_578_2e-2,
];

/// tan(pi / 8): above it, a / b is reduced to (a - b) / (a + b) in (-tan(pi / 8), 0].
pub const TAN_PI_8: f64 = 0.414_213_562_373_095_03;

/// atan2(y, x) in degrees, in [0, 180], of `N` pairs with y >= 0 (not both zero).
///
/// The angle between two vectors as atan2(|p x g|, p . g) costs one square root and one division,
/// where acos of the normalised dot product takes more of both (and loses accuracy near 0 and 180
/// degrees). With a = min(y, |x|) <= b = max(y, |x|), atan(a / b) is in [0, 45] degrees; above
/// a / b = tan(22.5 degrees) it is 45 degrees + atan((a - b) / (a + b)), so that |u| stays below
/// 0.4375, where fdlibm's polynomial needs no division.
#[inline(always)]
pub fn atan2_degrees_lanes<const N: usize>(y: [f64; N], x: [f64; N]) -> [f64; N] {
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};
    let mut out = [0.0; N];
    for l in 0..N {
        let (y, x) = (y[l], x[l]);
        let ax = x.abs();
        let (a, b) = (y.min(ax), y.max(ax));
        let big = a > TAN_PI_8 * b;
        let u = if big { a - b } else { a } / if big { a + b } else { b };
        let (z, c) = (u * u, ATAN_SERIES);
        let w = z * z;
        let s1 = c[0] + w * (c[2] + w * (c[4] + w * (c[6] + w * (c[8] + w * c[10]))));
        let s2 = c[1] + w * (c[3] + w * (c[5] + w * (c[7] + w * c[9])));
        let t = if big { FRAC_PI_4 } else { 0.0 } + (u - u * (z * s1 + w * s2));
        let t = if y > ax { FRAC_PI_2 - t } else { t };
        let t = if x < 0.0 { PI - t } else { t };
        out[l] = (t * (180.0 / PI)).min(180.0);
    }
    out
}

/// The AVX2 + FMA pieces the metric kernels share.
#[cfg(target_arch = "x86_64")]
pub mod avx2 {
    use std::arch::x86_64::*;

    /// Whether the AVX2 + FMA kernels may run here.
    pub fn available() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    /// Four bools as all-ones / all-zeros lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub fn mask(v: &[bool]) -> __m256d {
        let bytes = u32::from_le_bytes([v[0], v[1], v[2], v[3]].map(u8::from));
        let ones = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(bytes as i32));
        _mm256_castsi256_pd(_mm256_sub_epi64(_mm256_setzero_si256(), ones))
    }

    /// The four lanes of `x`, lowest first.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub fn lanes(x: __m256d) -> [f64; 4] {
        let (low, high) = (_mm256_castpd256_pd128(x), _mm256_extractf128_pd::<1>(x));
        [
            _mm_cvtsd_f64(low),
            _mm_cvtsd_f64(_mm_unpackhi_pd(low, low)),
            _mm_cvtsd_f64(high),
            _mm_cvtsd_f64(_mm_unpackhi_pd(high, high)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_ratio_matches_std() {
        let values = [
            1e-300f64,
            1e-3,
            0.5,
            std::f64::consts::FRAC_1_SQRT_2 * 0.999,
            std::f64::consts::FRAC_1_SQRT_2 * 1.001,
            1.0,
            1.0 + 1e-12,
            std::f64::consts::SQRT_2 * 0.999,
            std::f64::consts::SQRT_2 * 1.001,
            1.9999,
            2.0,
            3.7,
            1e5,
            1e300,
            f64::MAX,
        ];
        for &p in &values {
            for &g in &values {
                let (d, inv_g) = ln_ratio(p, g);
                let want = p.ln() - g.ln();
                let scale = p.ln().abs().max(g.ln().abs()).max(1.0);
                assert!((d - want).abs() <= 4e-16 * scale, "{p} {g}: {d} vs {want}");
                assert!((inv_g * g - 1.0).abs() <= 4e-16, "{g}: {inv_g}");
            }
        }
    }

    #[test]
    fn atan2_matches_std() {
        let mut worst = 0.0f64;
        for i in 0..=40_000 {
            let a = std::f64::consts::PI * i as f64 / 40_000.0;
            for r in [1e-3, 1.0, 7.5] {
                let (y, x) = (r * a.sin().abs(), r * a.cos());
                let want = y.atan2(x).to_degrees();
                let got = atan2_degrees_lanes([y; 4], [x; 4])[0];
                worst = worst.max((got - want).abs());
            }
        }
        assert!(worst < 1e-13, "{worst}");
        assert_eq!(atan2_degrees_lanes([0.0], [-2.0]), [180.0]);
        assert_eq!(atan2_degrees_lanes([0.0], [2.0]), [0.0]);
        assert_eq!(
            atan2_degrees_lanes([1e-30], [2.0])[0],
            (5e-31f64).to_degrees()
        );
    }
}
