"""Knowledge: document loading, chunking, the Chroma index, ingestion and search."""
