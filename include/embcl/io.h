/* embcl io: vocabularies, corpora, pretrained word vectors, safetensors
 * checkpoints and the built-in synthetic dataset. Pure host code: nothing
 * here needs a device.
 *
 * Every parser takes a byte buffer and its length (no terminating NUL is
 * needed and none is read past `len`) plus a display name for messages
 * (NULL reads as "<buffer>"); a thin wrapper takes a path instead. Malformed
 * input fails with EMBCL_ERR_FORMAT and a message naming the public
 * function, the file, the line (or byte offset) and what was wrong, e.g.
 *   embcl_pretrained_load: glove.txt line 17: expected 50 numbers after 'king', found 49
 * A file that cannot be opened or written fails with EMBCL_ERR_IO.
 *
 * Text conventions: a sentence is one line ('\n'; a '\r' before it is
 * whitespace); tokens are separated by spaces, tabs, '\r', '\v' or '\f';
 * a leading UTF-8 byte order mark is skipped; a NUL byte is a format error
 * (a binary file given as text).
 *
 * Ownership: each handle received (vocab, corpus, safetensors, dataset) is
 * freed by its own _free or _close function (NULL is accepted). Host arrays
 * the library allocates for the caller are freed with embcl_io_free(). On
 * failure every out-parameter is set to NULL and nothing is left to free.
 * Nothing here keeps global state; distinct handles may be used from
 * distinct threads.
 */
#ifndef EMBCL_IO_H
#define EMBCL_IO_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Free a host array that an io function allocated for the caller. */
EMBCL_API void embcl_io_free(void *p);

/* ---------------------------------------------------------------- vocabulary
 * Ids are dense, 0..size-1. Id 0 is always "<pad>" (padding_idx for
 * nn.Embedding; its count is that of literal "<pad>" tokens, normally 0) and
 * id 1 is always "<unk>" (its count is the number of corpus tokens that were
 * "<unk>" or fell below min_count). The other words follow in descending
 * count, ties broken by first occurrence in the corpus, so the same corpus
 * always gives the same ids. A corpus token spelled "<pad>" or "<unk>" maps
 * to that reserved id. There is no end-of-sentence word: a language model
 * that wants one adds it with embcl_vocab_add. */
typedef struct embcl_vocab *embcl_vocab_t;

#define EMBCL_VOCAB_PAD 0
#define EMBCL_VOCAB_UNK 1
#define EMBCL_VOCAB_PAD_WORD "<pad>"
#define EMBCL_VOCAB_UNK_WORD "<unk>"

/* A vocabulary of the words in text[0, len) that occur at least min_count
 * (>= 1) times, plus <pad> and <unk>. */
EMBCL_API embcl_status embcl_vocab_build(const char *text, size_t len, const char *name,
                                         int64_t min_count, embcl_vocab_t *out);
/* A vocabulary holding only <pad> and <unk>, for embcl_vocab_add. */
EMBCL_API embcl_status embcl_vocab_create(embcl_vocab_t *out);
/* Append word (no whitespace, not empty, not already present) with count
 * (>= 0); *id (may be NULL) receives its id, which is the old size. */
EMBCL_API embcl_status embcl_vocab_add(embcl_vocab_t v, const char *word, int64_t count, int64_t *id);
EMBCL_API void embcl_vocab_free(embcl_vocab_t v);

EMBCL_API int64_t embcl_vocab_size(embcl_vocab_t v);
/* The id of word[0, len), or -1 if absent (no fallback to <unk>). */
EMBCL_API int64_t embcl_vocab_find(embcl_vocab_t v, const char *word, size_t len);
/* The word of an id (NUL-terminated, owned by v), or NULL if out of range. */
EMBCL_API const char *embcl_vocab_word(embcl_vocab_t v, int64_t id);
/* The count of an id, or -1 if out of range. */
EMBCL_API int64_t embcl_vocab_count(embcl_vocab_t v, int64_t id);

/* Text format: a line "embcl-vocab 1 SIZE", then one line "WORD COUNT" per
 * id in id order. Save writes atomically (a temporary file, then rename). */
EMBCL_API embcl_status embcl_vocab_save(embcl_vocab_t v, const char *path);
/* The same text in memory (*text NUL-terminated, *len without the NUL; free
 * with embcl_io_free), e.g. to keep the vocabulary in a checkpoint's
 * metadata so the checkpoint alone can answer word queries. */
EMBCL_API embcl_status embcl_vocab_serialize(embcl_vocab_t v, char **text, size_t *len);
EMBCL_API embcl_status embcl_vocab_parse(const char *text, size_t len, const char *name,
                                         embcl_vocab_t *out);
