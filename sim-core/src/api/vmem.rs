//! kernel32's process-memory functions: VirtualAlloc, VirtualFree, VirtualQuery,
//! VirtualProtect and the heap functions (docs/semantics.md §29).
//!
//! Addresses are simulated addresses (`usize`), read and written with
//! `ThreadCtx::read_memory`/`write_memory` and the Interlocked family exactly as views
//! are. A heap handle is the heap's base address, as on Windows, so it is a `usize` here
//! too (not a kernel `HANDLE`).

use super::kernel32::{ThreadCtx, bool_of};
use crate::kernel::request::{Request, Value};
use crate::types::*;

impl ThreadCtx {
    /// VirtualAlloc (learn.microsoft.com/en-us/windows/win32/api/memoryapi/nf-memoryapi-virtualalloc):
    /// MEM_RESERVE reserves `dw_size` bytes (rounded up to pages) at a 64 KiB-aligned
    /// address (`lp_address` rounded down, or one winsim picks when 0); MEM_COMMIT commits
    /// pages inside an existing reservation or view (with no address, it reserves too);
    /// both at once do both; MEM_RESET checks the range and keeps the contents. Committed
    /// pages read as zeros. Returns the base address, or 0 with ERROR_INVALID_PARAMETER
    /// (bad flags or protection, size 0), ERROR_INVALID_ADDRESS (committing outside a
    /// reservation, reserving over an allocation), ERROR_NOT_ENOUGH_MEMORY (no room in the
    /// address space) or ERROR_COMMITMENT_LIMIT (past `Config::private_bytes_max`)
    /// (§§29.1-29.7). On a view of a SEC_RESERVE section, MEM_COMMIT commits the section's
    /// pages for every view (§29.14).
    #[must_use]
    pub async fn virtual_alloc(
        &self,
        lp_address: usize,
        dw_size: usize,
        fl_allocation_type: u32,
        fl_protect: u32,
    ) -> usize {
        let req = Request::VirtualAlloc {
            address: lp_address as u64,
            size: dw_size as u64,
            allocation_type: fl_allocation_type,
            protect: fl_protect,
        };
        match self.call(req).await {
            r if r.status.succeeded() => match r.value {
                Value::Ptr(p) => p as usize,
                v => {
                    self.mismatch(crate::kernel::request::Api::VirtualAlloc, &v);
                    0
                }
            },
            _ => 0,
        }
    }

    /// VirtualFree (learn.microsoft.com/en-us/windows/win32/api/memoryapi/nf-memoryapi-virtualfree):
    /// MEM_DECOMMIT decommits the pages of `[lp_address, lp_address + dw_size)` (size 0: to
    /// the end of the reservation); MEM_RELEASE releases the whole reservation, given its
    /// base and size 0. FALSE with ERROR_INVALID_PARAMETER for another free type, a
    /// release with a size, or an address in a view; ERROR_INVALID_ADDRESS for an address
    /// no reservation holds or a release not at the base (§29.8).
    #[must_use]
    pub async fn virtual_free(&self, lp_address: usize, dw_size: usize, dw_free_type: u32) -> BOOL {
        let req = Request::VirtualFree { address: lp_address as u64, size: dw_size as u64, free_type: dw_free_type };
        bool_of(&self.call(req).await)
    }

    /// VirtualQuery (learn.microsoft.com/en-us/windows/win32/api/memoryapi/nf-memoryapi-virtualquery):
    /// fills `lp_buffer` with the run of pages from `lp_address` (rounded down to a page)
    /// that share state, protection and allocation: private memory, a view, or free
    /// memory. Returns the bytes written (48), or 0 with ERROR_INVALID_PARAMETER for an
    /// address past the user address space, ERROR_BAD_LENGTH for `dw_length` under 48
    /// (§§29.11-29.12).
    #[must_use]
    pub async fn virtual_query(
        &self,
        lp_address: usize,
        lp_buffer: &mut MEMORY_BASIC_INFORMATION,
        dw_length: usize,
    ) -> usize {
        let req = Request::VirtualQuery { address: lp_address as u64, length: dw_length as u64 };
        let r = self.call(req).await;
        match r.value {
            Value::MemInfo(m) if r.status.succeeded() => {
                *lp_buffer = *m;
                crate::objects::vmem::MEMORY_BASIC_INFORMATION_SIZE as usize
            }
            _ => 0,
        }
    }

    /// VirtualProtect (learn.microsoft.com/en-us/windows/win32/api/memoryapi/nf-memoryapi-virtualprotect):
    /// sets the protection of the committed pages of `[lp_address, lp_address + dw_size)`
    /// and stores the first page's previous protection in `lpfl_old_protect`. FALSE with
    /// ERROR_INVALID_ADDRESS when a page is not committed or the range leaves its
    /// allocation, ERROR_INVALID_PARAMETER for a bad protection or one a view does not
    /// allow (§29.13). A store to a page made read-only or PAGE_NOACCESS ends the run with
    /// `Outcome::AccessViolation`.
    #[must_use]
    pub async fn virtual_protect(
        &self,
        lp_address: usize,
        dw_size: usize,
        fl_new_protect: u32,
        lpfl_old_protect: &mut u32,
    ) -> BOOL {
        let req =
            Request::VirtualProtect { address: lp_address as u64, size: dw_size as u64, new_protect: fl_new_protect };
        let r = self.call(req).await;
        if let (true, Value::Out(old)) = (r.status.succeeded(), &r.value) {
            *lpfl_old_protect = *old;
        }
        bool_of(&r)
    }

