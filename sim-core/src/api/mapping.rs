//! kernel32's file-mapping functions (CreateFileMapping, OpenFileMapping, MapViewOfFile(Ex),
//! UnmapViewOfFile, FlushViewOfFile), the Interlocked family and MemoryBarrier, and the
//! loads and stores a simulated thread makes to simulated memory (docs/semantics.md §19).
//!
//! Simulated memory exists only in views of sections: an address is a `usize` in the
//! simulated process's address space, not a host pointer. Each load, store or interlocked
//! operation is a kernel call (a schedule point, traced). Memory is sequentially
//! consistent: the scheduler's order of those calls is the order every thread observes.
//! Touching an address no view maps, writing through a read-only view, or touching a
//! PAGE_NOACCESS view or a SEC_RESERVE view ends the run with `Outcome::AccessViolation`,
//! as the unhandled EXCEPTION_ACCESS_VIOLATION ends a Windows process.

use super::kernel32::{ThreadCtx, bool_of, done};
use crate::kernel::request::{Api, MemoryAccess, Request, Value};
use crate::trace::Ret;
use crate::types::*;

/// The naturally aligned parts an access of `len` bytes at `addr` is split into: each at
/// most `atomic` bytes (a power of two), aligned to its own size. Lazy: a huge access
/// costs one part at a time (and `steps_max` bounds how many are made).
fn parts(addr: u64, len: usize, atomic: u32) -> impl Iterator<Item = (u64, usize)> {
    let atomic = u64::from(atomic.clamp(1, 4096));
    let atomic = 1u64 << (63 - atomic.leading_zeros());
    // An access that wraps past the top of the address space is one access, which faults.
    let (mut a, end, whole) = match addr.checked_add(len as u64) {
        Some(end) => (addr, end, false),
        None => (addr, addr, true),
    };
    let mut wrapped = whole.then_some((addr, len));
    std::iter::from_fn(move || {
        if let Some(w) = wrapped.take() {
            return Some(w);
        }
        if a >= end {
            return None;
        }
        let mut n = atomic;
        while n > 1 && (a % n != 0 || a.checked_add(n).is_none_or(|e| e > end)) {
            n /= 2;
        }
        let part = (a, n as usize);
        a += n;
        Some(part)
    })
}

impl ThreadCtx {
    /// CreateFileMapping (learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-createfilemappinga)
    /// with `h_file` INVALID_HANDLE_VALUE: a pagefile-backed section of
    /// `maximum_size_high:maximum_size_low` bytes (rounded up to pages, zero-filled),
    /// named in the kernel-object namespace or unnamed. `fl_protect` is PAGE_READONLY,
    /// PAGE_READWRITE, PAGE_WRITECOPY or a PAGE_EXECUTE_* protection, optionally with
    /// SEC_COMMIT or SEC_RESERVE (§§19.1-19.9). Sets the last error to 0 on creation and to
    /// ERROR_ALREADY_EXISTS when the name exists (the existing section, its size kept);
    /// NULL with ERROR_INVALID_HANDLE for a name another type holds, ERROR_INVALID_PARAMETER
    /// for a bad protection or size 0, ERROR_NOT_ENOUGH_MEMORY for a size no address space
    /// could map. A real file handle (a file-backed mapping) and SEC_LARGE_PAGES end the
    /// run as `Outcome::Unsupported`.
    #[must_use]
    pub async fn create_file_mapping(
        &self,
        h_file: HANDLE,
        file_mapping_attributes: Option<&SECURITY_ATTRIBUTES>,
        fl_protect: u32,
        maximum_size_high: u32,
        maximum_size_low: u32,
        name: Option<&str>,
    ) -> HANDLE {
        let req = Request::CreateFileMapping {
            args: Box::new(crate::kernel::request::boxed::CreateFileMapping {
                file: h_file,
                inherit: file_mapping_attributes.is_some_and(|s| s.bInheritHandle),
                protect: fl_protect,
                maximum_size: (u64::from(maximum_size_high) << 32) | u64::from(maximum_size_low),
                name: name.map(str::to_string),
            }),
        };
        self.call_handle(req).await
    }

    /// OpenFileMapping (learn.microsoft.com/en-us/windows/win32/api/memoryapi/nf-memoryapi-openfilemappingw):
    /// a handle to the named section with `desired_access` (FILE_MAP_READ, FILE_MAP_WRITE,
    /// FILE_MAP_ALL_ACCESS, FILE_MAP_EXECUTE; FILE_MAP_COPY means read). NULL with
    /// ERROR_FILE_NOT_FOUND for an unknown name (names are case-sensitive),
    /// ERROR_INVALID_HANDLE for another type's name, ERROR_ACCESS_DENIED for access 0
    /// (§§19.3-19.5).
    #[must_use]
    pub async fn open_file_mapping(&self, desired_access: u32, inherit_handle: bool, name: Option<&str>) -> HANDLE {
        let req = Request::OpenFileMapping {
            access: desired_access,
            inherit: inherit_handle,
            name: name.map(str::to_string),
        };
        self.call_handle(req).await
    }