EMBCL_API embcl_status embcl_vocab_load(const char *path, embcl_vocab_t *out);

/* ------------------------------------------------------------------- corpus
 * A corpus is encoded text: every line is a sentence (an empty line is an
 * empty sentence, so line numbers stay aligned with a labels file), every
 * token is a vocabulary id, unknown words become EMBCL_VOCAB_UNK. */
typedef struct embcl_corpus *embcl_corpus_t;

/* Plain views into a corpus; valid until it is freed. */
typedef struct embcl_corpus_view {
    const int64_t *tokens;   /* [n_tokens] vocabulary ids */
    int64_t n_tokens;
    const int64_t *offsets;  /* [n_sentences + 1]: sentence i is tokens[offsets[i], offsets[i+1]) */
    int64_t n_sentences;
    const int64_t *labels;   /* [n_sentences] class of each sentence, or NULL if none */
    int64_t n_classes;       /* 1 + the largest label, 0 without labels */
} embcl_corpus_view;

/* Encode text[0, len) with vocab v (which the corpus does not keep). */
EMBCL_API embcl_status embcl_corpus_encode(embcl_vocab_t v, const char *text, size_t len,
                                           const char *name, embcl_corpus_t *out);
/* Read a corpus file: builds its vocabulary with min_count into *vocab_out
 * when vocab is NULL, else encodes with vocab (and *vocab_out may be NULL). */
EMBCL_API embcl_status embcl_corpus_load(const char *path, embcl_vocab_t vocab, int64_t min_count,
                                         embcl_vocab_t *vocab_out, embcl_corpus_t *out);
/* A corpus from ids: tokens [n_tokens] (each in 0..vocab_size-1), offsets
 * [n_sentences + 1] (0 first, n_tokens last, non-decreasing), labels
 * [n_sentences] (>= 0) or NULL. Copies everything. */
EMBCL_API embcl_status embcl_corpus_from_ids(const int64_t *tokens, int64_t n_tokens,
                                             const int64_t *offsets, int64_t n_sentences,
                                             const int64_t *labels, int64_t vocab_size,
                                             embcl_corpus_t *out);
EMBCL_API void embcl_corpus_free(embcl_corpus_t c);
EMBCL_API void embcl_corpus_get(embcl_corpus_t c, embcl_corpus_view *view);

/* Labels: one integer >= 0 per line, exactly as many lines as the corpus has
 * sentences (a mismatch names both counts). Replaces earlier labels; on
 * failure the corpus is unchanged. */
EMBCL_API embcl_status embcl_corpus_parse_labels(embcl_corpus_t c, const char *text, size_t len,
                                                 const char *name);
EMBCL_API embcl_status embcl_corpus_load_labels(embcl_corpus_t c, const char *path);

/* -------------------------------------------------- pretrained word vectors
 * GloVe text (a word, then D numbers, one word a line) or word2vec text (the
 * same after a first line "COUNT D"); the format is detected from the first
 * line (two integers there make it word2vec). Every row must have the same
 * D. Words are matched exactly (case matters). A vocabulary word given twice
 * keeps its first row. Rows of words not in the vocabulary are checked for
 * their number of fields but their numbers are not parsed (that is what
 * makes a 2 GB file quick to scan). A row whose word itself contains spaces
 * (some real GloVe files have them) cannot match a vocabulary word and is
 * counted in `multiword_rows`. */
typedef enum embcl_pretrained_format {
    EMBCL_PRETRAINED_GLOVE = 0,
    EMBCL_PRETRAINED_WORD2VEC = 1
} embcl_pretrained_format;

typedef struct embcl_pretrained_options {
    int64_t dim;          /* expected D (the model's), or 0 to take the file's */
    double init_scale;    /* missing rows: N(0,1) * init_scale (1.0 is nn.Embedding's init) */
    uint64_t seed;        /* of the generator for missing rows (drawn in id order) */
} embcl_pretrained_options;

typedef struct embcl_pretrained_stats {
    embcl_pretrained_format format;
    int64_t dim;             /* D */
    int64_t file_rows;       /* word rows in the file */
    int64_t vocab_size;      /* V */
    int64_t found;           /* vocabulary ids (other than <pad>) given a row from the file */
    int64_t missing;         /* ids (other than <pad>) initialised N(0,1) * init_scale */
    int64_t pad_zeroed;      /* 1: the <pad> row was set to zeros (unless the file had "<pad>") */
    int64_t duplicate_rows;  /* later rows for a vocabulary word that already had one, ignored */
    int64_t multiword_rows;  /* rows whose word contains spaces, ignored */
    double init_scale;
    uint64_t seed;
} embcl_pretrained_stats;

