//! Runs a hot loop compiled for the widest vector unit the CPU has. The loops themselves are plain
//! Rust written so that LLVM vectorises them; this only recompiles them with AVX2 enabled on
//! x86_64 (detected at run time, so one binary serves every CPU).

/// Calls `work`, compiled with AVX2 when the CPU supports it. `work` must be a closure that only
/// calls `#[inline(always)]` code, so that all of it is inlined into the AVX2 copy.
#[inline(always)]
pub fn vectorised<R>(work: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn with_avx2<R>(work: impl FnOnce() -> R) -> R {
            work()
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { with_avx2(work) };
        }
    }
    work()
}
