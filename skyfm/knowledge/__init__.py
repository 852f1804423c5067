"""The knowledge layer: index the literature and documentation, search it, answer with citations.

Every answer skyfm gives comes with the passage it came from. Modules, one job each:

- :mod:`~skyfm.knowledge.documents`  typed ``Document`` / ``Chunk`` with provenance
- :mod:`~skyfm.knowledge.normalize`  LaTeX and markup to searchable words, sentences
- :mod:`~skyfm.knowledge.ingest`     JSONL / RST / Markdown / text / PDF / LaTeX readers, chunking
- :mod:`~skyfm.knowledge.embedding`  MiniLM sentence embeddings (PyTorch or ONNX int8), offline
- :mod:`~skyfm.knowledge.index`      on-disk sparse (tantivy BM25) + dense (faiss) + SQLite metadata
- :mod:`~skyfm.knowledge.search`     hybrid search (reciprocal-rank fusion) with filters
- :mod:`~skyfm.knowledge.answer`     extractive answers offline, or an LLM's with checked citations
- :mod:`~skyfm.knowledge.tools`      ``search_papers`` / ``get_passage``: pydantic in and out
- :mod:`~skyfm.knowledge.related`    papers about objects like a given observation or candidate

Heavy libraries (tantivy, faiss, torch, onnxruntime, pypdf) are imported inside functions.
"""
