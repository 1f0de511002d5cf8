//! The element types of pictures and decoded arrays, and how each maps to the unit range: the
//! dtype says the range (uint8 0-255, uint16 0-65535, floats 0-1), never the values.

/// A channel type of an input picture: its value range is fixed by the type.
pub trait PictureSample: Copy + Send + Sync + 'static {
    /// Full-scale value: 255, 65535, or 1 for floats.
    const MAX: f64;
    fn to_unit(self) -> f64;

    /// The value in 8-bit units, [0, 255] (exact for 8-bit samples).
    #[inline(always)]
    fn to_8bit(self) -> f64 {
        self.to_unit() * 255.0
    }

    /// `to_unit` in f32, for decoders whose output is f32 (a product, not a division).
    #[inline(always)]
    fn to_unit_f32(self) -> f32 {
        self.to_unit() as f32
    }

    /// The samples as bytes when they are 8-bit, for decoders with a byte fast path.
    #[inline(always)]
    fn as_bytes(_values: &[Self]) -> Option<&[u8]> {
        None
    }
}

impl PictureSample for u8 {
    const MAX: f64 = 255.0;
    #[inline(always)]
    fn to_unit(self) -> f64 {
        self as f64 / 255.0
    }

    #[inline(always)]
    fn to_8bit(self) -> f64 {
        self as f64
    }

    #[inline(always)]
    fn as_bytes(values: &[u8]) -> Option<&[u8]> {
        Some(values)
    }

    #[inline(always)]
    fn to_unit_f32(self) -> f32 {
        self as f32 * (1.0 / 255.0)
    }
}

impl PictureSample for u16 {
    const MAX: f64 = 65535.0;
    #[inline(always)]
    fn to_unit(self) -> f64 {
        self as f64 / 65535.0
    }

    #[inline(always)]
    fn to_unit_f32(self) -> f32 {
        self as f32 * (1.0 / 65535.0)
    }
}

impl PictureSample for f32 {
    const MAX: f64 = 1.0;
    #[inline(always)]
    fn to_unit(self) -> f64 {
        self as f64
    }
}

impl PictureSample for f64 {
    const MAX: f64 = 1.0;
    #[inline(always)]
    fn to_unit(self) -> f64 {
        self
    }
}

/// A channel type the encoder writes: integers are rounded to nearest from the unit range.
pub trait EncodedSample: Copy + Send + Sync + Default + 'static {
    /// Levels per cube-walk edge when few enough to tabulate the walk's colours.
    const WALK_STEPS: Option<u32> = None;
    fn from_unit(x: f64) -> Self;
}

impl EncodedSample for u8 {
    const WALK_STEPS: Option<u32> = Some(255);
    #[inline(always)]
    fn from_unit(x: f64) -> Self {
        round_to_level(x, 255.0) as u8
    }
}

impl EncodedSample for u16 {
    #[inline(always)]
    fn from_unit(x: f64) -> Self {
        round_to_level(x, 65535.0) as u16
    }
}

/// Nearest integer level of x in [0, 1] scaled to [0, top] (NaN gives 0). Clamped first, so the
/// conversion needs no saturation logic and vectorises (a saturating `as` cast does not).
#[inline(always)]
pub(crate) fn round_to_level(x: f64, top: f64) -> i32 {
    let level = (x * top + 0.5).max(0.0).min(top);
    // SAFETY: `level` is finite and within [0, top], top <= 65535, so it fits an i32.
    unsafe { level.to_int_unchecked::<i32>() }
}

impl EncodedSample for f32 {
    #[inline(always)]
    fn from_unit(x: f64) -> Self {
        x as f32
    }
}

impl EncodedSample for f64 {
    #[inline(always)]
    fn from_unit(x: f64) -> Self {
        x
    }
}

/// A decoded scalar type: depth in f32 for pictures, f64 for the `hilbertmap` compatible API.
pub trait DecodedSample: Copy + Send + Sync + 'static {
    fn from_f64(x: f64) -> Self;
}

impl DecodedSample for f32 {
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
}

impl DecodedSample for f64 {
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
}

/// An input depth (or scalar) type.
pub trait DepthSample: Copy + Send + Sync + 'static {
    fn to_f64(self) -> f64;
}

impl DepthSample for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl DepthSample for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
}

/// A label map element type: uint8 up to 256 labels, uint16 beyond.
pub trait LabelSample: Copy + Send + Sync + Default + 'static {
    /// Truncating conversion: the caller guarantees the value fits.
    fn from_u32(x: u32) -> Self;
}

impl LabelSample for u8 {
    #[inline(always)]
    fn from_u32(x: u32) -> Self {
        x as u8
    }
}

impl LabelSample for u16 {
    #[inline(always)]
    fn from_u32(x: u32) -> Self {
        x as u16
    }
}
