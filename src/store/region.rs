//! One contiguous reservation of virtual memory, for the arena's pages.
//!
//! With every page in one range, a small record's location is its byte
//! offset in the range divided by 8, so reaching a record is a shift and an
//! add, with no table of page addresses to read first. That matters because
//! a get reaches four records: its own, its two LRU neighbours and the old
//! head. The range's length is part of [`Region`]'s type, so the compiler
//! proves every record header in bounds and drops those checks too.
//!
//! The range is mapped readable and writable without reserving swap
//! (`MAP_NORESERVE`), so it costs address space only (16 GiB of the 128 TiB
//! a 64-bit process has): the kernel backs a 4 KiB page with memory on its
//! first write. [`Region::discard`] hands back the memory of a released
//! page or a large freed chunk at once; the range stays mapped and reads as
//! zeros until written again.
//!
//! # Discarding, and why it is sound
//!
//! The store reads possibly stale record headers on purpose (`is_live` on
//! a location an old expiry-heap pair names), so discarded bytes must be
//! ordinary memory afterwards, and they must change only while nothing
//! borrows them. Each system gets the one strategy that guarantees both:
//!
//! - Linux: `madvise(MADV_DONTNEED)`. On a private anonymous mapping it
//!   frees the pages before it returns, and they read as zeros from then
//!   on (madvise(2)).
//! - Elsewhere: `mmap(MAP_FIXED)` of fresh anonymous memory over the pages,
//!   which replaces them (and frees the old ones) before it returns; they
//!   read as zeros too. `MADV_FREE` is not used: it frees lazily, so the
//!   kernel may zero a page at any later moment, while a shared borrow of
//!   the range is alive, and a read would see bytes change under it.
//! - Windows: decommit the pages and commit them again (`VirtualFree`,
//!   `VirtualAlloc`), which frees them before it returns; they read as
//!   zeros. The whole range is committed up front there (the `windows`
//!   module says why and what it costs).
//!
//! Either way the bytes change inside [`Region::discard`], which holds
//! `&mut self`, so no reference into the range is alive; after it they are
//! zeros, and a stale header read later sees zeros (not live) or whatever
//! was written since: defined bytes every time.
//!
//! The range never uses transparent huge pages, even where the system
//! turns them on for everything: a 2 MiB page would keep up to eight
//! released pages resident, and the kernel's background collapsing would
//! bring discarded ones back, so RSS would drift far above the cap.
//!
//! This module and its `unsafe` blocks are the only code that touches the
//! mapping; everything else sees it as a byte slice, bounds-checked.

use std::ptr::NonNull;

/// An owned, readable and writable, anonymous memory mapping of exactly
/// `BYTES` bytes. The length is part of the type, so the compiler sees it
/// at every index and drops the bounds checks it can prove.
#[derive(Debug)]
pub(super) struct Region<const BYTES: usize> {
    ptr: NonNull<[u8; BYTES]>,
}

// SAFETY: a `Region` owns its mapping exclusively, as a `Box<[u8]>` owns
// its allocation; the mapping is plain memory, usable from any thread.
// (Not `Sync`: nothing shares a store between threads.)
unsafe impl<const BYTES: usize> Send for Region<BYTES> {}

impl<const BYTES: usize> Region<BYTES> {
    /// Maps the range.
    ///
    /// # Errors
    /// If the system refuses: the mapping needs `BYTES` of address space
    /// (not memory), which an address-space limit (`ulimit -v`) can deny.
    pub(super) fn reserve() -> std::io::Result<Region<BYTES>> {
        const { assert!(BYTES > 0, "an empty region maps nothing") };
        // SAFETY: a fresh mapping at an address of the system's choosing
        // aliases nothing; the result is checked.
        let ptr = unsafe { map_fresh(BYTES) }.map_err(|error| {
            std::io::Error::new(
                error.kind(),
                format!("reserving {BYTES} bytes of address space for the store's pages: {error}"),
            )
        })?;
        Ok(Region {
            ptr: NonNull::new(ptr.cast()).expect("a successful mapping is not null"),
        })
    }

    /// The whole range.
    #[inline(always)]
    pub(super) fn bytes(&self) -> &[u8; BYTES] {
        // SAFETY: the mapping is `BYTES` long, readable, initialised
        // (anonymous memory reads as zeros) and lives as long as `self`.
        unsafe { self.ptr.as_ref() }
    }

    /// The whole range, mutably.
    #[inline(always)]
    pub(super) fn bytes_mut(&mut self) -> &mut [u8; BYTES] {
        // SAFETY: as in `bytes`, and `&mut self` makes the borrow unique.
        unsafe { self.ptr.as_mut() }
    }

