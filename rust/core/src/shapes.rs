//! Shape checks at the crate's public surface: a Rust caller that passes arrays that do not fit
//! together gets an [`Error`] naming the argument, never a panic or a silently truncated result.

use crate::error::{Error, Result};

/// Pictures have 3 (RGB) or 4 (RGBA) channels.
pub(crate) fn channels(argument: &'static str, channels: usize) -> Result<()> {
    if channels == 3 || channels == 4 {
        return Ok(());
    }
    Err(Error::new(
        argument,
        format!("{argument} must have 3 or 4 channels, got {channels}"),
    ))
}

/// An output buffer holds exactly one element per input element.
pub(crate) fn length(argument: &'static str, got: usize, expected: usize) -> Result<()> {
    if got == expected {
        return Ok(());
    }
    Err(Error::new(
        argument,
        format!("{argument} must hold {expected} elements, got {got}"),
    ))
}

/// A decoder's arguments: a picture stack (N, H, W, C) with 3 or 4 channels, and outputs of one
/// element per pixel (`outputs`: each output's name and length).
pub(crate) fn decode(
    dim: (usize, usize, usize, usize),
    outputs: &[(&'static str, usize)],
) -> Result<()> {
    let (n, h, w, c) = dim;
    channels("rgb", c)?;
    for &(name, len) in outputs {
        length(name, len, n * h * w)?;
    }
    Ok(())
}

/// Two arrays that are read together have the same shape.
pub(crate) fn same(
    argument: &'static str,
    got: &[usize],
    other: &'static str,
    expected: &[usize],
) -> Result<()> {
    if got == expected {
        return Ok(());
    }
    Err(Error::new(
        argument,
        format!("{argument} must have the shape of {other}, {expected:?}, got {got:?}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_argument_and_both_shapes() {
        assert!(channels("rgb", 4).is_ok());
        assert_eq!(
            channels("rgb", 2).unwrap_err().message,
            "rgb must have 3 or 4 channels, got 2"
        );
        assert_eq!(
            length("out", 5, 6).unwrap_err().message,
            "out must hold 6 elements, got 5"
        );
        let error = same("pred", &[1, 2, 3], "gt", &[1, 2, 4]).unwrap_err();
        assert_eq!(error.argument, "pred");
        assert_eq!(
            error.message,
            "pred must have the shape of gt, [1, 2, 4], got [1, 2, 3]"
        );
    }
}