    /// MapViewOfFile (learn.microsoft.com/en-us/windows/win32/api/memoryapi/nf-memoryapi-mapviewoffile):
    /// maps `number_of_bytes_to_map` bytes (0: to the end of the section) from the
    /// 64 KiB-aligned offset at a fresh 64 KiB-aligned address of this process, with the
    /// protection `desired_access` implies (FILE_MAP_COPY alone: copy-on-write; §19.10).
    /// Returns the address, or 0 (NULL) with ERROR_ACCESS_DENIED (access the handle or the
    /// section's protection does not allow, or a size past the end), ERROR_MAPPED_ALIGNMENT
    /// (misaligned offset), ERROR_INVALID_HANDLE (§§19.10-19.14).
    #[must_use]
    pub async fn map_view_of_file(
        &self,
        h_file_mapping_object: HANDLE,
        desired_access: u32,
        file_offset_high: u32,
        file_offset_low: u32,
        number_of_bytes_to_map: usize,
    ) -> usize {
        let req = Request::MapViewOfFile {
            mapping: h_file_mapping_object,
            access: desired_access,
            offset: (u64::from(file_offset_high) << 32) | u64::from(file_offset_low),
            bytes: number_of_bytes_to_map as u64,
        };
        self.call_ptr(req).await
    }

    /// MapViewOfFileEx (learn.microsoft.com/en-us/windows/win32/api/memoryapi/nf-memoryapi-mapviewoffileex):
    /// MapViewOfFile at `base_address` when it is not 0: ERROR_MAPPED_ALIGNMENT when it is
    /// not 64 KiB-aligned, ERROR_INVALID_ADDRESS when a view is there already (§19.15).
    #[must_use]
    pub async fn map_view_of_file_ex(
        &self,
        h_file_mapping_object: HANDLE,
        desired_access: u32,
        file_offset_high: u32,
        file_offset_low: u32,
        number_of_bytes_to_map: usize,
        base_address: usize,
    ) -> usize {
        let req = Request::MapViewOfFileEx {
            mapping: h_file_mapping_object,
            access: desired_access,
            offset: (u64::from(file_offset_high) << 32) | u64::from(file_offset_low),
            bytes: number_of_bytes_to_map as u64,
            base: base_address as u64,
        };
        self.call_ptr(req).await
    }

    async fn call_ptr(&self, req: Request) -> usize {
        let api = req.api();
        let r = self.call(req).await;
        if r.status.succeeded() && !matches!(r.value, Value::Ptr(_)) {
            self.mismatch(api, &r.value);
            return 0;
        }
        match r.ret(api.ret_kind()) {
            Ret::Ptr(p) => p as usize,
            _ => 0,
        }
    }

    /// UnmapViewOfFile (learn.microsoft.com/en-us/windows/win32/api/memoryapi/nf-memoryapi-unmapviewoffile):
    /// unmaps the view containing `base_address` (any address inside it, §19.17); FALSE
    /// with ERROR_INVALID_ADDRESS for an address no view contains (§19.16). The section
    /// lives on while a handle or another view refers to it (§19.18).
    #[must_use]
    pub async fn unmap_view_of_file(&self, base_address: usize) -> BOOL {
        bool_of(&self.call(Request::UnmapViewOfFile { base: base_address as u64 }).await)
    }

    /// FlushViewOfFile (learn.microsoft.com/en-us/windows/win32/api/memoryapi/nf-memoryapi-flushviewoffile):
    /// TRUE for an address inside a view (a pagefile-backed view has nothing to write
    /// back); FALSE with ERROR_INVALID_ADDRESS otherwise \[inferred\] (§19.26).
    #[must_use]
    pub async fn flush_view_of_file(&self, base_address: usize, number_of_bytes_to_flush: usize) -> BOOL {
        let req = Request::FlushViewOfFile { base: base_address as u64, bytes: number_of_bytes_to_flush as u64 };
        bool_of(&self.call(req).await)
    }

    // ----- loads and stores ---------------------------------------------------------

    fn atomic_bytes(&self) -> u32 {
        self.kernel.borrow().config.memory_atomic_bytes
    }

