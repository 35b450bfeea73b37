/* limits.h — every size, count and time limit of the lakehouse in one place.
 *
 * Defaults that a user may change live in the configuration (config.h) and
 * take their default from here; hard caps that protect parsers and memory are
 * compile-time only. Each group names the module that enforces it.
 */
#ifndef LH_LIMITS_H
#define LH_LIMITS_H

/* HTTP server (common/http_server.c) */
#define LH_HTTP_CONNECTION_TIMEOUT_S   30          /* idle connection cut-off */
#define LH_HTTP_MAX_CONNECTIONS        2048        /* per service */
#define LH_HTTP_LISTEN_BACKLOG         4096        /* pending accepts (a burst) */
#define LH_HTTP_CONNECTION_MEMORY      (256u << 10) /* MHD pool per connection; about
                                                    * half of it reads bodies, so an
                                                    * upload arrives in ~128 KiB pieces */
#define LH_HTTP_REAPER_INTERVAL_MS     250         /* slow-header check period */
#define LH_HTTP_MAX_JSON_BODY          (4u << 20)  /* buffered JSON request bodies */
#define LH_HTTP_SHUTDOWN_GRACE_MS      30000       /* wait for in-flight requests */
#define LH_HTTP_MAX_PATH               4096        /* URL path length */
#define LH_REQUEST_ID_MAX              64          /* X-Request-Id length kept */
#define LH_HTTP_ALLOWED_HOSTS_MAX      32          /* names in [http] allowed_hosts
                                                    * (common/http_policy.c) */

/* Human log lines (common/log.c, ADR 0121): how much of each piece of
 * client data a line shows; longer is cut with "..." */
#define LH_LOG_HUMAN_PATH_MAX          200
#define LH_LOG_HUMAN_QUERY_MAX         120         /* also what http_server.c keeps */
#define LH_LOG_HUMAN_MESSAGE_MAX       400
#define LH_LOG_HUMAN_LINE_MAX          1024        /* a whole line, bytes */
#define LH_LOG_ERROR_HEAD_MAX          2048        /* bytes of a streamed error body
                                                    * read for its "error" message */

/* HTTP client (common/http_client.c) */
#define LH_HTTP_CLIENT_CONNECT_TIMEOUT_MS 5000
#define LH_HTTP_CLIENT_TIMEOUT_MS         600000   /* whole transfer, large objects */
#define LH_HTTP_CLIENT_MAX_BUFFERED       (16u << 20) /* responses read into memory */

/* gateway (gateway/proxy.c, gateway/gateway.c) */
#define LH_GATEWAY_PIPE_BYTES          (1u << 20)  /* each direction, per proxied request */
#define LH_GATEWAY_HOLD_MS             100         /* proxy.c note 11: a small answer whole or an error */
#define LH_PIPELINE_PIPE_BYTES         (1u << 20)  /* ingestd: Parquet FIFO, DuckDB -> PUT */
#define LH_GATEWAY_MAX_URL             (3 * LH_HTTP_MAX_PATH + 1024) /* upstream URL, encoded */
#define LH_GATEWAY_MAX_FWD_HEADERS     16          /* headers forwarded each way */
#define LH_ICEBERG_CACHE_TABLES        16          /* tables whose file keys the gateway
						    * keeps (gateway/iceberg.c, ADR 0237) */
#define LH_ICEBERG_FOOTER_MAX_CHUNKS   (1u << 20)  /* row groups x columns of a Parquet
						     * footer read for Iceberg metrics;
						     * more: no metrics (~80 MB at most) */
#define LH_ICEBERG_PAGE_MAX            1000        /* largest pageSize of list tables */

