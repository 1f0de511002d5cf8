//! Deterministic pseudo-random numbers for the unit tests: an LCG, so no dependency is needed.

/// The generator's next state.
fn step(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state
}

/// 32-bit integers.
pub fn lcg(seed: u64) -> impl FnMut() -> u32 {
    let mut state = seed;
    move || (step(&mut state) >> 33) as u32
}

/// Uniform floats in [0, 1).
pub fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || (step(&mut state) >> 11) as f64 / (1u64 << 53) as f64
}