    /// Reads `buffer.len()` bytes of simulated memory at `address` (what a `memcpy` out of
    /// a view does). The access is split into naturally aligned parts of at most
    /// `Config::memory_atomic_bytes` bytes, each one kernel call with a schedule point
    /// between them, so a read wider than that, or misaligned, can see another thread's
    /// write half done (§19.24). An address no readable view maps ends the run with
    /// `Outcome::AccessViolation` (§19.23). Reading 0 bytes makes no call.
    pub async fn read_memory(&self, address: usize, buffer: &mut [u8]) {
        let mut at = 0usize;
        for (a, n) in parts(address as u64, buffer.len(), self.atomic_bytes()) {
            let len = u32::try_from(n).unwrap_or(u32::MAX);
            let whole = MemoryAccess { address: address as u64, len: buffer.len() as u64 };
            let r = self.call(Request::ReadMemory { address: a, len, whole }).await;
            match done(r) {
                Some(Value::Read(d)) if d.len() == n => buffer[at..at + n].copy_from_slice(&d),
                Some(v) => self.mismatch(Api::ReadMemory, &v),
                None => return,
            }
            at += n;
        }
    }

    /// Writes `data` to simulated memory at `address`, split as `read_memory` splits
    /// (§19.24). Writing through a read-only or PAGE_NOACCESS view, or where no view is,
    /// ends the run with `Outcome::AccessViolation` (§19.23); through a copy-on-write view
    /// it writes the view's private copy (§19.22). Writing 0 bytes makes no call.
    pub async fn write_memory(&self, address: usize, data: &[u8]) {
        let mut at = 0usize;
        for (a, n) in parts(address as u64, data.len(), self.atomic_bytes()) {
            let whole = MemoryAccess { address: address as u64, len: data.len() as u64 };
            let r = self
                .call(Request::WriteMemory {
                    args: Box::new(crate::kernel::request::boxed::WriteMemory {
                        address: a,
                        data: data[at..at + n].to_vec(),
                        whole,
                    }),
                })
                .await;
            if !r.status.succeeded() {
                return;
            }
            at += n;
        }
    }

    /// Reads a byte of simulated memory.
    pub async fn read_u8(&self, address: usize) -> u8 {
        let mut b = [0u8; 1];
        self.read_memory(address, &mut b).await;
        b[0]
    }

    /// Reads a little-endian u16 (atomic when 2-byte aligned).
    pub async fn read_u16(&self, address: usize) -> u16 {
        let mut b = [0u8; 2];
        self.read_memory(address, &mut b).await;
        u16::from_le_bytes(b)
    }

    /// Reads a little-endian u32 (atomic when 4-byte aligned).
    pub async fn read_u32(&self, address: usize) -> u32 {
        let mut b = [0u8; 4];
        self.read_memory(address, &mut b).await;
        u32::from_le_bytes(b)
    }

    /// Reads a little-endian u64 (atomic when 8-byte aligned, with the default
    /// `memory_atomic_bytes`).
    pub async fn read_u64(&self, address: usize) -> u64 {
        let mut b = [0u8; 8];
        self.read_memory(address, &mut b).await;
        u64::from_le_bytes(b)
    }

    /// Writes a byte of simulated memory.
    pub async fn write_u8(&self, address: usize, value: u8) {
        self.write_memory(address, &[value]).await
    }

    /// Writes a little-endian u16 (atomic when 2-byte aligned).
    pub async fn write_u16(&self, address: usize, value: u16) {
        self.write_memory(address, &value.to_le_bytes()).await
    }

    /// Writes a little-endian u32 (atomic when 4-byte aligned).
    pub async fn write_u32(&self, address: usize, value: u32) {
        self.write_memory(address, &value.to_le_bytes()).await
    }

    /// Writes a little-endian u64 (atomic when 8-byte aligned, with the default
    /// `memory_atomic_bytes`).
    pub async fn write_u64(&self, address: usize, value: u64) {
        self.write_memory(address, &value.to_le_bytes()).await
    }

    // ----- interlocked operations ---------------------------------------------------

    async fn interlocked(&self, req: Request) -> i64 {
        let api = req.api();
        match done(self.call(req).await) {
            Some(Value::Long(v)) => v,
            Some(v) => {
                self.mismatch(api, &v);
                0
            }
            None => 0,
        }
    }

    /// InterlockedIncrement (learn.microsoft.com/en-us/windows/win32/api/winnt/nf-winnt-interlockedincrement):
    /// adds 1 to the LONG at `addend` in one atomic step; returns the new value (§19.25).
    /// Like every interlocked operation, it needs a writable view (else an access
    /// violation) and wraps on overflow.
    pub async fn interlocked_increment(&self, addend: usize) -> i32 {
        self.interlocked(Request::InterlockedIncrement { address: addend as u64 }).await as i32
    }

    /// InterlockedDecrement: subtracts 1 atomically; returns the new value (§19.25).
    pub async fn interlocked_decrement(&self, addend: usize) -> i32 {
        self.interlocked(Request::InterlockedDecrement { address: addend as u64 }).await as i32
    }

    /// InterlockedExchange: stores `value` atomically; returns the initial value (§19.25).
    pub async fn interlocked_exchange(&self, target: usize, value: i32) -> i32 {
        self.interlocked(Request::InterlockedExchange { address: target as u64, value }).await as i32
    }

