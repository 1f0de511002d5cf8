//! Many picture files decoded at once: each worker thread reads a file, decodes its PNG and runs
//! the task's decoder on it, so that a picture goes from disk to numbers on one core without
//! crossing threads. Results come back in input order, and at most `window` of them are held at a
//! time (in work or waiting to be taken), so that memory stays bounded however many files there
//! are. A file that fails is an error item; the others go on.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use ndarray::ArrayView4;

use crate::colormap::Colormap;
use crate::depth::{self, Scalar};
use crate::error::Error;
use crate::instances::{self, Extracted, Params, Picture};
use crate::normals::{self, NormalDecoding};
use crate::png::{self, Channels, ReadError, Samples};
use crate::samples::PictureSample;
use crate::semantic::{self, NearestColour, Palette};

/// Where a picture comes from: a file, or the encoded file's bytes.
#[derive(Clone)]
pub enum Source {
    Path(PathBuf),
    Bytes(Arc<dyn AsRef<[u8]> + Send + Sync>),
}

/// What to decode the pictures into, with the decoder's options.
#[derive(Debug, Clone)]
pub enum Task {
    Depth {
        scalar: Scalar,
        colormap: Colormap,
        distance: bool,
    },
    Normals(NormalDecoding),
    Semantic {
        palette: Arc<Palette>,
        /// Squared distance (8-bit units) beyond which a pixel gets `ignore`.
        max_distance2: f64,
        ignore: u32,
        /// uint16 labels rather than uint8.
        wide: bool,
        distance: bool,
    },
    Instances(Params),
}

/// Labels of 8 or 16 bits.
#[derive(Debug, Clone, PartialEq)]
pub enum Labels {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

/// One picture's decoded arrays, row-major over (height, width).
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Depth {
        depth: Vec<f32>,
        distance: Option<Vec<f32>>,
    },
    Normals {
        vectors: Vec<[f32; 3]>,
        valid: Vec<bool>,
    },
    Labels {
        labels: Labels,
        distance: Option<Vec<f32>>,
    },
    Instances(Extracted),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub height: usize,
    pub width: usize,
    pub decoded: Decoded,
}

/// Why a picture was not decoded.
#[derive(Debug)]
pub enum FileError {
    /// The file could not be opened or read.
    Io(std::io::Error),
    /// The data is a broken PNG, or too large.
    Read(ReadError),
    /// The data is no PNG: it is handed back, for a reader of other formats.
    NotPng(Vec<u8>),
    /// The decoder refused the picture.
    Invalid(Error),
    /// A bug: a worker panicked on this item.
    Internal(String),
}

/// Reads and decodes one picture on the calling thread.
pub fn decode_file(source: &Source, task: &Task, max_pixels: u64) -> Result<Output, FileError> {
    let read_from_disk;
    let data: &[u8] = match source {
        Source::Path(path) => {
            read_from_disk = std::fs::read(path).map_err(FileError::Io)?;
            &read_from_disk
        }
        Source::Bytes(bytes) => (**bytes).as_ref(),
    };
    if !png::is_png(data) {
        return Err(FileError::NotPng(data.to_vec()));
    }
    let image = png::read(data, Channels::Rgb, max_pixels).map_err(FileError::Read)?;
    let shape = (1, image.height, image.width, 3);
    let decoded = match &image.samples {
        Samples::U8(s) => decode_picture(view(s, shape), task),
        Samples::U16(s) => decode_picture(view(s, shape), task),
    }
    .map_err(FileError::Invalid)?;
    Ok(Output {
        height: image.height,
        width: image.width,
        decoded,
    })
}

fn view<T>(samples: &[T], shape: (usize, usize, usize, usize)) -> ArrayView4<'_, T> {
    ArrayView4::from_shape(shape, samples).expect("the reader returns height * width * 3 samples")
}

