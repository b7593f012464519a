"""``m2v search``: the texts of an index nearest to each query."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from m2vcli.tables import Column, ResultTable, TableFormat, shorten

from ._options import ConfigOption, settings
from ._output import emit

MAX_K = 10_000  # the most results per query (m2vcli.search.query checks it too)
TEXT_WIDTH = 80  # characters of a result's text shown in a table


def search_command(
    index: Annotated[
        str | None,
        typer.Argument(metavar="INDEX", help="Index folder written by m2v index (required).", show_default=False),
    ] = None,
    query: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="QUERY",
            help="Queries (default: one per line from --queries or standard input).",
            show_default=False,
        ),
    ] = None,
    k: Annotated[
        int | None,
        typer.Option("-k", "--top", min=1, max=MAX_K, help="Results per query (default: 10).", show_default=False),
    ] = None,
    queries_file: Annotated[
        str | None,
        typer.Option("--queries", help="File of queries, one per line; - for standard input.", show_default=False),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Model for the queries (default: the one that built the index).",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format: table, markdown, csv, json or jsonl (default: table).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Find the texts of an index nearest to each query, by cosine similarity.

    Exact search over the memory-mapped vectors; the query is encoded with the index's own model.

    Examples:

        m2v search docs.index "how do I reset my password"

        m2v search docs.index "refund policy" -k 3 --format jsonl

        m2v search docs.index --queries questions.txt --format csv > answers.csv
    """
    flags = {
        "index": index,
        "queries": tuple(query) if query else None,
        "queries_file": queries_file,
        "k": k,
        "model": model,
        "format": output_format,
    }
    from m2vcli.search.query import SearchConfig, open_for_search, query_batches, search_all  # here: light start

    cfg = settings(SearchConfig, config, flags)
    found, searcher = open_for_search(cfg)
    results = search_all(found, searcher, query_batches(cfg), cfg.k)
    if cfg.format == "jsonl":
        out = sys.stdout
        for text, hits in results:
            for rank, hit in enumerate(hits, 1):
                record = {"query": text, "rank": rank, "id": hit.id, "score": round(hit.score, 6), "text": hit.text}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
        return
    rows, records = [], []
    several = len(cfg.queries) != 1
    for text, hits in results:
        for rank, hit in enumerate(hits, 1):
            records.append({"query": text, "rank": rank, "id": hit.id, "score": hit.score, "text": hit.text})
            cells = [str(rank), str(hit.id), f"{hit.score:.4f}", shorten(hit.text, TEXT_WIDTH)]
            rows.append([shorten(text, 40), *cells] if several else cells)
    columns = [Column("rank"), Column("id", text=True), Column("score"), Column("text", text=True)]
    if several:
        columns.insert(0, Column("query", text=True))
    title = f"{found.path.name}: {len(found):,} texts" + (
        "" if several else f", nearest to {shorten(cfg.queries[0], 40)!r}"
    )
    fmt = TableFormat(cfg.format)
    emit(ResultTable(title, columns, rows, records), fmt)