/* upstream pools (common/upstream.c, ADR 0075) */
#define LH_UPSTREAM_MAX_MEMBERS        16          /* URLs in one [gateway] *_url list */
#define LH_UPSTREAM_CHECK_INTERVAL_MS  1000        /* between two probes of one member */
#define LH_UPSTREAM_CHECK_TIMEOUT_MS   1000        /* one probe of <url>/health */
#define LH_HTTP_RETRY_AFTER_S          "2"         /* Retry-After of every 503 answer (seconds) */
#define LH_READY_MAX_DEPS              8           /* dependencies one /ready reports */
#define LH_READY_CACHE_MS              1000        /* /ready and /metrics reuse a check this long */
#define LH_READY_CHECK_TIMEOUT_MS      2000        /* one dependency check of /ready */

/* web UI (gateway/ui*.c) */
#define LH_UI_MAX_PAGE_BYTES           (16u << 20) /* one rendered page (a console page of
                                                    * 1,000 rows of long values, with titles) */
#define LH_UI_MAX_UPSTREAM_JSON        (16u << 20) /* a service's JSON answer read by the UI */
#define LH_MASKED_JSON_MAX             1024        /* a dataset's personal columns as JSON (ADR 0211) */
#define LH_UI_MAX_SESSIONS             1024        /* signed-in browsers per gateway (ADR 0212) */
#define LH_UI_PREVIEW_ROWS             100         /* rows shown on a dataset page */
#define LH_UI_CONSOLE_ROWS             1000        /* rows on one page of the SQL console */
#define LH_UI_CONSOLE_MAX_PAGE         1000000000  /* a page number the console accepts */
#define LH_UI_COUNT_TIMEOUT_MS         5000        /* the console counting a result's rows */
#define LH_UI_SHARE_URL_BYTES          (16u << 10) /* a console link /console?sql=..., encoded */
#define LH_UI_CELL_BYTES               300         /* a table cell is cut after this */
#define LH_UI_CELL_TITLE_BYTES         40          /* a longer cell also goes in its title */
#define LH_UI_CHART_MAX_BARS           30
#define LH_UI_CHART_MAX_POINTS         2000
#define LH_UI_CSRF_HEAD_BYTES          2048        /* an upload's first form part (the CSRF token) must fit */

/* CLI (cli/) */
#define LH_CLI_MAX_RESPONSE            (64u << 20) /* JSON answers read into memory */

/* JSON (common/json.c) */
#define LH_JSON_MAX_DEPTH              32

/* storaged (common/keys.c, storaged/storage_disk.c) */
#define LH_KEY_MAX_BYTES               1024
#define LH_DEFAULT_MAX_OBJECT_BYTES    (256ull << 20)
#define LH_LIST_DEFAULT_LIMIT          1000
#define LH_LIST_MAX_LIMIT              10000
#define LH_S3_PART_BYTES               (8u << 20)  /* S3 multipart part; S3's minimum is 5 MiB */
#define LH_S3_READ_BYTES               (1u << 20)  /* one Range GET window of a streamed read */
#define LH_S3_LIST_PAGE                1000        /* max-keys of one ListObjectsV2 page */
#define LH_S3_MAX_OBJECT_BYTES         (5ull << 30) /* one CopyObject publishes a multipart upload */
#define LH_STREAM_CHUNK                (256u << 10) /* I/O buffer for streamed bodies */

/* catalogd */
#define LH_DATASET_NAME_MAX            64
#define LH_MANIFEST_MAX_OBJECTS        100000
#define LH_SCHEMA_MAX_COLUMNS          4096
#define LH_GC_DEFAULT_GRACE_S          3600        /* POST /catalog/gc without grace_seconds */
#define LH_GC_MAX_GRACE_S              (100ll * 365 * 86400)
#define LH_GC_BATCH                    32          /* deletions per hold of the GC lock */
#define LH_GC_MAX_CANDIDATES           100000      /* per run; the rest wait for the next */
#define LH_RENAME_REDIRECT_MS          (30ll * 86400 * 1000) /* an old name answers "renamed" (ADR 0175) */
/* catalogd: search-index declarations and build records (catalog_index.h, ADR 0140) */
#define LH_INDEX_MAX_TEXT_COLUMNS      64
#define LH_INDEX_MODEL_MAX             128         /* the <model> of "ollama/<model>" */
#define LH_INDEX_MAX_DIM               4096        /* a stored common component */
#define LH_INDEX_REASON_MAX            1024        /* a failed build's reason, bytes */
#define LH_INDEX_BUILD_MAX_ATTEMPTS    3           /* builds of one version before it stays failed */
/* A "building" record this old is a dead build: queryd's builder renews
 * its record every LH_INDEX_BUILD_HEARTBEAT_MS while it works. */