/// A sample type of decoded PNGs, as the instance extraction takes it.
trait FileSample: PictureSample + depth::CubeWalkDecode {
    fn picture(view: ndarray::ArrayView3<'_, Self>) -> Picture<'_>;
}

impl FileSample for u8 {
    fn picture(view: ndarray::ArrayView3<'_, u8>) -> Picture<'_> {
        Picture::U8(view)
    }
}

impl FileSample for u16 {
    fn picture(view: ndarray::ArrayView3<'_, u16>) -> Picture<'_> {
        Picture::U16(view)
    }
}

fn decode_picture<T: FileSample>(rgb: ArrayView4<'_, T>, task: &Task) -> Result<Decoded, Error> {
    let (_, h, w, _) = rgb.dim();
    let pixels = h * w;
    let distances = |asked: bool| asked.then(|| vec![0f32; pixels]);
    Ok(match task {
        Task::Depth {
            scalar,
            colormap,
            distance,
        } => {
            let mut depth = vec![0f32; pixels];
            let mut distance = distances(*distance);
            depth::decode(rgb, *scalar, *colormap, &mut depth, distance.as_deref_mut())?;
            Decoded::Depth { depth, distance }
        }
        Task::Normals(options) => {
            let mut vectors = vec![[0f32; 3]; pixels];
            let mut valid = vec![false; pixels];
            normals::decode(rgb, options, &mut vectors, &mut valid)?;
            Decoded::Normals { vectors, valid }
        }
        Task::Semantic {
            palette,
            max_distance2,
            ignore,
            wide,
            distance,
        } => {
            let rule = NearestColour {
                palette,
                max_distance2: *max_distance2,
                ignore: *ignore,
            };
            let mut distance = distances(*distance);
            let labels = if *wide {
                let mut out = vec![0u16; pixels];
                semantic::decode(rgb, &rule, &mut out, distance.as_deref_mut())?;
                Labels::U16(out)
            } else {
                let mut out = vec![0u8; pixels];
                semantic::decode(rgb, &rule, &mut out, distance.as_deref_mut())?;
                Labels::U8(out)
            };
            Decoded::Labels { labels, distance }
        }
        Task::Instances(params) => {
            let one = rgb.index_axis_move(ndarray::Axis(0), 0);
            Decoded::Instances(instances::extract(&T::picture(one), params)?)
        }
    })
}

/// Decodes `sources` on `workers` threads, yielding results in input order.
pub fn decode_files(
    sources: Vec<Source>,
    task: Task,
    max_pixels: u64,
    workers: usize,
) -> Ordered<Result<Output, FileError>> {
    let count = sources.len();
    let work = move |i: usize| {
        catch_unwind(AssertUnwindSafe(|| {
            decode_file(&sources[i], &task, max_pixels)
        }))
        .unwrap_or_else(|panic| Err(FileError::Internal(panic_message(&panic))))
    };
    Ordered::new(count, workers, 2 * workers.max(1), work)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a worker thread panicked".into())
}

/// A parallel map over `0..count` whose results are taken in index order. Workers claim indices
/// in order, but never more than `window` past the first result not yet taken.
pub struct Ordered<T: Send + 'static> {
    shared: Arc<Shared<T>>,
    threads: Vec<JoinHandle<()>>,
    next: usize,
    count: usize,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Signalled when a result is stored (the taker waits on it).
    stored: Condvar,
    /// Signalled when a result is taken or the map stops (workers wait on it for room).
    taken: Condvar,
}

struct State<T> {
    claimed: usize,
    taken: usize,
    results: HashMap<usize, T>,
    stop: bool,
}

impl<T> Shared<T> {
    /// A poisoned lock only means a thread panicked between two plain updates: the state is whole.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<T: Send + 'static> Ordered<T> {
    pub fn new(
        count: usize,
        workers: usize,
        window: usize,
        work: impl Fn(usize) -> T + Send + Sync + 'static,
    ) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                claimed: 0,
                taken: 0,
                results: HashMap::new(),
                stop: false,
            }),
            stored: Condvar::new(),
            taken: Condvar::new(),
        });
        let work = Arc::new(work);
        let window = window.max(1);
        let threads = (0..workers.clamp(1, count.max(1)))
            .map(|_| {
                let (shared, work) = (Arc::clone(&shared), Arc::clone(&work));
                std::thread::spawn(move || loop {
                    let index = {
                        let mut state = shared.lock();
                        loop {
                            if state.stop || state.claimed >= count {
                                return;
                            }
                            if state.claimed < state.taken + window {
                                break;
                            }
                            state = shared.taken.wait(state).unwrap_or_else(|p| p.into_inner());
                        }
                        state.claimed += 1;
                        state.claimed - 1
                    };
                    let result = work(index);
                    shared.lock().results.insert(index, result);
                    shared.stored.notify_all();
                })
            })
            .collect();
        Ordered {
            shared,
            threads,
            next: 0,
            count,
        }
    }

    /// How many results are left to take.
    pub fn remaining(&self) -> usize {
        self.count - self.next
    }

    /// The next result in index order, waiting for it; None after the last.
    pub fn next_result(&mut self) -> Option<T> {
        if self.next >= self.count {
            return None;
        }
        let mut state = self.shared.lock();
        let result = loop {
            if let Some(result) = state.results.remove(&self.next) {
                break result;
            }
            state = self
                .shared
                .stored
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        };
        state.taken += 1;
        drop(state);
        self.shared.taken.notify_all();
        self.next += 1;
        Some(result)
    }
}

