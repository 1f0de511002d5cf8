//! COCO run-length encoding of instance masks: runs along the columns (Fortran order), starting
//! with a run of zeros, and pycocotools' compressed string form of those counts.

use ndarray::ArrayView2;

/// The uncompressed COCO counts of the masks `ids == 1`, ..., `ids == count`, all in one pass
/// over the id map. An empty mask gives `[H * W]`.
pub fn coco_counts(ids: ArrayView2<u32>, count: usize) -> Vec<Vec<u64>> {
    let (height, width) = ids.dim();
    let total = (height * width) as u64;
    let mut counts = vec![Vec::new(); count];
    let mut ends = vec![0u64; count];
    let mut close = |id: u32, start: u64, end: u64| {
        let k = id as usize - 1;
        if k < count {
            counts[k].push(start - ends[k]);
            counts[k].push(end - start);
            ends[k] = end;
        }
    };
    let (mut current, mut start) = (0u32, 0u64);
    let mut t = 0u64;
    for column in ids.columns() {
        for &id in column {
            if id != current {
                if current != 0 {
                    close(current, start, t);
                }
                current = id;
                start = t;
            }
            t += 1;
        }
    }
    if current != 0 {
        close(current, start, t);
    }
    for (c, end) in counts.iter_mut().zip(ends) {
        if c.is_empty() || end < total {
            c.push(total - end);
        }
    }
    counts
}

/// pycocotools' `rleToString`: each count (less the one two before it, from the third on) as
/// little-endian 5-bit groups with a continuation bit, offset into printable ASCII.
pub fn coco_string(counts: &[u64]) -> String {
    let mut out = String::new();
    for (i, &c) in counts.iter().enumerate() {
        let mut x = c as i64;
        if i > 2 {
            x -= counts[i - 2] as i64;
        }
        loop {
            let mut byte = x & 0x1f;
            x >>= 5;
            let more = if byte & 0x10 != 0 { x != -1 } else { x != 0 };
            if more {
                byte |= 0x20;
            }
            out.push((byte as u8 + 48) as char);
            if !more {
                break;
            }
        }
    }
    out
}