    async fn call_addr(&self, req: Request) -> usize {
        let api = req.api();
        let r = self.call(req).await;
        match r.value {
            Value::Ptr(p) if r.status.succeeded() => p as usize,
            v if r.status.succeeded() => {
                self.mismatch(api, &v);
                0
            }
            _ => 0,
        }
    }

    /// GetProcessHeap (learn.microsoft.com/en-us/windows/win32/api/heapapi/nf-heapapi-getprocessheap):
    /// the process's default heap (a growable heap winsim makes at the first call, §29.15).
    #[must_use]
    pub async fn get_process_heap(&self) -> usize {
        self.call_addr(Request::GetProcessHeap {}).await
    }

    /// HeapCreate (learn.microsoft.com/en-us/windows/win32/api/heapapi/nf-heapapi-heapcreate):
    /// a private heap; `dw_maximum_size` 0 makes it growable, otherwise it is fixed at that
    /// size. 0 (NULL) with ERROR_INVALID_PARAMETER when the initial size exceeds a nonzero
    /// maximum, ERROR_NOT_ENOUGH_MEMORY when memory runs out (§29.16).
    #[must_use]
    pub async fn heap_create(&self, fl_options: u32, dw_initial_size: usize, dw_maximum_size: usize) -> usize {
        let req = Request::HeapCreate {
            options: fl_options,
            initial_size: dw_initial_size as u64,
            maximum_size: dw_maximum_size as u64,
        };
        self.call_addr(req).await
    }

    /// HeapDestroy (learn.microsoft.com/en-us/windows/win32/api/heapapi/nf-heapapi-heapdestroy):
    /// releases the heap and all its blocks. FALSE with ERROR_INVALID_HANDLE for the
    /// process heap; a value that is no heap ends the run as heap corruption (§29.16).
    #[must_use]
    pub async fn heap_destroy(&self, h_heap: usize) -> BOOL {
        bool_of(&self.call(Request::HeapDestroy { heap: h_heap as u64 }).await)
    }

    /// HeapAlloc (learn.microsoft.com/en-us/windows/win32/api/heapapi/nf-heapapi-heapalloc):
    /// a block of `dw_bytes` bytes, 16-byte aligned, zeroed with HEAP_ZERO_MEMORY. On
    /// failure 0 (NULL) without setting the last error, or, with HEAP_GENERATE_EXCEPTIONS,
    /// the STATUS_NO_MEMORY exception, which ends the run (§29.17).
    #[must_use]
    pub async fn heap_alloc(&self, h_heap: usize, dw_flags: u32, dw_bytes: usize) -> usize {
        self.call_addr(Request::HeapAlloc { heap: h_heap as u64, flags: dw_flags, bytes: dw_bytes as u64 }).await
    }

    /// HeapFree (learn.microsoft.com/en-us/windows/win32/api/heapapi/nf-heapapi-heapfree):
    /// frees a block (NULL: TRUE, nothing done). Freeing a pointer that is no live block
    /// of the heap (a double free) ends the run as heap corruption (§§29.18-29.19).
    #[must_use]
    pub async fn heap_free(&self, h_heap: usize, dw_flags: u32, lp_mem: usize) -> BOOL {
        bool_of(&self.call(Request::HeapFree { heap: h_heap as u64, flags: dw_flags, mem: lp_mem as u64 }).await)
    }

    /// HeapReAlloc (learn.microsoft.com/en-us/windows/win32/api/heapapi/nf-heapapi-heaprealloc):
    /// resizes a block, in place when it can (HEAP_REALLOC_IN_PLACE_ONLY: only then),
    /// otherwise by moving its bytes to a new block; HEAP_ZERO_MEMORY zeroes the bytes
    /// added. Fails as HeapAlloc does (§29.18).
    #[must_use]
    pub async fn heap_re_alloc(&self, h_heap: usize, dw_flags: u32, lp_mem: usize, dw_bytes: usize) -> usize {
        let req =
            Request::HeapReAlloc { heap: h_heap as u64, flags: dw_flags, mem: lp_mem as u64, bytes: dw_bytes as u64 };
        self.call_addr(req).await
    }

    /// HeapSize (learn.microsoft.com/en-us/windows/win32/api/heapapi/nf-heapapi-heapsize):
    /// the size asked for the block; usize::MAX ((SIZE_T)-1) without a last error for a
    /// pointer that is no live block (§29.18).
    #[must_use]
    pub async fn heap_size(&self, h_heap: usize, dw_flags: u32, lp_mem: usize) -> usize {
        let r = self.call(Request::HeapSize { heap: h_heap as u64, flags: dw_flags, mem: lp_mem as u64 }).await;
        match r.value {
            Value::Long(v) if r.status.succeeded() => v as usize,
            _ => usize::MAX,
        }
    }
}
