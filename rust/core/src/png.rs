//! PNG files to sample arrays and back, with the `png` crate (image-rs).
//!
//! Reading returns the stored sample values, untouched: 8-bit files as bytes, 16-bit files as
//! 16-bit samples with all 16 bits. Grey of 1, 2 or 4 bits is scaled to 0..255 (as the PNG
//! standard prescribes), palettes are looked up, and the caller picks the channels: RGB, RGBA
//! (alpha from the file's alpha channel, its `tRNS` transparent colour, or opaque) or the stored
//! ones. A corrupt, truncated or oversized file is a [`ReadError`], never a panic, and the size
//! is checked against a pixel limit before any pixel memory is taken, so that a header claiming
//! 65535 x 65535 pixels over a tiny body costs nothing.

use std::fmt;
use std::io::Cursor;

use png::{BitDepth, ColorType, Transformations};

/// The first 8 bytes of every PNG file.
pub const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// Whether `data` starts like a PNG file.
pub fn is_png(data: &[u8]) -> bool {
    data.starts_with(&SIGNATURE)
}

/// Which channels to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    /// Three: grey is replicated, palettes expanded, alpha dropped.
    Rgb,
    /// Four: alpha from the file's alpha channel or transparent colour, else opaque.
    Rgba,
    /// The stored ones: 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA); palettes as RGB, or RGBA
    /// when the palette has transparency.
    Keep,
}

impl Channels {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "rgb" => Some(Channels::Rgb),
            "rgba" => Some(Channels::Rgba),
            "keep" => Some(Channels::Keep),
            _ => None,
        }
    }
}

/// Decoded samples, row-major `(height, width, channels)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Samples {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

/// A decoded picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub samples: Samples,
}

/// Why a PNG could not be read (the caller adds which file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The data does not start with the PNG signature.
    NotPng,
    /// The header asks for more pixels than the limit allows.
    TooLarge { width: u32, height: u32, limit: u64 },
    /// Anything the decoder found wrong: a bad CRC, a cut-off stream, a bad header...
    Corrupt(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotPng => f.write_str("not a PNG file"),
            ReadError::TooLarge {
                width,
                height,
                limit,
            } => write!(
                f,
                "image size ({width} x {height} = {} pixels) exceeds the limit of {limit} \
                 pixels, could be a decompression bomb",
                u64::from(*width) * u64::from(*height)
            ),
            ReadError::Corrupt(why) => write!(f, "corrupt or truncated PNG data ({why})"),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<png::DecodingError> for ReadError {
    fn from(error: png::DecodingError) -> Self {
        let why = match error {
            // The crate says "unexpected end of file" through io::Error; name the case plainly.
            png::DecodingError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                "the file is cut short".to_string()
            }
            other => other.to_string(),
        };
        ReadError::Corrupt(why)
    }
}

/// Reads PNG `data` into the channels asked for. `max_pixels` (width x height) is checked before
/// anything the size of the picture is allocated.
pub fn read(data: &[u8], channels: Channels, max_pixels: u64) -> Result<Image, ReadError> {
    if !is_png(data) {
        return Err(ReadError::NotPng);
    }
    let mut decoder = png::Decoder::new(Cursor::new(data));
    decoder.set_transformations(Transformations::IDENTITY);
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let header = decoder.read_header_info()?;
    let (width, height) = (header.width, header.height);
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ReadError::TooLarge {
            width,
            height,
            limit: max_pixels,
        });
    }
    let mut reader = decoder.read_info()?;
    let buffer_size = reader
        .output_buffer_size()
        .ok_or_else(|| ReadError::Corrupt("the image is too large to address".into()))?;
    let mut raw = vec![0u8; buffer_size];
    let frame = reader.next_frame(&mut raw)?;
    let info = reader.info();
    let layout = Layout {
        width: width as usize,
        height: height as usize,
        row_bytes: frame.line_size,
        bit_depth: info.bit_depth,
        colour: info.color_type,
    };
    let trns = info.trns.as_deref();
    if info.color_type == ColorType::Indexed {
        let palette = info
            .palette
            .as_deref()
            .ok_or_else(|| ReadError::Corrupt("a palette image without a PLTE chunk".into()))?;
        return Ok(expand_palette(&layout, &raw, palette, trns, channels));
    }
    // The common case, 8-bit RGB read as RGB: the decoded buffer is the answer.
    if layout.bit_depth == BitDepth::Eight
        && layout.colour == ColorType::Rgb
        && channels != Channels::Rgba
    {
        raw.truncate(layout.height * layout.width * 3);
        return Ok(layout.image(3, Samples::U8(raw)));
    }
    let stored = layout.stored_channels();
    Ok(match layout.bit_depth {
        BitDepth::Sixteen => {
            let samples: Vec<u16> = raw[..layout.height * layout.row_bytes]
                .chunks_exact(2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .collect();
            let key = transparent_key(layout.colour, trns, true, u16::MAX);
            select(&layout, samples, stored, key, channels, Samples::U16)
        }
        BitDepth::Eight => {
            raw.truncate(layout.height * layout.row_bytes);
            let key = transparent_key(layout.colour, trns, false, 255);
            select(&layout, raw, stored, key, channels, Samples::U8)
        }
        low => {
            // Only grey can have fewer than 8 bits (palettes were handled above).
            let bits = low as u8;
            let grey = unpack_bits(&layout, &raw, bits, true);
            let key = transparent_key(layout.colour, trns, false, (1 << bits) - 1)
                .map(|k| k.map(|v| v * (255 / ((1 << bits) - 1))));
            select(&layout, grey, 1, key, channels, Samples::U8)
        }
    })
}