#define LH_INDEX_BUILD_STALE_MS        20000
#define LH_INDEX_BUILD_HEARTBEAT_MS    5000
#define LH_INDEX_PENDING_DEFAULT_LIMIT 100
#define LH_INDEX_PENDING_MAX_LIMIT     1000

/* ingestd: CSV scanner and inference (ingestd/csv.c) */
#define LH_DEFAULT_MAX_UPLOAD_BYTES    (256ull << 20)
#define LH_CSV_MAX_COLUMNS             LH_SCHEMA_MAX_COLUMNS
#define LH_CSV_MAX_FIELD_BYTES         (16u << 20)  /* one field */
#define LH_CSV_MAX_RECORD_BYTES        (64u << 20)  /* one record */
#define LH_CSV_MAX_HEADER_NAME         255
/* ingestd: Parquet uploads (ingestd/parquet_reader.c, parquet_scan.c, ADR 0184) */
#define LH_PARQUET_MAX_COLUMNS         LH_SCHEMA_MAX_COLUMNS
#define LH_PARQUET_MAX_FOOTER_BYTES    (64u << 20)  /* the Thrift footer DuckDB parses */
#define LH_PARQUET_SCAN_MEMORY_BYTES   (1ull << 30) /* the DuckDB that reads an upload */
#define LH_PARQUET_SCAN_THREADS        2
#define LH_PARQUET_SCAN_MAX_CHECKS     2            /* uploads read for inference at once */
#define LH_PARQUET_DECODED_FACTOR      4            /* a Parquet upload's values once read:
						     * at most this x [ingestd] max_upload_bytes */

/* ingestd: documents uploads (ingestd/doc_ingest.c, ADR 0225-0227) */
#define LH_DOC_UPLOAD_MAX_FILES        10000        /* files in one upload */
#define LH_DOC_FILE_NAME_MAX           255          /* a document's file name, bytes */
#define LH_DOC_SIDECAR_MAX_BYTES       4096         /* documents/<id>/in/<identity> */
#define LH_DOC_DATASETS_MAX            100          /* datasets one document is read through */
#define LH_UI_DOCUMENTS_ROWS           200          /* documents a dataset page lists */
#define LH_DOC_EXTRACT_THREADS         2            /* files of one upload read at once */
#define LH_DOC_EXTRACT_WINDOW          8            /* files read ahead of the rows written */

/* ingestd: the JSON reader (ingestd/json_scan.c, json_reader.c; ADR 0182) */
#define LH_JSON_INGEST_MAX_DEPTH       64           /* objects/arrays nested, the row's own
                                                     * object counting as 1 */
#define LH_JSON_INGEST_MAX_VALUE_BYTES LH_CSV_MAX_FIELD_BYTES  /* a string as written, a
                                                     * nested value's compact text */
#define LH_JSON_INGEST_MAX_RECORD_BYTES LH_CSV_MAX_RECORD_BYTES /* one object as written */

/* ingestd: the Excel reader (ingestd/xlsx_reader.c, common/zip_libzip.c;
 * ADR 0186). A part (a sheet's XML) is inflated as a stream: past either
 * cap it is a 400, whatever the zip declares (a zip bomb). The ratio is
 * Apache POI's default for the same check (ZipSecureFile, 1 %). */
