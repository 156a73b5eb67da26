//! Masks: bit sets over an example's features (bit i set = feature i present).

/// A fixed-length bit set over features. Bit `i` set means feature `i` keeps its word.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mask {
    len: usize,
    blocks: Vec<u64>,
}

impl Mask {
    /// `len` features, all absent.
    pub fn empty(len: usize) -> Self {
        Self { len, blocks: vec![0; len.div_ceil(64)] }
    }

    /// `len` features, all present.
    pub fn full(len: usize) -> Self {
        let mut m = Self::empty(len);
        for i in 0..len {
            m.set(i, true);
        }
        m
    }

    /// The features whose bit is set in the integer `bits` (feature i = bit i); `len` ≤ 64.
    pub fn from_bits(len: usize, bits: u64) -> Self {
        let mut m = Self::empty(len);
        if let Some(b) = m.blocks.first_mut() {
            *b = if len >= 64 { bits } else { bits & ((1u64 << len) - 1) };
        }
        m
    }

    /// A mask with bit `i` = `present(i)`.
    pub fn from_fn(len: usize, present: impl Fn(usize) -> bool) -> Self {
        let mut m = Self::empty(len);
        for i in 0..len {
            if present(i) {
                m.set(i, true);
            }
        }
        m
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mask covers no feature at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether feature `i` is present (false beyond the length).
    pub fn get(&self, i: usize) -> bool {
        i < self.len && self.blocks[i / 64] >> (i % 64) & 1 == 1
    }

    /// Sets feature `i` present or absent; an index beyond the length is ignored.
    pub fn set(&mut self, i: usize, present: bool) {
        if i >= self.len {
            return;
        }
        let bit = 1u64 << (i % 64);
        if present {
            self.blocks[i / 64] |= bit;
        } else {
            self.blocks[i / 64] &= !bit;
        }
    }

    /// Number of present features.
    pub fn count(&self) -> usize {
        self.blocks.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// Indices of the present features, ascending.
    pub fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).filter(|&i| self.get(i))
    }

    /// The complement: present features become absent and vice versa.
    pub fn complement(&self) -> Self {
        Self::from_fn(self.len, |i| !self.get(i))
    }

    /// Sets every feature in `other` present (union in place); lengths must match.
    pub fn union_with(&mut self, other: &Mask) {
        for (a, b) in self.blocks.iter_mut().zip(&other.blocks) {
            *a |= b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits() {
        let mut m = Mask::empty(70);
        m.set(3, true);
        m.set(69, true);
        m.set(70, true); // ignored
        assert!(m.get(3) && m.get(69) && !m.get(4) && !m.get(70));
        assert_eq!(m.count(), 2);
        assert_eq!(m.ones().collect::<Vec<_>>(), [3, 69]);
        assert_eq!(m.complement().count(), 68);
        assert_eq!(Mask::full(70).count(), 70);
        assert_eq!(Mask::from_bits(3, 0b1101), Mask::from_fn(3, |i| i != 1));
        let mut u = Mask::from_bits(4, 0b0001);
        u.union_with(&Mask::from_bits(4, 0b0100));
        assert_eq!(u, Mask::from_bits(4, 0b0101));
    }
}