impl<T: Send + 'static> Iterator for Ordered<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.next_result()
    }
}

impl<T: Send + 'static> Drop for Ordered<T> {
    /// Stops handing out work and waits for the items in progress.
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.taken.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::png::{Compression, SamplesRef};

    #[test]
    fn results_come_in_order_with_a_bounded_window() {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (a, b) = (Arc::clone(&in_flight), Arc::clone(&most));
        let mut ordered = Ordered::new(200, 4, 6, move |i| {
            let now = a.fetch_add(1, Ordering::SeqCst) + 1;
            b.fetch_max(now, Ordering::SeqCst);
            // Later items finish first, so that order has to be restored.
            std::thread::sleep(std::time::Duration::from_micros(
                ((200 - i) % 7) as u64 * 50,
            ));
            a.fetch_sub(1, Ordering::SeqCst);
            i * i
        });
        let mut seen = Vec::new();
        while let Some(v) = ordered.next_result() {
            seen.push(v);
            // Taking slowly lets the workers run up against the window.
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
        assert_eq!(seen, (0..200).map(|i| i * i).collect::<Vec<_>>());
        assert!(most.load(Ordering::SeqCst) <= 4);
    }

    #[test]
    fn dropping_early_stops_the_workers() {
        let done = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&done);
        let mut ordered = Ordered::new(1000, 2, 4, move |i| {
            counter.fetch_add(1, Ordering::SeqCst);
            i
        });
        assert_eq!(ordered.next_result(), Some(0));
        drop(ordered);
        assert!(done.load(Ordering::SeqCst) <= 1 + 4);
    }

    #[test]
    fn each_file_is_decoded_or_reported() {
        // A red and a white picture (depths: the first vertex and max_depth), then a broken one,
        // bytes that are no PNG, and a missing file.
        let png_of = |rgb: [u8; 3]| {
            let samples: Vec<u8> = (0..6).flat_map(|_| rgb).collect();
            png::write(SamplesRef::U8(&samples), 2, 3, 3, Compression::Fast).unwrap()
        };
        let red = png_of([255, 0, 0]);
        let broken = red[..red.len() - 20].to_vec();
        let bytes = |b: Vec<u8>| Source::Bytes(Arc::new(b));
        let sources = vec![
            bytes(red),
            bytes(png_of([255, 255, 255])),
            bytes(broken),
            bytes(b"GIF89a...".to_vec()),
            Source::Path("/nonexistent/picture.png".into()),
        ];
        let task = Task::Depth {
            scalar: Scalar::Depth {
                transform: crate::PowerTransform::new(-3.0, 10.0 / 3.0).unwrap(),
                max_depth: 1000.0,
            },
            colormap: Colormap::CubeWalk,
            distance: false,
        };
        let results: Vec<_> = decode_files(sources, task, u64::MAX, 3).collect();
        assert_eq!(results.len(), 5);
        let depth_of = |r: &Result<Output, FileError>| match r {
            Ok(Output {
                height: 2,
                width: 3,
                decoded: Decoded::Depth { depth, .. },
            }) => depth[0],
            other => panic!("{other:?}"),
        };
        let red_depth = depth_of(&results[0]);
        assert!((red_depth - 0.8012).abs() < 1e-3, "{red_depth}");
        assert_eq!(depth_of(&results[1]), 1000.0);
        assert!(matches!(results[2], Err(FileError::Read(_))));
        assert!(matches!(&results[3], Err(FileError::NotPng(b)) if b.starts_with(b"GIF")));
        assert!(
            matches!(&results[4], Err(FileError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound)
        );
    }
}