struct Layout {
    width: usize,
    height: usize,
    /// Bytes per decoded row (packed bits for depths under 8).
    row_bytes: usize,
    bit_depth: BitDepth,
    colour: ColorType,
}

impl Layout {
    fn stored_channels(&self) -> usize {
        match self.colour {
            ColorType::Grayscale | ColorType::Indexed => 1,
            ColorType::GrayscaleAlpha => 2,
            ColorType::Rgb => 3,
            ColorType::Rgba => 4,
        }
    }

    fn image(&self, channels: usize, samples: Samples) -> Image {
        Image {
            height: self.height,
            width: self.width,
            channels,
            samples,
        }
    }
}

/// A sample type of a decoded picture.
trait Sample: Copy + PartialEq + Default {
    const OPAQUE: Self;
    fn from_u16(v: u16) -> Self;
}

impl Sample for u8 {
    const OPAQUE: Self = u8::MAX;
    fn from_u16(v: u16) -> Self {
        v as u8
    }
}

impl Sample for u16 {
    const OPAQUE: Self = u16::MAX;
    fn from_u16(v: u16) -> Self {
        v
    }
}

/// The transparent colour of a grey or RGB file (`tRNS`; the `png` crate keeps one byte per value
/// for files under 16 bits, two big-endian bytes for 16-bit ones), as samples: one value for grey,
/// three for RGB; None when there is none or a value exceeds `top`, the largest stored sample (no
/// pixel can then match).
fn transparent_key(
    colour: ColorType,
    trns: Option<&[u8]>,
    wide: bool,
    top: u16,
) -> Option<[u16; 3]> {
    let trns = trns?;
    let value = |i: usize| match wide {
        true => trns
            .get(2 * i..2 * i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]])),
        false => trns.get(i).map(|&b| u16::from(b)),
    };
    let key = match colour {
        ColorType::Grayscale => {
            let v = value(0)?;
            [v, v, v]
        }
        ColorType::Rgb => [value(0)?, value(1)?, value(2)?],
        _ => return None,
    };
    key.iter().all(|&v| v <= top).then_some(key)
}

/// Picks `channels` out of `stored` samples per pixel (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA).
fn select<T: Sample>(
    layout: &Layout,
    samples: Vec<T>,
    stored: usize,
    key: Option<[u16; 3]>,
    channels: Channels,
    wrap: fn(Vec<T>) -> Samples,
) -> Image {
    let out_channels = match channels {
        Channels::Keep => stored,
        Channels::Rgb => 3,
        Channels::Rgba => 4,
    };
    if out_channels == stored {
        return layout.image(stored, wrap(samples));
    }
    let key = key.map(|k| k.map(T::from_u16));
    let pixels = samples.chunks_exact(stored);
    let mut out = Vec::with_capacity(layout.height * layout.width * out_channels);
    for p in pixels {
        let (colour, alpha) = match stored {
            1 => (
                [p[0]; 3],
                key.map_or(T::OPAQUE, |k| transparent_if(p[0] == k[0])),
            ),
            2 => ([p[0]; 3], p[1]),
            3 => {
                let rgb = [p[0], p[1], p[2]];
                (rgb, key.map_or(T::OPAQUE, |k| transparent_if(rgb == k)))
            }
            _ => ([p[0], p[1], p[2]], p[3]),
        };
        out.extend_from_slice(&colour);
        if out_channels == 4 {
            out.push(alpha);
        }
    }
    layout.image(out_channels, wrap(out))
}

fn transparent_if<T: Sample>(matches: bool) -> T {
    if matches {
        T::default()
    } else {
        T::OPAQUE
    }
}

