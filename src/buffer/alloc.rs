//! Memory ferroinit allocates for the allocating forms: aligned, huge pages where the OS offers
//! them, and left untouched so the parallel fill faults the pages in from every thread.

use crate::buffer::element::DType;
use crate::buffer::layout::checked_len;
use crate::error::{Error, Result};
use std::alloc::{alloc, dealloc, Layout as AllocLayout};

/// Allocations of at least this size are 2 MiB-aligned and advised to use transparent huge
/// pages (a 4 KiB first-touch fault per page is most of the cost of a fresh fill).
const HUGE: usize = 4 << 20;
const HUGE_ALIGN: usize = 2 << 20;
/// Cache-line (and AVX-512) alignment for everything else.
const ALIGN: usize = 64;

/// An uninitialized byte buffer owned by Rust; freed exactly once, on drop.
#[derive(Debug)]
pub struct Buffer {
    ptr: *mut u8,
    layout: AllocLayout,
}

// SAFETY: the buffer is plain memory with a single owner.
unsafe impl Send for Buffer {}
unsafe impl Sync for Buffer {}

/// Bytes of a C-contiguous array of `shape` and `dtype`; an error if they cannot be addressed.
pub fn array_bytes(shape: &[usize], dtype: DType) -> Result<usize> {
    checked_len(shape)?
        .checked_mul(dtype.itemsize())
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| Error::Overflow(format!("shape {shape:?} is too large")))
}

impl Buffer {
    pub fn new(bytes: usize) -> Result<Self> {
        let align = if bytes >= HUGE { HUGE_ALIGN } else { ALIGN };
        let size = bytes.max(1).next_multiple_of(align);
        let layout = AllocLayout::from_size_align(size, align)
            .map_err(|_| Error::Overflow(format!("cannot allocate {bytes} bytes")))?;
        // SAFETY: size > 0.
        let ptr = unsafe { alloc(layout) };
        if ptr.is_null() {
            return Err(Error::Memory(format!("cannot allocate {bytes} bytes")));
        }
        #[cfg(target_os = "linux")]
        if bytes >= HUGE {
            // SAFETY: the range is our own fresh mapping; the advice is only a hint.
            unsafe {
                libc::madvise(ptr as *mut libc::c_void, size, libc::MADV_HUGEPAGE);
            }
        }
        Ok(Buffer { ptr, layout })
    }

    /// Memory for a C-contiguous array of `shape` and `dtype`.
    pub fn for_array(shape: &[usize], dtype: DType) -> Result<Self> {
        Buffer::new(array_bytes(shape, dtype)?)
    }

    /// A new buffer holding a copy of this one's first `bytes` bytes.
    pub fn copy_of(&self, bytes: usize) -> Result<Self> {
        assert!(bytes <= self.len());
        let b = Buffer::new(bytes)?;
        // SAFETY: both buffers hold at least `bytes` bytes and do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr, b.ptr, bytes) };
        Ok(b)
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.layout.size()
    }

    pub fn is_empty(&self) -> bool {
        self.layout.size() == 0
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: allocated in Buffer::new with this layout, freed only here.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}