#define LH_XLSX_MAX_PART_BYTES         (2ull << 30)  /* one part, inflated */
#define LH_XLSX_MAX_RATIO              100           /* inflated bytes per compressed byte */
#define LH_XLSX_RATIO_GRACE            (1u << 20)    /* ... checked past this many */
#define LH_XLSX_MAX_STRINGS_BYTES      (256u << 20)  /* the shared strings, held in memory */
#define LH_XLSX_MAX_STYLES             65536         /* cell formats (Excel's own cap is 64,000) */
#define LH_XLSX_MAX_SHEETS             4096
#define LH_XLSX_MAX_CELLS              (1u << 28)    /* a sheet's rows x columns, empty cells
                                                     * included: what 256 MiB of CSV commas holds */
#define LH_XLSX_DECODED_FACTOR         4             /* a sheet's cell text, shared strings
                                                     * repeated: at most this x [ingestd]
                                                     * max_upload_bytes */
#define LH_XLSX_MAX_READS              2             /* uploads read (inference to the last
                                                     * batch) at once */

/* queryd */
#define LH_SQL_MAX_BYTES               (256u << 10)
/* One result row as queryd renders it (JSON, CSV, NDJSON; queryd/engine.c
 * note 9): a longer one is 400 row_too_large if it is the first, else the
 * stream is cut. A CSV record may be 64 MiB, and escaping can grow it. */
#define LH_QUERY_MAX_ROW_BYTES         (256u << 20)
/* The SQL of a view over a version's objects (queryd/engine.c): up to
 * LH_MANIFEST_MAX_OBJECTS paths in the cache. */
#define LH_QUERY_VIEW_SQL_BYTES        (64u << 20)
#define LH_DEFAULT_QUERY_TIMEOUT_MS    30000
/* queryd's worker processes (ADR 0114): concurrent queries, and the time a
 * worker gets after its deadline to stop by itself before it is killed. */
#define LH_DEFAULT_QUERY_WORKERS       4
#define LH_QUERY_KILL_GRACE_MS         500
/* Address space a worker needs beyond DuckDB's memory_limit (ADR 0114). */
#define LH_QUERY_WORKER_OVERHEAD       (1ull << 30)
/* Spill files one query worker may write ([queryd] spill_bytes); DuckDB's
 * own default is 90% of the free disk, which storaged shares. */
#define LH_DEFAULT_QUERY_SPILL_BYTES   (2ull << 30)
#define LH_DEFAULT_CACHE_BYTES         (4ull << 30)
/* A catalog outage (ADR 0205): queryd answers from what the catalog said at
 * most [queryd] catalog_stale_seconds ago; after a failed call it leaves the
 * catalog alone this long while it can answer; it remembers this many of
 * search's catalog answers (index declarations, manifests by name). */
#define LH_DEFAULT_CATALOG_STALE_S     30
#define LH_QUERYD_CATALOG_RETRY_MS     1000
#define LH_QUERYD_CATALOG_KEPT         1024

/* search (SPEC 11; docs/search.md) */
#define LH_SEARCH_MAX_QUERY_BYTES      4096          /* a query's text */
#define LH_SEARCH_MAX_K                1000          /* k above is capped, and said */
#define LH_SEARCH_DEFAULT_K            10
#define LH_SEARCH_MAX_ROW_TEXT         (1u << 20)    /* a row's indexed text; cut past it */
#define LH_SEARCH_MAX_PART_BYTES       (4ull << 30)  /* one index part */
#define LH_SEARCH_MAX_DATASETS         16            /* "datasets": [...] in one search */
#define LH_SEARCH_MAX_WHERE_BYTES      (16u << 10)
/* Rows a where-filter may leave before vector search skips the graph and
 * compares every allowed row exactly (faster, and exactly k results). */
#define LH_SEARCH_EXACT_BELOW          20000
/* An index part covers at most this many rows of one data object: a larger
 * object has several (keys .../<object sha>/0, /1, ...), so a part stays
 * well under storaged's object cap, its build holds one part in memory, and
 * its HNSW graph stays small (docs/search.md). */
#define LH_SEARCH_PART_ROWS            131072        /* [search] part_rows */
/* Parts smaller than this get no HNSW graph: exact search is as fast. */
#define LH_SEARCH_ANN_MIN_ROWS         2048
/* Rows of the first object of an index's first version that its SIF common
 * component is computed from (docs/search.md). */
