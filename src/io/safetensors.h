/*
 * safetensors.h - the safetensors container, at the format level: a reader
 * that validates a whole in-memory file into tensor descriptors and metadata
 * pairs, and an atomic writer. It knows nothing about networks; model.c maps
 * a soma_net onto it, and checkpoints add their own tensors and metadata to
 * the same file. The byte layout and every validation rule are in
 * docs/model-format.md.
 *
 * Only F32 tensors are read and written: soma stores nothing else.
 */
#ifndef SOMA_IO_SAFETENSORS_H
#define SOMA_IO_SAFETENSORS_H

#include "internal.h"

#include <stddef.h>
#include <stdint.h>

/* Largest JSON header a reader accepts (the safetensors reference limit). */
#define SOMA_ST_MAX_HEADER 100000000u
/* Most dimensions a tensor may have when read, and when written. */
#define SOMA_ST_MAX_DIMS 8
#define SOMA_ST_WRITE_MAX_DIMS 4
/* Largest file soma_st_read_file reads (4 GiB). */
#define SOMA_ST_MAX_FILE ((uint64_t)4 << 30)

/* ---- reading ----------------------------------------------------------- */

/* One tensor of a parsed file. */
typedef struct soma_st_tensor {
    char *name;                       /* owned by the soma_st_file         */
    int ndim;                         /* 0..SOMA_ST_MAX_DIMS               */
    size_t shape[SOMA_ST_MAX_DIMS];
    size_t count;                     /* elements: the product of shape    */
    size_t begin, end;                /* data_offsets, relative to the data
                                         buffer; end - begin = 4 * count    */
    const unsigned char *data;        /* borrowed: points into the buffer
                                         given to soma_st_parse; little-
                                         endian F32, not necessarily aligned */
} soma_st_tensor;

/* A parsed file. Strings are owned by it; tensor data are borrowed from the
 * caller's buffer, which must outlive it. */
typedef struct soma_st_file {
    int has_meta;               /* the header had a "__metadata__" entry   */
    size_t n_meta;
    char **meta_keys;           /* [n_meta], in header order               */
    char **meta_values;         /* [n_meta]                                */
    size_t n_tensors;
    soma_st_tensor *tensors;    /* [n_tensors], in header order            */
    const soma_st_tensor **by_name; /* [n_tensors], sorted by name     */
    size_t header_size;         /* N, the JSON header's length in bytes    */
    size_t data_size;           /* bytes in the data buffer                */
} soma_st_file;

/* Parses and validates a whole file data [size] (header length, JSON,
 * every tensor entry, the data buffer being exactly covered by the
 * tensors, metadata being an object of strings). name is used as the prefix
 * of every message. On success *out is a new file to free with
 * soma_st_free. Errors: SOMA_ERR_FORMAT for a malformed file,
 * SOMA_ERR_UNSUPPORTED for a well-formed tensor of another dtype than F32,
 * SOMA_ERR_NOMEM. Allocations are bounded by a small multiple of size. */
soma_status soma_st_parse(const void *data, size_t size, const char *name,
                          soma_st_file **out, soma_error *err);

void soma_st_free(soma_st_file *f);

/* The tensor called name, or NULL (binary search: O(log n)). */
const soma_st_tensor *soma_st_find(const soma_st_file *f, const char *name);

/* The metadata value for key, or NULL (linear search). */
const char *soma_st_meta(const soma_st_file *f, const char *key);

/* Decodes the tensor's little-endian F32 data into dst [t->count]. */
void soma_st_read_f32(const soma_st_tensor *t, float *dst);

/* Reads a whole file into a new buffer (*data, free with soma_free) of
 * *size bytes. SOMA_ERR_IO "PATH: cannot open: ..." and the like when the
 * system refuses, SOMA_ERR_IO for a directory or a file over
 * SOMA_ST_MAX_FILE, SOMA_ERR_NOMEM. */
soma_status soma_st_read_file(const char *path, unsigned char **data,
                              size_t *size, soma_error *err);

/* ---- writing ----------------------------------------------------------- */

/* A tensor to write: F32 values data [product of shape], borrowed. */
typedef struct soma_st_entry {
    const char *name;
    int ndim;                               /* 0..SOMA_ST_WRITE_MAX_DIMS  */
    size_t shape[SOMA_ST_WRITE_MAX_DIMS];
    const float *data;
} soma_st_entry;

/* A metadata entry, both strings borrowed. */
typedef struct soma_st_pair {
    const char *key;
    const char *value;
} soma_st_pair;

/* Writes a safetensors file to path: "__metadata__" first with the pairs in
 * the given order, then the tensors in the given order, contiguous in the
 * data buffer, which starts at an 8-byte aligned offset. The same arguments
 * always give the same bytes. The file is written to a temporary file in
 * the same directory, flushed, synced and renamed over path, so an
 * existing file is either kept whole or replaced whole; on failure the
 * temporary file is removed.
 * Errors: SOMA_ERR_ARG for a bad entry (a name or string that is not UTF-8,
 * a duplicate or reserved name, too many dimensions, a size overflow),
 * SOMA_ERR_IO naming the path and the system's reason, SOMA_ERR_NOMEM. */
soma_status soma_st_write(const char *path, const soma_st_entry *tensors,
                          size_t n_tensors, const soma_st_pair *meta,
                          size_t n_meta, soma_error *err);

/* Copies an untrusted string for a message into buf and returns it: at
 * most 64 bytes, control characters replaced by '?', "..." when cut. */
const char *soma_st_clip(const char *s, char buf[72]);


/* ---- the model mapping (model.c) ---------------------------------------
 * What a model file holds, as writer arguments, so checkpoint code can
 * write a net plus its own "train." tensors and metadata in one file. */
typedef struct soma_model_parts {
    soma_st_entry *tensors;
    size_t n_tensors;
    soma_st_pair *meta;
    size_t n_meta;
    char *owned[5];             /* storage behind names and values above */
    char inputs[24];            /* the text of soma.inputs */
} soma_model_parts;

/* Fills parts from net (whose parameters stay borrowed by the entries).
 * SOMA_ERR_DATA when a parameter is not finite (the file could not be
 * loaded again), SOMA_ERR_ARG for a string that is not UTF-8, NOMEM. */
soma_status soma_model_parts_build(const soma_net *net, soma_model_parts *parts,
                                   soma_error *err);
void soma_model_parts_free(soma_model_parts *parts);

/* Builds a net from a parsed file, checking everything the model level
 * requires (docs/model-format.md). Tensors whose names start with "train."
 * are ignored; name prefixes every message. */
soma_net *soma_model_from_st(const soma_st_file *f, const char *name,
                             soma_error *err);

#endif /* SOMA_IO_SAFETENSORS_H */
