//! Edges grouped by node in one array (compressed sparse rows): the reverse call graphs that
//! passes walk backwards from a callee to its callers.

/// Items grouped by node: those of node `i` are `items[start[i]..start[i + 1]]`, in the
/// order they were given.
pub(crate) struct Csr<T> {
    start: Vec<u32>,
    items: Vec<T>,
}

impl<T: Copy> Csr<T> {
    /// Group `(node, item)` pairs by node, `node < n`. `pairs` is called twice, a counting
    /// pass and a filling pass, and must yield the same pairs in the same order both times.
    pub(crate) fn build<I: Iterator<Item = (usize, T)>>(n: usize, pairs: impl Fn() -> I) -> Self {
        let mut start = vec![0u32; n + 1];
        for (node, _) in pairs() {
            start[node + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        // Every slot is written below; the first item only fills them meanwhile.
        let Some((_, filler)) = pairs().next() else {
            return Csr {
                start,
                items: Vec::new(),
            };
        };
        let mut items = vec![filler; start[n] as usize];
        let mut fill = start.clone();
        for (node, item) in pairs() {
            items[fill[node] as usize] = item;
            fill[node] += 1;
        }
        Csr { start, items }
    }

    /// The items of node `i`.
    pub(crate) fn of(&self, i: usize) -> &[T] {
        &self.items[self.start[i] as usize..self.start[i + 1] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::Csr;

    #[test]
    fn groups_by_node_in_given_order() {
        let pairs = [(2, 'a'), (0, 'b'), (2, 'c'), (3, 'd'), (0, 'e')];
        let g = Csr::build(4, || pairs.iter().copied());
        assert_eq!(g.of(0), &['b', 'e']);
        assert!(g.of(1).is_empty());
        assert_eq!(g.of(2), &['a', 'c']);
        assert_eq!(g.of(3), &['d']);
        let empty = Csr::<char>::build(2, std::iter::empty);
        assert!(empty.of(0).is_empty() && empty.of(1).is_empty());
    }
}