#define LH_SEARCH_COMPONENT_ROWS       50000
/* search feedback (SPEC 13; docs/search.md "Feedback"; ADR 0190) */
#define LH_FEEDBACK_MAX_ITEMS          10000         /* ratings in one POST /search/feedback */
#define LH_FEEDBACK_MAX_BODY           (16u << 20)   /* its JSON body */
#define LH_FEEDBACK_SUFFIX             "__feedback"  /* <name>__feedback holds the ratings */
#define LH_FEEDBACK_SETS               16            /* feedback sets kept per queryd (LRU) */

/* search: embedders (src/search/glove.c, embed_*.c; docs/embeddings.md) */
#define LH_GLOVE_MAX_DIM               4096          /* .lhwv header caps (glove_open) */
#define LH_GLOVE_MAX_WORDS             (1u << 26)
#define LH_EMBED_MAX_DIM               8192          /* a model server's vectors */
#define LH_EMBED_MAX_TEXTS             1024          /* texts in one embedder_embed call */
#define LH_EMBED_BATCH                 64            /* texts per model-server request */
#define LH_EMBED_MAX_RESPONSE          (64u << 20)   /* a model server's answer, bytes */
#define LH_EMBED_DEFAULT_TIMEOUT_MS    30000         /* one model-server request */
#define LH_EMBED_RETRIES               2             /* extra tries after a failure */
#define LH_EMBED_RETRY_BACKOFF_MS      200           /* doubled per retry */
#define LH_EMBED_CACHE_BYTES           (64u << 20)   /* cached model-server vectors, all
                                                    * embedders of a process (embed_cache.c) */

/* MCP (src/mcp/, SPEC 14, ADR 0160-0162) */
#define LH_MCP_MAX_MESSAGE             (4u << 20)    /* one JSON-RPC message: a stdio line, a POST /mcp body */
#define LH_MCP_QUERY_MAX_ROWS          1000          /* rows a query tool result shows */
#define LH_MCP_QUERY_MAX_BYTES         (64u << 10)   /* bytes of a query tool result's table */
#define LH_MCP_MAX_SESSIONS            1024          /* Streamable HTTP sessions; the least recently used goes */
#define LH_MCP_MAX_SESSIONS_PER_TOKEN  64            /* of them one token may hold; its own oldest goes */
#define LH_MCP_SAMPLE_ROWS             5             /* sample rows of describe_dataset and a resource */

/* documents (src/documents/, SPEC 15, ADR 0220-0221) */
#define LH_DOC_MAX_PAGES               2000          /* [ingestd] max_document_pages: a PDF's pages */
#define LH_DOC_MAX_TEXT_BYTES          (64u << 20)   /* a document's extracted text, all pages */
#define LH_DOC_MAX_EXPANDED_BYTES      (256u << 20)  /* a DOCX's word/document.xml, inflated */
#define LH_DOC_MAX_EXPAND_RATIO        100           /* ... and inflated per compressed byte
                                                     * (Apache POI's 1 %, as for .xlsx) */
#define LH_DOC_MAX_SECONDS             60.0          /* the PDF worker's wall-clock deadline */
#define LH_DOC_HTML_MAX_DEPTH          256           /* an HTML page's open elements (xmllint's cap) */
#define LH_DOC_WORKER_BYTES            (1ull << 30)  /* the PDF worker's RLIMIT_AS */
#define LH_DOC_WORKERS_IDLE            2             /* warm PDF workers a pool keeps */
#define LH_DOC_EXTRACT_SLOTS           4             /* documents read at once, service-wide (PDF workers) */
#define LH_DOC_WORKER_USES             50            /* PDFs one worker reads before it is retired */
#define LH_DOC_CHUNK_CHARS             1000          /* SPEC 15: chunks of about this many characters */
#define LH_DOC_CHUNK_HARD_FACTOR       4             /* a word longer than this x the target is cut */

#endif
