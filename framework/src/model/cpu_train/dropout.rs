//! Dropout masks from a seeded ChaCha generator: the same seed, step and site give the same
//! mask on any machine and with any number of threads.
//!
//! A mask is a multiplier per value, 0 (dropped, with probability `p`) or `1/(1 − p)`
//! (kept), as `torch.nn.Dropout` and burn scale. Site `s` of step `t` draws from the
//! generator seeded with the training seed, on stream `t·SITES + s`; the values are cut
//! into fixed blocks, block `b` reading the stream from word `b·BLOCK`, so blocks fill in
//! parallel and the mask does not depend on how they are scheduled.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Values per block (each reads its own stretch of the stream).
const BLOCK: usize = 1 << 14;

/// Dropout sites per step (embeddings, three per layer, the classifier): stream numbers
/// of a step stay below this.
pub const SITES: u64 = 1 << 12;

/// The dropout probabilities of a model and the generator's seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dropout {
    /// After the embeddings and each sublayer's output.
    pub hidden: f64,
    /// On the attention probabilities.
    pub attention: f64,
    /// Before the classifier.
    pub classifier: f64,
    /// The training seed.
    pub seed: u64,
}

/// Fills `mask` for probability `p` at (`step`, `site`). Returns `false` (mask untouched)
/// when `p` is 0: nothing is dropped.
pub fn fill(mask: &mut [f32], p: f64, seed: u64, step: u64, site: u64) -> bool {
    if p <= 0.0 {
        return false;
    }
    let keep = (1.0 / (1.0 - p)) as f32;
    // A value is dropped when its 32-bit draw is below p·2³².
    let threshold = (p * 4_294_967_296.0).min(4_294_967_295.0) as u32;
    let mut base = ChaCha8Rng::seed_from_u64(seed);
    base.set_stream(step.wrapping_mul(SITES).wrapping_add(site));
    mask.par_chunks_mut(BLOCK).enumerate().for_each(|(b, block)| {
        let mut rng = base.clone();
        rng.set_word_pos((b * BLOCK) as u128);
        for v in block {
            *v = if rng.next_u32() < threshold { 0.0 } else { keep };
        }
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_drop_about_p_and_repeat_for_the_same_seed_step_and_site() {
        let mut a = vec![0.0; 100_000];
        assert!(fill(&mut a, 0.1, 7, 3, 2));
        let dropped = a.iter().filter(|&&v| v == 0.0).count();
        assert!((9_000..11_000).contains(&dropped), "{dropped}");
        assert!(a.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.9).abs() < 1e-6));
        let mut b = vec![0.0; 100_000];
        fill(&mut b, 0.1, 7, 3, 2);
        assert_eq!(a, b);
        // One thread gives the same mask.
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        pool.install(|| fill(&mut b, 0.1, 7, 3, 2));
        assert_eq!(a, b);
        for (seed, step, site) in [(8, 3, 2), (7, 4, 2), (7, 3, 1)] {
            fill(&mut b, 0.1, seed, step, site);
            assert_ne!(a, b, "({seed}, {step}, {site})");
        }
        assert!(!fill(&mut b, 0.0, 7, 3, 2));
    }
}
