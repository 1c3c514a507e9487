//! Replay of the official GalleryRP examples (being written).
