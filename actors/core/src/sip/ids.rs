//! Tags, Call-IDs and branches: unique per node, hard to guess, cheap to make.

/// Makes identifiers from a xorshift generator seeded by the caller (from the clock and
/// process id), prefixed so a node recognises its own branches (loop detection).
#[derive(Debug, Clone)]
pub struct IdGen {
    state: u64,
    branch_prefix: String,
    node: String,
}

impl IdGen {
    /// A generator for node `node` (letters, digits, `-`).
    pub fn new(seed: u64, node: &str) -> Self {
        Self {
            state: seed | 1,
            branch_prefix: branch_prefix(node),
            node: node.to_string(),
        }
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// A tag: 16 hex digits.
    pub fn tag(&mut self) -> String {
        format!("{:016x}", self.next())
    }

    /// A Call-ID unique to this node.
    pub fn call_id(&mut self) -> String {
        let (a, b) = (self.next(), self.next() as u32);
        format!("{a:016x}{b:08x}-{}", self.node)
    }

    /// A branch starting with the RFC 3261 cookie and this node's prefix.
    pub fn branch(&mut self) -> String {
        let n = self.next();
        format!("{}{n:016x}", self.branch_prefix)
    }

    /// The prefix of this node's branches.
    pub fn prefix(&self) -> &str {
        &self.branch_prefix
    }
}

/// The branch prefix of a node: `z9hG4bK-e173gw-<node>-`.
pub fn branch_prefix(node: &str) -> String {
    format!("z9hG4bK-e173gw-{node}-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_prefixed() {
        let mut g = IdGen::new(42, "n1");
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            assert!(seen.insert(g.tag()));
        }
        let b = g.branch();
        assert!(b.starts_with("z9hG4bK-e173gw-n1-") && b.starts_with(g.prefix()));
        assert!(g.call_id().ends_with("-n1"));
        assert_ne!(IdGen::new(1, "n").tag(), IdGen::new(2, "n").tag());
    }
}