    /// Gives back to the system the memory of every whole system page
    /// inside `start..start + len_bytes`; those bytes read as zeros
    /// afterwards (see "Discarding" in the module docs).
    pub(super) fn discard(&mut self, start: usize, len_bytes: usize) {
        let page_bytes = system_page_bytes();
        let from = start.next_multiple_of(page_bytes);
        let to = (start + len_bytes) / page_bytes * page_bytes;
        if from >= to {
            return;
        }
        let range = &mut self.bytes_mut()[from..to];
        // SAFETY: the range is whole system pages inside the mapping (the
        // slice checked it; the mapping starts at a page) and is borrowed
        // mutably, so no reference into it is alive while its bytes change.
        unsafe { discard_pages(range.as_mut_ptr(), range.len()) };
    }
}

/// Maps `len_bytes` of fresh anonymous memory, readable and writable,
/// without reserving swap, and keeps transparent huge pages off it.
///
/// # Safety
/// None beyond the call itself: the kernel picks an address no one uses.
#[cfg(unix)]
unsafe fn map_fresh(len_bytes: usize) -> std::io::Result<*mut u8> {
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len_bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the whole fresh mapping, which this advice leaves as is.
    unsafe { advise_range(ptr as usize, len_bytes, NO_HUGE) };
    Ok(ptr.cast())
}

/// Frees the memory of whole pages of a private anonymous mapping, which
/// then read as zeros: `MADV_DONTNEED` does exactly that on Linux, before
/// it returns.
///
/// # Safety
/// `start..start + len_bytes` is whole pages of such a mapping, owned by
/// the caller, and nothing borrows it.
#[cfg(target_os = "linux")]
unsafe fn discard_pages(start: *mut u8, len_bytes: usize) {
    // SAFETY: as the caller promised; the advice keeps the range mapped.
    unsafe { advise_range(start as usize, len_bytes, libc::MADV_DONTNEED) };
}

/// Frees the memory of whole pages of a private anonymous mapping, which
/// then read as zeros: fresh anonymous pages mapped over them (`MAP_FIXED`)
/// replace them before the call returns, wherever `MADV_DONTNEED` lacks
/// Linux's guarantee of zeros.
///
/// # Safety
/// As for the Linux version.
#[cfg(all(unix, not(target_os = "linux")))]
unsafe fn discard_pages(start: *mut u8, len_bytes: usize) {
    // SAFETY: the range is ours and unborrowed (the caller's promise), so
    // replacing its pages changes nothing anyone holds.
    let ptr = unsafe {
        libc::mmap(
            start.cast(),
            len_bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if ptr != start.cast() {
        // A failed MAP_FIXED may leave a hole where the pages were, and the
        // store would fault on its next touch there: stop now, with a cause.
        eprintln!(
            "remapping {len_bytes} bytes of the store's pages failed: {}",
            std::io::Error::last_os_error()
        );
        std::process::abort();
    }
}

/// The system's page size: 4 KiB on x86-64, 16 or 64 KiB on some aarch64
/// systems.
#[cfg(unix)]
fn system_page_bytes() -> usize {
    static PAGE_BYTES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // SAFETY: sysconf reads a constant of the system.
    *PAGE_BYTES.get_or_init(|| match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        bytes if bytes > 0 => bytes as usize,
        _ => 4096,
    })
}

/// `madvise` on `start..start + len_bytes`.
///
/// # Safety
/// The range starts at a page and is mapped memory the caller owns; if
/// `advice` can change its bytes (`MADV_DONTNEED`), nothing may borrow it.
#[cfg(unix)]
unsafe fn advise_range(start: usize, len_bytes: usize, advice: libc::c_int) {
    // SAFETY: as the caller promised.
    let result = unsafe { libc::madvise(start as *mut libc::c_void, len_bytes, advice) };
    debug_assert_eq!(result, 0, "madvise({advice}) of a mapped range");
}

/// `MADV_NOHUGEPAGE` where it exists (Linux); a harmless no-op elsewhere.
#[cfg(target_os = "linux")]
const NO_HUGE: libc::c_int = libc::MADV_NOHUGEPAGE;
#[cfg(all(unix, not(target_os = "linux")))]
const NO_HUGE: libc::c_int = libc::MADV_NORMAL;

#[cfg(unix)]
impl<const BYTES: usize> Drop for Region<BYTES> {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and nothing borrows it any more.
        let result = unsafe { libc::munmap(self.ptr.as_ptr().cast(), BYTES) };
        debug_assert_eq!(result, 0, "munmap of our own mapping");
    }
}

#[cfg(windows)]
mod windows {
    //! Windows: `VirtualAlloc` commits the range up front (Windows has no
    //! overcommit: an uncommitted page faults on touch), which charges
    //! `BYTES` against the commit limit (memory plus page file) but uses
    //! no memory until a page is first written, when it reads as zeros.
    //! Discarding decommits whole pages and commits them again: the memory
    //! goes back at once and the pages read as zeros, as on Linux.

    use windows_sys::Win32::System::Memory::{
        MEM_COMMIT, MEM_DECOMMIT, MEM_RELEASE, MEM_RESERVE, PAGE_READWRITE, VirtualAlloc,
        VirtualFree,
    };