/* Defaults: dim 0, init_scale 1.0, seed 0. */
EMBCL_API void embcl_pretrained_options_default(embcl_pretrained_options *opts);

/* Fill a new host matrix *matrix [V, D] f32 row-major (free with
 * embcl_io_free) for vocabulary v from text[0, len). opts may be NULL
 * (defaults); stats may be NULL. */
EMBCL_API embcl_status embcl_pretrained_parse(const char *text, size_t len, const char *name,
                                              embcl_vocab_t v, const embcl_pretrained_options *opts,
                                              float **matrix, embcl_pretrained_stats *stats);
EMBCL_API embcl_status embcl_pretrained_load(const char *path, embcl_vocab_t v,
                                             const embcl_pretrained_options *opts, float **matrix,
                                             embcl_pretrained_stats *stats);
/* Write matrix [V, D] f32 (V = the vocabulary's size, a row per id, in id
 * order) as GloVe or word2vec text, atomically. Numbers are printed with 9
 * significant digits, so loading the file gives back the same floats.
 * Non-finite values are refused (naming the word), since no reader takes them. */
EMBCL_API embcl_status embcl_pretrained_save(const char *path, embcl_vocab_t v, const float *matrix, int64_t dim,
                                             embcl_pretrained_format format);
/* One line of coverage for users, e.g. "pretrained glove D=50: 1834 of 1998
 * words found (91.8%), 164 missing initialised N(0,1)*1, <pad> zeros".
 * Writes at most cap bytes (NUL included); returns the length it needed. */
EMBCL_API size_t embcl_pretrained_describe(const embcl_pretrained_stats *stats, char *buf, size_t cap);

/* --------------------------------------------------------------- safetensors
 * https://huggingface.co/docs/safetensors: 8 bytes little-endian header
 * length N, N bytes of JSON {"NAME": {"dtype", "shape", "data_offsets"},
 * "__metadata__": {str: str}}, then the tensors' bytes, which must tile the
 * rest of the file exactly (as the reference implementation demands). */
#define EMBCL_ST_MAX_DIMS 8

/* One tensor to write: data holds numel * dtype size bytes, row-major. */
typedef struct embcl_st_tensor {
    const char *name;       /* e.g. "embedding.weight" */
    embcl_dtype dtype;      /* EMBCL_F32, EMBCL_I32, EMBCL_I64 or EMBCL_BF16 ("BF16") */
    int ndim;               /* 0 (a scalar) .. EMBCL_ST_MAX_DIMS */
    int64_t shape[EMBCL_ST_MAX_DIMS];
    const void *data;
} embcl_st_tensor;

/* Write tensors[n] and metadata (n_meta pairs: keys[i] -> values[i]; may be
 * 0) to path atomically: a temporary file in the same directory, fsync,
 * rename over path, fsync of the directory. On failure path is untouched
 * and no temporary file is left. A writer killed mid-write leaves its
 * "<path>.tmp.<pid>.XXXXXX"; the next successful save of path removes those
 * whose process is gone and that nobody wrote for 60 seconds. Names must be
 * unique and not "__metadata__". */
EMBCL_API embcl_status embcl_safetensors_save(const char *path, const embcl_st_tensor *tensors, size_t n,
                                              const char *const *meta_keys,
                                              const char *const *meta_values, size_t n_meta);

typedef struct embcl_safetensors *embcl_safetensors_t;

/* A tensor found in a file. dtype is EMBCL_DTYPE_COUNT for a dtype embcl
 * has no type for (F16, U8, ...; dtype_name says which). data points into
 * the file image (may be unaligned: memcpy it, or use _read). */
typedef struct embcl_st_info {
    const char *name;
    const char *dtype_name;  /* as in the file: "F32", "I64", "BF16", ... */
    embcl_dtype dtype;
    int ndim;
    int64_t shape[EMBCL_ST_MAX_DIMS];
    int64_t numel;
    size_t nbytes;
    const void *data;
} embcl_st_info;

/* Validate and index a file image buf[0, len). The handle borrows buf: it
 * must stay valid and unchanged until embcl_safetensors_close. */
EMBCL_API embcl_status embcl_safetensors_parse(const void *buf, size_t len, const char *name,
                                               embcl_safetensors_t *out);
