//! Buffers: what ferroinit writes into.
//!
//! - [`element`]: the dtypes ([`element::DType`], [`element::Element`]) and rounding of an
//!   interval into a dtype.
//! - [`layout`]: strided views of memory ([`layout::Layout`]) and shards of a global array.
//! - [`alloc`]: aligned, huge-page-advised memory for the allocating forms.
//! - [`dlpack`]: the DLPack 1.0 C structures, their validation into a layout, and export of a
//!   [`alloc::Buffer`] as a managed tensor (no Python: the capsules are in the binding).
//!
//! Imports: [`crate::error`] only.

pub mod alloc;
pub mod dlpack;
pub mod element;
pub mod layout;