    /// InterlockedExchangeAdd: adds `value` atomically; returns the initial value (§19.25).
    pub async fn interlocked_exchange_add(&self, addend: usize, value: i32) -> i32 {
        self.interlocked(Request::InterlockedExchangeAdd { address: addend as u64, value }).await as i32
    }

    /// InterlockedCompareExchange: stores `exchange` if the value equals `comparand`, in
    /// one atomic step; returns the initial value (§19.25).
    pub async fn interlocked_compare_exchange(&self, destination: usize, exchange: i32, comparand: i32) -> i32 {
        let req = Request::InterlockedCompareExchange { address: destination as u64, exchange, comparand };
        self.interlocked(req).await as i32
    }

    /// InterlockedAnd: ANDs `value` in atomically; returns the initial value (§19.25).
    pub async fn interlocked_and(&self, destination: usize, value: i32) -> i32 {
        self.interlocked(Request::InterlockedAnd { address: destination as u64, value }).await as i32
    }

    /// InterlockedOr: ORs `value` in atomically; returns the initial value (§19.25).
    pub async fn interlocked_or(&self, destination: usize, value: i32) -> i32 {
        self.interlocked(Request::InterlockedOr { address: destination as u64, value }).await as i32
    }

    /// InterlockedIncrement64: returns the new value (§19.25).
    pub async fn interlocked_increment64(&self, addend: usize) -> i64 {
        self.interlocked(Request::InterlockedIncrement64 { address: addend as u64 }).await
    }

    /// InterlockedDecrement64: returns the new value (§19.25).
    pub async fn interlocked_decrement64(&self, addend: usize) -> i64 {
        self.interlocked(Request::InterlockedDecrement64 { address: addend as u64 }).await
    }

    /// InterlockedExchange64: returns the initial value (§19.25).
    pub async fn interlocked_exchange64(&self, target: usize, value: i64) -> i64 {
        self.interlocked(Request::InterlockedExchange64 { address: target as u64, value }).await
    }

    /// InterlockedExchangeAdd64: returns the initial value (§19.25).
    pub async fn interlocked_exchange_add64(&self, addend: usize, value: i64) -> i64 {
        self.interlocked(Request::InterlockedExchangeAdd64 { address: addend as u64, value }).await
    }

    /// InterlockedCompareExchange64: returns the initial value (§19.25).
    pub async fn interlocked_compare_exchange64(&self, destination: usize, exchange: i64, comparand: i64) -> i64 {
        let req = Request::InterlockedCompareExchange64 { address: destination as u64, exchange, comparand };
        self.interlocked(req).await
    }

    /// InterlockedAnd64: returns the initial value (§19.25).
    pub async fn interlocked_and64(&self, destination: usize, value: i64) -> i64 {
        self.interlocked(Request::InterlockedAnd64 { address: destination as u64, value }).await
    }

    /// InterlockedOr64: returns the initial value (§19.25).
    pub async fn interlocked_or64(&self, destination: usize, value: i64) -> i64 {
        self.interlocked(Request::InterlockedOr64 { address: destination as u64, value }).await
    }

    /// MemoryBarrier: a schedule point and nothing else, since simulated memory is
    /// sequentially consistent (§19.25).
    pub async fn memory_barrier(&self) {
        let _ = self.call(Request::MemoryBarrier {}).await;
    }
}

#[cfg(test)]
mod tests {
    use super::parts;

    #[test]
    fn parts_are_naturally_aligned() {
        let p = |a, l, n| parts(a, l, n).collect::<Vec<_>>();
        assert_eq!(p(0x1000, 8, 8), vec![(0x1000, 8)]);
        assert_eq!(p(0x1000, 16, 8), vec![(0x1000, 8), (0x1008, 8)]);
        assert_eq!(p(0x1002, 4, 8), vec![(0x1002, 2), (0x1004, 2)]);
        assert_eq!(p(0x1001, 4, 8), vec![(0x1001, 1), (0x1002, 2), (0x1004, 1)]);
        assert_eq!(p(0x1000, 16, 16), vec![(0x1000, 16)]);
        assert_eq!(p(0x1000, 4, 3), vec![(0x1000, 2), (0x1002, 2)]);
        assert_eq!(p(0x1000, 0, 8), vec![]);
        assert_eq!(p(u64::MAX, 2, 8), vec![(u64::MAX, 2)]);
        // Near the top of the address space a part must not overflow (found by fuzz
        // family 10).
        assert_eq!(p(u64::MAX - 7, 4, 8), vec![(u64::MAX - 7, 4)]);
        // Lazy: a 1 TiB access yields its first part without building the rest.
        assert_eq!(parts(0x1000, 1 << 40, 8).next(), Some((0x1000, 8)));
    }
}
