//! One direction of a byte-mode pipe: the write-completion rule (§§2.2-2.5, 2.7),
//! reads (3.1-3.4), and closing either end (2.11, 3.4, 3.5).
//!
//! Section numbers (§N.M) refer to docs/semantics.md, which gives each fact its source.

use std::collections::VecDeque;

/// Identifies a write (the caller chooses; unique among pending writes).
pub type WriteId = u32;

/// ERROR_BROKEN_PIPE.
pub const ERROR_BROKEN_PIPE: u32 = 109;
/// ERROR_NO_DATA.
pub const ERROR_NO_DATA: u32 = 232;

/// What a write does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteResult {
    /// Completed at once with this many bytes (its full length).
    Done(u32),
    /// Queued and readable, but the caller waits (its bytes do not fit the quota yet).
    Pending,
    /// Failed with this Win32 error.
    Failed(u32),
}

/// What a read does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadResult {
    /// Returned these bytes.
    Data(Vec<u8>),
    /// The pipe is empty and a writer remains: the caller waits.
    Wait,
    /// Failed with this Win32 error.
    Failed(u32),
}

/// One direction of a pipe: the bytes written and not yet read, in order, each write
/// remembering whether its writer still waits.
#[derive(Debug, Clone)]
pub struct PipeModel {
    quota: u64,
    writes: VecDeque<(WriteId, VecDeque<u8>, bool)>,
    reader_closed: bool,
    writer_closed: bool,
}

impl PipeModel {
    /// A pipe with the given quota (CreatePipe's nSize, 0 meaning 4096: §1.1).
    pub fn new(n_size: u32) -> PipeModel {
        PipeModel {
            quota: if n_size == 0 { 4096 } else { u64::from(n_size) },
            writes: VecDeque::new(),
            reader_closed: false,
            writer_closed: false,
        }
    }

    /// Unread bytes, pending writes' bytes included (§4.7).
    pub fn unread(&self) -> u64 {
        self.writes.iter().map(|(_, b, _)| b.len() as u64).sum()
    }

    /// Writes still waiting, oldest first.
    pub fn pending_writes(&self) -> Vec<WriteId> {
        self.writes.iter().filter(|(_, _, waiting)| *waiting).map(|(id, _, _)| *id).collect()
    }

    /// Writes that the rule lets complete now: every waiting write whose unread bytes,
    /// with all unread bytes before it, fit the quota (§2.4). They stop waiting.
    fn settle(&mut self) -> Vec<WriteId> {
        let mut done = Vec::new();
        let mut running = 0u64;
        for (id, bytes, waiting) in self.writes.iter_mut() {
            running += bytes.len() as u64;
            if running > self.quota {
                break;
            }
            if *waiting {
                *waiting = false;
                done.push(*id);
            }
        }
        self.writes.retain(|(_, b, waiting)| !b.is_empty() || *waiting);
        done
    }

    /// WriteFile of `data` as write `id`. Returns what this write does, and which earlier
    /// writes this completes (none: a write never frees space).
    pub fn write(&mut self, id: WriteId, data: &[u8]) -> WriteResult {
        if self.reader_closed {
            return WriteResult::Failed(ERROR_NO_DATA);
        }
        if data.is_empty() {
            return WriteResult::Done(0);
        }
        self.writes.push_back((id, data.iter().copied().collect(), true));
        if self.settle().contains(&id) { WriteResult::Done(data.len() as u32) } else { WriteResult::Pending }
    }

    /// ReadFile of up to `len` bytes. Returns what the read does and the waiting writes
    /// that complete because of it.
    pub fn read(&mut self, len: u32) -> (ReadResult, Vec<WriteId>) {
        if self.unread() == 0 {
            if self.writer_closed {
                return (ReadResult::Failed(ERROR_BROKEN_PIPE), Vec::new());
            }
            return (ReadResult::Wait, Vec::new());
        }
        let mut out = Vec::new();
        for (_, bytes, _) in self.writes.iter_mut() {
            while out.len() < len as usize {
                match bytes.pop_front() {
                    Some(b) => out.push(b),
                    None => break,
                }
            }
        }
        let done = self.settle();
        (ReadResult::Data(out), done)
    }

    /// The last handle to the read end closed: waiting writes fail with
    /// ERROR_BROKEN_PIPE (§2.11); returns them.
    pub fn close_reader(&mut self) -> Vec<WriteId> {
        self.reader_closed = true;
        let failed = self.pending_writes();
        self.writes.clear();
        failed
    }