    /// Reserves and commits `len_bytes` of zeroed memory.
    ///
    /// # Safety
    /// None beyond the call itself: Windows picks an address no one uses.
    pub(super) unsafe fn map_fresh(len_bytes: usize) -> std::io::Result<*mut u8> {
        // SAFETY: a fresh allocation at an address of the system's choosing.
        let ptr = unsafe {
            VirtualAlloc(
                std::ptr::null(),
                len_bytes,
                MEM_RESERVE | MEM_COMMIT,
                PAGE_READWRITE,
            )
        };
        if ptr.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        Ok(ptr.cast())
    }

    /// Frees whole pages' memory; they read as zeros afterwards.
    ///
    /// # Safety
    /// As for the Linux version.
    pub(super) unsafe fn discard_pages(start: *mut u8, len_bytes: usize) {
        // SAFETY: the range is whole pages of our committed allocation and
        // nothing borrows it, so its pages may vanish and come back as zeros.
        let recommitted = unsafe {
            VirtualFree(start.cast(), len_bytes, MEM_DECOMMIT) != 0
                && VirtualAlloc(start.cast(), len_bytes, MEM_COMMIT, PAGE_READWRITE) == start.cast()
        };
        if !recommitted {
            // The store would fault on its next touch of these pages: stop
            // now, with a cause.
            eprintln!(
                "recommitting {len_bytes} bytes of the store's pages failed: {}",
                std::io::Error::last_os_error()
            );
            std::process::abort();
        }
    }

    /// The system's page size (4 KiB on x86-64 and aarch64 Windows).
    pub(super) fn system_page_bytes() -> usize {
        use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};
        // SAFETY: GetSystemInfo fills the struct it is given; all-zero
        // bytes are a valid SYSTEM_INFO (plain integers and pointers).
        let info = unsafe {
            let mut info: SYSTEM_INFO = std::mem::zeroed();
            GetSystemInfo(&mut info);
            info
        };
        match info.dwPageSize {
            0 => 4096,
            bytes => bytes as usize,
        }
    }

    /// Gives the whole allocation back.
    ///
    /// # Safety
    /// `ptr` is the start of an allocation from [`map_fresh`] that nothing
    /// borrows any more.
    pub(super) unsafe fn unmap(ptr: *mut u8) {
        // SAFETY: as the caller promised; MEM_RELEASE takes a size of 0.
        let released = unsafe { VirtualFree(ptr.cast(), 0, MEM_RELEASE) };
        debug_assert_ne!(released, 0, "VirtualFree of our own allocation");
    }
}

#[cfg(windows)]
use windows::{discard_pages, map_fresh, system_page_bytes};

#[cfg(windows)]
impl<const BYTES: usize> Drop for Region<BYTES> {
    fn drop(&mut self) {
        // SAFETY: the allocation is ours and nothing borrows it any more.
        unsafe { windows::unmap(self.ptr.as_ptr().cast()) };
    }
}

#[cfg(test)]
mod tests {
    use super::Region;

    const UNIT: usize = 256 * 1024;

    #[test]
    fn a_region_reads_zeros_and_keeps_what_is_written() {
        let mut region = Region::<{ 4 * UNIT }>::reserve().expect("address space");
        assert!(region.bytes().iter().step_by(4096).all(|&byte| byte == 0));
        region.bytes_mut()[UNIT + 7] = 42;
        assert_eq!(region.bytes()[UNIT + 7], 42);
    }

    #[test]
    fn a_discarded_range_reads_zeros_and_the_rest_is_kept() {
        let mut region = Region::<{ 2 * UNIT }>::reserve().expect("address space");
        let page_bytes = super::system_page_bytes();
        for at in [3, page_bytes, UNIT - 1, UNIT + 3] {
            region.bytes_mut()[at] = 1;
        }
        // Only whole system pages inside the range go: the first one holds
        // byte 3, which is outside it.
        region.discard(4, UNIT - 4);
        let kept = |at: usize| region.bytes()[at];
        assert_eq!(
            [kept(3), kept(page_bytes), kept(UNIT - 1), kept(UNIT + 3)],
            [1, 0, 0, 1]
        );
    }

    /// Resident memory of this process, from /proc.
    #[cfg(target_os = "linux")]
    fn rss_bytes() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc");
        let line = status.lines().find(|line| line.starts_with("VmRSS:"));
        let kib = line.and_then(|line| line.split_whitespace().nth(1));
        kib.and_then(|kib| kib.parse::<usize>().ok())
            .expect("VmRSS")
            * 1024
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_huge_region_costs_address_space_only() {
        let before = rss_bytes();
        // 64 GiB: far more than this machine's memory; two bytes written.
        let mut region = Region::<{ 1 << 36 }>::reserve().expect("address space");
        region.bytes_mut()[0] = 1;
        region.bytes_mut()[(1 << 36) - 1] = 1;
        // Other tests run beside this one, so allow them some growth.
        assert!(
            rss_bytes() < before + (64 << 20),
            "{before} -> {}",
            rss_bytes()
        );
    }
}