/// The samples of a picture of 1, 2 or 4 bits per sample, one per byte; grey is scaled to 0..255
/// when `scale`, palette indices are left as they are.
fn unpack_bits(layout: &Layout, raw: &[u8], bits: u8, scale: bool) -> Vec<u8> {
    let per_byte = usize::from(8 / bits);
    let mask = (1u8 << bits) - 1;
    let factor = if scale { 255 / mask } else { 1 };
    let mut out = Vec::with_capacity(layout.width * layout.height);
    for row in raw.chunks_exact(layout.row_bytes).take(layout.height) {
        out.extend((0..layout.width).map(|x| {
            let shift = 8 - bits * (1 + (x % per_byte) as u8);
            ((row[x / per_byte] >> shift) & mask) * factor
        }));
    }
    out
}

/// A palette picture as RGB, or RGBA when asked for or (for `Keep`) when the palette has
/// transparency. Indices past the end of the palette read as opaque black.
fn expand_palette(
    layout: &Layout,
    raw: &[u8],
    palette: &[u8],
    trns: Option<&[u8]>,
    channels: Channels,
) -> Image {
    let alpha = match channels {
        Channels::Rgb => false,
        Channels::Rgba => true,
        Channels::Keep => trns.is_some(),
    };
    let mut table = [[0u8, 0, 0, 255]; 256];
    for (i, rgb) in palette.chunks_exact(3).take(256).enumerate() {
        table[i] = [
            rgb[0],
            rgb[1],
            rgb[2],
            trns.and_then(|t| t.get(i)).map_or(255, |&a| a),
        ];
    }
    let indices = match layout.bit_depth {
        BitDepth::Eight => std::borrow::Cow::Borrowed(&raw[..layout.width * layout.height]),
        low => std::borrow::Cow::Owned(unpack_bits(layout, raw, low as u8, false)),
    };
    let out_channels = if alpha { 4 } else { 3 };
    let mut out = Vec::with_capacity(indices.len() * out_channels);
    for &i in indices.iter() {
        out.extend_from_slice(&table[usize::from(i)][..out_channels]);
    }
    layout.image(out_channels, Samples::U8(out))
}

/// How hard to compress when writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Fastest,
    Fast,
    Balanced,
    High,
}

impl Compression {
    pub const NAMES: [&'static str; 5] = ["none", "fastest", "fast", "balanced", "high"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Compression::None),
            "fastest" => Some(Compression::Fastest),
            "fast" => Some(Compression::Fast),
            "balanced" => Some(Compression::Balanced),
            "high" => Some(Compression::High),
            _ => None,
        }
    }

    fn to_png(self) -> png::Compression {
        match self {
            Compression::None => png::Compression::NoCompression,
            Compression::Fastest => png::Compression::Fastest,
            Compression::Fast => png::Compression::Fast,
            Compression::Balanced => png::Compression::Balanced,
            Compression::High => png::Compression::High,
        }
    }
}

/// Samples to write, row-major `(height, width, channels)`.
#[derive(Debug, Clone, Copy)]
pub enum SamplesRef<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
}