    /// The last handle to the write end closed: reads drain what is left, then fail with
    /// ERROR_BROKEN_PIPE (§3.4).
    pub fn close_writer(&mut self) {
        self.writer_closed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// §2.4 (pipe.c test_blocking_rw): quota 5000; 3000 queued, a 5000-byte write
    /// pending, then a 1-byte write pending. Reading 3000 completes the 5000-byte write
    /// only; one more byte completes the 1-byte write.
    #[test]
    fn completion_rule_of_fact_2_4() {
        let mut p = PipeModel::new(5000);
        assert_eq!(p.write(1, &[0; 3000]), WriteResult::Done(3000));
        assert_eq!(p.write(2, &[0; 5000]), WriteResult::Pending);
        assert_eq!(p.write(3, &[0; 1]), WriteResult::Pending);
        let (r, done) = p.read(3000);
        assert_eq!(r, ReadResult::Data(vec![0; 3000]));
        assert_eq!(done, vec![2]);
        let (_, done) = p.read(1);
        assert_eq!(done, vec![3]);
    }

    /// §2.5: a write of quota + 2000 completes when the unread remainder falls to
    /// the quota, not when it is all read.
    #[test]
    fn oversized_write_completes_at_the_quota() {
        let mut p = PipeModel::new(100);
        assert_eq!(p.write(1, &[7; 2100]), WriteResult::Pending);
        assert!(p.read(1999).1.is_empty());
        assert_eq!(p.read(1).1, vec![1]);
        assert_eq!(p.unread(), 100);
    }

    /// §§3.4 and 2.11.
    #[test]
    fn closing_ends() {
        let mut p = PipeModel::new(4);
        assert_eq!(p.write(1, b"ab"), WriteResult::Done(2));
        p.close_writer();
        assert_eq!(p.read(10).0, ReadResult::Data(b"ab".to_vec()));
        assert_eq!(p.read(10).0, ReadResult::Failed(ERROR_BROKEN_PIPE));
        let mut q = PipeModel::new(1);
        assert_eq!(q.write(1, b"abc"), WriteResult::Pending);
        assert_eq!(q.close_reader(), vec![1]);
        assert_eq!(q.write(2, b"x"), WriteResult::Failed(ERROR_NO_DATA));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Write(Vec<u8>),
        Read(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![proptest::collection::vec(any::<u8>(), 0..40).prop_map(Op::Write), (0u32..50).prop_map(Op::Read),]
    }

    proptest! {
        /// Bytes come out in the order they went in; a write completes exactly when the
        /// bytes up to its end fit the quota; nothing is ever completed twice.
        #[test]
        fn bytes_are_conserved_and_the_rule_holds(quota in 1u32..64, ops in proptest::collection::vec(op(), 0..60)) {
            let mut p = PipeModel::new(quota);
            let mut written = Vec::new();
            let mut read = Vec::new();
            let mut completed = std::collections::BTreeSet::new();
            for (i, o) in ops.into_iter().enumerate() {
                let id = i as u32;
                match o {
                    Op::Write(d) => {
                        written.extend_from_slice(&d);
                        let before = p.unread();
                        match p.write(id, &d) {
                            WriteResult::Done(n) => {
                                prop_assert_eq!(n as usize, d.len());
                                // Completing at once means everything up to its end fits.
                                prop_assert!(d.is_empty() || before + d.len() as u64 <= u64::from(quota));
                                prop_assert!(completed.insert(id));
                            }
                            WriteResult::Pending => prop_assert!(before + d.len() as u64 > u64::from(quota)),
                            WriteResult::Failed(_) => prop_assert!(false, "reader is open"),
                        }
                    }
                    Op::Read(n) => {
                        let (r, done) = p.read(n);
                        if let ReadResult::Data(d) = r {
                            prop_assert!(d.len() <= n as usize);
                            read.extend_from_slice(&d);
                        }
                        for w in done {
                            prop_assert!(completed.insert(w));
                        }
                    }
                }
                // Every waiting write's prefix exceeds the quota.
                let mut running = 0u64;
                for (id, bytes, waiting) in &p.writes {
                    running += bytes.len() as u64;
                    if *waiting {
                        prop_assert!(running > u64::from(quota), "write {} should have completed", id);
                    }
                }
            }
            prop_assert_eq!(&written[..read.len()], &read[..]);
            prop_assert_eq!(written.len() as u64, read.len() as u64 + p.unread());
        }
    }
}
