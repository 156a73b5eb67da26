//! Row caps with seeded stratified subsampling.
//!
//! Keeping `max_rows` of `n` examples draws from each label in proportion to its share
//! (largest-remainder rounding), with a ChaCha RNG seeded by the dataset seed, and keeps
//! the kept rows in file order so tables stay readable and stable.

use super::Example;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Keeps at most `max_rows` examples, stratified by label and seeded; file order is kept.
pub fn stratified_cap(examples: Vec<Example>, max_rows: usize, seed: u64) -> Vec<Example> {
    if examples.len() <= max_rows {
        return examples;
    }
    let num_labels = examples.iter().map(|e| e.label + 1).max().unwrap_or(0);
    let mut by_label: Vec<Vec<usize>> = vec![Vec::new(); num_labels];
    for (i, e) in examples.iter().enumerate() {
        by_label[e.label].push(i);
    }
    let quotas = proportional_quotas(&by_label.iter().map(Vec::len).collect::<Vec<_>>(), max_rows);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut keep = vec![false; examples.len()];
    for (rows, quota) in by_label.iter_mut().zip(quotas) {
        rows.shuffle(&mut rng);
        for &i in rows.iter().take(quota) {
            keep[i] = true;
        }
    }
    examples.into_iter().zip(keep).filter_map(|(e, k)| k.then_some(e)).collect()
}

/// Splits `total` over groups of the given sizes in proportion, largest remainder first
/// (ties to the lower group index); no group gets more than it has.
pub fn proportional_quotas(sizes: &[usize], total: usize) -> Vec<usize> {
    let n: usize = sizes.iter().sum();
    if n == 0 {
        return vec![0; sizes.len()];
    }
    let total = total.min(n);
    let mut quotas: Vec<usize> = sizes.iter().map(|&s| s * total / n).collect();
    let mut rest: Vec<(usize, usize)> = sizes.iter().enumerate().map(|(i, &s)| (i, (s * total) % n)).collect();
    rest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut missing = total - quotas.iter().sum::<usize>();
    for (i, _) in rest {
        if missing == 0 {
            break;
        }
        if quotas[i] < sizes[i] {
            quotas[i] += 1;
            missing -= 1;
        }
    }
    quotas
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(i: usize, label: usize) -> Example {
        Example { id: i.to_string(), segments: vec![format!("t{i}")], label }
    }

    #[test]
    fn quotas_are_proportional_and_sum_to_total() {
        assert_eq!(proportional_quotas(&[50, 30, 20], 10), vec![5, 3, 2]);
        assert_eq!(proportional_quotas(&[1, 1, 1], 2), vec![1, 1, 0]);
        assert_eq!(proportional_quotas(&[3, 0], 5), vec![3, 0]);
        assert_eq!(proportional_quotas(&[7, 5], 5).iter().sum::<usize>(), 5);
    }

    #[test]
    fn cap_is_seeded_stratified_and_keeps_file_order() {
        let rows: Vec<Example> = (0..100).map(|i| ex(i, usize::from(i % 4 == 0))).collect();
        let a = stratified_cap(rows.clone(), 20, 7);
        let b = stratified_cap(rows.clone(), 20, 7);
        let c = stratified_cap(rows.clone(), 20, 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 20);
        assert_eq!(a.iter().filter(|e| e.label == 1).count(), 5);
        let ids: Vec<usize> = a.iter().map(|e| e.id.parse().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn cap_above_size_keeps_everything() {
        let rows: Vec<Example> = (0..3).map(|i| ex(i, 0)).collect();
        assert_eq!(stratified_cap(rows.clone(), 10, 1), rows);
    }
}