/// Encodes samples as a PNG file: 8 or 16 bits, grey (1 channel), grey + alpha (2), RGB (3) or
/// RGBA (4). The caller checks that the sizes agree and are not zero.
pub fn write(
    samples: SamplesRef<'_>,
    height: usize,
    width: usize,
    channels: usize,
    compression: Compression,
) -> Result<Vec<u8>, String> {
    let colour = match channels {
        1 => ColorType::Grayscale,
        2 => ColorType::GrayscaleAlpha,
        3 => ColorType::Rgb,
        4 => ColorType::Rgba,
        _ => return Err(format!("a PNG holds 1 to 4 channels, not {channels}")),
    };
    let (width32, height32) = match (u32::try_from(width), u32::try_from(height)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 && w < 1 << 31 && h < 1 << 31 => (w, h),
        _ => {
            return Err(format!(
                "a PNG is 1 to 2^31 - 1 pixels a side, not {height} x {width}"
            ))
        }
    };
    let big_endian;
    let (bytes, depth) = match samples {
        SamplesRef::U8(s) => (s, BitDepth::Eight),
        SamplesRef::U16(s) => {
            big_endian = s.iter().flat_map(|v| v.to_be_bytes()).collect::<Vec<u8>>();
            (&big_endian[..], BitDepth::Sixteen)
        }
    };
    let expected = height * width * channels * if depth == BitDepth::Sixteen { 2 } else { 1 };
    if bytes.len() != expected {
        return Err(format!("{} bytes of samples for {expected}", bytes.len()));
    }
    let mut file = Vec::new();
    let mut encoder = png::Encoder::new(&mut file, width32, height32);
    encoder.set_color(colour);
    encoder.set_depth(depth);
    encoder.set_compression(compression.to_png());
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(bytes).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_random::lcg;

    const NO_LIMIT: u64 = u64::MAX;

    fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut next = lcg(seed);
        (0..n).map(|_| next() as u8).collect()
    }

    /// A PNG made by the `png` crate's encoder with any header and raw sample bytes.
    fn encode_raw(
        width: u32,
        height: u32,
        colour: ColorType,
        depth: BitDepth,
        palette: Option<&[u8]>,
        trns: Option<&[u8]>,
        raw: &[u8],
    ) -> Vec<u8> {
        let mut info = png::Info::with_size(width, height);
        info.color_type = colour;
        info.bit_depth = depth;
        info.palette = palette.map(|p| p.to_vec().into());
        info.trns = trns.map(|t| t.to_vec().into());
        let mut file = Vec::new();
        let encoder = png::Encoder::with_info(&mut file, info).unwrap();
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(raw).unwrap();
        writer.finish().unwrap();
        file
    }

    #[test]
    fn every_kind_round_trips_through_write_and_read() {
        for channels in 1..=4 {
            let (h, w) = (13, 17);
            let bytes = random_bytes(h * w * channels, channels as u64);
            let file = write(SamplesRef::U8(&bytes), h, w, channels, Compression::Fast).unwrap();
            let image = read(&file, Channels::Keep, NO_LIMIT).unwrap();
            assert_eq!(
                (image.height, image.width, image.channels),
                (h, w, channels)
            );
            assert_eq!(image.samples, Samples::U8(bytes));

            let words: Vec<u16> = random_bytes(2 * h * w * channels, 9)
                .chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect();
            for level in Compression::NAMES.map(|n| Compression::from_name(n).unwrap()) {
                let file = write(SamplesRef::U16(&words), h, w, channels, level).unwrap();
                let image = read(&file, Channels::Keep, NO_LIMIT).unwrap();
                assert_eq!(image.samples, Samples::U16(words.clone()), "{level:?}");
            }
        }
    }

    #[test]
    fn grey_and_grey_alpha_expand_to_rgb_and_rgba() {
        let grey = [10u8, 20, 30, 40];
        let file = write(SamplesRef::U8(&grey), 2, 2, 1, Compression::Fast).unwrap();
        let rgb = read(&file, Channels::Rgb, NO_LIMIT).unwrap();
        assert_eq!(
            rgb.samples,
            Samples::U8(vec![10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40])
        );
        let rgba = read(&file, Channels::Rgba, NO_LIMIT).unwrap();
        assert_eq!(rgba.channels, 4);
        assert_eq!(
            rgba.samples,
            Samples::U8(vec![
                10, 10, 10, 255, 20, 20, 20, 255, 30, 30, 30, 255, 40, 40, 40, 255
            ])
        );
        let grey_alpha = [7u16, 65535, 9, 0];
        let file = write(SamplesRef::U16(&grey_alpha), 1, 2, 2, Compression::Fast).unwrap();
        let rgba = read(&file, Channels::Rgba, NO_LIMIT).unwrap();
        assert_eq!(rgba.samples, Samples::U16(vec![7, 7, 7, 65535, 9, 9, 9, 0]));
        let rgb = read(&file, Channels::Rgb, NO_LIMIT).unwrap();
        assert_eq!(rgb.samples, Samples::U16(vec![7, 7, 7, 9, 9, 9]));
    }

    #[test]
    fn low_bit_grey_is_scaled_and_its_key_too() {
        // 2-bit grey 0, 1, 2, 3 in one byte, transparent grey level 2.
        let file = encode_raw(
            4,
            1,
            ColorType::Grayscale,
            BitDepth::Two,
            None,
            Some(&[0, 2]),
            &[0b00_01_10_11],
        );
        let keep = read(&file, Channels::Keep, NO_LIMIT).unwrap();
        assert_eq!(keep.samples, Samples::U8(vec![0, 85, 170, 255]));
        let rgba = read(&file, Channels::Rgba, NO_LIMIT).unwrap();
        let Samples::U8(rgba) = rgba.samples else {
            panic!("8-bit")
        };
        let alpha: Vec<u8> = rgba.chunks_exact(4).map(|p| p[3]).collect();
        assert_eq!(alpha, [255, 255, 0, 255]);
    }

    #[test]
    fn palettes_are_looked_up_with_their_transparency() {
        let palette = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        // 4-bit indices 0, 1, 2, 1 and 2 past the palette's end.
        let raw = [0x01, 0x21, 0x50];
        let make = |trns: Option<&[u8]>| {
            encode_raw(
                5,
                1,
                ColorType::Indexed,
                BitDepth::Four,
                Some(&palette),
                trns,
                &raw,
            )
        };
        let plain = make(None);
        let keep = read(&plain, Channels::Keep, NO_LIMIT).unwrap();
        assert_eq!(keep.channels, 3);
        let expected = [1, 2, 3, 4, 5, 6, 7, 8, 9, 4, 5, 6, 0, 0, 0];
        assert_eq!(keep.samples, Samples::U8(expected.to_vec()));
        let with_alpha = make(Some(&[100]));
        let keep = read(&with_alpha, Channels::Keep, NO_LIMIT).unwrap();
        assert_eq!(keep.channels, 4);
        let expected = [
            1, 2, 3, 100, 4, 5, 6, 255, 7, 8, 9, 255, 4, 5, 6, 255, 0, 0, 0, 255,
        ];
        assert_eq!(keep.samples, Samples::U8(expected.to_vec()));
        let rgb = read(&with_alpha, Channels::Rgb, NO_LIMIT).unwrap();
        assert_eq!(rgb.channels, 3);
    }

    #[test]
    fn rgb_transparent_colour_becomes_alpha() {
        let raw = [1u8, 2, 3, 4, 5, 6];
        let file = encode_raw(
            2,
            1,
            ColorType::Rgb,
            BitDepth::Eight,
            None,
            Some(&[0, 4, 0, 5, 0, 6]),
            &raw,
        );
        let rgba = read(&file, Channels::Rgba, NO_LIMIT).unwrap();
        assert_eq!(rgba.samples, Samples::U8(vec![1, 2, 3, 255, 4, 5, 6, 0]));
    }

    /// A PNG header (signature and IHDR, with a correct CRC) for any size, and nothing else.
    fn header_only(width: u32, height: u32) -> Vec<u8> {
        let mut body = b"IHDR".to_vec();
        body.extend(width.to_be_bytes());
        body.extend(height.to_be_bytes());
        body.extend([8, 2, 0, 0, 0]);
        let mut file = SIGNATURE.to_vec();
        file.extend(13u32.to_be_bytes());
        file.extend(&body);
        file.extend(crc32fast::hash(&body).to_be_bytes());
        file
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        assert_eq!(
            read(b"GIF89a", Channels::Rgb, NO_LIMIT),
            Err(ReadError::NotPng)
        );
        assert_eq!(read(b"", Channels::Rgb, NO_LIMIT), Err(ReadError::NotPng));
        let bomb = header_only(65535, 65535);
        assert!(matches!(
            read(&bomb, Channels::Rgb, 1 << 28),
            Err(ReadError::TooLarge {
                width: 65535,
                height: 65535,
                ..
            })
        ));
        // Past the limit check, the missing body is found out.
        assert!(matches!(
            read(&header_only(3, 2), Channels::Rgb, NO_LIMIT),
            Err(ReadError::Corrupt(_))
        ));
        assert!(matches!(
            read(&header_only(0, 0), Channels::Rgb, NO_LIMIT),
            Err(ReadError::Corrupt(_))
        ));
        let raw = random_bytes(40 * 30 * 3, 5);
        let good = write(SamplesRef::U8(&raw), 30, 40, 3, Compression::Fast).unwrap();
        for cut in [9, 20, 33, 40, good.len() / 2, good.len() - 13] {
            let result = read(&good[..cut], Channels::Rgb, NO_LIMIT);
            assert!(matches!(result, Err(ReadError::Corrupt(_))), "cut at {cut}");
        }
        // A flipped bit in the image data: the chunk's CRC no longer matches.
        let mut flipped = good.clone();
        let idat = flipped.windows(4).position(|w| w == b"IDAT").unwrap();
        flipped[idat + 10] ^= 0x40;
        let result = read(&flipped, Channels::Rgb, NO_LIMIT);
        assert!(matches!(result, Err(ReadError::Corrupt(_))), "{result:?}");
    }

    #[test]
    fn writing_refuses_sizes_that_do_not_agree() {
        let samples = [0u8; 12];
        assert!(write(SamplesRef::U8(&samples), 2, 2, 5, Compression::Fast).is_err());
        assert!(write(SamplesRef::U8(&samples), 2, 3, 3, Compression::Fast).is_err());
        assert!(write(SamplesRef::U8(&samples), 0, 4, 3, Compression::Fast).is_err());
    }
}