/* The same for a file (mapped read-only, owned by the handle). */
EMBCL_API embcl_status embcl_safetensors_open(const char *path, embcl_safetensors_t *out);
EMBCL_API void embcl_safetensors_close(embcl_safetensors_t st);

/* Tensors in file order (by data offset). */
EMBCL_API size_t embcl_safetensors_count(embcl_safetensors_t st);
EMBCL_API embcl_status embcl_safetensors_at(embcl_safetensors_t st, size_t i, embcl_st_info *info);
/* By name; a missing name is EMBCL_ERR_INVALID_ARG naming it. */
EMBCL_API embcl_status embcl_safetensors_find(embcl_safetensors_t st, const char *name, embcl_st_info *info);
/* Copy tensor `name` into dst, checking that it has dtype, ndim and shape
 * (shape[ndim]) and that bytes equals its size. */
EMBCL_API embcl_status embcl_safetensors_read(embcl_safetensors_t st, const char *name, embcl_dtype dtype,
                                              int ndim, const int64_t *shape, void *dst, size_t bytes);
/* Metadata: the value of key (NUL-terminated, owned by st) or NULL. */
EMBCL_API const char *embcl_safetensors_meta(embcl_safetensors_t st, const char *key);
EMBCL_API size_t embcl_safetensors_meta_count(embcl_safetensors_t st);
/* The i-th pair in file order; NULLs if i is out of range. */
EMBCL_API void embcl_safetensors_meta_at(embcl_safetensors_t st, size_t i, const char **key,
                                         const char **value);

/* ---------------------------------------------------------- built-in dataset
 * A synthetic corpus with structure planted in it, made from a seed with
 * integer arithmetic only (the same seed gives the same bytes everywhere):
 *  - topics: each topic has its own words (a few real ones, the rest named
 *    like "sport017", Zipf-distributed); a topic sentence draws each content
 *    word from its topic with probability topic_purity_pct %, else from any
 *    topic;
 *  - sentiment: every sentence carries positive or negative words; its
 *    label is 1 (positive) or 0 (negative), each with probability 1/2;
 *  - relations: role pairs (king/queen, man/woman, ...) appear in the same
 *    role-specific contexts, the male form with male context words (he,
 *    his, ...) and the female form with female ones, so the gender offset
 *    is shared and analogies are solvable.
 * Sentences follow a small grammar (determiners, links, a copula before the
 * sentiment word), so a language model can beat the unigram baseline. */
typedef struct embcl_dataset *embcl_dataset_t;

typedef struct embcl_dataset_options {
    uint64_t seed;
    int64_t n_sentences;       /* default 40000 */
    int n_topics;              /* 1..8, default 8 */
    int words_per_topic;       /* >= 16, default 200 */
    int topic_purity_pct;      /* 0..100, default 85 */
    int role_sentence_pct;     /* 0..100, share of role (analogy) sentences, default 25 */
} embcl_dataset_options;

/* Ground truth for evaluation; arrays owned by the dataset. */
typedef struct embcl_dataset_truth {
    const int32_t *word_topic;      /* [V]: topic of each topic word, -1 for other words */
    int n_topics;
    const char *const *topic_names; /* [n_topics] */
    const int64_t *role_pairs;      /* [n_pairs, 2] (male id, female id) */
    int64_t n_pairs;
    /* [n_analogies, 4] (a, b, c, d): a is to b as c is to d, so
     * vec(b) - vec(a) + vec(c) should be nearest to vec(d); e.g.
     * (man, woman, king, queen). Every ordered choice of two role pairs. */
    const int64_t *analogies;
    int64_t n_analogies;
    const int64_t *positive_words;  /* [n_positive] sentiment word ids */
    int64_t n_positive;
    const int64_t *negative_words;  /* [n_negative] */
    int64_t n_negative;
} embcl_dataset_truth;

EMBCL_API void embcl_dataset_options_default(embcl_dataset_options *opts);
/* opts may be NULL (defaults). */
EMBCL_API embcl_status embcl_dataset_generate(const embcl_dataset_options *opts, embcl_dataset_t *out);
EMBCL_API void embcl_dataset_free(embcl_dataset_t ds);
/* Owned by the dataset. The corpus has labels (n_classes 2). */
EMBCL_API embcl_vocab_t embcl_dataset_vocab(embcl_dataset_t ds);
EMBCL_API embcl_corpus_t embcl_dataset_corpus(embcl_dataset_t ds);
EMBCL_API void embcl_dataset_truth_get(embcl_dataset_t ds, embcl_dataset_truth *truth);

#ifdef __cplusplus
}
#endif
#endif
